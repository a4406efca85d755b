"""`SourceDetectionTask`: threshold a difference image into footprints (``detection``).

The stack's ``SourceDetectionConfig`` names, so that override files keep
their meaning: ``thresholdValue`` and ``thresholdPolarity`` are applied
(with this package's ``doSmooth`` and ``excludeMaskPlanes``); the other
fields of the stack's class (``minPixels``, ``thresholdType``,
``reEstimateBackground``, the background configs, ...) are accepted and
reported as not applied by the tasks that list them. A sub-task of
`DetectAndMeasureTask`, so ``config.detection.retarget(...)`` takes effect.
"""
from __future__ import annotations

import lsst.pex.config as pexConfig

from ..task import Task
from .footprints import detect_footprints

__all__ = ["SourceDetectionConfig", "SourceDetectionTask", "SubtractBackgroundConfig"]


class SubtractBackgroundConfig(pexConfig.Config):
    """meas_algorithms ``SubtractBackgroundConfig`` (the stack's background model)."""

    statisticsProperty = pexConfig.ChoiceField(
        dtype=str, default="MEANCLIP", doc="Statistic of each bin.",
        allowed={"MEANCLIP": "Clipped mean.", "MEAN": "Mean.", "MEDIAN": "Median."})
    undersampleStyle = pexConfig.ChoiceField(
        dtype=str, default="REDUCE_INTERP_ORDER", doc="What to do with too few bins.",
        allowed={"THROW_EXCEPTION": "Fail.", "REDUCE_INTERP_ORDER": "Lower the order.",
                 "INCREASE_NXNYSAMPLE": "Use more bins."})
    binSize = pexConfig.RangeField(dtype=int, default=128, min=1, doc="Bin size (pixels).")
    binSizeX = pexConfig.RangeField(dtype=int, default=0, min=0, doc="Bin width (0: binSize).")
    binSizeY = pexConfig.RangeField(dtype=int, default=0, min=0, doc="Bin height (0: binSize).")
    algorithm = pexConfig.ChoiceField(
        dtype=str, default="AKIMA_SPLINE", optional=True, doc="Interpolation of the bins.",
        allowed={"CONSTANT": "Constant.", "LINEAR": "Linear.", "NATURAL_SPLINE": "Spline.",
                 "AKIMA_SPLINE": "Akima spline.", "NONE": "None."})
    ignoredPixelMask = pexConfig.ListField(
        dtype=str, default=["BAD", "EDGE", "DETECTED", "DETECTED_NEGATIVE", "NO_DATA"],
        doc="Planes left out of the bins.")
    isNanSafe = pexConfig.Field(dtype=bool, default=False, doc="Ignore NaN pixels?")
    useApprox = pexConfig.Field(dtype=bool, default=True, doc="Chebyshev approximation?")
    approxOrderX = pexConfig.Field(dtype=int, default=6, doc="Its order in x.")
    approxOrderY = pexConfig.Field(dtype=int, default=-1, doc="Its order in y (-1: as x).")
    weighting = pexConfig.Field(dtype=bool, default=True, doc="Weight the bins?")


class SourceDetectionConfig(pexConfig.Config):
    """Detection thresholds: the stack's ``SourceDetectionConfig`` (2016-2022 fields)."""

    thresholdValue = pexConfig.RangeField(
        dtype=float, default=5.0, min=0.0, inclusiveMin=False,
        doc="Detection threshold, in units of the PSF-smoothed image's noise.")
    thresholdPolarity = pexConfig.ChoiceField(
        dtype=str, default="positive", doc="Which polarities to detect.",
        allowed={"positive": "Positive sources only.", "negative": "Negative sources only.",
                 "both": "Both polarities."})
    doSmooth = pexConfig.Field(
        dtype=bool, default=True,
        doc="Smooth the difference with a Gaussian of the PSF's width before thresholding? "
            "Off for a score image (subtraction mode='preconvolve', gen2's doPreConvolve), "
            "which is already matched-filtered: its value / sqrt(variance) is thresholded.")
    excludeMaskPlanes = pexConfig.ListField(
        dtype=str, default=["EDGE", "NO_DATA", "BAD"],
        doc="Pixels with these planes are not used for detection.")
    thresholdType = pexConfig.ChoiceField(
        dtype=str, default="stdev", doc="Units of thresholdValue.",
        allowed={"variance": "Image variance.", "stdev": "Image standard deviation.",
                 "value": "Counts.", "pixel_stdev": "Per-pixel noise from the variance plane."})
    minPixels = pexConfig.RangeField(dtype=int, default=1, min=0,
                                     doc="Smallest footprint kept (pixels).")
    isotropicGrow = pexConfig.Field(dtype=bool, default=False, doc="Grow footprints isotropically?")
    combinedGrow = pexConfig.Field(dtype=bool, default=True,
                                   doc="Grow positive and negative footprints together?")
    nSigmaToGrow = pexConfig.Field(dtype=float, default=2.4,
                                   doc="Grow footprints by this many PSF sigmas.")
    returnOriginalFootprints = pexConfig.Field(dtype=bool, default=False,
                                               doc="Return the footprints before growing?")
    includeThresholdMultiplier = pexConfig.RangeField(
        dtype=float, default=1.0, min=0.0, doc="Multiplier of the threshold for inclusion.")
    adjustBackground = pexConfig.Field(dtype=float, default=0.0,
                                       doc="Add this to the background first.")
    reEstimateBackground = pexConfig.Field(dtype=bool, default=True,
                                           doc="Re-estimate the background after detection?")
    background = pexConfig.ConfigField(dtype=SubtractBackgroundConfig,
                                       doc="Background re-estimation.")
    tempLocalBackground = pexConfig.ConfigField(dtype=SubtractBackgroundConfig,
                                                doc="Temporary local background.")
    doTempLocalBackground = pexConfig.Field(dtype=bool, default=True,
                                            doc="Subtract a temporary local background?")
    tempWideBackground = pexConfig.ConfigField(dtype=SubtractBackgroundConfig,
                                               doc="Temporary wide background.")
    doTempWideBackground = pexConfig.Field(dtype=bool, default=False,
                                           doc="Subtract a temporary wide background?")
    nPeaksMaxSimple = pexConfig.Field(dtype=int, default=1,
                                      doc="Footprints with more peaks are not simple.")
    nSigmaForKernel = pexConfig.Field(dtype=float, default=7.0,
                                      doc="Smoothing kernel size, in PSF sigmas.")
    statsMask = pexConfig.ListField(dtype=str, default=["BAD", "SAT", "EDGE", "NO_DATA"],
                                    doc="Planes left out of the image statistics.")

    def setDefaults(self):
        self.tempLocalBackground.binSize = 64
        self.tempLocalBackground.algorithm = "AKIMA_SPLINE"
        self.tempLocalBackground.useApprox = False
        self.tempWideBackground.binSize = 512
        self.tempWideBackground.algorithm = "AKIMA_SPLINE"
        self.tempWideBackground.useApprox = False
        for plane in ("DETECTED", "DETECTED_NEGATIVE"):
            self.tempWideBackground.ignoredPixelMask.remove(plane)


class SourceDetectionTask(Task):
    """Footprints of a difference image above (and below) the threshold."""

    ConfigClass = SourceDetectionConfig
    _DefaultName = "detection"

    def run(self, exposure, good, psf_sigma, grow, merge):
        """Detect.

        Parameters
        ----------
        exposure : `diffim.Exposure`
            The difference image.
        good : `numpy.ndarray` [`bool`]
            Pixels usable for detection.
        psf_sigma : `float`
            Gaussian sigma of the PSF (pixels), for the smoothing.
        grow : `int`
            Grow detections by this many pixels.
        merge : `bool`
            Merge overlapping positive and negative footprints?

        Returns
        -------
        footprints : `diffim.measure.footprints.Footprints`
            What `detect_footprints` returns.
        """
        return detect_footprints(exposure.image, exposure.variance, good,
                                 psf_sigma if self.config.doSmooth else None,
                                 threshold=self.config.thresholdValue,
                                 polarity=self.config.thresholdPolarity, grow=grow, merge=merge)
