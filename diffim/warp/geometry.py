"""The pixel mapping of a warp: target pixels to source pixels through the sky.

`diffim.warp.warp_exposure` evaluates the mapping exactly on a coarse grid
(`source_positions`) and interpolates between; this module holds that grid,
the pixel-area ratio it implies (`pixel_area_ratio`), the local Jacobians
the PSF is resampled through (`local_jacobians`), and the part of the
target box that can see the input at all (`input_footprint`).
"""
from __future__ import annotations

import math

import numpy as np

from ..geom import Box

__all__ = ["DEFAULT_INTERP_LENGTH", "POSITION_SNAP", "UNIT_SNAP", "input_footprint",
           "local_jacobians", "map_pixels", "pixel_area_ratio", "source_positions"]

DEFAULT_INTERP_LENGTH = 16
"""Target pixels between exact evaluations of the pixel mapping (afw's ``interpLength``)."""

POSITION_SNAP = 1.0e-6
"""Source positions this close (pixels) to a pixel centre are put on it."""


UNIT_SNAP = 1.0e-9
"""Area ratios and Jacobian entries this close to the identity's are taken as exact."""


def map_pixels(source_wcs, target_wcs, x, y):
    """Exact source parent positions of target parent positions (through the sky)."""
    ra, dec = target_wcs.pixel_to_world_values(x, y)
    u, v = source_wcs.world_to_pixel_values(ra, dec)
    return np.asarray(u, dtype=float), np.asarray(v, dtype=float)


def source_positions(source_wcs, target_wcs, target_bbox, interp_length=DEFAULT_INTERP_LENGTH):
    """Exact source positions on the coarse grid the warping interpolates.

    Parameters
    ----------
    source_wcs, target_wcs : `astropy.wcs.WCS`
        Map parent pixel coordinates of the input and the output to the sky.
    target_bbox : `diffim.geom.Box`
        The output pixels.
    interp_length : `int`
        Grid spacing in target pixels.

    Returns
    -------
    grid_x, grid_y : `numpy.ndarray`
        Source parent coordinates of target pixel
        ``(x0 + i * interp_length, y0 + j * interp_length)`` at ``[j, i]``;
        ``(height - 1) // interp_length + 2`` rows and the matching number of
        columns, so the last node lies on or beyond the last pixel.
    """
    n_x = (target_bbox.width - 1) // interp_length + 2
    n_y = (target_bbox.height - 1) // interp_length + 2
    x = target_bbox.x0 + interp_length * np.arange(n_x, dtype=float)
    y = target_bbox.y0 + interp_length * np.arange(n_y, dtype=float)
    grid_x, grid_y = np.meshgrid(x, y)
    return map_pixels(source_wcs, target_wcs, grid_x, grid_y)


def pixel_area_ratio(grid_x, grid_y, interp_length):
    """Source pixels per target pixel at each node: the Jacobian determinant of the mapping.

    Differences over the grid are exact for an affine mapping and off by
    ``interp_length^2 / 6`` times the third derivative otherwise: ~5e-8 for
    5 px of radial distortion at the corners of a 4k x 4k detector.
    """
    # Second-order differences at the grid's edges too (needs 3 nodes per axis).
    edge_order = 2 if min(grid_x.shape) >= 3 else 1
    dx_di, dx_dj = (g / interp_length
                    for g in np.gradient(grid_x, axis=(1, 0), edge_order=edge_order))
    dy_di, dy_dj = (g / interp_length
                    for g in np.gradient(grid_y, axis=(1, 0), edge_order=edge_order))
    det = np.abs(dx_di * dy_dj - dx_dj * dy_di)
    # Equal pixel scales give 1 +- 1e-11 after the WCS round trip; keep such
    # warps exact rather than scaling by noise.
    det[np.abs(det - 1.0) < UNIT_SNAP] = 1.0
    return np.ascontiguousarray(det)


def input_footprint(exposure, target_wcs, target_bbox, margin):
    """The part of ``target_bbox`` that can see the input, as a `Box` (maybe empty).

    The input's outline (pixel edges, sampled every 32 px so that distortion
    cannot bend it between samples by more than a small fraction of a pixel)
    is mapped into the target frame; its bounding box, grown by ``margin``,
    is clipped to ``target_bbox``. Target pixels outside it are NO_DATA
    without evaluating the WCS there, which also keeps far-away pixels from
    asking a TAN-SIP inversion for positions where it diverges.
    """
    box = exposure.bbox
    along_x = np.append(np.arange(box.x0, box.x_end, 32.0), box.x_end) - 0.5
    along_y = np.append(np.arange(box.y0, box.y_end, 32.0), box.y_end) - 0.5
    x = np.concatenate([along_x, along_x, np.full(along_y.size, box.x0 - 0.5),
                        np.full(along_y.size, box.x_end - 0.5)])
    y = np.concatenate([np.full(along_x.size, box.y0 - 0.5),
                        np.full(along_x.size, box.y_end - 0.5), along_y, along_y])
    tx, ty = map_pixels(target_wcs, exposure.wcs, x, y)
    if not (np.all(np.isfinite(tx)) and np.all(np.isfinite(ty))):
        return target_bbox
    outline = Box.from_corners(math.floor(tx.min()) - margin, math.floor(ty.min()) - margin,
                               math.ceil(tx.max()) + margin, math.ceil(ty.max()) + margin)
    return outline.intersection(target_bbox)


def local_jacobians(source_wcs, target_wcs, x, y):
    """``ds/dt`` (shape ``(n, 2, 2)``) by central differences over one target pixel."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    jacobian = np.empty((x.size, 2, 2))
    for column, (dx, dy) in enumerate(((0.5, 0.0), (0.0, 0.5))):
        plus = map_pixels(source_wcs, target_wcs, x + dx, y + dy)
        minus = map_pixels(source_wcs, target_wcs, x - dx, y - dy)
        jacobian[:, 0, column] = plus[0] - minus[0]
        jacobian[:, 1, column] = plus[1] - minus[1]
    return jacobian
