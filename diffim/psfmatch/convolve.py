"""Convolve an image or exposure with a spatially varying PSF-matching kernel.

The work is done by `diffim._core._al_convolve.convolve_spatial`, which sums
the kernel's separable terms with per-pixel spatial weights, streaming down
column strips shared among OpenMP threads; the image is read in place (edge
extension happens in the kernel), so no padded copy is made.
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


def convolve_image(image, kernel, xy0=(0, 0)):
    """Convolve a 2-D array with a `SpatialKernel`.

    Parameters
    ----------
    image : `numpy.ndarray`
        2-D image; must be finite.
    kernel : `SpatialKernel`
        Kernel evaluated at each output pixel's parent position.
    xy0 : `tuple` [`int`, `int`]
        Parent position of ``image[0, 0]``.

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
                None)


def convolve_variance(variance, kernel, xy0=(0, 0)):
    """Propagate a variance plane through the convolution with ``kernel``.

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
    return _run(variance, kernel, xy0, x_vectors, y_vectors, pairs, coefficients, gain)


def convolve_exposure(exposure, kernel, *, bad_mask_planes=("NO_DATA",), in_place=False):
    """Convolve the image, variance and mask of an `Exposure` with ``kernel``.

    Parameters
    ----------
    exposure : `Exposure`
        Input; not modified.
    kernel : `SpatialKernel`
    bad_mask_planes : sequence of `str`
        Pixels with any of these planes (among those the mask knows) are set
        to 0 in image and variance before convolving; their bits spread to
        every output pixel they reach, so the damage stays flagged.
    in_place : `bool`
        Zero those pixels in the exposure's own (float32, contiguous) planes
        while convolving, and put them back after, instead of in copies: two
        image planes less at the peak memory. Nothing may read the planes
        meanwhile.

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
    bits = exposure.mask.bitmask(names)
    saved = []
    if in_place:
        flagged = np.flatnonzero(exposure.mask.get(names))
        saved = [(plane.reshape(-1), plane.reshape(-1)[flagged])
                 for plane in (exposure.image, exposure.variance)
                 if _writable_float32(plane)]
    image = _cleaned(exposure.image, exposure.mask.array, bits, "image", in_place)
    variance = _cleaned(exposure.variance, exposure.mask.array, bits, "variance", in_place)

    half = kernel.size // 2
    mask_array = np.empty(exposure.shape, dtype=np.uint32)
    _al_convolve.dilate_mask(np.ascontiguousarray(exposure.mask.array), mask_array, kernel.size)
    mask = Mask(mask_array, exposure.mask.planes.copy())
    edge = mask_array.dtype.type(1 << mask.add_plane("EDGE"))
    for border in (np.s_[:half], np.s_[mask_array.shape[0] - half:], np.s_[:, :half],
                   np.s_[:, mask_array.shape[1] - half:]):
        mask_array[border] |= edge

    convolved = Exposure(convolve_image(image, kernel, exposure.xy0),
                         convolve_variance(variance, kernel, exposure.xy0), mask,
                         xy0=exposure.xy0, wcs=exposure.wcs, photo_calib=exposure.photo_calib,
                         visit_info=exposure.visit_info, metadata=exposure.metadata)
    for flat, values in saved:
        flat[flagged] = values
    return convolved


def _writable_float32(plane):
    return plane.dtype == np.float32 and plane.flags.c_contiguous and plane.flags.writeable


def _cleaned(plane, mask, bits, name, in_place=False):
    """``plane`` (float32) with pixels of ``mask & bits`` zeroed; error on other non-finite pixels.

    One pass that writes the copy (``plane`` itself with ``in_place``, when
    `_writable_float32`) and counts: no image-sized boolean temporaries.
    """
    cleaned = (plane if in_place and _writable_float32(plane)
               else np.empty(plane.shape, dtype=np.float32))
    unexplained = _planes.zeroed_copy(np.asarray(plane, dtype=np.float32), mask, bits, cleaned)
    if unexplained:
        raise PsfMatchInputError(
            f"{name} plane has {unexplained} NaN/inf pixels not flagged as bad (e.g. NO_DATA); "
            "cannot convolve")
    return cleaned


def _used_vectors(x_vectors, y_vectors, pairs):
    """Keep only the 1-D vectors the pairs use, re-indexing the pairs."""
    x_used, x_index = np.unique(pairs[:, 0], return_inverse=True)
    y_used, y_index = np.unique(pairs[:, 1], return_inverse=True)
    return (np.ascontiguousarray(x_vectors[x_used]), np.ascontiguousarray(y_vectors[y_used]),
            np.ascontiguousarray(np.stack([x_index, y_index], axis=1), dtype=np.intp))


def _run(plane, kernel, xy0, x_vectors, y_vectors, pairs, coefficients, gain):
    """Call the kernel on ``plane`` (no copy when it is C-contiguous float32).

    With a ``gain`` (the sum-of-squares form) the output is a variance:
    multiplied by the gain and clipped at 0.
    """
    plane = np.asarray(plane)
    if plane.ndim != 2:
        raise PsfMatchInputError(f"cannot convolve an array of shape {plane.shape}")
    out = np.empty(plane.shape, dtype=np.float32)
    powers = kernel.spatial.powers
    x_offset, x_scale, y_offset, y_scale = kernel.spatial.scaling
    n_terms = kernel.spatial.n_terms
    gain_matrix = (np.zeros((n_terms, n_terms)) if gain is None
                   else np.ascontiguousarray(gain, dtype=float))
    _al_convolve.convolve_spatial(
        np.ascontiguousarray(plane, dtype=np.float32), out,
        np.ascontiguousarray(x_vectors, dtype=float), np.ascontiguousarray(y_vectors, dtype=float),
        np.ascontiguousarray(pairs, dtype=np.intp),
        np.ascontiguousarray(coefficients, dtype=float), np.ascontiguousarray(powers[:, 0]),
        np.ascontiguousarray(powers[:, 1]), int(kernel.spatial.is_chebyshev), x_offset, x_scale,
        y_offset, y_scale, int(xy0[0]), int(xy0[1]), gain_matrix, int(gain is not None),
        int(gain is not None), BLOCK_ROWS, BLOCK_COLS)
    return out
