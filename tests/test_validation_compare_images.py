"""Pixel-wise comparison of exposures: known alterations are found where and as large as made."""
import dataclasses
import json

import numpy as np
import pytest
from astropy.io import fits

from conftest import random_exposure
from diffim import Exposure
from diffim.mask import Mask, MaskPlanes
from validation.compare import Tolerances, compare_exposures
from validation.model import Verdict

XY0 = (1000, 2000)


@pytest.fixture
def pair():
    """Two equal exposures (64 x 80 px at parent (1000, 2000), variance 8..10, mask bits set)."""
    exposure = random_exposure(shape=(64, 80), xy0=XY0)
    return exposure, exposure.copy()


def test_identical_exposures_are_identical(pair, tmp_path):
    a, b = pair
    a.image[3, 4] = b.image[3, 4] = np.nan
    comparison = compare_exposures(a, b, artifact_dir=tmp_path)
    assert comparison.verdict is Verdict.IDENTICAL
    assert comparison.kind == "image" and comparison.product == "differenceExp"
    assert comparison.metrics["image.n_differing"] == 0
    assert comparison.metrics["image.max_abs"] == 0.0
    assert comparison.metrics["mask.n_differing"] == 0
    assert comparison.artifacts == {} and not list(tmp_path.iterdir())
    assert comparison.summary.startswith("identical")


def test_altered_pixel_found_at_its_place_with_its_size(pair):
    a, b = pair
    sigma = float(np.sqrt(a.variance[10, 20]))
    b.image[10, 20] -= np.float32(3.0 * sigma)
    comparison = compare_exposures(a, b)
    assert comparison.verdict is Verdict.DIFFERENT
    assert comparison.metrics["image.n_differing"] == 1
    assert comparison.metrics["image.max_abs"] == pytest.approx(3.0 * sigma, rel=1e-5)
    assert comparison.metrics["image.max_sigma"] == pytest.approx(3.0, rel=1e-5)
    assert comparison.metrics["image.frac_differing"] == pytest.approx(1 / (64 * 80))
    assert comparison.metrics["image.rms_abs"] == pytest.approx(3.0 * sigma / np.sqrt(64 * 80),
                                                                rel=1e-5)
    image = comparison.details["image"]
    assert image["max_abs_at"] == image["max_sigma_at"] == [XY0[0] + 20, XY0[1] + 10]
    assert image["where"] == {"x0": XY0[0] + 20, "y0": XY0[1] + 10, "width": 1, "height": 1}
    assert comparison.metrics["variance.n_differing"] == 0
    assert comparison.metrics["mask.n_differing"] == 0
    assert "1 px" in comparison.summary


def test_tiny_pixel_difference_is_within_tolerance(pair):
    a, b = pair
    b.image[30, 40] = np.nextafter(b.image[30, 40], np.float32(np.inf))
    comparison = compare_exposures(a, b)
    assert comparison.verdict is Verdict.WITHIN_TOLERANCE
    assert 0 < comparison.metrics["image.max_sigma"] < 1e-5


def test_fraction_of_pixels_allowed_beyond_sigma(pair):
    a, b = pair
    b.image[0, 0] += 100.0
    b.image[63, 79] += 100.0
    strict = compare_exposures(a, b)
    lenient = compare_exposures(a, b, tolerances=Tolerances(pixel_max_fraction=1e-3))
    assert strict.verdict is Verdict.DIFFERENT
    assert lenient.verdict is Verdict.WITHIN_TOLERANCE
    assert strict.details["image"]["where"] == {"x0": XY0[0], "y0": XY0[1], "width": 80,
                                                "height": 64}


def test_single_mask_bit_reported_for_exactly_that_plane(pair):
    a, b = pair
    b.mask.array[5, 6] |= np.uint32(1 << b.mask.planes.bit("DETECTED"))
    comparison = compare_exposures(a, b)
    assert comparison.verdict is Verdict.DIFFERENT
    plane_counts = {key: value for key, value in comparison.metrics.items()
                    if key.startswith("mask.") and key.count(".") == 2}
    assert len(plane_counts) == len(a.mask.planes.as_dict())
    assert plane_counts.pop("mask.DETECTED.n_differing") == 1
    assert comparison.metrics["mask.n_differing"] == 1
    assert set(plane_counts.values()) == {0}
    assert comparison.details["mask"]["per_plane"] == {
        "DETECTED": {"n_differing": 1,
                     "where": {"x0": XY0[0] + 6, "y0": XY0[1] + 5, "width": 1, "height": 1}}}
    assert comparison.metrics["image.n_differing"] == 0
    allowed = compare_exposures(a, b, tolerances=Tolerances(mask_max_pixels=1))
    assert allowed.verdict is Verdict.WITHIN_TOLERANCE


def test_bit_outside_every_plane_is_reported(pair):
    a, b = pair
    b.mask.array[1, 1] |= np.uint32(1 << 30)
    comparison = compare_exposures(a, b)
    assert comparison.verdict is Verdict.DIFFERENT
    assert comparison.metrics["mask.(unnamed bits).n_differing"] == 1


def test_variance_relative_difference(pair):
    a, b = pair
    b.variance[7, 8] *= np.float32(1.001)
    comparison = compare_exposures(a, b)
    assert comparison.metrics["variance.max_rel"] == pytest.approx(1e-3, rel=1e-3)
    assert comparison.details["variance"]["max_abs_at"] == [XY0[0] + 8, XY0[1] + 7]
    assert comparison.verdict is Verdict.DIFFERENT
    lenient = compare_exposures(a, b, tolerances=Tolerances(variance_max_rel=1e-2))
    assert lenient.verdict is Verdict.WITHIN_TOLERANCE


def test_nan_against_a_number_is_a_difference(pair):
    a, b = pair
    b.image[2, 3] = np.nan
    comparison = compare_exposures(a, b, tolerances=Tolerances(image_max_sigma=1e9))
    assert comparison.verdict is Verdict.DIFFERENT
    assert comparison.metrics["image.n_nonfinite"] == 1
    assert comparison.metrics["image.max_abs"] == 0.0
    assert "NaN" in comparison.summary


def test_zero_variance_pixel_cannot_be_within_sigma(pair):
    a, b = pair
    a.variance[4, 4] = b.variance[4, 4] = 0.0
    b.image[4, 4] += np.float32(1e-3)
    comparison = compare_exposures(a, b, tolerances=Tolerances(image_max_sigma=1e9))
    assert comparison.verdict is Verdict.DIFFERENT
    assert comparison.details["image"]["n_without_noise"] == 1


def test_different_bounding_boxes_compare_the_overlap(pair):
    a, _ = pair
    shifted = Exposure(a.image, a.variance, a.mask, xy0=(XY0[0] + 10, XY0[1]))
    comparison = compare_exposures(a, shifted)
    assert comparison.verdict is Verdict.DIFFERENT
    assert "bounding boxes differ" in comparison.summary
    assert comparison.details["compared_bbox"] == {"x0": XY0[0] + 10, "y0": XY0[1], "width": 70,
                                                   "height": 64}
    apart = Exposure(a.image, a.variance, a.mask, xy0=(0, 0))
    disjoint = compare_exposures(a, apart)
    assert disjoint.verdict is Verdict.DIFFERENT and "no pixel in common" in disjoint.summary


def test_mask_plane_tables_that_differ_are_different(pair):
    a, b = pair
    b.mask.add_plane("STREAK")
    extra = compare_exposures(a, b)
    assert extra.verdict is Verdict.DIFFERENT
    assert "only in B: STREAK" in extra.summary
    bits = a.mask.planes.as_dict()
    bits["CR"], bits["FAKE"] = bits["FAKE"], bits["CR"]
    swapped = Mask(a.mask.array.copy(), MaskPlanes(bits))
    b_swapped = Exposure(a.image, a.variance, swapped, xy0=XY0)
    moved = compare_exposures(a, b_swapped)
    assert moved.verdict is Verdict.DIFFERENT
    assert moved.details["mask"]["moved_planes"] == {"CR": [3, 9], "FAKE": [9, 3]}
    # Read through the other table, a's CR pixels are b's FAKE pixels and vice versa.
    n_cr = a.mask.count("CR")
    assert moved.metrics["mask.CR.n_differing"] == moved.metrics["mask.FAKE.n_differing"] == n_cr


def test_difference_image_artifact(pair, tmp_path):
    a, b = pair
    b.image[10, 20] -= np.float32(5.0)
    b.mask.array[5, 6] |= np.uint32(1 << b.mask.planes.bit("EDGE"))
    comparison = compare_exposures(a, b, product="diff", artifact_dir=tmp_path)
    path = comparison.artifacts["diff_of_diff"]
    assert [p.name for p in tmp_path.iterdir()] == ["diff_diff_of_diff.fits"]
    with fits.open(path) as hdus:
        image = hdus["IMAGE"].data
        assert image[10, 20] == pytest.approx(5.0, rel=1e-5)
        assert np.count_nonzero(image) == 1
        assert hdus["MASK"].data[5, 6] == 1 << b.mask.planes.bit("EDGE")
        assert np.count_nonzero(hdus["VARIANCE"].data) == 0
        assert hdus[0].header["LTV1"] == -XY0[0]


def test_comparison_is_strict_json(pair):
    a, b = pair
    b.image[1, 2] = np.nan
    b.image[3, 4] += 1.0
    b.mask.array[0, 0] ^= np.uint32(1)
    comparison = compare_exposures(a, b, reason="template edge differs")
    record = json.loads(json.dumps(dataclasses.asdict(comparison), allow_nan=False))
    assert record["verdict"] == "different"
    assert record["reason"] == "template edge differs"
