"""Sky sources: positions in empty sky, measured like sources to gauge the noise.

The image is cut into square cells of side ``2 radius``. A cell is usable
when neither it nor any of its eight neighbours holds an avoided pixel
(a detection or a bad-pixel plane) and none of them falls off the image, so
its centre is at least ``3 radius`` pixels from anything avoided and from
the image border; distinct cells keep sky sources ``2 radius`` apart. ``n`` usable cells are drawn with a seeded
generator, so the same image, config and seed give the same positions.
"""
from __future__ import annotations

import numpy as np

from .flags import plane_mask
from .schema import CENTROID_X, CENTROID_Y, empty_records

__all__ = ["append_sky_sources", "place_sky_sources"]


def place_sky_sources(avoid, n_sources, radius, seed):
    """Array coordinates of up to ``n_sources`` sky sources.

    Parameters
    ----------
    avoid : `numpy.ndarray` of `bool`
        Pixels a sky source must stay clear of.
    n_sources : `int`
        How many to place (fewer if there are not enough empty cells).
    radius : `int`
        Half the cell side, pixels.
    seed : `int`
        Seed of the draw.

    Returns
    -------
    x, y : `numpy.ndarray`
        Array coordinates (floats, on pixel centres), in raster order of
        their cells.
    """
    side = 2 * int(radius)
    n_rows, n_cols = avoid.shape[0] // side, avoid.shape[1] // side
    if n_rows < 3 or n_cols < 3 or n_sources <= 0:
        return np.zeros(0), np.zeros(0)
    cells = avoid[:n_rows * side, :n_cols * side].reshape(n_rows, side, n_cols, side)
    occupied = cells.any(axis=(1, 3))
    padded = np.pad(occupied, 1, constant_values=True)
    neighbourhood = np.zeros_like(occupied)
    for dy in range(3):
        for dx in range(3):
            neighbourhood |= padded[dy:dy + n_rows, dx:dx + n_cols]
    usable = np.flatnonzero(~neighbourhood)
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(usable, size=min(n_sources, len(usable)), replace=False))
    row, col = np.divmod(chosen, n_cols)
    return (col * side + radius).astype(float), (row * side + radius).astype(float)


def append_sky_sources(exposure, catalog, config):
    """``catalog`` with sky-source rows appended (ids continue after its last row).

    Parameters
    ----------
    exposure : `diffim.Exposure`
        The difference image, with its detection planes set.
    catalog : `numpy.ndarray`
        The DIA-source catalogue so far (a record array of the schema).
    config : `diffim.measure.task.SkySourcesConfig`
        ``nSources``, ``sourceRadius``, ``seed``, ``avoidMask``.

    Returns
    -------
    catalog : `numpy.ndarray`
        A new catalogue; sky sources have ``sky_source`` set.
    """
    avoid = plane_mask(exposure, config.avoidMask)
    x, y = place_sky_sources(avoid, config.nSources, config.sourceRadius, config.seed)
    sky = empty_records(len(x))
    sky["id"] = np.arange(len(catalog) + 1, len(catalog) + len(x) + 1, dtype=np.int64)
    sky[CENTROID_X] = x + exposure.bbox.x0
    sky[CENTROID_Y] = y + exposure.bbox.y0
    sky["sky_source"] = True
    return np.concatenate([catalog, sky])
