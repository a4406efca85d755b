"""Compare two files, exposures or catalogues, told apart by their content.

A FITS file whose primary header carries our exposure marker, or whose first
data is an image, is an exposure (read by `diffim.io.exposure_fits.read_exposure`,
which also takes other surveys' plain images). A FITS binary table or a
Parquet file is a catalogue, read as it is stored: columns and dtypes are not
conformed to our DIA-source schema, since a dtype or a missing column is one
of the differences to report, and the other side may be another pipeline's.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
from astropy.io import fits
from astropy.table import Table

from diffim.errors import DiffimError
from diffim.io.exposure_fits import read_exposure

from ..errors import ValidationError
from .catalogs import compare_catalogs
from .images import compare_exposures
from .tolerances import Tolerances

__all__ = ["compare_files", "read_comparable"]

_FITS_MAGIC = b"SIMPLE  ="
_PARQUET_MAGIC = b"PAR1"
_CATALOG_HDU = "DIASOURCES"


def read_comparable(path):
    """Read an exposure or a catalogue, whichever the file holds.

    Returns
    -------
    kind : `str`
        ``"image"`` or ``"catalog"`` (as in `validation.model.Comparison.kind`).
    value : `diffim.Exposure` or `pandas.DataFrame`

    Raises
    ------
    ValidationError
        If the file is missing, unreadable, corrupt, or neither FITS nor Parquet.
    """
    path = Path(path)
    try:
        with open(path, "rb") as stream:
            start = stream.read(len(_FITS_MAGIC))
    except OSError as error:
        raise ValidationError(f"{path}: cannot read ({error.strerror or error})") from None
    try:
        if start.startswith(_PARQUET_MAGIC):
            return "catalog", pd.read_parquet(path).reset_index(drop=True)
        if start != _FITS_MAGIC:
            raise ValidationError(f"{path}: neither a FITS nor a Parquet file")
        table_hdu = _catalog_hdu(path)
        if table_hdu is None:
            return "image", read_exposure(path)
        return "catalog", Table.read(path, hdu=table_hdu).to_pandas()
    except DiffimError as error:
        raise ValidationError(str(error)) from None
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise ValidationError(f"{path}: unreadable or corrupt ({error})") from None


def _catalog_hdu(path):
    """Index of the catalogue table in a FITS file, or `None` when the file holds an exposure."""
    with fits.open(path, memmap=False, lazy_load_hdus=True) as hdus:
        if "DIFFIMFT" in hdus[0].header:
            return None
        for index, hdu in enumerate(hdus):
            if isinstance(hdu, fits.BinTableHDU) and hdu.name == _CATALOG_HDU:
                return index
        for index, hdu in enumerate(hdus):
            if isinstance(hdu, fits.BinTableHDU):
                return index
            if hdu.is_image and hdu.header.get("NAXIS", 0) >= 2:
                return None
    return None


def compare_files(path_a, path_b, tolerances=Tolerances(), product=None, reason=None,
                  artifact_dir=None):
    """Compare two exposure files or two catalogue files.

    Parameters
    ----------
    path_a, path_b : `str` or `pathlib.Path`
    tolerances : `Tolerances`
    product : `str`, optional
        Name of what is compared; the stem of ``path_a`` by default.
    reason : `str`, optional
        Why a difference is expected.
    artifact_dir : `str` or `pathlib.Path`, optional
        Where to write the difference image or the matched-pairs table.

    Returns
    -------
    comparison : `validation.model.Comparison`

    Raises
    ------
    ValidationError
        If either file is unreadable, or one holds an exposure and the other a catalogue.
    """
    kind_a, value_a = read_comparable(path_a)
    kind_b, value_b = read_comparable(path_b)
    if kind_a != kind_b:
        raise ValidationError(f"cannot compare {path_a} ({_NAMES[kind_a]}) with {path_b} "
                              f"({_NAMES[kind_b]})")
    compare = compare_exposures if kind_a == "image" else compare_catalogs
    return compare(value_a, value_b, product=product or Path(path_a).stem, tolerances=tolerances,
                   reason=reason, artifact_dir=artifact_dir)


_NAMES = {"image": "an exposure", "catalog": "a catalogue"}
