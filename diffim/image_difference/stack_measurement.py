"""The stack's measurement-side sub-tasks of ``ImageDifferenceTask``: accepted, not run.

gen2's task measured DIA sources with meas_base plugins (``measurement``, a
``DipoleFitTask``), forced-photometered the science image
(``forcedMeasurement``), applied aperture corrections (``applyApCorr``),
placed sky objects (``skySources``) and decorrelated with
``DecorrelateALKernelSpatialTask`` (``decorrelate``). This package measures
with its own `diffim.measure` (a fixed set of measurements with the stack's
column names), so these configs hold the stack's fields for the override
files that set them, and a setting away from its default is reported as not
applied.
"""
from __future__ import annotations

import math

import lsst.pex.config as pexConfig

from ..task import Task

__all__ = ["DecorrelateALKernelSpatialConfig", "DecorrelateALKernelSpatialTask",
           "DipoleFitTask", "DipoleFitTaskConfig", "ImageMapReduceConfig", "ForcedMeasurementConfig",
           "ForcedMeasurementTask", "ApplyApCorrConfig", "ApplyApCorrTask", "SkyObjectsConfig",
           "SingleFrameMeasurementConfig", "SkyObjectsTask", "measurementPluginRegistry"]

_IGNORED_PLANES = ["INTRP", "EDGE", "DETECTED", "SAT", "CR", "BAD", "NO_DATA", "DETECTED_NEGATIVE"]


class PluginConfig(pexConfig.Config):
    """A meas_base plugin's config: the switch every plugin has."""

    doMeasure = pexConfig.Field(dtype=bool, default=True, doc="Run the plugin?")


class CircularApertureFluxConfig(PluginConfig):
    """``base_CircularApertureFlux``."""

    radii = pexConfig.ListField(dtype=float, default=[3.0, 4.5, 6.0, 9.0, 12.0, 17.0, 25.0,
                                                      35.0, 50.0, 70.0],
                                doc="Aperture radii (pixels).")
    maxSincRadius = pexConfig.Field(dtype=float, default=10.0, doc="Sinc photometry below this.")
    shiftKernel = pexConfig.Field(dtype=str, default="lanczos5", doc="Sub-pixel shift kernel.")


class PixelFlagsConfig(PluginConfig):
    """``base_PixelFlags``."""

    masksFpCenter = pexConfig.ListField(dtype=str, default=[],
                                        doc="Planes flagged at the footprint centre.")
    masksFpAnywhere = pexConfig.ListField(dtype=str, default=[],
                                          doc="Planes flagged anywhere in the footprint.")


class DipoleFitPluginConfig(PluginConfig):
    """``ip_diffim_DipoleFit`` (the fit this package does in `diffim.measure.dipole`)."""

    fitAllDiaSources = pexConfig.Field(dtype=float, default=False,
                                       doc="Fit every source, not only two-lobed ones?")
    maxSeparation = pexConfig.Field(dtype=float, default=5.0, doc="Largest lobe separation.")
    relWeight = pexConfig.Field(dtype=float, default=0.5, doc="Weight of the pre-subtraction images.")
    tolerance = pexConfig.Field(dtype=float, default=1e-7, doc="Fit tolerance.")
    fitBackground = pexConfig.Field(dtype=int, default=1, doc="Background model order.")
    fitSeparateNegParams = pexConfig.Field(dtype=bool, default=False,
                                           doc="Separate shape parameters for the negative lobe?")
    minSn = pexConfig.Field(dtype=float, default=math.sqrt(2) * 5.0,
                            doc="Lowest lobe S/N in quadrature to call a dipole.")
    maxFluxRatio = pexConfig.Field(dtype=float, default=0.65,
                                   doc="Largest share of one lobe in the total flux.")
    maxChi2DoF = pexConfig.Field(dtype=float, default=0.05, doc="Largest reduced chi2 of a dipole.")


class _Plugin:
    """Stand-in target of the plugin registry (plugins are not run one by one here)."""

    def __init__(self, config, *args, **kwargs):
        self.config = config


measurementPluginRegistry = pexConfig.makeRegistry(
    "meas_base plugin names the stack's configs of this task refer to.")
for _name, _config in {
        "base_CircularApertureFlux": CircularApertureFluxConfig,
        "base_PixelFlags": PixelFlagsConfig, "ip_diffim_DipoleFit": DipoleFitPluginConfig}.items():
    measurementPluginRegistry.register(_name, _Plugin, _config)
for _name in ("base_SdssCentroid", "base_NaiveCentroid", "base_PeakCentroid", "base_SdssShape",
              "base_GaussianFlux", "base_PsfFlux", "base_SkyCoord", "base_Variance",
              "base_Blendedness", "base_LocalBackground", "base_PeakLikelihoodFlux",
              "base_LocalPhotoCalib", "base_LocalWcs", "base_TransformedCentroid",
              "base_TransformedShape", "base_InputCount", "base_FPPosition", "base_Jacobian",
              "base_ClassificationExtendedness", "ext_trailedSources_Naive",
              "ip_diffim_NaiveDipoleCentroid", "ip_diffim_NaiveDipoleFlux",
              "ip_diffim_PsfDipoleFlux", "ip_diffim_ClassificationDipole"):
    measurementPluginRegistry.register(_name, _Plugin, PluginConfig)


class SourceSlotConfig(pexConfig.Config):
    """meas_base ``SourceSlotConfig``: which plugin fills each slot."""

    centroid = pexConfig.Field(dtype=str, default="base_SdssCentroid", optional=True, doc="Centroid.")
    shape = pexConfig.Field(dtype=str, default="base_SdssShape", optional=True, doc="Shape.")
    psfShape = pexConfig.Field(dtype=str, default="base_SdssShape_psf", optional=True,
                               doc="PSF shape.")
    apFlux = pexConfig.Field(dtype=str, default="base_CircularApertureFlux_12_0", optional=True,
                             doc="Aperture flux.")
    modelFlux = pexConfig.Field(dtype=str, default="base_GaussianFlux", optional=True,
                                doc="Model flux.")
    psfFlux = pexConfig.Field(dtype=str, default="base_PsfFlux", optional=True, doc="PSF flux.")
    gaussianFlux = pexConfig.Field(dtype=str, default="base_GaussianFlux", optional=True,
                                   doc="Gaussian flux.")
    calibFlux = pexConfig.Field(dtype=str, default="base_CircularApertureFlux_12_0",
                                optional=True, doc="Calibration flux.")


class NoiseReplacerConfig(pexConfig.Config):
    """meas_base ``NoiseReplacerConfig``."""

    noiseSource = pexConfig.ChoiceField(
        dtype=str, default="measure", doc="Where the replacement noise comes from.",
        allowed={"measure": "Clipped mean and variance of the image.",
                 "meta": "Mean 0, variance from BGMEAN.", "variance": "The variance plane.",
                 "variance_median": "The variance plane's median."})
    noiseOffset = pexConfig.Field(dtype=float, default=0.0, doc="Added to the noise mean.")
    noiseSeedMultiplier = pexConfig.Field(dtype=int, default=1, doc="Seed multiplier.")


class _MeasurementConfig(pexConfig.Config):
    """meas_base ``BaseMeasurementConfig`` (``algorithms`` is the old name of ``plugins``)."""

    slots = pexConfig.ConfigField(dtype=SourceSlotConfig, doc="Slot assignments.")
    doReplaceWithNoise = pexConfig.Field(dtype=bool, default=True,
                                         doc="Replace other sources by noise while measuring?")
    noiseReplacer = pexConfig.ConfigField(dtype=NoiseReplacerConfig, doc="The noise.")
    undeblendedPrefix = pexConfig.Field(dtype=str, default="undeblended_",
                                        doc="Prefix of undeblended measurements.")
    undeblended = measurementPluginRegistry.makeField(
        multi=True, default=[], doc="Plugins also run on undeblended images.")

    @property
    def algorithms(self):
        """The pre-2016 name of ``plugins``."""
        return self.plugins


class SingleFrameMeasurementConfig(_MeasurementConfig):
    """meas_base ``SingleFrameMeasurementConfig``."""

    plugins = measurementPluginRegistry.makeField(
        multi=True, doc="Plugins run on each source.",
        default=["base_PixelFlags", "base_SdssCentroid", "base_NaiveCentroid", "base_SdssShape",
                 "base_GaussianFlux", "base_PsfFlux", "base_CircularApertureFlux",
                 "base_SkyCoord", "base_Variance", "base_Blendedness", "base_LocalBackground"])


class DipoleFitTaskConfig(_MeasurementConfig):
    """ip_diffim ``DipoleFitTaskConfig``: single-frame measurement with dipole plugins."""

    plugins = measurementPluginRegistry.makeField(
        multi=True, doc="Plugins run on each DIA source.",
        default=["base_CircularApertureFlux", "base_PixelFlags", "base_SkyCoord", "base_PsfFlux",
                 "base_SdssCentroid", "base_SdssShape", "base_GaussianFlux",
                 "base_PeakLikelihoodFlux", "base_PeakCentroid", "base_NaiveCentroid",
                 "ip_diffim_NaiveDipoleCentroid", "ip_diffim_NaiveDipoleFlux",
                 "ip_diffim_PsfDipoleFlux", "ip_diffim_ClassificationDipole",
                 "ip_diffim_DipoleFit"])

    def setDefaults(self):
        super().setDefaults()
        self.slots.calibFlux = None
        self.slots.modelFlux = None
        self.slots.gaussianFlux = None
        self.slots.shape = "base_SdssShape"
        self.slots.centroid = "ip_diffim_NaiveDipoleCentroid"
        self.doReplaceWithNoise = False


class DipoleFitTask(Task):
    """``measurement``: DIA sources are measured by `diffim.measure` here."""

    ConfigClass = DipoleFitTaskConfig
    _DefaultName = "measurement"


class ForcedMeasurementConfig(_MeasurementConfig):
    """meas_base ``ForcedMeasurementConfig``."""

    plugins = measurementPluginRegistry.makeField(
        multi=True, doc="Plugins run at each forced position.",
        default=["base_PixelFlags", "base_TransformedCentroid", "base_SdssCentroid",
                 "base_TransformedShape", "base_SdssShape", "base_GaussianFlux",
                 "base_CircularApertureFlux", "base_PsfFlux", "base_LocalBackground"])
    copyColumns = pexConfig.DictField(
        keytype=str, itemtype=str, doc="Reference columns copied to the forced catalogue.",
        default={"id": "objectId", "parent": "parentObjectId",
                 "deblend_nChild": "deblend_nChild", "coord_ra": "coord_ra",
                 "coord_dec": "coord_dec"})
    checkUnitsParseStrict = pexConfig.Field(dtype=str, default="raise",
                                            doc="How strictly units are parsed.")

    def setDefaults(self):
        super().setDefaults()
        self.slots.centroid = "base_TransformedCentroid"
        self.slots.shape = "base_TransformedShape"
        for slot in ("apFlux", "modelFlux", "psfFlux", "gaussianFlux", "calibFlux"):
            setattr(self.slots, slot, None)


class ForcedMeasurementTask(Task):
    """``forcedMeasurement``: forced PSF photometry is `diffim.measure`'s here."""

    ConfigClass = ForcedMeasurementConfig
    _DefaultName = "forcedMeasurement"


class ApplyApCorrConfig(pexConfig.Config):
    """meas_base ``ApplyApCorrConfig``."""

    ignoreList = pexConfig.ListField(dtype=str, default=[], doc="Fluxes not corrected.")
    doFlagApCorrFailures = pexConfig.Field(dtype=bool, default=True, doc="Flag failures?")
    proxies = pexConfig.DictField(keytype=str, itemtype=str, default={},
                                  doc="Flux -> flux whose correction it uses.")


class ApplyApCorrTask(Task):
    """``applyApCorr``: exposures here carry no aperture-correction maps."""

    ConfigClass = ApplyApCorrConfig
    _DefaultName = "applyApCorr"


class SkyObjectsConfig(pexConfig.Config):
    """meas_algorithms ``SkyObjectsConfig``."""

    avoidMask = pexConfig.ListField(dtype=str, default=["DETECTED", "DETECTED_NEGATIVE", "BAD",
                                                        "NO_DATA"],
                                    doc="Planes sky objects avoid.")
    growMask = pexConfig.Field(dtype=int, default=0, doc="Grow the avoided planes (pixels).")
    sourceRadius = pexConfig.Field(dtype=float, default=8, doc="Radius of a sky object.")
    nSources = pexConfig.Field(dtype=int, default=100, doc="Sky objects wanted.")
    nTrialSources = pexConfig.Field(dtype=int, default=None, optional=True,
                                    doc="Positions tried.")
    nTrialSourcesMultiplier = pexConfig.Field(dtype=int, default=5,
                                              doc="Positions tried per object wanted.")


class SkyObjectsTask(Task):
    """``skySources``: sky sources are placed by `diffim.measure.sky_sources` here."""

    ConfigClass = SkyObjectsConfig
    _DefaultName = "skySources"


class DecorrelateALKernelConfig(pexConfig.Config):
    """ip_diffim ``DecorrelateALKernelConfig``."""

    ignoreMaskPlanes = pexConfig.ListField(dtype=str, default=_IGNORED_PLANES,
                                           doc="Planes left out of the variance estimate.")
    completeVarPlanePropagation = pexConfig.Field(dtype=bool, default=False,
                                                  doc="Propagate the full variance plane?")


class ImageReducerConfig(pexConfig.Config):
    """ip_diffim ``ImageReducerConfig``: how grid cells are put back together."""

    reduceOperation = pexConfig.ChoiceField(
        dtype=str, default="average", doc="How cells are combined.",
        allowed={"none": "A list.", "copy": "Copy.", "sum": "Sum.", "average": "Average.",
                 "coaddPsf": "A CoaddPsf."})
    badMaskPlanes = pexConfig.ListField(dtype=str, default=["INVALID_MAPREDUCE", "BAD", "NO_DATA"],
                                        doc="Planes of cells left out.")


class ImageMapReduceConfig(pexConfig.Config):
    """ip_diffim ``ImageMapReduceConfig``: a grid of sub-images (spatially varying runs)."""

    reducer = pexConfig.ConfigField(dtype=ImageReducerConfig, doc="Combination of the cells.")
    cellCentroidsX = pexConfig.ListField(dtype=float, default=None, optional=True,
                                         doc="Cell centres in x (else a grid).")
    cellCentroidsY = pexConfig.ListField(dtype=float, default=None, optional=True,
                                         doc="Cell centres in y (else a grid).")
    cellSizeX = pexConfig.Field(dtype=float, default=10.0, doc="Cell width.")
    cellSizeY = pexConfig.Field(dtype=float, default=10.0, doc="Cell height.")
    gridStepX = pexConfig.Field(dtype=float, default=10.0, doc="Grid step in x.")
    gridStepY = pexConfig.Field(dtype=float, default=10.0, doc="Grid step in y.")
    borderSizeX = pexConfig.Field(dtype=float, default=5.0, doc="Cell border in x.")
    borderSizeY = pexConfig.Field(dtype=float, default=5.0, doc="Cell border in y.")
    adjustGridOption = pexConfig.ChoiceField(
        dtype=str, default="spacing", doc="How the grid fits the image.",
        allowed={"spacing": "Adjust the spacing.", "size": "Adjust the cell sizes.",
                 "none": "Adjust nothing."})
    scaleByFwhm = pexConfig.Field(dtype=bool, default=True, doc="Sizes in units of the FWHM?")
    returnSubImages = pexConfig.Field(dtype=bool, default=False, doc="Return the sub-images?")
    ignoreMaskPlanes = pexConfig.ListField(dtype=str, default=_IGNORED_PLANES,
                                           doc="Planes left out of the statistics.")

    def setDefaults(self):
        self.gridStepX = self.gridStepY = 40
        self.cellSizeX = self.cellSizeY = 41
        self.borderSizeX = self.borderSizeY = 8


class DecorrelateALKernelMapReduceConfig(ImageMapReduceConfig):
    """Decorrelation per grid cell."""

    mapper = pexConfig.ConfigField(dtype=DecorrelateALKernelConfig, doc="Each cell's decorrelation.")


class DecorrelateALKernelSpatialConfig(pexConfig.Config):
    """ip_diffim ``DecorrelateALKernelSpatialConfig``."""

    decorrelateConfig = pexConfig.ConfigField(dtype=DecorrelateALKernelConfig,
                                              doc="Whole-image decorrelation.")
    decorrelateMapReduceConfig = pexConfig.ConfigField(
        dtype=DecorrelateALKernelMapReduceConfig,
        doc="Decorrelation per grid cell (doSpatiallyVarying).")
    ignoreMaskPlanes = pexConfig.ListField(dtype=str, default=_IGNORED_PLANES,
                                           doc="Planes left out of the variance estimate.")


class DecorrelateALKernelSpatialTask(Task):
    """``decorrelate``: decorrelation is `diffim.subtract`'s, switched by ``doDecorrelation``."""

    ConfigClass = DecorrelateALKernelSpatialConfig
    _DefaultName = "decorrelate"
