"""Kernel-candidate QA metrics: what ``doAddMetrics`` adds to the ``kernelSrc`` catalogue.

For every kernel candidate with a stamp, the residual ``D = S - (K (x) T + bg)``
over the stamp's fit region is normalised by ``sqrt(var_S + var_T)`` and
summarised twice: with the candidate's own single kernel (``_LOCAL``) and
with the spatial kernel evaluated at its position (``_SPATIAL``). Column names
are the stack's (``KCDiffimMean_LOCAL``, ...); see `METRIC_COLUMNS`.
Registration columns (``Register*``) describe the offset between each
candidate's measured position and its reference position (reference catalogue
or template source) when one is given.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.signal import fftconvolve

__all__ = ["KERNEL_STATUS", "METRIC_COLUMNS", "kernel_candidate_metrics"]

KERNEL_STATUS = {"BAD": 0, "GOOD": 1, "UNKNOWN": 2}
"""Integer codes of ``KCKernelStatus_LOCAL``, as afw's SpatialCellCandidate status."""

_STATISTICS = ("KCDiffimMean", "KCDiffimMedian", "KCDiffimIQR", "KCDiffimStDev", "KCDiffimKSD",
               "KCDiffimKSProb", "KCDiffimADA2", "KCDiffimADCrit", "KCDiffimADSig",
               "KCDiffimChiSq", "KCDiffimMseResids", "KCKernelCentX", "KCKernelCentY",
               "KCKernelStdX", "KCKernelStdY")
METRIC_COLUMNS = (
    ["KernelCandidateId", "KCKernelStatus_LOCAL", "KernelCoeffValues_LOCAL",
     "BackgroundValue_LOCAL", "KCDiffimMseKernel_SPATIAL",
     "RegisterRefPosition", "RegisterResidualBearing", "RegisterResidualDistance"]
    + [f"{name}_{kind}" for kind in ("LOCAL", "SPATIAL") for name in _STATISTICS]
)
"""Every column `kernel_candidate_metrics` returns (besides ``x``, ``y``)."""

_AD_SIGNIFICANCE = 5.0
"""Significance level (%) whose Anderson-Darling critical value is reported."""
_AD_CRITICAL_5PERCENT = 0.752
"""Stephens (1974) 5 % critical value of A^2 for a normal of estimated mean and variance."""


def kernel_candidate_metrics(candidates, local_coefficients, kernel, background, convolved,
                             reference, fit_background, reference_positions=None):
    """QA metrics of each kernel candidate.

    Parameters
    ----------
    candidates : `pandas.DataFrame`
        The kernel-candidate table of the fit (``id``, ``x``, ``y``, ``status``),
        or any sources (e.g. a control sample, ``status`` "UNKNOWN").
    local_coefficients : `numpy.ndarray`
        ``(n, n_basis [+ 1])`` single-kernel solutions (NaN rows: none; such
        rows get only the ``_SPATIAL`` statistics).
    kernel : `diffim.psfmatch.SpatialKernel`
    background : `diffim.psfmatch.SpatialBackground`
    convolved, reference : `diffim.Exposure`
        The image the kernel convolves and the one it matches.
    fit_background : `bool`
        Whether the last coefficient of each local solution is a background.
    reference_positions : `pandas.DataFrame`, optional
        ``ra``, ``dec`` (degrees) per candidate row (NaN when unmatched): the
        positions the ``Register*`` columns compare against.

    Returns
    -------
    metrics : `pandas.DataFrame`
        One row per candidate, columns ``x``, ``y`` and `METRIC_COLUMNS`.
    """
    size = kernel.size
    half = size // 2
    n_basis = len(kernel.basis.images)
    rows = []
    for row, candidate in enumerate(candidates.itertuples(index=False)):
        coefficients = local_coefficients[row]
        values = {"x": candidate.x, "y": candidate.y, "KernelCandidateId": int(candidate.id),
                  "KCKernelStatus_LOCAL": KERNEL_STATUS.get(candidate.status, 2),
                  "KernelCoeffValues_LOCAL": np.asarray(coefficients[:n_basis], float),
                  "BackgroundValue_LOCAL": float(coefficients[n_basis]) if fit_background
                  else 0.0}
        stamps = _stamps(convolved, reference, candidate.x, candidate.y, half)
        if stamps is not None:
            # Sources without a local solution (e.g. the control sample) still
            # get the spatial kernel's statistics.
            spatial_kernel = kernel.image(candidate.x, candidate.y)
            spatial_background = (float(background(candidate.x, candidate.y)) if fit_background
                                  else 0.0)
            values.update(_residual_statistics(stamps, spatial_kernel, spatial_background,
                                               "SPATIAL"))
            if np.isfinite(coefficients).all():
                local_kernel = np.tensordot(coefficients[:n_basis], kernel.basis.images, axes=1)
                values.update(_residual_statistics(
                    stamps, local_kernel, values["BackgroundValue_LOCAL"], "LOCAL"))
                values["KCDiffimMseKernel_SPATIAL"] = float(
                    np.mean((local_kernel - spatial_kernel) ** 2))
        rows.append(values)
    metrics = pd.DataFrame(rows, columns=["x", "y", *METRIC_COLUMNS])
    _add_registration(metrics, reference, reference_positions)
    return metrics


def _stamps(convolved, reference, x, y, half):
    """Template, science and variance stamps of side ``4 half + 1``, or None off the image."""
    bbox = convolved.bbox
    cx, cy = int(round(x)) - bbox.x0, int(round(y)) - bbox.y0
    reach = 2 * half
    if cx - reach < 0 or cy - reach < 0 or cx + reach >= bbox.width or cy + reach >= bbox.height:
        return None
    window = (slice(cy - reach, cy + reach + 1), slice(cx - reach, cx + reach + 1))
    return (convolved.image[window].astype(float), reference.image[window].astype(float),
            convolved.variance[window].astype(float) + reference.variance[window].astype(float))


def _residual_statistics(stamps, kernel_image, background, suffix):
    template, science, variance = stamps
    half = kernel_image.shape[0] // 2
    model = fftconvolve(template, kernel_image, mode="valid") + background
    inner = (slice(half, -half), slice(half, -half))
    residual = science[inner] - model
    normalised = (residual / np.sqrt(variance[inner])).ravel()
    quartiles = np.percentile(normalised, [25.0, 75.0])
    ks = stats.kstest(normalised, "norm")
    anderson_a2, anderson_critical = _anderson_darling(normalised)
    centre_x, centre_y, std_x, std_y = _kernel_moments(kernel_image)
    values = {
        "KCDiffimMean": normalised.mean(), "KCDiffimMedian": np.median(normalised),
        "KCDiffimIQR": quartiles[1] - quartiles[0], "KCDiffimStDev": normalised.std(),
        "KCDiffimKSD": ks.statistic, "KCDiffimKSProb": ks.pvalue,
        "KCDiffimADA2": anderson_a2, "KCDiffimADCrit": anderson_critical,
        "KCDiffimADSig": _AD_SIGNIFICANCE, "KCDiffimChiSq": float((normalised ** 2).sum()),
        "KCDiffimMseResids": float(np.mean(residual ** 2)),
        "KCKernelCentX": centre_x, "KCKernelCentY": centre_y,
        "KCKernelStdX": std_x, "KCKernelStdY": std_y,
    }
    return {f"{name}_{suffix}": float(value) for name, value in values.items()}


def _anderson_darling(values):
    """Anderson-Darling A^2 of ``values`` against a normal of their mean and std.

    Returns A^2 and the 5 % critical value for this sample size (Stephens'
    small-sample correction applied to the critical value rather than to A^2).
    """
    n = len(values)
    ordered = np.sort((values - values.mean()) / values.std(ddof=1))
    log_cdf = stats.norm.logcdf(ordered)
    log_survival = stats.norm.logsf(ordered[::-1])
    weights = 2.0 * np.arange(1, n + 1) - 1.0
    a2 = -n - np.sum(weights * (log_cdf + log_survival)) / n
    return a2, _AD_CRITICAL_5PERCENT / (1.0 + 0.75 / n + 2.25 / n ** 2)


def _kernel_moments(kernel_image):
    """Centroid offset and width (pixels) of a kernel image about its centre pixel."""
    half = kernel_image.shape[0] // 2
    offsets = np.arange(-half, half + 1)
    total = kernel_image.sum()
    column_profile, row_profile = kernel_image.sum(axis=0), kernel_image.sum(axis=1)
    centre_x = (column_profile * offsets).sum() / total
    centre_y = (row_profile * offsets).sum() / total
    std_x = np.sqrt(max((column_profile * (offsets - centre_x) ** 2).sum() / total, 0.0))
    std_y = np.sqrt(max((row_profile * (offsets - centre_y) ** 2).sum() / total, 0.0))
    return centre_x, centre_y, std_x, std_y


def _add_registration(metrics, reference, reference_positions):
    """``Register*`` columns: measured position against the reference position."""
    metrics["RegisterRefPosition"] = [np.array([np.nan, np.nan])] * len(metrics)
    metrics["RegisterResidualBearing"] = np.nan
    metrics["RegisterResidualDistance"] = np.nan
    if reference_positions is None or reference.wcs is None or not len(metrics):
        return
    ref_ra = reference_positions["ra"].to_numpy(float)
    ref_dec = reference_positions["dec"].to_numpy(float)
    ra, dec = reference.pixel_to_sky(metrics["x"].to_numpy(), metrics["y"].to_numpy())
    delta_ra = np.radians(ra - ref_ra) * np.cos(np.radians(ref_dec))
    delta_dec = np.radians(dec - ref_dec)
    metrics["RegisterRefPosition"] = [np.array([a, d]) for a, d in zip(ref_ra, ref_dec)]
    # Bearing east of north, as a position angle.
    metrics["RegisterResidualBearing"] = np.arctan2(delta_ra, delta_dec)
    metrics["RegisterResidualDistance"] = np.degrees(np.hypot(delta_ra, delta_dec)) * 3600.0
