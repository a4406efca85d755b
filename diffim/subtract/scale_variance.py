"""`ScaleVarianceTask`: bring a variance plane to the noise actually in the image.

The factor is the square of the robust (MAD) standard deviation of
``image / sqrt(variance)`` over background pixels. Robust statistics keep
sources and cosmic rays from inflating it, so it measures how far the
propagated variance is from the pixel noise: a factor far from one is a
finding worth recording, which is why the task returns it.
"""
from __future__ import annotations

import lsst.pex.config as pexConfig
import numpy as np

from ..errors import DiffimError
from ..image.stats import robust_median_sigma
from ..task import Struct, Task

__all__ = ["ScaleVarianceConfig", "ScaleVarianceTask"]

_MAX_SAMPLES = 1 << 20


class ScaleVarianceConfig(pexConfig.Config):
    """Configuration of `ScaleVarianceTask`."""

    maskPlanes = pexConfig.ListField(
        dtype=str,
        default=["DETECTED", "DETECTED_NEGATIVE", "BAD", "SAT", "NO_DATA", "INTRP", "EDGE", "CR"],
        doc="Pixels with any of these planes are not background.",
    )
    limit = pexConfig.Field(
        dtype=float, default=10.0,
        doc="Refuse factors above this (or below its inverse): something else is wrong.",
    )
    minPixels = pexConfig.Field(dtype=int, default=100, doc="Fewest background pixels to trust.")


class ScaleVarianceTask(Task):
    """Measure the variance scale factor of an exposure."""

    ConfigClass = ScaleVarianceConfig
    _DefaultName = "scaleVariance"

    def run(self, exposure):
        """Return the factor by which ``exposure.variance`` should be multiplied.

        Returns
        -------
        result : `Struct`
            ``factor`` (`float`) and ``nPixels`` (background pixels, estimated
            from the sample).

        Raises
        ------
        DiffimError
            Too few background pixels, or a factor beyond ``limit``.
        """
        # A strided sample of at most ~1e6 pixels pins the factor to ~0.1 %.
        stride = max(1, exposure.image.size // _MAX_SAMPLES)
        image = exposure.image.ravel()[::stride]
        variance = exposure.variance.ravel()[::stride]
        bits = np.uint32(exposure.mask.bitmask([name for name in self.config.maskPlanes
                                                if name in exposure.mask.planes]))
        good = ((exposure.mask.array.ravel()[::stride] & bits) == 0) & (variance > 0)
        n_pixels = int(good.sum()) * stride
        if n_pixels < self.config.minPixels:
            raise DiffimError(f"variance scaling: only {n_pixels} background pixels "
                              f"(minPixels={self.config.minPixels})")
        factor = robust_median_sigma(image[good] / np.sqrt(variance[good]))[1] ** 2
        if not 1.0 / self.config.limit <= factor <= self.config.limit:
            raise DiffimError(f"variance scaling factor {factor:.3g} is beyond limit="
                              f"{self.config.limit}: the variance plane does not describe the image"
                              + _noise_map_hint(factor, variance[good]))
        self.metadata.update(factor=factor, nPixels=n_pixels)
        return Struct(factor=float(factor), nPixels=n_pixels)


def _noise_map_hint(factor, variance):
    """A hint when the variance plane holds sigma rather than sigma^2, else ''.

    Given sigma as the variance, image / sqrt(variance) has a variance of about
    sigma^2 / sigma = sigma, so the factor comes out near the plane's median;
    on a difference whose planes were both sigma, the plane holds about
    sigma_1 + sigma_2 and the factor is (sigma_1^2 + sigma_2^2) / (sigma_1 +
    sigma_2): half the plane's median or more.
    """
    typical = float(np.median(variance))
    if not 0.25 < factor / typical < 2.0:
        return ""
    return (f" (the factor is of the order of the plane's median, {typical:.3g}, as when it holds "
            "sigma rather than sigma^2: diffim subtract takes noise maps as --*-noise)")
