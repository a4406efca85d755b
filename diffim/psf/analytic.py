"""Analytic PSFs: elliptical Gaussian, double Gaussian and elliptical Moffat.

Each model is drawn pixel-integrated (Gauss-Legendre quadrature inside every
pixel, see `diffim.psf.render`) on a stamp of ``size`` pixels and normalised
to sum 1 on that stamp, so the image simulator and the subtraction code see
exactly the same discrete PSF. ``computeShape`` and ``computeFwhm`` describe
the continuous, untruncated profile.
"""
from __future__ import annotations

import math

import numpy as np

from ..errors import PsfError
from .base import (SIGMA_TO_FWHM, Psf, check_finite, check_position, check_positive, check_size,
                   default_size, image_moments, stamp_box)
from .render import GAUSSIAN, MOFFAT, add_profile, quadrature_order, shape_matrix

__all__ = ["AnalyticPsf", "GaussianPsf", "DoubleGaussianPsf", "MoffatPsf"]

_GAUSSIAN_RADIUS = 5.0
"""Default stamp half-width in sigmas: the flux beyond 5 sigma is 4e-6."""

_MOFFAT_LOST_FLUX = 1e-3
"""Default Moffat stamps hold all but this fraction of the flux (power-law wings)."""


def rotated_moments(var_along, var_across, theta):
    """``(ixx, iyy, ixy)`` of a profile with variances along/across direction ``theta``."""
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    ixx = var_along * cos_t ** 2 + var_across * sin_t ** 2
    iyy = var_along * sin_t ** 2 + var_across * cos_t ** 2
    ixy = (var_along - var_across) * sin_t * cos_t
    return ixx, iyy, ixy


class AnalyticPsf(Psf):
    """Base class of constant analytic PSFs.

    Subclasses list their constructor parameters (other than ``size``) in
    ``parameter_names``, store each as a float attribute of that name, and
    draw themselves in `_add_profiles`. Persistence and `VaryingPsf` rely on
    that: ``type(psf)(**psf.parameters, size=psf.size)`` rebuilds ``psf``.
    """

    parameter_names: tuple = ()
    required_parameters: tuple = ()

    def _set_size(self, size, radius):
        self.size = default_size(radius) if size is None else check_size(size)

    @property
    def parameters(self):
        """The constructor parameters (without ``size``), as a dict of floats."""
        return {name: getattr(self, name) for name in self.parameter_names}

    def _add_profiles(self, out, x_centre, y_centre):
        """Add the unnormalised pixel-integrated profile centred at ``(x_centre, y_centre)``."""
        raise NotImplementedError

    def _render(self, dx, dy):
        out = np.zeros((self.size, self.size))
        half = self.size // 2
        self._add_profiles(out, half + dx, half + dy)
        out /= out.sum()
        return out

    def computeKernelImage(self, x, y):
        check_position(x, y)
        return self._render(0.0, 0.0)

    def computeImage(self, x, y):
        x, y = check_position(x, y)
        box, dx, dy = stamp_box(x, y, self.size)
        return self._render(dx, dy), box

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return self.size == other.size and self.parameters == other.parameters

    def __repr__(self):
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.parameters.items())
        return f"{type(self).__name__}({arguments}, size={self.size})"


class GaussianPsf(AnalyticPsf):
    """An elliptical Gaussian PSF.

    Parameters
    ----------
    sigma_x : `float`
        Sigma along the axis at angle ``theta``, in pixels.
    sigma_y : `float`, optional
        Sigma perpendicular to it; defaults to ``sigma_x`` (round PSF).
    theta : `float`, optional
        Angle of the ``sigma_x`` axis, radians counter-clockwise from +x.
    size : `int`, optional
        Odd stamp side; default ``2 ceil(5 max(sigma)) + 1`` within [11, 101].

    Raises
    ------
    PsfError
        If a sigma is not finite and positive, or ``size`` is not odd >= 3.
    """

    parameter_names = ("sigma_x", "sigma_y", "theta")
    required_parameters = ("sigma_x",)

    def __init__(self, sigma_x, sigma_y=None, theta=0.0, size=None):
        self.sigma_x = check_positive("sigma_x", sigma_x)
        self.sigma_y = self.sigma_x if sigma_y is None else check_positive("sigma_y", sigma_y)
        self.theta = check_finite("theta", theta)
        self._set_size(size, _GAUSSIAN_RADIUS * max(self.sigma_x, self.sigma_y))

    def _add_profiles(self, out, x_centre, y_centre):
        form = shape_matrix(self.sigma_x, self.sigma_y, self.theta)
        order = quadrature_order(min(self.sigma_x, self.sigma_y))
        add_profile(out, x_centre, y_centre, form, GAUSSIAN, order=order)

    def computeShape(self, x, y):
        check_position(x, y)
        return rotated_moments(self.sigma_x ** 2, self.sigma_y ** 2, self.theta)

    def computeFwhm(self, x, y):
        check_position(x, y)
        return SIGMA_TO_FWHM * math.sqrt(self.sigma_x * self.sigma_y)


class DoubleGaussianPsf(AnalyticPsf):
    """Sum of two concentric round Gaussians, as the stack's ``DoubleGaussianPsf``.

    The profile is ``exp(-r^2 / 2 sigma1^2) + ratio * exp(-r^2 / 2 sigma2^2)``:
    ``ratio`` is the PEAK ratio of the second Gaussian to the first (the
    stack's ``b``), so the second carries a fraction
    ``ratio sigma2^2 / (sigma1^2 + ratio sigma2^2)`` of the flux.

    Parameters
    ----------
    sigma1, sigma2 : `float`
        Sigmas of the two Gaussians, in pixels.
    ratio : `float`
        Peak ratio ``b >= 0``; 0 gives a single Gaussian.
    size : `int`, optional
        Odd stamp side; default from the wider Gaussian that has flux.

    Raises
    ------
    PsfError
        If a sigma is not finite and positive, ``ratio`` is negative or not
        finite, or ``size`` is not odd >= 3.
    """

    parameter_names = ("sigma1", "sigma2", "ratio")
    required_parameters = ("sigma1", "sigma2", "ratio")

    def __init__(self, sigma1, sigma2, ratio, size=None):
        self.sigma1 = check_positive("sigma1", sigma1)
        self.sigma2 = check_positive("sigma2", sigma2)
        self.ratio = check_finite("ratio", ratio)
        if self.ratio < 0.0:
            raise PsfError(f"PSF parameter ratio must be >= 0, got {self.ratio}")
        widest = max(self.sigma1, self.sigma2) if self.ratio > 0.0 else self.sigma1
        self._set_size(size, _GAUSSIAN_RADIUS * widest)

    def _add_profiles(self, out, x_centre, y_centre):
        for sigma, amplitude in ((self.sigma1, 1.0), (self.sigma2, self.ratio)):
            if amplitude > 0.0:
                form = shape_matrix(sigma, sigma, 0.0)
                add_profile(out, x_centre, y_centre, form, GAUSSIAN, amplitude=amplitude,
                            order=quadrature_order(sigma))

    def computeShape(self, x, y):
        check_position(x, y)
        flux1, flux2 = self.sigma1 ** 2, self.ratio * self.sigma2 ** 2
        variance = (flux1 * self.sigma1 ** 2 + flux2 * self.sigma2 ** 2) / (flux1 + flux2)
        return variance, variance, 0.0

    def computeFwhm(self, x, y):
        check_position(x, y)
        half_max = 0.5 * (1.0 + self.ratio)

        def excess(radius):
            return (math.exp(-0.5 * (radius / self.sigma1) ** 2)
                    + self.ratio * math.exp(-0.5 * (radius / self.sigma2) ** 2) - half_max)

        if self.ratio == 0.0 or self.sigma1 == self.sigma2:
            return SIGMA_TO_FWHM * self.sigma1
        # The half-maximum radius lies between those of the two Gaussians alone.
        inner, outer = sorted((0.5 * SIGMA_TO_FWHM * self.sigma1,
                               0.5 * SIGMA_TO_FWHM * self.sigma2))
        from scipy.optimize import brentq  # here: scipy.optimize costs every import of diffim.psf

        return 2.0 * brentq(excess, inner, outer, xtol=1e-14, rtol=1e-15)


class MoffatPsf(AnalyticPsf):
    """An elliptical Moffat PSF, ``(1 + q)^-beta``.

    ``q = (x'/alpha_major)^2 + (y'/alpha_minor)^2`` in axes rotated by
    ``theta``; ``alpha_major = alpha / sqrt(1 - ellipticity)`` and
    ``alpha_minor = alpha sqrt(1 - ellipticity)``, with
    ``alpha = fwhm / (2 sqrt(2^(1/beta) - 1))``. So ``fwhm`` is the geometric
    mean of the major and minor FWHM, and ``1 - ellipticity`` the axis ratio.

    Parameters
    ----------
    fwhm : `float`
        Geometric-mean FWHM in pixels.
    beta : `float`, optional
        Power-law index, > 1 (finite flux); large ``beta`` tends to a Gaussian.
    ellipticity : `float`, optional
        ``1 - minor/major`` axis ratio, in ``[0, 1)``.
    theta : `float`, optional
        Angle of the major axis, radians counter-clockwise from +x.
    size : `int`, optional
        Odd stamp side; default holds all but 0.1 % of the flux (at least
        2 major-axis FWHM either side), within [11, 101].

    Raises
    ------
    PsfError
        If a parameter is outside the ranges above or not finite.
    """

    parameter_names = ("fwhm", "beta", "ellipticity", "theta")
    required_parameters = ("fwhm",)

    def __init__(self, fwhm, beta=3.5, ellipticity=0.0, theta=0.0, size=None):
        self.fwhm = check_positive("fwhm", fwhm)
        self.beta = check_finite("beta", beta)
        if self.beta <= 1.0:
            raise PsfError(f"PSF parameter beta must be > 1, got {self.beta}")
        self.ellipticity = check_finite("ellipticity", ellipticity)
        if not 0.0 <= self.ellipticity < 1.0:
            raise PsfError(f"PSF parameter ellipticity must be in [0, 1), got {self.ellipticity}")
        self.theta = check_finite("theta", theta)
        alpha_major = self._alphas()[0]
        lost_radius = alpha_major * math.sqrt(_MOFFAT_LOST_FLUX ** (1.0 / (1.0 - self.beta)) - 1.0)
        self._set_size(size, max(lost_radius, 2.0 * self.fwhm / math.sqrt(1.0 - self.ellipticity)))

    def _alphas(self):
        alpha = self.fwhm / (2.0 * math.sqrt(2.0 ** (1.0 / self.beta) - 1.0))
        axis_ratio = 1.0 - self.ellipticity
        return alpha / math.sqrt(axis_ratio), alpha * math.sqrt(axis_ratio)

    def _add_profiles(self, out, x_centre, y_centre):
        alpha_major, alpha_minor = self._alphas()
        form = shape_matrix(alpha_major, alpha_minor, self.theta)
        minor_sigma = self.fwhm * math.sqrt(1.0 - self.ellipticity) / SIGMA_TO_FWHM
        add_profile(out, x_centre, y_centre, form, MOFFAT, beta=self.beta,
                    order=quadrature_order(minor_sigma))

    def computeShape(self, x, y):
        """Second moments ``(ixx, iyy, ixy)`` of the Moffat profile.

        For ``beta > 2`` they are exact: ``alpha_axis^2 / (2 (beta - 2))`` per
        principal axis. For ``beta <= 2`` they diverge, so the moments of the
        kernel image (minus 1/12 px^2 for pixel integration) are returned.
        """
        check_position(x, y)
        if self.beta <= 2.0:
            _, _, ixx, iyy, ixy = image_moments(self._render(0.0, 0.0))
            return ixx - 1.0 / 12.0, iyy - 1.0 / 12.0, ixy
        alpha_major, alpha_minor = self._alphas()
        scale = 1.0 / (2.0 * (self.beta - 2.0))
        return rotated_moments(scale * alpha_major ** 2, scale * alpha_minor ** 2, self.theta)

    def computeFwhm(self, x, y):
        check_position(x, y)
        return self.fwhm
