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
the cells constrain) is fitted to them. Beyond `_MAX_SAMPLES` pixels only every
``step``-th row and column is read (every other at 4096 px, 256 pixels per
cell): the fit of a few terms to 16384 cell medians is then still limited by
the smoothness of the background, not by the pixels per median, and the
residual is formed at the sampled pixels only.
"""
from __future__ import annotations

import math

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

_MAX_SAMPLES = 1 << 22
"""Most pixels read: larger images are sampled every ``step``-th row and column."""


def refine_background(background, reference, matched, unusable, bbox):
    """The background of the spatial form of ``background`` fitted to ``reference - matched``.

    Parameters
    ----------
    background : `diffim.psfmatch.SpatialBackground`
        The background of the kernel fit: its spatial function (order lowered
        when too few cells are usable) and the fallback.
    reference, matched : `numpy.ndarray`
        The image not convolved and ``K (x) convolved`` over ``bbox``, no
        background added (float32).
    unusable : sequence of (`numpy.ndarray`, `int`)
        Mask arrays over ``bbox`` and their bits: a pixel with any of the
        bits set in any of them is left out (bad planes, EDGE).
    bbox : `diffim.Box`

    Returns
    -------
    background : `diffim.psfmatch.SpatialBackground`
        Fitted on the whole image; ``background`` itself when fewer usable
        cells than ``_CELLS_PER_TERM`` per term of a constant.
    """
    step = _sampling_step(bbox.height * bbox.width)
    sampled = np.s_[::step, ::step]
    residual = np.subtract(reference[sampled], matched[sampled])
    usable = np.ones(residual.shape, dtype=bool)
    for mask, bits in unusable:
        usable &= (mask[sampled] & bits) == 0
    rows = np.array_split(np.arange(bbox.height), max(1, round(bbox.height / _CELL)))
    cols = np.array_split(np.arange(bbox.width), max(1, round(bbox.width / _CELL)))
    medians, used = cell_clipped_medians(residual, usable, _sampled(rows, step),
                                         _sampled(cols, step), _MIN_USABLE)
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


def _sampling_step(pixels):
    """Row and column step that reads at most `_MAX_SAMPLES` of ``pixels`` (1 up to it)."""
    return max(1, math.ceil(math.sqrt(pixels / _MAX_SAMPLES)))


def _sampled(ranges, step):
    """Each range of consecutive indices as the indices of its sampled ones (every ``step``-th
    from 0) in the sampled array."""
    return [np.arange(-(-int(index[0]) // step), -(-(int(index[-1]) + 1) // step))
            for index in ranges]
