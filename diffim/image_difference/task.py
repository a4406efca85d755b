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
                            and false-positive counts in the metadata (with
                            ``doSelectSources``, as in the stack)
``doMatchSources``          ``srcMatchId``/``refMatchId`` on DIA sources
``convolveTemplate``        convolve the template (else the science image)
``subtract.name``           ``al`` (Alard-Lupton) or ``zogy`` (ZOGY proper
                            subtraction, `diffim.zogy`)
``useScoreImageDetection``  detect on a score image, unsmoothed
                            (``detection.doSmooth = False``): Alard-Lupton's
                            (science convolved with its PSF, then matched,
                            ``mode = "preconvolve"``; it replaces the
                            difference) or ZOGY's S_corr (the footprints are
                            measured on the difference). ``doPreConvolve``,
                            its name until 2021, is a deprecated no-op, as in
                            the stack's last gen2 release
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

import numpy as np
import pandas as pd

from ..config.not_applied import not_applied
from ..config.paths import get_path, set_path
from ..errors import DiffimError
from ..task import Struct, Task
from .config import ImageDifferenceConfig
from .data_flow import adds_metrics, data_flow
from .dia_matching import match_dia_sources
from .kernel_source_inputs import matching_reference, subtraction_sources
from .source_selection import select_matched_sources, split_control_sample
from .subtraction_qa import false_positive_counts, kernel_source_catalog, metric_summary

__all__ = ["ImageDifferenceConfig", "ImageDifferenceTask"]


class ImageDifferenceTask(Task):
    """The historical monolith: subtract, then detect and measure, as switched."""

    ConfigClass = ImageDifferenceConfig
    _DefaultName = "imageDifference"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The sub-tasks are the targets the config names (a retarget or a registry
        # choice takes effect), with the monolith's switches written over their configs.
        self.makeSubtask("subtract", config=self._subtract_config())
        self.makeSubtask("detectAndMeasure", config=self._detection_config())
        self.makeSubtask("scaleVariance")
        self.makeSubtask("getTemplate")
        self.notApplied = not_applied(self.config, self.config.notAppliedTable())
        """Settings this run accepts but does not apply, one line each (`config.NOT_APPLIED`)."""
        for line in self.notApplied:
            self.log.warning("%s", line)
        if self.notApplied:
            self.metadata["notApplied"] = list(self.notApplied)

    @property
    def _score_detection(self):
        """Whether detection runs on a score image (one is made only when subtracting)."""
        return self.config.useScoreImageDetection and self.config.doSubtract

    @property
    def _al_score_image(self):
        """Whether Alard-Lupton makes a score image in place of the difference."""
        return self._score_detection and not self.config.zogyRuns()

    def _subtract_config(self):
        """The sub-task config with the monolith's switches written over it."""
        return _switched(self.config.subtract.active, {
            "mode": ("preconvolve" if self._al_score_image
                     else "convolveTemplate" if self.config.convolveTemplate
                     else "convolveScience"),
            "doDecorrelation": self.config.doDecorrelation,
            "doScaleVariance": self.config.doScaleDiffimVariance,
            "requiredTemplateFraction": self.config.requiredTemplateFraction})

    def _detection_config(self):
        return _switched(self.config.detectAndMeasure.value, {
            "doMerge": self.config.doMerge,
            "growFootprint": self.config.growFootprint,
            "doMeasurement": self.config.doMeasurement,
            # As in the stack, dipoles are fitted as part of the measurement.
            "doDipoleFitting": self.config.doDipoleFitting and self.config.doMeasurement,
            "doForcedMeasurement": self.config.doForcedMeasurement,
            "doSkySources": self.config.doSkySources,
            "detection.doSmooth": not self._score_detection})

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
            ``subtractedExposure`` (None for Alard-Lupton's score image),
            ``scoreExposure`` (with ``useScoreImageDetection``),
            ``matchedExposure``, ``warpedExposure``, ``diaSources``, ``kernelSources`` (the ``kernelSrc`` catalogue:
            candidates, with QA columns under ``doAddMetrics``),
            ``controlSources``, ``psfMatchingKernel``, ``backgroundModel``
            (None for what was not computed).

        Raises
        ------
        DiffimError
            A switch needs an input that was not given (named in the message).
        """
        result = Struct(subtractedExposure=subtractedExposure, scoreExposure=None,
                        matchedExposure=None, warpedExposure=templateExposure, diaSources=None, kernelSources=None,
                        controlSources=None, psfMatchingKernel=None, backgroundModel=None)
        # The sources the kernel was fitted on: the bad-subtraction metric's footprints
        # (the kernelSrc catalogue of doAddMetrics holds every science source).
        kernel_candidates = None
        if self.config.doSubtract:
            kernel_candidates = self._subtract(result, exposure, templateExposure, scienceSources,
                                               templateSources, referenceSources)
        elif subtractedExposure is None:
            raise DiffimError("doSubtract=False needs a persisted subtractedExposure")
        if self.config.doDetection:
            self.log.info("Running diaSource detection")
            self._detect(result, exposure, kernel_candidates)
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
        """Fill ``result``'s subtraction outputs; return the kernel candidates (``used``)."""
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
        if subtracted.kernelSources is not None:
            # The kernelSrc dataset and its QA columns are a DataFrame; the
            # subtraction returns a record array (its run imports no pandas).
            subtracted.kernelSources = pd.DataFrame(subtracted.kernelSources)
        if self._al_score_image:
            result.scoreExposure = subtracted.difference
        else:
            result.subtractedExposure = subtracted.difference
            # ZOGY always makes its score (persisted with doWriteScoreExp).
            result.scoreExposure = subtracted.score if self.config.zogyRuns() else None
        result.matchedExposure = subtracted.matchedTemplate
        result.psfMatchingKernel = subtracted.psfMatchingKernel
        result.backgroundModel = subtracted.backgroundModel
        result.kernelSources = subtracted.kernelSources
        if adds_metrics(self.config):
            result.kernelSources = self._kernel_metrics(subtracted, exposure, template,
                                                        science_sources, kernel_sources,
                                                        result.controlSources)
        return subtracted.kernelSources

    def _detect(self, result, exposure, kernel_candidates):
        """Detect and measure on the difference, or on the score image as switched.

        ``kernel_candidates`` (the subtraction's, with ``used``) are where the
        bad-subtraction ratio is measured.

        As in the stack, the image detected on is persisted with the detection
        planes: Alard-Lupton's score image replaces the difference; ZOGY's
        score is thresholded and the footprints measured on the difference.
        """
        if self._al_score_image:
            detected = self.detectAndMeasure.run(exposure, result.matchedExposure,
                                                 result.scoreExposure, kernel_candidates)
            result.scoreExposure = detected.subtractedMeasuredExposure
        else:
            score = result.scoreExposure if self._score_detection else None
            detected = self.detectAndMeasure.run(exposure, result.matchedExposure,
                                                 result.subtractedExposure, kernel_candidates,
                                                 score=score)
            result.subtractedExposure = detected.subtractedMeasuredExposure
        result.diaSources = detected.diaSources

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
        science = subtracted.matchedScience if self._al_score_image else exposure
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
            ``warpedExp``, ``scoreExp``, ``diaSrc``, ``kernelSrc``) -> object; prefix the
            suffixes with ``<coaddName>Diff_``.
        """
        objects = {"differenceExp": result.subtractedExposure, "matchedExp": result.matchedExposure,
                   "warpedExp": result.warpedExposure, "scoreExp": result.scoreExposure,
                   "diaSrc": result.diaSources,
                   "kernelSrc": result.kernelSources}
        return {name: objects[name] for name in data_flow(self.config).outputs}


def _switched(config, switches):
    """``config`` with ``switches`` (dotted field path -> value) written over it.

    ``config`` itself (frozen with its parent) when it holds every value
    already, as the default monolith's sub-task configs do; else a copy
    (0.02-0.05 CPU s: pex_config records the call stack at each value it
    copies).
    """
    if all(get_path(config, path) == value for path, value in switches.items()):
        return config
    config = config.copy()
    for path, value in switches.items():
        set_path(config, path, value)
    return config
