"""Errors raised by PSF matching.

They subclass `diffim.errors.DiffimError`, so a command line catches them
with the rest of the package's input errors.
"""
from ..errors import DiffimError

__all__ = ["BadKernelMatchError", "NoKernelCandidatesError", "PsfMatchConfigError",
           "PsfMatchInputError", "SingularSystemError"]


class NoKernelCandidatesError(DiffimError):
    """No kernel candidate is left to constrain the PSF-matching kernel."""


class BadKernelMatchError(DiffimError):
    """The fitted kernel does not match the kernel sources' flux or width (a deconvolution)."""


class SingularSystemError(DiffimError):
    """A kernel normal-equation system cannot be solved."""


class PsfMatchInputError(DiffimError):
    """An image given to PSF matching is unusable (NaN, non-positive variance, no overlap)."""


class PsfMatchConfigError(DiffimError):
    """PSF-matching parameters are inconsistent (e.g. ``alardDegGauss`` vs ``alardNGauss``)."""
