"""Alard-Lupton PSF matching: basis, kernel fit, spatial solution, convolution.

`fit_psf_matching_kernel` fits a spatially varying kernel mapping a template
onto a science exposure from kernel-candidate positions; `convolve_exposure`
applies it (image, variance, mask). Everything here runs on in-memory
`diffim.Exposure` objects, with parameters named as the stack's config fields
(`PsfMatchConfig`).
"""
from .basis import (KernelBasis, alard_lupton_widths, make_alard_lupton_basis, make_basis,
                    make_delta_function_basis, regularization_matrix)
from .config import PsfMatchConfig
from .convolve import convolve_exposure, convolve_image, convolve_variance
from .errors import (NoKernelCandidatesError, PsfMatchConfigError, PsfMatchInputError,
                     SingularSystemError)
from .fit import PsfMatchResult, fit_psf_matching_kernel
from .kernel import SpatialBackground, SpatialKernel
from .spatial import SpatialFunction

__all__ = [
    "KernelBasis",
    "NoKernelCandidatesError",
    "PsfMatchConfig",
    "PsfMatchConfigError",
    "PsfMatchInputError",
    "PsfMatchResult",
    "SingularSystemError",
    "SpatialBackground",
    "SpatialFunction",
    "SpatialKernel",
    "alard_lupton_widths",
    "convolve_exposure",
    "convolve_image",
    "convolve_variance",
    "fit_psf_matching_kernel",
    "make_alard_lupton_basis",
    "make_basis",
    "make_delta_function_basis",
    "regularization_matrix",
]
