"""Plain FITS images read without astropy: the primary header and its 2-D image.

``import astropy.io.fits`` alone costs about 0.3 s, as long as a whole
subtraction of small images. A celestial WCS in the header is kept as its
cards (`diffim.io.wcs_cards`), not parsed by astropy. Most plain images (a survey's calexp cutout, a
variance or noise map) are one primary HDU holding an uncompressed 2-D
image: those are read here with numpy. `read_simple_image` returns `None`
for any file it does not handle (compressed, extensions, scaled or blanked
integers, a size that is not exactly the header and its data), and the
caller reads it with astropy instead; both give the same pixels and the same
header values.

The header is kept as its card bytes; `SimpleHeader` parses a card's value
when a keyword is asked for, and hands astropy the same bytes when a WCS is
wanted (`SimpleHeader.copy`).
"""
from __future__ import annotations

import os
import re

import numpy as np

from .fits_cards import BLOCK, CARD

__all__ = ["SIMPLE_CARD", "SimpleHeader", "read_header", "read_header_blocks", "read_simple_image",
           "simple_image_after"]

_DTYPES = {-32: ">f4", -64: ">f8", 16: ">i2", 32: ">i4"}
"""BITPIX -> the big-endian dtype of the stored pixels, for the pixel types read here."""

_UNHANDLED_KEYWORDS = ("BSCALE", "BZERO", "BLANK", "GROUPS", "ZIMAGE")
"""Keywords that change what the pixels mean: such files are left to astropy."""

SIMPLE_CARD = b"SIMPLE  =                    T"
"""How a FITS file that follows the standard starts."""

_INTEGER = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?")


class SimpleHeader:
    """The cards of a FITS header, parsed one value at a time on request.

    Supports ``keyword in header``, ``header[keyword]`` and
    ``header.get(keyword, default)`` with astropy's values: logical -> `bool`,
    integer -> `int`, real -> `float`, string -> `str` (trailing blanks
    removed, ``''`` unescaped, ``CONTINUE`` cards joined); a card without a
    value gives `None` (astropy's ``Undefined``).
    A keyword that appears twice gives its first card, as astropy's does.

    Parameters
    ----------
    raw : `bytes`
        The header's cards, up to and including ``END`` (blank cards after it,
        the padding of its last block, are allowed).
    """

    def __init__(self, raw):
        self.raw = raw
        self._cards = [raw[start:start + CARD].decode("ascii", "replace")
                       for start in range(0, len(raw), CARD)]
        self._index = {}
        for index, card in enumerate(self._cards):
            keyword = card[:8].strip().upper()
            if card[8:10] == "= " and keyword:
                self._index.setdefault(keyword, index)

    def __contains__(self, keyword):
        return keyword.upper() in self._index

    def __getitem__(self, keyword):
        index = self._index[keyword.upper()]
        value, is_string = _parse_value(self._cards[index][10:])
        while (is_string and value.endswith("&") and index + 1 < len(self._cards)
               and self._cards[index + 1].startswith("CONTINUE")):
            index += 1
            more, is_string = _parse_value(self._cards[index][8:])
            value = value[:-1] + (more if is_string else "")
        return value

    def get(self, keyword, default=None):
        """The value of ``keyword``, or ``default`` when the header lacks it."""
        return self[keyword] if keyword in self else default

    def copy(self):
        """These cards as an `astropy.io.fits.Header` (imports astropy), e.g. for a WCS."""
        from astropy.io import fits

        return fits.Header.fromstring(self.raw.decode("ascii"))


def _parse_value(field):
    """``(value, is_string)`` of a card's value field (columns 11-80), comment dropped.

    A value of no FITS type read here (a complex number) is returned as its text.
    """
    text = field.lstrip()
    if text.startswith("'"):
        end = 1
        while True:
            end = text.find("'", end)
            if end < 0 or text[end + 1:end + 2] != "'":
                break
            end += 2
        return text[1:end if end >= 0 else None].replace("''", "'").rstrip(), True
    token = text.split("/", 1)[0].strip()
    if token == "":
        return None, False
    if token in ("T", "F"):
        return token == "T", False
    if _INTEGER.fullmatch(token):
        return int(token), False
    if _FLOAT.fullmatch(token):
        return float(token.replace("D", "E").replace("d", "e")), False
    return token, False


def read_header_blocks(stream):
    """The blocks of the header at the stream's position, up to the one holding ``END``
    (its padding included: what CHECKSUM covers), or None when not a FITS header."""
    blocks = []
    while True:
        block = stream.read(BLOCK)
        if len(block) < BLOCK:
            return None
        blocks.append(block)
        if any(block[start:start + 8] == b"END     " for start in range(0, BLOCK, CARD)):
            return b"".join(blocks)


def read_header(stream):
    """The header at the stream's position, its blocks read whole, or None.

    Returns
    -------
    header : `SimpleHeader` or `None`
        `None` at the end of the file or when no END card comes before it.
    """
    raw = read_header_blocks(stream)
    return None if raw is None else SimpleHeader(raw)


def read_simple_image(path):
    """The primary 2-D image and header of a simple FITS file, or None for astropy to read.

    Parameters
    ----------
    path : `str` or `pathlib.Path`

    Returns
    -------
    result : `tuple` [`numpy.ndarray`, `SimpleHeader`] or `None`
        The pixels, native byte order, float32 when stored as float32 and as
        stored otherwise (``BITPIX`` -32, -64, 16 or 32), and the header.
        `None` when the file is missing, is not FITS, or holds anything else
        (extensions, compression, scaled or blanked integers, a size that is
        not exactly its header and padded data).
    """
    try:
        stream = open(path, "rb")
    except OSError:
        return None
    with stream:
        return simple_image_after(stream, read_header(stream))


def simple_image_after(stream, header):
    """`read_simple_image` of a file whose first header was just read from ``stream``.

    Parameters
    ----------
    stream : binary file
        Positioned after ``header``.
    header : `SimpleHeader` or `None`
        What `read_header` gave for the start of the file.
    """
    if header is None or not header.raw.startswith(SIMPLE_CARD):
        return None
    shape = _image_shape(header)
    if shape is None:
        return None
    dtype = np.dtype(_DTYPES[header["BITPIX"]])
    data_size = shape[0] * shape[1] * dtype.itemsize
    header_size = -(-len(header.raw) // BLOCK) * BLOCK
    if os.fstat(stream.fileno()).st_size != header_size + -(-data_size // BLOCK) * BLOCK:
        return None
    # Read into a native-order array and swap there: no second copy of the plane.
    native = dtype.newbyteorder("=")
    data = np.empty(shape, dtype=native)
    if stream.readinto(data.view(np.uint8).reshape(-1)) != data_size:
        return None
    if not dtype.isnative:
        data.byteswap(inplace=True)
    return data, header


def _image_shape(header):
    """``(rows, columns)`` of a primary header this module reads, else None."""
    if header.get("NAXIS") != 2 or header.get("BITPIX") not in _DTYPES:
        return None
    if any(keyword in header for keyword in _UNHANDLED_KEYWORDS):
        return None
    columns, rows = header.get("NAXIS1"), header.get("NAXIS2")
    if not (type(columns) is int and type(rows) is int and columns > 0 and rows > 0):
        return None
    return rows, columns
