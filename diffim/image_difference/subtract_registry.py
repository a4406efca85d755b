"""``subtract``: the stack's registry of subtraction algorithms (``al``, ``zogy``).

Override files choose the algorithm with ``config.subtract.name`` (or
``config.subtract = 'zogy'``) and set the kernel as
``config.subtract['al'].kernel['AL'].kernelSize``; files older than 2017,
when ``subtract`` was one task, wrote ``config.subtract.kernel.name``. The
``al`` entry is `ImagePsfMatchTask`, this package's `AlardLuptonSubtractTask`
with the stack's config names: its ``kernel`` is the same object as its
``makeKernel.kernel``, and the field keeps the project's own paths
(``config.subtract.makeKernel...``, ``config.subtract.mode``): attributes of
``config.subtract`` reach the selected algorithm's config.

The ``zogy`` entry is `ZogyImagePsfMatchTask`: `diffim.zogy.ZogyTask` with
ip_diffim's config names (``subtract['zogy'].zogyConfig.*``).
"""
from __future__ import annotations

import lsst.pex.config as pexConfig
import numpy as np
from lsst.pex.config.registry import RegistryInstanceDict

from ..config.aliases import legacy_aliases
from ..measure.detection import SourceDetectionTask
from ..subtract.task import AlardLuptonSubtractConfig, AlardLuptonSubtractTask
from ..task import Struct, Task
from ..zogy.task import ZogyConfig, ZogyTask
from .stack_measurement import ImageMapReduceConfig, SingleFrameMeasurementConfig

__all__ = ["ImagePsfMatchConfig", "ImagePsfMatchTask", "SubtractField",
           "ZogyImagePsfMatchConfig", "ZogyImagePsfMatchTask", "subtractAlgorithmRegistry"]


class _SelectMeasurementTask(Task):
    ConfigClass = SingleFrameMeasurementConfig
    _DefaultName = "selectMeasurement"


@legacy_aliases(kernel="makeKernel.kernel")
class ImagePsfMatchConfig(AlardLuptonSubtractConfig):
    """ip_diffim ``ImagePsfMatchConfig`` names over `AlardLuptonSubtractConfig`.

    ``selectDetection`` and ``selectMeasurement`` configured the detection of
    kernel candidates when no source catalogue was given; here that is
    `diffim.kernel_sources`, so they are accepted but not applied.
    """

    selectDetection = pexConfig.ConfigurableField(
        target=SourceDetectionTask, doc="Detection of kernel candidates (not applied here).")
    selectMeasurement = pexConfig.ConfigurableField(
        target=_SelectMeasurementTask, doc="Measurement of kernel candidates (not applied here).")

    def setDefaults(self):
        super().setDefaults()
        self.selectDetection.reEstimateBackground = False
        self.selectDetection.thresholdValue = 10.0
        self.selectMeasurement.plugins.names = [
            "base_SdssCentroid", "base_PsfFlux", "base_PixelFlags", "base_SdssShape",
            "base_GaussianFlux", "base_SkyCoord"]
        for slot in ("modelFlux", "apFlux", "calibFlux"):
            setattr(self.selectMeasurement.slots, slot, None)


class ImagePsfMatchTask(AlardLuptonSubtractTask):
    """``subtract['al']``: Alard-Lupton PSF matching and subtraction."""

    ConfigClass = ImagePsfMatchConfig
    _DefaultName = "subtract"


class ZogyMapReduceConfig(ImageMapReduceConfig):
    """ZOGY per grid cell (2017-2020)."""

    mapper = pexConfig.ConfigField(dtype=ZogyConfig, doc="Each cell's ZOGY.")


class ZogyImagePsfMatchConfig(ImagePsfMatchConfig):
    """ip_diffim ``ZogyImagePsfMatchConfig``."""

    zogyConfig = pexConfig.ConfigField(dtype=ZogyConfig, doc="ZOGY on the whole exposure.")
    zogyMapReduceConfig = pexConfig.ConfigField(dtype=ZogyMapReduceConfig,
                                                doc="ZOGY per grid cell (2017-2020).")


class ZogyImagePsfMatchTask(Task):
    """``subtract['zogy']``: ZOGY proper subtraction (`diffim.zogy.ZogyTask`).

    Its config is ip_diffim's ``ZogyImagePsfMatchConfig``: the Alard-Lupton
    fields (which ZOGY does not read, as in the stack) and ``zogyConfig``.
    ``doScaleVariance`` (the monolith's ``doScaleDiffimVariance``) rescales the
    difference's and the score's variance to their empirical noise, as the
    stack's task did for the image it detected on.
    """

    ConfigClass = ZogyImagePsfMatchConfig
    _DefaultName = "subtract"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.zogy = ZogyTask(config=self.config.zogyConfig, name="zogy", parentTask=self)
        self.makeSubtask("scaleVariance")

    def run(self, template, science, sources=None):
        """Subtract ``template`` from ``science`` with ZOGY.

        Parameters
        ----------
        template : `diffim.Exposure`
            Template on the science pixel grid.
        science : `diffim.Exposure`
            Science exposure.
        sources : `pandas.DataFrame`, optional
            Kernel sources: accepted for the registry's common interface;
            ZOGY needs none.

        Returns
        -------
        result : `Struct`
            ``difference``, ``score``, ``matchedScience``,
            ``matchedTemplate`` (`diffim.zogy.ZogyTask.run`), and
            ``psfMatchingKernel``, ``backgroundModel``, ``kernelSources``
            (None: ZOGY has no fitted kernel).
        """
        result = self.zogy.run(template, science)
        if self.config.doScaleVariance:
            for label, exposure in (("difference", result.difference), ("score", result.score)):
                factor = self.scaleVariance.run(exposure).factor
                exposure.variance *= np.float32(factor)
                self.metadata[f"{label}VarianceFactor"] = factor
        return Struct(difference=result.difference, score=result.score,
                      matchedScience=result.matchedScience,
                      matchedTemplate=result.matchedTemplate, psfMatchingKernel=None,
                      backgroundModel=None, kernelSources=None)


subtractAlgorithmRegistry = pexConfig.makeRegistry("Image subtraction algorithms.")
subtractAlgorithmRegistry.register("al", ImagePsfMatchTask)
subtractAlgorithmRegistry.register("zogy", ZogyImagePsfMatchTask, ZogyImagePsfMatchConfig)


class _SubtractInstanceDict(RegistryInstanceDict):
    """A registry dict whose attributes also reach the selected algorithm's config.

    So the project's paths (``subtract.makeKernel``, ``subtract.mode``) and
    the pre-2017 ones (``subtract.kernel``) keep working.
    """

    def __getattr__(self, name):
        if name.startswith("_") or self.active is None:
            raise AttributeError(name)
        return getattr(self.active, name)

    def __setattr__(self, name, value):
        if not name.startswith("_") and name not in ("name", "names", "registry") \
                and self.active is not None and hasattr(self.active, name):
            setattr(self.active, name, value)
        else:
            super().__setattr__(name, value)


class SubtractField(pexConfig.RegistryField):
    """`RegistryField` of `subtractAlgorithmRegistry` with `_SubtractInstanceDict` values."""

    instanceDictClass = _SubtractInstanceDict
