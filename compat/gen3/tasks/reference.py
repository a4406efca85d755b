"""Reference-catalogue sources over a detector, from the ``ref_cat`` HTM7 shards.

The graph builder gives a task the shards whose trixels overlap the
detector's region (the prerequisite's spatial lookup); the sources inside
the detector's sky polygon are what `diffim.sky.refcat.ReferenceCatalogLoader`
returns for the same exposure (``load_exposure_region``), in the same order,
so gen2 (which reads the shard directory) and gen3 select the same stars.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from diffim.sky.matching import unit_vectors
from diffim.sky.refcat import box_sky_polygon

__all__ = ["reference_sources"]


def reference_sources(shards, exposure):
    """The sources of ``shards`` inside ``exposure``'s sky polygon, ordered by ``id``.

    Parameters
    ----------
    shards : `list` [`pandas.DataFrame`]
        ``ref_cat`` shards (``id``, ``coord_ra``, ``coord_dec``, fluxes).
    exposure : `diffim.Exposure`
        With a WCS.

    Returns
    -------
    sources : `pandas.DataFrame` or `None`
        `None` when no shard was given.
    """
    if not shards:
        return None
    sources = pd.concat(shards, ignore_index=True)
    region = box_sky_polygon(exposure.wcs, exposure.bbox)
    inside = region.contains(*unit_vectors(sources["coord_ra"], sources["coord_dec"]).T)
    return sources[np.asarray(inside, bool)].sort_values("id").reset_index(drop=True)
