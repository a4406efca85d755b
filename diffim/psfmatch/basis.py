"""Kernel bases for PSF matching, kept in separable form.

Every Alard-Lupton basis function is ``g(u) u^i * g(v) v^j`` times a constant,
an outer product of two 1-D vectors, and the renormalisation only adds a
multiple of ``B0`` (itself separable). A `KernelBasis` therefore stores, next
to the 2-D images, a short list of separable *pairs* ``X[p] (x) Y[p]`` and a
matrix ``transform`` with ``B_k = sum_p transform[k, p] X[p] (x) Y[p]``.
Convolving with a pair costs two 1-D passes, ``2 * kernel_size`` operations
per pixel instead of ``kernel_size**2``; pairs sharing an x vector share the
first pass.

Kernel images are indexed ``[v + h, u + h]`` for offsets ``u`` (x) and ``v``
(y) in ``[-h, h]``, ``h = kernel_size // 2``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import PsfMatchConfig
from .errors import PsfMatchConfigError

__all__ = [
    "FWHM_PER_SIGMA",
    "KernelBasis",
    "alard_lupton_widths",
    "make_alard_lupton_basis",
    "make_delta_function_basis",
    "make_basis",
    "regularization_matrix",
    "trimmed",
]

FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))

IMAGE_PER_KERNEL = 12
"""A kernel sized from the FWHMs is at most 1/12 of the image's shorter side.

Its candidate stamps (``2 kernelSize + 1``) then span at most 1/6 of the
image, as the stack's 21 px kernel on a 256 px detector; a wider kernel on a
small image loses kernel stars near the edges and more pixels to EDGE around
NO_DATA (on a 256 px calexp pair a 27 px kernel kept 4 of 6 stars, kernel sum
0.870 for 0.93, and left 47 % of the pixels usable). The bound never goes
below ``kernelSizeMin``.
"""

SUPPORT_TOLERANCE = 1e-5
"""Taps of an Alard-Lupton 1-D vector below this fraction of its largest are zero.

The convolutions run over each vector's non-zero taps only, so a narrow
Gaussian of a wide kernel costs its own few sigma of support, not the kernel
width. The dropped taps hold at most 7.5e-6 of a vector's L1 norm (widths
0.4-12 px, degrees 0-4, kernels 21-35 px). Fit and convolution use the same
trimmed basis, so nothing is inconsistent. On six simulated 1024 px pairs
the trimmed and the untrimmed basis give the same kernel sums to 1e-6 and
differences that agree to 1e-3 sigma away from saturated cores (rms 3e-5
sigma; at most 0.008 sigma, on a residual of 1500 sigma).
"""


@dataclass
class KernelBasis:
    """A list of kernel basis images with their separable decomposition.

    Parameters
    ----------
    images : `numpy.ndarray`
        ``(n_basis, size, size)`` basis images.
    x_vectors, y_vectors : `numpy.ndarray`
        ``(n_x, size)`` and ``(n_y, size)`` distinct 1-D factors, indexed by offset.
    pairs : `numpy.ndarray`
        ``(n_pairs, 2)`` integer indices ``(x_index, y_index)`` of each separable term.
    transform : `numpy.ndarray`
        ``(n_basis, n_pairs)``: ``images[k] = sum_p transform[k, p] * outer(y, x)[p]``.
    constant_first_term : `bool`
        True when only ``images[0]`` carries the kernel sum, so that it is
        kept spatially constant (Alard-Lupton and PCA bases).
    name : `str`
        ``"alard-lupton"``, ``"delta-function"`` or ``"pca"``.
    """

    images: np.ndarray
    x_vectors: np.ndarray
    y_vectors: np.ndarray
    pairs: np.ndarray
    transform: np.ndarray
    constant_first_term: bool
    name: str

    @property
    def size(self):
        """Kernel width and height in pixels (odd)."""
        return self.images.shape[1]

    @property
    def half_width(self):
        """Largest kernel offset ``h``."""
        return self.size // 2

    def __len__(self):
        return self.images.shape[0]

    def pair_images(self):
        """The ``(n_pairs, size, size)`` separable terms as 2-D images."""
        return (self.y_vectors[self.pairs[:, 1], :, None]
                * self.x_vectors[self.pairs[:, 0], None, :])

    def recombined(self, matrix, name):
        """A basis whose ``j``-th image is ``sum_k matrix[k, j] * images[k]`` (same pairs)."""
        matrix = np.asarray(matrix, dtype=float)
        return KernelBasis(np.einsum("kj,kab->jab", matrix, self.images), self.x_vectors,
                           self.y_vectors, self.pairs, matrix.T @ self.transform, True, name)


def alard_lupton_widths(template_fwhm, science_fwhm, config=None, image_size=None):
    """Gaussian widths and kernel size of an Alard-Lupton basis, from two PSF FWHMs.

    Parameters
    ----------
    template_fwhm, science_fwhm : `float` or `None`
        FWHM in pixels of the image to be convolved and of the image to match.
        When either is `None` (or ``scaleByFwhm`` is False) the configured
        ``alardSigGauss`` and ``kernelSize`` are returned.
    config : `PsfMatchConfig`, optional
        Its ``alardNGauss``, ``alardSigGauss``, ``alardGaussBeta``,
        ``alardMinSig``, ``alardMinSigDeconv``, ``kernelSize``,
        ``kernelSizeFwhmScaling``, ``kernelSizeMin``, ``kernelSizeMax`` and
        ``scaleByFwhm`` are used; the defaults when omitted.
    image_size : `int`, optional
        Shorter side of the image in pixels: a kernel sized from the FWHMs is
        then at most `IMAGE_PER_KERNEL` times smaller, and the widest Gaussians
        that such a bounded kernel cuts inside ``kernelSizeFwhmScaling`` of
        their sigmas are left out (at least one Gaussian is kept).

    Returns
    -------
    sigmas : `list` [`float`]
        ``alardNGauss`` Gaussian widths in pixels, increasing by ``alardGaussBeta``.
    kernel_size : `int`
        Odd kernel width in pixels.

    Notes
    -----
    With ``s = FWHM / 2.3548``: when the science PSF is wider the kernel width
    is ``sqrt(s_sci^2 - s_tmpl^2)`` floored at ``alardMinSig``; otherwise the
    roles swap (a deconvolution) with floor ``alardMinSigDeconv``. The widths
    are ``max(floor, k / beta)`` then successive multiples of ``beta``; the
    kernel size is ``int(kernelSizeFwhmScaling * sigmas[-1])`` made odd and
    clamped to ``[kernelSizeMin, kernelSizeMax]``. A Gaussian cut well inside
    its wings is nearly flat over a stamp and trades against the background:
    on a 256 px DECam pair the fourth Gaussian in a 21 px kernel turned two of
    five stars' single-kernel sums into outliers (0.92, 1.32), and the three
    left extrapolated the kernel onto the brightest star (near-bright std 4.3
    -> 9.2).
    """
    config = PsfMatchConfig() if config is None else config
    if not config.scaleByFwhm or template_fwhm is None or science_fwhm is None:
        return [float(s) for s in config.alardSigGauss], int(config.kernelSize)
    if template_fwhm <= 0 or science_fwhm <= 0:
        raise PsfMatchConfigError(
            f"PSF FWHMs must be > 0 to size the kernel, got template {template_fwhm}, "
            f"science {science_fwhm}")
    template_sigma = template_fwhm / FWHM_PER_SIGMA
    science_sigma = science_fwhm / FWHM_PER_SIGMA
    floor = config.alardMinSig if science_sigma >= template_sigma else config.alardMinSigDeconv
    kernel_sigma = max(floor, math.sqrt(abs(science_sigma**2 - template_sigma**2)))
    beta = config.alardGaussBeta
    if config.alardNGauss == 1:
        sigmas = [kernel_sigma]
    else:
        sigmas = [max(floor, kernel_sigma / beta)]
        for _ in range(config.alardNGauss - 1):
            sigmas.append(sigmas[-1] * beta)
    size = _odd(config.kernelSizeFwhmScaling * sigmas[-1])
    size = int(min(max(size, config.kernelSizeMin), config.kernelSizeMax))
    if image_size is None:
        return sigmas, size
    largest_odd = (int(image_size / IMAGE_PER_KERNEL) - 1) // 2 * 2 + 1
    bound = max(config.kernelSizeMin, largest_odd)
    if size <= bound:
        return sigmas, size
    held = sum(1 for sigma in sigmas if config.kernelSizeFwhmScaling * sigma <= bound)
    return sigmas[:max(1, held)], bound


def make_alard_lupton_basis(kernel_size, sigmas, degrees):
    """The renormalised Alard-Lupton basis.

    Parameters
    ----------
    kernel_size : `int`
        Odd kernel width in pixels.
    sigmas : sequence of `float`
        Gaussian widths in pixels.
    degrees : sequence of `int`
        Polynomial degree for each Gaussian.

    Returns
    -------
    basis : `KernelBasis`
        ``sum((d + 1) (d + 2) / 2)`` functions (27 for the defaults).

    Notes
    -----
    Raw functions are ``G_s(u) G_s(v) (u/h)^i (v/h)^j`` for every Gaussian and
    every ``i + j <= d``, in the order Gaussian, total degree, power of v.
    ``B0`` (first Gaussian, constant term) is scaled to sum 1. Every other
    function with ``|sum| > 1e-12 sum|B|`` is divided by its sum and has
    ``B0`` subtracted, so it sums to 0; all but ``B0`` are then scaled to unit
    L2 norm. Only ``B0`` carries the kernel sum.
    """
    kernel_size = _check_size(kernel_size)
    if len(sigmas) != len(degrees) or not sigmas:
        raise PsfMatchConfigError(
            f"alardSigGauss {list(sigmas)} and alardDegGauss {list(degrees)} must be "
            "non-empty and of equal length")
    half = kernel_size // 2
    offsets = np.arange(-half, half + 1, dtype=float)
    scaled = offsets / half
    vectors, pairs = [], []
    for sigma, degree in zip(sigmas, degrees):
        gaussian = np.exp(-0.5 * (offsets / sigma) ** 2)
        first = len(vectors)
        vectors.extend(trimmed(gaussian * scaled**power) for power in range(degree + 1))
        for total in range(degree + 1):
            for y_power in range(total + 1):
                pairs.append((first + total - y_power, first + y_power))
    vectors = np.array(vectors)
    pairs = np.array(pairs, dtype=np.intp)
    raw = vectors[pairs[:, 1], :, None] * vectors[pairs[:, 0], None, :]

    n_basis = len(pairs)
    transform = np.zeros((n_basis, n_basis))
    transform[0, 0] = 1.0 / raw[0].sum()
    for k in range(1, n_basis):
        total = raw[k].sum()
        if abs(total) > 1e-12 * np.abs(raw[k]).sum():
            transform[k, k] = 1.0 / total
            transform[k] -= transform[0]
        else:
            transform[k, k] = 1.0
        image = np.tensordot(transform[k], raw, axes=1)
        transform[k] /= math.sqrt(np.sum(image * image))
    images = np.tensordot(transform, raw, axes=1)
    # The same 1-D vectors serve as x and y factors.
    return KernelBasis(images, vectors, vectors, pairs, transform, True, "alard-lupton")


def make_delta_function_basis(kernel_size):
    """One basis function per kernel pixel: ``size**2`` unit impulses.

    Function ``n`` is the impulse at row ``n // size``, column ``n % size``.
    Every function may vary spatially (no constant first term).
    """
    kernel_size = _check_size(kernel_size)
    identity = np.eye(kernel_size)
    rows, cols = np.divmod(np.arange(kernel_size**2), kernel_size)
    pairs = np.stack([cols, rows], axis=1).astype(np.intp)
    images = np.eye(kernel_size**2).reshape(-1, kernel_size, kernel_size)
    return KernelBasis(images, identity, identity, pairs, np.eye(kernel_size**2), False,
                       "delta-function")


def make_basis(config, template_fwhm=None, science_fwhm=None, image_size=None):
    """The basis a `PsfMatchConfig` asks for, sized from the PSF FWHMs when known
    and bounded by the image's shorter side ``image_size`` (`alard_lupton_widths`)."""
    sigmas, size = alard_lupton_widths(template_fwhm, science_fwhm, config, image_size)
    if config.kernelBasisSet == "delta-function":
        return make_delta_function_basis(size)
    return make_alard_lupton_basis(size, sigmas, config.alardDegGauss[:len(sigmas)])


def regularization_matrix(kernel_size, config=None):
    """Smoothness penalty ``H = sum L^T L`` for a delta-function kernel.

    Parameters
    ----------
    kernel_size : `int`
        Odd kernel width; ``H`` is ``(size**2, size**2)`` in the order of
        `make_delta_function_basis`.
    config : `PsfMatchConfig`, optional
        Its ``regularizationType``: ``"centralDifference"``, ``L`` is the
        discrete Laplacian (``centralRegularizationStencil``: 5- or 9-point);
        ``"forwardDifference"``, one ``L`` per order in
        ``forwardRegularizationOrders``, the forward difference of that order
        along x and along y. The defaults when omitted.

    Notes
    -----
    Pixels outside the kernel count as zero, so the penalty also pulls the
    kernel wings towards zero, as a PSF-matching kernel should be.
    """
    kernel_size = _check_size(kernel_size)
    config = PsfMatchConfig() if config is None else config
    if config.regularizationType == "centralDifference":
        if config.centralRegularizationStencil == 5:
            stencil = {(0, 0): -4.0, (0, 1): 1.0, (0, -1): 1.0, (1, 0): 1.0, (-1, 0): 1.0}
        else:
            stencil = {(dy, dx): (-8.0 if dx == dy == 0 else 1.0) / 3.0
                       for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
        operators = [_stencil_operator(kernel_size, stencil)]
    elif config.regularizationType == "forwardDifference":
        operators = []
        for order in config.forwardRegularizationOrders:
            coefficients = [(-1.0) ** (order - i) * math.comb(order, i) for i in range(order + 1)]
            operators.append(_stencil_operator(
                kernel_size, {(0, i): c for i, c in enumerate(coefficients)}))
            operators.append(_stencil_operator(
                kernel_size, {(i, 0): c for i, c in enumerate(coefficients)}))
    else:
        raise PsfMatchConfigError(f"unknown regularizationType {config.regularizationType!r}")
    return sum(op.T @ op for op in operators)


def _stencil_operator(size, stencil):
    """Matrix applying a finite-difference stencil ``{(dy, dx): weight}`` to a kernel."""
    operator = np.zeros((size * size, size * size))
    for row in range(size):
        for col in range(size):
            for (dy, dx), weight in stencil.items():
                y, x = row + dy, col + dx
                if 0 <= y < size and 0 <= x < size:
                    operator[row * size + col, y * size + x] += weight
    return operator


def trimmed(vector, tolerance=SUPPORT_TOLERANCE):
    """``vector`` with the taps outside those above ``tolerance`` of its peak set to 0.

    Parameters
    ----------
    vector : `numpy.ndarray`
        1-D taps.
    tolerance : `float`, optional
        Fraction of the largest ``|tap|``; `SUPPORT_TOLERANCE` by default.

    Returns
    -------
    trimmed : `numpy.ndarray`
        A copy, zero before the first and after the last tap at or above
        the tolerance.
    """
    kept = np.abs(vector) >= tolerance * np.abs(vector).max()
    first, last = int(np.argmax(kept)), len(vector) - int(np.argmax(kept[::-1]))
    out = np.zeros_like(vector)
    out[first:last] = vector[first:last]
    return out


def _odd(width):
    """``int(width)``, plus one if even."""
    size = int(width)
    return size + 1 if size % 2 == 0 else size


def _check_size(kernel_size):
    if int(kernel_size) != kernel_size or kernel_size < 3 or kernel_size % 2 == 0:
        raise PsfMatchConfigError(f"kernelSize must be an odd integer >= 3, got {kernel_size}")
    return int(kernel_size)
