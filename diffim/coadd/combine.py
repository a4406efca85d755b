"""Per-pixel combination of warped, calibrated inputs: weighted mean and clipped mean.

Every input arrives as an image, a variance and a boolean ``usable`` plane on
the same pixel grid, with one scalar weight. Per-input scalar weights (not
per-pixel ``1 / variance``) are used, as the stack's ``AssembleCoaddTask``
does: per-pixel weights would follow each input's source photon noise and
weigh the cores of stars differently from their wings, so the coadd of
stars would no longer be the weighted sum of the input PSFs that the coadd
PSF assumes.
"""
from __future__ import annotations

import numpy as np

from .._core import _coadd
from .._core._threads import default_threads
from ..image.stats import MAD_TO_SIGMA, row_medians

__all__ = ["CombinedPlanes", "combine_mean", "combine_clipped_mean"]


class CombinedPlanes:
    """What a combination returns.

    Attributes
    ----------
    image, variance : `numpy.ndarray`
        float32 planes; NaN and +inf where nothing contributed.
    weight_sum : `numpy.ndarray`
        float64 sum of the weights of the contributing inputs (0: nothing).
    used : `list` [`numpy.ndarray`]
        Per input, the boolean plane of pixels it contributed.
    clipped : `numpy.ndarray`
        True where a usable input was rejected by clipping.
    """

    def __init__(self, image, variance, weight_sum, used, clipped):
        self.image, self.variance, self.weight_sum = image, variance, weight_sum
        self.used, self.clipped = used, clipped


def _finish(sum_image, sum_variance, weight_sum, used, clipped, threads):
    """Normalise the sums; pixels with no weight get the warp's no-data values (NaN, +inf)."""
    image = np.empty(weight_sum.shape, np.float32)
    variance = np.empty(weight_sum.shape, np.float32)
    _coadd.finish(np.ascontiguousarray(sum_image), np.ascontiguousarray(sum_variance),
                  np.ascontiguousarray(weight_sum), image, variance, threads)
    return CombinedPlanes(image, variance, weight_sum, used, clipped)


def _threads(threads):
    return default_threads() if threads is None else int(threads)


def combine_mean(images, variances, usable, weights, threads=None):
    """Weighted mean of the inputs, per pixel, over the inputs usable there.

    Parameters
    ----------
    images, variances : sequence of `numpy.ndarray`
        One 2-D plane per input, all the same shape; values where
        ``usable`` is False are ignored (they may be NaN or inf).
    usable : sequence of `numpy.ndarray`
        Boolean planes: True where the input may contribute.
    weights : sequence of `float`
        One positive weight per input.
    threads : `int`, optional
        OpenMP threads of the compiled loop; the OpenMP default when omitted
        (`diffim._core._threads.default_threads`).

    Returns
    -------
    planes : `CombinedPlanes`

    Notes
    -----
    With ``m_i`` the usable flag, ``W = sum_i m_i w_i``::

        image = sum_i m_i w_i I_i / W,   variance = sum_i m_i w_i^2 V_i / W^2

    the variance of a weighted mean of independent inputs. Sums are kept in
    float64 so a one-input coadd reproduces its input to float32 rounding.
    """
    shape = np.shape(images[0])
    threads = _threads(threads)
    sum_image, sum_variance, weight_sum = (np.zeros(shape) for _ in range(3))
    usable = [np.ascontiguousarray(good, dtype=bool) for good in usable]
    for image, variance, good, weight in zip(images, variances, usable, weights):
        _coadd.accumulate(np.ascontiguousarray(image, np.float32),
                          np.ascontiguousarray(variance, np.float32), good.view(np.uint8),
                          float(weight), sum_image, sum_variance, weight_sum, threads)
    return _finish(sum_image, sum_variance, weight_sum, usable, np.zeros(shape, bool), threads)


def combine_clipped_mean(images, variances, usable, weights, clip_sigma=3.0, clip_iter=2,
                         threads=None):
    """Weighted mean after rejecting per-pixel outliers (the ``MEANCLIP`` statistic).

    Parameters
    ----------
    images, variances, usable, weights
        As for `combine_mean`.
    clip_sigma : `float`
        Rejection threshold in units of each input's expected scatter.
    clip_iter : `int`
        Times the centre is re-estimated from the kept inputs and the
        rejection repeated (>= 1).
    threads : `int`, optional
        OpenMP threads of the final normalisation; the OpenMP default when omitted
        (`diffim._core._threads.default_threads`).

    Returns
    -------
    planes : `CombinedPlanes`
        ``clipped`` marks pixels where an input was rejected.

    Notes
    -----
    A sample standard deviation cannot reject anything among a handful of
    inputs (one outlier among ``N`` is at most ``(N - 1) / sqrt(N)`` sample
    sigmas away: 1.5 for 4 inputs), so the scatter of input ``i`` is taken as
    ``s_i^2 = V_i + (1.4826 MAD)^2``: its own variance plus the robust
    spread of the inputs about their median. The variance term rejects a
    cosmic ray or transient in one input; the MAD term keeps the cores of
    stars, where inputs of different seeing legitimately differ, so the
    coadd PSF stays the weighted sum of the input PSFs. The first centre is
    the median, then the weighted mean of the kept inputs. A pixel whose
    inputs would all be rejected keeps them all.
    """
    stack = np.stack([np.where(good, image, np.nan).astype(np.float32)
                      for image, good in zip(images, usable)])
    variance_stack = np.stack([np.where(good, variance, np.inf).astype(np.float32)
                               for variance, good in zip(variances, usable)])
    good_stack = np.stack([np.asarray(good, bool) for good in usable])
    weight_column = np.asarray(weights, np.float64)[:, None, None]
    centre = row_medians(stack, axis=0)
    spread = MAD_TO_SIGMA * row_medians(np.abs(stack - centre[None]), axis=0)
    scatter = np.sqrt(variance_stack + np.nan_to_num(spread, nan=0.0)[None] ** 2)
    keep = good_stack
    for _ in range(max(1, int(clip_iter))):
        with np.errstate(invalid="ignore"):
            keep = good_stack & (np.abs(stack - centre[None]) <= clip_sigma * scatter)
        keep |= good_stack & ~keep.any(axis=0)[None]
        kept_weights = np.where(keep, weight_column, 0.0)
        weight_sum = kept_weights.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            centre = np.where(keep, kept_weights * np.nan_to_num(stack), 0.0).sum(0) / weight_sum
    sum_image = np.where(keep, kept_weights * np.nan_to_num(stack), 0.0).sum(axis=0)
    sum_variance = np.where(keep, kept_weights ** 2 * np.where(keep, variance_stack, 0.0),
                            0.0).sum(axis=0)
    clipped = (good_stack & ~keep).any(axis=0)
    return _finish(sum_image, sum_variance, weight_sum, list(keep), clipped, _threads(threads))
