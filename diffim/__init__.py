"""Alard-Lupton image differencing, independent of any middleware.

Public API: the data model (`Exposure`, `Mask`, `Box`), the errors, exposure
I/O and the tasks users reach for, with their configs. The tasks and I/O
functions are imported on first use, so that ``import diffim`` stays cheap.

Subpackages: `io` (files), `psf` (PSF models and their measurement),
`psfmatch` (the Alard-Lupton core and `MakeKernelTask`), `subtract`
(`AlardLuptonSubtractTask`, decorrelation, score image), `measure`
(`DetectAndMeasureTask`), `template` (templates from coadds or calexps),
`image_difference` (the legacy monolith and its parts), `coadd`, `warp`,
`sky` (WCS, skymaps, reference catalogues, matching), `sources` (``src`` and
kernel sources), `image` (statistics, background, peaks), `sim` (the
simulator), `cli` (the ``diffim`` command).
"""
from ._loading import settings_while_loading

# OpenBLAS's idle threads busy-wait 2^28 clock cycles (~0.1 s) after each threaded call (and
# each thread-count change, as `diffim.task.single_threaded_blas` makes) before they sleep;
# 2^4 makes them sleep at once. numpy's OpenBLAS reads it as numpy loads, here (unless numpy
# came first): NIRCam's diffim subtract 2.45-2.54 -> 2.21-2.32 CPU s (scipy's own OpenBLAS,
# loaded later with scipy.linalg, keeps its default: 0.03-0.1 s more).
with settings_while_loading(OPENBLAS_THREAD_TIMEOUT="4"):
    import numpy  # noqa: F401

from . import _legacy_paths
from ._lazy import lazy_exports
from .errors import (
    DiffimError,
    FitsFormatError,
    GeometryError,
    MaskPlaneError,
    PsfError,
    SimulationError,
)
from .exposure import Exposure, PhotoCalib, VisitInfo
from .geom import Box
from .mask import DEFAULT_MASK_PLANES, Mask, MaskPlanes

__version__ = "0.1.0"

_legacy_paths.install()

_LAZY_EXPORTS = {
    "read_exposure": "diffim.io",
    "write_exposure": "diffim.io",
    "read_catalog": "diffim.measure",
    "write_catalog": "diffim.measure",
    "AlardLuptonSubtractConfig": "diffim.subtract",
    "AlardLuptonSubtractTask": "diffim.subtract",
    "ScaleVarianceConfig": "diffim.subtract",
    "ScaleVarianceTask": "diffim.subtract",
    "MakeKernelConfig": "diffim.psfmatch.make_kernel",
    "MakeKernelTask": "diffim.psfmatch.make_kernel",
    "DetectAndMeasureConfig": "diffim.measure",
    "DetectAndMeasureTask": "diffim.measure",
    "GetCoaddAsTemplateConfig": "diffim.template",
    "GetCoaddAsTemplateTask": "diffim.template",
    "GetCalexpAsTemplateConfig": "diffim.template",
    "GetCalexpAsTemplateTask": "diffim.template",
    "ImageDifferenceConfig": "diffim.image_difference",
    "ImageDifferenceTask": "diffim.image_difference",
    "Winter2013ImageDifferenceConfig": "diffim.image_difference",
    "Winter2013ImageDifferenceTask": "diffim.image_difference",
    "MakeCoaddConfig": "diffim.coadd",
    "MakeCoaddTask": "diffim.coadd",
}
"""Public name -> the module that defines it, imported on first access."""


__getattr__ = lazy_exports(globals(), _LAZY_EXPORTS)


__all__ = [
    "Box",
    "DEFAULT_MASK_PLANES",
    "DiffimError",
    "FitsFormatError",
    "GeometryError",
    "MaskPlaneError",
    "PsfError",
    "SimulationError",
    "Exposure",
    "Mask",
    "MaskPlanes",
    "PhotoCalib",
    "VisitInfo",
    *_LAZY_EXPORTS,
]
