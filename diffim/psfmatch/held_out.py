"""The kernel basis chosen by how well it predicts bright sources the fit did not see.

An Alard-Lupton basis (Gaussians x polynomials) spans smooth matching kernels
with few unknowns; where two PSFs are nearly equal and differ by a structure
(JWST NIRCam's hexagonal pattern), its sums cannot follow it and the
delta-function basis (a free pixel each) can. Which basis a pair needs is
measured: each fitted kernel (and background) predicts the reference image
from the convolved one over the bright sources' pixels that no fit used
(galaxies, blends, stars the kernel-source selection left out, the parts of
kernel sources outside their fit regions), and the chi^2 of the two
predictions are compared source by source. The delta-function kernel
replaces the Alard-Lupton one, the stack's default and the cheaper, only when
its chi^2 is lower by a mean factor over the sources of at least
`MIN_HELD_OUT_GAIN`, more than `HELD_OUT_SIGNIFICANCE` standard errors from 1.
"""
from __future__ import annotations

import numpy as np

from .._core import _al_convolve, _labels
from ..image.stats import robust_median_sigma
from .convolve import convolve_image

__all__ = ["BRIGHT_FRACTION", "BRIGHT_SNR", "HELD_OUT_SIGNIFICANCE", "MAX_HELD_OUT_SOURCES",
           "MIN_HELD_OUT_GAIN", "MIN_HELD_OUT_SOURCES", "bright_held_out_sources", "choose_basis", "excess_over_noise",
           "held_out_chi2"]

BRIGHT_FRACTION = 0.005
"""Bright sources are the usable pixels of the convolved image above this top fraction,
grown by `BRIGHT_GROWTH` px: where the residuals near bright sources are measured
(tests/data/README.md)."""

BRIGHT_SNR = 5.0
"""...and at least this many robust standard deviations above the median: on a sparse
field the top fraction is otherwise noise."""

BRIGHT_GROWTH = 3
"""Pixels by which the bright pixels are grown into each source's footprint."""

_THRESHOLD_SAMPLE = 1_000_000
"""About this many pixels (a regular subgrid) set the brightness threshold of a larger image."""

HELD_OUT_SIGNIFICANCE = 2.0
"""Standard errors by which the delta-function kernel must predict better to be kept."""

MIN_HELD_OUT_GAIN = 1.2
"""Smallest geometric-mean ratio of the Alard-Lupton kernel's held-out chi^2 to the
delta-function kernel's for the latter to be kept, and smallest excess of the former
over its noise for the latter to be fitted at all. Where the Gaussians span the PSFs
(DECam, simulated Moffat PSFs) the ratio is 0.77-1.14 (the highest, 1.136 at 2.4
standard errors, a deconvolution: DECam OBS04e convolved onto OBS18e, near-bright std
5.2 with either basis); a ratio of 1.057 at 3.4 standard errors, the two fits' different
stamps and backgrounds (DECam OBS18c onto OBS04c), came with a delta-function difference
worse near the bright stars (std 2.41 -> 2.60). On JWST NIRCam's nearly equal, structured
PSFs the ratio is 1.53-1.75 (tests/data/README.md, ninth pass)."""

MIN_HELD_OUT_SOURCES = 5
"""Fewer held-out sources than this give no verdict: the Alard-Lupton kernel is kept."""

MAX_HELD_OUT_SOURCES = 200
"""At most this many held-out sources are compared, every k-th in label order where there are
more: each costs a convolution of its box (a 4096 px simulated pair has 2247, 2.6 CPU s; the
real pairs measured have 1-30), and 200 estimate the per-source means to a few percent."""


def bright_held_out_sources(convolved, reference, bad_mask_planes, fit_boxes, margin):
    """Footprints of the bright sources, less the pixels a fit used or a bad pixel spoils.

    Parameters
    ----------
    convolved, reference : `diffim.Exposure`
        The image the kernel convolves and the image it matches (one pixel grid).
    bad_mask_planes : sequence of `str`
        Pixels within ``margin`` of these planes in either image are left out.
    fit_boxes : `numpy.ndarray`
        ``(n, 4)`` ``x0, y0, x1, y1`` (parent, inclusive) of the pixels the fit used.
    margin : `int`
        The kernel's half-width: pixels closer to the image edge or to a bad pixel
        are left out, where the convolution is not defined.

    Returns
    -------
    labels : `numpy.ndarray`
        Integer image: 0 outside, ``1..n`` one label per source (the connected
        parts of what is left of a source count as sources of their own); at most
        `MAX_HELD_OUT_SOURCES`, every k-th of more.
    n_sources : `int`
    """
    planes = [name for name in bad_mask_planes if name in convolved.mask.planes]
    bad = convolved.mask.get(planes) | reference.mask.get(
        [name for name in bad_mask_planes if name in reference.mask.planes])
    bad |= ~(np.isfinite(convolved.image) & np.isfinite(reference.image))
    # The kernel's square support.
    excluded = bad
    if bad.any():
        excluded = np.empty_like(bad)
        _al_convolve.dilate_mask(np.ascontiguousarray(bad).view(np.uint8),
                                 excluded.view(np.uint8), 2 * margin + 1)
    excluded[:margin] = excluded[-margin:] = True
    excluded[:, :margin] = excluded[:, -margin:] = True
    x0, y0 = convolved.xy0
    for bx0, by0, bx1, by1 in np.asarray(fit_boxes, dtype=np.int64).reshape(-1, 4):
        rows = slice(max(by0 - y0, 0), max(by1 - y0 + 1, 0))
        excluded[rows, max(bx0 - x0, 0):max(bx1 - x0 + 1, 0)] = True
    stride = max(1, int(np.sqrt(excluded.size / _THRESHOLD_SAMPLE)))
    sample = convolved.image[::stride, ::stride][~excluded[::stride, ::stride]]
    if sample.size == 0:
        return np.zeros(convolved.shape, np.int32), 0
    median, sigma = robust_median_sigma(sample)
    threshold = max(np.quantile(sample, 1.0 - BRIGHT_FRACTION), median + BRIGHT_SNR * sigma)
    # Grown from the held-out bright pixels only (a kernel source's core grows no rim
    # around its fit region), by the diamond of `BRIGHT_GROWTH` steps.
    rows, cols = np.nonzero((convolved.image > threshold) & ~excluded)
    footprints = np.zeros(convolved.shape, bool)
    for dy in range(-BRIGHT_GROWTH, BRIGHT_GROWTH + 1):
        reach = BRIGHT_GROWTH - abs(dy)
        for dx in range(-reach, reach + 1):
            footprints[np.clip(rows + dy, 0, footprints.shape[0] - 1),
                       np.clip(cols + dx, 0, footprints.shape[1] - 1)] = True
    footprints &= ~excluded
    labels = np.empty(footprints.shape, np.int32)
    n_sources = _labels.label_4(footprints.view(np.uint8), labels)
    if n_sources > MAX_HELD_OUT_SOURCES:
        kept = np.arange(1, n_sources + 1, -(-n_sources // MAX_HELD_OUT_SOURCES))
        relabel = np.zeros(n_sources + 1, np.int32)
        relabel[kept] = np.arange(1, len(kept) + 1)
        labels, n_sources = relabel[labels], len(kept)
    return labels, int(n_sources)


def held_out_chi2(convolved, reference, kernel, background, labels, n_sources):
    """Per source, the chi^2 of ``reference - (kernel (x) convolved + background)``.

    Parameters
    ----------
    convolved, reference : `diffim.Exposure`
    kernel : `diffim.psfmatch.SpatialKernel`
    background : `diffim.psfmatch.SpatialBackground`
    labels, n_sources
        From `bright_held_out_sources`.

    Returns
    -------
    chi2 : `numpy.ndarray`
        ``(n_sources,)``, over each footprint with the variance of both images.
    floor : `numpy.ndarray`
        ``(n_sources,)``, its expectation for a kernel that predicts the pixels
        to their noise: ``sum (V_ref + g V_conv) / (V_ref + V_conv)`` with ``g``
        the kernel's noise gain (sum of its squared pixels) at the image centre.
    """
    chi2, floor = np.zeros(n_sources), np.zeros(n_sources)
    centre = convolved.bbox.center
    gain = float((kernel.image(*centre) ** 2).sum())
    half = kernel.size // 2
    x0, y0 = convolved.xy0
    height, width = convolved.shape
    boxes = _labels.label_boxes(np.ascontiguousarray(labels, dtype=np.int32), n_sources)
    for label, (row_start, row_stop, col_start, col_stop) in enumerate(boxes.tolist(), start=1):
        if row_stop == 0:
            continue
        rows = slice(max(row_start - half, 0), min(row_stop + half, height))
        cols = slice(max(col_start - half, 0), min(col_stop + half, width))
        image = np.asarray(convolved.image[rows, cols], dtype=np.float64)
        predicted = convolve_image(image, kernel, (x0 + cols.start, y0 + rows.start))
        inside = labels[rows, cols] == label
        yy, xx = np.nonzero(inside)
        model = predicted[inside] + background(xx + x0 + cols.start, yy + y0 + rows.start)
        reference_variance = np.asarray(reference.variance[rows, cols], dtype=np.float64)[inside]
        convolved_variance = np.asarray(convolved.variance[rows, cols], dtype=np.float64)[inside]
        variance = reference_variance + convolved_variance
        residual = np.asarray(reference.image[rows, cols], dtype=np.float64)[inside] - model
        chi2[label - 1] = float((residual ** 2 / variance).sum())
        floor[label - 1] = float(((reference_variance + gain * convolved_variance)
                                  / variance).sum())
    return chi2, floor


def excess_over_noise(chi2, floor):
    """Geometric mean over the sources of ``chi2 / floor`` (`held_out_chi2`); 1 without any.

    A kernel whose held-out residuals are at their noise gives ~1; no other kernel
    can then predict those sources `MIN_HELD_OUT_GAIN` times better, and the
    delta-function basis need not be fitted.
    """
    if not len(chi2):
        return 1.0
    return float(np.exp(np.mean(np.log(np.asarray(chi2) / np.asarray(floor)))))


def choose_basis(chi2_alard_lupton, chi2_delta_function, significance=HELD_OUT_SIGNIFICANCE):
    """``"delta-function"`` when its held-out chi^2 is significantly lower, else ``"alard-lupton"``.

    Parameters
    ----------
    chi2_alard_lupton, chi2_delta_function : `numpy.ndarray`
        Per held-out source, over the same pixels (`held_out_chi2`).
    significance : `float`, optional
        `HELD_OUT_SIGNIFICANCE` by default.

    Returns
    -------
    basis : `str`
    statistics : `dict`
        ``heldOutSources``, ``heldOutChi2AL``, ``heldOutChi2DF`` (sums),
        ``heldOutChi2Ratio`` (the geometric mean of AL / DF per source) and
        ``heldOutSignificance``: the mean log ratio over its standard error
        (positive when the delta-function kernel predicts better).

    Notes
    -----
    The sources are the units, compared by ``d = log(chi2_AL / chi2_DF)`` and
    ``mean(d) / (std(d) / sqrt(n))``: their chi^2 span orders of magnitude with
    their brightness (a saturated star's 2e5 beside a faint galaxy's 20), so the
    ratio, not the difference, says how much better one kernel predicts each,
    and one source does not decide alone unless the others agree. A source that
    both kernels predict to the noise has ``d`` near 0. The delta-function
    kernel is chosen when that score exceeds ``significance`` and the mean
    ratio ``exp(mean(d))`` is at least `MIN_HELD_OUT_GAIN`; with fewer than
    `MIN_HELD_OUT_SOURCES` sources the Alard-Lupton kernel is kept.
    """
    difference = np.log(np.asarray(chi2_alard_lupton) / np.asarray(chi2_delta_function))
    n = len(difference)
    score = 0.0
    if n >= MIN_HELD_OUT_SOURCES:
        spread = difference.std(ddof=1)
        score = float(difference.mean() / (spread / np.sqrt(n))) if spread > 0 else 0.0
    statistics = {"heldOutSources": n,
                  "heldOutChi2AL": float(np.sum(chi2_alard_lupton)),
                  "heldOutChi2DF": float(np.sum(chi2_delta_function)),
                  "heldOutChi2Ratio": float(np.exp(difference.mean())) if n else 1.0,
                  "heldOutSignificance": score}
    better = score > significance and statistics["heldOutChi2Ratio"] >= MIN_HELD_OUT_GAIN
    return ("delta-function" if better else "alard-lupton"), statistics
