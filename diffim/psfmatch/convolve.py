"""Convolve an image or exposure with a spatially varying PSF-matching kernel.

The work is done by `diffim._core._al_convolve.convolve_spatial`, which sums
the kernel's separable terms with per-pixel spatial weights, streaming down
column strips shared among OpenMP threads; the image is read in place (edge
extension, and zeros for bad pixels, happen in the kernel), so no padded or
cleaned copy is made.
"""
from __future__ import annotations

import numpy as np

from .._core import _al_convolve, _planes
from ..exposure import Exposure
from ..mask import Mask
from .basis import trimmed
from .errors import PsfMatchInputError

__all__ = ["convolve_exposure", "convolve_image", "convolve_variance"]

BLOCK_ROWS = 512
BLOCK_COLS = 256
# Relative Frobenius error allowed when factoring the squared kernel into
# separable terms for the variance. It only changes the shape of the squared
# kernel (the gain is exact): 1e-5 keeps even a white-noise variance plane
# within 1e-5 of brute force, with about 8 terms where 1e-6 needs 10.
_VARIANCE_RANK_TOLERANCE = 1e-5

_VARIANCE_TRIM = 1e-6
"""Taps of the squared kernel's separable factors below this fraction of their peak are zero."""

_NO_MASK = np.zeros((1, 1), dtype=np.uint32)
"""The mask passed with no bad bits (not read)."""


def convolve_image(image, kernel, xy0=(0, 0), *, bad=None):
    """Convolve a 2-D array with a `SpatialKernel`.

    Parameters
    ----------
    image : `numpy.ndarray`
        2-D image; must be finite (but for ``bad`` pixels).
    kernel : `SpatialKernel`
        Kernel evaluated at each output pixel's parent position.
    xy0 : `tuple` [`int`, `int`]
        Parent position of ``image[0, 0]``.
    bad : `tuple` [`numpy.ndarray`, `int`], optional
        ``(mask array, bits)``: pixels with any of ``bits`` set are read as 0.

    Returns
    -------
    convolved : `numpy.ndarray`
        float32 array of the image's shape,
        ``out(x, y) = sum_{u,v} K_{x,y}(u, v) I(x - u, y - v)``. Within
        ``kernel.size // 2`` of the border, the input is extended by its
        nearest edge pixel.
    """
    x_vectors, y_vectors, pairs = _used_vectors(kernel.basis.x_vectors, kernel.basis.y_vectors,
                                                kernel.basis.pairs)
    return _run(image, kernel, xy0, x_vectors, y_vectors, pairs, kernel.pair_coefficients(),
                None, bad)


def convolve_variance(variance, kernel, xy0=(0, 0), *, bad=None):
    """Propagate a variance plane through the convolution with ``kernel``.

    ``bad`` is as for `convolve_image`.

    Notes
    -----
    Exact propagation needs ``Var * K(x, y)**2`` with the squared kernel of
    every pixel, which is not separable in the basis. We use

        Var_out(x, y) = [sum K(x, y)^2 / sum K_c^2] * (Var (x) K_c^2)(x, y),

    ``K_c`` the kernel at the centre of the spatial domain: the shape of the
    squared kernel is taken from the centre, while its sum, the noise gain,
    is exact at every pixel (``sum K^2`` is a quadratic form in the spatial
    terms). ``K_c^2`` is factored by SVD into separable terms to a relative
    (Frobenius) error of 1e-5, normalised to keep its sum. For a spatially
    constant kernel the result equals the brute-force propagation to that
    error; correlations between pixels are ignored, as in the stack.
    """
    x_centre, y_centre = kernel.spatial.domain.center
    squared = kernel.image(x_centre, y_centre) ** 2
    u, singular, vt = np.linalg.svd(squared)
    residual = np.sqrt(np.cumsum((singular**2)[::-1])[::-1])
    rank = max(1, int(np.count_nonzero(residual > _VARIANCE_RANK_TOLERANCE * residual[0])))
    # Trimmed (as the basis vectors are, 10x tighter) so that the passes
    # cover the squared kernel's own support, narrower than the kernel's:
    # a 33 px kernel at 4k, 0.34 -> 0.25 CPU s; the plane moves by <= 1e-6.
    x_vectors = np.array([trimmed(vector, _VARIANCE_TRIM)
                          for vector in singular[:rank, None] * vt[:rank]])
    y_vectors = np.array([trimmed(vector, _VARIANCE_TRIM) for vector in u[:, :rank].T])
    pairs = np.repeat(np.arange(rank, dtype=np.intp)[:, None], 2, axis=1)
    coefficients = np.zeros((rank, kernel.spatial.n_terms))
    coefficients[:, 0] = 1.0
    # Normalised by the sum of the factored kernel, so that the gain stays
    # exact whatever the rank: the truncation only alters the shape.
    gain = kernel.sum_squares_form() / np.sum(x_vectors.sum(axis=1) * y_vectors.sum(axis=1))
    return _run(variance, kernel, xy0, x_vectors, y_vectors, pairs, coefficients, gain, bad)


def convolve_exposure(exposure, kernel, *, bad_mask_planes=("NO_DATA",)):
    """Convolve the image, variance and mask of an `Exposure` with ``kernel``.

    Parameters
    ----------
    exposure : `Exposure`
        Input; not modified.
    kernel : `SpatialKernel`
    bad_mask_planes : sequence of `str`
        Pixels with any of these planes (among those the mask knows) are read
        as 0 in image and variance; their bits spread to every output pixel
        they reach, so the damage stays flagged.

    Returns
    -------
    convolved : `Exposure`
        Same box, WCS, calibration and metadata; no PSF. The mask of each
        output pixel is the OR of the input masks over the kernel box, and
        ``EDGE`` is set within ``kernel.size // 2`` of the border.

    Raises
    ------
    PsfMatchInputError
        If the image or variance is NaN/inf at pixels not in ``bad_mask_planes``.
    """
    names = [name for name in bad_mask_planes if name in exposure.mask.planes]
    bad = (np.ascontiguousarray(exposure.mask.array), exposure.mask.bitmask(names))
    unexplained = _planes.count_unflagged_nonfinite(
        np.asarray(exposure.image, dtype=np.float32),
        np.asarray(exposure.variance, dtype=np.float32), *bad)
    for name, count in zip(("image", "variance"), unexplained):
        if count:
            raise PsfMatchInputError(
                f"{name} plane has {count} NaN/inf pixels not flagged as bad (e.g. "
                "NO_DATA); cannot convolve")

    half = kernel.size // 2
    mask_array = np.empty(exposure.shape, dtype=np.uint32)
    _al_convolve.dilate_mask(bad[0], mask_array, kernel.size)
    mask = Mask(mask_array, exposure.mask.planes.copy())
    edge = mask_array.dtype.type(1 << mask.add_plane("EDGE"))
    for border in (np.s_[:half], np.s_[mask_array.shape[0] - half:], np.s_[:, :half],
                   np.s_[:, mask_array.shape[1] - half:]):
        mask_array[border] |= edge

    return Exposure(convolve_image(exposure.image, kernel, exposure.xy0, bad=bad),
                    convolve_variance(exposure.variance, kernel, exposure.xy0, bad=bad), mask,
                    xy0=exposure.xy0, wcs=exposure.wcs, photo_calib=exposure.photo_calib,
                    visit_info=exposure.visit_info, metadata=exposure.metadata)


def _used_vectors(x_vectors, y_vectors, pairs):
    """Keep only the 1-D vectors the pairs use, re-indexing the pairs."""
    x_used, x_index = np.unique(pairs[:, 0], return_inverse=True)
    y_used, y_index = np.unique(pairs[:, 1], return_inverse=True)
    return (np.ascontiguousarray(x_vectors[x_used]), np.ascontiguousarray(y_vectors[y_used]),
            np.ascontiguousarray(np.stack([x_index, y_index], axis=1), dtype=np.intp))


def _run(plane, kernel, xy0, x_vectors, y_vectors, pairs, coefficients, gain, bad):
    """Call the kernel on ``plane`` (no copy when it is C-contiguous float32).

    With a ``gain`` (the sum-of-squares form) the output is a variance:
    multiplied by the gain and clipped at 0. ``bad`` is ``(mask, bits)`` or None.
    """
    plane = np.asarray(plane)
    if plane.ndim != 2:
        raise PsfMatchInputError(f"cannot convolve an array of shape {plane.shape}")
    mask, bits = bad if bad is not None else (_NO_MASK, 0)
    if bits and np.shape(mask) != plane.shape:
        raise PsfMatchInputError(f"mask of shape {np.shape(mask)} for a plane of shape "
                                 f"{plane.shape}")
    out = np.empty(plane.shape, dtype=np.float32)
    powers = kernel.spatial.powers
    x_offset, x_scale, y_offset, y_scale = kernel.spatial.scaling
    n_terms = kernel.spatial.n_terms
    gain_matrix = (np.zeros((n_terms, n_terms)) if gain is None
                   else np.ascontiguousarray(gain, dtype=float))
    _al_convolve.convolve_spatial(
        np.ascontiguousarray(plane, dtype=np.float32),
        np.ascontiguousarray(mask, dtype=np.uint32), int(bits), out,
        np.ascontiguousarray(x_vectors, dtype=float), np.ascontiguousarray(y_vectors, dtype=float),
        np.ascontiguousarray(pairs, dtype=np.intp),
        np.ascontiguousarray(coefficients, dtype=float), np.ascontiguousarray(powers[:, 0]),
        np.ascontiguousarray(powers[:, 1]), int(kernel.spatial.is_chebyshev), x_offset, x_scale,
        y_offset, y_scale, int(xy0[0]), int(xy0[1]), gain_matrix, int(gain is not None),
        int(gain is not None), BLOCK_ROWS, BLOCK_COLS)
    return out
