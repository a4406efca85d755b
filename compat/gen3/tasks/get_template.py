"""Templates on the science detector: from coadd patches, or from a paired calexp.

- `GetTemplateTask`: the ``{coaddName}Coadd`` patches the registry's spatial
  join finds for the science detector (visit_detector_region overlapping
  patch, same band), the ``skyMap`` and the science ``calexp`` (box, WCS,
  visit info) -> ``{coaddName}Diff_templateExp``, by
  `diffim.template.get_template.GetCoaddAsTemplateTask`.
- `GetCalexpTemplateTask`: the template visit's ``calexp`` and ``src`` on the
  same detector, found through the configured pairing
  (`compat.gen3.tasks.pairing`), warped by
  `diffim.template.get_template.GetCalexpAsTemplateTask` ->
  ``{coaddName}Diff_templateExp`` and ``{coaddName}Diff_templateSrc`` (the
  template's sources on the science frame, for ``kernelSourcesFromRef=False``
  selection). Keyed by the template visit by default (``coaddName="pair"``,
  so these datasets do not collide with the coadd path's).
"""
from __future__ import annotations

import dataclasses

import lsst.pipe.base as pipeBase
from lsst.pipe.base import connectionTypes

from diffim import get_template
from diffim.config.fresh import defaults_copied

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
from .wrapper import DiffimPipelineTask

__all__ = ["GetCalexpTemplateConfig", "GetCalexpTemplateConnections", "GetCalexpTemplateTask",
           "GetTemplateConfig", "GetTemplateConnections", "GetTemplateTask"]


def _template_output():
    return connectionTypes.Output(
        doc="Template warped onto the science detector's pixel grid.",
        dimensions=VISIT_DETECTOR, storageClass="DiffimExposure",
        name="{fakesType}{coaddName}Diff_templateExp")


class GetTemplateConnections(pipeBase.PipelineTaskConnections, dimensions=VISIT_DETECTOR,
                             defaultTemplates=DEFAULT_TEMPLATES):
    """Coadd patches + skymap + science calexp -> template."""

    science = calexp_connection(
        "Science calexp: its box, WCS and visit info frame the template (the stack reads the "
        "bbox and wcs components; our exposures have none).")
    skyMap = connectionTypes.Input(
        doc="Skymap of the coadd patches.", dimensions=("skymap",),
        storageClass="DiffimSkyMap", name="skyMap")
    coaddExposures = connectionTypes.Input(
        doc="Coadd patches overlapping the science detector (registry spatial join).",
        dimensions=COADD_DIMENSIONS, storageClass="DiffimExposure",
        name="{fakesType}{coaddName}Coadd", multiple=True)
    template = _template_output()


@defaults_copied
class GetTemplateConfig(pipeBase.PipelineTaskConfig, get_template.GetCoaddAsTemplateConfig,
                        pipelineConnections=GetTemplateConnections):
    """`diffim.template.get_template.GetCoaddAsTemplateConfig` with the connections above."""


class GetTemplateTask(DiffimPipelineTask):
    """PipelineTask running `diffim.template.get_template.GetCoaddAsTemplateTask`, per detector."""

    ConfigClass = GetTemplateConfig
    _DefaultName = "getTemplate"
    _DiffimTask = get_template.GetCoaddAsTemplateTask

    def call(self, coaddExposures, skyMap, science):
        """Assemble the template.

        Parameters
        ----------
        coaddExposures : `dict` [`tuple` [`int`, `int`], `diffim.Exposure`]
            Patches by ``(tract, patch)``.
        skyMap : `diffim.sky.skymap.SkyMap`
        science : `diffim.Exposure`
            The science calexp.

        Returns
        -------
        outputs : `dict`
            ``template``.
        """
        result = self.diffimTask.run(coaddExposures, skyMap, science.bbox, science.wcs,
                                     science.visit_info)
        return {"template": result.exposure}

    def readInputs(self, butlerQC, inputRefs):
        """The inputs, the coadd patches keyed by tract and patch."""
        inputs = butlerQC.get(inputRefs)
        inputs["coaddExposures"] = by_tract_patch(inputRefs.coaddExposures,
                                                  inputs["coaddExposures"])
        return inputs


class GetCalexpTemplateConnections(pipeBase.PipelineTaskConnections, dimensions=VISIT_DETECTOR,
                                   defaultTemplates={**DEFAULT_TEMPLATES, "coaddName": "pair"}):
    """Science calexp + paired template calexp and src -> template and its sources."""

    calexps = calexp_connection(
        "The science calexp (the template's frame) and the paired template visit's calexp "
        "(one connection: a task sees one set of calexps).", multiple=True)
    templateSources = source_connection("The paired template visit's src catalogue.",
                                        minimum=0)
    template = _template_output()
    templateSourcesOut = connectionTypes.Output(
        doc="The template's sources, pixel positions on the science frame.",
        dimensions=VISIT_DETECTOR, storageClass="DataFrame",
        name="{fakesType}{coaddName}Diff_templateSrc")

    def __init__(self, *, config=None):
        super().__init__(config=config)
        self.calexps = dataclasses.replace(self.calexps,
                                           lookupFunction=paired_lookup(config, True))
        self.templateSources = dataclasses.replace(self.templateSources,
                                                   lookupFunction=paired_lookup(config, False))
        key_by_template_visit(self, config, ("template", "templateSourcesOut"))

    def adjustQuantum(self, inputs, outputs, label, data_id):
        """Prune the quanta of unpaired (science visit, group) combinations."""
        for name in ("calexps", "templateSources"):
            check_templates(inputs, label, name, data_id)
        return super().adjustQuantum(inputs, outputs, label, data_id)


@defaults_copied
class GetCalexpTemplateConfig(pipeBase.PipelineTaskConfig, TemplatePairingConfig,
                              get_template.GetCalexpAsTemplateConfig,
                              pipelineConnections=GetCalexpTemplateConnections):
    """`diffim.template.get_template.GetCalexpAsTemplateConfig` + the pairing."""

    def setDefaults(self):
        super().setDefaults()
        self.keyByTemplateVisit = True


class GetCalexpTemplateTask(DiffimPipelineTask):
    """PipelineTask running `diffim.template.get_template.GetCalexpAsTemplateTask` on one pair."""

    ConfigClass = GetCalexpTemplateConfig
    _DefaultName = "getCalexpTemplate"
    _DiffimTask = get_template.GetCalexpAsTemplateTask

    def call(self, science, templateCalexp, templateSources):
        """Warp the template calexp (and move its sources) onto the science frame.

        Returns
        -------
        outputs : `dict`
            ``template`` and ``templateSourcesOut``.
        """
        result = self.diffimTask.run(templateCalexp, templateSources, science.bbox, science.wcs)
        return {"template": result.exposure, "templateSourcesOut": result.sources}

    def readInputs(self, butlerQC, inputRefs):
        """The inputs, the science and template calexps told apart by visit."""
        inputs = butlerQC.get(inputRefs)
        science, template = split_pair(inputRefs.calexps, inputs.pop("calexps"),
                                       butlerQC.quantum.dataId["visit"])
        return {"science": science, "templateCalexp": template,
                "templateSources": inputs["templateSources"]}
