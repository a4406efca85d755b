"""The legacy monolith as a PipelineTask: `ImageDifferenceTask` and `Winter2013ImageDifferenceTask`.

For exact gen2-vs-gen3 equivalence runs: the config is
`diffim.image_difference.ImageDifferenceConfig` (every historical switch)
plus the calexp pairing, and the connections are what
`diffim.image_difference.data_flow` says the switches read and write (the
rule gen2's ``runDataRef`` follows too):

- template: ``getTemplate = GetCoaddAsTemplateTask`` (default) reads the
  ``{coaddName}Coadd`` patches of the registry's spatial join and the
  ``skyMap``; retargeted to ``GetCalexpAsTemplateTask`` it reads the paired
  template visit's ``calexp`` and ``src`` (``templatePairs``, one template
  per science visit unless ``keyByTemplateVisit``); read whatever
  ``doSubtract`` says, as the stack's task did;
- ``ref_cat`` shards (htm7, prerequisite, found by the spatial lookup) when
  the rule requires or may use them (kernel sources from the reference
  catalogue, ``doMatchSources``, ``doAddMetrics``);
- ``doSubtract = False``: the persisted ``{coaddName}Diff_differenceExp``
  (no matched template, as in the stack's task);
- outputs: ``{coaddName}Diff_differenceExp``, ``_matchedExp``,
  ``_warpedExp``, ``_scoreExp``, ``_diaSrc``, ``_kernelSrc`` -- gen2's names.
"""
from __future__ import annotations

import dataclasses

import lsst.pipe.base as pipeBase
from lsst.pipe.base import connectionTypes

from diffim import image_difference
from diffim.config.fresh import defaults_copied
from diffim.image_difference.data_flow import UNUSED

from .base import (
    COADD_DIMENSIONS,
    DEFAULT_TEMPLATES,
    VISIT_DETECTOR,
    by_tract_patch,
    calexp_connection,
    key_by_template_visit,
    source_connection,
)
from .pairing import TemplatePairingConfig, check_templates, paired_lookup, split_pair
from .reference import reference_sources
from .wrapper import DiffimPipelineTask

__all__ = ["ImageDifferenceConfig", "ImageDifferenceConnections", "ImageDifferenceTask",
           "Winter2013ImageDifferenceConfig", "Winter2013ImageDifferenceTask"]

_OUTPUT_DOCS = {
    "differenceExp": ("Difference image.", "DiffimExposure"),
    "matchedExp": ("PSF-matched template.", "DiffimExposure"),
    "warpedExp": ("Template warped onto the science detector.", "DiffimExposure"),
    "scoreExp": ("Score image (useScoreImageDetection; ZOGY's S).", "DiffimExposure"),
    "diaSrc": ("DIA sources.", "DataFrame"),
    "kernelSrc": ("Kernel candidates with QA metrics (doAddMetrics).", "DataFrame"),
}


STACK_CONNECTIONS = ("exposure", "dcrCoadds", "finalizedPsfApCorrCatalog", "outputSchema",
                     "scoreExposure", "warpedExposure", "matchedExposure", "diaSources")
"""Connection names of the stack's task that only its override files use here."""


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
    differenceExp = _output("differenceExp")
    matchedExp = _output("matchedExp")
    warpedExp = _output("warpedExp")
    scoreExp = _output("scoreExp")
    diaSrc = _output("diaSrc")
    kernelSrc = _output("kernelSrc")
    # The stack's names for its connections, which 2020-2022 override files set:
    # accepted so that they load, never used (the connections above are this task's).
    exposure = connectionTypes.Input(doc="The stack's science calexp (unused).",
                                     dimensions=VISIT_DETECTOR, storageClass="DiffimExposure",
                                     name="{fakesType}calexp")
    dcrCoadds = connectionTypes.Input(doc="The stack's DCR coadds (unused).",
                                      dimensions=COADD_DIMENSIONS, storageClass="DiffimExposure",
                                      name="{fakesType}dcrCoadd", multiple=True)
    finalizedPsfApCorrCatalog = connectionTypes.Input(
        doc="The stack's finalized PSFs (unused).", dimensions=("instrument", "visit"),
        storageClass="DataFrame", name="finalized_psf_ap_corr_catalog")
    outputSchema = connectionTypes.InitOutput(
        doc="The stack's DIA-source schema (unused).", storageClass="DataFrame",
        name="{fakesType}{coaddName}Diff_diaSrc_schema")
    scoreExposure = connectionTypes.Output(
        doc="The stack's score image (unused).", dimensions=VISIT_DETECTOR,
        storageClass="DiffimExposure", name="{fakesType}{coaddName}Diff_scoreExp")
    warpedExposure = connectionTypes.Output(
        doc="The stack's name of warpedExp (unused).", dimensions=VISIT_DETECTOR,
        storageClass="DiffimExposure", name="{fakesType}{coaddName}Diff_warpedExp")
    matchedExposure = connectionTypes.Output(
        doc="The stack's name of matchedExp (unused).", dimensions=VISIT_DETECTOR,
        storageClass="DiffimExposure", name="{fakesType}{coaddName}Diff_matchedExp")
    diaSources = connectionTypes.Output(
        doc="The stack's name of diaSrc (unused).", dimensions=VISIT_DETECTOR,
        storageClass="DataFrame", name="{fakesType}{coaddName}Diff_diaSrc")

    def __init__(self, *, config=None):
        super().__init__(config=config)
        flow = image_difference.data_flow(config)
        unused = set(_OUTPUT_DOCS) - set(flow.outputs)
        unused |= set(STACK_CONNECTIONS)
        if not flow.template or flow.calexpTemplate:
            unused |= {"coaddExposures", "skyMap"}
        if not flow.differenceExp:
            unused.add("subtractedExposure")
        if flow.referenceCatalog == UNUSED:
            unused.add("refCat")
        for name in unused:
            delattr(self, name)
        lookup = paired_lookup(config, include_science=True)
        self.calexps = dataclasses.replace(self.calexps, lookupFunction=lookup)
        self.sources = dataclasses.replace(self.sources, lookupFunction=lookup)
        key_by_template_visit(self, config, (*self.outputs,
                                             *({"subtractedExposure"} & set(self.inputs))))

    def adjustQuantum(self, inputs, outputs, label, data_id):
        """Prune the quanta of unpaired (science visit, group) combinations."""
        flow = image_difference.data_flow(self.config)
        if flow.template and flow.calexpTemplate:
            for name in ("calexps", "sources"):
                check_templates(inputs, label, name, data_id)
        return super().adjustQuantum(inputs, outputs, label, data_id)


@defaults_copied
class ImageDifferenceConfig(pipeBase.PipelineTaskConfig, TemplatePairingConfig,
                            image_difference.ImageDifferenceConfig,
                            pipelineConnections=ImageDifferenceConnections):
    """`diffim.image_difference.ImageDifferenceConfig` + the calexp pairing."""

    def notAppliedTable(self):
        """diffim's table, with the stack's connection names this task does not use."""
        return {**super().notAppliedTable(),
                **{f"connections.{name}": "this task's connections are named differently "
                                          "(differenceExp, matchedExp, warpedExp, scoreExp, diaSrc)"
                   for name in STACK_CONNECTIONS}}


class ImageDifferenceTask(DiffimPipelineTask):
    """PipelineTask running the legacy `diffim.image_difference.ImageDifferenceTask`."""

    ConfigClass = ImageDifferenceConfig
    _DefaultName = "imageDifference"
    _DiffimTask = image_difference.ImageDifferenceTask

    def call(self, exposure, scienceSources=None, coaddExposures=None, skyMap=None,
             templateCalexp=None, templateSources=None, refCat=None, subtractedExposure=None):
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
        subtractedExposure : `diffim.Exposure`, optional
            Persisted difference (``doSubtract=False``).

        Returns
        -------
        outputs : `dict`
            The outputs the switches select, named as the connections.
        """
        template = None
        getTemplate = self.diffimTask.getTemplate
        if templateCalexp is not None:
            template = getTemplate.run(templateCalexp, templateSources, exposure.bbox, exposure.wcs)
        elif coaddExposures is not None:
            template = getTemplate.run(coaddExposures, skyMap, exposure.bbox, exposure.wcs,
                                       exposure.visit_info)
        result = self.diffimTask.run(
            exposure, template.exposure if template is not None else None,
            scienceSources=scienceSources,
            templateSources=template.sources if template is not None else None,
            referenceSources=reference_sources(refCat, exposure),
            subtractedExposure=subtractedExposure)
        return self.diffimTask.outputsToWrite(result)

    def readInputs(self, butlerQC, inputRefs):
        """The inputs, science and template told apart by visit, coadd patches keyed by
        tract and patch."""
        inputs = butlerQC.get(inputRefs)
        visit = butlerQC.quantum.dataId["visit"]
        inputs["exposure"], inputs["templateCalexp"] = split_pair(
            inputRefs.calexps, inputs.pop("calexps"), visit)
        inputs["scienceSources"], inputs["templateSources"] = split_pair(
            inputRefs.sources, inputs.pop("sources"), visit)
        if "coaddExposures" in inputs:
            inputs["coaddExposures"] = by_tract_patch(inputRefs.coaddExposures,
                                                      inputs["coaddExposures"])
        return inputs


class Winter2013ImageDifferenceConfig(ImageDifferenceConfig,
                                      image_difference.Winter2013ImageDifferenceConfig):
    """`diffim.image_difference.Winter2013ImageDifferenceConfig` + the calexp pairing."""


class Winter2013ImageDifferenceTask(ImageDifferenceTask):
    """PipelineTask running `diffim.image_difference.Winter2013ImageDifferenceTask`."""

    ConfigClass = Winter2013ImageDifferenceConfig
    _DefaultName = "winter2013ImageDifference"
    _DiffimTask = image_difference.Winter2013ImageDifferenceTask
