"""Pre-convolution of the science image by its own PSF (the score image's first step).

The gen2 ``doPreConvolve`` switch (the gen3 stack's
``AlardLuptonPreconvolveSubtractTask``): the science image ``S`` is
convolved with its PSF ``P``, the matched filter of a point source, and the
template is then PSF-matched to ``P (x) S`` (whose PSF is ``P (x) P``). The
difference ``P (x) S - K (x) T`` is a *score* image: at a point source of
flux ``F`` it peaks at ``F sum(P^2)``, and its value over the square root of
its variance is the source's PSF-weighted signal to noise, so detection
thresholds it without smoothing it again.

``P`` is the science PSF at the image centre, one kernel for the whole image
(as the decorrelation's matching kernel is); the variance plane is
propagated as ``var (x) P^2``.
"""
from __future__ import annotations

import numpy as np
import scipy.fft

from ..psf import InterpolatedPsf, PixelPsf
from ..psfmatch import KernelBasis, SpatialFunction, SpatialKernel, convolve_exposure
from ..task import Struct, single_threaded_blas

__all__ = ["convolved_psf", "fixed_kernel", "preconvolve"]

# Relative (Frobenius) error allowed when factoring the PSF image into
# separable terms: far below the PSF model's own accuracy, and a round
# Gaussian still needs one term.
_RANK_TOLERANCE = 1e-6


def fixed_kernel(kernel_image, bbox):
    """A spatially constant `SpatialKernel` equal to ``kernel_image``, in separable form.

    Parameters
    ----------
    kernel_image : `numpy.ndarray`
        Odd-sized, centred kernel image.
    bbox : `diffim.Box`
        Spatial domain (any box; the kernel does not vary over it).

    Returns
    -------
    kernel : `diffim.psfmatch.SpatialKernel`
        One basis image, the SVD factorisation of ``kernel_image`` truncated
        at a relative error of 1e-6, with a single constant spatial term, so
        `diffim.psfmatch.convolve_exposure` applies it with the compiled
        separable convolution.
    """
    with single_threaded_blas():  # the factors' bits must not depend on the thread count
        u, singular, vt = np.linalg.svd(np.asarray(kernel_image, dtype=float))
    residual = np.sqrt(np.cumsum((singular ** 2)[::-1])[::-1])
    rank = max(1, int(np.count_nonzero(residual > _RANK_TOLERANCE * residual[0])))
    x_vectors = singular[:rank, None] * vt[:rank]
    y_vectors = np.ascontiguousarray(u[:, :rank].T)
    pairs = np.repeat(np.arange(rank, dtype=np.intp)[:, None], 2, axis=1)
    image = np.einsum("pa,pb->ab", y_vectors, x_vectors)[None]
    basis = KernelBasis(image, x_vectors, y_vectors, pairs, np.ones((1, rank)), True, "fixed")
    return SpatialKernel(basis, SpatialFunction("chebyshev1", 0, bbox), np.ones((1, 1)))


def fft_convolve(image, kernel, mode="full"):
    """Linear convolution of two small 2-D arrays through FFTs.

    The padding and transforms of ``scipy.signal.fftconvolve``, so the same
    numbers, without importing ``scipy.signal`` (it loads ``scipy.stats``:
    a third of a second on every ``diffim subtract``).

    Parameters
    ----------
    image, kernel : `numpy.ndarray`
    mode : {"full", "same"}
        ``"same"`` keeps the centre of the full result at ``image``'s shape.
    """
    full = [a + b - 1 for a, b in zip(image.shape, kernel.shape)]
    padded = [scipy.fft.next_fast_len(length, True) for length in full]
    product = (scipy.fft.rfftn(image, padded, axes=(0, 1))
               * scipy.fft.rfftn(kernel, padded, axes=(0, 1)))
    result = scipy.fft.irfftn(product, padded, axes=(0, 1))[:full[0], :full[1]]
    if mode == "same":
        rows, cols = ((f - s) // 2 for f, s in zip(full, image.shape))
        result = result[rows:rows + image.shape[0], cols:cols + image.shape[1]]
    return result.copy()


def convolved_psf(psf, kernel_image, bbox, *, mode="same", nodes=5):
    """``psf`` convolved with a fixed ``kernel_image``, sampled and interpolated.

    Parameters
    ----------
    psf : `diffim.psf.Psf`
        The PSF (it may vary over ``bbox``).
    kernel_image : `numpy.ndarray`
        Centred, odd-sized kernel.
    bbox : `diffim.Box`
        Region the result covers.
    mode : {"same", "full"}
        ``"same"`` keeps the PSF's stamp size (a correction kernel close to a
        delta); ``"full"`` grows it by the kernel, for a kernel as wide as the
        PSF itself.
    nodes : `int`
        The result is sampled on a ``nodes`` x ``nodes`` grid over ``bbox``.

    Returns
    -------
    psf : `diffim.psf.InterpolatedPsf`
        Normalised to sum 1 at every node.
    """
    def convolved_at(x, y):
        image = fft_convolve(psf.computeKernelImage(x, y), kernel_image, mode=mode)
        return PixelPsf(image / image.sum())

    return InterpolatedPsf.from_model(convolved_at, bbox, nodes, nodes)


def preconvolve(science, bad_mask_planes):
    """Convolve a science exposure with its own PSF at the image centre.

    Parameters
    ----------
    science : `diffim.Exposure`
        Science exposure with a PSF; not modified.
    bad_mask_planes : sequence of `str`
        Pixels zeroed before convolving (see `diffim.psfmatch.convolve_exposure`).

    Returns
    -------
    result : `Struct`
        ``exposure`` (`diffim.Exposure`: image ``P (x) S``, variance
        ``var (x) P^2``, mask dilated by the PSF stamp with EDGE on its
        border, PSF ``P (x) P_sci(x, y)``) and ``kernelImage`` (``P``,
        normalised to sum 1).
    """
    bbox = science.bbox
    kernel_image = np.asarray(science.psf.computeKernelImage(*bbox.center), dtype=float)
    kernel_image = kernel_image / kernel_image.sum()
    exposure = convolve_exposure(science, fixed_kernel(kernel_image, bbox),
                                 bad_mask_planes=list(bad_mask_planes))
    exposure.psf = convolved_psf(science.psf, kernel_image, bbox, mode="full")
    return Struct(exposure=exposure, kernelImage=kernel_image)
