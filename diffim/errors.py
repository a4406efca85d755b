"""The exception hierarchy of ``diffim``.

Every error the package raises on bad input is a `DiffimError`, with a message
that names the file, data ID, config field or object at fault, so a command
line can print it as one line.
"""

__all__ = [
    "DiffimError",
    "FitsFormatError",
    "GeometryError",
    "MaskPlaneError",
    "PsfError",
    "SimulationError",
]


class DiffimError(Exception):
    """Base class of every error raised by ``diffim`` on bad input."""


class FitsFormatError(DiffimError):
    """A FITS file is missing, corrupt, truncated, or not shaped as expected."""


class GeometryError(DiffimError):
    """A bounding box or pixel region is empty, inconsistent or out of range."""


class MaskPlaneError(DiffimError):
    """A mask plane is unknown, or no free bit is left for a new one."""


class PsfError(DiffimError):
    """A PSF model is invalid, or a PSF cannot be measured from an image."""


class SimulationError(DiffimError):
    """The simulator was asked for something it cannot make."""
