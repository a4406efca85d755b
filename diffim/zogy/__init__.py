"""ZOGY proper image subtraction (Zackay, Ofek & Gal-Yam 2016), as the stack's ``ZogyTask``.

Modules, one job each:

- `kernels`: the filters of one PSF pair (D's and S's, their squares), the
  flux zero points ``F_d``, ``F_s`` and the PSFs of D and S;
- `fourier`: padded real FFTs of images and of small stamps on the big grid;
- `proper`: D, S and their variance planes for one image with constant
  filters (the fused per-frequency loop is ``diffim._core._zogy``);
- `score`: the astrometric-noise term of S_corr;
- `flux_scale`: ``F_r`` from the stars, for exposures without calibrations;
- `cells`: overlapping cells and their smooth blending weights (``doSpatialGrid``);
- `masks`: the difference mask, both inputs' planes spread by the filters;
- `task`: `ZogyTask` and `ZogyConfig` (the stack's field names and defaults).
"""
from .task import ZogyConfig, ZogyTask

__all__ = ["ZogyConfig", "ZogyTask"]
