"""Warping exposures onto another WCS and pixel grid (Lanczos).

Modules:

- `warper`: `Warper` / `warp_exposure`: image, variance and mask resampled;
- `geometry`: the pixel mapping through the sky, evaluated on a coarse grid;
- `psf`: the input PSF carried to the target frame.
"""
from .warper import Warper, WarperConfig, WarpError, warp_exposure

__all__ = [
    "WarpError",
    "Warper",
    "WarperConfig",
    "warp_exposure",
]
