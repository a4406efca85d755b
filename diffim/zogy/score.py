"""The astrometric-noise term of the corrected score S_corr (ZOGY section 3.3).

A registration error of RMS ``sigma`` pixels along each axis moves a
source's image in ``N`` against ``R``; to first order it adds
``sigma^2 [(dS_N/dx)^2 + (dS_N/dy)^2 + (dS_R/dx)^2 + (dS_R/dy)^2]`` to the
variance of S (eqs. 30-31 with ``sigma_x = sigma_y``), which is large only
on the flanks of bright sources, exactly where a small misregistration
leaves dipole residuals. The other term, the source noise, is already in the
score's variance plane (the input variance planes hold it). The gradients
are central differences of the two halves of the score: both are smooth on
the PSF scale, so finite differences are as good as Fourier ones at a
fraction of the cost.
"""
from __future__ import annotations

import numpy as np

__all__ = ["astrometric_variance"]


def astrometric_variance(score_new, score_ref, sigma):
    """Variance added to the score by a registration error of ``sigma`` px RMS per axis.

    Parameters
    ----------
    score_new, score_ref : `numpy.ndarray`
        ``S_N`` and ``S_R`` (any common scaling: the result has its square).
    sigma : `float`
        RMS registration error along each axis, pixels.

    Returns
    -------
    variance : `numpy.ndarray`
        float32, the shape of the inputs.
    """
    total = np.zeros(score_new.shape, np.float32)
    for half in (score_new, score_ref):
        for gradient in np.gradient(half):
            total += gradient * gradient
    total *= np.float32(sigma ** 2)
    return total
