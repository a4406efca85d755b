"""The detection planes of the measured mask (`diffim.measure.detection_planes`): the
fused passes against the `Mask` methods they replace, and known counts."""
import numpy as np
import pytest

from diffim.mask import Mask, MaskPlanes
from diffim.measure.detection_planes import clear_detections, mark_detections

SHAPE = (37, 131)


def planted_mask():
    """BAD, EDGE, NO_DATA and stale detection planes on known pixels."""
    mask = Mask.zeros(SHAPE)
    for name, where in (("BAD", np.s_[5:9, 10:20]), ("EDGE", np.s_[:, :3]),
                        ("DETECTED", np.s_[20:30, 40:90]), ("DETECTED_NEGATIVE", np.s_[0, :])):
        plane = np.zeros(SHAPE, bool)
        plane[where] = True
        mask.set(name, plane)
    return mask


def test_clear_detections_is_clear_then_unmasked():
    mask, expected = planted_mask(), planted_mask()
    unmasked = clear_detections(mask, ["EDGE", "BAD", "NOT_A_PLANE"])
    expected.clear(["DETECTED", "DETECTED_NEGATIVE"])
    np.testing.assert_array_equal(mask.array, expected.array)
    np.testing.assert_array_equal(unmasked, expected.unmasked(["EDGE", "BAD"]))
    assert np.count_nonzero(~unmasked) == SHAPE[0] * 3 + 4 * 10


def test_mark_detections_sets_the_planes_and_counts_the_usable_detected_pixels():
    mask = planted_mask()
    counted = clear_detections(mask, ["EDGE", "BAD"])
    positive, negative = np.zeros(SHAPE, bool), np.zeros(SHAPE, bool)
    positive[4:10, 0:12] = True  # 72 pixels, 18 EDGE, 8 BAD: 46 counted
    negative[30:32, 100:110] = True  # 20 counted
    fraction, unmasked = mark_detections(mask, positive, negative, counted, ["DETECTED", "BAD"])
    assert fraction == 66 / (SHAPE[0] * SHAPE[1] - SHAPE[0] * 3 - 4 * 10)
    np.testing.assert_array_equal(mask.get("DETECTED"), positive)
    np.testing.assert_array_equal(mask.get("DETECTED_NEGATIVE"), negative)
    np.testing.assert_array_equal(unmasked, mask.unmasked(["DETECTED", "BAD"]))


def test_mark_detections_adds_missing_planes_in_order():
    mask = Mask(np.zeros(SHAPE, np.uint32), MaskPlanes({"BAD": 0}))
    for name in ("DETECTED", "DETECTED_NEGATIVE"):
        assert name not in mask.planes
    counted = clear_detections(mask, ["BAD"])
    positive = np.zeros(SHAPE, bool)
    positive[3, 4] = True
    fraction, _ = mark_detections(mask, positive, ~positive, np.zeros(SHAPE, bool), [])
    assert fraction == 0.0  # nothing counted: over 1
    assert mask.planes.bit("DETECTED") < mask.planes.bit("DETECTED_NEGATIVE")
    assert mask.count("DETECTED") == 1 and mask.count("DETECTED_NEGATIVE") == counted.size - 1


def test_a_strided_mask_is_an_error():
    mask = Mask(np.zeros((SHAPE[0], 2 * SHAPE[1]), np.uint32)[:, ::2])
    with pytest.raises(ValueError, match="mask array must be C-contiguous"):
        clear_detections(mask, ["BAD"])


@pytest.mark.parametrize("which, image", [
    (0, np.zeros((4, 4), bool)),                 # smaller than the mask: read past its end
    (1, np.full(SHAPE, 256, np.int64)),          # not bool: its bytes read as flags
    (2, np.zeros(SHAPE[::-1], bool)),
], ids=["positive-shape", "negative-dtype", "counted-shape"])
def test_detections_of_another_shape_or_type_are_a_one_line_error(which, image):
    mask = planted_mask()
    images = [np.zeros(SHAPE, bool) for _ in range(3)]
    images[which] = image
    name = ("positive", "negative", "counted")[which]
    with pytest.raises(ValueError, match=f"^mark_detections: {name} must be a bool array of the "
                                         r"mask's shape \(37, 131\), not "):
        mark_detections(mask, *images, ["BAD"])
    np.testing.assert_array_equal(mask.array, planted_mask().array)  # nothing written
