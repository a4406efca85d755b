"""``imageDifference.py`` under gen2: the legacy `ImageDifferenceTask` as a command-line task.

``runDataRef(sensorRef, templateIdList)`` reads the science ``calexp`` and
its ``src`` (when there is one), then what `diffim.image_difference.data_flow`
says the configuration needs: the template through
`compat.gen2.templates.get_template` (always, as the stack's task did), the
persisted ``<coaddName>Diff_differenceExp`` when ``doSubtract=False`` (no
``_matchedExp``: the stack's task never read it), and reference sources
over the detector; calls ``run``; and writes what ``outputsToWrite`` lists
as ``<coaddName>Diff_<name>``. The config is ``ImageDifferenceConfig``, so
every historical switch is a ``-c`` away.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from diffim.image_difference import (
    ImageDifferenceTask,
    Winter2013ImageDifferenceTask,
    data_flow,
)
from diffim.image_difference.data_flow import OPTIONAL, REQUIRED
from diffim.measure.schema import empty_catalog
from diffim.sky.refcat import ReferenceCatalogLoader

from .argument_parser import ArgumentParser
from .cmd_line_task import CmdLineTask
from .task_runner import TaskRunner
from .templates import get_template

__all__ = ["ImageDifferenceCmdLineTask", "ImageDifferenceTaskRunner",
           "Winter2013ImageDifferenceCmdLineTask"]

_MATCH_ID_COLUMNS = ("srcMatchId", "refMatchId")


class ImageDifferenceTaskRunner(TaskRunner):
    """Passes the ``--templateId`` data IDs (dicts, not references) to every ``runDataRef``."""

    @staticmethod
    def getTargetList(parsedCmd, **kwargs):
        return TaskRunner.getTargetList(parsedCmd, templateIdList=parsedCmd.templateId.idList,
                                        **kwargs)


class ImageDifferenceCmdLineTask(CmdLineTask, ImageDifferenceTask):
    """The legacy monolith run by gen2's ``imageDifference.py``."""

    RunnerClass = ImageDifferenceTaskRunner

    @classmethod
    def _makeArgumentParser(cls):
        parser = ArgumentParser(name=cls._DefaultName)
        parser.add_id_argument("--id", "calexp", help="data ID, e.g. --id visit=12345 ccd=1^2")
        parser.add_id_argument("--templateId", "calexp",
                               help="Template data ID in case of calexp template, "
                                    "e.g. --templateId visit=6789")
        return parser

    def _getConfigName(self):
        return f"{self.config.coaddName}Diff_config"

    def _getMetadataName(self):
        return f"{self.config.coaddName}Diff_metadata"

    def getSchemaCatalogs(self):
        """The DIA-source schema (with the match columns under ``doMatchSources``)."""
        if "diaSrc" not in data_flow(self.config).outputs:
            return {}
        schema = empty_catalog()
        if self.config.doMatchSources:
            for column in _MATCH_ID_COLUMNS:
                schema[column] = np.zeros(0, np.int64)
        return {f"{self.config.coaddName}Diff_diaSrc": schema}

    def runDataRef(self, sensorRef, templateIdList=None):
        """Read the inputs of ``sensorRef``, `run`, write the outputs.

        Parameters
        ----------
        sensorRef : `compat.gen2.butler.ButlerDataRef`
            The science calexp's data reference.
        templateIdList : `list` [`dict`], optional
            ``--templateId`` data IDs (calexp templates).

        Returns
        -------
        result : `diffim.task.Struct`
            What `ImageDifferenceTask.run` returns.
        """
        prefix = f"{self.config.coaddName}Diff_"
        self.log.info("Processing %s", sensorRef.dataId)
        exposure = sensorRef.get("calexp")
        inputs = {"scienceSources": None}
        if sensorRef.datasetExists("src"):
            self.log.info("Source selection via src product")
            inputs["scienceSources"] = sensorRef.get("src")
        flow = data_flow(self.config)
        if flow.template:
            template = get_template(self.getTemplate, exposure, sensorRef, templateIdList)
            inputs.update(templateExposure=template.exposure, templateSources=template.sources)
        if flow.differenceExp:
            inputs["subtractedExposure"] = sensorRef.get(prefix + "differenceExp")
        butler = sensorRef.getButler()
        if flow.referenceCatalog == REQUIRED or (flow.referenceCatalog == OPTIONAL
                                                 and butler.datasetExists("ref_cat_config")):
            inputs["referenceSources"] = _reference_sources(butler, exposure)
        result = self.run(exposure, **inputs)
        for name, output in self.outputsToWrite(result).items():
            sensorRef.put(output, prefix + name)
        return result


class Winter2013ImageDifferenceCmdLineTask(ImageDifferenceCmdLineTask,
                                          Winter2013ImageDifferenceTask):
    """The Winter 2013 variant (calexp template, perturbed template sources) under gen2."""


def _reference_sources(butler, exposure):
    """Reference sources inside the exposure's footprint on the sky.

    The shards live beside ``ref_cat_config`` (ingest puts them in one
    repository), so the loader reads that directory and only the shards
    the footprint touches.
    """
    directory = Path(butler.get("ref_cat_config_filename")[0]).parent
    return ReferenceCatalogLoader(directory).load_exposure_region(exposure)
