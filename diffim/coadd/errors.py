"""Errors of the coadd tasks: one family under `diffim.errors.DiffimError`."""
from ..errors import DiffimError

__all__ = ["CoaddError", "CoaddInputError", "NoCoaddInputsError"]


class CoaddError(DiffimError):
    """A coadd cannot be made as configured (unknown coaddName, statistic, ...)."""


class CoaddInputError(CoaddError):
    """An input calexp lacks a PSF, WCS or PhotoCalib, or disagrees with the others."""


class NoCoaddInputsError(CoaddError):
    """No selected calexp contributes a pixel to a requested patch."""
