"""Pixelised PSFs: a constant kernel image, shifted by Lanczos-5 interpolation.

`PixelModelPsf` holds what every pixel model shares (sub-pixel shifts,
moments and FWHM measured on the kernel image); `PixelPsf` is the constant
one, `diffim.psf.interpolated.InterpolatedPsf` the spatially varying one.
"""
from __future__ import annotations

import math

import numpy as np

from .._core import _shift
from ..errors import PsfError
from .base import SIGMA_TO_FWHM, Psf, adaptive_moments, check_position, stamp_box
from .fitting import fit_moffat

__all__ = ["PixelModelPsf", "PixelPsf", "check_kernel_image", "shift_image", "shift_images"]

LANCZOS_ORDER = 5


def lanczos_weights(offset):
    """Lanczos-5 taps for a shift by ``offset`` in ``[-0.5, 0.5]``, summing to 1.

    Tap ``j`` (for ``j = -5 .. 5``) weighs input pixel ``p - j`` into output
    pixel ``p``. Renormalising makes the shift conserve flux exactly; the raw
    taps sum to 1 only to ~1e-3. An array of offsets gives one row of taps each.
    """
    taps = np.arange(-LANCZOS_ORDER, LANCZOS_ORDER + 1) - np.asarray(offset)[..., np.newaxis]
    weights = np.sinc(taps) * np.sinc(taps / LANCZOS_ORDER)
    weights[np.abs(taps) >= LANCZOS_ORDER] = 0.0
    return weights / weights.sum(axis=-1, keepdims=True)


def _shift_axis(image, offset, axis, weights):
    if offset == 0.0:
        # np.sinc is ~1e-17, not 0, at non-zero integers; keep the image exact.
        return image.copy()
    out = np.empty(image.shape)
    _shift.shift_axis(image, weights, axis, out)
    return out


def _check_offsets(dx, dy):
    if not (np.all(np.abs(dx) <= 0.5) and np.all(np.abs(dy) <= 0.5)):
        raise PsfError(f"sub-pixel shift must be within [-0.5, 0.5], got ({dx}, {dy})")


def shift_image(image, dx, dy):
    """Move an image by ``(dx, dy)`` pixels (each in [-0.5, 0.5]) with separable Lanczos-5.

    Pixels beyond the edges are taken as zero. A zero offset returns an
    exact copy of the image.
    """
    _check_offsets(dx, dy)
    image = np.asarray(image, dtype=float)
    return _shift_axis(_shift_axis(image, dx, 1, lanczos_weights(dx)), dy, 0, lanczos_weights(dy))


def shift_images(images, dx, dy):
    """`shift_image` of each of ``images`` (``(n, rows, cols)``) by its own ``dx[i]``, ``dy[i]``.

    The same values as `shift_image` one by one, with the taps of all the
    shifts computed at once.
    """
    _check_offsets(dx, dy)
    images = np.asarray(images, dtype=float)
    dx, dy = np.asarray(dx, dtype=float), np.asarray(dy, dtype=float)
    x_weights, y_weights = lanczos_weights(dx), lanczos_weights(dy)
    out = np.empty(images.shape)
    for i, image in enumerate(images):
        out[i] = _shift_axis(_shift_axis(image, dx[i], 1, x_weights[i]), dy[i], 0, y_weights[i])
    return out


def check_kernel_image(image, name="kernel_image"):
    """Return ``image`` as a read-only float64 copy; raise `PsfError` unless it can be a PSF.

    A PSF image is 2-D, square, odd-sized (>= 3), finite and has a positive sum.
    """
    try:
        image = np.array(image, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PsfError(f"{name} must be a numeric 2-D array") from exc
    if image.ndim != 2 or image.shape[0] != image.shape[1]:
        raise PsfError(f"{name} must be a square 2-D array, got shape {image.shape}")
    if image.shape[0] < 3 or image.shape[0] % 2 == 0:
        raise PsfError(f"{name} side must be odd and >= 3, got {image.shape[0]}")
    if not np.all(np.isfinite(image)):
        raise PsfError(f"{name} has non-finite pixels")
    if not image.sum() > 0.0:
        raise PsfError(f"{name} must have a positive sum, got {image.sum()}")
    image.flags.writeable = False
    return image


class PixelModelPsf(Psf):
    """Base class of PSFs defined by kernel images.

    Subclasses implement `computeKernelImage`; this class derives the shifted
    image, moments and FWHM from it. The FWHM is fitted once per kernel image
    (`_kernel_key`) and kept: the images never change, and one subtraction
    asks for a PSF's width at its centre up to four times (kernel fit, match
    check, quality, dipoles: a Moffat fit of about 8 ms each). Subclasses call
    ``super().__init__()``.
    """

    def __init__(self):
        self._fwhms = {}

    def computeImage(self, x, y):
        x, y = check_position(x, y)
        box, dx, dy = stamp_box(x, y, self.size)
        image = shift_image(self.computeKernelImage(x, y), dx, dy)
        return image / image.sum(), box

    def computeShape(self, x, y):
        """Adaptive moments of the kernel image, minus 1/12 px^2 for pixel integration.

        Gaussian-weighted (`diffim.psf.base.adaptive_moments`), as the stack
        measures a pixel PSF's shape: a measured PSF image carries its stars'
        noise, and unweighted moments sum it over the whole stamp (DECam
        OBS18a's: ixx 4.63, iyy 8.87, ixy 10.4, no width at all). For a
        Gaussian PSF they are its moments; for a Moffat, those of the Gaussian
        that matches its core.
        """
        try:
            _, _, ixx, iyy, ixy = adaptive_moments(self.computeKernelImage(x, y))
        except PsfError as error:
            raise PsfError(f"the PSF at ({x:.1f}, {y:.1f}) has no width: {error}") from None
        return ixx - 1.0 / 12.0, iyy - 1.0 / 12.0, ixy

    def computeFwhm(self, x, y):
        """FWHM of the best-fit pixel-integrated elliptical Moffat to the kernel image.

        The fitter is the one `measure_psf` uses on stars, so a PSF measured
        from an image reports the same width as its stars. The Moffat family
        includes the Gaussian limit, so Gaussian- and Moffat-like PSFs give
        their true FWHM (to ~1e-4); moments would not, because a Moffat's
        sigma is dominated by its wings.
        """
        position = check_position(x, y)
        key = self._kernel_key(*position)
        if key not in self._fwhms:
            self._fwhms[key] = self._fitted_fwhm(*position)
        return self._fwhms[key]

    def _kernel_key(self, x, y):
        """A key that is the same at positions of the same kernel image: the position."""
        return x, y

    def _fitted_fwhm(self, x, y):
        """The Moffat fit of `computeFwhm`, without its cache."""
        image = self.computeKernelImage(x, y)
        ixx, iyy, ixy = self.computeShape(x, y)
        sigma_guess = max(ixx * iyy - ixy ** 2, 0.0) ** 0.25
        return fit_moffat(image, fwhm_guess=SIGMA_TO_FWHM * sigma_guess, fit_background=False).fwhm

    def __getstate__(self):
        # The widths are not state: a pickle (a template's key) is the same before and after.
        return {**self.__dict__, "_fwhms": {}}

    def __setstate__(self, state):
        self._fwhms = {}  # first, as __init__ makes it: the same object pickles the same
        # A PixelPsf pickled before this cache served both models kept its width as ``_fwhm``.
        self.__dict__.update((name, value) for name, value in state.items() if name != "_fwhm")


class PixelPsf(PixelModelPsf):
    """A constant PSF given as a kernel image.

    Parameters
    ----------
    kernel_image : array-like
        Square, odd-sized, finite image with a positive sum, PSF centred on
        the middle pixel. It is kept as given (read-only copy, compared
        exactly by ``==``) and normalised to sum 1 on use.

    Notes
    -----
    `computeImage` shifts the kernel image to the sub-pixel position with a
    separable Lanczos-5 interpolant whose taps are renormalised to sum 1, so
    flux is conserved up to what leaves the stamp, and then renormalises.

    Raises
    ------
    PsfError
        If ``kernel_image`` is not a usable PSF image.
    """

    def __init__(self, kernel_image):
        super().__init__()
        self.kernel_image = check_kernel_image(kernel_image)
        self.size = self.kernel_image.shape[0]

    def computeKernelImage(self, x, y):
        check_position(x, y)
        return self.kernel_image / self.kernel_image.sum()

    def _kernel_key(self, x, y):
        return None  # one kernel image everywhere

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return np.array_equal(self.kernel_image, other.kernel_image)

    def __repr__(self):
        total = math.fsum(self.kernel_image.flat)
        return f"PixelPsf(<{self.size}x{self.size} kernel image, sum {total:.6g}>)"
