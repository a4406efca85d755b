import numpy as np
import pandas as pd
import pytest
from scipy.spatial import cKDTree

from _measure_data import add_point, noise_exposure

from diffim.errors import DiffimError
from diffim.image.background import background_grid
from diffim.measure.photometry import psf_flux
from diffim.measure.stamps import psf_models
from diffim.sim import PairConfig, simulate_pair
from diffim.sim.noise import sky_plane
from diffim.sources.kernel_sources import (
    SignalToNoiseConfig,
    _StampPixels,
    TooFewKernelSourcesError,
    detect_kernel_sources,
    psf_photometry,
    select_kernel_sources,
)


SNR = SignalToNoiseConfig()


@pytest.fixture(scope="module")
def pair():
    return simulate_pair(PairConfig(size=768, seed=3))


def truth_match(pair, sources):
    distance, index = cKDTree(pair.truth[["x", "y"]].to_numpy()).query(sources[["x", "y"]].to_numpy())
    return distance, pair.truth.iloc[index]


def test_detected_sources_are_real_unsaturated_and_in_range(pair):
    sources = select_kernel_sources(pair.science, pair.template, signal_to_noise=SNR)
    assert isinstance(sources, np.recarray) and sources.dtype.names == ("x", "y", "flux", "snr")
    sources = pd.DataFrame(sources)
    assert len(sources) >= 10
    distance, matched = truth_match(pair, sources)
    assert distance.max() < 1.0
    assert not matched["saturated"].any()
    assert (matched["kind"] != "transient").mean() > 0.85
    assert sources["snr"].between(10, 10000).all()
    assert sources["snr"].is_monotonic_decreasing
    # PSF fluxes of stars agree with the truth.
    stars = (matched["kind"] == "star").to_numpy()
    ratio = sources["flux"].to_numpy()[stars] / matched["science_flux"].to_numpy()[stars]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.03)


def test_limits_and_catalog_input(pair):
    assert len(select_kernel_sources(pair.science, pair.template, signal_to_noise=SNR,
                                     max_sources=5)) == 5
    stars = pair.truth[(pair.truth["kind"] == "star") & ~pair.truth["saturated"]
                       & pair.truth["is_isolated"]]
    catalog = pd.DataFrame({"x": stars["x"], "y": stars["y"], "flux": stars["science_flux"],
                            "flux_err": np.sqrt(stars["science_flux"]),
                            "bad_flag": np.arange(len(stars)) % 2 == 0})
    chosen = pd.DataFrame(select_kernel_sources(pair.science, pair.template, catalog,
                                                signal_to_noise=SNR))
    flagged = catalog[catalog["bad_flag"]]
    distance, _ = cKDTree(flagged[["x", "y"]].to_numpy()).query(chosen[["x", "y"]].to_numpy())
    assert distance.min() > 0  # no flagged source was kept
    assert len(chosen) > 3


def test_variable_stars_are_not_kernel_sources():
    # Variables pass the other cuts (point-like, isolated, in both images), but
    # their flux ratio is not the images' photometric scale: none is chosen,
    # and the constant stars still are.
    pair = simulate_pair(PairConfig(size=1024, seed=1, n_variables=20))
    fwhm = pair.science.psf.computeFwhm(*pair.science.bbox.center)
    detected = pd.DataFrame(detect_kernel_sources(pair.science, pair.science.psf,
                                                  isolation_radius=3 * fwhm))
    candidates = detected[detected["isolated"] & ~detected["resolved"]
                          & detected["snr"].between(10, 500)]
    _, matched = truth_match(pair, candidates)
    assert (matched["kind"] == "variable").sum() >= 5
    chosen = pd.DataFrame(select_kernel_sources(pair.science, pair.template, signal_to_noise=SNR))
    distance, matched = truth_match(pair, chosen)
    assert distance.max() < 1.0
    variable = (matched["kind"] == "variable").to_numpy()
    # A faint variable's change can hide in its flux errors; a bright one's cannot.
    assert (variable & (chosen["snr"] >= 30)).sum() == 0, chosen[variable]
    assert variable.sum() <= 3
    assert (matched["kind"] == "star").sum() >= 20


def test_variables_are_judged_against_point_sources_only():
    """A pair with sky and galaxies (seed 15 of the kernel-sum pairs in tests/data/README.md):
    judged among galaxies too, whose flux ratio depends on their size, the ratios' common
    scatter came out 20 % and five variables of S/N 40-118 were chosen; among the
    isolated point sources it is 6 %, and no variable of S/N >= 30 is chosen."""
    config = PairConfig(size=1024, seed=15, n_transients=30, science_sky=1200.0,
                        template_sky=1000.0)
    pair = simulate_pair(config)
    for role, exposure in (("science", pair.science), ("template", pair.template)):
        exposure.image += sky_plane(exposure.bbox, getattr(config, f"{role}_sky"),
                                    getattr(config, f"{role}_sky_gradient")).astype(np.float32)
    chosen = pd.DataFrame(select_kernel_sources(pair.science, pair.template, signal_to_noise=SNR))
    distance, matched = truth_match(pair, chosen)
    variable = (matched["kind"] == "variable").to_numpy() & (distance < 2.0)
    assert (variable & (chosen["snr"] >= 30)).sum() == 0, chosen[variable]
    assert len(chosen) >= 30


def test_the_snr_range_comes_from_the_callers_config(pair):
    """One home for the S/N defaults: the subtraction's and ZOGY's configs each hold a
    SignalToNoiseConfig, and the selection has no default of its own."""
    from diffim.subtract import AlardLuptonSubtractConfig
    from diffim.zogy import ZogyConfig

    for config in (AlardLuptonSubtractConfig().sourceSelector.signalToNoise,
                   ZogyConfig().signalToNoise):
        assert isinstance(config, SignalToNoiseConfig)
        assert (config.minimum, config.maximum) == (10.0, 10000.0)
    with pytest.raises(TypeError, match="signal_to_noise"):
        select_kernel_sources(pair.science, pair.template)
    narrow = SignalToNoiseConfig()
    narrow.maximum = 100.0
    chosen = pd.DataFrame(select_kernel_sources(pair.science, pair.template,
                                                signal_to_noise=narrow))
    assert chosen["snr"].between(10, 100).all() and len(chosen) >= 3
    with pytest.raises(TooFewKernelSourcesError, match=r"S/N in \[10, 100\]"):
        select_kernel_sources(pair.science, pair.template, signal_to_noise=narrow,
                              min_sources=len(chosen) + 1)


def test_too_few_sources_names_the_cuts(pair):
    with pytest.raises(TooFewKernelSourcesError,
                       match=r"too few kernel sources \(\d+ < minKernelSources=5000\).*S/N in"):
        select_kernel_sources(pair.science, pair.template, signal_to_noise=SNR,
                              min_sources=5000)
    with pytest.raises(DiffimError, match="needs columns x and y"):
        select_kernel_sources(pair.science, pair.template, pd.DataFrame({"ra": [1.0]}),
                              signal_to_noise=SNR)


def test_src_and_dia_source_psf_fluxes_are_one_measurement():
    # Stars on pixel centres of a constant PSF: the kernel-source photometry (the
    # calexps' src) and the DIA sources' PSF flux fit the same model, to the bit.
    exposure = noise_exposure(256, seed=31)
    x, y = np.array([60.0, 128.0, 200.0]), np.array([70.0, 180.0, 101.0])
    for xi, yi, flux in zip(x, y, (3000.0, 800.0, 20000.0)):
        add_point(exposure, xi, yi, flux)
    src = psf_photometry(exposure.image, exposure.variance, exposure.psf, exposure.bbox, x, y)
    usable = np.ones(exposure.image.shape, bool)
    flux, flux_err = psf_flux(exposure.image, exposure.variance, usable, exposure.bbox,
                              psf_models(exposure.psf, x, y), x, y)
    np.testing.assert_array_equal(src["flux"], flux)
    np.testing.assert_array_equal(src["snr"], flux / flux_err)
    np.testing.assert_allclose(flux, [3000.0, 800.0, 20000.0], atol=5 * flux_err.max())


@pytest.mark.parametrize("pair_block", [1 << 20, 7, 1])
@pytest.mark.parametrize("count, size, radius", [(3000, 1024, 12.0), (400, 128, 6.5),
                                                 (5, 100, 3.0), (30, 10, 0.0)])
def test_isolation_matches_every_pair_compared(monkeypatch, pair_block, count, size, radius):
    import diffim.sources.kernel_sources as kernel_sources

    monkeypatch.setattr(kernel_sources, "_PAIR_BLOCK", pair_block)
    rng = np.random.default_rng(count)
    x = rng.integers(0, size, count).astype(float)
    y = rng.integers(0, size, count).astype(float)
    x[:3], y[:3] = x[0], y[0]  # a peak found three times
    distance2 = (x[:, None] - x[None, :]) ** 2 + (y[:, None] - y[None, :]) ** 2
    expected = (distance2 < radius ** 2).sum(axis=1) == 1
    isolated = kernel_sources._isolated(x, y, radius)
    assert np.array_equal(isolated, expected)
    assert 0 < expected.sum() < count or radius == 0.0


@pytest.mark.parametrize("with_background", [False, True])
def test_stamp_pixels_are_the_gathered_pixels_zeroed_where_unusable(with_background):
    rng = np.random.default_rng(4)
    shape = (50, 70)
    image = rng.normal(100.0, 5.0, shape).astype(np.float32)
    variance = rng.uniform(20.0, 30.0, shape).astype(np.float32)
    mask = np.where(rng.random(shape) < 0.05, np.uint32(4), np.uint32(0))
    mask[rng.random(shape) < 0.05] |= np.uint32(1)
    background = background_grid(image, np.ones(shape, bool), cell=16) if with_background else None
    rows = np.array([0, 10, 25, 49, -3, 55])  # the last two centred off the image
    cols = np.array([0, 69, 30, 12, 5, 72])
    size, half = 9, 4
    stamps, variances = _StampPixels(image, variance, (mask, 4), background).around(rows, cols, size)
    r = rows[:, None, None] + np.arange(-half, half + 1)[None, :, None]
    c = cols[:, None, None] + np.arange(-half, half + 1)[None, None, :]
    inside = (r >= 0) & (r < shape[0]) & (c >= 0) & (c < shape[1])
    r, c = np.clip(r, 0, shape[0] - 1), np.clip(c, 0, shape[1] - 1)
    usable = inside & ((mask[r, c] & 4) == 0)
    expected = image[r, c] - (background.at(r, c) if with_background else 0)
    np.testing.assert_array_equal(stamps, np.where(usable, expected, 0.0).astype(np.float32))
    np.testing.assert_array_equal(variances, np.where(usable, variance[r, c], 0.0))
    assert stamps.dtype == variances.dtype == np.float32
