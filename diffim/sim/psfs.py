"""Spatially varying PSFs of the simulated science and template images.

Both are `diffim.psf.VaryingPsf` models over the detector box, with
``u, v`` the detector coordinates normalised to [-1, 1]:

- FWHM ``fwhm (1 + variation (u + v) / 2)``: the (+x, +y) corner is
  ``1 + variation`` times the centre, the opposite corner ``1 - variation``.
- ellipticity ``e + e_variation (u + 1) / 2``: ``e`` at the -x edge,
  ``e + e_variation`` at the +x edge; major axis at a fixed angle.

For a Gaussian model the two sigmas are products of the FWHM polynomial and
a linear axis-ratio factor exact at the -x and +x edges.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.signal import convolve2d

from ..psf import GaussianPsf, MoffatPsf, VaryingPsf

__all__ = ["SIGMA_TO_FWHM", "image_psf"]

SIGMA_TO_FWHM = 2.0 * math.sqrt(2.0 * math.log(2.0))


def _fwhm_field(fwhm, variation):
    half = 0.5 * fwhm * variation
    return np.array([[fwhm, half], [half, 0.0]])


def _edge_linear(value_minus, value_plus):
    """Coefficients of the polynomial in ``u`` alone equal to the given values at u = -1, +1."""
    return np.array([[0.5 * (value_plus + value_minus)], [0.5 * (value_plus - value_minus)]])


def image_psf(config, prefix, bbox):
    """The PSF of the ``prefix`` (``"science"`` or ``"template"``) image.

    Parameters
    ----------
    config : `diffim.sim.PairConfig`
        Reads ``psf_model``, ``moffat_beta`` and the ``{prefix}_fwhm``,
        ``_fwhm_variation``, ``_ellipticity``, ``_ellipticity_variation`` and
        ``_psf_theta`` fields.
    prefix : `str`
    bbox : `diffim.geom.Box`
        The detector.

    Returns
    -------
    psf : `diffim.psf.VaryingPsf`
    """
    fwhm = getattr(config, f"{prefix}_fwhm")
    variation = getattr(config, f"{prefix}_fwhm_variation")
    ellipticity = getattr(config, f"{prefix}_ellipticity")
    ellipticity_end = ellipticity + getattr(config, f"{prefix}_ellipticity_variation")
    theta = math.radians(getattr(config, f"{prefix}_psf_theta"))
    fwhm_field = _fwhm_field(fwhm, variation)
    if config.psf_model == "moffat":
        return VaryingPsf(MoffatPsf, {
            "fwhm": fwhm_field,
            "beta": [[config.moffat_beta]],
            "ellipticity": _edge_linear(ellipticity, ellipticity_end),
            "theta": [[theta]],
        }, bbox)
    # Geometric-mean sigma times sqrt of the axis ratio (minor) or its inverse (major).
    sigma_field = fwhm_field / SIGMA_TO_FWHM
    ratios = (1.0 - ellipticity, 1.0 - ellipticity_end)
    major = _edge_linear(*(1.0 / math.sqrt(ratio) for ratio in ratios))
    minor = _edge_linear(*(math.sqrt(ratio) for ratio in ratios))
    return VaryingPsf(GaussianPsf, {
        "sigma_x": convolve2d(sigma_field, major),
        "sigma_y": convolve2d(sigma_field, minor),
        "theta": [[theta]],
    }, bbox)
