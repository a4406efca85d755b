"""One-to-one positional matching of two catalogues, on the sky or in pixels."""
from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["match_pixels", "match_sky", "unit_vectors"]


def match_sky(ra1, dec1, ra2, dec2, radius_arcsec):
    """Match two sky catalogues one to one within ``radius_arcsec``.

    Pairs are taken closest first, so each source is in at most one pair.

    Returns
    -------
    index1, index2 : `numpy.ndarray`
        Row indices of the matched pairs.
    separation_arcsec : `numpy.ndarray`
    """
    points1 = unit_vectors(ra1, dec1)
    points2 = unit_vectors(ra2, dec2)
    chord = 2.0 * np.sin(np.radians(radius_arcsec / 3600.0) / 2.0)
    index1, index2, chords = _closest_pairs(points1, points2, chord)
    return index1, index2, np.degrees(2.0 * np.arcsin(np.clip(chords / 2.0, 0, 1))) * 3600.0


def match_pixels(x1, y1, x2, y2, radius_pixels):
    """Match two pixel catalogues one to one within ``radius_pixels``, closest first.

    Returns
    -------
    index1, index2 : `numpy.ndarray`
    distance : `numpy.ndarray`
    """
    return _closest_pairs(np.column_stack([x1, y1]).astype(float),
                          np.column_stack([x2, y2]).astype(float), radius_pixels)


def unit_vectors(ra, dec):
    """``(n, 3)`` unit vectors of positions in degrees."""
    ra, dec = np.radians(np.asarray(ra, float)), np.radians(np.asarray(dec, float))
    return np.column_stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)])


def _closest_pairs(points1, points2, radius):
    empty = (np.zeros(0, int), np.zeros(0, int), np.zeros(0))
    if len(points1) == 0 or len(points2) == 0:
        return empty
    pairs = cKDTree(points1).sparse_distance_matrix(cKDTree(points2), radius, output_type="ndarray")
    if len(pairs) == 0:
        return empty
    pairs = pairs[np.lexsort((pairs["j"], pairs["i"], pairs["v"]))]
    taken1, taken2 = np.zeros(len(points1), bool), np.zeros(len(points2), bool)
    keep = []
    for row, (i, j) in enumerate(zip(pairs["i"], pairs["j"])):
        if not taken1[i] and not taken2[j]:
            taken1[i] = taken2[j] = True
            keep.append(row)
    kept = pairs[keep]
    return kept["i"].astype(int), kept["j"].astype(int), kept["v"].astype(float)
