"""Least-squares fit of a pixel-integrated elliptical Moffat to a star stamp.

One fitter serves `measure_psf` (stars in real images) and the FWHM of pixel
PSF models (their noiseless kernel images), so both report the same width.

The Moffat is parametrised by ``eta = 1 / beta`` in ``[1e-6, 0.9]`` and
written ``(1 + c q)^(-1/eta)`` with ``c = 4 (2^eta - 1) / fwhm^2``. As
``eta -> 0`` it tends to the Gaussian of the same FWHM, so Gaussian-like and
Moffat-like stars are both inside the model and the FWHM is unbiased for
either (fits to noiseless Gaussians reach the bound ``beta = 1e6`` with the
FWHM within 1e-6; at ``beta = 1e4`` the fitted FWHM was 3e-5 short; noise
dominates both on real stars). The shape is ``q = r^T S r`` with
``S = [[1 + e1, e2], [e2, 1 - e1]] / sqrt(1 - e^2)`` (``det S = 1``), which
keeps ``fwhm`` the geometric mean of the principal-axis FWHM and has no
angle degeneracy for round stars. The Jacobian is analytic (from the compiled
renderer), which makes a fit ~8x faster than finite differences; the
minimiser is a small bounded Levenberg-Marquardt.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import PsfError
from .base import SIGMA_TO_FWHM
from .render import moffat_with_gradient, quadrature_order

__all__ = ["MoffatFit", "fit_moffat"]

_LN2 = math.log(2.0)
_MIN_ETA = 1e-6
_MAX_ETA = 0.9
_MAX_E_COMPONENT = 0.6
_MIN_FWHM = 0.5


@dataclass(frozen=True)
class MoffatFit:
    """Result of `fit_moffat`.

    ``x``, ``y`` are in stamp array coordinates; ``amplitude`` is the peak of
    the continuous profile, ``flux_in_stamp`` the model's sum over the stamp
    (without background); ``reduced_chi2`` uses the given weights.
    """

    amplitude: float
    x: float
    y: float
    background: float
    fwhm: float
    beta: float
    e1: float
    e2: float
    flux_in_stamp: float
    reduced_chi2: float
    success: bool


class _MoffatModel:
    """Pixel-integrated Moffat and its Jacobian in the fit parameters.

    Parameters ``(amplitude, x, y, fwhm, eta, e1, e2)``; the last evaluation
    is cached because the minimiser asks for the residuals and the
    Jacobian at the same point.
    """

    def __init__(self, shape, order):
        self.shape = shape
        self.order = order
        self._params = None

    def evaluate(self, params):
        """Return ``(image, jacobian)``, jacobian of shape ``(7,) + shape``."""
        params = tuple(float(value) for value in params)
        if params != self._params:
            self._params = params
            self._result = self._compute(*params)
        return self._result

    def _compute(self, amplitude, x, y, fwhm, eta, e1, e2):
        norm = 1.0 / math.sqrt(1.0 - e1 ** 2 - e2 ** 2)
        shear = np.array([(1.0 + e1) * norm, e2 * norm, (1.0 - e1) * norm])
        # d(shear)/d(e1) and d(shear)/d(e2): d(norm)/d(e_i) = e_i norm^3.
        norm3 = norm ** 3
        d_shear_d_e1 = np.array([norm + (1.0 + e1) * e1 * norm3, e2 * e1 * norm3,
                                 -norm + (1.0 - e1) * e1 * norm3])
        d_shear_d_e2 = np.array([(1.0 + e1) * e2 * norm3, norm + e2 ** 2 * norm3,
                                 (1.0 - e1) * e2 * norm3])
        scale = 4.0 * math.expm1(eta * _LN2) / fwhm ** 2
        beta = 1.0 / eta
        image, gradient = moffat_with_gradient(self.shape, x, y, scale * shear, beta,
                                               order=self.order)
        d_form = gradient[2:5]
        d_scale = np.tensordot(shear, d_form, axes=1)
        jacobian = np.empty((7,) + tuple(self.shape))
        jacobian[0] = image
        jacobian[1] = amplitude * gradient[0]
        jacobian[2] = amplitude * gradient[1]
        jacobian[3] = amplitude * d_scale * (-2.0 * scale / fwhm)
        jacobian[4] = amplitude * (d_scale * 4.0 * _LN2 * 2.0 ** eta / fwhm ** 2
                                   - gradient[5] / eta ** 2)
        jacobian[5] = amplitude * scale * np.tensordot(d_shear_d_e1, d_form, axes=1)
        jacobian[6] = amplitude * scale * np.tensordot(d_shear_d_e2, d_form, axes=1)
        return amplitude * image, jacobian


def fit_moffat(stamp, weights=None, x_guess=None, y_guess=None, fwhm_guess=3.0,
               fit_background=True):
    """Fit a pixel-integrated elliptical Moffat (Gaussian limit included) to a stamp.

    Parameters
    ----------
    stamp : `numpy.ndarray`
        2-D image of one star, indexed ``[y, x]``.
    weights : `numpy.ndarray`, optional
        Inverse variances, same shape; 0 excludes a pixel. Default uniform.
    x_guess, y_guess : `float`, optional
        Starting centre in array coordinates; default the middle pixel.
    fwhm_guess : `float`
        Starting FWHM in pixels.
    fit_background : `bool`
        Fit a constant background; otherwise it is fixed at 0.

    Returns
    -------
    fit : `MoffatFit`
        ``fwhm`` is the geometric mean of the principal-axis FWHM; ``beta``
        reaches 1e6 when the best fit is the Gaussian limit.

    Raises
    ------
    PsfError
        If the stamp has fewer usable pixels than free parameters.
    """
    stamp = np.asarray(stamp, dtype=float)
    weights = np.ones_like(stamp) if weights is None else np.asarray(weights, dtype=float)
    used = weights > 0.0
    n_params = 8 if fit_background else 7
    if used.sum() <= n_params:
        raise PsfError(f"star stamp has {used.sum()} usable pixels, need more than {n_params}")
    sqrt_weights = np.sqrt(weights[used])
    data = stamp[used]
    n_rows, n_cols = stamp.shape
    x_guess = (n_cols - 1) / 2.0 if x_guess is None else float(x_guess)
    y_guess = (n_rows - 1) / 2.0 if y_guess is None else float(y_guess)
    background_guess = float(np.median(np.concatenate(
        [stamp[0], stamp[-1], stamp[:, 0], stamp[:, -1]]))) if fit_background else 0.0
    fwhm_guess = float(np.clip(fwhm_guess, 1.0, max(n_rows, n_cols) / 2.0))
    # One quadrature order for the whole fit keeps the model a smooth function
    # of the parameters; half the round sigma allows axis ratios down to 1/4.
    order = max(3, quadrature_order(0.5 * fwhm_guess / SIGMA_TO_FWHM) - 2)
    model = _MoffatModel(stamp.shape, order)

    def residuals(params):
        image = model.evaluate(params[:7])[0]
        background = params[7] if fit_background else 0.0
        return (image[used] + background - data) * sqrt_weights

    def jacobian(params):
        columns = model.evaluate(params[:7])[1][:, used].T
        if fit_background:
            columns = np.hstack([columns, np.ones((columns.shape[0], 1))])
        return columns * sqrt_weights[:, np.newaxis]

    peak = float(stamp[int(np.clip(round(y_guess), 0, n_rows - 1)),
                       int(np.clip(round(x_guess), 0, n_cols - 1))]) - background_guess
    start = [max(peak, 1e-12), x_guess, y_guess, fwhm_guess, 0.3, 0.0, 0.0]
    lower = [0.0, -0.5, -0.5, _MIN_FWHM, _MIN_ETA, -_MAX_E_COMPONENT, -_MAX_E_COMPONENT]
    upper = [np.inf, n_cols - 0.5, n_rows - 0.5, float(max(n_rows, n_cols)), _MAX_ETA,
             _MAX_E_COMPONENT, _MAX_E_COMPONENT]
    if fit_background:
        start.append(background_guess)
        lower.append(-np.inf)
        upper.append(np.inf)
    start = np.clip(start, lower, upper)
    solution, cost, success = _levenberg_marquardt(residuals, jacobian, start, np.array(lower),
                                                   np.array(upper), 50 * n_params)
    amplitude, x, y, fwhm, eta, e1, e2 = (float(value) for value in solution[:7])
    dof = max(used.sum() - n_params, 1)
    return MoffatFit(
        amplitude=amplitude, x=x, y=y,
        background=float(solution[7]) if fit_background else 0.0,
        fwhm=fwhm, beta=1.0 / eta, e1=e1, e2=e2,
        flux_in_stamp=float(model.evaluate(solution[:7])[0].sum()),
        reduced_chi2=float(2.0 * cost / dof), success=success,
    )


def _levenberg_marquardt(residuals, jacobian, start, lower, upper, max_evaluations,
                         tolerance=1e-8):
    """Minimise ``sum(residuals(p)**2) / 2`` within the box ``[lower, upper]``.

    Levenberg-Marquardt with Marquardt's scaling (the damping is proportional
    to the diagonal of ``J^T J``, so the steps do not depend on the units of
    the parameters). A parameter on a bound whose descent direction points
    out of the box is held on it while the others take their step (the
    Gaussian limit of the Moffat); any other step that leaves the box is
    clipped onto it. It stops when an accepted step changes the cost by
    less than ``tolerance`` of it, or the parameters by less than
    ``tolerance`` of their size. A few parameters and a fit that starts near
    its answer need nothing more (and not scipy.optimize's import, ~0.1-0.3 s).

    Returns
    -------
    solution : `numpy.ndarray`
    cost : `float`
        Half the sum of squared residuals there.
    converged : `bool`
    """
    params = np.asarray(start, dtype=float)
    residual = residuals(params)
    cost = 0.5 * float(residual @ residual)
    damping = 1e-3
    evaluations = 1
    while evaluations < max_evaluations:
        columns = jacobian(params)
        gradient = columns.T @ residual
        # A parameter on a bound that descent would push beyond is held there
        # for this step: a step solved as if it moved, then clipped, leaves
        # the others a fraction of their way (a Moffat at its Gaussian limit
        # crawled along the bound for hundreds of evaluations).
        free = ~(((params <= lower) & (gradient > 0.0)) | ((params >= upper) & (gradient < 0.0)))
        normal = columns[:, free].T @ columns[:, free]
        scale = np.maximum(np.diag(normal), 1e-300)
        step = np.zeros_like(params)
        while evaluations < max_evaluations:
            try:
                step[free] = np.linalg.solve(normal + damping * np.diag(scale), -gradient[free])
            except np.linalg.LinAlgError:
                damping *= 10.0
                evaluations += 1
                continue
            trial = np.clip(params + step, lower, upper)
            trial_residual = residuals(trial)
            evaluations += 1
            trial_cost = 0.5 * float(trial_residual @ trial_residual)
            if trial_cost <= cost:
                break
            damping *= 10.0
        else:
            return params, cost, False
        change = np.linalg.norm(trial - params)
        small = (cost - trial_cost <= tolerance * cost
                 or change <= tolerance * (tolerance + np.linalg.norm(params)))
        params, residual, cost = trial, trial_residual, trial_cost
        damping = max(damping / 10.0, 1e-12)
        if small:
            return params, cost, True
    return params, cost, False
