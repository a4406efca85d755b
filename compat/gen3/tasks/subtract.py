"""``PipelineTask`` wrappers of the ``diffim`` tasks.

Each wrapper's config IS the ``diffim`` config (the classes inherit from it
as well as from ``PipelineTaskConfig``), so its fields, defaults and
override files are the ones gen2 and the ``diffim`` command line use. Its
``runQuantum`` reads the inputs, calls ``run`` and writes the outputs; the
science is in the ``diffim`` task ``run`` delegates to.

Dataset-type names follow the stack's templates (``ip_diffim``), with
``coaddName = "deep"`` and ``fakesType = ""`` by default:

- in: ``template`` = ``{fakesType}{coaddName}Diff_templateExp`` (DiffimExposure),
  ``science`` = ``{fakesType}calexp`` (DiffimExposure), ``sources`` =
  ``{fakesType}src`` (DataFrame);
- out: ``difference`` = ``{fakesType}{coaddName}Diff_differenceTempExp``
  (DiffimExposure), ``matchedTemplate`` = ``{fakesType}{coaddName}Diff_matchedExp``
  (DiffimExposure), ``psfMatchingKernel`` =
  ``{fakesType}{coaddName}Diff_psfMatchKernel`` (DiffimMatchingKernel),
  ``kernelSources`` = ``{fakesType}{coaddName}Diff_psfMatchSources`` (DataFrame).

All have dimensions ``instrument, visit, detector``. As in the stack, the
subtraction's difference is ``..._differenceTempExp``: detection and
measurement write the final ``..._differenceExp``.
"""
from __future__ import annotations

import lsst.pipe.base as pipeBase
from lsst.pipe.base import connectionTypes

from diffim import subtract

__all__ = ["AlardLuptonSubtractConfig", "AlardLuptonSubtractConnections",
           "AlardLuptonSubtractTask"]

_DIMENSIONS = ("instrument", "visit", "detector")
_DEFAULT_TEMPLATES = {"coaddName": "deep", "fakesType": ""}


class AlardLuptonSubtractConnections(pipeBase.PipelineTaskConnections,
                                     dimensions=_DIMENSIONS,
                                     defaultTemplates=_DEFAULT_TEMPLATES):
    """Inputs and outputs of `AlardLuptonSubtractTask` (the stack's names)."""

    template = connectionTypes.Input(
        doc="Template warped onto the science detector's pixel grid.",
        dimensions=_DIMENSIONS, storageClass="DiffimExposure",
        name="{fakesType}{coaddName}Diff_templateExp")
    science = connectionTypes.Input(
        doc="Calibrated science exposure.",
        dimensions=_DIMENSIONS, storageClass="DiffimExposure", name="{fakesType}calexp")
    sources = connectionTypes.Input(
        doc="Science sources that kernel sources are selected from.",
        dimensions=_DIMENSIONS, storageClass="DataFrame", name="{fakesType}src")
    difference = connectionTypes.Output(
        doc="Difference image, before detection and measurement.",
        dimensions=_DIMENSIONS, storageClass="DiffimExposure",
        name="{fakesType}{coaddName}Diff_differenceTempExp")
    matchedTemplate = connectionTypes.Output(
        doc="Template PSF-matched to the science image (or the science image matched "
            "to the template, in convolveScience mode: the stack keeps the name).",
        dimensions=_DIMENSIONS, storageClass="DiffimExposure",
        name="{fakesType}{coaddName}Diff_matchedExp")
    psfMatchingKernel = connectionTypes.Output(
        doc="Spatially varying PSF-matching kernel.",
        dimensions=_DIMENSIONS, storageClass="DiffimMatchingKernel",
        name="{fakesType}{coaddName}Diff_psfMatchKernel")
    kernelSources = connectionTypes.Output(
        doc="Kernel candidates with their status and fit statistics.",
        dimensions=_DIMENSIONS, storageClass="DataFrame",
        name="{fakesType}{coaddName}Diff_psfMatchSources")


class AlardLuptonSubtractConfig(pipeBase.PipelineTaskConfig, subtract.AlardLuptonSubtractConfig,
                                pipelineConnections=AlardLuptonSubtractConnections):
    """`diffim.subtract.AlardLuptonSubtractConfig` with the connections above."""


class AlardLuptonSubtractTask(pipeBase.PipelineTask):
    """PipelineTask running `diffim.subtract.AlardLuptonSubtractTask` on one detector."""

    ConfigClass = AlardLuptonSubtractConfig
    _DefaultName = "subtractImages"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # The config is also a diffim config, so the diffim task takes it as is.
        self.subtract = subtract.AlardLuptonSubtractTask(config=self.config, name=self.getName())

    def run(self, template, science, sources=None):
        """Run `diffim.subtract.AlardLuptonSubtractTask.run`; same arguments and results.

        Its metadata (mode, kernel sum, candidate counts, variance factors)
        becomes this task's, so it lands in the ``subtractImages_metadata``
        dataset.

        Returns
        -------
        result : `lsst.pipe.base.Struct`
        """
        result = self.subtract.run(template, science, sources)
        for key, value in self.subtract.getFullMetadata().items():
            self.metadata[key] = value
        return pipeBase.Struct(**result.getDict())

    def runQuantum(self, butlerQC, inputRefs, outputRefs):
        """Read the inputs, `run`, write the outputs."""
        butlerQC.put(self.run(**butlerQC.get(inputRefs)), outputRefs)
