"""The rows of a DIA-source catalogue: one per footprint, with sky coordinates.

`detection_catalog` starts the catalogue of `DetectAndMeasureTask` from the
detected footprints (id, centroid, polarity, significance, area);
`add_sky_coordinates` fills ``coord_ra``/``coord_dec`` once the positions
are final.
"""
from __future__ import annotations

import numpy as np

from .centroid import peak_centroids
from .schema import CENTROID_X, CENTROID_Y, empty_records

__all__ = ["add_sky_coordinates", "detection_catalog"]


def detection_catalog(exposure, footprints):
    """One row per footprint: id, centroid, polarity, significance, area.

    Parameters
    ----------
    exposure : `diffim.Exposure`
        The difference image the footprints were detected on.
    footprints : `diffim.measure.footprints.Footprints`

    Returns
    -------
    catalog : `numpy.ndarray`
        A record array of the schema (`diffim.measure.schema.empty_records`); ids
        from 1 in footprint order.
    """
    catalog = empty_records(footprints.count)
    catalog["id"] = np.arange(1, footprints.count + 1, dtype=np.int64)
    pos_sig = np.nan_to_num(footprints.positive_significance, nan=-np.inf)
    neg_sig = np.nan_to_num(-footprints.negative_significance, nan=-np.inf)
    negative = neg_sig > pos_sig
    peak = np.where(negative, footprints.negative_peak, footprints.positive_peak)
    sign = np.where(negative, -1.0, 1.0)
    rows, cols = np.divmod(peak, exposure.shape[1])
    x, y = peak_centroids(footprints.significance, cols, rows, sign)
    catalog[CENTROID_X] = x + exposure.bbox.x0
    catalog[CENTROID_Y] = y + exposure.bbox.y0
    catalog["is_negative"] = negative
    catalog["detection_significance"] = np.where(negative, footprints.negative_significance,
                                                 footprints.positive_significance)
    catalog["base_FootprintArea_value"] = footprints.areas.astype(np.int64)
    return catalog


def add_sky_coordinates(wcs, catalog):
    """Set ``coord_ra``, ``coord_dec`` (degrees) from ``x``, ``y``, in place.

    Parameters
    ----------
    wcs : `astropy.wcs.WCS` or None
        Parent pixel coordinates to sky; nothing is done without one.
    catalog : `numpy.ndarray`
        A record array of the schema.
    """
    if wcs is None or not len(catalog):
        return
    ra, dec = wcs.pixel_to_world_values(catalog[CENTROID_X].copy(), catalog[CENTROID_Y].copy())
    catalog["coord_ra"], catalog["coord_dec"] = np.asarray(ra, float), np.asarray(dec, float)
