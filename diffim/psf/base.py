"""The `Psf` interface and the argument checks every PSF model shares.

Method names follow the Rubin stack's ``afw.detection.Psf`` (camelCase on
purpose, so code ported from the stack reads the same). Positions are parent
pixel coordinates ``(x, y)``; kernel images are square and odd-sized with the
PSF centred on the middle pixel; arrays are indexed ``[y, x]``.
"""
from __future__ import annotations

import abc
import math
import numbers

import numpy as np

from ..errors import PsfError
from ..geom import Box

__all__ = ["Psf", "MIN_SIZE", "MAX_SIZE", "SIGMA_TO_FWHM"]

SIGMA_TO_FWHM = 2.0 * math.sqrt(2.0 * math.log(2.0))
"""FWHM of a Gaussian of unit sigma."""

MIN_SIZE = 11
"""Smallest default stamp side: a few pixels of wing even for sharp PSFs."""

MAX_SIZE = 101
"""Largest default stamp side: wider stamps only cost time in convolutions."""


def check_position(x, y):
    """Return ``(x, y)`` as floats; raise `PsfError` unless both are finite."""
    try:
        x, y = float(x), float(y)
    except (TypeError, ValueError) as exc:
        raise PsfError(f"PSF position must be two numbers, got ({x!r}, {y!r})") from exc
    if not (math.isfinite(x) and math.isfinite(y)):
        raise PsfError(f"PSF position must be finite, got ({x}, {y})")
    return x, y


def check_positive(name, value):
    """Return ``value`` as a float; raise `PsfError` unless it is finite and > 0."""
    value = check_finite(name, value)
    if value <= 0.0:
        raise PsfError(f"PSF parameter {name} must be > 0, got {value}")
    return value


def check_finite(name, value):
    """Return ``value`` as a float; raise `PsfError` unless it is a finite real number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PsfError(f"PSF parameter {name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise PsfError(f"PSF parameter {name} must be finite, got {value}")
    return value


def check_size(size):
    """Return ``size`` as an int; raise `PsfError` unless it is odd and >= 3."""
    if isinstance(size, bool) or not isinstance(size, numbers.Integral):
        raise PsfError(f"PSF size must be an odd integer, got {size!r}")
    size = int(size)
    if size < 3 or size % 2 == 0:
        raise PsfError(f"PSF size must be an odd integer >= 3, got {size}")
    return size


def default_size(radius):
    """Odd stamp side holding ``radius`` pixels either side, within [MIN_SIZE, MAX_SIZE]."""
    return int(min(MAX_SIZE, max(MIN_SIZE, 2 * math.ceil(radius) + 1)))


def stamp_box(x, y, size):
    """The `Box` of a ``size``-pixel stamp centred on pixel ``(round(x), round(y))``.

    Returns the box and the sub-pixel offset ``(dx, dy)`` of ``(x, y)`` from
    that pixel, each in ``[-0.5, 0.5]``.
    """
    x_pixel, y_pixel = round(x), round(y)
    half = size // 2
    return Box(x_pixel - half, y_pixel - half, size, size), x - x_pixel, y - y_pixel


def image_moments(image):
    """Centroid and second moments of an image about its middle pixel.

    Returns
    -------
    x_centroid, y_centroid, ixx, iyy, ixy : `float`
        Centroid offsets from the middle pixel and central second moments,
        all in pixels (squared for the moments), flux-weighted.
    """
    n_rows, n_cols = image.shape
    y_offsets = np.arange(n_rows) - n_rows // 2
    x_offsets = np.arange(n_cols) - n_cols // 2
    total = image.sum()
    x_centroid = (image.sum(axis=0) @ x_offsets) / total
    y_centroid = (image.sum(axis=1) @ y_offsets) / total
    dx, dy = x_offsets - x_centroid, y_offsets - y_centroid
    ixx = (image.sum(axis=0) @ dx ** 2) / total
    iyy = (image.sum(axis=1) @ dy ** 2) / total
    ixy = (dy @ image @ dx) / total
    return float(x_centroid), float(y_centroid), float(ixx), float(iyy), float(ixy)


ADAPTIVE_TOLERANCE = 1e-9
"""Relative change of the adaptive moments at which their iteration stops."""

ADAPTIVE_MAX_ITERATIONS = 200
"""Iterations after which adaptive moments that still move are an error."""


def adaptive_moments(image, tolerance=ADAPTIVE_TOLERANCE):
    """Gaussian-weighted (adaptive) centroid and second moments of an image.

    The moments of ``image`` under the elliptical Gaussian weight that has
    those same moments (Bernstein & Jarvis 2002, AJ 123, 583; the stack's
    ``SdssShape`` and GalSim's HSM compute the same).

    Parameters
    ----------
    image : `numpy.ndarray`
        2-D image, the object near its middle pixel; it may be noisy (with
        negative pixels) as long as its core is positive.
    tolerance : `float`
        Relative change of the moments at which the iteration stops (each
        step divides the error by about 2).

    Returns
    -------
    x_centroid, y_centroid, ixx, iyy, ixy : `float`
        Centroid offsets from the middle pixel and the adaptive second
        moments, in pixels (squared for the moments).

    Raises
    ------
    diffim.errors.PsfError
        If the iteration finds no positive weighted flux, loses a positive
        determinant, grows wider than the image, or does not converge.

    Notes
    -----
    With ``W`` the weight's moment matrix and ``M_w`` the moments of
    ``image * exp(-d^T W^-1 d / 2)`` about the weighted centroid, each step
    sets ``W <- 2 M_w`` and moves the centre by twice the weighted centroid's
    offset (GalSim HSM's update). A Gaussian of moments ``C`` times a
    Gaussian weight ``W = C`` has moments ``C / 2``, so the fixed point
    returns a Gaussian's own moments exactly; the step contracts the error by
    about 1/2. Far wings and noise get little weight, so a measured PSF image
    whose negative pixels give unweighted moments without a positive
    determinant still has a width. For a profile that is not Gaussian (a
    Moffat) they are the moments of the best-matched Gaussian, narrower than
    the unweighted ones.
    """
    image = np.asarray(image, dtype=float)
    n_rows, n_cols = image.shape
    y_offsets = (np.arange(n_rows) - n_rows // 2)[:, np.newaxis]
    x_offsets = (np.arange(n_cols) - n_cols // 2)[np.newaxis, :]
    peak = image.max()
    if not peak > 0.0:
        raise PsfError(f"adaptive moments need a positive pixel; the image's maximum is {peak:.3g}")
    # Start from a round Gaussian with the image's area above half its peak.
    ixx = iyy = max(np.count_nonzero(image >= 0.5 * peak) / (2.0 * math.pi * math.log(2.0)), 0.25)
    ixy = x_centre = y_centre = 0.0
    size_limit = (max(n_rows, n_cols) / 2.0) ** 2
    for _ in range(ADAPTIVE_MAX_ITERATIONS):
        determinant = ixx * iyy - ixy ** 2
        dx, dy = x_offsets - x_centre, y_offsets - y_centre
        exponent = (iyy * dx ** 2 - 2.0 * ixy * dx * dy + ixx * dy ** 2) / determinant
        weighted = image * np.exp(-0.5 * exponent)
        flux = weighted.sum()
        if not flux > 0.0:
            raise PsfError(f"adaptive moments: the weighted flux {flux:.3g} is not positive")
        x_mean, y_mean = (weighted * dx).sum() / flux, (weighted * dy).sum() / flux
        dx, dy = dx - x_mean, dy - y_mean
        new = (2.0 * (weighted * dx ** 2).sum() / flux, 2.0 * (weighted * dy ** 2).sum() / flux,
               2.0 * (weighted * dx * dy).sum() / flux)
        x_centre, y_centre = x_centre + 2.0 * x_mean, y_centre + 2.0 * y_mean
        if not (new[0] > 0.0 and new[1] > 0.0 and new[0] * new[1] - new[2] ** 2 > 0.0):
            raise PsfError(f"adaptive moments lost their width: ixx={new[0]:.3g}, "
                           f"iyy={new[1]:.3g}, ixy={new[2]:.3g}")
        if max(new[0], new[1]) > size_limit:
            raise PsfError(f"adaptive moments grew wider than the {n_cols}x{n_rows} image: "
                           f"ixx={new[0]:.3g}, iyy={new[1]:.3g}")
        change = max(abs(new[0] - ixx), abs(new[1] - iyy), abs(new[2] - ixy),
                     abs(2.0 * x_mean), abs(2.0 * y_mean))
        ixx, iyy, ixy = new
        if change <= tolerance * math.sqrt(ixx * iyy):
            return float(x_centre), float(y_centre), float(ixx), float(iyy), float(ixy)
    raise PsfError(f"adaptive moments did not converge in {ADAPTIVE_MAX_ITERATIONS} iterations "
                   f"(last ixx={ixx:.3g}, iyy={iyy:.3g}, ixy={ixy:.3g})")


class Psf(abc.ABC):
    """A point-spread function model: the interface every PSF class provides.

    Attributes
    ----------
    size : `int`
        Side of the (square, odd) kernel image in pixels.
    """

    size: int

    @abc.abstractmethod
    def computeKernelImage(self, x, y):
        """The PSF at parent position ``(x, y)``, centred on the middle pixel.

        Parameters
        ----------
        x, y : `float`
            Parent pixel position; only spatially varying models depend on it.

        Returns
        -------
        image : `numpy.ndarray`
            ``(size, size)`` float64 array summing to 1.
        """

    @abc.abstractmethod
    def computeImage(self, x, y):
        """The PSF centred at the sub-pixel parent position ``(x, y)``.

        Returns
        -------
        image : `numpy.ndarray`
            ``(size, size)`` float64 array summing to 1, with its centroid at
            ``(x, y)``.
        box : `diffim.geom.Box`
            Where ``image`` lies in parent pixels; its middle pixel is
            ``(round(x), round(y))``.
        """

    @abc.abstractmethod
    def computeShape(self, x, y):
        """Second moments ``(ixx, iyy, ixy)`` of the continuous PSF at ``(x, y)``.

        Pixel integration adds 1/12 px^2 to ``ixx`` and ``iyy`` of a pixel
        image; these moments exclude it.
        """

    @abc.abstractmethod
    def computeFwhm(self, x, y):
        """Full width at half maximum of the continuous PSF at ``(x, y)``, in pixels.

        For an elliptical PSF it is the geometric mean of the major- and
        minor-axis FWHM.
        """

    def computeSigma(self, x, y):
        """Determinant radius ``(ixx iyy - ixy^2)^(1/4)`` at ``(x, y)``, in pixels.

        Raises
        ------
        diffim.errors.PsfError
            If the moments have no positive determinant (pixel PSFs take
            adaptive moments, so only an image without a positive core has
            none).
        """
        ixx, iyy, ixy = self.computeShape(x, y)
        determinant = ixx * iyy - ixy ** 2
        if not determinant > 0:
            raise PsfError(f"the PSF at ({x:.1f}, {y:.1f}) has no width: its second moments "
                           f"ixx={ixx:.3g}, iyy={iyy:.3g}, ixy={ixy:.3g} have determinant "
                           f"{determinant:.3g} <= 0 (a noisy or badly measured PSF image)")
        return float(determinant ** 0.25)
