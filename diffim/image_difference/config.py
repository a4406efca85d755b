"""`ImageDifferenceConfig`: every field of the stack's gen2 ``ImageDifferenceConfig``.

The fields are pipe_tasks' at its last gen2 release (2022), plus the ones
older override files set that later releases dropped (the 2016-2021
``doUseRegister`` family, ``doSpatiallyVarying``, ...), with the stack's
names, types and defaults, and its ``validate()`` rules. The sub-configs are
the stack's: ``subtract`` the registry of algorithms (``subtract['al']
.kernel['AL'].kernelSize``; `subtract_registry`), ``detection`` (the
``SourceDetectionConfig`` of this package's detection, which is
``detectAndMeasure.detection``), ``refObjLoader``, ``astrometer``,
``sourceSelector``, ``register`` (`stack_astrometry`), ``measurement``,
``forcedMeasurement``, ``applyApCorr``, ``skySources``, ``decorrelate``
(`stack_measurement`), ``getTemplate``, ``connections``.

What this package does not do is listed in `NOT_APPLIED`: a setting there
away from its default loads, and `ImageDifferenceTask` logs and records one
line for it. Override files load statement by statement with the stack's
module names available (`diffim.config.override_file`).
"""
from __future__ import annotations

import lsst.pex.config as pexConfig

from ..config.aliases import legacy_aliases
from ..config.override_file import OverrideFileConfig
from ..measure.task import DetectAndMeasureTask
from ..subtract.scale_variance import ScaleVarianceTask
from ..template.get_template import GetCoaddAsTemplateTask
from .stack_astrometry import (AstrometryTask, LoadIndexedReferenceObjectsTask,
                               ObjectSizeStarSelectorTask, RegisterTask)
from .stack_measurement import (ApplyApCorrTask, DecorrelateALKernelSpatialTask, DipoleFitTask,
                                ForcedMeasurementTask, SkyObjectsTask)
from .subtract_registry import SubtractField, subtractAlgorithmRegistry

__all__ = ["ImageDifferenceConfig", "ImageDifferenceConnectionsConfig", "NOT_APPLIED"]


class ImageDifferenceConnectionsConfig(pexConfig.Config):
    """``connections``: the dataset names of the stack's gen3 ``ImageDifferenceTask``.

    2020-2022 override files set them; gen2 names its datasets from
    ``coaddName``, so under gen2 they are accepted and not applied (the gen3
    wrapper has connections of its own).
    """

    coaddName = pexConfig.Field(dtype=str, default="deep", doc="Template name {coaddName}.")
    skyMapName = pexConfig.Field(dtype=str, default="deep", doc="Template name {skyMapName}.")
    warpTypeSuffix = pexConfig.Field(dtype=str, default="", doc="Template name {warpTypeSuffix}.")
    fakesType = pexConfig.Field(dtype=str, default="", doc="Template name {fakesType}.")
    exposure = pexConfig.Field(dtype=str, default="{fakesType}calexp", doc="Science exposure.")
    skyMap = pexConfig.Field(dtype=str, default="skyMap", doc="Sky map.")
    coaddExposures = pexConfig.Field(dtype=str,
                                     default="{fakesType}{coaddName}Coadd{warpTypeSuffix}",
                                     doc="Template coadds.")
    dcrCoadds = pexConfig.Field(dtype=str, default="{fakesType}dcrCoadd{warpTypeSuffix}",
                                doc="DCR template coadds.")
    finalizedPsfApCorrCatalog = pexConfig.Field(dtype=str, default="finalized_psf_ap_corr_catalog",
                                                doc="Finalized PSFs and aperture corrections.")
    outputSchema = pexConfig.Field(dtype=str, default="{fakesType}{coaddName}Diff_diaSrc_schema",
                                   doc="DIA-source schema.")
    subtractedExposure = pexConfig.Field(dtype=str,
                                         default="{fakesType}{coaddName}Diff_differenceExp",
                                         doc="Difference image.")
    scoreExposure = pexConfig.Field(dtype=str, default="{fakesType}{coaddName}Diff_scoreExp",
                                    doc="Score image.")
    warpedExposure = pexConfig.Field(dtype=str, default="{fakesType}{coaddName}Diff_warpedExp",
                                     doc="Warped template.")
    matchedExposure = pexConfig.Field(dtype=str, default="{fakesType}{coaddName}Diff_matchedExp",
                                      doc="Matched template.")
    diaSources = pexConfig.Field(dtype=str, default="{fakesType}{coaddName}Diff_diaSrc",
                                 doc="DIA sources.")


def _field(dtype, default, doc):
    return pexConfig.Field(dtype=dtype, default=default, doc=doc)


@legacy_aliases(detection="detectAndMeasure.detection")
class ImageDifferenceConfig(OverrideFileConfig):
    """The stack's ``ImageDifferenceConfig`` (gen2, 2016-2022), run by `ImageDifferenceTask`."""

    doAddCalexpBackground = _field(bool, False, "Add the calexp background back first?")
    doUseRegister = _field(bool, False, "Re-register the template on the science image "
                                        "(needs doSelectSources)?")
    doDebugRegister = _field(bool, False, "Write debugging data of doUseRegister?")
    doSelectSources = _field(bool, False, "Select kernel sources by matching catalogues?")
    doSelectDcrCatalog = _field(bool, False, "Add extreme-colour stars to the control sample?")
    doSelectVariableCatalog = _field(bool, False, "Add variable stars to the control sample?")
    doSubtract = _field(bool, True, "Compute the difference image?")
    doPreConvolve = pexConfig.Field(
        dtype=bool, default=False, doc="Not in use. Superseded by useScoreImageDetection.",
        deprecated="This option superseded by useScoreImageDetection. Will be removed after v22.")
    useScoreImageDetection = _field(bool, False, "Detect on a score image: Alard-Lupton's "
                                                 "pre-convolved difference or ZOGY's S_corr "
                                                 "(doPreConvolve until 2021)?")
    doWriteScoreExp = _field(bool, False, "Persist the score image (scoreExp)?")
    doScaleTemplateVariance = _field(bool, False, "Rescale the template variance first?")
    doScaleDiffimVariance = _field(bool, True, "Rescale the difference variance? (Either this "
                                               "or doScaleTemplateVariance, not both.)")
    useGaussianForPreConvolution = _field(bool, False, "Pre-convolve with a Gaussian of the "
                                                       "PSF's width instead of the PSF?")
    doDetection = _field(bool, True, "Detect DIA sources?")
    doDecorrelation = _field(bool, True, "Decorrelate the difference (and update its PSF)?")
    doMerge = _field(bool, True, "Merge positive and negative footprints (grown by "
                                 "growFootprint)?")
    doMatchSources = _field(bool, False, "Match DIA sources to the science and reference "
                                         "sources?")
    doMeasurement = _field(bool, True, "Measure DIA sources?")
    doDipoleFitting = _field(bool, True, "Fit dipoles (with doMeasurement)?")
    doForcedMeasurement = _field(bool, True, "Forced photometry on difference and template?")
    doWriteSubtractedExp = _field(bool, True, "Persist differenceExp?")
    doWriteWarpedExp = _field(bool, False, "Persist warpedExp?")
    doWriteMatchedExp = _field(bool, False, "Persist matchedExp?")
    doWriteSources = _field(bool, True, "Persist diaSrc?")
    doAddMetrics = _field(bool, False, "Add kernel-candidate QA metrics (with "
                                       "doSelectSources)?")
    doApplyFinalizedPsf = _field(bool, False, "Use finalized PSFs and aperture corrections?")
    coaddName = _field(str, "deep", "Coadd flavour: deep, goodSeeing or dcr.")
    convolveTemplate = _field(bool, True, "Convolve the template (else the science image)?")
    refObjLoader = pexConfig.ConfigurableField(target=LoadIndexedReferenceObjectsTask,
                                               doc="Reference catalogue loader.")
    astrometer = pexConfig.ConfigurableField(target=AstrometryTask,
                                             doc="Matcher of sources to the reference catalogue.")
    sourceSelector = pexConfig.ConfigurableField(target=ObjectSizeStarSelectorTask,
                                                 doc="Star selection of kernel sources.")
    subtract = SubtractField("Subtraction algorithm.", registry=subtractAlgorithmRegistry,
                             default="al")
    decorrelate = pexConfig.ConfigurableField(target=DecorrelateALKernelSpatialTask,
                                              doc="Decorrelation of the difference.")
    doSpatiallyVarying = _field(bool, False, "Decorrelate on a grid of cells?")
    detectAndMeasure = pexConfig.ConfigurableField(
        target=DetectAndMeasureTask,
        doc="Detection and measurement (this package's; ``detection`` is its ``detection``).")
    measurement = pexConfig.ConfigurableField(target=DipoleFitTask, doc="DIA-source measurement.")
    doApCorr = _field(bool, True, "Apply aperture corrections?")
    applyApCorr = pexConfig.ConfigurableField(target=ApplyApCorrTask,
                                              doc="Aperture corrections.")
    forcedMeasurement = pexConfig.ConfigurableField(target=ForcedMeasurementTask,
                                                    doc="Forced photometry of the science image.")
    getTemplate = pexConfig.ConfigurableField(
        target=GetCoaddAsTemplateTask,
        doc="Where the template comes from: coadd patches (default) or, retargeted to "
            "GetCalexpAsTemplateTask, another calexp. Run by the middleware adapters, which "
            "fetch its inputs; run() takes the template it made.")
    scaleVariance = pexConfig.ConfigurableField(target=ScaleVarianceTask,
                                                doc="Variance rescaling.")
    controlStepSize = _field(int, 5, "Every n-th selected source is a control source.")
    controlRandomSeed = _field(int, 10, "Seed of the shuffle before the control split.")
    register = pexConfig.ConfigurableField(target=RegisterTask,
                                           doc="Image-to-image registration (doUseRegister).")
    kernelSourcesFromRef = _field(bool, False, "Match kernel sources to the reference catalogue "
                                               "(True) or to the template's sources (False)?")
    templateSipOrder = _field(int, 2, "SIP order of the template WCS fit (doUseRegister).")
    growFootprint = _field(int, 2, "Grow footprints by this (pixels) before merging.")
    diaSourceMatchRadius = _field(float, 0.5, "doMatchSources radius, arcsec.")
    requiredTemplateFraction = _field(float, 0.1, "Fail if the template covers less of the "
                                                  "science image (0: always subtract).")
    doSkySources = _field(bool, False, "Add sky sources?")
    skySources = pexConfig.ConfigurableField(target=SkyObjectsTask, doc="Sky objects.")
    connections = pexConfig.ConfigField(dtype=ImageDifferenceConnectionsConfig,
                                        doc="gen3 dataset names (2020-2022 files).")
    selectMatchRadius = _field(float, 1.0, "doSelectSources match radius, arcsec (this "
                                           "package's; the stack's astrometer decided).")
    ccdKey = _field(str, "ccd", "The detector's data ID key (imageDifferenceDriver.py's "
                                "field; data IDs here say ccd).")

    def setDefaults(self):
        # The stack's own settings (pipe_tasks imageDifference.py).
        kernel = self.subtract["al"].kernel
        kernel.name = "AL"
        kernel.active.fitForBackground = True
        kernel.active.spatialKernelOrder = 1
        kernel.active.spatialBgOrder = 2
        self.detection.thresholdPolarity = "both"
        self.detection.thresholdValue = 5.0
        self.detection.reEstimateBackground = False
        self.detection.thresholdType = "pixel_stdev"
        # The legacy task had no bad-subtraction error (convolveTemplate=False on a
        # science image wider than the template is a poor subtraction that it ran
        # through): the ratios are still measured and recorded in the metadata.
        self.detectAndMeasure.raiseOnBadSubtractionRatio = False
        for basis in ("AL", "DF"):
            kernel[basis].raiseOnBadKernelMatch = False
        self.measurement.plugins.names |= ["base_PeakLikelihoodFlux", "ext_trailedSources_Naive",
                                           "base_LocalPhotoCalib", "base_LocalWcs"]
        self.forcedMeasurement.plugins = ["base_TransformedCentroid", "base_PsfFlux"]
        self.forcedMeasurement.copyColumns = {"id": "objectId", "parent": "parentObjectId",
                                              "coord_ra": "coord_ra", "coord_dec": "coord_dec"}
        self.forcedMeasurement.slots.centroid = "base_TransformedCentroid"
        self.forcedMeasurement.slots.shape = None

    @staticmethod
    def stackModules():
        """The stack module names override files import (`stack_names`)."""
        from .stack_names import stack_module_table  # it names the tasks, which import this
        return stack_module_table()

    def notAppliedTable(self):
        """Path -> why a setting has no effect here (`NOT_APPLIED`; wrappers add theirs)."""
        return NOT_APPLIED

    @property
    def imageDifference(self):
        """This config, under the name the wrapper tasks gave it (a property for their files).

        ``imageDifferenceDriver.py`` (``config.imageDifference``), ip_diffim's
        ``MakeDiffimTask`` (``config.makeDiffim``) and ``ApPipeTask``
        (``config.differencer``) held this task's config as a sub-config;
        their override files load here as they were written.
        """
        return self

    makeDiffim = imageDifference
    differencer = imageDifference

    def zogyRuns(self):
        """Whether ``subtract`` selects ZOGY (else Alard-Lupton runs)."""
        return self.subtract.name == "zogy"

    def validate(self):
        """The stack's rules (2022), for the algorithm that runs.

        ZOGY's rules (no matched template, kernel metrics, decorrelation,
        source selection or Gaussian pre-convolution) hold when ``subtract``
        selects ZOGY, the Alard-Lupton rules otherwise.
        ``useGaussianForPreConvolution`` without a score image is ignored, as it
        was from 2013 until the 2021 rule that refused it (files of those years
        set it), and reported as not applied.
        """
        super().validate()
        score = self.useScoreImageDetection
        rules = [
            (not self.doSubtract and not self.doDetection, "doSubtract",
             "either doSubtract or doDetection must be enabled"),
            (self.doMeasurement and not self.doDetection, "doMeasurement",
             "cannot measure sources without doDetection"),
            (self.doMerge and not self.doDetection, "doMerge",
             "cannot merge footprints without doDetection"),
            (self.doSkySources and not self.doDetection, "doSkySources",
             "cannot add sky sources without doDetection"),
            (self.doUseRegister and not self.doSelectSources, "doUseRegister",
             "doUseRegister=True needs doSelectSources=True (registration uses the selected "
             "sources)"),
            (self.doScaleDiffimVariance and self.doScaleTemplateVariance, "doScaleDiffimVariance",
             "scaling the difference variance and the template variance are both set: "
             "choose one"),
        ]
        if self.zogyRuns():
            rules += [(getattr(self, name), name, f"{name}=True is not a ZOGY option")
                      for name in ("doWriteMatchedExp", "doAddMetrics", "doDecorrelation",
                                   "doSelectSources", "useGaussianForPreConvolution")]
        else:
            rules += [
                (score and not self.convolveTemplate, "useScoreImageDetection",
                 "useScoreImageDetection=True needs convolveTemplate=True"),
                (score and self.doWriteSubtractedExp, "doWriteSubtractedExp",
                 "doWriteSubtractedExp=True and useScoreImageDetection=True: Alard-Lupton "
                 "makes either the difference image or the score image"),
                (self.doWriteScoreExp and not score, "doWriteScoreExp",
                 "doWriteScoreExp=True needs useScoreImageDetection=True"),
                (self.doAddMetrics and not self.doSubtract, "doAddMetrics",
                 "kernel metrics need doSubtract=True"),
            ]
        for broken, name, message in rules:
            if broken:
                raise pexConfig.FieldValidationError(getattr(type(self), name), self, message)


def _zogy_reason(config, reason):
    # Looked at only when ZOGY is selected: reading another registry entry would add it.
    return reason if config.zogyRuns() else None


def _connections_reason(config):
    if isinstance(config.connections, ImageDifferenceConnectionsConfig):
        return "gen2 names its datasets from coaddName (connections are gen3's)"
    return None


_NO_REGISTER = "templates are warped with the calexps' WCSs, never re-registered here"
_NO_SELECTOR = ("kernel sources are selected by S/N here (subtract.sourceSelector.signalToNoise) "
                "and matched by position (selectMatchRadius)")
_NO_MEASUREMENT = ("DIA sources are measured by diffim.measure here (fixed measurements with the "
                   "stack's column names)")
_NO_DETECTION = ("detection here thresholds the PSF-smoothed S/N (thresholdValue, "
                 "thresholdPolarity) and keeps footprints as found")

NOT_APPLIED = {
    "doAddCalexpBackground": "calexps here carry no separate background model to add back",
    "doPreConvolve": "superseded by useScoreImageDetection (2021; set that, with "
                     "doWriteSubtractedExp=False, for the score image)",
    "doUseRegister": _NO_REGISTER,
    "doDebugRegister": _NO_REGISTER,
    "register": _NO_REGISTER,
    "templateSipOrder": _NO_REGISTER,
    "doSelectDcrCatalog": "the reference catalogue here has no colours for a colour-selected "
                          "control sample",
    "doSelectVariableCatalog": "the reference catalogue here flags no variables",
    "useGaussianForPreConvolution": "the score image is pre-convolved with the science PSF "
                                    "itself",
    "doSpatiallyVarying": "decorrelation uses one kernel, the one at the image centre",
    "decorrelate": "decorrelation is the subtraction's own here (doDecorrelation)",
    "doApCorr": "exposures here carry no aperture-correction maps",
    "applyApCorr": "exposures here carry no aperture-correction maps",
    "doApplyFinalizedPsf": "there are no finalized PSFs here: the calexps' PSFs are used",
    "refObjLoader": "matching uses the repository's reference shards as they are",
    "astrometer": "sources are matched to the reference shards by position "
                  "(selectMatchRadius, diaSourceMatchRadius)",
    "sourceSelector": _NO_SELECTOR,
    "subtract['zogy'].zogyMapReduceConfig": lambda config: _zogy_reason(
        config, "ZOGY's cells are zogyConfig.doSpatialGrid here (the 2017-2020 map-reduce "
                "grid is not)"),
    **{f"subtract['zogy'].zogyConfig.{name}": (
        lambda config: _zogy_reason(config, "ZOGY works in Fourier space here, with the PSFs "
                                            "as measured"))
       for name in ("inImageSpace", "padSize", "doTrimKernels", "doFilterPsfs")},
    "subtract.selectDetection": "kernel candidates are found by diffim.sources here",
    "subtract.selectMeasurement": "kernel candidates are found by diffim.sources here",
    "measurement": _NO_MEASUREMENT,
    "forcedMeasurement": _NO_MEASUREMENT,
    "skySources": "sky sources are placed as detectAndMeasure.skySources says",
    **dict.fromkeys(("getTemplate.warpType", "getTemplate.numSubfilters",
                     "getTemplate.effectiveWavelength", "getTemplate.bandwidth"),
                    "coadd templates here are direct warps, none of them DCR"),
    "getTemplate.doAddCalexpBackground": "calexps here carry no separate background model",
    "connections": _connections_reason,
    "ccdKey": "data IDs here name the detector ccd (gen2) or detector (gen3)",
    **{f"detection.{name}": _NO_DETECTION
       for name in ("thresholdType", "minPixels", "isotropicGrow", "combinedGrow",
                    "nSigmaToGrow", "returnOriginalFootprints", "includeThresholdMultiplier",
                    "adjustBackground", "reEstimateBackground", "background",
                    "tempLocalBackground", "doTempLocalBackground", "tempWideBackground",
                    "doTempWideBackground", "nPeaksMaxSimple", "nSigmaForKernel", "statsMask")},
}
"""Config path -> why its setting has no effect here (or a callable deciding, see
`diffim.config.not_applied.not_applied`)."""

