"""The proper difference D, the score S and their variance planes on one image.

Given the filters of one PSF pair (`diffim.zogy.kernels`), the images are
transformed once each, multiplied by the filters in one fused pass
(``diffim._core._zogy``) and transformed back: D, the score's two halves
``S_N = k_n (x) N`` and ``S_R = k_r (x) R`` when the astrometric term needs
them apart (else S alone), and optionally the science image matched to D's
PSF. The variance planes go through the squared filters the same way (ZOGY
section 3.3: the source noise is whatever the input variance planes hold).

Everything is float32 / complex64: the transforms' relative error (~1e-7)
is far below the noise of any image worth subtracting. Outputs are scaled to
science counts: ``D / F_d`` (a point source of flux ``alpha`` is ``alpha
P_d``) and ``S / F_s`` (a point source's flux at its position), so both
keep the science image's photometric calibration.
"""
from __future__ import annotations

import numpy as np

from .._core import _zogy
from ..task import Struct
from .fourier import forward, grid_shape, inverse, stamp_spectrum

__all__ = ["proper_images"]

_TINY = float(np.finfo(np.float32).tiny) * 100.0


def _floats(spectrum):
    return spectrum.view(np.float32)


def proper_images(new, ref, var_new, var_ref, kernels, *, split_score=False, matched=False):
    """ZOGY on one image pair with spatially constant filters.

    Parameters
    ----------
    new, ref : `numpy.ndarray`
        Science and template images (float32, same shape), zero where bad.
    var_new, var_ref : `numpy.ndarray`
        Their variance planes, zero where bad.
    kernels : `diffim.zogy.kernels.ZogyKernels`
    split_score : `bool`
        Also return ``S_N`` and ``S_R`` (for the astrometric-noise term).
    matched : `bool`
        Also return the science image matched to D's PSF and its variance.

    Returns
    -------
    result : `Struct`
        ``difference``, ``differenceVariance`` (``D / F_d`` and its variance),
        ``score``, ``scoreVariance`` (``S / F_s`` and its variance, without
        the astrometric term); with ``split_score``, ``scoreNew`` and
        ``scoreRef`` (``S_N / F_s``, ``S_R / F_s``); with ``matched``,
        ``matchedScience`` and ``matchedScienceVariance``; the template
        matched to D's PSF is then ``matchedScience - difference``, with
        variance ``differenceVariance - matchedScienceVariance``.
    """
    crop = new.shape
    shape = grid_shape(crop, kernels.reach)
    f_d, f_s = kernels.flux_difference, kernels.flux_score
    spectra = [forward(new, shape), forward(ref, shape),
               stamp_spectrum(kernels.psf_new, shape, precise=True),
               stamp_spectrum(kernels.psf_ref, shape, precise=True)]
    _zogy.proper_spectra(*(_floats(s) for s in spectra), kernels.var_new, kernels.var_ref,
                         kernels.flux_ref, _TINY, split_score)
    d_hat, matched_hat, s_new_hat, s_ref_hat = spectra
    del spectra
    result = Struct(difference=inverse(d_hat, shape, crop, 1.0 / f_d))
    del d_hat
    if matched:
        result.matchedScience = inverse(matched_hat, shape, crop, 1.0 / f_d)
    del matched_hat
    if split_score:
        result.scoreNew = inverse(s_new_hat, shape, crop, 1.0 / f_s)
        result.scoreRef = inverse(s_ref_hat, shape, crop, 1.0 / f_s)
        result.score = result.scoreNew - result.scoreRef
    else:
        result.score = inverse(s_new_hat, shape, crop, 1.0 / f_s)
    del s_new_hat, s_ref_hat

    # The variance planes through the squared filters, the score's pair first
    # and the difference's after, so that only four spectra live at once.
    squared = kernels.squared
    v_new, v_ref = forward(var_new, shape), forward(var_ref, shape)
    k_new, k_ref = (stamp_spectrum(squared[name], shape) for name in ("k_new", "k_ref"))
    _zogy.variance_spectra(_floats(v_new), _floats(v_ref), _floats(k_new), _floats(k_ref), True)
    del k_ref
    result.scoreVariance = inverse(k_new, shape, crop, 1.0 / f_s ** 2)
    del k_new
    c_new, c_ref = (stamp_spectrum(squared[name], shape) for name in ("c_new", "c_ref"))
    _zogy.variance_spectra(_floats(v_new), _floats(v_ref), _floats(c_new), _floats(c_ref),
                           not matched)
    del v_new, v_ref
    if matched:
        result.matchedScienceVariance = inverse(c_new, shape, crop, 1.0 / f_d ** 2)
        result.differenceVariance = inverse(c_ref, shape, crop, 1.0 / f_d ** 2)
        result.differenceVariance += result.matchedScienceVariance
    else:
        result.differenceVariance = inverse(c_new, shape, crop, 1.0 / f_d ** 2)
    del c_new, c_ref
    for name in ("differenceVariance", "scoreVariance", "matchedScienceVariance"):
        # Round-off of the transforms leaves ~1e-7 relative noise, which can
        # dip below zero where the inputs were all masked (variance 0).
        if hasattr(result, name):
            np.maximum(getattr(result, name), 0.0, out=getattr(result, name))
    return result

