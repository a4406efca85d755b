"""The PSF of a coadd: the weighted sum of the warped input PSFs at each position."""
from __future__ import annotations

import numpy as np

from ..psf import InterpolatedPsf, PixelPsf

__all__ = ["coadd_psf"]


def _padded(kernel_image, size):
    """``kernel_image`` zero-padded to ``size`` (odd, >= its own side)."""
    border = (size - kernel_image.shape[0]) // 2
    return np.pad(kernel_image, border)


def coadd_psf(psfs, weights, used, bbox, n_nodes):
    """Sample the coadd PSF on an ``n_nodes`` x ``n_nodes`` grid over ``bbox``.

    Parameters
    ----------
    psfs : sequence of `diffim.psf.Psf`
        Each input's PSF in the coadd frame (as `diffim.warp.warp_exposure`
        carries it).
    weights : sequence of `float`
        The inputs' combination weights.
    used : sequence of `numpy.ndarray`
        Boolean planes over ``bbox``: where each input contributed.
    bbox : `diffim.geom.Box`
        The coadd's box.
    n_nodes : `int`
        Nodes per axis.

    Returns
    -------
    psf : `diffim.psf.InterpolatedPsf`

    Notes
    -----
    At a node the PSF is ``sum_i w_i P_i / sum_i w_i`` over the inputs that
    contributed the node's pixel, each ``P_i`` normalised to sum 1: a star
    there is exactly that sum, because the coadd is a weighted mean with the
    same per-input weights. Between nodes the image is interpolated
    bilinearly, so near an input's edge (where the set of inputs changes
    abruptly) the PSF is smoothed over a node spacing, as any gridded model
    is; the stack's ``CoaddPsf`` instead re-sums at every position. Per-pixel
    clipping is ignored: it removes outliers, not stars. A node no input
    covers (its pixel is NO_DATA) gets the sum over all inputs.
    """
    weights = np.asarray(weights, dtype=float)

    def psf_at(x, y):
        column, row = int(round(x)) - bbox.x0, int(round(y)) - bbox.y0
        covering = np.array([plane[row, column] for plane in used], dtype=bool)
        if not covering.any():
            covering[:] = True
        images = [psf.computeKernelImage(x, y) for psf, keep in zip(psfs, covering) if keep]
        size = max(image.shape[0] for image in images)
        total = sum(weight * _padded(image / image.sum(), size)
                    for weight, image in zip(weights[covering], images))
        return PixelPsf(total / weights[covering].sum())

    return InterpolatedPsf.from_model(psf_at, bbox, n_nodes, n_nodes)
