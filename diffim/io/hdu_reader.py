"""Read back the header and data units `diffim.io.hdu_writer` writes, without astropy.

astropy reads a 4k exposure file by parsing and re-rendering every card
(twice: once to read, once to verify CHECKSUM), copying the uint32 mask from
its stored int32 and reading each plane into a fresh array. Our files have a
fixed layout: a primary header without data, then image extensions of
float32 or of uint32 (stored as int32 with ``BZERO = 2**31``), then binary
tables. `read_hdus` reads exactly that layout: each header as its bytes
(`diffim.io.simple_fits.SimpleHeader` parses a value only when asked), each
plane straight into the array it is returned in, swapped to native order
and summed in one pass (`diffim.io.checksum.read_plane`). Any other file
(another layout, a short file, scaled or blanked data, a heap) gives `None`
and is left to astropy, which says what is wrong with it.

`read_table_columns` decodes a binary table of scalar columns as
`diffim.io.hdu_writer.catalog_table_hdu` writes it (gen2's FITS catalogues:
astropy's column machinery was half of a campaign's catalogue reads).
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..errors import FitsFormatError
from .checksum import hdu_sums_match, read_plane, table_datasum
from .fits_cards import BLOCK, CARD
from .hdu_writer import TABLE_FORMS, stored_column_dtype
from .simple_fits import SIMPLE_CARD, SimpleHeader, read_header

__all__ = ["RawHdu", "read_hdus", "read_table_columns"]

_UINT32_OFFSET = np.uint32(0x80000000)
_SCALING = ("BSCALE", "BZERO", "BLANK")
_STORED_DTYPES = {form: stored_column_dtype(dtype) for dtype, form in TABLE_FORMS.items()}
"""``TFORMn`` -> the stored dtype, for the columns `hdu_writer.catalog_table_hdu` writes."""
_COLUMN_SCALING = ("TSCAL", "TZERO", "TNULL", "TDIM")


@dataclasses.dataclass
class RawHdu:
    """One header and data unit as the file holds it.

    Attributes
    ----------
    header : `diffim.io.simple_fits.SimpleHeader`
        Its ``raw`` bytes are the header's blocks, padding included (what
        CHECKSUM covers).
    data : `numpy.ndarray`, `bytes` or `None`
        A plane (native float32 or uint32), a table's rows, or nothing.
    datasum : `int`
        The data's DATASUM (0 without data).
    """

    header: SimpleHeader
    data: object
    datasum: int

    @property
    def name(self):
        """``EXTNAME``, or ``PRIMARY`` for the first HDU."""
        return self.header.get("EXTNAME", "PRIMARY")

    def card_images(self):
        """The header's cards, as 80-character strings."""
        raw = self.header.raw
        return [raw[start:start + CARD].decode("ascii", "replace")
                for start in range(0, len(raw), CARD)]


def read_hdus(stream, primary):
    """Every HDU of a file whose primary header (without data) was just read, or None.

    Parameters
    ----------
    stream : binary file
        Positioned after the primary header.
    primary : `diffim.io.simple_fits.SimpleHeader`
        What `diffim.io.simple_fits.read_header` gave for it.

    Returns
    -------
    hdus : `list` [`RawHdu`] or `None`
        The primary HDU first. `None` when the file is not of the layout
        read here, or shorter or longer than its headers say.
    """
    if not primary.raw.startswith(SIMPLE_CARD) or primary.get("NAXIS") != 0:
        return None
    size = os.fstat(stream.fileno()).st_size
    hdus = [RawHdu(primary, None, 0)]
    while stream.tell() < size:
        header = read_header(stream)
        if header is None or header.get("XTENSION") is None:
            return None
        data = _read_data(stream, header)
        if data is None:
            return None
        hdus.append(RawHdu(header, *data))
    return hdus if stream.tell() == size else None


def _read_data(stream, header):
    """``(data, datasum)`` of the extension's data unit after ``header``, or None (not read
    here)."""
    if (header.get("NAXIS") != 2 or header.get("PCOUNT") != 0 or header.get("GCOUNT") != 1
            or any(type(header.get(key)) is not int or header[key] <= 0
                   for key in ("NAXIS1", "NAXIS2"))):
        return None
    shape = (header["NAXIS2"], header["NAXIS1"])
    extension, bitpix = header.get("XTENSION"), header.get("BITPIX")
    if extension == "BINTABLE" and bitpix == 8:
        data = stream.read(shape[0] * shape[1])
        result = (data, table_datasum(data)) if len(data) == shape[0] * shape[1] else None
    elif extension == "IMAGE" and bitpix in (-32, 32):
        result = _read_plane(stream, header, shape, bitpix)
    else:
        return None
    if result is not None:
        stream.seek(-stream.tell() % BLOCK, os.SEEK_CUR)
    return result


def _read_plane(stream, header, shape, bitpix):
    """A float32 plane, or a uint32 one stored as int32 plus 2^31, and its DATASUM."""
    scaling = [header.get(key) for key in _SCALING]
    if scaling != ([None, None, None] if bitpix == -32 else [1, 2**31, None]):
        return None
    words = np.empty(shape, dtype=">u4")
    if stream.readinto(words.view(np.uint8).reshape(-1)) != words.nbytes:
        return None
    native, datasum = read_plane(words)
    if bitpix == -32:
        return native.view(np.float32), datasum
    native ^= _UINT32_OFFSET  # the stored int32 is the value less 2^31
    return native, datasum


def read_table_columns(path, extname):
    """The columns of a file whose last HDU is the binary table ``extname``, as
    `diffim.io.hdu_writer.catalog_table_hdu` writes it, or None.

    Parameters
    ----------
    path : `str` or `pathlib.Path`
    extname : `str`
        The table's ``EXTNAME``; no other HDU of the file may have it.

    Returns
    -------
    columns : `dict` [`str`, `numpy.ndarray`] or `None`
        Name -> native-order values (``L`` columns as bool, as astropy gives
        them); `None` for a file of another layout (no rows, scaled or array
        columns, other forms), for astropy to read.

    Raises
    ------
    diffim.errors.FitsFormatError
        A DATASUM or CHECKSUM does not match the file's bytes.
    """
    with open(path, "rb") as stream:
        primary = read_header(stream)
        hdus = None if primary is None else read_hdus(stream, primary)
        if not hdus or hdus[-1].name != extname or not isinstance(hdus[-1].data, bytes):
            return None
        # CHECKSUM covers the padding after the rows too (`read_hdus` skips it).
        padding = -len(hdus[-1].data) % BLOCK
        stream.seek(-padding, os.SEEK_END)
        padded_with_zeros = not stream.read(padding).strip(b"\0")
    if [hdu.name for hdu in hdus].count(extname) != 1:
        return None
    forms = _column_forms(hdus[-1].header)
    if forms is None:
        return None
    if not padded_with_zeros or not all(hdu_sums_match(hdu.header, hdu.header.raw, hdu.datasum)
                                        for hdu in hdus):
        raise FitsFormatError(f"{path}: checksum mismatch in HDU {extname}: file is corrupt")
    rows = np.frombuffer(hdus[-1].data, np.dtype({
        "names": list(forms), "formats": [_STORED_DTYPES[form] for form in forms.values()]}))
    return {name: rows[name] == b"T" if form == "L"
            else rows[name].astype(rows[name].dtype.newbyteorder("="))
            for name, form in forms.items()}


def _column_forms(header):
    """Name -> ``TFORMn`` of a table's columns, or None unless each is a scalar of
    `_STORED_DTYPES` without scaling, their names are distinct and they fill ``NAXIS1``."""
    fields = header.get("TFIELDS")
    if type(fields) is not int:
        return None
    forms = {}
    for index in range(1, fields + 1):
        form, name = header.get(f"TFORM{index}"), header.get(f"TTYPE{index}")
        if form not in _STORED_DTYPES or not isinstance(name, str) or name in forms or any(
                f"{key}{index}" in header for key in _COLUMN_SCALING):
            return None
        forms[name] = form
    row_bytes = sum(_STORED_DTYPES[form].itemsize for form in forms.values())
    return forms if row_bytes == header["NAXIS1"] else None
