"""The stack's astrometry-side sub-tasks of ``ImageDifferenceTask``: accepted, not run.

The gen2 task matched kernel sources to the reference catalogue with an
``astrometer`` (meas_astrom ``AstrometryTask``) fed by a ``refObjLoader``,
selected stars with an ``ObjectSizeStarSelectorTask`` (``sourceSelector``)
and could re-register the template with ``RegisterTask`` (``register``,
``doUseRegister``). Here kernel sources are matched by position to the
reference shards the middleware reads, so these configs exist for the
override files that set them: every field of the stack's classes from 2016
to the last gen2 release (2022), with the latest default of each, and a
setting away from its default is reported as not applied.
"""
from __future__ import annotations

import lsst.pex.config as pexConfig

from ..task import Task
from ..warp import WarperConfig

__all__ = ["AstrometryConfig", "AstrometryTask", "LoadIndexedReferenceObjectsConfig",
           "LoadIndexedReferenceObjectsTask", "ObjectSizeStarSelectorConfig",
           "ObjectSizeStarSelectorTask", "RegisterConfig", "RegisterTask"]

_BAD_FLAGS = ["base_PixelFlags_flag_edge", "base_PixelFlags_flag_interpolatedCenter",
              "base_PixelFlags_flag_saturatedCenter", "base_PixelFlags_flag_crCenter",
              "base_PixelFlags_flag_bad", "base_PixelFlags_flag_interpolated"]


def _at_least(low):
    return lambda value: value >= low


class LoadIndexedReferenceObjectsConfig(pexConfig.Config):
    """meas_algorithms ``LoadIndexedReferenceObjectsConfig`` (2016-2022 fields)."""

    ref_dataset_name = pexConfig.Field(dtype=str, default="cal_ref_cat",
                                       doc="Name of the reference catalogue dataset.")
    pixelMargin = pexConfig.RangeField(dtype=int, default=250, min=0,
                                       doc="Pad the exposure's box by this (pixels) when loading.")
    defaultFilter = pexConfig.Field(dtype=str, default="",
                                    doc="Reference filter when the exposure's has no mapping.")
    filterMap = pexConfig.DictField(keytype=str, itemtype=str, default={},
                                    doc="Camera filter -> reference catalogue filter.")
    anyFilterMapsToThis = pexConfig.Field(dtype=str, default=None, optional=True,
                                          doc="Reference filter used whatever the exposure's.")
    requireProperMotion = pexConfig.Field(dtype=bool, default=False,
                                          doc="Fail when the catalogue has no proper motions?")


class LoadIndexedReferenceObjectsTask(Task):
    """``refObjLoader``: the reference catalogue here is the repository's shards."""

    ConfigClass = LoadIndexedReferenceObjectsConfig
    _DefaultName = "refObjLoader"


class MatcherConfig(pexConfig.Config):
    """The astrometric matcher: ``MatchPessimisticB`` (2017-) and ``MatchOptimisticB`` fields."""

    numBrightStars = pexConfig.RangeField(dtype=int, default=200, min=2,
                                          doc="Brightest sources used for the pattern match.")
    minMatchedPairs = pexConfig.RangeField(dtype=int, default=30, min=2,
                                           doc="Fewest matched pairs for a solution.")
    minFracMatchedPairs = pexConfig.RangeField(dtype=float, default=0.3, min=0, max=1,
                                               doc="Fewest matched pairs as a fraction.")
    matcherIterations = pexConfig.RangeField(dtype=int, default=5, min=1,
                                             doc="Softening iterations of the match.")
    maxOffsetPix = pexConfig.RangeField(dtype=int, default=250, max=4000,
                                        doc="Largest shift between source and reference.")
    maxRotationDeg = pexConfig.RangeField(dtype=float, default=1.0, max=6.0,
                                          doc="Largest rotation (degrees).")
    numPointsForShape = pexConfig.Field(dtype=int, default=6, doc="Points per pattern.")
    numPointsForShapeAttempt = pexConfig.Field(dtype=int, default=6,
                                               doc="Points tried per pattern.")
    minMatchDistPixels = pexConfig.RangeField(dtype=float, default=1.0, min=0.0, max=6.0,
                                              doc="Smallest match distance (pixels).")
    numPatternConsensus = pexConfig.Field(dtype=int, default=3,
                                          doc="Patterns that must agree.")
    numRefRequireConsensus = pexConfig.Field(dtype=int, default=1000,
                                             doc="References above which consensus is needed.")
    maxRefObjects = pexConfig.RangeField(dtype=int, default=2 ** 16, min=0, max=2 ** 16 + 1,
                                         doc="Most reference objects used.")
    maxMatchDistArcSec = pexConfig.RangeField(dtype=float, default=3, min=0,
                                              doc="Largest match distance (MatchOptimisticB).")
    allowedNonperpDeg = pexConfig.RangeField(dtype=float, default=3.0, max=45.0,
                                             doc="Allowed non-perpendicularity (MatchOptimisticB).")
    maxDeterminant = pexConfig.Field(dtype=float, default=0.02,
                                     doc="Largest |det - 1| of the fit (MatchOptimisticB).")
    sourceFluxType = pexConfig.Field(dtype=str, default="Ap",
                                     doc="Flux used to rank sources (MatchOptimisticB).")
    minSnr = pexConfig.Field(dtype=float, default=40, doc="Lowest S/N used (MatchOptimisticB).")


class _MatcherTask(Task):
    ConfigClass = MatcherConfig
    _DefaultName = "matcher"


class FitTanSipWcsConfig(pexConfig.Config):
    """meas_astrom ``FitTanSipWcsConfig``."""

    order = pexConfig.RangeField(dtype=int, default=2, min=0, doc="SIP polynomial order.")
    numIter = pexConfig.RangeField(dtype=int, default=3, min=1, doc="Fit iterations.")
    numRejIter = pexConfig.RangeField(dtype=int, default=1, min=0, doc="Rejection iterations.")
    rejSigma = pexConfig.RangeField(dtype=float, default=3.0, min=0.0, doc="Rejection threshold.")
    maxScatterArcsec = pexConfig.RangeField(dtype=float, default=10, min=0,
                                            doc="Largest acceptable scatter (arcsec).")


class _FitTanSipWcsTask(Task):
    ConfigClass = FitTanSipWcsConfig
    _DefaultName = "wcsFitter"


class AstrometryConfig(pexConfig.Config):
    """meas_astrom ``AstrometryConfig`` with its ``RefMatchConfig`` base (2016-2022 fields)."""

    matcher = pexConfig.ConfigurableField(target=_MatcherTask, doc="Source-reference matcher.")
    matchDistanceSigma = pexConfig.RangeField(dtype=float, default=2, min=0,
                                              doc="Match radius in sigmas of the match scatter.")
    sourceFluxType = pexConfig.Field(dtype=str, default="Ap", doc="Flux used to select sources.")
    wcsFitter = pexConfig.ConfigurableField(target=_FitTanSipWcsTask, doc="WCS fitter.")
    forceKnownWcs = pexConfig.Field(dtype=bool, default=False, doc="Match only, keep the WCS?")
    maxIter = pexConfig.RangeField(dtype=int, default=3, min=1, doc="Match-and-fit iterations.")
    minMatchDistanceArcSec = pexConfig.RangeField(dtype=float, default=0.001, min=0,
                                                  doc="Stop when the match distance is below.")
    maxMeanDistanceArcsec = pexConfig.RangeField(dtype=float, default=0.5, min=0,
                                                 doc="Largest acceptable mean match distance.")
    doMagnitudeOutlierRejection = pexConfig.Field(dtype=bool, default=False,
                                                  doc="Reject magnitude outliers of the matches?")
    magnitudeOutlierRejectionNSigma = pexConfig.Field(dtype=float, default=3.0,
                                                      doc="Their threshold (sigmas).")


class AstrometryTask(Task):
    """``astrometer``: kernel sources are matched to the reference shards by position here."""

    ConfigClass = AstrometryConfig
    _DefaultName = "astrometer"


class ObjectSizeStarSelectorConfig(pexConfig.Config):
    """meas_algorithms ``ObjectSizeStarSelectorConfig`` (2016-2022 fields)."""

    doFluxLimit = pexConfig.Field(dtype=bool, default=True, doc="Apply fluxMin/fluxMax?")
    fluxMin = pexConfig.Field(dtype=float, default=12500.0, check=_at_least(0.0),
                              doc="Faintest flux of a star.")
    fluxMax = pexConfig.Field(dtype=float, default=0.0, check=_at_least(0.0),
                              doc="Brightest flux of a star (0: none).")
    doSignalToNoiseLimit = pexConfig.Field(dtype=bool, default=False,
                                           doc="Apply the S/N limits?")
    signalToNoiseMin = pexConfig.Field(dtype=float, default=50.0, check=_at_least(0.0),
                                       doc="Lowest S/N of a star.")
    signalToNoiseMax = pexConfig.Field(dtype=float, default=0.0, check=_at_least(0.0),
                                       doc="Highest S/N of a star (0: none).")
    widthMin = pexConfig.Field(dtype=float, default=0.0, check=_at_least(0.0),
                               doc="Smallest width of a star (pixels).")
    widthMax = pexConfig.Field(dtype=float, default=10.0, check=_at_least(0.0),
                               doc="Largest width of a star (pixels).")
    sourceFluxField = pexConfig.Field(dtype=str, default="base_GaussianFlux_instFlux",
                                      doc="Flux column the limits apply to.")
    widthStdAllowed = pexConfig.Field(dtype=float, default=0.15, check=_at_least(0.0),
                                      doc="Allowed scatter of star widths.")
    nSigmaClip = pexConfig.Field(dtype=float, default=2.0, check=_at_least(0.0),
                                 doc="Clipping of the width distribution (sigmas).")
    badFlags = pexConfig.ListField(dtype=str, default=_BAD_FLAGS,
                                   doc="Sources with these flags are not stars.")
    kernelSize = pexConfig.Field(dtype=int, default=21, doc="PSF kernel size (2016 selector).")
    borderWidth = pexConfig.Field(dtype=int, default=0,
                                  doc="Ignore sources this close to the edge (2016 selector).")


class ObjectSizeStarSelectorTask(Task):
    """``sourceSelector``: kernel sources are selected by S/N here (``subtract``'s selector)."""

    ConfigClass = ObjectSizeStarSelectorConfig
    _DefaultName = "sourceSelector"


class RegisterConfig(pexConfig.Config):
    """pipe_tasks ``RegisterConfig`` (image-to-image registration, ``doUseRegister``)."""

    matchRadius = pexConfig.Field(dtype=float, default=1.0, check=lambda value: value > 0,
                                  doc="Match radius (arcsec).")
    sipOrder = pexConfig.Field(dtype=int, default=4, check=lambda value: value > 1,
                               doc="Order of the SIP fit.")
    sipIter = pexConfig.Field(dtype=int, default=3, check=lambda value: value > 0,
                              doc="SIP fit iterations.")
    sipRej = pexConfig.Field(dtype=float, default=3.0, check=lambda value: value > 0,
                             doc="SIP fit rejection (sigmas).")
    warper = pexConfig.ConfigField(dtype=WarperConfig, doc="Warping of the re-registered template.")


class RegisterTask(Task):
    """``register``: templates are warped with the calexps' WCSs, never re-registered here."""

    ConfigClass = RegisterConfig
    _DefaultName = "register"
