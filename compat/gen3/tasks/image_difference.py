"""The legacy monolith as a PipelineTask: `ImageDifferenceTask` and `Winter2013ImageDifferenceTask`.

For exact gen2-vs-gen3 equivalence runs: the config is
`diffim.image_difference.ImageDifferenceConfig` (every historical switch)
plus the calexp pairing, and the connections follow the switches:

- template: ``getTemplate = GetCoaddAsTemplateTask`` (default) reads the
  ``{coaddName}Coadd`` patches of the registry's spatial join and the
  ``skyMap``; retargeted to ``GetCalexpAsTemplateTask`` it reads the paired
  template visit's ``calexp`` and ``src`` (``templatePairs``, one template
  per science visit unless ``keyByTemplateVisit``);
- ``ref_cat`` shards (htm7, prerequisite, found by the spatial lookup) when
  ``doSelectSources and kernelSourcesFromRef`` or ``doMatchSources``;
- ``doSubtract = False``: the persisted ``{coaddName}Diff_differenceExp`` and
  ``{coaddName}Diff_matchedExp`` are read instead of a template;
- outputs, as the ``doWrite*`` switches and ``doAddMetrics`` select
  (`diffim.image_difference.ImageDifferenceTask.outputsToWrite`):
  ``{coaddName}Diff_differenceExp``, ``_matchedExp``, ``_warpedExp``,
  ``_diaSrc``, ``_kernelSrc`` -- gen2's names.
"""
from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import lsst.pipe.base as pipeBase
from lsst.pipe.base import connectionTypes

from diffim import image_difference
from diffim.task import Struct
from diffim.template import GetCalexpAsTemplateTask

from .base import (
    COADD_DIMENSIONS,
    DEFAULT_TEMPLATES,
    VISIT_DETECTOR,
    by_tract_patch,
    calexp_connection,
    copy_metadata,
    key_by_template_visit,
    source_connection,
)
from .pairing import TemplatePairingConfig, check_templates, paired_lookup, split_pair
from .reference import reference_sources

__all__ = ["ImageDifferenceConfig", "ImageDifferenceConnections", "ImageDifferenceTask",
           "Winter2013ImageDifferenceConfig", "Winter2013ImageDifferenceTask",
           "uses_calexp_template"]

_OUTPUT_DOCS = {
    "differenceExp": ("Difference image.", "DiffimExposure"),
    "matchedExp": ("PSF-matched template.", "DiffimExposure"),
    "warpedExp": ("Template warped onto the science detector.", "DiffimExposure"),
    "diaSrc": ("DIA sources.", "DataFrame"),
    "kernelSrc": ("Kernel candidates with QA metrics (doAddMetrics).", "DataFrame"),
}


def uses_calexp_template(config):
    """Whether ``getTemplate`` is retargeted to a calexp template."""
    return issubclass(config.getTemplate.target, GetCalexpAsTemplateTask)


def written_outputs(config):
    """Dataset suffixes the ``doWrite*`` switches select.

    The rule is ``diffim``'s own (``outputsToWrite``), asked with a blank
    result, so the connections and the written datasets cannot disagree.
    """
    blank = Struct(subtractedExposure=None, matchedExposure=None, warpedExposure=None,
                   diaSources=None, kernelSources=None)
    return set(image_difference.ImageDifferenceTask.outputsToWrite(
        SimpleNamespace(config=config), blank))


def _output(suffix):
    doc, storage_class = _OUTPUT_DOCS[suffix]
    return connectionTypes.Output(doc=doc, dimensions=VISIT_DETECTOR, storageClass=storage_class,
                                  name="{fakesType}{coaddName}Diff_" + suffix)


class ImageDifferenceConnections(pipeBase.PipelineTaskConnections, dimensions=VISIT_DETECTOR,
                                 defaultTemplates=DEFAULT_TEMPLATES):
    """Every input and output the switches may ask for; ``__init__`` keeps the ones they do."""

    calexps = calexp_connection(
        "The science calexp, and the paired template visit's for calexp templates (one "
        "connection: a task sees one set of calexps).", multiple=True)
    sources = source_connection("The science src catalogue, and the paired template's.",
                                multiple=True)
    coaddExposures = connectionTypes.Input(
        doc="Coadd patches overlapping the science detector (coadd templates).",
        dimensions=COADD_DIMENSIONS, storageClass="DiffimExposure",
        name="{fakesType}{coaddName}Coadd", multiple=True)
    skyMap = connectionTypes.Input(doc="Skymap of the coadd patches.", dimensions=("skymap",),
                                   storageClass="DiffimSkyMap", name="skyMap")
    refCat = connectionTypes.PrerequisiteInput(
        doc="Reference-catalogue shards overlapping the detector.", dimensions=("htm7",),
        storageClass="DataFrame", name="ref_cat", multiple=True, minimum=0)
    subtractedExposure = connectionTypes.Input(
        doc="Persisted difference image (doSubtract=False).", dimensions=VISIT_DETECTOR,
        storageClass="DiffimExposure", name="{fakesType}{coaddName}Diff_differenceExp")
    matchedExposure = connectionTypes.Input(
        doc="Persisted matched template (doSubtract=False).", dimensions=VISIT_DETECTOR,
        storageClass="DiffimExposure", name="{fakesType}{coaddName}Diff_matchedExp")
    differenceExp = _output("differenceExp")
    matchedExp = _output("matchedExp")
    warpedExp = _output("warpedExp")
    diaSrc = _output("diaSrc")
    kernelSrc = _output("kernelSrc")

    def __init__(self, *, config=None):
        super().__init__(config=config)
        unused = set(_OUTPUT_DOCS) - written_outputs(config)
        if not config.doSubtract:
            unused |= {"coaddExposures", "skyMap"}
        else:
            unused |= {"subtractedExposure", "matchedExposure"}
            if uses_calexp_template(config):
                unused |= {"coaddExposures", "skyMap"}
        if not (config.doSelectSources and config.kernelSourcesFromRef or config.doMatchSources):
            unused.add("refCat")
        for name in unused:
            delattr(self, name)
        lookup = paired_lookup(config, include_science=True)
        self.calexps = dataclasses.replace(self.calexps, lookupFunction=lookup)
        self.sources = dataclasses.replace(self.sources, lookupFunction=lookup)
        key_by_template_visit(self, config, (*self.outputs, *(
            name for name in ("subtractedExposure", "matchedExposure") if name in self.inputs)))

    def adjustQuantum(self, inputs, outputs, label, data_id):
        """Prune the quanta of unpaired (science visit, group) combinations."""
        if self.config.doSubtract and uses_calexp_template(self.config):
            for name in ("calexps", "sources"):
                check_templates(inputs, label, name, data_id)
        return super().adjustQuantum(inputs, outputs, label, data_id)


class ImageDifferenceConfig(pipeBase.PipelineTaskConfig, TemplatePairingConfig,
                            image_difference.ImageDifferenceConfig,
                            pipelineConnections=ImageDifferenceConnections):
    """`diffim.image_difference.ImageDifferenceConfig` + the calexp pairing."""


class ImageDifferenceTask(pipeBase.PipelineTask):
    """PipelineTask running the legacy `diffim.image_difference.ImageDifferenceTask`."""

    ConfigClass = ImageDifferenceConfig
    _DefaultName = "imageDifference"
    _DiffimTask = image_difference.ImageDifferenceTask

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.imageDifference = self._DiffimTask(config=self.config, name=self.getName())

    def run(self, exposure, scienceSources=None, coaddExposures=None, skyMap=None,
            templateCalexp=None, templateSources=None, refCat=None, subtractedExposure=None,
            matchedExposure=None):
        """Make the template with ``getTemplate``, then run the monolith.

        Parameters
        ----------
        exposure : `diffim.Exposure`
        scienceSources : `pandas.DataFrame`, optional
        coaddExposures : `dict` [`tuple` [`int`, `int`], `diffim.Exposure`], optional
            Coadd patches by ``(tract, patch)`` (coadd templates).
        skyMap : `diffim.sky.skymap.SkyMap`, optional
        templateCalexp, templateSources : optional
            The paired template visit's calexp and src (calexp templates).
        refCat : `list` [`pandas.DataFrame`], optional
            Reference shards; the sources inside the detector are used.
        subtractedExposure, matchedExposure : `diffim.Exposure`, optional
            Persisted difference and matched template (``doSubtract=False``).

        Returns
        -------
        result : `lsst.pipe.base.Struct`
            The outputs the switches select, named as the connections.
        """
        template = None
        getTemplate = self.imageDifference.getTemplate
        if templateCalexp is not None:
            template = getTemplate.run(templateCalexp, templateSources, exposure.bbox, exposure.wcs)
        elif coaddExposures is not None:
            template = getTemplate.run(coaddExposures, skyMap, exposure.bbox, exposure.wcs,
                                       exposure.visit_info)
        result = self.imageDifference.run(
            exposure, template.exposure if template is not None else None,
            scienceSources=scienceSources,
            templateSources=template.sources if template is not None else None,
            referenceSources=reference_sources(refCat, exposure),
            subtractedExposure=subtractedExposure, matchedExposure=matchedExposure)
        copy_metadata(self.metadata, self.imageDifference)
        return pipeBase.Struct(**self.imageDifference.outputsToWrite(result))

    def runQuantum(self, butlerQC, inputRefs, outputRefs):
        """Read the inputs (science and template told apart by visit, coadd patches keyed
        by tract and patch), `run`, write."""
        inputs = butlerQC.get(inputRefs)
        visit = butlerQC.quantum.dataId["visit"]
        inputs["exposure"], inputs["templateCalexp"] = split_pair(
            inputRefs.calexps, inputs.pop("calexps"), visit)
        inputs["scienceSources"], inputs["templateSources"] = split_pair(
            inputRefs.sources, inputs.pop("sources"), visit)
        if "coaddExposures" in inputs:
            inputs["coaddExposures"] = by_tract_patch(inputRefs.coaddExposures,
                                                      inputs["coaddExposures"])
        butlerQC.put(self.run(**inputs), outputRefs)


class Winter2013ImageDifferenceConfig(ImageDifferenceConfig,
                                      image_difference.Winter2013ImageDifferenceConfig):
    """`diffim.image_difference.Winter2013ImageDifferenceConfig` + the calexp pairing."""


class Winter2013ImageDifferenceTask(ImageDifferenceTask):
    """PipelineTask running `diffim.image_difference.Winter2013ImageDifferenceTask`."""

    ConfigClass = Winter2013ImageDifferenceConfig
    _DefaultName = "winter2013ImageDifference"
    _DiffimTask = image_difference.Winter2013ImageDifferenceTask
