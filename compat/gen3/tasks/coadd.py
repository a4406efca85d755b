"""`MakeCalexpCoaddTask`: one calexp -> a one-input ``{coaddName}Coadd`` on its patches.

The community thread's proposal for calexp templates: turn the template
calexp into a coadd (``calexpCoadd`` by default, dimensions skymap, tract,
patch, band), then difference against it with the coadd-template pipeline
configured with the same ``coaddName``. A coadd patch has no visit in its
data ID, so one run must make each patch from one calexp: name the template
calexp in the data query (e.g. ``visit=1 AND detector=0``); two calexps
reaching one patch would be two producers of one dataset, which the graph
builder refuses.
"""
from __future__ import annotations

import lsst.pipe.base as pipeBase
from lsst.pipe.base import connectionTypes

from diffim import coadd
from diffim.config.fresh import defaults_copied

from .base import COADD_DIMENSIONS, DEFAULT_TEMPLATES, VISIT_DETECTOR, calexp_connection
from .wrapper import DiffimPipelineTask

__all__ = ["MakeCalexpCoaddConfig", "MakeCalexpCoaddConnections", "MakeCalexpCoaddTask"]


class MakeCalexpCoaddConnections(pipeBase.PipelineTaskConnections, dimensions=VISIT_DETECTOR,
                                 defaultTemplates={**DEFAULT_TEMPLATES, "coaddName": "calexp"}):
    """Calexp + skymap -> the coadd patches it touches (registry spatial join)."""

    calexp = calexp_connection("The calexp to turn into a coadd.")
    skyMap = connectionTypes.Input(
        doc="Skymap whose patches the coadd is made on.", dimensions=("skymap",),
        storageClass="DiffimSkyMap", name="skyMap")
    coaddExposures = connectionTypes.Output(
        doc="One-input coadd patches.", dimensions=COADD_DIMENSIONS,
        storageClass="DiffimExposure", name="{fakesType}{coaddName}Coadd", multiple=True)


@defaults_copied
class MakeCalexpCoaddConfig(pipeBase.PipelineTaskConfig, coadd.MakeCalexpCoaddConfig,
                            pipelineConnections=MakeCalexpCoaddConnections):
    """`diffim.coadd.MakeCalexpCoaddConfig` with the connections above."""


class MakeCalexpCoaddTask(DiffimPipelineTask):
    """PipelineTask running `diffim.coadd.MakeCalexpCoaddTask` on one calexp."""

    ConfigClass = MakeCalexpCoaddConfig
    _DefaultName = "makeCalexpCoadd"
    _DiffimTask = coadd.MakeCalexpCoaddTask
    _diffimTaskOptions = {"threads": 1}  # one thread per quantum: pipetask -j spreads quanta

    def call(self, calexp, skyMap):
        """Coadd ``calexp`` on every patch it touches.

        Returns
        -------
        outputs : `dict`
            ``coaddExposures``: `dict` ``(tract, patch) -> Exposure``.
        """
        return {"coaddExposures": self.diffimTask.run(calexp, skyMap).coadds}

    def writeOutputs(self, butlerQC, outputs, outputRefs):
        """Put the patches the registry's join predicted and ``diffim`` made.

        The registry's regions and ``diffim``'s overlap test agree except
        where a calexp reaches a patch by less than the warping kernel: such
        a patch is predicted but not made, and simply not written.
        """
        for ref in outputRefs.coaddExposures:
            key = (ref.dataId["tract"], ref.dataId["patch"])
            if key in outputs.coaddExposures:
                butlerQC.put(outputs.coaddExposures[key], ref)
