"""Alard-Lupton subtraction of two exposures, as `AlardLuptonSubtractTask` runs it.

Modules:

- `modes`: the modes of the config, importable without the task;
- `task`: `AlardLuptonSubtractTask` and its config: kernel sources, PSF
  matching (`diffim.psfmatch`), convolution, subtraction, the modes
  (``convolveTemplate``, ``convolveScience``, ``auto``, ``preconvolve``);
- `bad_pixels`: unusable input pixels masked and counted;
- `background`: the differential background refitted on the whole image;
- `decorrelate`: the Fourier-space decorrelation afterburner;
- `preconvolve`: the score image's pre-convolution of the science image by its PSF;
- `scale_variance`: `ScaleVarianceTask`, variance planes brought to the measured noise.
"""
from .._lazy import lazy_exports

# The task and its subtasks are imported on first use: the command line reads
# the modes (`diffim.subtract.modes`) without paying for them.
_EXPORTS = {
    "AlardLuptonSubtractConfig": "diffim.subtract.task",
    "AlardLuptonSubtractTask": "diffim.subtract.task",
    "NoTemplateCoverageError": "diffim.subtract.task",
    "ScaleVarianceConfig": "diffim.subtract.scale_variance",
    "ScaleVarianceTask": "diffim.subtract.scale_variance",
}
__getattr__ = lazy_exports(globals(), _EXPORTS)

__all__ = [
    "AlardLuptonSubtractConfig",
    "AlardLuptonSubtractTask",
    "NoTemplateCoverageError",
    "ScaleVarianceConfig",
    "ScaleVarianceTask",
]
