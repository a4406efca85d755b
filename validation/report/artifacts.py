"""Read the files a comparison leaves behind for plots.

``"diff_of_diff"``: a FITS image of (backend a - backend b) difference-image
pixels, in the primary HDU or the first image extension, with the parent
origin in ``LTV1``/``LTV2`` (absent: 0). ``"matched"``: a Parquet table of
matched catalogue rows whose ``<column>_diff`` columns hold the per-column
differences (beside bookkeeping such as ``row_a``, ``id_b``, ``separation``
and side a's position, ``x_a``); a table without any ``_diff`` column is read
as differences throughout.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits

from ..errors import ValidationError

__all__ = ["DIFF_OF_DIFF", "MATCHED", "read_cutouts", "read_difference_image", "read_matched_differences",
           "read_matched_positions", "read_matched_table"]

DIFF_OF_DIFF = "diff_of_diff"
MATCHED = "matched"
_DIFFERENCE_SUFFIX = "_diff"


def read_difference_image(path):
    """The pixels of a difference-of-differences FITS file and their parent origin.

    Returns
    -------
    pixels : `numpy.ndarray`
        2-d float array.
    xy0 : `tuple` [`int`, `int`]
        Parent coordinates of ``pixels[0, 0]``.

    Raises
    ------
    validation.errors.ValidationError
        If the file is missing, not FITS, or holds no 2-d image.
    """
    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdus:
            origin = (-int(hdus[0].header.get("LTV1", 0)), -int(hdus[0].header.get("LTV2", 0)))
            for hdu in hdus:
                if hdu.is_image and hdu.data is not None and hdu.data.ndim == 2:
                    return np.asarray(hdu.data, dtype=np.float64), origin
    except FileNotFoundError:
        raise ValidationError(f"difference-of-differences image {path} does not exist") from None
    except (OSError, ValueError) as error:
        raise ValidationError(f"cannot read difference-of-differences image {path}: {error}") from None
    raise ValidationError(f"difference-of-differences image {path} holds no 2-d image HDU")


def read_cutouts(path):
    """The two sides' pixels around the largest difference, from a difference-of-differences file.

    Returns
    -------
    cutouts : `tuple` or `None`
        ``(side_a, side_b, xy0)``: two 2-d float arrays and the parent
        position of their first pixel; `None` when the file has no cut-outs
        (written before they were kept, or without a located difference).

    Raises
    ------
    validation.errors.ValidationError
        If the file is missing or not FITS.
    """
    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdus:
            if "CUTOUT_A" not in hdus or "CUTOUT_B" not in hdus:
                return None
            side_a, side_b = hdus["CUTOUT_A"], hdus["CUTOUT_B"]
            return (np.asarray(side_a.data, dtype=np.float64), np.asarray(side_b.data, dtype=np.float64),
                    (int(side_a.header["CUTX0"]), int(side_a.header["CUTY0"])))
    except FileNotFoundError:
        raise ValidationError(f"difference-of-differences image {path} does not exist") from None
    except (OSError, ValueError, KeyError) as error:
        raise ValidationError(f"cannot read the cut-outs of {path}: {error}") from None


def read_matched_differences(path):
    """The per-column differences of a matched-rows Parquet file, as floats.

    The ``<column>_diff`` columns are returned under their column's name;
    boolean columns (flag differences) become 0/1; non-numeric columns are
    dropped.

    Raises
    ------
    validation.errors.ValidationError
        If the file is missing or not Parquet.
    """
    table = read_matched_table(path)
    differences = [name for name in table.columns if str(name).endswith(_DIFFERENCE_SUFFIX)]
    if differences:
        table = table[differences].rename(columns=lambda name: name[:-len(_DIFFERENCE_SUFFIX)])
    return table.select_dtypes(include=["number", "bool"]).astype(np.float64)


def read_matched_positions(path):
    """Where each matched pair of a matched-rows table is, for plotting along the image.

    Returns
    -------
    positions : `numpy.ndarray`
        Side a's x (pixel) or right ascension (degrees) of each pair; the row
        number in tables written before positions were kept.
    label : `str`
        Axis label for ``positions``, with its unit.
    """
    table = read_matched_table(path)
    names = [str(name) for name in table.columns]
    for name in names:
        if name == "x_a" or name.endswith("_x_a"):
            return table[name].to_numpy(np.float64), "source x on the detector (pixel)"
    if "coord_ra_a" in names:
        return table["coord_ra_a"].to_numpy(np.float64), "source right ascension (degree)"
    return np.arange(len(table), dtype=np.float64), "matched source (row number)"


def read_matched_table(path):
    """A matched-rows Parquet file as written, every column (ids, positions, ``*_diff``).

    Raises
    ------
    validation.errors.ValidationError
        If the file is missing or not Parquet.
    """
    path = Path(path)
    if not path.exists():
        raise ValidationError(f"matched-differences table {path} does not exist")
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise ValidationError(f"cannot read matched-differences table {path}: {error}") from None
