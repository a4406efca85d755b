"""Alard-Lupton subtraction of two exposures, as `AlardLuptonSubtractTask` runs it.

Modules:

- `task`: `AlardLuptonSubtractTask` and its config: kernel sources, PSF
  matching (`diffim.psfmatch`), convolution, subtraction, the modes
  (``convolveTemplate``, ``convolveScience``, ``auto``, ``preconvolve``);
- `decorrelate`: the Fourier-space decorrelation afterburner;
- `preconvolve`: the score image's pre-convolution of the science image by its PSF;
- `scale_variance`: `ScaleVarianceTask`, variance planes brought to the measured noise.
"""
from .scale_variance import ScaleVarianceConfig, ScaleVarianceTask
from .task import (
    AlardLuptonSubtractConfig,
    AlardLuptonSubtractTask,
    NoTemplateCoverageError,
)

__all__ = [
    "AlardLuptonSubtractConfig",
    "AlardLuptonSubtractTask",
    "NoTemplateCoverageError",
    "ScaleVarianceConfig",
    "ScaleVarianceTask",
]
