"""Overlapping cells over an image and the smooth weights that blend them.

A spatially varying PSF or background noise is followed by running ZOGY on
cells small enough for both to be constant in each (the stack's
``doSpatialGrid``: inner cells of ``gridInnerSize`` filter widths). Hard
seams between cells would show wherever the filters change; here adjacent
cells overlap by ``2 * taper`` pixels around each inner boundary and their
results are blended with raised-cosine weights that sum to 1 at every
pixel, so the output changes smoothly from one cell's solution to the next.

Each cell is computed on its blending region grown by the filters' reach, so
the region it contributes to is exactly what a whole-image run with the
cell's filters would give there (the zero padding beyond the computed box
does not reach it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Cell", "cell_grid"]


@dataclass
class Cell:
    """One cell: where it is measured, computed and blended.

    Attributes
    ----------
    inner : `tuple` [`slice`, `slice`]
        ``(rows, columns)`` of the cell's own (non-overlapping) region: PSFs
        and noise are measured there.
    blend : `tuple` [`slice`, `slice`]
        The region its result contributes to (inner grown by the taper, cut
        to the image).
    compute : `tuple` [`slice`, `slice`]
        The region it is computed on (blend grown by the reach, cut to the image).
    weight : `numpy.ndarray`
        float32 weights over ``blend``.
    centre : `tuple` [`float`, `float`]
        ``(x, y)`` of the inner region's centre, array coordinates.
    """

    inner: tuple
    blend: tuple
    compute: tuple
    weight: np.ndarray
    centre: tuple


def _edges(length, count):
    """``count + 1`` boundaries cutting ``length`` into near-equal parts."""
    return [round(i * length / count) for i in range(count + 1)]


def _ramps(edges, taper, length):
    """Per part: its blend slice and 1-D weights (raised-cosine steps at inner edges)."""
    parts = []
    for index in range(len(edges) - 1):
        start = edges[index] - taper if index > 0 else 0
        stop = edges[index + 1] + taper if index < len(edges) - 2 else length
        positions = np.arange(start, stop) + 0.5
        weight = np.ones(stop - start)
        if index > 0:
            weight *= _step((positions - (edges[index] - taper)) / (2 * taper))
        if index < len(edges) - 2:
            weight *= 1.0 - _step((positions - (edges[index + 1] - taper)) / (2 * taper))
        parts.append((slice(start, stop), weight))
    return parts


def _step(u):
    """0 below 0, 1 above 1, a raised cosine between: partners sum to 1."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(u, 0.0, 1.0))


def cell_grid(shape, inner_size, taper, reach):
    """The cells covering an image.

    Parameters
    ----------
    shape : `tuple` [`int`, `int`]
        Image ``(ny, nx)``.
    inner_size : `int`
        Approximate side of the inner cells (the image side when larger: one
        cell along that axis).
    taper : `int`
        Half-width of the blending zone around inner boundaries (>= 1).
    reach : `int`
        The filters' half-width: margin of the computed region.

    Returns
    -------
    cells : `list` [`Cell`]
        Row-major; the weights of overlapping cells sum to 1 at every pixel.
    """
    axes = []
    for length in shape:
        count = max(1, length // max(1, inner_size))
        taper_here = min(taper, length // (2 * count)) if count > 1 else 0
        edges = _edges(length, count)
        axes.append([(slice(edges[i], edges[i + 1]), blend, weight,
                      slice(max(0, blend.start - reach), min(length, blend.stop + reach)))
                     for i, (blend, weight) in enumerate(_ramps(edges, max(1, taper_here),
                                                                length))])
    cells = []
    for inner_y, blend_y, weight_y, compute_y in axes[0]:
        for inner_x, blend_x, weight_x, compute_x in axes[1]:
            cells.append(Cell(
                inner=(inner_y, inner_x), blend=(blend_y, blend_x),
                compute=(compute_y, compute_x),
                weight=np.outer(weight_y, weight_x).astype(np.float32),
                centre=(0.5 * (inner_x.start + inner_x.stop - 1),
                        0.5 * (inner_y.start + inner_y.stop - 1))))
    return cells
