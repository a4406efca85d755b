"""Pixel-wise difference of two float planes (image or variance) of one shape.

Positions are reported in the parent frame (array index + ``xy0``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .blocks import Extent, Peak, row_blocks
from .values import in_noise_units, relative_difference

__all__ = ["FloatPlaneDifference", "float_plane_difference"]


@dataclass
class FloatPlaneDifference:
    """How two float planes differ.

    Attributes
    ----------
    n_pixels : `int`
    n_differing : `int`
        Pixels whose values differ (NaN equals NaN).
    n_nonfinite : `int`
        Differing pixels where either value is NaN or infinite.
    n_outside : `int`
        Differing pixels beyond the plane's tolerance (non-finite ones included).
    metrics : `dict` [`str`, `float`]
        ``max_abs``, ``rms_abs`` (over all pixels, agreeing ones as 0),
        ``max_rel`` and, when noise was given, ``max_sigma``: over differing
        pixels with finite values (and, for ``max_sigma``, a usable noise).
    details : `dict`
        ``where`` (box of the differing pixels), ``max_abs_at`` and
        ``max_sigma_at`` (parent ``[x, y]``), ``n_without_noise``.
    """

    n_pixels: int
    n_differing: int = 0
    n_nonfinite: int = 0
    n_outside: int = 0
    metrics: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)

    @property
    def frac_outside(self):
        """Fraction of the pixels beyond tolerance."""
        return self.n_outside / self.n_pixels if self.n_pixels else 0.0

    def flat_metrics(self, prefix):
        """The metrics under ``prefix.`` (e.g. ``image.max_abs``), counts included."""
        frac_differing = self.n_differing / self.n_pixels if self.n_pixels else 0.0
        counts = {"n_differing": self.n_differing, "frac_differing": frac_differing,
                  "n_nonfinite": self.n_nonfinite, "n_outside": self.n_outside,
                  "frac_outside": self.frac_outside}
        return {f"{prefix}.{name}": value for name, value in {**counts, **self.metrics}.items()}


def float_plane_difference(plane_a, plane_b, xy0, *, variances=None, max_sigma=None, max_rel=None):
    """Compare two float planes pixel by pixel.

    Parameters
    ----------
    plane_a, plane_b : `numpy.ndarray`
        2-D arrays of one shape.
    xy0 : `tuple` [`int`, `int`]
        Parent coordinates of pixel ``[0, 0]``.
    variances : `tuple` [`numpy.ndarray`, `numpy.ndarray`], optional
        Variance planes giving each pixel's noise, for ``max_sigma``.
    max_sigma : `float`, optional
        A finite difference beyond this many sigma (or with no usable noise)
        is outside tolerance; requires ``variances``.
    max_rel : `float`, optional
        A finite difference beyond this relative difference is outside tolerance.

    Returns
    -------
    difference : `FloatPlaneDifference`
    """
    result = FloatPlaneDifference(n_pixels=int(plane_a.size))
    peaks = {"max_abs": Peak(), "max_rel": Peak()}
    if variances is not None:
        peaks["max_sigma"] = Peak()
        result.details["n_without_noise"] = 0
    sum_of_squares = 0.0
    where = Extent()
    for start, rows in row_blocks(plane_a.shape[0]):
        block_a, block_b = plane_a[rows], plane_b[rows]
        differs = block_a != block_b
        if not differs.any():
            continue
        differs &= ~(np.isnan(block_a) & np.isnan(block_b))
        difference = np.subtract(block_a, block_b, dtype=np.float64)
        finite = np.isfinite(difference)
        # Zero where equal or non-finite: peaks and sums then run over finite differences only.
        difference[~differs | ~finite] = 0.0
        nonfinite = differs & ~finite
        outside = nonfinite.copy()
        relative = relative_difference(difference, block_a, block_b)
        peaks["max_abs"].update(np.abs(difference), start)
        peaks["max_rel"].update(relative, start)
        if max_rel is not None:
            outside |= relative > max_rel
        if variances is not None:
            sigma = in_noise_units(difference, variances[0][rows], variances[1][rows])
            without_noise = differs & finite & np.isnan(sigma)
            result.details["n_without_noise"] += int(np.count_nonzero(without_noise))
            peaks["max_sigma"].update(np.nan_to_num(sigma, nan=0.0), start)
            if max_sigma is not None:
                outside |= without_noise | (sigma > max_sigma)
        sum_of_squares += float(np.dot(difference.ravel(), difference.ravel()))
        result.n_differing += int(np.count_nonzero(differs))
        result.n_nonfinite += int(np.count_nonzero(nonfinite))
        result.n_outside += int(np.count_nonzero(outside))
        where.update(differs, start)
    result.metrics = {name: peak.value for name, peak in peaks.items()}
    result.metrics["rms_abs"] = (float(np.sqrt(sum_of_squares / result.n_pixels))
                                 if result.n_pixels else 0.0)
    if result.n_differing:
        result.details["where"] = where.parent_box(xy0)
        for name in ("max_abs", "max_sigma"):
            if name in peaks and peaks[name].row is not None:
                result.details[f"{name}_at"] = peaks[name].parent_xy(xy0)
    return result
