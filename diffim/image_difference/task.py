"""The legacy monolithic ``ImageDifferenceTask`` with every historical switch.

The gen2 ``imageDifference.py`` did everything in one task, steered by
``do*`` switches; gen3 splits it into `AlardLuptonSubtractTask` and
`DetectAndMeasureTask`. Here the monolith *composes* those two tasks, so one
logic serves both worlds and the switches keep their historical meaning:

==========================  ===================================================
switch                      effect
==========================  ===================================================
``doSubtract``              PSF-match and subtract; off: detect on a given
                            ``subtractedExposure`` ("subtraction without
                            subtraction")
``doSelectSources``         kernel sources = science ``src`` matched (1") to
                            the reference catalogue (``kernelSourcesFromRef``)
                            or to the template's ``src``; star selector; every
                            ``controlStepSize``-th held back (seed
                            ``controlRandomSeed``)
``doAddMetrics``            ``kernelSrc`` QA columns (`diffim.image_difference.kernel_metrics`)
                            and false-positive counts in the metadata
``doMatchSources``          ``srcMatchId``/``refMatchId`` on DIA sources
``convolveTemplate``        convolve the template (else the science image)
``doPreConvolve``           score image: science convolved with its PSF, then
                            matched (``mode = "preconvolve"``), detected
                            unsmoothed (``detection.doSmooth = False``)
``doDecorrelation``         decorrelation afterburner
``doScaleTemplateVariance`` rescale the template variance before subtracting
``doScaleDiffimVariance``   rescale the difference variance
``doDetection`` ...         detection, merging, measurement, dipoles, forced
                            photometry, sky sources (`DetectAndMeasureTask`)
``doWrite*``                which outputs a middleware adapter persists
                            (`ImageDifferenceTask.outputsToWrite`)
==========================  ===================================================

The template comes from the retargetable ``getTemplate`` sub-task
(`GetCoaddAsTemplateTask` by default, `GetCalexpAsTemplateTask` for calexp-calexp
subtraction), which the middleware adapters run because they fetch its inputs;
``run`` takes the template already on the science grid.
"""
from __future__ import annotations

import lsst.pex.config as pexConfig
import numpy as np

from ..errors import DiffimError
from ..measure.task import DetectAndMeasureTask
from ..subtract.scale_variance import ScaleVarianceTask
from ..subtract.task import AlardLuptonSubtractTask
from ..task import Struct, Task
from ..template.get_template import GetCoaddAsTemplateTask
from .data_flow import adds_metrics, data_flow
from .dia_matching import match_dia_sources
from .kernel_source_inputs import matching_reference, subtraction_sources
from .source_selection import select_matched_sources, split_control_sample
from .subtraction_qa import false_positive_counts, kernel_source_catalog, metric_summary

__all__ = ["ImageDifferenceConfig", "ImageDifferenceTask"]


class ImageDifferenceConfig(pexConfig.Config):
    """The legacy switches, with the stack's names and defaults."""

    doSelectSources = pexConfig.Field(dtype=bool, default=False,
                                      doc="Select kernel sources by matching catalogues?")
    kernelSourcesFromRef = pexConfig.Field(
        dtype=bool, default=False,
        doc="Match to the reference catalogue (True) or to the template's sources (False)?")
    doSubtract = pexConfig.Field(dtype=bool, default=True, doc="Compute the difference image?")
    doDetection = pexConfig.Field(dtype=bool, default=True, doc="Detect DIA sources?")
    doAddMetrics = pexConfig.Field(dtype=bool, default=False,
                                   doc="Add kernel-candidate QA metrics (needs doSelectSources)?")
    doMatchSources = pexConfig.Field(dtype=bool, default=False,
                                     doc="Match DIA sources to the science and reference sources?")
    convolveTemplate = pexConfig.Field(dtype=bool, default=True,
                                       doc="Convolve the template (else the science image)?")
    doPreConvolve = pexConfig.Field(
        dtype=bool, default=False,
        doc="Convolve the science image with its PSF before PSF-matching (a score image)?")
    doDecorrelation = pexConfig.Field(dtype=bool, default=True, doc="Decorrelate the difference?")
    doMerge = pexConfig.Field(dtype=bool, default=True,
                              doc="Merge positive and negative footprints?")
    growFootprint = pexConfig.Field(dtype=int, default=2, doc="Grow footprints by this (pixels).")
    doMeasurement = pexConfig.Field(dtype=bool, default=True, doc="Measure DIA sources?")
    doDipoleFitting = pexConfig.Field(dtype=bool, default=True, doc="Fit dipoles?")
    doForcedMeasurement = pexConfig.Field(dtype=bool, default=True,
                                          doc="Forced photometry on difference and template?")
    doSkySources = pexConfig.Field(dtype=bool, default=False, doc="Add sky sources?")
    doWriteSources = pexConfig.Field(dtype=bool, default=True, doc="Persist diaSrc?")
    doWriteSubtractedExp = pexConfig.Field(dtype=bool, default=True, doc="Persist differenceExp?")
    doWriteWarpedExp = pexConfig.Field(dtype=bool, default=False, doc="Persist warpedExp?")
    doWriteMatchedExp = pexConfig.Field(dtype=bool, default=False, doc="Persist matchedExp?")
    doScaleTemplateVariance = pexConfig.Field(dtype=bool, default=False,
                                              doc="Rescale the template variance first?")
    doScaleDiffimVariance = pexConfig.Field(dtype=bool, default=True,
                                            doc="Rescale the difference variance?")
    requiredTemplateFraction = pexConfig.Field(
        dtype=float, default=0.1, doc="Fail if the template covers less of the science image.")
    coaddName = pexConfig.Field(dtype=str, default="deep", doc="Coadd flavour of the outputs.")
    diaSourceMatchRadius = pexConfig.Field(dtype=float, default=0.5,
                                           doc="doMatchSources radius, arcsec.")
    selectMatchRadius = pexConfig.Field(dtype=float, default=1.0,
                                        doc="doSelectSources match radius, arcsec.")
    controlStepSize = pexConfig.Field(dtype=int, default=5,
                                      doc="Every n-th selected source is a control source.")
    controlRandomSeed = pexConfig.Field(dtype=int, default=10,
                                        doc="Seed of the shuffle before the control split.")
    subtract = pexConfig.ConfigurableField(target=AlardLuptonSubtractTask,
                                           doc="PSF matching and subtraction.")
    detectAndMeasure = pexConfig.ConfigurableField(target=DetectAndMeasureTask,
                                                   doc="Detection and measurement.")
    scaleVariance = pexConfig.ConfigurableField(target=ScaleVarianceTask,
                                                doc="Template variance rescaling.")
    getTemplate = pexConfig.ConfigurableField(
        target=GetCoaddAsTemplateTask,
        doc="Where the template comes from: coadd patches (default) or, retargeted to "
            "GetCalexpAsTemplateTask, another calexp. Run by the middleware adapters, which "
            "fetch its inputs; run() takes the template it made.")

    def setDefaults(self):
        # The legacy task's own kernel settings (pipe_tasks imageDifference.py).
        kernel = self.subtract.makeKernel.kernel.active
        kernel.fitForBackground = True
        kernel.spatialKernelOrder = 1
        kernel.spatialBgOrder = 2
        self.detectAndMeasure.detection.thresholdValue = 5.0
        self.detectAndMeasure.detection.thresholdPolarity = "both"

    def validate(self):
        super().validate()
        rules = (
            (self.doAddMetrics and not self.doSelectSources, "doAddMetrics",
             "doAddMetrics needs doSelectSources=True"),
            (not self.doSubtract and not self.doDetection, "doSubtract",
             "either doSubtract or doDetection must be enabled"),
            (self.doMeasurement and not self.doDetection, "doMeasurement",
             "cannot measure sources without doDetection"),
            (self.doMerge and not self.doDetection, "doMerge",
             "cannot merge footprints without doDetection"),
            (self.doSkySources and not self.doDetection, "doSkySources",
             "cannot add sky sources without doDetection"),
            (self.doMatchSources and not self.doDetection, "doMatchSources",
             "cannot match DIA sources without doDetection"),
            (self.doDipoleFitting and not (self.doMeasurement and self.doMerge), "doDipoleFitting",
             "dipole fitting needs doMeasurement and doMerge"),
            (self.doWriteWarpedExp and not self.doSubtract, "doWriteWarpedExp",
             "no warped template without doSubtract"),
            (self.doWriteMatchedExp and not self.doSubtract, "doWriteMatchedExp",
             "no matched template without doSubtract"),
            (self.doPreConvolve and not self.convolveTemplate, "doPreConvolve",
             "doPreConvolve=True needs convolveTemplate=True (the template is matched to the "
             "pre-convolved science image)"),
            (self.controlStepSize < 2, "controlStepSize",
             "controlStepSize must be >= 2"),
        )
        for broken, name, message in rules:
            if broken:
                raise pexConfig.FieldValidationError(getattr(type(self), name), self, message)


class ImageDifferenceTask(Task):
    """The historical monolith: subtract, then detect and measure, as switched."""

    ConfigClass = ImageDifferenceConfig
    _DefaultName = "imageDifference"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.subtract = AlardLuptonSubtractTask(config=self._subtract_config(), name="subtract",
                                                parentTask=self)
        self.detectAndMeasure = DetectAndMeasureTask(config=self._detection_config(),
                                                     name="detectAndMeasure", parentTask=self)
        self._subtasks.update(subtract=self.subtract, detectAndMeasure=self.detectAndMeasure)
        self.makeSubtask("scaleVariance")
        self.makeSubtask("getTemplate")

    def _subtract_config(self):
        """The sub-task config with the monolith's switches written over it."""
        config = self.config.subtract.value.copy()
        config.mode = ("preconvolve" if self.config.doPreConvolve
                       else "convolveTemplate" if self.config.convolveTemplate
                       else "convolveScience")
        config.doDecorrelation = self.config.doDecorrelation
        config.doScaleVariance = self.config.doScaleDiffimVariance
        config.requiredTemplateFraction = self.config.requiredTemplateFraction
        return config

    def _detection_config(self):
        config = self.config.detectAndMeasure.value.copy()
        config.doMerge = self.config.doMerge
        config.growFootprint = self.config.growFootprint
        config.doMeasurement = self.config.doMeasurement
        config.doDipoleFitting = self.config.doDipoleFitting
        config.doForcedMeasurement = self.config.doForcedMeasurement
        config.doSkySources = self.config.doSkySources
        config.detection.doSmooth = not self.config.doPreConvolve
        return config

    def run(self, exposure, templateExposure=None, *, scienceSources=None, templateSources=None,
            referenceSources=None, subtractedExposure=None):
        """Subtract and/or detect, as the switches say.

        Parameters
        ----------
        exposure : `diffim.Exposure`
            The science calexp.
        templateExposure : `diffim.Exposure`, optional
            Template on the science grid (needed when ``doSubtract``).
        scienceSources : `pandas.DataFrame`, optional
            The science ``src`` catalogue (`diffim.sources.catalog`): kernel
            sources for ``doSelectSources``, ``srcMatchId`` for ``doMatchSources``.
        templateSources : `pandas.DataFrame`, optional
            The template's ``src`` (calexp templates; ``kernelSourcesFromRef=False``).
        referenceSources : `pandas.DataFrame`, optional
            Reference catalogue sources over the exposure (``id``, ``coord_ra``,
            ``coord_dec``): ``kernelSourcesFromRef=True`` and ``refMatchId``.
        subtractedExposure : `diffim.Exposure`, optional
            Persisted difference, when ``doSubtract=False``. As in the stack's
            gen2 task, no matched template goes with it: detection then has
            no template forced photometry (those columns are NaN).

        Returns
        -------
        result : `Struct`
            ``subtractedExposure``, ``matchedExposure``, ``warpedExposure``,
            ``diaSources``, ``kernelSources`` (the ``kernelSrc`` catalogue:
            candidates, with QA columns under ``doAddMetrics``),
            ``controlSources``, ``psfMatchingKernel``, ``backgroundModel``
            (None for what was not computed).

        Raises
        ------
        DiffimError
            A switch needs an input that was not given (named in the message).
        """
        result = Struct(subtractedExposure=subtractedExposure, matchedExposure=None,
                        warpedExposure=templateExposure, diaSources=None, kernelSources=None,
                        controlSources=None, psfMatchingKernel=None, backgroundModel=None)
        if self.config.doSubtract:
            self._subtract(result, exposure, templateExposure, scienceSources, templateSources,
                           referenceSources)
        elif subtractedExposure is None:
            raise DiffimError("doSubtract=False needs a persisted subtractedExposure")
        if self.config.doDetection:
            self.log.info("Running diaSource detection")
            detected = self.detectAndMeasure.run(exposure, result.matchedExposure,
                                                 result.subtractedExposure, result.kernelSources)
            result.diaSources = detected.diaSources
            # As in the stack, the persisted difference carries the detection planes.
            result.subtractedExposure = detected.subtractedMeasuredExposure
            if self.config.doMatchSources:
                match_dia_sources(result.diaSources, scienceSources, referenceSources,
                                  self.config.diaSourceMatchRadius)
            if adds_metrics(self.config):
                self.metadata.update(false_positive_counts(
                    result.diaSources, scienceSources, referenceSources,
                    self.config.diaSourceMatchRadius))
                if result.kernelSources is not None:
                    self.metadata.update(metric_summary(result.kernelSources))
        return result

    def _subtract(self, result, exposure, template, science_sources, template_sources,
                  reference_sources):
        if template is None:
            raise DiffimError("doSubtract=True needs a template exposure")
        if self.config.doScaleTemplateVariance:
            factor = self.scaleVariance.run(template).factor
            template = template.copy()
            template.variance *= np.float32(factor)
            self.metadata["templateVarianceFactor"] = factor
        kernel_sources = science_sources
        if self.config.doSelectSources:
            selected = self._select_sources(exposure, science_sources, template, template_sources,
                                            reference_sources)
            kernel_sources = selected.kernelSources
            result.controlSources = selected.controlSources
        subtracted = self.subtract.run(template, exposure, subtraction_sources(kernel_sources))
        result.subtractedExposure = subtracted.difference
        result.matchedExposure = subtracted.matchedTemplate
        result.psfMatchingKernel = subtracted.psfMatchingKernel
        result.backgroundModel = subtracted.backgroundModel
        result.kernelSources = subtracted.kernelSources
        if adds_metrics(self.config):
            result.kernelSources = self._kernel_metrics(subtracted, exposure, template,
                                                        science_sources, kernel_sources,
                                                        result.controlSources)

    def _select_sources(self, exposure, science_sources, template, template_sources,
                        reference_sources):
        """Matched, star-selected kernel sources and the control sample."""
        reference, label = matching_reference(science_sources, template_sources,
                                              reference_sources, self.config.kernelSourcesFromRef)
        if not self.config.kernelSourcesFromRef:
            reference = self.templateSourcesForMatching(reference, template)
        selector = self.subtract.config.sourceSelector.signalToNoise
        matched = select_matched_sources(science_sources, reference,
                                         match_radius_arcsec=self.config.selectMatchRadius,
                                         min_snr=selector.minimum, max_snr=selector.maximum)
        split = split_control_sample(matched, self.config.controlStepSize,
                                     self.config.controlRandomSeed)
        self.metadata.update(nSelectedSources=len(matched),
                             nControlSources=len(split.controlSources))
        self.log.info("Selected %d kernel sources, %d held back as control, matched to the %s",
                      len(split.kernelSources), len(split.controlSources), label)
        return split

    def templateSourcesForMatching(self, template_sources, template):
        """The template sources as the kernel-source matching sees them (a hook).

        The monolith uses them as they are; `Winter2013ImageDifferenceTask`
        perturbs their positions.
        """
        return template_sources

    def _kernel_metrics(self, subtracted, exposure, template, science_sources, kernel_sources,
                        control_sources):
        """The ``kernelSrc`` catalogue: the science sources with the candidates' QA columns."""
        science = subtracted.matchedScience if self.config.doPreConvolve else exposure
        convolved, reference = ((template, science) if self.config.convolveTemplate
                                else (exposure, template))
        fit_background = self.subtract.config.makeKernel.kernel.active.fitForBackground
        return kernel_source_catalog(subtracted, convolved, reference, fit_background,
                                     science_sources, kernel_sources, control_sources)

    def outputsToWrite(self, result):
        """The outputs the ``doWrite*`` switches ask a middleware to persist (`data_flow`).

        Returns
        -------
        outputs : `dict` [`str`, `object`]
            Dataset-type suffix (``differenceExp``, ``matchedExp``,
            ``warpedExp``, ``diaSrc``, ``kernelSrc``) -> object; prefix the
            suffixes with ``<coaddName>Diff_``.
        """
        objects = {"differenceExp": result.subtractedExposure, "matchedExp": result.matchedExposure,
                   "warpedExp": result.warpedExposure, "diaSrc": result.diaSources,
                   "kernelSrc": result.kernelSources}
        return {name: objects[name] for name in data_flow(self.config).outputs}
