"""Separable spatially varying convolution of images, variances and masks."""
import numpy as np
import pytest
from scipy.signal import convolve2d

from _psfmatch_data import exposure, grid_positions, star_field
from diffim._core import _al_convolve, _planes
from diffim.geom import Box
from diffim.psfmatch import (PsfMatchInputError, SpatialFunction, SpatialKernel,
                             convolve_exposure, convolve_image, convolve_variance,
                             fit_psf_matching_kernel, make_alard_lupton_basis)


def random_kernel(order, shape, seed=0):
    basis = make_alard_lupton_basis(21, [0.7, 1.5, 3.0], [4, 2, 2])
    spatial = SpatialFunction("chebyshev1", order, Box(0, 0, shape[1], shape[0]))
    coefficients = np.random.default_rng(seed).normal(scale=0.1, size=(27, spatial.n_terms))
    coefficients[0] = 0.0
    coefficients[0, 0] = 1.0
    return SpatialKernel(basis, spatial, coefficients)


def brute_force(image, kernel, x, y):
    """Direct 2-D sum at one pixel with the kernel of that pixel (edge-extended input)."""
    half = kernel.size // 2
    padded = np.pad(image.astype(float), half, mode="edge")
    return np.sum(kernel.image(x, y)[::-1, ::-1] * padded[y:y + kernel.size, x:x + kernel.size])


def test_constant_kernel_equals_scipy():
    rng = np.random.default_rng(1)
    image = rng.normal(100.0, 10.0, size=(150, 230)).astype(np.float32)
    kernel = random_kernel(0, image.shape)
    reference = convolve2d(np.pad(image.astype(float), 10, mode="edge"), kernel.image(0, 0),
                           mode="valid")
    result = convolve_image(image, kernel)
    np.testing.assert_allclose(result, reference, rtol=1e-5)


def test_spatially_varying_kernel_equals_direct_sum():
    rng = np.random.default_rng(2)
    image = rng.normal(100.0, 10.0, size=(140, 300)).astype(np.float32)
    kernel = random_kernel(2, image.shape, seed=4)
    result = convolve_image(image, kernel)
    for x, y in [(0, 0), (150, 70), (299, 139), (37, 111), (280, 5)]:
        assert result[y, x] == pytest.approx(brute_force(image, kernel, x, y), rel=1e-5)


def test_wide_kernel_of_narrow_and_wide_vectors_equals_direct_sum():
    """The default basis's shape (35 px, four Gaussians trimmed to 7-35 taps):
    the passes over each vector's own taps give the direct 2-D sum."""
    basis = make_alard_lupton_basis(35, [0.76, 1.5, 3.0, 6.1], [4, 2, 2, 0])
    rng = np.random.default_rng(9)
    image = rng.normal(100.0, 10.0, size=(90, 130)).astype(np.float32)
    spatial = SpatialFunction("chebyshev1", 2, Box(0, 0, 130, 90))
    coefficients = rng.normal(scale=0.1, size=(len(basis), spatial.n_terms))
    coefficients[0] = 0.0
    coefficients[0, 0] = 1.0
    kernel = SpatialKernel(basis, spatial, coefficients)
    result = convolve_image(image, kernel)
    for x, y in [(0, 0), (17, 17), (64, 45), (129, 89), (100, 3)]:
        assert result[y, x] == pytest.approx(brute_force(image, kernel, x, y), rel=1e-5)


def test_variance_equals_brute_force_for_constant_kernel():
    rng = np.random.default_rng(3)
    variance = rng.uniform(50.0, 150.0, size=(120, 160)).astype(np.float32)
    kernel = random_kernel(0, variance.shape, seed=5)
    reference = convolve2d(np.pad(variance.astype(float), 10, mode="edge"),
                           kernel.image(0, 0) ** 2, mode="valid")
    np.testing.assert_allclose(convolve_variance(variance, kernel), reference, rtol=1e-5)


def test_variance_gain_follows_the_kernel_across_the_image():
    """For a flat variance the output is var * sum(K(x, y)^2) exactly at every pixel."""
    variance = np.full((100, 200), 4.0, dtype=np.float32)
    kernel = random_kernel(2, variance.shape, seed=6)
    result = convolve_variance(variance, kernel)
    for x, y in [(0, 0), (100, 50), (199, 99)]:
        assert result[y, x] == pytest.approx(4.0 * np.sum(kernel.image(x, y) ** 2), rel=1e-5)


def test_masks_grow_by_the_kernel_footprint_and_edge_is_set():
    shape = (80, 90)
    source = exposure(np.ones(shape))
    source.mask.set("CR", np.zeros(shape, bool) | (np.indices(shape)[0] == 40)
                    & (np.indices(shape)[1] == 50))
    result = convolve_exposure(source, random_kernel(0, shape))
    cr = result.mask.get("CR")
    expected = np.zeros(shape, bool)
    expected[30:51, 40:61] = True
    np.testing.assert_array_equal(cr, expected)
    edge = result.mask.get("EDGE")
    assert edge[:10].all() and edge[-10:].all() and edge[:, :10].all() and edge[:, -10:].all()
    assert not edge[10:-10, 10:-10].any()


@pytest.mark.parametrize("density", [0.001, 0.3], ids=["sparse-rows", "dense-rows"])
@pytest.mark.parametrize("size", [1, 7, 21, 35])
def test_mask_dilation_is_the_or_over_the_zero_extended_box(density, size):
    rng = np.random.default_rng(size)
    shape = (67, 45)
    bits = rng.integers(1, 2 ** 32, shape, dtype=np.uint64).astype(np.uint32)
    mask = np.where(rng.random(shape) < density, bits, np.uint32(0))
    half = size // 2
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(mask, half), (size, size))
    expected = np.bitwise_or.reduce(windows.reshape(*shape, -1), axis=2)
    out = np.empty_like(mask)
    _al_convolve.dilate_mask(mask, out, size)
    np.testing.assert_array_equal(out, expected)


def test_mask_dilation_needs_an_odd_box():
    mask = np.zeros((5, 5), np.uint32)
    with pytest.raises(ValueError, match="must be odd and positive, got 4"):
        _al_convolve.dilate_mask(mask, np.empty_like(mask), 4)


def test_no_data_pixels_do_not_make_nans():
    shape = (60, 60)
    source = exposure(np.ones(shape))
    source.image[30, 30] = np.nan
    source.mask.set("NO_DATA", np.isnan(source.image))
    result = convolve_exposure(source, random_kernel(0, shape))
    assert np.isfinite(result.image).all() and np.isfinite(result.variance).all()
    assert result.mask.get("NO_DATA")[20:41, 20:41].all()
    source.mask.clear("NO_DATA")
    with pytest.raises(PsfMatchInputError, match="image plane has 1 NaN"):
        convolve_exposure(source, random_kernel(0, shape))
    source.mask.set("NO_DATA", np.isnan(source.image))
    source.variance[5, 7] = source.variance[50, 2] = np.inf
    with pytest.raises(PsfMatchInputError, match="variance plane has 2 NaN/inf"):
        convolve_exposure(source, random_kernel(0, shape))


def test_unflagged_nonfinite_pixels_are_counted_per_plane_in_one_pass():
    image, variance = np.ones((2, 40, 30), np.float32)
    mask = np.zeros(image.shape, np.uint32)
    image[0, :3] = [np.nan, np.inf, -np.inf]
    variance[0, 2:5] = np.nan  # (0, 2) is not finite in both planes
    image[9, 9] = variance[9, 9] = variance[9, 10] = np.nan
    mask[9, 9:11] = 0b100  # flagged: not counted
    mask[0, 0] = 0b010  # another plane
    assert _planes.count_unflagged_nonfinite(image, variance, mask, 0b100) == (3, 3)
    assert _planes.count_unflagged_nonfinite(image, variance, mask, 0b110) == (2, 3)
    assert _planes.count_unflagged_nonfinite(image, variance, mask, 0) == (4, 5)


@pytest.fixture(scope="module")
def equal_pair():
    shape = (256, 256)
    rng = np.random.default_rng(11)
    positions = grid_positions(shape, 32, 24, rng, jitter=4)
    stars = star_field(shape, positions, rng.uniform(2e4, 5e4, len(positions)), 2.0)
    noise = 10.0
    template = exposure(stars + rng.normal(0, noise, shape), noise**2)
    science = exposure(stars + rng.normal(0, noise, shape), noise**2)
    return template, science, positions, noise


@pytest.mark.parametrize("basis_set", ["alard-lupton", "delta-function"])
def test_equal_images_difference_noise(equal_pair, basis_set):
    """Same stars, independent noise of sigma n in both images.

    The fitted kernel smooths the template noise (least squares cannot tell
    template noise from signal at frequencies where the stars have no power),
    so before decorrelation the difference has std ``n sqrt(1 + sum K^2)``,
    not ``sqrt(2) n``; the stack's sqrt(2) answer holds after the task's
    decorrelation afterburner. Here: that std to 5 %, the propagated variance
    consistent with it, the mean consistent with zero, the kernel sum 1.
    """
    template, science, positions, noise = equal_pair
    result = fit_psf_matching_kernel(template, science, positions, kernelBasisSet=basis_set,
                                     spatialKernelOrder=0)
    matched = convolve_exposure(template, result.kernel)
    inner = (slice(16, -16), slice(16, -16))
    difference = (science.image - matched.image)[inner]
    gain = np.sum(result.kernel.image(128, 128) ** 2)
    assert difference.std() == pytest.approx(noise * np.sqrt(1 + gain), rel=0.05)
    assert noise < difference.std() <= np.sqrt(2) * noise
    normalised = difference / np.sqrt(science.variance[inner] + matched.variance[inner])
    assert normalised.std() == pytest.approx(1.0, abs=0.05)
    assert abs(difference.mean()) < 5 * difference.std() / np.sqrt(difference.size)
    assert result.kernel.kernel_sum(128, 128) == pytest.approx(1.0, abs=5e-3)


@pytest.mark.parametrize("block_rows, block_cols", [(7, 32), (512, 256)])
def test_strips_and_row_pairs_do_not_change_the_result(monkeypatch, block_rows, block_cols):
    """Odd strip heights, a width that is no multiple of the strip width, and
    float64 input give the direct sum at strip borders and on the last row."""
    from diffim.psfmatch import convolve

    monkeypatch.setattr(convolve, "BLOCK_ROWS", block_rows)
    monkeypatch.setattr(convolve, "BLOCK_COLS", block_cols)
    rng = np.random.default_rng(7)
    image = rng.normal(100.0, 10.0, size=(45, 101))
    kernel = random_kernel(2, image.shape, seed=8)
    result = convolve_image(image, kernel)
    for x, y in [(0, 0), (31, 6), (32, 7), (100, 44), (64, 13), (50, 14), (95, 43)]:
        assert result[y, x] == pytest.approx(brute_force(image, kernel, x, y), rel=1e-5)


def test_bad_pixels_are_read_as_zero_and_the_input_is_not_modified():
    rng = np.random.default_rng(8)
    image = rng.normal(100.0, 10.0, size=(120, 90)).astype(np.float32)
    source = exposure(image, 4.0)
    bad = np.zeros(image.shape, bool)
    bad[40:44, 10:70] = True
    bad[:, 0] = True  # repeated by the edge extension
    source.image[bad] = np.nan
    source.variance[bad] = np.inf
    source.mask.set("BAD", bad)
    before = source.copy()
    kernel = random_kernel(1, image.shape)
    result = convolve_exposure(source, kernel, bad_mask_planes=["BAD"])
    for plane, convolve in (("image", convolve_image), ("variance", convolve_variance)):
        zeroed = np.where(bad, 0.0, getattr(source, plane)).astype(np.float32)
        np.testing.assert_array_equal(getattr(result, plane), convolve(zeroed, kernel))
        np.testing.assert_array_equal(getattr(source, plane), getattr(before, plane))
    np.testing.assert_array_equal(source.mask.array, before.mask.array)