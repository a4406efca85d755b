"""``F_r`` from the stars, for exposures without photometric calibrations.

ZOGY needs the template's counts per science count of a source of constant
flux. Calexps carry it in their calibrations; plain FITS images from other
surveys usually do not. Then the stars give it, as the paper suggests
(Zackay, Ofek & Gal-Yam 2016, section 3.5). Here it is the photometric
scale Alard-Lupton PSF matching finds: a spatially constant kernel and
background fitted at the kernel sources
(`diffim.sources.kernel_sources.select_kernel_sources`: isolated,
unresolved, bright in both images, clear of bad pixels), whose sum is the
science counts per template count, with the fit's own rejection of
candidates that do not match (variables, blends). Ratios of aperture or PSF
fluxes were tried first: on 256-512 px images with 6-10 stars they scattered
by 5-15 % (aperture noise, each image's PSF model error), the kernel sum by
under 3 %, and it is the scale the Alard-Lupton difference of the same pair
uses.
"""
from __future__ import annotations

from ..errors import DiffimError
from ..psfmatch.candidates import GOOD
from ..psfmatch.make_kernel import MakeKernelConfig, MakeKernelTask
from ..sources.kernel_sources import TooFewKernelSourcesError, select_kernel_sources

__all__ = ["star_flux_ratio"]


def star_flux_ratio(template, science, signal_to_noise):
    """``F_r`` and the number of stars it rests on.

    Parameters
    ----------
    template, science : `diffim.Exposure`
        The pair on one pixel grid, both with PSFs.
    signal_to_noise : `diffim.sources.kernel_sources.SignalToNoiseConfig`
        S/N range of the stars (``ZogyConfig.signalToNoise``).

    Returns
    -------
    flux_ratio : `float`
        Template counts per science count.
    n_stars : `int`
        Kernel sources the fit kept.

    Raises
    ------
    DiffimError
        Too few usable stars, or a kernel without positive sum.
    """
    try:
        sources = select_kernel_sources(science, template, signal_to_noise=signal_to_noise)
    except TooFewKernelSourcesError as error:
        raise DiffimError(f"ZOGY flux scale from stars: {error} (give the photometric "
                          "calibrations or templateFluxScaling/scienceFluxScaling)") from None
    config = MakeKernelConfig()
    config.kernel.active.spatialKernelOrder = 0
    config.kernel.active.spatialBgOrder = 0
    task = MakeKernelTask(config=config)
    fit = task.run(template, science, sources)
    kernel_sum = float(fit.psfMatchingKernel.kernel_sum(*science.bbox.center))
    if not kernel_sum > 0:
        raise DiffimError(f"ZOGY flux scale from stars: the matching kernel's sum is "
                          f"{kernel_sum:g} (give the photometric calibrations or "
                          "templateFluxScaling/scienceFluxScaling)")
    return 1.0 / kernel_sum, int((fit.kernelCandidates["status"] == GOOD).sum())
