"""CHECKSUM and DATASUM cards (the FITS checksum convention) at one pass per plane.

A FITS data unit is a sequence of big-endian 32-bit words; DATASUM is their
ones' complement sum and CHECKSUM the 16-character encoding chosen so that
the whole HDU, header included, sums to minus zero (all bits set). astropy
computes a plane's sum in several numpy passes and its reader verifies each
plane twice (``verify_datasum``, ``verify_checksum``); here each plane is
summed once, in a compiled parallel loop, fused with the byte swap on read.
The cards written are the same bytes as astropy's ``add_checksum``
(`checksum_cards`).
"""
from __future__ import annotations

import numpy as np

from .._core import _checksum
from .._core._threads import default_threads
from .fits_cards import card, header_bytes

__all__ = ["checksum_cards", "fold", "hdu_sums_to_minus_zero", "plane_datasum",
           "read_plane", "table_datasum"]

_MINUS_ZERO = 0xFFFFFFFF
_UINT32_OFFSET = 0x80000000
"""FITS stores uint32 as int32 with BZERO = 2^31: each word is the value with its top bit flipped."""
_PUNCTUATION = frozenset(b":;<=>?@[\\]^_`")
_PARALLEL_WORDS = 1 << 20
"""Planes of fewer words are summed on one thread: a campaign's 384 x 384 planes took
0.1 ms on one and up to 16 ms on two at a load of 7 (the second thread's wake-up)."""


def fold(total):
    """Ones' complement 32-bit value of a plain integer sum of 32-bit words (end-around carry)."""
    total = int(total)
    while total >> 32:
        total = (total & _MINUS_ZERO) + (total >> 32)
    return total


def _byte_sum(data):
    """Plain integer sum of the big-endian words of ``data`` (bytes), zero-padded to 4."""
    data = bytes(data) + b"\0" * (-len(data) % 4)
    return int(np.frombuffer(data, dtype=">u4").sum(dtype=np.uint64))


def _threads(words):
    """OpenMP threads for summing a plane of ``words``: the OpenMP default for a large plane,
    else one."""
    return default_threads() if words.size >= _PARALLEL_WORDS else 1


def plane_datasum(plane):
    """DATASUM of a native-endian 2-D float32 or uint32 plane as astropy writes it."""
    plane = np.ascontiguousarray(plane)
    if plane.dtype == np.float32:
        return fold(_checksum.native_word_sum(plane.view(np.uint32), 0, _threads(plane)))
    if plane.dtype == np.uint32:
        return fold(_checksum.native_word_sum(plane, _UINT32_OFFSET, _threads(plane)))
    raise TypeError(f"no fast DATASUM for {plane.dtype} planes")


def table_datasum(data):
    """DATASUM of a data unit given as its bytes (a binary table's rows)."""
    return fold(_byte_sum(data))


def read_plane(data):
    """A plane as astropy read it, in native byte order, and its DATASUM; None without a fast path.

    ``data`` is a big-endian 4-byte plane (swapped in place: no copy) or a
    uint32 plane astropy has already scaled from the stored int32 (native).
    """
    if data.ndim != 2 or not data.flags.c_contiguous:
        return None
    if data.dtype == np.uint32:
        return data, plane_datasum(data)
    if data.dtype.itemsize != 4 or data.dtype.byteorder != ">" or not data.flags.writeable:
        return None
    words = data.view(np.uint32)  # the file's bytes; swapped to native by the pass
    total = _checksum.swap_in_place_word_sum(words, _threads(words))
    return words.view(data.dtype.newbyteorder("=")), fold(total)


def _encoded(value):
    """The 16 ASCII characters that add ``value`` to a header's sum in place of 16 zeros.

    The FITS checksum convention: each byte is spread over four characters
    from '0' up, pairs are nudged off punctuation, and the string is rotated
    by one character.
    """
    columns = []
    for shift in (24, 16, 8, 0):
        byte = (value >> shift) & 0xFF
        quotient = byte // 4 + ord("0")
        chars = [quotient + byte % 4, quotient, quotient, quotient]
        moved = True
        while moved:
            moved = False
            for j in (0, 2):
                if chars[j] in _PUNCTUATION or chars[j + 1] in _PUNCTUATION:
                    chars[j] += 1
                    chars[j + 1] -= 1
                    moved = True
        columns.append(chars)
    text = [columns[i][j] for j in range(4) for i in range(4)]
    return bytes(text[-1:] + text[:-1]).decode("ascii")


def checksum_cards(cards, datasum, comment):
    """``cards`` followed by the CHECKSUM and DATASUM cards of a data unit of sum ``datasum``.

    The cards, their order and the CHECKSUM value are those of astropy's
    ``hdu.add_checksum(when=comment)`` on a header of ``cards``.
    """
    datasum_card = card("DATASUM", str(datasum), comment)
    placeholder = card("CHECKSUM", "0" * 16, comment)
    total = fold(_byte_sum(header_bytes([*cards, placeholder, datasum_card])) + datasum)
    return [*cards, card("CHECKSUM", _encoded(~total & _MINUS_ZERO), comment), datasum_card]


def hdu_sums_to_minus_zero(header_bytes, datasum):
    """Whether a header (its bytes in the file) and a data unit of sum ``datasum`` pass CHECKSUM."""
    return fold(_byte_sum(header_bytes) + datasum) == _MINUS_ZERO


def hdu_sums_match(header, header_bytes, datasum):
    """Whether an HDU's DATASUM and CHECKSUM, where its ``header`` has them, match its bytes
    (``header_bytes``: the header as the file holds it; ``datasum``: its data unit's sum)."""
    if "DATASUM" in header and int(header["DATASUM"]) != datasum:
        return False
    return "CHECKSUM" not in header or hdu_sums_to_minus_zero(header_bytes, datasum)
