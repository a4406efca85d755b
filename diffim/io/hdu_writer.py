"""Write header and data units in one pass over each plane, with the bytes astropy would write.

astropy writes a little-endian plane by swapping it in place, writing it and
swapping it back, and a uint32 plane (stored as int32 with BZERO = 2^31) by
making two full-size offset copies first: at 4k, 128 MB more at the peak
memory of a subtraction and two extra passes per plane. Here each plane is
converted a block of rows at a time into a small big-endian buffer and
written. The structural cards of image and table extensions are astropy's
(`image_cards`, `psf_table_hdu`), data units are padded with zeros to the
FITS block, so the file is the same.
"""
from __future__ import annotations

import numpy as np

from ..psf.persistence import EXTNAME as PSF_EXTNAME
from .fits_cards import BLOCK, card

__all__ = ["TABLE_FORMS", "catalog_table_hdu", "image_cards", "primary_cards", "psf_table_hdu",
           "stored_column_dtype", "write_hdus"]

_ROWS = 256
"""Rows converted at once (4 MB of a 4k float32 plane)."""

_UINT32_OFFSET = np.uint32(0x80000000)
_BITPIX = {np.dtype(np.float32): -32, np.dtype(np.uint32): 32}
TABLE_FORMS = {np.dtype(np.bool_): "L", np.dtype(np.int16): "I", np.dtype(np.int32): "J",
               np.dtype(np.int64): "K", np.dtype(np.float32): "E", np.dtype(np.float64): "D"}
"""Binary-table column format of each numpy type written without scaling cards."""


def stored_column_dtype(dtype):
    """How a table column of ``dtype`` (a `TABLE_FORMS` key) is stored: big-endian, logical
    values as the bytes ``T`` and ``F``."""
    return np.dtype("S1") if dtype == np.bool_ else dtype.newbyteorder(">")


def primary_cards():
    """The cards of a primary HDU without data (astropy's), before any of the caller's."""
    return [card("SIMPLE", True, "conforms to FITS standard"), card("BITPIX", 8, "array data type"),
            card("NAXIS", 0, "number of array dimensions"), card("EXTEND", True)]


def image_cards(plane):
    """The cards an image extension of a 2-D float32 or uint32 plane starts with (astropy's)."""
    rows, columns = plane.shape
    cards = [card("XTENSION", "IMAGE", "Image extension"),
             card("BITPIX", _BITPIX[plane.dtype], "array data type"),
             card("NAXIS", 2, "number of array dimensions"),
             card("NAXIS1", columns), card("NAXIS2", rows),
             card("PCOUNT", 0, "number of parameters"), card("GCOUNT", 1, "number of groups")]
    if plane.dtype == np.uint32:  # stored as int32 plus 2^31
        cards += [card("BSCALE", 1), card("BZERO", 2**31)]
    return cards


def psf_table_hdu(columns, extra_cards):
    """Cards and data of a one-row binary table of float64 cells (``diffim.psf.psf_table``).

    Parameters
    ----------
    columns : `list` [`tuple` [`str`, `numpy.ndarray`]]
        Name and flat float64 cell of each column.
    extra_cards : `list` [`tuple` [`str`, `object`, `str` or `None`]]
        Keyword, value and comment of the cards after ``EXTNAME``.

    Returns
    -------
    cards : `list` [`str`]
        Card images, without CHECKSUM/DATASUM.
    data : `bytes`
        The row, big-endian.
    """
    data = b"".join(cell.astype(">f8").tobytes() for _, cell in columns)
    cards = _table_cards(len(data), 1, [(name, f"{cell.size}D") for name, cell in columns])
    cards.append(card("EXTNAME", PSF_EXTNAME))
    cards += [card(keyword, value, comment) for keyword, value, comment in extra_cards]
    return cards, data


def catalog_table_hdu(columns, extname):
    """Cards and data of a binary table of scalar columns, as astropy writes a `Table` of them.

    Parameters
    ----------
    columns : `dict` [`str`, `numpy.ndarray`]
        Name -> 1-D values, all of one length; bool, int16, int32, int64,
        float32 or float64.
    extname : `str`

    Returns
    -------
    cards : `list` [`str`]
        Card images, without CHECKSUM/DATASUM.
    data : `bytes`
        The rows, big-endian; logical values as ``T``/``F``.

    Raises
    ------
    TypeError
        If a column is of another type (astropy adds scaling cards for those).
    """
    rows = len(next(iter(columns.values()))) if columns else 0
    fields = []
    for name, values in columns.items():
        if values.dtype not in TABLE_FORMS:
            raise TypeError(f"no binary-table writer for column {name!r} of {values.dtype}")
        fields.append((name, stored_column_dtype(values.dtype)))
    table = np.empty(rows, dtype=np.dtype({"names": list(columns), "formats": [
        dtype for _, dtype in fields]}))
    for name, values in columns.items():
        table[name] = np.where(values, b"T", b"F") if values.dtype == np.bool_ else values
    cards = _table_cards(table.dtype.itemsize, rows,
                         [(name, TABLE_FORMS[values.dtype]) for name, values in columns.items()])
    cards.append(card("EXTNAME", extname, "extension name"))
    return cards, table.tobytes()


def _table_cards(row_bytes, rows, forms):
    """The cards a binary table starts with (astropy's), up to its last ``TFORMn``."""
    cards = [card("XTENSION", "BINTABLE", "binary table extension"),
             card("BITPIX", 8, "array data type"),
             card("NAXIS", 2, "number of array dimensions"),
             card("NAXIS1", row_bytes, "length of dimension 1"),
             card("NAXIS2", rows, "length of dimension 2"),
             card("PCOUNT", 0, "number of group parameters"),
             card("GCOUNT", 1, "number of groups"),
             card("TFIELDS", len(forms), "number of table fields")]
    for index, (name, form) in enumerate(forms, start=1):
        cards += [card(f"TTYPE{index}", name), card(f"TFORM{index}", form)]
    return cards


def _padding(size):
    return b"\0" * (-size % BLOCK)


def _write_plane(stream, plane):
    """Write a native float32 or uint32 plane as FITS data (big-endian), block by block."""
    for start in range(0, plane.shape[0], _ROWS):
        rows = plane[start:start + _ROWS]
        if rows.dtype == np.uint32:
            rows = rows ^ _UINT32_OFFSET  # the stored int32 is the value less 2^31
        stream.write(rows.astype(rows.dtype.newbyteorder(">")).data)
    stream.write(_padding(plane.nbytes))


def write_hdus(path, hdus):
    """Write header and data units to ``path``.

    Parameters
    ----------
    path : `str` or `pathlib.Path`
    hdus : `list` [`tuple` [`bytes`, `object`]]
        Each header (`diffim.io.fits_cards.header_bytes`) and its data: `None`,
        a 2-D native float32 or uint32 plane (written block by block) or the
        data unit's `bytes`.
    """
    with open(path, "wb") as stream:
        for header, data in hdus:
            stream.write(header)
            if data is None:
                continue
            if isinstance(data, bytes):
                stream.write(data + _padding(len(data)))
            else:
                _write_plane(stream, np.ascontiguousarray(data))
