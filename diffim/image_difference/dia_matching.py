"""``doMatchSources``: DIA sources tagged with their science and reference counterparts."""
from __future__ import annotations

import numpy as np

from ..sky.matching import match_sky

__all__ = ["NO_MATCH_ID", "match_dia_sources"]

NO_MATCH_ID = -1
"""``srcMatchId``/``refMatchId`` of a DIA source with no counterpart."""


def match_dia_sources(dia_sources, science_sources, reference_sources, radius_arcsec):
    """Add ``srcMatchId`` and ``refMatchId`` (``NO_MATCH_ID`` when unmatched), in place.

    Parameters
    ----------
    dia_sources : `pandas.DataFrame`
        DIA sources with ``coord_ra``, ``coord_dec``; gains the two columns.
    science_sources, reference_sources : `pandas.DataFrame` or None
        Catalogues with ``id``, ``coord_ra``, ``coord_dec``; a missing one
        leaves its column at ``NO_MATCH_ID``.
    radius_arcsec : `float`
        Match radius.
    """
    for column, catalog in (("srcMatchId", science_sources), ("refMatchId", reference_sources)):
        dia_sources[column] = np.full(len(dia_sources), NO_MATCH_ID, dtype=np.int64)
        if catalog is None or not len(dia_sources):
            continue
        dia_index, catalog_index, _ = match_sky(
            dia_sources["coord_ra"], dia_sources["coord_dec"], catalog["coord_ra"],
            catalog["coord_dec"], radius_arcsec)
        dia_sources.loc[dia_sources.index[dia_index], column] = \
            catalog["id"].to_numpy()[catalog_index]
