"""The kernel basis chosen by held-out bright sources (`diffim.psfmatch.held_out`)."""
import numpy as np
import pandas as pd
import pytest

from _psfmatch_data import star_field
from diffim import Box, Exposure
from diffim.psf import GaussianPsf
from diffim.psfmatch import SpatialBackground, SpatialFunction, SpatialKernel
from diffim.psfmatch.basis import make_delta_function_basis
from diffim.psfmatch.held_out import (
    MAX_HELD_OUT_SOURCES,
    MIN_HELD_OUT_SOURCES,
    bright_held_out_sources,
    choose_basis,
    excess_over_noise,
    held_out_chi2,
)
from diffim.psfmatch.make_kernel import MakeKernelConfig, MakeKernelTask


def test_the_delta_function_kernel_is_kept_only_when_most_sources_agree():
    rng = np.random.default_rng(1)
    chi2_al = rng.uniform(100.0, 1e4, 12)
    # Twice better on each source, give or take 10 %: a factor 2 that the scatter cannot fake.
    basis, statistics = choose_basis(chi2_al, chi2_al / 2 * rng.uniform(0.9, 1.1, 12))
    assert basis == "delta-function"
    assert statistics["heldOutChi2Ratio"] == pytest.approx(2.0, rel=0.05)
    assert statistics["heldOutSources"] == 12 and statistics["heldOutSignificance"] > 10
    # Better on every source, but by 5 %: significant, not material (MIN_HELD_OUT_GAIN).
    basis, statistics = choose_basis(chi2_al, chi2_al / 1.05 * rng.uniform(0.99, 1.01, 12))
    assert basis == "alard-lupton" and statistics["heldOutSignificance"] > 10
    # Equal predictions: a tie, the Alard-Lupton kernel.
    basis, statistics = choose_basis(chi2_al, chi2_al.copy())
    assert basis == "alard-lupton" and statistics["heldOutSignificance"] == 0.0
    # One source 100 times better, the others either way by 10 %: one source does not decide.
    others = chi2_al * np.where(np.arange(12) % 2, 1.1, 1 / 1.1)
    others[0] = chi2_al[0] / 100
    basis, statistics = choose_basis(chi2_al, others)
    assert basis == "alard-lupton" and 0 < statistics["heldOutSignificance"] < 2
    assert statistics["heldOutChi2AL"] > statistics["heldOutChi2DF"]
    # Too few sources for a verdict, however large the gain.
    few = MIN_HELD_OUT_SOURCES - 1
    assert choose_basis(chi2_al[:few], chi2_al[:few] / 10)[0] == "alard-lupton"


def _blobs(positions, shape=(80, 80), flux=1e5, sigma=1.5, sky=10.0):
    image = star_field(shape, positions, [flux] * len(positions), sigma) + sky
    return Exposure(image.astype(np.float32), np.ones(shape, np.float32))


def test_held_out_sources_are_the_bright_ones_outside_the_fit_and_the_bad_pixels():
    positions = [(20, 20), (60, 20), (20, 60), (60, 60)]
    convolved, reference = _blobs(positions), _blobs(positions)
    bad = np.zeros((80, 80), bool)
    bad[62, 64] = True  # within the kernel's reach of the star at (60, 60)
    reference.mask.set("BAD", bad)
    fit_boxes = np.array([[10, 50, 30, 70]])  # covers the star at (20, 60)
    labels, n_sources = bright_held_out_sources(convolved, reference, ["BAD"], fit_boxes, 5)
    # The stars at y=20 whole; of the one at (60, 60) what the bad pixel's reach leaves.
    held = [np.argwhere(labels == label) for label in range(1, n_sources + 1)]
    assert sorted((len(pixels), *np.rint(pixels.mean(axis=0)).astype(int)) for pixels in held
                  if len(pixels) > 30) == [(57, 20, 20), (57, 20, 60)]
    assert not labels[57:68, 59:70].any()  # (row, column): the kernel's reach of the bad pixel
    assert (labels[50:71, 10:31] == 0).all()  # the fit region
    assert not labels[:5].any() and not labels[:, -5:].any()  # the kernel's reach of the edge
    # On a sparse field the brightest 0.5 % are noise: only 5-sigma pixels make sources.
    rng = np.random.default_rng(4)
    noise = Exposure(rng.normal(100.0, 1.0, (80, 80)).astype(np.float32),
                     np.ones((80, 80), np.float32))
    assert bright_held_out_sources(noise, noise, [], np.empty((0, 4)), 5)[1] == 0


def test_a_crowded_field_compares_every_kth_of_its_sources(monkeypatch):
    # 400 stars 34 px apart, about 5 pixels each in the top 0.5 % of 680^2 pixels.
    positions = [(x, y) for y in range(17, 680, 34) for x in range(17, 680, 34)]
    fluxes = np.linspace(1e5, 1.1e5, len(positions))
    image = star_field((680, 680), positions, fluxes, 1.5) + 10.0
    field = Exposure(image.astype(np.float32), np.ones((680, 680), np.float32))
    capped, n_capped = bright_held_out_sources(field, field, [], np.empty((0, 4)), 5)
    monkeypatch.setattr("diffim.psfmatch.held_out.MAX_HELD_OUT_SOURCES", 10 ** 6)
    every, n_every = bright_held_out_sources(field, field, [], np.empty((0, 4)), 5)
    assert n_every > MAX_HELD_OUT_SOURCES >= n_capped
    step = -(-n_every // MAX_HELD_OUT_SOURCES)
    assert n_capped == len(range(1, n_every + 1, step))
    # Kept source i is source 1 + (i - 1) * step of all, pixel for pixel.
    for label in range(1, n_capped + 1):
        assert ((capped == label) == (every == 1 + (label - 1) * step)).all()


def _kernel(image):
    """A constant kernel whose image is ``image`` (delta-function basis)."""
    size = image.shape[0]
    return SpatialKernel(make_delta_function_basis(size),
                         SpatialFunction("chebyshev1", 0, Box(0, 0, 80, 80)),
                         image.reshape(-1, 1).astype(float))


def test_held_out_chi2_is_the_residual_of_each_kernel_over_each_source():
    positions = [(20, 20), (60, 60)]
    convolved = _blobs(positions, sky=0.0)
    reference = _blobs(positions, sky=0.0)
    labels, n_sources = bright_held_out_sources(convolved, reference, [], np.empty((0, 4)), 3)
    identity = np.zeros((5, 5))
    identity[2, 2] = 1.0
    background = SpatialBackground(SpatialFunction("chebyshev1", 0, Box(0, 0, 80, 80)),
                                   np.array([0.0]))
    chi2, floor = held_out_chi2(convolved, reference, _kernel(identity), background, labels,
                                n_sources)
    assert chi2 == pytest.approx([0.0, 0.0], abs=1e-6)
    # Noise gain 1, variances 1 + 1: the noise alone gives 1 per pixel.
    assert floor == pytest.approx([(labels == label).sum() for label in (1, 2)])
    # A kernel of sum 0.9: each residual pixel is 0.1 of the star, over variance 1 + 1.
    chi2, floor = held_out_chi2(convolved, reference, _kernel(0.9 * identity), background,
                                labels, n_sources)
    for label, value in enumerate(chi2, start=1):
        pixels = labels == label
        assert value == pytest.approx((0.01 * reference.image[pixels] ** 2 / 2).sum(), rel=1e-5)
        assert floor[label - 1] == pytest.approx(pixels.sum() * (1 + 0.81) / 2)
    assert excess_over_noise(chi2, floor) == pytest.approx(
        np.exp(np.mean(np.log(chi2 / floor))))
    assert excess_over_noise(np.array([2.0, 8.0]), np.array([1.0, 1.0])) == pytest.approx(4.0)


def _structured_pair(structured, seed=2, size=256):
    """Gaussian stars (sigma 1.5 px) in both images; the science's through a kernel that is
    a delta function plus, when ``structured``, six lobes 3 px out (a hexagonal pattern,
    as NIRCam's), else a narrow Gaussian. Sources: every other star."""
    rng = np.random.default_rng(seed)
    positions = rng.uniform(20, size - 20, (120, 2))
    fluxes = rng.uniform(2e4, 4e5, 120)
    template = star_field((size, size), positions, fluxes, 1.5)
    kernel = np.zeros((9, 9))
    if structured:
        kernel[4, 4] = 0.7
        for angle in np.arange(6) * np.pi / 3:
            kernel[4 + int(round(3 * np.sin(angle))), 4 + int(round(3 * np.cos(angle)))] += 0.05
    else:
        offsets = np.arange(9) - 4
        kernel = np.exp(-0.5 * (offsets[:, None] ** 2 + offsets[None, :] ** 2) / 0.8 ** 2)
        kernel /= kernel.sum()
    from scipy.signal import fftconvolve

    science = fftconvolve(template, kernel, mode="same")
    noise = 5.0
    exposures = []
    for image in (template, science):
        image = image + 100.0 + rng.normal(0.0, noise, image.shape)
        exposures.append(Exposure(image.astype(np.float32),
                                  np.full(image.shape, noise ** 2, np.float32),
                                  psf=GaussianPsf(1.5)))
    sources = pd.DataFrame({"x": positions[::2, 0], "y": positions[::2, 1],
                            "flux": fluxes[::2]})
    return exposures[0], exposures[1], sources


@pytest.mark.parametrize("structured", [True, False], ids=["hexagonal", "gaussian"])
def test_make_kernel_keeps_the_delta_function_basis_only_where_the_gaussians_miss(structured):
    template, science, sources = _structured_pair(structured)
    fits = {}
    for choose in (False, True):
        config = MakeKernelConfig()
        config.kernel["AL"].spatialKernelOrder = 0
        config.kernel["DF"].spatialKernelOrder = 0
        config.kernel["AL"].doChooseBasis = choose
        fits[choose] = MakeKernelTask(config=config).run(template, science, sources)
    fixed, chosen = fits[False], fits[True]
    assert fixed.metadata["basis"] == "alard-lupton" and "heldOutSources" not in fixed.metadata
    assert chosen.metadata["heldOutSources"] >= MIN_HELD_OUT_SOURCES
    if structured:
        assert chosen.metadata["heldOutExcessAL"] > 2.0
        assert chosen.metadata["basis"] == "delta-function"
        assert chosen.metadata["heldOutSignificance"] > 2.0
    else:
        # The Gaussians predict to the noise: the delta-function basis is not even fitted.
        assert chosen.metadata["heldOutExcessAL"] < 1.2
        assert "heldOutSignificance" not in chosen.metadata
        assert chosen.metadata["basis"] == "alard-lupton"
        # The same fit as without the choice, to the bit.
        np.testing.assert_array_equal(chosen.psfMatchingKernel.coefficients,
                                      fixed.psfMatchingKernel.coefficients)
