"""The Winter 2013 variant's perturbation of template source positions.

`Winter2013ImageDifferenceTask` tested the subtraction's sensitivity to
astrometric errors by shifting or jittering the template source centroids
before they were matched to select kernel sources.
"""
from __future__ import annotations

import numpy as np

__all__ = ["perturb_source_positions"]


def perturb_source_positions(sources, template, shift, rms, seed):
    """Shift (``shift``) or jitter (``rms``) the centroids of ``sources``.

    Sky positions are recomputed from the perturbed pixel positions with the
    template's WCS, as the original perturbed the centroids fed to the
    astrometric registration.

    Parameters
    ----------
    sources : `pandas.DataFrame`
        Template sources with ``x``, ``y``, ``coord_ra``, ``coord_dec``.
    template : `diffim.exposure.Exposure`
        The template, whose WCS maps the perturbed positions to the sky.
    shift : `float`
        Pixels added to ``x`` and ``y`` when non-zero.
    rms : `float`
        Otherwise the rms (pixels, per axis) of a Gaussian jitter.
    seed : `int`
        Seed of the jitter.

    Returns
    -------
    perturbed : `pandas.DataFrame`
        ``sources`` itself when both ``shift`` and ``rms`` are zero, else a
        perturbed copy.
    """
    if shift == 0.0 and rms == 0.0:
        return sources
    if shift != 0.0:
        dx = dy = np.full(len(sources), shift)
    else:
        rng = np.random.default_rng(seed)
        dx, dy = rms * rng.standard_normal((2, len(sources)))
    perturbed = sources.copy()
    perturbed["x"] = sources["x"] + dx
    perturbed["y"] = sources["y"] + dy
    ra, dec = template.pixel_to_sky(perturbed["x"].to_numpy(), perturbed["y"].to_numpy())
    perturbed["coord_ra"], perturbed["coord_dec"] = ra, dec
    return perturbed
