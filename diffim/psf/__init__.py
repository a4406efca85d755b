"""PSF models and PSF measurement.

Models (method names as the Rubin stack's ``afw.detection.Psf``):
`GaussianPsf`, `DoubleGaussianPsf`, `MoffatPsf` (analytic, pixel-integrated),
`PixelPsf` (a kernel image), `InterpolatedPsf` (kernel images on a grid of
positions) and `VaryingPsf` (an analytic PSF with polynomial parameters).
`psf_from_hdu` reads any of them back from the FITS table our exposures store;
`measure_psf` measures the PSF of an image that has none.
"""
from .analytic import DoubleGaussianPsf, GaussianPsf, MoffatPsf
from .base import Psf
from .interpolated import InterpolatedPsf
from .measure import PsfMeasurement, measure_psf
from .persistence import psf_from_hdu
from .pixel import PixelPsf
from .varying import VaryingPsf

__all__ = [
    "DoubleGaussianPsf",
    "GaussianPsf",
    "InterpolatedPsf",
    "MoffatPsf",
    "PixelPsf",
    "Psf",
    "PsfMeasurement",
    "VaryingPsf",
    "measure_psf",
    "psf_from_hdu",
]
