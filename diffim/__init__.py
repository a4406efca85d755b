"""Alard-Lupton image differencing, independent of any middleware.

Public API: the exposure data model and its FITS I/O. The PSF models live in
`diffim.psf`, the simulator in `diffim.sim`, the command line in `diffim.cli`.
"""
from .errors import (DiffimError, FitsFormatError, GeometryError, MaskPlaneError, PsfError,
                     SimulationError)
from .exposure import Exposure, PhotoCalib, VisitInfo
from .geom import Box
from .mask import DEFAULT_MASK_PLANES, Mask, MaskPlanes

__version__ = "0.1.0"

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
]
