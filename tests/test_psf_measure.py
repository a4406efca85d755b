"""Tests of `diffim.psf.measure_psf` on images rendered with known PSFs."""
import numpy as np
import pytest

from diffim.errors import PsfError
from diffim.geom import Box
from diffim.psf import GaussianPsf, MoffatPsf, PixelPsf, measure_psf

SHAPE = (512, 512)
SKY, NOISE, SATURATION = 100.0, 10.0, 6.0e4


def render_scene(psf, seed, n_stars=60, n_saturated=4, n_galaxies=4, n_cosmic_rays=6):
    """Stars, saturated stars, galaxies and cosmic rays on a noisy sky.

    Returns the image, the saturated-pixel mask and the true positions of the
    unsaturated stars.
    """
    rng = np.random.default_rng(seed)
    parent = Box.from_shape(SHAPE)
    image = np.full(SHAPE, SKY)

    def add(profile, x, y, flux):
        stamp, box = profile.computeImage(x, y)
        inside = box.intersection(parent)
        image[inside.slices_in(parent)] += flux * stamp[inside.slices_in(box)]

    def position():
        return rng.uniform(20, SHAPE[1] - 21), rng.uniform(20, SHAPE[0] - 21)

    stars = []
    for _ in range(n_stars):
        x, y = position()
        add(psf, x, y, 10 ** rng.uniform(np.log10(2e4), np.log10(2e5)))
        stars.append((x, y))
    for _ in range(n_saturated):
        add(psf, *position(), 5e6)
    galaxy_sigma = 2.5 * psf.computeSigma(0, 0)
    for _ in range(n_galaxies):
        galaxy = GaussianPsf(galaxy_sigma, 0.7 * galaxy_sigma, rng.uniform(0, np.pi))
        add(galaxy, *position(), 1e5)
    for _ in range(n_cosmic_rays):
        image[rng.integers(0, SHAPE[0]), rng.integers(0, SHAPE[1])] += rng.uniform(2e3, 1e4)
    image += rng.normal(0.0, NOISE, SHAPE)
    saturated = image >= SATURATION
    return np.minimum(image, SATURATION), saturated, np.array(stars)


def nearest_distance(points, x, y):
    return np.min(np.hypot(points[:, 0] - x, points[:, 1] - y))


@pytest.fixture(scope="module")
def gaussian_scene():
    psf = GaussianPsf(4.0 / (2.0 * np.sqrt(2.0 * np.log(2.0))))
    return psf, *render_scene(psf, seed=11)


@pytest.fixture(scope="module")
def moffat_scene():
    psf = MoffatPsf(5.0, beta=3.0)
    return psf, *render_scene(psf, seed=12)


def check_measurement(measurement, psf, stars, xy0):
    true_fwhm = psf.computeFwhm(0, 0)
    assert abs(measurement.fwhm / true_fwhm - 1.0) < 0.03
    assert measurement.fwhm_scatter < 0.02 * true_fwhm
    assert measurement.n_stars >= 20
    assert len(measurement.star_x) == len(measurement.star_y) == measurement.n_stars
    # Every star used is one of the unsaturated stars, at its true position:
    # no galaxy, cosmic ray or saturated star got in.
    for x, y in zip(measurement.star_x - xy0[0], measurement.star_y - xy0[1]):
        assert nearest_distance(stars, x, y) < 0.1
    assert isinstance(measurement.psf, PixelPsf)
    kernel = measurement.psf.computeKernelImage(0, 0)
    assert kernel.sum() == pytest.approx(1.0, abs=1e-12)
    half = kernel.shape[0] // 2
    assert np.unravel_index(np.argmax(kernel), kernel.shape) == (half, half)
    assert abs(measurement.psf.computeFwhm(0, 0) / true_fwhm - 1.0) < 0.03


def test_measure_gaussian_psf(gaussian_scene):
    psf, image, saturated, stars = gaussian_scene
    xy0 = (1000, -200)
    measurement = measure_psf(image, bad_pixels=saturated, xy0=xy0)
    check_measurement(measurement, psf, stars, xy0)
    # The stacked PSF matches the truth pixel by pixel to a few % of its peak.
    truth = GaussianPsf(psf.sigma_x, size=measurement.psf.size).computeKernelImage(0, 0)
    assert np.abs(measurement.psf.computeKernelImage(0, 0) - truth).max() < 0.02 * truth.max()


def test_measure_moffat_psf_with_variance_plane(moffat_scene):
    psf, image, saturated, stars = moffat_scene
    variance = NOISE ** 2 + np.maximum(image - SKY, 0.0)
    measurement = measure_psf(image, variance=variance, bad_pixels=saturated, max_stars=30)
    assert measurement.n_stars <= 30
    check_measurement(measurement, psf, stars, (0, 0))


def test_too_few_stars_raises():
    psf = GaussianPsf(1.7)
    image, saturated, _ = render_scene(psf, seed=3, n_stars=2, n_saturated=1, n_galaxies=0,
                                       n_cosmic_rays=0)
    with pytest.raises(PsfError, match=r"found [0-2] isolated unsaturated stars, need at least 3"):
        measure_psf(image, bad_pixels=saturated)


def test_blank_image_raises():
    image = np.random.default_rng(5).normal(SKY, NOISE, (128, 128))
    with pytest.raises(PsfError, match="found 0 isolated unsaturated stars"):
        measure_psf(image)


@pytest.mark.parametrize("kwargs", [
    {"image": np.zeros((4, 4, 4))},
    {"image": np.zeros((64, 64)), "bad_pixels": np.zeros((64, 63), dtype=bool)},
    {"image": np.zeros((64, 64)), "bad_pixels": np.zeros((64, 64))},
    {"image": np.zeros((64, 64)), "variance": np.ones((32, 32))},
    {"image": np.full((64, 64), np.nan)},
    {"image": np.zeros((64, 64))},
    {"image": np.zeros((64, 64)), "min_stars": 0},
])
def test_malformed_inputs_raise(kwargs):
    with pytest.raises(PsfError):
        measure_psf(**kwargs)


def test_fwhm_measured_on_simulated_calexp_within_3_percent():
    """The simulator's stars (Moffat, beta 3.5, noise, galaxies, CRs, saturation)
    measured without knowing the PSF give its FWHM to 3 %."""
    from diffim.sim import PairConfig, simulate_pair

    for fwhm in (3.5, 5.0):
        config = PairConfig(size=512, seed=11, science_fwhm=fwhm, science_fwhm_variation=0.0,
                            science_ellipticity_variation=0.0, star_density=400.0)
        science = simulate_pair(config).science
        measured = measure_psf(science.image, science.variance,
                               science.mask.get(["SAT", "BAD", "CR", "INTRP", "NO_DATA"]),
                               science.xy0)
        truth = science.psf.computeFwhm(*science.bbox.center)
        assert truth == pytest.approx(fwhm, rel=1e-3)
        assert measured.fwhm == pytest.approx(truth, rel=0.03)
        assert measured.n_stars >= 5


def test_galaxy_dominated_field_finds_the_stellar_locus():
    """Forty galaxies brighter than the fifteen stars: the PSF is still the stars'."""
    psf = GaussianPsf(2.4 / (2.0 * np.sqrt(2.0 * np.log(2.0))))
    image, saturated, stars = render_scene(psf, seed=21, n_stars=15, n_saturated=0,
                                           n_galaxies=0, n_cosmic_rays=6)
    rng = np.random.default_rng(22)
    parent = Box.from_shape(SHAPE)
    for _ in range(40):
        sigma = rng.uniform(1.5, 4.0) * psf.sigma_x
        galaxy = GaussianPsf(sigma, 0.7 * sigma, rng.uniform(0, np.pi))
        stamp, box = galaxy.computeImage(rng.uniform(20, SHAPE[1] - 21),
                                         rng.uniform(20, SHAPE[0] - 21))
        inside = box.intersection(parent)
        image[inside.slices_in(parent)] += 1e6 * stamp[inside.slices_in(box)]
    measurement = measure_psf(image, bad_pixels=saturated)
    assert measurement.fwhm == pytest.approx(2.4, rel=0.03)
    for x, y in zip(measurement.star_x, measurement.star_y):
        assert nearest_distance(stars, x, y) < 0.1


def test_fwhm_of_the_real_nircam_cluster_pair():
    """JWST NIRCam F200W on Abell 2744 (tests/data/nircam-sfft): a cluster field whose
    brightest peaks are galaxies and whose few stars are mostly faint. The default
    measurement finds the stars (FWHM 2.23 and 2.19 px from 4 stars each) within 10 %
    of the truth, 2.2 px: JWST's F200W PSF FWHM of 0.066" is 2.14 px at the mosaics'
    0.0308"/px, and Moffat fits to the one isolated star of S/N ~50 (x=208, y=468)
    give 2.16 and 2.07 px. (The brightest star, x=19 y=383, S/N ~1400, fits no
    Moffat: chi^2 ~700 from its diffraction pattern.)"""
    from astropy.io import fits
    from conftest import NIRCAM_DIR

    for name in ("a2744-2561-f200w", "a2744-1324-f200w"):
        image = fits.getdata(NIRCAM_DIR / f"{name}.sci.fits").astype(np.float32)
        variance = fits.getdata(NIRCAM_DIR / f"{name}.err.fits").astype(np.float32) ** 2
        bad = ~np.isfinite(image) | ~(variance > 0)
        measurement = measure_psf(np.where(bad, 0.0, image), np.where(bad, 1.0, variance), bad)
        assert measurement.fwhm == pytest.approx(2.2, rel=0.1), name
        assert measurement.n_stars >= 3


@pytest.mark.parametrize("with_variance, with_bad", [(True, True), (True, False), (False, True),
                                                     (False, False)])
def test_unusable_pixels_are_those_numpy_finds(with_variance, with_bad):
    from diffim.psf.measure import _check_planes

    rng = np.random.default_rng(5)
    image = rng.normal(size=(37, 53)).astype(np.float32)
    variance = rng.uniform(0.5, 2.0, size=image.shape).astype(np.float32)
    image[3, 4], image[5, 6], image[7, 8] = np.nan, np.inf, -np.inf
    variance[9, 10], variance[11, 12], variance[13, 14], variance[15, 16] = 0.0, -1.0, np.inf, np.nan
    # A strided view: the pixels to avoid need not be a contiguous array.
    bad = np.zeros((37, 106), bool)[:, ::2]
    bad[17, 18] = bad[0, 52] = True
    expected = ~np.isfinite(image)
    if with_variance:
        expected |= ~(variance > 0) | (variance == np.inf)
    if with_bad:
        expected |= bad
    _, _, unusable = _check_planes(image, variance if with_variance else None,
                                   bad if with_bad else None)
    assert np.array_equal(unusable, expected)
