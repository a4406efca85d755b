"""`AlardLuptonSubtractTask`: the subtraction half of the split pipeline.

Its config IS the ``diffim`` config (the class inherits from it as well as
from ``PipelineTaskConfig``), so its fields, defaults and override files are
the ones gen2 and the ``diffim`` command line use.

- in: ``template`` = ``{fakesType}{coaddName}Diff_templateExp``,
  ``science`` = ``{fakesType}calexp``, ``sources`` = ``{fakesType}src``;
- out: ``difference`` = ``{fakesType}{coaddName}Diff_differenceTempExp``,
  ``matchedTemplate`` = ``..._matchedExp``, ``psfMatchingKernel`` =
  ``..._psfMatchKernel`` (DiffimMatchingKernel), ``kernelSources`` =
  ``..._psfMatchSources`` (DataFrame).

As in the stack, the subtraction's difference is ``..._differenceTempExp``:
detection and measurement write the final ``..._differenceExp``. With
``mode = "preconvolve"`` (the stack's separate
``AlardLuptonPreconvolveSubtractTask`` and its ``scoreExp``) the same
connection holds the score image; detect it with ``detection.doSmooth = False``.
"""
from __future__ import annotations

import lsst.pipe.base as pipeBase
import pandas as pd
from lsst.pipe.base import connectionTypes

from diffim import subtract
from diffim.config.fresh import defaults_copied

from .base import (DEFAULT_TEMPLATES, VISIT_DETECTOR, TemplateVisitKeyConfig, calexp_connection,
                   key_by_template_visit, source_connection)
from .wrapper import DiffimPipelineTask

__all__ = ["AlardLuptonSubtractConfig", "AlardLuptonSubtractConnections",
           "AlardLuptonSubtractTask"]


class AlardLuptonSubtractConnections(pipeBase.PipelineTaskConnections,
                                     dimensions=VISIT_DETECTOR,
                                     defaultTemplates=DEFAULT_TEMPLATES):
    """Inputs and outputs of `AlardLuptonSubtractTask` (the stack's names)."""

    template = connectionTypes.Input(
        doc="Template warped onto the science detector's pixel grid.",
        dimensions=VISIT_DETECTOR, storageClass="DiffimExposure",
        name="{fakesType}{coaddName}Diff_templateExp")
    science = calexp_connection("Calibrated science exposure.")
    sources = source_connection("Science sources that kernel sources are selected from.")
    difference = connectionTypes.Output(
        doc="Difference image, before detection and measurement.",
        dimensions=VISIT_DETECTOR, storageClass="DiffimExposure",
        name="{fakesType}{coaddName}Diff_differenceTempExp")
    matchedTemplate = connectionTypes.Output(
        doc="Template PSF-matched to the science image (or the science image matched "
            "to the template, in convolveScience mode: the stack keeps the name).",
        dimensions=VISIT_DETECTOR, storageClass="DiffimExposure",
        name="{fakesType}{coaddName}Diff_matchedExp")
    psfMatchingKernel = connectionTypes.Output(
        doc="Spatially varying PSF-matching kernel.",
        dimensions=VISIT_DETECTOR, storageClass="DiffimMatchingKernel",
        name="{fakesType}{coaddName}Diff_psfMatchKernel")
    kernelSources = connectionTypes.Output(
        doc="Kernel candidates with their status and fit statistics.",
        dimensions=VISIT_DETECTOR, storageClass="DataFrame",
        name="{fakesType}{coaddName}Diff_psfMatchSources")

    def __init__(self, *, config=None):
        super().__init__(config=config)
        key_by_template_visit(self, config, ("template", *self.outputs))


@defaults_copied
class AlardLuptonSubtractConfig(pipeBase.PipelineTaskConfig, TemplateVisitKeyConfig,
                                subtract.AlardLuptonSubtractConfig,
                                pipelineConnections=AlardLuptonSubtractConnections):
    """`diffim.subtract.AlardLuptonSubtractConfig` with the connections above."""


class AlardLuptonSubtractTask(DiffimPipelineTask):
    """PipelineTask running `diffim.subtract.AlardLuptonSubtractTask` on one detector.

    Inputs and outputs are named as that task's arguments and results; its
    metadata (mode, kernel sum, candidate counts, variance factors) lands in
    ``subtractImages_metadata``.
    """

    ConfigClass = AlardLuptonSubtractConfig
    _DefaultName = "subtractImages"
    _DiffimTask = subtract.AlardLuptonSubtractTask

    def call(self, **inputs):
        """The ``diffim`` task's results, its kernel candidates (a record array) as the
        DataFrame the ``kernelSources`` connection stores."""
        outputs = super().call(**inputs)
        outputs["kernelSources"] = pd.DataFrame(outputs["kernelSources"])
        return outputs
