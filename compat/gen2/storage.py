"""Storages: how a dataset of each policy ``storage`` is written, read and inspected.

Every writer produces deterministic bytes (no time stamps), so two runs or
two middlewares writing the same object write the same file, and writes are
atomic (`diffim.io.atomic`). Besides whole reads, a
storage answers the derived dataset types: the header (``X_md``), the
bounding box and a sub-image of an image (``X_bbox``, ``X_sub``) and the
length and the columns of a catalogue (``X_len``, ``X_schema``).
"""
from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import yaml
from astropy.io import fits
from astropy.table import Table

from diffim.errors import DiffimError, FitsFormatError
from diffim.geom import Box
from diffim.io.atomic import write_atomically, write_fits, write_parquet, write_text
from diffim.io.checksum import checksum_cards, table_datasum
from diffim.io.exposure_fits import read_exposure, write_exposure
from diffim.io.fits_cards import header_bytes
from diffim.io.hdu_reader import read_table_columns
from diffim.io.hdu_writer import catalog_table_hdu, primary_cards, write_hdus
from diffim.io.header import open_fits

from .errors import Gen2Error

__all__ = ["import_type", "read", "read_bbox", "read_header", "read_length", "read_schema",
           "write"]

_CHECKSUM_COMMENT = "gen2 catalog checksum"
_CATALOG_HDU = "CATALOG"


def import_type(name):
    """The object a fully qualified name (``package.module.Name``) refers to."""
    if name in ("dict", "list"):
        return {"dict": dict, "list": list}[name]
    module, _, attribute = name.rpartition(".")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError, ValueError) as error:
        raise Gen2Error(f"cannot import {name!r} ({error})") from None


def write(storage, python, obj, path):
    """Write ``obj`` to ``path`` in ``storage``; ``python`` is the policy's type name."""
    path = Path(path)
    if storage == "Fits":
        write_exposure(obj, path)
    elif storage == "FitsCatalog":
        _write_fits_catalog(obj, path)
    elif storage == "ParquetCatalog":
        write_parquet(path, obj)
    elif storage == "Yaml":
        write_text(path, yaml.safe_dump(obj, sort_keys=True))
    elif storage == "Config":
        write_atomically(path, obj.save)
    elif storage == "Json":
        text = obj.to_json() if hasattr(obj, "to_json") else json.dumps(obj, sort_keys=True,
                                                                         indent=1)
        write_text(path, text)
    else:
        raise Gen2Error(f"{path}: unknown storage {storage!r}")


def read(storage, python, path):
    """Read the object in ``path`` written in ``storage``.

    Raises
    ------
    Gen2Error
        If the file is not readable as ``storage`` (the `diffim` errors of
        exposure files pass through: they name the file).
    """
    path = Path(path)
    if storage == "Fits":
        return read_exposure(path)
    try:
        if storage == "FitsCatalog":
            return _read_fits_catalog(path)
        if storage == "ParquetCatalog":
            return pd.read_parquet(path)
        if storage == "Yaml":
            return yaml.safe_load(path.read_text())
        if storage == "Config":
            config = import_type(python)()
            config.load(str(path))
            return config
        if storage == "Json":
            kind = import_type(python)
            text = path.read_text()
            return kind.from_json(text, source=str(path)) if hasattr(kind, "from_json") \
                else json.loads(text)
    except (Gen2Error, DiffimError):
        # Ours and diffim's errors name the file already.
        raise
    except Exception as error:
        raise Gen2Error(f"{path}: cannot read as {storage} ({type(error).__name__}: "
                        f"{error})") from None
    raise Gen2Error(f"{path}: unknown storage {storage!r}")


def read_header(storage, path):
    """The primary header of a FITS file as a dict (``X_md``).

    For catalogues it is the header of the table, where gen2 kept its metadata.
    """
    _require(storage, ("Fits", "FitsCatalog"), path, "a header")
    with open_fits(path) as hdus:
        header = hdus[_CATALOG_HDU if storage == "FitsCatalog" else 0].header
        return {key: header[key] for key in header if key not in ("", "COMMENT", "HISTORY")}


def read_bbox(storage, path):
    """The parent-frame `diffim.geom.Box` of an exposure file, from its headers alone."""
    _require(storage, ("Fits",), path, "a bounding box")
    with open_fits(path) as hdus:
        primary, image = hdus[0].header, hdus["IMAGE"].header
        xy0 = (-int(primary.get("LTV1", 0)), -int(primary.get("LTV2", 0)))
        return Box.from_shape((image["NAXIS2"], image["NAXIS1"]), xy0)


def read_length(storage, path):
    """Rows of a catalogue file, without reading its columns (``X_len``)."""
    _require(storage, ("FitsCatalog", "ParquetCatalog"), path, "a length")
    if storage == "ParquetCatalog":
        return pq.ParquetFile(path).metadata.num_rows
    with open_fits(path) as hdus:
        return int(hdus[_CATALOG_HDU].header["NAXIS2"])


def read_schema(storage, path):
    """An empty catalogue with the columns and dtypes of a catalogue file (``X_schema``).

    Parquet gives its schema without reading any row; a FITS table is read
    and cut, which keeps its column types exactly as a whole read does.
    """
    _require(storage, ("FitsCatalog", "ParquetCatalog"), path, "a schema")
    if storage == "ParquetCatalog":
        return pq.read_schema(path).empty_table().to_pandas()
    return read(storage, "pandas.DataFrame", path).iloc[:0]


def _require(storage, storages, path, what):
    if storage not in storages:
        raise Gen2Error(f"{path}: {storage} storage has no {what}")


def _write_fits_catalog(catalog, path):
    """Any DataFrame of numeric and boolean columns as one FITS binary table.

    The bytes are astropy's for a `Table` of the columns; columns of the
    common types are written without astropy (`diffim.io.hdu_writer`), others
    (which astropy writes with scaling cards) through it.
    """
    columns = _columns(catalog, path)
    try:
        cards, data = catalog_table_hdu(columns, _CATALOG_HDU)
    except TypeError:
        hdus = fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(Table(columns),
                                                                 name=_CATALOG_HDU)])
        for hdu in hdus:
            hdu.add_checksum(when=_CHECKSUM_COMMENT)
        write_fits(path, hdus)
        return
    hdus = [(header_bytes(checksum_cards(primary_cards(), 0, _CHECKSUM_COMMENT)), None),
            (header_bytes(checksum_cards(cards, table_datasum(data), _CHECKSUM_COMMENT)), data)]
    write_atomically(path, lambda temporary: write_hdus(temporary, hdus))


def _columns(catalog, path):
    """``{name: values}`` of every column of ``catalog`` (to be written to ``path``), in its
    order.

    The columns of each native-endian NumPy dtype come from one 2-D read of
    them all: a `pandas.Series` per column (``catalog[name]``) was 1.6 % of
    the default campaign's samples, for catalogues of about a hundred columns.
    pandas' 2-D read refuses other byte orders; those are read column by column.
    """
    if not catalog.columns.is_unique:
        duplicates = sorted(set(catalog.columns[catalog.columns.duplicated()]))
        raise Gen2Error(f"{path}: catalogue columns {duplicates} appear more than once")
    found = {}
    for dtype in dict.fromkeys(catalog.dtypes):
        names = catalog.columns[catalog.dtypes == dtype]
        if isinstance(dtype, np.dtype) and dtype != object and dtype.isnative:
            found.update(zip(names, catalog[names].to_numpy().T))
        else:  # pandas' own dtypes (nullable integers, strings), other byte orders
            found.update((name, catalog[name].to_numpy()) for name in names)
    for name in catalog.columns:
        if found[name].dtype == object:
            raise Gen2Error(f"{path}: catalogue column {name!r} is not numeric or boolean")
    return {name: found[name] for name in catalog.columns}


def _read_fits_catalog(path):
    try:
        columns = read_table_columns(path, _CATALOG_HDU)
    except FitsFormatError:
        raise _corrupt(path) from None
    if columns is not None:
        return pd.DataFrame(columns)
    with open_fits(path) as hdus:  # another writer's table
        hdu = hdus[_CATALOG_HDU]
        intact = hdu.verify_datasum() != 0 and hdu.verify_checksum() != 0
        columns = {name: _native(np.asarray(hdu.data[name])) for name in hdu.columns.names}
    # Raised outside the `with`: open_fits would wrap it as a FITS read failure.
    if not intact:
        raise _corrupt(path)
    return pd.DataFrame(columns)


def _corrupt(path):
    return Gen2Error(f"{path}: checksum mismatch: catalogue file is corrupt")


def _native(values):
    return values.astype(values.dtype.newbyteorder("="))
