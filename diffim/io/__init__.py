"""Files: exposures in our multi-extension FITS format, plain FITS images, headers.

Modules:

- `exposure_fits`: `read_exposure` / `write_exposure` (checksummed, written atomically);
- `atomic`: files written under a temporary name and renamed (text, Parquet, FITS),
  the one writer every package uses;
- `plain_fits`: single-image FITS files from other surveys read as exposures;
- `header`: FITS header conventions shared by both (WCS, visit cards).
"""
from .exposure_fits import read_exposure, write_exposure

__all__ = [
    "read_exposure",
    "write_exposure",
]
