"""ZOGY (diffim.zogy) on simulated pairs with known answers."""
import numpy as np
import pytest
import scipy.fft
import scipy.signal
from scipy import ndimage

from diffim import Exposure
from diffim.errors import DiffimError
from diffim.image_difference import ImageDifferenceConfig, ImageDifferenceTask
from diffim.mask import Mask
from diffim.measure.photometry import psf_flux
from diffim.measure.stamps import psf_models
from diffim.psf import GaussianPsf
from diffim.sim import PairConfig, simulate_pair
from diffim.sources.catalog import make_source_catalog
from diffim.subtract import AlardLuptonSubtractConfig, AlardLuptonSubtractTask
from diffim.zogy import ZogyConfig, ZogyTask
from diffim.zogy.cells import cell_grid
from diffim.zogy.fourier import stamp_spectrum
from diffim.zogy.kernels import zogy_kernels
from diffim.zogy.masks import difference_mask
from diffim.zogy.proper import proper_images
from diffim.zogy.score import astrometric_variance

SIZE = 1024
# Background-dominated transients (the regime of ZOGY's S/N formula, eq. 18):
# a bright sky, transients of S/N ~ 30-80 away from hosts.
PAIR = PairConfig(size=SIZE, seed=3, n_transients=40, transient_flux_min=15000,
                  transient_flux_max=40000, transient_host_fraction=0.0,
                  science_sky=6000.0, template_sky=3000.0, flux_ratio=0.9)


def run_zogy(pair, **fields):
    config = ZogyConfig()
    for name, value in fields.items():
        setattr(config, name, value)
    task = ZogyTask(config=config)
    return task, task.run(pair.template, pair.science)


@pytest.fixture(scope="module")
def pair():
    return simulate_pair(PAIR)


@pytest.fixture(scope="module")
def zogy(pair):
    return run_zogy(pair)


def empty_sky(pair, exposure, distance=25):
    """Pixels farther than ``distance`` from every truth source, with no mask bit."""
    seeds = np.ones(exposure.shape, bool)
    truth = pair.truth
    height, width = exposure.shape
    inside = truth["x"].between(0, width - 1) & truth["y"].between(0, height - 1)
    seeds[np.rint(truth.loc[inside, "y"]).astype(int),
          np.rint(truth.loc[inside, "x"]).astype(int)] = False
    return (ndimage.distance_transform_edt(seeds) > distance) & (exposure.mask.array == 0)


def transients(pair):
    truth = pair.truth
    return truth[(truth["kind"] == "transient") & truth["in_science"] & truth["is_isolated"]
                 & ~truth["near_defect"] & truth["x"].between(20, SIZE - 21)
                 & truth["y"].between(20, SIZE - 21)]


def test_stamp_spectrum_is_the_fft_of_the_wrapped_stamp():
    stamp = np.random.default_rng(0).random((7, 7))
    shape = (20, 18)
    wrapped = np.zeros(shape)
    wrapped[np.ix_(np.arange(-3, 4) % 20, np.arange(-3, 4) % 18)] = stamp
    np.testing.assert_allclose(stamp_spectrum(stamp, shape), scipy.fft.rfft2(wrapped),
                               atol=5e-6)


def test_identical_psfs_and_noise_give_the_plain_difference():
    # P_n = P_r = P, sigma_n = sigma_r, F_r = 1: c_n = c_r = P^ / (sqrt(2) sigma |P^|),
    # a delta / (sqrt(2) sigma) when P^ >= 0 (P is a stamp convolved with itself),
    # so D / F_d = N - R exactly, and P_d = P.
    rng = np.random.default_rng(1)
    half = GaussianPsf(1.2).computeKernelImage(0, 0)
    psf = scipy.signal.fftconvolve(half, half)
    kernels = zogy_kernels(psf, psf, 4.0, 4.0, 1.0)
    new = rng.normal(0, 2, (128, 128)).astype(np.float32)
    ref = rng.normal(0, 2, (128, 128)).astype(np.float32)
    variance = np.full((128, 128), 4.0, np.float32)
    result = proper_images(new, ref, variance, variance, kernels)
    np.testing.assert_allclose(result.difference, new - ref, atol=1e-4)
    np.testing.assert_allclose(result.differenceVariance, 8.0, rtol=1e-4)
    np.testing.assert_allclose(kernels.difference_psf, psf / psf.sum(), atol=1e-6)
    assert kernels.flux_difference == pytest.approx(1.0 / np.sqrt(8.0))


def test_flux_zero_points_follow_the_paper():
    narrow, wide = GaussianPsf(1.5).computeKernelImage(0, 0), GaussianPsf(2.5).computeKernelImage(0, 0)
    kernels = zogy_kernels(wide, narrow, 100.0, 30.0, 1.2)
    assert kernels.flux_difference == pytest.approx(1.2 / np.sqrt(100.0 * 1.2 ** 2 + 30.0))
    assert kernels.difference_psf.sum() == pytest.approx(1.0)
    # F_s = F_d^2 sum(P_d^2): the background variance of S.
    assert kernels.flux_score == pytest.approx(
        kernels.flux_difference ** 2 * np.sum(kernels.difference_psf ** 2), rel=1e-3)


def test_cell_weights_blend_to_one_and_inner_cells_tile():
    cells = cell_grid((300, 410), 100, 12, 20)
    total = np.zeros((300, 410))
    owner = np.zeros((300, 410), int)
    for cell in cells:
        total[cell.blend] += cell.weight
        owner[cell.inner] += 1
        for blend, compute in zip(cell.blend, cell.compute):
            assert compute.start <= blend.start and blend.stop <= compute.stop
    np.testing.assert_allclose(total, 1.0, atol=1e-6)
    assert (owner == 1).all() and len(cells) == 3 * 4


def test_mask_spreads_both_inputs_over_the_stamp():
    science, template = Mask.zeros((40, 40)), Mask.zeros((40, 40))
    template.set("BAD", (20, 10))
    science.set("CR", (5, 30))
    mask = difference_mask(science, template, 2)
    assert mask.get("BAD").sum() == 25 and mask.get("BAD")[18:23, 8:13].all()
    assert mask.get("CR")[3:8, 28:33].all()
    edge = mask.get("EDGE")
    assert edge[:2].all() and edge[:, -2:].all() and not edge[2:-2, 2:-2].any()


def test_astrometric_term_is_the_squared_gradient():
    y, x = np.mgrid[:20, :30].astype(np.float32)
    variance = astrometric_variance(3.0 * x, 2.0 * y, 0.1)
    np.testing.assert_allclose(variance, 0.01 * (9.0 + 4.0), rtol=1e-5)


def test_config_has_the_stack_defaults():
    config = ZogyConfig()
    assert (config.templateFluxScaling, config.scienceFluxScaling) == (1.0, 1.0)
    assert config.scaleByCalibration and not config.correctBackground
    assert not config.doSpatialGrid and config.gridInnerSize == 8
    assert config.maxPsfCentroidDist == 0.2
    assert list(config.ignoreMaskPlanes) == ["INTRP", "EDGE", "DETECTED", "SAT", "CR", "BAD",
                                             "NO_DATA", "DETECTED_NEGATIVE"]


def test_empty_sky_difference_and_score_are_unit_noise(pair, zogy):
    task, result = zogy
    assert task.metadata["fluxScale"] == pytest.approx(1.0 / 0.9)
    for exposure, tolerance in ((result.difference, 0.02), (result.score, 0.05)):
        where = empty_sky(pair, exposure)
        assert where.sum() > 200_000
        normalised = exposure.image[where] / np.sqrt(exposure.variance[where])
        assert abs(normalised.std() - 1.0) < tolerance
        assert abs(normalised.mean()) < 0.05


def test_transients_have_the_theoretical_zogy_snr(pair, zogy):
    task, result = zogy
    score = result.score
    s_corr = score.image / np.sqrt(score.variance)
    found = transients(pair)
    assert len(found) >= 20
    ratios, fluxes = [], []
    for row in found.itertuples():
        x, y = int(round(row.x)), int(round(row.y))
        # The paper's S/N, alpha sqrt(F_s), from the true PSFs at the source and
        # the background variances (template variance on the science scale).
        kernels = zogy_kernels(pair.science.psf.computeKernelImage(row.x, row.y),
                               pair.template.psf.computeKernelImage(row.x, row.y),
                               task.metadata["scienceVariance"],
                               task.metadata["templateVariance"], 1.0 / 0.9)
        theory = row.difference_flux * np.sqrt(kernels.flux_score)
        window = np.s_[y - 1:y + 2, x - 1:x + 2]
        peak = np.unravel_index(np.argmax(s_corr[window]), (3, 3))
        ratios.append(s_corr[window][peak] / theory)
        fluxes.append(score.image[window][peak] / row.difference_flux)
    ratios = np.array(ratios)
    assert np.all(np.abs(ratios - 1.0) < 0.10), ratios
    assert abs(np.median(fluxes) - 1.0) < 0.03


def test_al_and_zogy_agree_on_transient_fluxes(pair):
    # AL's kernel follows the PSF across the image, so ZOGY does too (cells):
    # then the two estimates of the same science photons agree far within
    # their errors (with one PSF pair for the whole image, to ~1.3 sigma rms).
    _, result = run_zogy(pair, doSpatialGrid=True, gridInnerSize=4)
    config = AlardLuptonSubtractConfig()
    config.doScaleVariance = False
    al = AlardLuptonSubtractTask(config=config).run(pair.template, pair.science).difference
    found = transients(pair)
    x, y = found["x"].to_numpy(), found["y"].to_numpy()
    measured = {}
    for label, difference in (("al", al), ("zogy", result.difference)):
        usable = np.ones(difference.shape, bool)
        models = psf_models(difference.psf, x, y)
        measured[label] = psf_flux(difference.image, difference.variance, usable,
                                   difference.bbox, models, x, y)
    (f_al, e_al), (f_zogy, e_zogy) = measured["al"], measured["zogy"]
    pull = (f_al - f_zogy) / np.hypot(e_al, e_zogy)
    assert np.all(np.abs(pull) < 0.5), pull
    assert abs(np.median(f_zogy / found["difference_flux"]) - 1.0) < 0.03


def test_spatial_grid_blends_to_unit_noise_and_follows_the_psf():
    varying = simulate_pair(PAIR.replace(size=768, science_fwhm_variation=0.3, seed=5,
                                         n_transients=0, star_density=1500, galaxy_fraction=0.0))
    truth = varying.truth
    stars = truth[(truth["kind"] == "star") & truth["in_science"] & truth["is_isolated"]
                  & ~truth["near_defect"] & (truth["science_snr"] > 50)]
    assert len(stars) >= 10
    residuals = {}
    for grid in (False, True):
        task, result = run_zogy(varying, doSpatialGrid=grid, gridInnerSize=4)
        difference = result.difference
        normalised = difference.image / np.sqrt(difference.variance)
        assert abs(normalised[empty_sky(varying, difference)].std() - 1.0) < 0.02
        assert (task.metadata["nCells"] > 1) == grid
        residuals[grid] = np.mean([
            np.sqrt(np.mean(normalised[y - 3:y + 4, x - 3:x + 4] ** 2))
            for x, y in zip(np.rint(stars["x"]).astype(int), np.rint(stars["y"]).astype(int))])
    # With a 30 % FWHM gradient one PSF pair leaves star residuals; cells follow it.
    assert residuals[True] < 0.8 * residuals[False], residuals


def test_bad_inputs_fail_with_one_line(pair):
    science = pair.science
    shifted = Exposure(pair.template.image[1:], pair.template.variance[1:],
                       psf=pair.template.psf, photo_calib=pair.template.photo_calib)
    with pytest.raises(DiffimError, match="same pixel grid"):
        ZogyTask().run(shifted, science)
    uncalibrated = pair.template.copy()
    uncalibrated.photo_calib = None
    config = ZogyConfig()
    config.fluxScaleFromStars = False
    with pytest.raises(DiffimError, match="scaleByCalibration"):
        ZogyTask(config=config).run(uncalibrated, science)
    off_centre = pair.template.copy()
    off_centre.psf = _ShiftedPsf(pair.template.psf.computeKernelImage(512, 512))
    with pytest.raises(DiffimError, match="maxPsfCentroidDist"):
        ZogyTask().run(off_centre, science)


class _ShiftedPsf(GaussianPsf):
    """A PSF whose kernel image is one pixel off centre."""

    def __init__(self, image):
        super().__init__(2.0)
        self._image = np.roll(image, 1, axis=1)

    def computeKernelImage(self, x, y):
        return self._image


def test_subtract_name_zogy_runs_zogy_in_the_monolith(pair, zogy):
    """``subtract.name = 'zogy'`` (real override files) runs ZOGY and detects on S_corr."""
    config = ImageDifferenceConfig()
    config.subtract.name = "zogy"
    config.doDecorrelation = False
    config.doScaleDiffimVariance = False
    config.useScoreImageDetection = True
    config.doWriteScoreExp = True
    config.validate()
    task = ImageDifferenceTask(config=config)
    result = task.run(pair.science, pair.template,
                      scienceSources=make_source_catalog(pair.science))
    _, direct = zogy
    assert np.array_equal(result.subtractedExposure.image, direct.difference.image)
    assert np.array_equal(result.scoreExposure.image, direct.score.image)
    assert not task.detectAndMeasure.config.detection.doSmooth
    assert set(task.outputsToWrite(result)) == {"differenceExp", "scoreExp", "diaSrc"}
    found = transients(pair)
    # Not those on a template defect: ZOGY spreads its mask over the PSF stamp.
    bad = result.subtractedExposure.mask.get(["BAD", "NO_DATA"])
    found = found[~bad[np.rint(found["y"]).astype(int), np.rint(found["x"]).astype(int)]]
    assert len(found) >= 25
    dia = result.diaSources[~result.diaSources["sky_source"]]
    distance = np.hypot(found["x"].to_numpy()[:, None] - dia["slot_Centroid_x"].to_numpy(),
                        found["y"].to_numpy()[:, None] - dia["slot_Centroid_y"].to_numpy())
    assert (distance.min(axis=1) < 1.0).all()
    nearest = distance.argmin(axis=1)
    # Measured on the difference (ZOGY's D in science counts): the injected fluxes.
    flux = dia["base_PsfFlux_instFlux"].to_numpy()[nearest]
    assert np.median(flux / found["difference_flux"].to_numpy()) == pytest.approx(1.0, abs=0.03)
