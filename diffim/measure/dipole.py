"""Dipole fitting: a positive and a negative PSF fitted to one footprint.

A misregistered or mis-matched source leaves a dipole in the difference: a
positive and a negative lobe a few pixels apart. The model is

    D(x, y) = f_pos P(x - x_pos, y - y_pos) - f_neg P(x - x_neg, y - y_neg)

fitted by least squares, weighted by the inverse noise, over the
footprint's bounding box padded by one FWHM (of the PSF at the image centre). The four
positions are the non-linear parameters (scipy ``least_squares``, as offsets
from the starting lobe positions, so that its relative finite-difference step
is a thousandth of a pixel wherever the image lies); for given positions the
two fluxes are a weighted linear fit (variable projection), which keeps the
non-linear problem small and well conditioned. Flux errors come from the
full six-parameter Jacobian at the solution, so they include the
flux-position covariance that dominates when the lobes overlap.

Only footprints holding peaks of both polarities are fitted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..geom import Box
from .centroid import peak_centroids
from .schema import CENTROID_X, CENTROID_Y, DIPOLE_COLUMNS

__all__ = ["DipoleFit", "classify_dipoles", "fit_dipole", "fit_footprint_dipoles",
           "footprint_boxes"]


@dataclass(frozen=True)
class DipoleFit:
    """Result of `fit_dipole` (parent coordinates, counts)."""

    pos_flux: float
    pos_flux_err: float
    neg_flux: float
    neg_flux_err: float
    pos_x: float
    pos_y: float
    neg_x: float
    neg_y: float
    chi2dof: float

    @property
    def separation(self):
        """Distance between the lobes, pixels."""
        return math.hypot(self.pos_x - self.neg_x, self.pos_y - self.neg_y)

    @property
    def orientation(self):
        """Angle of the negative-to-positive vector from +x, radians."""
        return math.atan2(self.pos_y - self.neg_y, self.pos_x - self.neg_x)


def _weighted_psf_on(psf, x, y, box, weights):
    """The PSF centred at ``(x, y)`` drawn on ``box`` times ``weights`` (box-shaped), zero
    outside its stamp; flat."""
    image, psf_box = psf.computeImage(x, y)
    out = np.zeros(box.shape)
    # The overlap in integers: a fit draws thousands of PSFs, and `Box` objects
    # (validated on creation) cost as much as the drawing.
    x0, y0 = max(box.x0, psf_box.x0), max(box.y0, psf_box.y0)
    x1, y1 = min(box.x_end, psf_box.x_end), min(box.y_end, psf_box.y_end)
    if x0 < x1 and y0 < y1:
        inside = np.s_[y0 - box.y0:y1 - box.y0, x0 - box.x0:x1 - box.x0]
        np.multiply(image[y0 - psf_box.y0:y1 - psf_box.y0, x0 - psf_box.x0:x1 - psf_box.x0],
                    weights[inside], out=out[inside])
    return out.reshape(-1)


def fit_dipole(image, variance, usable, bbox, psf, footprint_box, pos_start, neg_start, pad):
    """Fit a dipole model to the pixels of ``footprint_box`` grown by ``pad`` pixels.

    Parameters
    ----------
    image, variance : `numpy.ndarray`
        Difference image and variance.
    usable : `numpy.ndarray` of `bool`
        Pixels that may be fitted.
    bbox : `diffim.Box`
        Where the arrays lie in parent coordinates.
    psf : `diffim.psf.Psf`
        PSF of the difference image.
    footprint_box : `diffim.Box`
        Bounding box of the footprint, parent coordinates.
    pos_start, neg_start : `tuple` [`float`, `float`]
        Starting lobe positions (parent coordinates).
    pad : `int`
        Pixels added around the footprint (`fit_footprint_dipoles`: one PSF FWHM).

    Returns
    -------
    fit : `DipoleFit` or `None`
        `None` when too few pixels are usable or the fit does not converge.
    """
    # Imported here: importing the detection task (and its config, which the
    # subtraction reads) does not load scipy.optimize (0.25 s).
    from scipy.optimize import least_squares

    box = footprint_box.grown(pad).intersection(bbox)
    slices = box.slices_in(bbox)
    data = image[slices].astype(np.float64)
    var = variance[slices].astype(np.float64)
    ok = usable[slices] & (var > 0)
    if ok.sum() <= 6:
        return None
    inverse_sigma = np.where(ok, 1.0 / np.sqrt(np.where(ok, var, 1.0)), 0.0)
    weighted_data = (data * inverse_sigma).ravel()

    weighted_psfs = {}

    def weighted_psf(x, y):
        # The numerical Jacobian moves one lobe at a time: the other lobe's
        # PSF is the one already drawn (a third of the PSFs a fit draws).
        key = (float(x), float(y))
        if key not in weighted_psfs:
            weighted_psfs[key] = _weighted_psf_on(psf, x, y, box, inverse_sigma)
        return weighted_psfs[key]

    def design(positions):
        xp, yp, xn, yn = positions
        matrix = np.empty((weighted_data.size, 2))
        matrix[:, 0] = weighted_psf(xp, yp)
        np.negative(weighted_psf(xn, yn), out=matrix[:, 1])
        return matrix

    start = np.array([*pos_start, *neg_start], float)
    lower = np.array([box.x0, box.y0, box.x0, box.y0], float) - 0.5
    upper = np.array([box.x_end, box.y_end, box.x_end, box.y_end], float) - 0.5
    start = np.clip(start, lower + 1e-3, upper - 1e-3)

    def residuals(offsets):
        matrix = design(start + offsets)
        fluxes = np.linalg.lstsq(matrix, weighted_data, rcond=None)[0]
        return matrix @ fluxes - weighted_data

    # The fit moves the lobes from their starts: scipy's finite-difference
    # step is relative to the parameters, 1e-3 of an offset of a pixel or
    # less, where 1e-3 of a parent coordinate was pixels.
    try:
        solution = least_squares(residuals, np.zeros(4), bounds=(lower - start, upper - start),
                                 x_scale=1.0, diff_step=1e-3, max_nfev=200)
    except (ValueError, np.linalg.LinAlgError):
        return None
    positions = start + solution.x
    matrix = design(positions)
    fluxes = np.linalg.lstsq(matrix, weighted_data, rcond=None)[0]
    chi2 = float(((matrix @ fluxes - weighted_data) ** 2).sum())
    dof = max(int(ok.sum()) - 6, 1)
    errors = _flux_errors(design, positions, fluxes)
    if errors is None or not np.all(np.isfinite(fluxes)):
        return None
    return DipoleFit(pos_flux=float(fluxes[0]), pos_flux_err=errors[0], neg_flux=float(fluxes[1]),
                     neg_flux_err=errors[1], pos_x=float(positions[0]), pos_y=float(positions[1]),
                     neg_x=float(positions[2]), neg_y=float(positions[3]), chi2dof=chi2 / dof)


def _flux_errors(design, positions, fluxes, step=1e-3):
    """Flux errors from the covariance of all six parameters (Gauss-Newton).

    The residuals are already divided by the noise, so the covariance is
    ``(J^T J)^-1`` with ``J`` the Jacobian of the weighted model.
    """
    def model(parameters):
        return design(parameters[2:]) @ parameters[:2]

    parameters = np.concatenate([fluxes, positions])
    base = model(parameters)
    jacobian = np.empty((base.size, 6))
    jacobian[:, :2] = design(positions)
    for index in range(2, 6):
        shifted = parameters.copy()
        shifted[index] += step
        jacobian[:, index] = (model(shifted) - base) / step
    try:
        covariance = np.linalg.inv(jacobian.T @ jacobian)
    except np.linalg.LinAlgError:
        return None
    variances = np.diag(covariance)[:2]
    if np.any(variances < 0):
        return None
    return tuple(float(v) for v in np.sqrt(variances))


def classify_dipoles(pos_flux, pos_flux_err, neg_flux, neg_flux_err, min_sn, max_flux_ratio):
    """True where both lobes are significant and neither carries most of the flux.

    Parameters
    ----------
    pos_flux, pos_flux_err, neg_flux, neg_flux_err : `numpy.ndarray`
        Lobe fluxes (``neg_flux`` positive for a negative lobe) and errors.
    min_sn : `float`
        Each lobe needs ``flux / err >= min_sn``.
    max_flux_ratio : `float`
        Each lobe's share ``|f| / (|f_pos| + |f_neg|)`` must not exceed it.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        significant = (pos_flux / pos_flux_err >= min_sn) & (neg_flux / neg_flux_err >= min_sn)
        total = np.abs(pos_flux) + np.abs(neg_flux)
        balanced = ((np.abs(pos_flux) / total <= max_flux_ratio)
                    & (np.abs(neg_flux) / total <= max_flux_ratio))
    return significant & balanced


def footprint_boxes(footprints, bbox, shape, which=None):
    """Parent-coordinate `Box` of every footprint, or of the footprints indexed by ``which``."""
    rows, cols = np.divmod(footprints.pixels, shape[1])
    chosen = slice(None) if which is None else which
    y_min = footprints.reduce(rows, np.minimum)[chosen]
    y_max = footprints.reduce(rows, np.maximum)[chosen]
    x_min = footprints.reduce(cols, np.minimum)[chosen]
    x_max = footprints.reduce(cols, np.maximum)[chosen]
    return [Box.from_corners(int(x0) + bbox.x0, int(y0) + bbox.y0, int(x1) + bbox.x0,
                             int(y1) + bbox.y0)
            for x0, y0, x1, y1 in zip(x_min, y_min, x_max, y_max)]


_FIT_KEYS = ("pos_instFlux", "pos_instFluxErr", "neg_instFlux", "neg_instFluxErr",
             "pos_centroid_x", "pos_centroid_y", "neg_centroid_x", "neg_centroid_y",
             "orientation", "separation", "chi2dof")
"""The dipole columns a fit fills, in `DipoleFit`'s order."""


def fit_footprint_dipoles(exposure, usable, footprints, catalog, min_sn, max_flux_ratio):
    """Dipole-fit the footprints with both polarities; returns how many were fitted.

    Parameters
    ----------
    exposure : `diffim.Exposure`
        The difference image.
    usable : `numpy.ndarray` [`bool`]
        Pixels the fit may use.
    footprints : `diffim.measure.footprints.Footprints`
    catalog : `numpy.ndarray`
        A record array of the schema, one row per footprint (then any others); the dipole columns of
        `diffim.measure.schema` are written in place, and a dipole's
        ``x``, ``y`` moved between its lobes.
    min_sn, max_flux_ratio : `float`
        Classification thresholds (see `classify_dipoles`).

    Returns
    -------
    n_fitted : `int`
    """
    both = np.flatnonzero((footprints.positive_peak >= 0) & (footprints.negative_peak >= 0))
    if len(both) == 0:
        return 0
    starts = {}
    for name, peaks, sign in (("pos", footprints.positive_peak, 1.0),
                              ("neg", footprints.negative_peak, -1.0)):
        rows, cols = np.divmod(peaks[both], exposure.shape[1])
        x, y = peak_centroids(footprints.significance, cols, rows, np.full(len(both), sign))
        starts[name] = (x + exposure.bbox.x0, y + exposure.bbox.y0)
    boxes = footprint_boxes(footprints, exposure.bbox, exposure.shape, both)
    # One FWHM per image, at its centre: the width of a PSF model varies little
    # over an image, and measuring it is a Moffat fit (0.09 s on a 4k
    # difference's interpolated PSF), once per dipole before.
    pad = int(math.ceil(exposure.psf.computeFwhm(*exposure.bbox.center)))
    columns = DIPOLE_COLUMNS
    values = {key: catalog[columns[key]].copy() for key in (*_FIT_KEYS, "flag")}
    for k, index in enumerate(both):
        fit = fit_dipole(exposure.image, exposure.variance, usable, exposure.bbox, exposure.psf,
                         boxes[k], (starts["pos"][0][k], starts["pos"][1][k]),
                         (starts["neg"][0][k], starts["neg"][1][k]), pad)
        if fit is None:
            values["flag"][index] = True
            continue
        for key, value in zip(_FIT_KEYS, (
                fit.pos_flux, fit.pos_flux_err, fit.neg_flux, fit.neg_flux_err, fit.pos_x,
                fit.pos_y, fit.neg_x, fit.neg_y, fit.orientation, fit.separation, fit.chi2dof)):
            values[key][index] = value
    for key, column in values.items():
        catalog[columns[key]] = column
    classified = classify_dipoles(
        values["pos_instFlux"], values["pos_instFluxErr"], values["neg_instFlux"],
        values["neg_instFluxErr"], min_sn, max_flux_ratio)
    catalog[columns["classification"]] = classified
    # A dipole's position is between its lobes, not at its brighter peak.
    for axis, centroid in (("x", CENTROID_X), ("y", CENTROID_Y)):
        catalog[centroid][classified] = 0.5 * (values[f"pos_centroid_{axis}"][classified]
                                               + values[f"neg_centroid_{axis}"][classified])
    return len(both)
