"""`Winter2013ImageDifferenceTask`: the legacy task with perturbed template source positions.

`Winter2013ImageDifferenceTask` tested the subtraction's sensitivity to
astrometric errors by shifting or jittering the template source centroids
before they were matched to select kernel sources.
"""
from __future__ import annotations

import lsst.pex.config as pexConfig
import numpy as np

from ..template.get_template import GetCalexpAsTemplateTask
from .task import ImageDifferenceConfig, ImageDifferenceTask

__all__ = ["Winter2013ImageDifferenceConfig", "Winter2013ImageDifferenceTask", "perturb_source_positions"]


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


class Winter2013ImageDifferenceConfig(ImageDifferenceConfig):
    """The Winter 2013 variant: perturbed template source positions, calexp template."""

    winter2013WcsShift = pexConfig.Field(
        dtype=float, default=0.0,
        doc="Shift template source centroids by this many pixels in x and y before matching.")
    winter2013WcsRms = pexConfig.Field(
        dtype=float, default=0.0,
        doc="Else jitter them by a Gaussian of this rms (pixels) per axis.")
    winter2013Seed = pexConfig.Field(dtype=int, default=0,
                                     doc="Seed of the jitter, so that a run is reproducible.")

    def setDefaults(self):
        super().setDefaults()
        # The variant ran calexp-calexp, with kernel sources from the template's src.
        self.getTemplate.retarget(GetCalexpAsTemplateTask)
        self.doSelectSources = True
        self.kernelSourcesFromRef = False


class Winter2013ImageDifferenceTask(ImageDifferenceTask):
    """`ImageDifferenceTask` whose template sources are shifted or jittered before matching."""

    ConfigClass = Winter2013ImageDifferenceConfig
    _DefaultName = "winter2013ImageDifference"

    def templateSourcesForMatching(self, template_sources, template):
        """Shift (``winter2013WcsShift``) or jitter (``winter2013WcsRms``) the centroids.

        See `perturb_source_positions`.
        """
        return perturb_source_positions(template_sources, template,
                                        self.config.winter2013WcsShift,
                                        self.config.winter2013WcsRms, self.config.winter2013Seed)
