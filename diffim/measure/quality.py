"""Is this difference image a good subtraction? Numbers that say so, and the error when not.

- `residual_summary`: the statistics of ``difference / sigma`` over the usable
  pixels that a one-line summary reports: median, (clipped) mean, robust
  width, the count of masked pixels, and warnings for a pedestal or a
  gradient, which a robust width alone never shows.
- `footprint_ratios`: the stack's bad-subtraction metric: in a disc
  around each kernel source, the mean absolute difference (less that of
  the noise) relative to the mean absolute science signal. A good
  subtraction leaves a small fraction; a wrong kernel, a missing
  background or misaligned images leave most of it.
- `check_subtraction`: `BadSubtractionError` when the mean or the scatter of
  those ratios, or the fraction of detected pixels, is beyond its threshold.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..errors import DiffimError
from ..image.pixel_medians import abs_median, z_statistics
from ..image.stats import row_medians
from ..table import column_names

__all__ = ["BadSubtractionError", "check_subtraction", "footprint_ratios",
           "kernel_source_ratios", "residual_summary"]

PEDESTAL_WARNING = 0.1
"""Warn when the median of difference/sigma is further than this from 0."""

GRADIENT_WARNING = 0.2
"""Warn when a plane fitted to cell medians of difference/sigma spans more than this."""

_CELLS = 4
"""Cells per side for the gradient: medians of many pixels, so ~0.01 sigma precise."""

_CLIP = 5.0
"""The mean leaves out |difference/sigma| beyond this (transients, residual cores)."""


class BadSubtractionError(DiffimError):
    """The difference image is not a subtraction to detect sources on."""


def residual_summary(difference, excluded_planes):
    """Statistics of ``difference / sigma`` over the pixels outside ``excluded_planes``.

    Returns
    -------
    summary : `dict`
        ``median``, ``mean`` (of the values within 5 sigma), ``robust_std``,
        ``masked`` (pixels left out: any excluded plane, or variance <= 0),
        ``gradient`` (peak-to-peak of a plane through cell medians over the
        image, in sigma) and ``warnings`` (`list` of `str`).
    """
    good = difference.mask.unmasked(excluded_planes) & (difference.variance > 0)
    height, width = good.shape
    rows = np.array_split(np.arange(height), _CELLS)
    cols = np.array_split(np.arange(width), _CELLS)
    stats = z_statistics(difference.image, difference.variance, good, _edges(rows), _edges(cols),
                         _CLIP)
    summary = {"masked": good.size - stats["count"], "median": np.nan, "mean": np.nan,
               "robust_std": np.nan, "gradient": np.nan, "warnings": []}
    if stats["count"] == 0:
        summary["warnings"].append("no usable pixel")
        return summary
    median = stats["median"]
    summary.update(median=float(median), robust_std=stats["sigma"], mean=stats["mean"],
                   gradient=_gradient(stats, rows, cols, height, width))
    if abs(median) > PEDESTAL_WARNING:
        summary["warnings"].append(f"pedestal: median(diff/sigma) = {median:+.2f}")
    if summary["gradient"] > GRADIENT_WARNING:
        summary["warnings"].append(
            f"gradient: diff/sigma changes by {summary['gradient']:.2f} across the image")
    return summary


def _edges(parts):
    """Boundaries ``0, ..., n`` of consecutive index ranges."""
    return np.cumsum([0] + [len(part) for part in parts])


def _gradient(stats, rows, cols, height, width):
    """Peak-to-peak over the image of a plane fitted to cell medians of difference/sigma."""
    u, v, m = [], [], []
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            if stats["cell_counts"][i, j] >= 25:
                u.append(col.mean() / max(width - 1, 1))
                v.append(row.mean() / max(height - 1, 1))
                m.append(stats["cell_medians"][i, j])
    if len(m) < 3:
        return 0.0
    design = np.column_stack([np.ones(len(m)), u, v])
    _, slope_u, slope_v = np.linalg.lstsq(design, np.array(m), rcond=None)[0]
    return float(abs(slope_u) + abs(slope_v))


def footprint_ratios(science, difference, x, y, radius, excluded_planes):
    """The stack's residual ratio in a disc at each source: difference over science.

    As ip_diffim's ``computeDifferenceImageMetrics`` (without sky sources):
    ``|mean(|D|) - median(|D|)| / mean(|S|)`` over the disc's usable pixels, the
    median of ``|D|`` over the whole usable difference standing for the noise.
    The stack sums over each star's detection footprint on a
    background-subtracted calexp; here the footprint is a disc and the
    science image's local sky (the median of an annulus from ``radius`` to
    ``2 radius``) is removed first, since plain inputs carry their sky.

    Parameters
    ----------
    science, difference : `diffim.Exposure`
        On one pixel grid.
    x, y : `numpy.ndarray`
        Parent positions (the kernel sources).
    radius : `float`
        Disc radius in pixels.
    excluded_planes : sequence of `str`
        Pixels with these planes (in either image) are left out.

    Returns
    -------
    ratios : `numpy.ndarray`
        One per source; NaN where a disc or its annulus has no usable pixel,
        or the science disc is zero.
    """
    half = int(np.ceil(2 * radius))
    offsets = np.arange(-half, half + 1)
    distance = np.hypot(offsets[None, :], offsets[:, None])
    disc, annulus = distance <= radius, (distance > radius) & (distance <= 2 * radius)
    bad = np.zeros(difference.shape, bool)
    for exposure in (science, difference):
        bad |= exposure.mask.get([p for p in excluded_planes if p in exposure.mask.planes])
    ratios = np.full(len(x), np.nan)
    if bad.all():
        return ratios
    noise = abs_median(difference.image, ~bad)
    x0, y0 = difference.xy0
    xc, yc = np.rint(x).astype(int) - x0, np.rint(y).astype(int) - y0
    whole = np.flatnonzero((half <= xc) & (xc < difference.shape[1] - half)
                           & (half <= yc) & (yc < difference.shape[0] - half))
    # Every window at once (one fancy index of a strided view per plane); each
    # source's own means below, over its values in the order one source at a time took.
    size, corners = (2 * half + 1,) * 2, (yc[whole] - half, xc[whole] - half)
    usable = ~sliding_window_view(bad, size)[corners]
    images = sliding_window_view(science.image, size)[corners].astype(float)
    residuals = sliding_window_view(difference.image, size)[corners]
    inner, outer = disc & usable, annulus & usable
    found = inner.any(axis=(1, 2)) & outer.any(axis=(1, 2))
    annuli = np.where(outer[found], images[found], np.nan)
    skies = row_medians(annuli.reshape(len(annuli), size[0] * size[1]))
    # numpy's median of an annulus with an unflagged NaN is NaN.
    skies[(np.isnan(images[found]) & outer[found]).any(axis=(1, 2))] = np.nan
    for i, image, residual, inner_i, sky in zip(whole[found], images[found], residuals[found],
                                                 inner[found], skies):
        science_level = np.abs(image[inner_i] - sky).mean()
        if science_level > 0:
            ratios[i] = abs(np.abs(residual[inner_i].astype(float)).mean() - noise) / science_level
    return ratios


def kernel_source_ratios(science, difference, kernel_sources, excluded_planes):
    """`footprint_ratios` at the kernel sources used, in discs of 2 difference FWHMs.

    ``kernel_sources`` has ``x``, ``y`` and optionally ``used``: the subtraction's
    ``kernelSources`` (a record array) or a DataFrame; an empty array when there are none.
    """
    if kernel_sources is None or not len(kernel_sources):
        return np.array([])
    x, y = (np.asarray(kernel_sources[name], dtype=float) for name in ("x", "y"))
    if "used" in column_names(kernel_sources):
        used = np.asarray(kernel_sources["used"], dtype=bool)
        x, y = x[used], y[used]
    radius = 2.0 * float(difference.psf.computeFwhm(*difference.bbox.center))
    return footprint_ratios(science, difference, x, y, radius, excluded_planes)


def check_subtraction(ratios, detected_fraction, *, ratio_threshold, variation_threshold,
                      detected_fraction_threshold):
    """Raise `BadSubtractionError` naming the first number beyond its threshold.

    Parameters
    ----------
    ratios : `numpy.ndarray`
        `footprint_ratios` (NaN ignored); their scatter counts from 3 sources.
    detected_fraction : `float` or None
        Fraction of the usable pixels in detection footprints (None: not checked).
    ratio_threshold, variation_threshold, detected_fraction_threshold : `float`
        The stack's ``badSubtractionRatioThreshold`` and
        ``badSubtractionVariationThreshold``, and the detected-pixel limit.
    """
    ratios = np.asarray(ratios, float)
    ratios = ratios[np.isfinite(ratios)]
    if ratios.size:
        mean = ratios.mean()
        if mean > ratio_threshold:
            raise BadSubtractionError(
                f"bad subtraction: the difference keeps {mean:.2f} of the science signal in the "
                f"footprints of {ratios.size} kernel sources (badSubtractionRatioThreshold="
                f"{ratio_threshold})")
        if ratios.size >= 3 and ratios.std() > variation_threshold:
            raise BadSubtractionError(
                f"bad subtraction: the residual ratio in kernel-source footprints scatters "
                f"by {ratios.std():.2f} over {ratios.size} sources "
                f"(badSubtractionVariationThreshold={variation_threshold})")
    if detected_fraction is not None and detected_fraction > detected_fraction_threshold:
        raise BadSubtractionError(
            f"bad subtraction: {100 * detected_fraction:.1f}% of the usable pixels are in "
            f"detections (badSubtractionDetectedFractionThreshold="
            f"{detected_fraction_threshold})")
