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

``zogy`` holds ip_diffim's ZOGY config; until a ZOGY task is registered in
its place (``subtractAlgorithmRegistry.register("zogy", ...)`` in the
module that provides it), selecting it runs Alard-Lupton and says so
(`ZogyImagePsfMatchTask.NOT_APPLIED`).
"""
from __future__ import annotations

import lsst.pex.config as pexConfig
from lsst.pex.config.registry import RegistryInstanceDict

from ..config.aliases import legacy_aliases
from ..measure.detection import SourceDetectionTask
from ..subtract.task import AlardLuptonSubtractConfig, AlardLuptonSubtractTask
from ..task import Task
from .stack_measurement import ImageMapReduceConfig, SingleFrameMeasurementConfig

__all__ = ["ImagePsfMatchConfig", "ImagePsfMatchTask", "SubtractField", "ZogyConfig",
           "stand_in_reason",
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


class ZogyConfig(pexConfig.Config):
    """ip_diffim ``ZogyConfig`` (2017-2022 fields)."""

    inImageSpace = pexConfig.Field(dtype=bool, default=False,
                                   doc="Work in image space rather than Fourier space?")
    padSize = pexConfig.Field(dtype=int, default=7, doc="Padding of the PSFs (image space).")
    templateFluxScaling = pexConfig.Field(dtype=float, default=1.0, doc="Template flux scale.")
    scienceFluxScaling = pexConfig.Field(dtype=float, default=1.0, doc="Science flux scale.")
    doTrimKernels = pexConfig.Field(dtype=bool, default=False, doc="Trim the kernels?")
    doFilterPsfs = pexConfig.Field(dtype=bool, default=True, doc="Filter the PSFs?")
    ignoreMaskPlanes = pexConfig.ListField(
        dtype=str, default=["INTRP", "EDGE", "DETECTED", "SAT", "CR", "BAD", "NO_DATA",
                            "DETECTED_NEGATIVE"], doc="Planes left out of the statistics.")
    scaleByCalibration = pexConfig.Field(dtype=bool, default=True,
                                         doc="Scale by the photometric calibrations?")
    correctBackground = pexConfig.Field(dtype=bool, default=False,
                                        doc="Subtract a constant background first?")
    maxPsfCentroidDist = pexConfig.Field(dtype=float, default=0.2,
                                         doc="Largest PSF centroid offset (pixels).")
    doSpatialGrid = pexConfig.Field(dtype=bool, default=False, doc="Run on a spatial grid?")
    gridInnerSize = pexConfig.Field(dtype=float, default=8, doc="Grid cell size (PSF FWHMs).")


class ZogyMapReduceConfig(ImageMapReduceConfig):
    """ZOGY per grid cell (2017-2020)."""

    mapper = pexConfig.ConfigField(dtype=ZogyConfig, doc="Each cell's ZOGY.")


class ZogyImagePsfMatchConfig(ImagePsfMatchConfig):
    """ip_diffim ``ZogyImagePsfMatchConfig``."""

    zogyConfig = pexConfig.ConfigField(dtype=ZogyConfig, doc="ZOGY on the whole exposure.")
    zogyMapReduceConfig = pexConfig.ConfigField(dtype=ZogyMapReduceConfig,
                                                doc="ZOGY per grid cell (2017-2020).")


class ZogyImagePsfMatchTask(ImagePsfMatchTask):
    """``subtract['zogy']`` until a ZOGY task is registered: Alard-Lupton, said out loud.

    It runs with ``subtract['al']``'s config (what the file set for Alard-Lupton),
    hence the ``al`` config class; the registry gives the ``zogy`` entry ZOGY's.
    """

    NOT_APPLIED = "ZOGY is not implemented here; Alard-Lupton runs instead"
    """Why choosing this entry does not do what it says (`diffim.config.not_applied`)."""


subtractAlgorithmRegistry = pexConfig.makeRegistry("Image subtraction algorithms.")
subtractAlgorithmRegistry.register("al", ImagePsfMatchTask)
subtractAlgorithmRegistry.register("zogy", ZogyImagePsfMatchTask, ZogyImagePsfMatchConfig)


def stand_in_reason(target):
    """Why registry entry ``target`` does not do what its name says, or None if it does.

    (A ``register(name, target, ConfigClass)`` entry is pex_config's wrapper of the target.)
    """
    return getattr(getattr(target, "_target", target), "NOT_APPLIED", None)


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
