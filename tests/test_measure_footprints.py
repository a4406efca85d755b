"""Footprints of detection (`diffim.measure.footprints`): the compiled passes against
their definitions in numpy and scipy, to the bit."""
import numpy as np
import pytest
from scipy import ndimage

from diffim._core import _runs
from diffim.measure.footprints import detect_footprints, significance_image

SHAPE = (203, 157)
"""Not square, not a multiple of any vector width: every edge and remainder is exercised."""


def difference(seed=0):
    """Unit noise with a few strong sources of both signs, a NaN on an unusable pixel,
    unusable pixels near the edges and one pixel without variance."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0.0, 1.0, SHAPE).astype(np.float32)
    rows, cols = rng.integers(0, SHAPE[0], 40), rng.integers(0, SHAPE[1], 40)
    image[rows, cols] += rng.choice([-1.0, 1.0], 40).astype(np.float32) * 60.0
    variance = rng.uniform(0.5, 2.0, SHAPE).astype(np.float32)
    variance[50, 60] = 0.0
    good = np.ones(SHAPE, bool)
    good[:, 1] = good[3, :] = good[100:110, 120:157] = False
    image[3, 7] = np.nan
    return image, variance, good


def reference_significance(image, variance, good, sigma):
    """The definition: zero-padded correlation with the float32 kernel, tap by tap in kernel
    order in float32, rows then columns, divided by the noise in float64."""
    radius = int(4.0 * sigma + 0.5)
    delta = np.zeros(2 * radius + 1)
    delta[radius] = 1.0
    kernel = ndimage.gaussian_filter1d(delta, sigma, mode="constant", truncate=4.0)
    kernel /= kernel.sum()
    power = np.float32((kernel ** 2).sum() ** 2)
    weights = kernel.astype(np.float32)
    n_rows, n_cols = image.shape
    padded = np.zeros((n_rows, n_cols + 2 * radius), np.float32)
    padded[:, radius:radius + n_cols] = np.where(good, image, np.float32(0.0))
    rows = np.zeros((n_rows + 2 * radius, n_cols), np.float32)
    for k, weight in enumerate(weights):
        rows[radius:radius + n_rows] += weight * padded[:, k:k + n_cols]
    smoothed = np.zeros(image.shape, np.float32)
    for k, weight in enumerate(weights):
        smoothed += weight * rows[k:k + n_rows]
    noise = power * variance
    usable = good & (noise > 0)
    out = np.zeros(image.shape, np.float32)
    out[usable] = (smoothed[usable].astype(np.float64)
                   / np.sqrt(noise[usable].astype(np.float64))).astype(np.float32)
    return out


@pytest.mark.parametrize("sigma", [0.6, 2.0, 3.3])
def test_significance_is_its_definition_to_the_bit(sigma):
    image, variance, good = difference()
    result = significance_image(image, variance, good, sigma)
    expected = reference_significance(image, variance, good, sigma)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result.view(np.uint32), expected.view(np.uint32))


@pytest.mark.parametrize("shape", [(1, 9), (2, 1), (3, 40)])
def test_significance_of_images_thinner_than_the_kernel(shape):
    """Fewer rows than threads or than kernel taps: every row still made, to the bit."""
    image, variance, good = (array[:shape[0], :shape[1]] for array in difference(seed=4))
    result = significance_image(image, variance, good, 2.0)
    expected = reference_significance(image, variance, good, 2.0)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result.view(np.uint32), expected.view(np.uint32))


def disc(radius):
    offsets = np.arange(-radius, radius + 1)
    return offsets[:, None] ** 2 + offsets[None, :] ** 2 <= radius ** 2


@pytest.mark.parametrize("grow", [0, 1, 2, 3, 7])
@pytest.mark.parametrize("threshold", [5.0, 0.7])
def test_grown_detections_are_a_disc_dilation(grow, threshold):
    image, variance, good = difference()
    footprints = detect_footprints(image, variance, good, 1.5, threshold=threshold, grow=grow)
    significance = significance_image(image, variance, good, 1.5)
    # numpy compares float32 with a Python float in float32 (0.7 is not a float32).
    for detected, mask in ((significance >= threshold, footprints.positive_mask),
                           (significance <= -threshold, footprints.negative_mask)):
        assert detected.any()
        np.testing.assert_array_equal(mask, ndimage.binary_dilation(detected, disc(grow)))


def test_one_polarity_leaves_the_other_empty():
    image, variance, good = difference()
    footprints = detect_footprints(image, variance, good, 1.5, polarity="negative")
    assert not footprints.positive_mask.any()
    assert footprints.negative_mask.any()


def test_grow_radius_beyond_254_is_an_error():
    image, variance, good = difference()
    with pytest.raises(ValueError, match="grow radius 255 pixels"):
        detect_footprints(image, variance, good, 1.5, grow=255)


def reference_pixel_lists(detected):
    """scipy's labels; pixels in raster order, stably sorted by label."""
    labels, count = ndimage.label(detected)
    flat = labels.ravel()
    pixels = np.flatnonzero(flat)
    pixels = pixels[np.argsort(flat[pixels], kind="stable")]
    return count, pixels, np.searchsorted(flat[pixels], np.arange(1, count + 2))


def test_merged_footprints_are_scipy_labels_in_raster_order():
    image, variance, good = difference()
    footprints = detect_footprints(image, variance, good, 1.5, threshold=3.0, grow=3)
    count, pixels, starts = reference_pixel_lists(footprints.positive_mask
                                                  | footprints.negative_mask)
    assert footprints.count == count > 10
    np.testing.assert_array_equal(footprints.pixels, pixels)
    np.testing.assert_array_equal(footprints.starts, starts)


def test_unmerged_footprints_are_positive_then_negative_labels():
    image, variance, good = difference()
    footprints = detect_footprints(image, variance, good, 1.5, threshold=3.0, grow=3, merge=False)
    expected = []
    for sign, detected in ((1, footprints.positive_mask),
                           (-1, footprints.negative_mask & ~footprints.positive_mask)):
        _, pixels, starts = reference_pixel_lists(detected)
        parts = np.split(pixels, starts[1:-1])
        # A part grown only from the other polarity's neighbourhood has no peak: not a source.
        expected += [part for part in parts
                     if (sign * footprints.significance.ravel()[part] >= 3.0).any()]
    found = np.split(footprints.pixels, footprints.starts[1:-1])
    assert footprints.count == len(expected) > 10
    for part, expected_part in zip(found, expected):
        np.testing.assert_array_equal(part, expected_part)


def test_detections_across_row_bands():
    """Taller than a band of rows (256): significance and footprints across band edges."""
    rng = np.random.default_rng(5)
    image = rng.normal(0.0, 1.0, (700, 31)).astype(np.float32)
    image[250:262, 10] = image[510:515, 20] = 40.0
    variance, good = np.ones(image.shape, np.float32), np.ones(image.shape, bool)
    for grow in (0, 3):
        footprints = detect_footprints(image, variance, good, 1.0, grow=grow)
        significance = significance_image(image, variance, good, 1.0)
        np.testing.assert_array_equal(footprints.positive_mask,
                                      ndimage.binary_dilation(significance >= 5.0, disc(grow)))
        np.testing.assert_array_equal(
            significance, reference_significance(image, variance, good, 1.0))


def test_parts_found_through_runs_are_scipy_labels():
    """Runs that join only further down (a U, a comb), touch only diagonally (no join),
    span whole rows, and stretches of empty bytes longer and shorter than a word."""
    detected = np.zeros((23, 37), np.uint8)
    detected[2:9, 3] = detected[2:9, 9] = detected[8, 3:10] = 1  # a U: one part, two roots
    detected[1, 12:30] = 1
    detected[2:6, 12:30:3] = 1  # a comb hanging from a row
    detected[10, :] = 1  # a whole row
    detected[12, 0] = detected[13, 1] = detected[14, 2] = 1  # diagonal: three parts
    detected[16:23:2, 5:36:2] = 1  # a checkerboard of lone pixels
    detected[0, 36] = 2  # any non-zero byte is set
    count, pixels, starts = _runs.label_runs(detected)
    expected = reference_pixel_lists(detected != 0)
    assert count == expected[0] == 1 + 1 + 1 + 3 + 4 * 16 + 1
    np.testing.assert_array_equal(pixels, expected[1])
    np.testing.assert_array_equal(starts, expected[2])


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (1, 1), (40, 1), (1, 40)])
def test_parts_of_empty_and_thin_images(shape):
    rng = np.random.default_rng(3)
    detected = (rng.random(shape) < 0.5).astype(np.uint8)
    count, pixels, starts = _runs.label_runs(detected)
    expected = reference_pixel_lists(detected != 0)
    assert count == expected[0]
    np.testing.assert_array_equal(pixels, expected[1])
    np.testing.assert_array_equal(starts, expected[2])


def test_parts_of_random_images_are_scipy_labels():
    rng = np.random.default_rng(4)
    for fill in (0.05, 0.4, 0.6):
        detected = (rng.random((300, 257)) < fill).astype(np.uint8)
        count, pixels, starts = _runs.label_runs(detected)
        expected = reference_pixel_lists(detected != 0)
        assert count == expected[0] > 0
        np.testing.assert_array_equal(pixels, expected[1])
        np.testing.assert_array_equal(starts, expected[2])
