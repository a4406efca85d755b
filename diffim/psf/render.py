"""Checked entry point to the compiled profile renderer.

The analytic PSFs and the PSF fitter both draw pixel-integrated elliptical
Gaussian and Moffat profiles; this module turns their parameters into the
quadratic form the Cython kernel wants and picks the quadrature order.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .._core import _profiles
from ..errors import PsfError

__all__ = ["GAUSSIAN", "MOFFAT", "add_profile", "moffat_with_gradient", "quadrature_order",
           "shape_matrix"]

GAUSSIAN = _profiles.PROFILE_GAUSSIAN
MOFFAT = _profiles.PROFILE_MOFFAT

_MAX_ORDER = 16


@functools.lru_cache(maxsize=None)
def _quadrature(order):
    """Gauss-Legendre nodes and weights on ``[-0.5, 0.5]``, weights summing to 1."""
    nodes, weights = np.polynomial.legendre.leggauss(order)
    return np.ascontiguousarray(nodes / 2.0), np.ascontiguousarray(weights / 2.0)


def quadrature_order(minor_width):
    """Gauss-Legendre order that integrates a profile accurately over a pixel.

    Parameters
    ----------
    minor_width : `float`
        The profile's narrowest Gaussian-equivalent sigma, in pixels.

    Returns
    -------
    order : `int`
        Points per axis, ``ceil(6 / sigma)`` within [3, 16]: pixel sums then
        agree with exact erf integrals to ~2e-7 of the peak (3 points for
        sigma >= 2 px, 4 for sigma >= 1.5 px, ...), far below any noise; the
        cost of rendering grows with the square of the order.
    """
    return int(min(_MAX_ORDER, max(3, math.ceil(6.0 / max(minor_width, 1e-3)))))


def shape_matrix(width_along, width_across, theta):
    """Inverse of ``R diag(width_along^2, width_across^2) R^T``.

    ``R`` rotates by ``theta`` (radians, counter-clockwise from +x), so the
    returned ``(a_xx, a_xy, a_yy)`` make ``q = 1`` on the ellipse with
    semi-axis ``width_along`` in direction ``theta`` and ``width_across``
    perpendicular to it.
    """
    cos_t, sin_t = math.cos(theta), math.sin(theta)
    inv_along, inv_across = 1.0 / width_along ** 2, 1.0 / width_across ** 2
    a_xx = inv_along * cos_t ** 2 + inv_across * sin_t ** 2
    a_yy = inv_along * sin_t ** 2 + inv_across * cos_t ** 2
    a_xy = (inv_along - inv_across) * sin_t * cos_t
    return a_xx, a_xy, a_yy


def add_profile(out, x_centre, y_centre, form, kind, beta=0.0, amplitude=1.0, order=5):
    """Add ``amplitude`` times a pixel-integrated profile to ``out`` in place.

    Parameters
    ----------
    out : `numpy.ndarray`
        C-contiguous 2-D float64 array, indexed ``[y, x]``.
    x_centre, y_centre : `float`
        Profile centre in array coordinates (pixel centres at integers).
    form : `tuple` of `float`
        ``(a_xx, a_xy, a_yy)``, the positive-definite quadratic form
        ``q = a_xx dx^2 + 2 a_xy dx dy + a_yy dy^2``.
    kind : `int`
        `GAUSSIAN` (profile ``exp(-q/2)``) or `MOFFAT` (``(1 + q)^-beta``).
    beta : `float`
        Moffat index; ignored for a Gaussian.
    amplitude : `float`
        Profile value at the centre.
    order : `int`
        Gauss-Legendre points per axis within each pixel.

    Raises
    ------
    PsfError
        If the array, the form or a number is unusable.
    """
    _check_output(out)
    a_xx, a_xy, a_yy = _check_profile(x_centre, y_centre, form, kind, beta, amplitude)
    nodes, weights = _quadrature(int(order))
    _profiles.add_elliptical_profile(out, float(x_centre), float(y_centre), a_xx, a_xy, a_yy,
                                     int(kind), float(beta), float(amplitude), nodes, weights)
    return out


def moffat_with_gradient(shape, x_centre, y_centre, form, beta, order=5):
    """Pixel-integrated Moffat ``(1 + q)^-beta`` (peak 1) and its derivatives.

    Parameters are as for `add_profile`; ``shape`` is the output array shape.

    Returns
    -------
    image : `numpy.ndarray`
        The pixel integrals.
    gradient : `numpy.ndarray`
        Shape ``(6,) + shape``: derivatives of ``image`` with respect to
        ``x_centre``, ``y_centre``, ``a_xx``, ``a_xy``, ``a_yy`` and ``beta``.
    """
    a_xx, a_xy, a_yy = _check_profile(x_centre, y_centre, form, MOFFAT, beta, 1.0)
    image = np.empty(shape)
    gradient = np.empty((6,) + tuple(shape))
    nodes, weights = _quadrature(int(order))
    _profiles.moffat_with_gradient(image, gradient, float(x_centre), float(y_centre),
                                   a_xx, a_xy, a_yy, float(beta), nodes, weights)
    return image, gradient


def _check_output(out):
    if not (isinstance(out, np.ndarray) and out.ndim == 2 and out.dtype == np.float64
            and out.flags.c_contiguous):
        raise PsfError("profile output must be a C-contiguous 2-D float64 array")


def _check_profile(x_centre, y_centre, form, kind, beta, amplitude):
    """Return the form as floats; raise `PsfError` if any profile parameter is unusable."""
    a_xx, a_xy, a_yy = (float(value) for value in form)
    numbers = (x_centre, y_centre, a_xx, a_xy, a_yy, beta, amplitude)
    if not all(math.isfinite(value) for value in numbers):
        raise PsfError(f"profile parameters must be finite, got {numbers}")
    if a_xx <= 0.0 or a_xx * a_yy - a_xy ** 2 <= 0.0:
        raise PsfError(f"profile quadratic form {(a_xx, a_xy, a_yy)} is not positive definite")
    if kind not in (GAUSSIAN, MOFFAT):
        raise PsfError(f"unknown profile kind {kind!r}")
    if kind == MOFFAT and beta <= 0.0:
        raise PsfError(f"Moffat beta must be > 0, got {beta}")
    return a_xx, a_xy, a_yy
