"""Detection: thresholded, grown and merged footprints of both polarities.

The difference image is correlated with a Gaussian of the PSF's width (the
matched filter of a point source, as the stack's ``SourceDetectionTask``
does) and divided by its noise, ``sqrt(sum(k^2) var)`` with ``k`` the
normalised kernel and ``var`` the per-pixel variance; a score image, already
matched-filtered, is only divided by ``sqrt(var)`` (the stack's
``doSmooth=False``). Pixels at or beyond
``+-threshold`` in that significance image form positive and negative
detections; each polarity is grown by a disc of ``grow`` pixels (the
stack's ``growFootprint``), and with ``merge`` the union of both polarities
is labelled into connected footprints, so a dipole is one source.

Footprints are kept as pixel lists sorted by label, so every per-footprint
reduction (peaks, mask bits, areas) is one ``ufunc.reduceat`` instead of a
pass over the full image per footprint.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .._core import _measure, _runs

__all__ = ["Footprints", "detect_footprints", "significance_image"]


@dataclass
class Footprints:
    """Connected footprints and their extreme peaks (array coordinates).

    Attributes
    ----------
    count : `int`
        Number of footprints.
    pixels : `numpy.ndarray`
        Flat indices (into the image) of every footprint pixel, grouped by
        footprint in label order.
    starts : `numpy.ndarray`
        ``count + 1`` offsets: footprint ``i`` is ``pixels[starts[i]:starts[i+1]]``.
    positive_peak, negative_peak : `numpy.ndarray`
        Flat index of the most significant positive / negative pixel of each
        footprint, -1 when it has no peak of that polarity beyond threshold.
    positive_significance, negative_significance : `numpy.ndarray`
        Significance at those peaks (NaN when absent).
    positive_mask, negative_mask : `numpy.ndarray` of `bool`
        Grown detections of each polarity (DETECTED / DETECTED_NEGATIVE).
    significance : `numpy.ndarray`
        The float32 significance image.
    """

    count: int
    pixels: np.ndarray
    starts: np.ndarray
    positive_peak: np.ndarray
    negative_peak: np.ndarray
    positive_significance: np.ndarray
    negative_significance: np.ndarray
    positive_mask: np.ndarray
    negative_mask: np.ndarray
    significance: np.ndarray

    @property
    def areas(self):
        """Pixels per footprint."""
        return np.diff(self.starts)

    def reduce(self, values, ufunc):
        """``ufunc.reduceat`` of per-pixel ``values`` (indexed like ``pixels``) per footprint."""
        if self.count == 0:
            return np.zeros(0, values.dtype)
        return ufunc.reduceat(values, self.starts[:-1])


def significance_image(image, variance, good, sigma):
    """S/N of a point source at each pixel: PSF-smoothed image over its noise.

    Parameters
    ----------
    image, variance : `numpy.ndarray`
        Difference image and its variance.
    good : `numpy.ndarray` of `bool`
        Usable pixels; the others count as zero in the smoothing and have
        significance 0.
    sigma : `float` or `None`
        Gaussian sigma of the smoothing kernel (the PSF's), pixels; `None`
        for no smoothing (a score image): ``image / sqrt(var)``.

    Returns
    -------
    significance : `numpy.ndarray`
        float32, same shape; 0 where not ``good`` or ``var <= 0``.

    Notes
    -----
    With ``k`` the normalised 2-D Gaussian (truncated at 4 sigma), the
    significance is ``(k * image) / sqrt(sum(k^2) var)``: exact for a flat
    variance, and using each pixel's own variance follows its spatial
    changes (the stack's ``pixel_stdev`` threshold).
    """
    if sigma is None:
        usable = good & (variance > 0)
        out = np.zeros(image.shape, np.float32)
        out[usable] = image[usable] / np.sqrt(variance[usable])
        return out
    kernel = _gaussian_taps(sigma)
    kernel_power = float((kernel ** 2).sum() ** 2)
    image = np.ascontiguousarray(image, dtype=np.float32)
    variance = np.ascontiguousarray(variance, dtype=np.float32)
    out = np.empty_like(image)
    good = np.ascontiguousarray(good, dtype=bool).view(np.uint8)
    _measure.significance(image, variance, good, kernel, kernel_power, out)
    return out


def _gaussian_taps(sigma):
    """Normalised 1-D Gaussian taps out to 4 sigma (float64): to the bit what scipy's
    ``gaussian_filter1d`` makes of a unit impulse, normalised once more, without
    importing scipy.ndimage (0.2-0.3 s) on the detection path."""
    radius = int(4.0 * sigma + 0.5)
    offsets = np.arange(-radius, radius + 1)
    taps = np.exp(-0.5 / (sigma * sigma) * offsets ** 2)
    taps = taps / taps.sum()
    return taps / taps.sum()


def _grown_detections(significance, threshold, radius, polarity):
    """Positive and negative detections grown by a disc of ``radius`` pixels, and their union.

    A polarity not asked for is all False. The union is a uint8 view, for labelling.
    """
    radius = max(int(radius), 0)
    if radius > 254:
        raise ValueError(f"grow radius {radius} pixels: at most 254")
    half_widths = np.array([math.isqrt(radius * radius - dy * dy) for dy in range(radius + 1)],
                           np.uint8)
    distances = [np.empty(significance.shape, np.uint8) for _ in range(2)]
    positive, negative, either = (np.empty(significance.shape, bool) for _ in range(3))
    _measure.grow_detections(significance, threshold, half_widths,
                             polarity in ("positive", "both"), polarity in ("negative", "both"),
                             *distances, positive.view(np.uint8), negative.view(np.uint8),
                             either.view(np.uint8))
    return positive, negative, either.view(np.uint8)


def _labelled_pixels(detected):
    """Connected parts (4-connected) of a uint8 image: count, flat pixel indices sorted by
    label (raster order within a part), and the label offsets."""
    return _runs.label_runs(np.ascontiguousarray(detected))


def _extreme_peaks(significance, pixels, starts, sign, threshold):
    """Flat index and value of the most ``sign``-ward pixel of each footprint beyond threshold."""
    count = len(starts) - 1
    peak = np.full(count, -1, np.int64)
    value = np.full(count, np.nan)
    if count == 0:
        return peak, value
    values = sign * significance.ravel()[pixels]
    sizes = np.diff(starts)
    best = np.maximum.reduceat(values, starts[:-1])
    # The first pixel of each footprint that attains its maximum.
    at_best = np.flatnonzero(values == np.repeat(best, sizes))
    footprint_of = np.repeat(np.arange(count), sizes)[at_best]
    first = at_best[np.searchsorted(footprint_of, np.arange(count))]
    found = best >= threshold
    peak[found] = pixels[first[found]]
    value[found] = sign * best[found].astype(np.float64)
    return peak, value


def detect_footprints(image, variance, good, sigma, threshold=5.0, polarity="both", grow=2,
                      merge=True):
    """Footprints of the significant pixels of a difference image.

    Parameters
    ----------
    image, variance : `numpy.ndarray`
        Difference image (background-subtracted) and variance.
    good : `numpy.ndarray` of `bool`
        Pixels usable for detection.
    sigma : `float` or `None`
        PSF Gaussian sigma (pixels) of the smoothing kernel; `None` not to
        smooth (a score image).
    threshold : `float`
        Detection threshold in units of the smoothed image's noise.
    polarity : {"positive", "negative", "both"}
    grow : `int`
        Radius (pixels) by which detections are grown.
    merge : `bool`
        Label the union of both polarities (one source per dipole); otherwise
        positive footprints come first, then negative ones, each labelled on
        its own (pixels in both belong to the positive one).

    Returns
    -------
    footprints : `Footprints`
    """
    significance = significance_image(image, variance, good, sigma)
    positive, negative, either = _grown_detections(significance, threshold, grow, polarity)
    if merge:
        count, pixels, starts = _labelled_pixels(either)
        pos_peak, pos_value = _extreme_peaks(significance, pixels, starts, 1.0, threshold)
        neg_peak, neg_value = _extreme_peaks(significance, pixels, starts, -1.0, threshold)
    else:
        parts = []
        for sign, detected in ((1.0, positive), (-1.0, negative & ~positive)):
            count, pixels, starts = _labelled_pixels(detected.view(np.uint8))
            peak, value = _extreme_peaks(significance, pixels, starts, sign, threshold)
            parts.append((count, pixels, starts, peak, value))
        (n_pos, pix_pos, st_pos, pk_pos, v_pos), (n_neg, pix_neg, st_neg, pk_neg, v_neg) = parts
        count = n_pos + n_neg
        pixels = np.concatenate([pix_pos, pix_neg])
        starts = np.concatenate([st_pos[:-1], st_neg + st_pos[-1]])
        none = np.full(n_neg, -1, np.int64), np.full(n_pos, -1, np.int64)
        pos_peak = np.concatenate([pk_pos, none[0]])
        neg_peak = np.concatenate([none[1], pk_neg])
        pos_value = np.concatenate([v_pos, np.full(n_neg, np.nan)])
        neg_value = np.concatenate([np.full(n_pos, np.nan), v_neg])
    # A footprint grown from an excluded pixel's neighbourhood may hold no peak
    # of its own polarity beyond threshold (e.g. a negative grown into a
    # positive one without merging); it is not a source.
    has_peak = (pos_peak >= 0) | (neg_peak >= 0)
    if not has_peak.all():
        keep = np.flatnonzero(has_peak)
        sizes = np.diff(starts)[keep]
        pixels = np.concatenate([pixels[starts[i]:starts[i + 1]] for i in keep]) if len(keep) \
            else pixels[:0]
        starts = np.concatenate([[0], np.cumsum(sizes)])
        pos_peak, neg_peak = pos_peak[keep], neg_peak[keep]
        pos_value, neg_value = pos_value[keep], neg_value[keep]
        count = len(keep)
    return Footprints(count=int(count), pixels=pixels, starts=np.asarray(starts, np.int64),
                      positive_peak=pos_peak, negative_peak=neg_peak,
                      positive_significance=pos_value, negative_significance=neg_value,
                      positive_mask=positive, negative_mask=negative, significance=significance)
