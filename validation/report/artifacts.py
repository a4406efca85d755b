"""Read the files a comparison leaves behind for plots.

``"diff_of_diff"``: a FITS image of (backend a - backend b) difference-image
pixels, in the primary HDU or the first image extension. ``"matched"``: a
Parquet table whose columns are per-column differences of matched catalogue
rows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from astropy.io import fits

from ..errors import ValidationError

__all__ = ["DIFF_OF_DIFF", "MATCHED", "read_difference_image", "read_matched_differences"]

DIFF_OF_DIFF = "diff_of_diff"
MATCHED = "matched"


def read_difference_image(path):
    """The pixels of a difference-of-differences FITS file, as a 2-d float array.

    Raises
    ------
    validation.errors.ValidationError
        If the file is missing, not FITS, or holds no 2-d image.
    """
    path = Path(path)
    try:
        with fits.open(path, memmap=False) as hdus:
            for hdu in hdus:
                if hdu.is_image and hdu.data is not None and hdu.data.ndim == 2:
                    return np.asarray(hdu.data, dtype=np.float64)
    except FileNotFoundError:
        raise ValidationError(f"difference-of-differences image {path} does not exist") from None
    except (OSError, ValueError) as error:
        raise ValidationError(f"cannot read difference-of-differences image {path}: {error}") from None
    raise ValidationError(f"difference-of-differences image {path} holds no 2-d image HDU")


def read_matched_differences(path):
    """The numeric columns of a matched-differences Parquet file, as floats.

    Boolean columns (flag differences) become 0/1; other columns are dropped.

    Raises
    ------
    validation.errors.ValidationError
        If the file is missing or not Parquet.
    """
    path = Path(path)
    if not path.exists():
        raise ValidationError(f"matched-differences table {path} does not exist")
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise ValidationError(f"cannot read matched-differences table {path}: {error}") from None
    numeric = table.select_dtypes(include=["number", "bool"])
    return numeric.astype(np.float64)
