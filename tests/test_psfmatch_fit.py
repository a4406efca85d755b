"""Kernel fit: known answers of the stack's own tests, spatial variation, bad input."""
import numpy as np
import pytest
from _psfmatch_data import exposure, gaussian_kernel, grid_positions, star_field
from scipy.signal import fftconvolve

from diffim.image.stats import clipped_mean_std
from diffim.psfmatch import (
    NoKernelCandidatesError,
    PsfMatchInputError,
    SpatialKernel,
    fit_psf_matching_kernel,
    make_alard_lupton_basis,
)
from diffim.psfmatch.candidates import GOOD
from diffim.psfmatch.config import PsfMatchConfig
from diffim.geom import Box
from diffim.psfmatch.fit import MAX_SPATIAL_LEVERAGE, _clip_kernel_sums, spatial_leverage
from diffim.psfmatch.spatial import SpatialFunction


def test_delta_function_template_recovers_elliptical_gaussian():
    shape = (256, 256)
    positions = grid_positions(shape, 50, 28)
    template = np.zeros(shape)
    for x, y in positions.astype(int):
        template[y, x] = 1000.0
    truth = gaussian_kernel(21, 2.0, 3.0)
    science = fftconvolve(template, truth, mode="same")
    result = fit_psf_matching_kernel(
        exposure(template), exposure(science), positions, kernelBasisSet="delta-function",
        useRegularization=False, fitForBackground=True, spatialKernelOrder=0, spatialBgOrder=0)
    kernel = result.kernel.image(128, 128)
    np.testing.assert_allclose(kernel, truth, rtol=0, atol=1e-5)
    assert abs(result.background(128, 128)) < 1e-5
    assert result.metadata["nUsed"] == len(positions)


def test_flux_scaling_and_background_recovered():
    shape = (256, 256)
    rng = np.random.default_rng(3)
    positions = rng.uniform(30, 226, size=(40, 2))
    template = star_field(shape, positions, rng.uniform(1e4, 5e4, 40), 1.5)
    science = 2.7 * fftconvolve(template, gaussian_kernel(21, 1.5), mode="same") + 11.3
    result = fit_psf_matching_kernel(exposure(template), exposure(science), positions,
                                     fitForBackground=True, spatialKernelOrder=1,
                                     spatialBgOrder=1)
    for x, y in [(40, 40), (128, 128), (220, 60)]:
        assert result.kernel.kernel_sum(x, y) == pytest.approx(2.7, abs=1e-4)
        assert result.background(x, y) == pytest.approx(11.3, abs=1e-4)
    assert (result.candidates["status"] == GOOD).all()


def test_kernel_sum_clip_rejects_only_the_outlier():
    sums = np.array([1, 1, 1, 1, 2, 3, 4, 50], dtype=float)
    mean, std = clipped_mean_std(sums)
    assert list(np.abs(sums - mean) > 3 * std) == [False] * 7 + [True]
    table = np.rec.fromarrays(
        [np.arange(8.0), np.zeros(8), np.ones(8), np.arange(8), np.zeros(8, int),
         np.full(8, GOOD, dtype=object), np.full(8, "", dtype=object), sums],
        names="x,y,flux,cell_x,cell_y,status,reason,kernel_sum")
    used = _clip_kernel_sums(table, PsfMatchConfig())
    assert list(table["status"]) == [GOOD] * 7 + ["BAD"]
    assert used.sum() == 7


def test_spatially_varying_kernel_width():
    """Science PSF width grows linearly in x; the kernel sum stays 1."""
    shape = (512, 512)
    rng = np.random.default_rng(5)
    positions = grid_positions(shape, 40, 30, rng, jitter=5)
    fluxes = rng.uniform(2e4, 6e4, len(positions))
    template_sigma = 1.2

    def kernel_sigma(x, y):
        return 1.0 + 1.2 * x / 511.0

    template = star_field(shape, positions, fluxes, template_sigma)
    science = star_field(shape, positions, fluxes,
                         lambda x, y: np.hypot(template_sigma, kernel_sigma(x, y)))
    result = fit_psf_matching_kernel(exposure(template, 1.0), exposure(science, 1.0),
                                     positions, spatialKernelOrder=2, nStarPerCell=2)
    template_psf = gaussian_kernel(31, template_sigma)
    for x, y in [(60, 60), (256, 256), (450, 100), (100, 450), (450, 450)]:
        # Compare what the data constrain: the kernel applied to the template PSF
        # against the science PSF. (Kernel pixels themselves are not unique: the
        # sigma-1.2 template carries no power at the highest frequencies.)
        matched = fftconvolve(template_psf, result.kernel.image(x, y), mode="same")
        science_psf = gaussian_kernel(31, np.hypot(template_sigma, kernel_sigma(x, y)))
        # Tolerance 1% of the peak: the AL basis and a quadratic spatial model only
        # approximate a width that changes by a factor 2.2 across the image.
        assert np.abs(matched - science_psf).max() < 0.01 * science_psf.max()
        assert result.kernel.kernel_sum(x, y) == pytest.approx(1.0, abs=1e-3)
    coefficients = result.kernel.coefficients
    assert np.all(coefficients[0, 1:] == 0.0)    # B0 spatially constant


def test_all_candidates_masked_names_the_plane():
    shape = (128, 128)
    positions = grid_positions(shape, 40, 24)
    template = exposure(star_field(shape, positions, np.full(len(positions), 1e4), 1.5))
    science = exposure(star_field(shape, positions, np.full(len(positions), 1e4), 2.0))
    template.mask.set("SAT")
    with pytest.raises(NoKernelCandidatesError, match="mask SAT"):
        fit_psf_matching_kernel(template, science, positions)


def test_candidates_outside_the_image():
    template = exposure(np.zeros((64, 64)))
    with pytest.raises(NoKernelCandidatesError, match="outside image"):
        fit_psf_matching_kernel(template, template, [[5.0, 5.0], [60.0, 30.0]])


def test_nan_in_science_names_the_plane():
    shape = (128, 128)
    science = exposure(np.ones(shape))
    science.variance[10, 20] = np.nan
    with pytest.raises(PsfMatchInputError, match="science variance plane .* x=20, y=10"):
        fit_psf_matching_kernel(exposure(np.ones(shape)), science, [[64.0, 64.0]])


def test_too_few_candidates_for_spatial_order_lower_the_order():
    """Two stars cannot constrain a quadratic kernel: the fit is constant, and says so.

    The background keeps its order (its terms only absorb each stamp's sky offset).
    """
    shape = (128, 128)
    positions = np.array([[40.0, 40.0], [88.0, 88.0]])
    template = star_field(shape, positions, [1e4, 1e4], 1.5)
    science = star_field(shape, positions, [1e4, 1e4], 2.0)
    result = fit_psf_matching_kernel(exposure(template), exposure(science), positions)
    assert result.config.spatialKernelOrder == 2
    assert result.metadata["spatialKernelOrderUsed"] == 0
    assert result.metadata["spatialBgOrderUsed"] == result.config.spatialBgOrder
    assert result.kernel.kernel_sum(64, 64) == pytest.approx(1.0, abs=1e-3)


def test_faint_candidates_do_not_choose_a_spatial_order_for_their_noise():
    """Six faint stars of one kernel could carry a quadratic kernel (six terms) but only
    fit their noise into it: the fit one order lower is as good within Akaike's
    criterion, down to a constant. The same stars bright and with a kernel that widens
    across the image keep the order their residuals ask for."""
    shape = (256, 256)
    positions = np.array([[50.0, 50.0], [128.0, 60.0], [206.0, 50.0],
                          [50.0, 206.0], [128.0, 196.0], [206.0, 206.0]])
    rng = np.random.default_rng(11)
    noise = 10.0
    template = star_field(shape, positions, [3e3] * 6, 1.5)
    science = star_field(shape, positions, [3e3] * 6, 2.0)
    faint = fit_psf_matching_kernel(
        exposure(template + rng.normal(0, noise, shape), 2 * noise**2),
        exposure(science + rng.normal(0, noise, shape), 2 * noise**2), positions,
        fitForBackground=True)
    assert faint.metadata["spatialKernelOrderUsed"] == 0
    # What the template's noise is multiplied by: the true kernel's sum of squares,
    # 1 / (4 pi sigma^2) (sigma^2 = 2^2 - 1.5^2); fitted quadratic, 0.05-0.07 at the
    # stars and up to 0.18 between them.
    for x, y in [*positions, (10.0, 128.0), (128.0, 128.0)]:
        power = (faint.kernel.image(x, y) ** 2).sum()
        assert power == pytest.approx(1 / (4 * np.pi * 1.75), rel=0.05)

    widening = star_field(shape, positions, [3e5] * 6, lambda x, y: 1.6 + 0.8 * x / 255.0)
    bright = fit_psf_matching_kernel(
        exposure(100 * template + rng.normal(0, noise, shape), 2 * noise**2),
        exposure(widening + rng.normal(0, noise, shape), 2 * noise**2), positions,
        fitForBackground=True)
    assert bright.metadata["spatialKernelOrderUsed"] >= 1


def test_spatial_leverage_known_answers():
    """The largest variance of a spatial fit over the domain, in units of one candidate's."""
    box = Box(0, 0, 101, 101)
    x, y = (c.ravel() for c in np.meshgrid([0.0, 50.0, 100.0], [0.0, 50.0, 100.0]))
    # Constant: the mean of n candidates.
    assert spatial_leverage(SpatialFunction("chebyshev1", 0, box), x, y) == pytest.approx(1 / 9)
    # Plane through a 3 x 3 grid spanning the box: (F^T F)^-1 = diag(1/9, 1/6, 1/6), largest at
    # a corner, 1/9 + 1/6 + 1/6; plain polynomials span the same space.
    for model in ("chebyshev1", "polynomial"):
        assert spatial_leverage(SpatialFunction(model, 1, box), x, y) == pytest.approx(4 / 9)
    # Three candidates on a line do not determine a plane; five, a quadratic.
    line = SpatialFunction("chebyshev1", 1, box)
    on_a_line = np.array([10.0, 50.0, 90.0]), np.array([20.0, 50.0, 80.0])
    assert spatial_leverage(line, *on_a_line) == np.inf
    assert spatial_leverage(SpatialFunction("chebyshev1", 2, box), x[:5], y[:5]) == np.inf


def test_six_stars_two_of_them_close_do_not_make_a_quadratic_kernel():
    """DECam OBS18e's six kernel sources (two 12 px apart), each star's kernel a little
    different: a quadratic goes through the six kernels (Akaike's criterion keeps it), and
    between them it is an interpolation with leverage 8e6: at the image centre its
    absolute sum was 80 times its sum. The order is lowered to one the stars constrain
    (a plane: 1.06 at the corner (0, 0), where it extrapolates)."""
    shape = (256, 256)
    positions = np.array([[57.2, 180.2], [100.3, 73.0], [104.3, 233.2], [178.3, 202.2],
                          [227.8, 215.3], [215.9, 212.1]])
    widths = dict(zip(map(tuple, positions), 2.0 + 0.1 * np.array([-1, 1, 0, -0.5, 1, -1])))
    template = star_field(shape, positions, [3e4] * 6, 1.5)
    science = star_field(shape, positions, [3e4] * 6, lambda x, y: widths[(x, y)])
    rng = np.random.default_rng(1)
    noise = 10.0
    fit = fit_psf_matching_kernel(
        exposure(template + rng.normal(0, noise, shape), 2 * noise**2),
        exposure(science + rng.normal(0, noise, shape), 2 * noise**2), positions,
        fitForBackground=True)
    assert spatial_leverage(SpatialFunction("chebyshev1", 2, Box(0, 0, 256, 256)),
                            positions[:, 0], positions[:, 1]) > 1e6
    assert fit.metadata["spatialKernelOrderUsed"] == 1
    assert fit.metadata["spatialKernelLeverage"] <= MAX_SPATIAL_LEVERAGE
    for x, y in [(128.0, 128.0), (0.0, 0.0), (255.0, 255.0)]:
        kernel = fit.kernel.image(x, y)
        assert np.abs(kernel).sum() < 1.1 * kernel.sum()


def test_singular_single_kernel_systems_fall_back_to_pseudo_inverse():
    """A blank template gives all-zero kernel columns: solved by pseudo-inverse, not NaN."""
    shape = (128, 128)
    positions = grid_positions(shape, 30, 24)
    result = fit_psf_matching_kernel(exposure(np.zeros(shape)), exposure(np.full(shape, 3.0)),
                                     positions, fitForBackground=True, spatialKernelOrder=0,
                                     spatialBgOrder=0)
    assert result.candidates["pseudo_inverse"].all()
    assert result.metadata["spatialPseudoInverse"]
    assert result.background(64, 64) == pytest.approx(3.0)
    assert np.isfinite(result.kernel.coefficients).all()


def test_kernel_round_trips_through_fits(tmp_path):
    from astropy.io import fits

    from diffim.geom import Box
    from diffim.psfmatch import SpatialFunction

    basis = make_alard_lupton_basis(21, [0.7, 1.5, 3.0], [4, 2, 2])
    coefficients = np.random.default_rng(0).normal(size=(27, 6))
    coefficients[0, 1:] = 0.0
    kernel = SpatialKernel(basis, SpatialFunction("chebyshev1", 2, Box(0, 0, 300, 200)),
                           coefficients)
    path = tmp_path / "kernel.fits"
    fits.HDUList([fits.PrimaryHDU(), kernel.to_hdu()]).writeto(path)
    with fits.open(path) as hdus:
        restored = SpatialKernel.from_hdu(hdus["PSFMATCH_KERNEL"])
    for x, y in [(0, 0), (123.5, 77.0)]:
        np.testing.assert_array_equal(restored.image(x, y), kernel.image(x, y))
    np.testing.assert_array_equal(restored.basis.pairs, basis.pairs)


def test_pca_basis_reproduces_the_kernel():
    shape = (256, 256)
    rng = np.random.default_rng(8)
    positions = grid_positions(shape, 32, 24, rng, jitter=4)
    fluxes = rng.uniform(1e4, 5e4, len(positions))
    template = star_field(shape, positions, fluxes, 1.3)
    science = star_field(shape, positions, fluxes, np.hypot(1.3, 1.6))
    result = fit_psf_matching_kernel(exposure(template), exposure(science), positions,
                                     usePcaForSpatialKernel=True, numPrincipalComponents=3,
                                     spatialKernelOrder=1)
    matched = fftconvolve(gaussian_kernel(31, 1.3), result.kernel.image(128, 128), mode="same")
    science_psf = gaussian_kernel(31, np.hypot(1.3, 1.6))
    assert np.abs(matched - science_psf).max() < 1e-3 * science_psf.max()
    assert result.kernel.basis.name == "alard-lupton"    # mapped back to the separable basis
    assert result.kernel.kernel_sum(10, 200) == pytest.approx(1.0, abs=1e-3)
