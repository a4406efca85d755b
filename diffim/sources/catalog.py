"""A calexp's ``src`` catalogue: the sources of one exposure, with sky positions.

What the kernel-source selection, source matching and the middleware ingest
need of the stack's ``src``: ids, pixel and sky positions, PSF fluxes with
errors, an extendedness and flags. Detection and photometry are those of
`diffim.sources.kernel_sources`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DiffimError
from .kernel_sources import clear_of_masks, detect_kernel_sources

__all__ = ["SOURCE_COLUMNS", "make_source_catalog", "source_id_offset"]

VISIT_ID_FACTOR = 10 ** 6
DETECTOR_ID_FACTOR = 10 ** 4


def source_id_offset(visit, detector):
    """First source id of the ``src`` catalogue of ``(visit, detector)``.

    ``visit * 10**6 + detector * 10**4``: ids stay unique across the catalogues
    of a field, the same under every middleware.
    """
    return int(visit) * VISIT_ID_FACTOR + int(detector) * DETECTOR_ID_FACTOR

SOURCE_COLUMNS = {
    "id": "int64: source id, unique in the catalogue (detection order, brightest first)",
    "x": "float64: centroid column, parent pixels",
    "y": "float64: centroid row, parent pixels",
    "coord_ra": "float64: right ascension, degrees",
    "coord_dec": "float64: declination, degrees",
    "psfFlux": "float64: PSF flux, counts",
    "psfFluxErr": "float64: PSF flux error, counts",
    "snr": "float64: psfFlux / psfFluxErr",
    "extendedness": "float64: 1 for resolved sources, 0 for point-like ones",
    "blended_flag": "bool: another detection lies within the isolation radius",
    "saturated_flag": "bool: a SAT pixel within one PSF FWHM",
}
"""Columns of a source catalogue, with dtype, unit and meaning."""


def make_source_catalog(exposure, isolation_fwhm=3.0, id_offset=0):
    """Detect and measure the sources of an exposure.

    Parameters
    ----------
    exposure : `diffim.Exposure`
        Background-subtracted, with a PSF and a WCS.
    isolation_fwhm : `float`
        Isolation radius in PSF FWHMs.
    id_offset : `int`
        Added to the ids (e.g. visit * 10**6 + detector * 10**4) so catalogues
        of several exposures do not share ids.

    Returns
    -------
    catalog : `pandas.DataFrame`
        Columns `SOURCE_COLUMNS`.
    """
    if exposure.psf is None or exposure.wcs is None:
        raise DiffimError("a source catalogue needs an exposure with a PSF and a WCS")
    fwhm = float(exposure.psf.computeFwhm(*exposure.bbox.center))
    detections = pd.DataFrame(detect_kernel_sources(exposure, exposure.psf,
                                                    isolation_radius=isolation_fwhm * fwhm))
    detections = detections[np.isfinite(detections["flux"]) & (detections["snr"] > 0)]
    catalog = detections.reset_index(drop=True)
    ra, dec = exposure.pixel_to_sky(catalog["x"].to_numpy(), catalog["y"].to_numpy())
    saturated = _near_plane(exposure, "SAT", catalog, fwhm)
    return catalog.assign(
        id=np.arange(len(catalog), dtype=np.int64) + id_offset,
        coord_ra=np.asarray(ra, float), coord_dec=np.asarray(dec, float),
        psfFlux=catalog["flux"], psfFluxErr=catalog["flux"] / catalog["snr"],
        extendedness=catalog["resolved"].astype(float),
        blended_flag=~catalog["isolated"], saturated_flag=saturated,
    )[list(SOURCE_COLUMNS)]


def _near_plane(exposure, plane, catalog, radius):
    if plane not in exposure.mask.planes or not len(catalog):
        return np.zeros(len(catalog), bool)
    return ~clear_of_masks(catalog, [exposure], [plane], radius)
