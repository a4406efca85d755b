"""The differential background, fitted on the whole image once the kernel is known.

The kernel fit constrains the background only at the kernel stars' stamps,
as a constant over each stamp: with a handful of stars, or stars bunched on
one side, the background polynomial is poorly known away from them (tens of
ADU off on a crowded 256 px calexp with 8 stars and a quadratic background),
and images that carry their sky keep a gradient in the difference. Once the
kernel is known, every pixel constrains the background: the residual
``reference - K (x) convolved`` is binned into cells, each cell's clipped
median (sources and transients do not move it) is one point, and the spatial
function of the kernel fit's background (``spatialBgOrder``, lowered to what
the cells constrain) is fitted to them.
"""
from __future__ import annotations

import numpy as np

from ..image.stats import cell_clipped_medians
from ..psfmatch import SpatialBackground, SpatialFunction

__all__ = ["refine_background"]

_CELL = 32
"""Cell side in pixels: ~1000 pixels per median, 0.04 sigma precise."""

_CELLS_PER_TERM = 4
"""Fewest usable cells per spatial term; the order is lowered until there are."""

_MIN_USABLE = 0.5
"""Cells with less than this fraction of usable pixels are left out."""


def refine_background(background, residual, usable, bbox):
    """The background of the spatial form of ``background`` fitted to ``residual``.

    Parameters
    ----------
    background : `diffim.psfmatch.SpatialBackground`
        The background of the kernel fit: its spatial function (order lowered
        when too few cells are usable) and the fallback.
    residual : `numpy.ndarray`
        ``reference - K (x) convolved`` over ``bbox``, no background removed.
    usable : `numpy.ndarray`
        Pixels to use (no bad planes, not EDGE).
    bbox : `diffim.Box`

    Returns
    -------
    background : `diffim.psfmatch.SpatialBackground`
        Fitted on the whole image; ``background`` itself when fewer usable
        cells than ``_CELLS_PER_TERM`` per term of a constant.
    """
    rows = np.array_split(np.arange(bbox.height), max(1, round(bbox.height / _CELL)))
    cols = np.array_split(np.arange(bbox.width), max(1, round(bbox.width / _CELL)))
    medians, used = cell_clipped_medians(residual, usable, rows, cols, _MIN_USABLE)
    cell_rows, cell_cols = np.nonzero(used)
    x = np.array([bbox.x0 + col.mean() for col in cols])[cell_cols]
    y = np.array([bbox.y0 + row.mean() for row in rows])[cell_rows]
    medians = medians[used]
    spatial = background.spatial
    order = spatial.order
    while order >= 0 and (order + 1) * (order + 2) // 2 * _CELLS_PER_TERM > len(medians):
        order -= 1
    if order < 0:
        return background
    if order != spatial.order:
        spatial = SpatialFunction(spatial.model_type, order, spatial.domain)
    terms = spatial.terms(x, y)
    return SpatialBackground(spatial, np.linalg.lstsq(terms, medians, rcond=None)[0])
