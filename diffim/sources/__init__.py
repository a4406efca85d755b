"""Sources of one exposure: the calexp ``src`` catalogue and the kernel sources.

Modules:

- `catalog`: the ``src`` catalogue of a calexp (detection, photometry, sky positions);
- `kernel_sources`: the stars that constrain the PSF-matching kernel.
"""
