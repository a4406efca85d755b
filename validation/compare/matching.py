"""One-to-one positional match of two catalogues: mutual nearest neighbours within a radius.

Pixel positions (``x``, ``y``) are used when both catalogues have them, else
sky positions (``coord_ra``, ``coord_dec`` in degrees), matched as unit
vectors so that the radius means the same at every declination and across
RA = 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from diffim.sky.matching import unit_vectors

from ..errors import ValidationError

__all__ = ["Match", "match_catalogs"]

PIXEL_COLUMNS = (("slot_Centroid_x", "slot_Centroid_y"), ("x", "y"))
"""Pixel-position column pairs, in order of preference: the DIA-source catalogue's (the
stack's slot names), then the ``src``-like catalogues' (``kernelSrc``, simulated truth)."""
SKY_COLUMNS = ("coord_ra", "coord_dec")
_ARCSEC_PER_RADIAN = np.degrees(1.0) * 3600.0


@dataclass
class Match:
    """Matched row positions of two catalogues.

    Attributes
    ----------
    rows_a, rows_b : `numpy.ndarray`
        Row positions (not index labels) of the matched pairs, in order of ``rows_a``.
    separation : `numpy.ndarray`
        Distance of each pair, in ``unit``.
    unmatched_a, unmatched_b : `numpy.ndarray`
        Row positions without a counterpart (including rows with NaN positions).
    columns : `tuple` [`str`, `str`]
        The position columns used.
    unit : `str`
        ``"pixel"`` or ``"arcsec"``.
    """

    rows_a: np.ndarray
    rows_b: np.ndarray
    separation: np.ndarray
    unmatched_a: np.ndarray
    unmatched_b: np.ndarray
    columns: tuple
    unit: str

    @classmethod
    def row_by_row(cls, n_rows):
        """Row ``i`` of one catalogue paired with row ``i`` of the other (for identical frames)."""
        rows = np.arange(n_rows)
        empty = np.zeros(0, np.int64)
        return cls(rows, rows, np.zeros(n_rows), empty, empty, columns=(), unit="row")


def match_catalogs(catalog_a, catalog_b, radius_pixels, radius_arcsec):
    """Match two DataFrames 1:1 by position.

    A pair is two sources each the other's nearest neighbour, closer than the
    radius: mutual nearest neighbours never claim one source twice.

    Raises
    ------
    ValidationError
        If the catalogues share no pair of `PIXEL_COLUMNS`, nor ``coord_ra``/``coord_dec``.
    """
    pixel_columns = next((pair for pair in PIXEL_COLUMNS
                          if all(name in catalog_a and name in catalog_b for name in pair)), None)
    if pixel_columns is not None:
        columns, unit, radius = pixel_columns, "pixel", radius_pixels
        points_a, points_b = (_pixel_points(c, pixel_columns) for c in (catalog_a, catalog_b))
    elif all(name in catalog_a and name in catalog_b for name in SKY_COLUMNS):
        columns, unit = SKY_COLUMNS, "arcsec"
        # The chord between unit vectors is (to 1e-12 at these radii) the angle.
        radius = radius_arcsec / _ARCSEC_PER_RADIAN
        points_a, points_b = (_unit_vectors(c) for c in (catalog_a, catalog_b))
    else:
        pairs = " or ".join(" and ".join(pair) for pair in (*PIXEL_COLUMNS, SKY_COLUMNS))
        raise ValidationError(f"cannot match catalogues: they do not both have position columns "
                              f"{pairs}")
    rows_a, rows_b, distance = _mutual_nearest(points_a, points_b, radius)
    if unit == "arcsec":
        distance = distance * _ARCSEC_PER_RADIAN
    return Match(rows_a=rows_a, rows_b=rows_b, separation=distance,
                 unmatched_a=np.setdiff1d(np.arange(len(catalog_a)), rows_a),
                 unmatched_b=np.setdiff1d(np.arange(len(catalog_b)), rows_b),
                 columns=columns, unit=unit)


def _pixel_points(catalog, columns):
    return np.column_stack([catalog[name].to_numpy(np.float64) for name in columns])


def _unit_vectors(catalog):
    return unit_vectors(*(catalog[name].to_numpy(np.float64) for name in SKY_COLUMNS))


def _mutual_nearest(points_a, points_b, radius):
    """Row positions of mutual nearest neighbours closer than ``radius``, and their distances."""
    usable_a = np.flatnonzero(np.isfinite(points_a).all(axis=1))
    usable_b = np.flatnonzero(np.isfinite(points_b).all(axis=1))
    empty = np.zeros(0, np.int64)
    if not usable_a.size or not usable_b.size:
        return empty, empty, np.zeros(0)
    tree_a, tree_b = cKDTree(points_a[usable_a]), cKDTree(points_b[usable_b])
    distance_ab, nearest_ab = tree_b.query(points_a[usable_a], distance_upper_bound=radius)
    _, nearest_ba = tree_a.query(points_b[usable_b], distance_upper_bound=radius)
    # cKDTree answers "no neighbour within the radius" with index n (one past the end).
    found = nearest_ab < usable_b.size
    candidates = np.flatnonzero(found)
    mutual = nearest_ba[nearest_ab[candidates]] == candidates
    pairs_a = candidates[mutual]
    return usable_a[pairs_a], usable_b[nearest_ab[pairs_a]], distance_ab[pairs_a]
