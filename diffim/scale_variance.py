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

from .errors import DiffimError
from .stats import robust_median_sigma
from .task import Struct, Task

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
            ``factor`` (`float`) and ``nPixels`` (background pixels used).

        Raises
        ------
        DiffimError
            Too few background pixels, or a factor beyond ``limit``.
        """
        planes = [name for name in self.config.maskPlanes if name in exposure.mask.planes]
        good = ~exposure.mask.get(planes) & (exposure.variance > 0)
        if good.sum() < self.config.minPixels:
            raise DiffimError(f"variance scaling: only {int(good.sum())} background pixels "
                              f"(minPixels={self.config.minPixels})")
        # A strided sample of at most ~1e6 pixels pins the factor to ~0.1 %.
        stride = max(1, int(good.sum()) // _MAX_SAMPLES)
        normalised = exposure.image[good][::stride] / np.sqrt(exposure.variance[good][::stride])
        factor = robust_median_sigma(normalised)[1] ** 2
        if not 1.0 / self.config.limit <= factor <= self.config.limit:
            raise DiffimError(f"variance scaling factor {factor:.3g} is beyond limit="
                              f"{self.config.limit}: the variance plane does not describe the image")
        self.metadata.update(factor=factor, nPixels=int(good.sum()))
        return Struct(factor=float(factor), nPixels=int(good.sum()))
