"""Alard-Lupton PSF matching of detector-sized pairs: kernel fit + convolution + variance.

Default AL basis (27 functions), spatialKernelOrder 2, a 25 px kernel (sized
from the PSFs: template sigma 1.5 px, science 2.5 px), ~16 candidates per
1k x 1k (a few hundred at 4k), then convolution of image, variance and mask.
Run: ``pytest benchmarks/bench_psfmatch.py --benchmark-only`` (set
OMP_NUM_THREADS to the cores to use).
"""
import math

import numpy as np
import pytest

from diffim import Exposure
from diffim.psfmatch import convolve_exposure, fit_psf_matching_kernel
from diffim.psfmatch.basis import FWHM_PER_SIGMA

TEMPLATE_SIGMA, SCIENCE_SIGMA = 1.5, 2.5


def _star_field(shape, positions, fluxes, sigma):
    image = np.zeros(shape, np.float32)
    radius = int(6 * sigma)
    offsets = np.arange(-radius, radius + 1)
    for (x, y), flux in zip(positions, fluxes):
        ix, iy = int(x), int(y)
        gx = np.exp(-0.5 * ((ix + offsets - x) / sigma) ** 2)
        gy = np.exp(-0.5 * ((iy + offsets - y) / sigma) ** 2)
        image[iy - radius:iy + radius + 1, ix - radius:ix + radius + 1] += (
            flux / (2 * np.pi * sigma**2) * np.outer(gy, gx)).astype(np.float32)
    return image


def _pair(size):
    rng = np.random.default_rng(size)
    n_stars = 20 * (size // 1024) ** 2
    positions = rng.uniform(40, size - 40, (n_stars, 2))
    fluxes = rng.uniform(2e4, 2e5, n_stars)
    noise = 10.0
    shape = (size, size)
    template = _star_field(shape, positions, fluxes, TEMPLATE_SIGMA)
    science = _star_field(shape, positions, 0.9 * fluxes, SCIENCE_SIGMA)
    template += rng.normal(0.0, noise / 2, shape).astype(np.float32)
    science += rng.normal(0.0, noise, shape).astype(np.float32) + 5.0
    return (Exposure(template, np.full(shape, (noise / 2) ** 2, np.float32)),
            Exposure(science, np.full(shape, noise**2, np.float32)), positions, fluxes)


def subtract(template, science, positions, fluxes):
    result = fit_psf_matching_kernel(
        template, science, positions, fluxes=fluxes, fitForBackground=True,
        template_fwhm=TEMPLATE_SIGMA * FWHM_PER_SIGMA, science_fwhm=SCIENCE_SIGMA * FWHM_PER_SIGMA)
    matched = convolve_exposure(template, result.kernel)
    return result, matched


@pytest.mark.parametrize("size", [1024, 2048, 4096])
def test_alard_lupton_subtraction(benchmark, size):
    template, science, positions, fluxes = _pair(size)
    result, matched = benchmark.pedantic(subtract, args=(template, science, positions, fluxes),
                                         rounds=5, warmup_rounds=1)
    benchmark.extra_info.update({
        "kernel_size": result.kernel.size, "candidates_used": result.metadata["nUsed"],
        "kernel_sum": round(result.metadata["kernelSumCentre"], 5)})
    assert result.kernel.size == 25
    assert result.metadata["kernelSumCentre"] == pytest.approx(0.9, rel=2e-3)
    assert np.isfinite(matched.image).all()


@pytest.mark.parametrize("part", ["fit", "convolve_image", "convolve_variance", "mask",
                                  "kernel_match", "kernel_match_widths", "make_kernel",
                                  "make_kernel_choose_basis", "delta_function_trial"])
def test_parts_4k(benchmark, part):
    """Where the time goes at 4k."""
    import pandas as pd

    from diffim.psf import GaussianPsf
    from diffim.psfmatch import convolve_image, convolve_variance
    from diffim.psfmatch.convolve import _al_convolve
    from diffim.psfmatch.make_kernel import MakeKernelConfig, MakeKernelTask
    from diffim.psfmatch.match_check import measure_kernel_match

    template, science, positions, fluxes = _pair(4096)
    result, _ = subtract(template, science, positions, fluxes)
    kernel = result.kernel
    calls = {
        "fit": lambda: fit_psf_matching_kernel(
            template, science, positions, fluxes=fluxes, fitForBackground=True,
            template_fwhm=TEMPLATE_SIGMA * FWHM_PER_SIGMA,
            science_fwhm=SCIENCE_SIGMA * FWHM_PER_SIGMA),
        "convolve_image": lambda: convolve_image(template.image, kernel),
        "convolve_variance": lambda: convolve_variance(template.variance, kernel),
        "mask": lambda: _al_convolve.dilate_mask(
            template.mask.array, np.empty_like(template.mask.array), kernel.size),
        # MakeKernelTask's check after each fit, at the used kernel sources: the flux
        # ratio by default, the widths too when badKernelWidthThreshold is set.
        "kernel_match": lambda: measure_kernel_match(
            template, science, kernel, *positions[result.candidates["used"]].T,
            fluxes[result.candidates["used"]], widths=False),
        "kernel_match_widths": lambda: measure_kernel_match(
            template, science, kernel, *positions[result.candidates["used"]].T,
            fluxes[result.candidates["used"]]),
    }
    # MakeKernelTask's whole run (fit and kernel-match check), with and without the basis
    # chosen by held-out bright sources (`diffim subtract`'s default): here the Gaussians
    # predict them to the noise, so the delta-function basis is not fitted.
    sources = pd.DataFrame({"x": positions[:, 0], "y": positions[:, 1], "flux": fluxes})
    for name, choose in (("make_kernel", False), ("make_kernel_choose_basis", True)):
        config = MakeKernelConfig()
        config.kernel["AL"].doChooseBasis = choose
        calls[name] = (lambda task: lambda: task.run(template, science, sources))(
            MakeKernelTask(config=config))
    template.psf, science.psf = GaussianPsf(TEMPLATE_SIGMA), GaussianPsf(SCIENCE_SIGMA)
    if part == "delta_function_trial":
        arguments = _delta_function_trial(template, science, sources)
        calls[part] = lambda: fit_psf_matching_kernel(*arguments)
    benchmark.pedantic(calls[part], rounds=5, warmup_rounds=1)


class _Trial(Exception):
    """Stops `MakeKernelTask` at its delta-function fit; ``args[0]`` are that fit's arguments."""


def _delta_function_trial(template, science, sources):
    """The arguments of the delta-function fit that `MakeKernelTask` (``doChooseBasis``, as
    `diffim subtract` runs it) tries where the Gaussians miss the held-out sources: this
    pair's do not, so the task runs here with their excess over the noise taken as
    infinite, up to that fit."""
    from unittest import mock

    from diffim.psfmatch import make_kernel

    def fit(*arguments):
        if arguments[-1].kernelBasisSet == "delta-function":
            raise _Trial(arguments)
        return fit_psf_matching_kernel(*arguments)

    config = make_kernel.MakeKernelConfig()
    config.kernel["AL"].doChooseBasis = True
    with mock.patch.object(make_kernel, "excess_over_noise", return_value=math.inf), \
            mock.patch.object(make_kernel, "fit_psf_matching_kernel", fit), \
            pytest.raises(_Trial) as trial:
        make_kernel.MakeKernelTask(config=config).run(template, science, sources)
    return trial.value.args[0]
