"""FITS header conventions shared by our exposure format and plain-image reading.

Opening files with errors that name the file, the WCS in a local pixel frame,
and visit info from the usual keywords.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

from ..errors import DiffimError, FitsFormatError
from ..exposure import VisitInfo
from .parsed_kept import ParsedKept
from .wcs_cards import CardWcs

__all__ = ["open_fits", "read_visit_info", "wcs_from_header", "visit_info_cards", "wcs_cards"]

_READ_ERRORS = (OSError, EOFError, ValueError, KeyError, IndexError)
"""What astropy raises on unreadable data: bad bytes, short reads, shapes that do
not fit the header, missing extensions."""

_KEPT_WCS = ParsedKept(1 << 20, copied=True)
"""The WCS parsed from a header's cards but its checksums (every file's differ) and ``xy0``: up
to 1 MiB of cards (a few hundred headers)."""
_CHECKSUM_KEYWORDS = (b"CHECKSUM", b"DATASUM ")

_VISIT_CARDS = (
    ("exposure_time", "EXPTIME", "exposure time [s]"),
    ("mjd", "MJD-OBS", "MJD (TAI) at mid-exposure"),
    ("band", "BAND", "abstract filter"),
    ("physical_filter", "FILTER", "physical filter"),
    ("airmass", "AIRMASS", "airmass at mid-exposure"),
)


class open_fits:
    """Open a FITS file; any failure, then or while reading, names the file.

    Parameters
    ----------
    path : `str` or `pathlib.Path`

    Raises
    ------
    FitsFormatError
        If the file is missing, not FITS, or fails to read (astropy reports a
        truncated file as a reshape error deep inside a read).
    """

    def __init__(self, path):
        self.path = Path(path)

    def __enter__(self):
        # Imported here: astropy.io.fits costs 0.3 s, and simple plain images
        # are read without it (diffim.io.simple_fits).
        from astropy.io import fits

        if self.path.is_dir():
            raise FitsFormatError(f"{self.path}: is a directory, not a FITS file")
        if not self.path.is_file():
            raise FitsFormatError(f"{self.path}: no such file")
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self.hdus = fits.open(self.path, memmap=False, lazy_load_hdus=False)
        except Exception as error:
            raise FitsFormatError(f"{self.path}: not a readable FITS file ({one_line(error)})") from None
        for warning in caught:
            if "truncated" in str(warning.message):
                self.hdus.close()
                raise FitsFormatError(f"{self.path}: truncated FITS file ({one_line(warning.message)})")
            warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
        return self.hdus

    def __exit__(self, error_type, error, traceback):
        self.hdus.close()
        # Only the errors astropy raises on unreadable data become format errors.
        # Ctrl-C and SystemExit are not about the file; nor is a TypeError or an
        # AttributeError from our own code (a stale compiled module once showed
        # up as "corrupt or truncated FITS file"): those go on as they are.
        if isinstance(error, _READ_ERRORS) and not isinstance(error, DiffimError):
            raise FitsFormatError(f"{self.path}: corrupt or truncated FITS file "
                                  f"({one_line(error)})") from error
        return False


def one_line(error):
    """An exception's message on one line."""
    return " ".join(str(error).split())


def wcs_cards(wcs, xy0):
    """Card images of a parent-frame WCS, expressed in a file whose first pixel is ``xy0``.

    A `diffim.io.wcs_cards.CardWcs` gives the cards it was read with (no
    astropy); an `astropy.wcs.WCS` those of its ``to_header``.
    """
    if isinstance(wcs, CardWcs):
        return wcs.header_cards(xy0)
    header = wcs.to_header(relax=True)
    header["CRPIX1"] -= xy0[0]
    header["CRPIX2"] -= xy0[1]
    return [header_card.image for header_card in header.cards]


def wcs_from_header(header, xy0, path):
    """The parent-frame WCS of an image whose first pixel is ``xy0``, or None.

    ``header`` is an `astropy.io.fits.Header` or a
    `diffim.io.simple_fits.SimpleHeader` (whose ``copy`` is the astropy
    header of the same cards). Distortions astropy understands (SIP, TPV)
    are kept. The WCS of a `SimpleHeader`'s cards is parsed once per process
    (`_KEPT_WCS`); each call returns a WCS of its own.
    """
    if "CTYPE1" not in header:
        return None
    return _KEPT_WCS.get(_wcs_key(header, xy0), lambda: _parsed_wcs(header, xy0, path))


def _wcs_key(header, xy0):
    """What `wcs_from_header` keeps a WCS under: the raw cards of a
    `diffim.io.simple_fits.SimpleHeader` but its checksums (every file's differ), and
    ``xy0``; None for an astropy header (not kept)."""
    raw = getattr(header, "raw", None)
    if raw is None:
        return None
    cards = b"".join(raw[start:start + 80] for start in range(0, len(raw), 80)
                     if not raw.startswith(_CHECKSUM_KEYWORDS, start))
    return cards + repr(tuple(int(value) for value in xy0)).encode()


def _parsed_wcs(header, xy0, path):
    # Imported here: astropy.wcs (and astropy.coordinates with it) costs as
    # much as astropy.io.fits, and images without a WCS never need it.
    from astropy.wcs import WCS

    try:
        local = header.copy()
        if "CRPIX1" in local:
            local["CRPIX1"] += xy0[0]
            local["CRPIX2"] += xy0[1]
        wcs = WCS(local, relax=True)
    except Exception as error:
        raise FitsFormatError(f"{path}: unreadable WCS ({one_line(error)})") from None
    return wcs if wcs.has_celestial else None


def visit_info_cards(visit_info):
    """``{keyword: (value, comment)}`` of the known fields of a `VisitInfo`.

    FITS headers cannot hold NaN, so an unknown value is an absent card.
    """
    cards = {}
    for field, key, comment in _VISIT_CARDS:
        value = getattr(visit_info, field)
        if value is None or value == "" or (isinstance(value, float) and math.isnan(value)):
            continue
        cards[key] = (value, comment)
    return cards


def read_visit_info(header):
    """A `VisitInfo` from header cards (absent cards are unknown values)."""
    airmass = header.get("AIRMASS")
    band = header.get("BAND", "")
    physical_filter = header.get("FILTER", "")
    return VisitInfo(
        exposure_time=float(header.get("EXPTIME", math.nan)),
        mjd=float(header.get("MJD-OBS", math.nan)),
        band=str(band or _band_of(physical_filter)),
        physical_filter=str(physical_filter),
        airmass=None if airmass is None else float(airmass),
    )


def _band_of(physical_filter):
    # Survey filter names such as "i DECam SDSS c0003 7835.0 1470.0" start with the band.
    words = str(physical_filter).split()
    return words[0] if words and len(words[0]) == 1 else ""
