"""`DetectAndMeasureTask`: the detection half of the split pipeline.

- in: ``science`` = ``{fakesType}calexp``, ``matchedTemplate`` =
  ``{fakesType}{coaddName}Diff_matchedExp``, ``difference`` =
  ``{fakesType}{coaddName}Diff_differenceTempExp`` (the subtraction's);
- out: ``diaSources`` = ``{fakesType}{coaddName}Diff_diaSrc`` (DataFrame),
  ``subtractedMeasuredExposure`` = ``{fakesType}{coaddName}Diff_differenceExp``
  (the difference with its detection mask planes).

With ``fromExistingDifference`` it is gen2's ``doSubtract = False``: it reads
a difference already persisted as ``..._differenceExp`` (e.g. in an earlier
run's collection) and writes only ``..._diaSrc``.
"""
from __future__ import annotations

import dataclasses

import lsst.pex.config as pexConfig
import lsst.pipe.base as pipeBase
from lsst.pipe.base import connectionTypes

from diffim.config.fresh import defaults_copied
from diffim.measure import task as measure

from .base import (DEFAULT_TEMPLATES, VISIT_DETECTOR, TemplateVisitKeyConfig, calexp_connection,
                   key_by_template_visit)
from .wrapper import DiffimPipelineTask

__all__ = ["DetectAndMeasureConfig", "DetectAndMeasureConnections", "DetectAndMeasureTask"]


class DetectAndMeasureConnections(pipeBase.PipelineTaskConnections, dimensions=VISIT_DETECTOR,
                                  defaultTemplates=DEFAULT_TEMPLATES):
    """Science + matched template + difference -> DIA sources and the final difference."""

    science = calexp_connection("Calibrated science exposure.")
    matchedTemplate = connectionTypes.Input(
        doc="Template PSF-matched to the science image.", dimensions=VISIT_DETECTOR,
        storageClass="DiffimExposure", name="{fakesType}{coaddName}Diff_matchedExp")
    difference = connectionTypes.Input(
        doc="Difference image.", dimensions=VISIT_DETECTOR, storageClass="DiffimExposure",
        name="{fakesType}{coaddName}Diff_differenceTempExp")
    diaSources = connectionTypes.Output(
        doc="DIA sources (schema of diffim.measure.schema).", dimensions=VISIT_DETECTOR,
        storageClass="DataFrame", name="{fakesType}{coaddName}Diff_diaSrc")
    subtractedMeasuredExposure = connectionTypes.Output(
        doc="Difference image with DETECTED and DETECTED_NEGATIVE set.",
        dimensions=VISIT_DETECTOR, storageClass="DiffimExposure",
        name="{fakesType}{coaddName}Diff_differenceExp")

    def __init__(self, *, config=None):
        super().__init__(config=config)
        if config.fromExistingDifference:
            self.difference = dataclasses.replace(
                self.difference, name=self.subtractedMeasuredExposure.name,
                doc="Persisted difference image (gen2's doSubtract = False).")
            del self.subtractedMeasuredExposure
        key_by_template_visit(self, config, ("matchedTemplate", "difference", *self.outputs))


@defaults_copied
class DetectAndMeasureConfig(pipeBase.PipelineTaskConfig, TemplateVisitKeyConfig,
                             measure.DetectAndMeasureConfig,
                             pipelineConnections=DetectAndMeasureConnections):
    """`diffim.measure.DetectAndMeasureConfig` with the connections above."""

    fromExistingDifference = pexConfig.Field(
        dtype=bool, default=False,
        doc="Detect on an already persisted ..._differenceExp and write only ..._diaSrc "
            "(gen2's doSubtract = False)?")


class DetectAndMeasureTask(DiffimPipelineTask):
    """PipelineTask running `diffim.measure.DetectAndMeasureTask` on one detector.

    Inputs and outputs are named as that task's arguments and results
    (``diaSources``, ``subtractedMeasuredExposure``; only the first on an
    existing difference).
    """

    ConfigClass = DetectAndMeasureConfig
    _DefaultName = "detectAndMeasure"
    _DiffimTask = measure.DetectAndMeasureTask
