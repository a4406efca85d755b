"""The held-out sources' pixel operations against scipy.ndimage: the square dilation of
booleans (diffim._core._al_convolve.dilate_mask) against maximum_filter, diffim._core._labels
against label and find_objects."""
import numpy as np
import pytest
from scipy import ndimage

from diffim._core import _al_convolve, _labels


def _masks():
    rng = np.random.default_rng(5)
    for shape in [(1, 1), (1, 17), (23, 1), (40, 57), (64, 64), (3, 200)]:
        for fraction in (0.0, 0.02, 0.3, 0.7, 1.0):
            yield rng.random(shape) < fraction


@pytest.mark.parametrize("half", [0, 1, 3, 10, 80])
def test_boolean_dilation_is_the_maximum_filter_of_its_square(half):
    for mask in _masks():
        out = np.empty_like(mask)
        _al_convolve.dilate_mask(mask.view(np.uint8), out.view(np.uint8), 2 * half + 1)
        np.testing.assert_array_equal(out, ndimage.maximum_filter(mask, size=2 * half + 1))


def test_label_4_numbers_the_parts_as_ndimage_label_does():
    # A comb joins late in a row-major scan: its teeth are numbered apart, then merged.
    comb = np.zeros((9, 30), bool)
    comb[0, ::2] = comb[8, 1::2] = True
    comb[:, 29] = comb[:, 0] = True
    comb[4, :] = True
    for mask in [comb, *_masks()]:
        labels = np.empty(mask.shape, np.int32)
        count = _labels.label_4(mask.view(np.uint8), labels)
        expected, expected_count = ndimage.label(mask)
        assert count == expected_count
        np.testing.assert_array_equal(labels, expected)


def test_label_boxes_are_ndimage_find_objects():
    for mask in _masks():
        labels, count = ndimage.label(mask)
        boxes = _labels.label_boxes(labels.astype(np.int32), count + 1)
        expected = [(box[0].start, box[0].stop, box[1].start, box[1].stop)
                    for box in ndimage.find_objects(labels)]
        assert [tuple(box) for box in boxes[:count].tolist()] == expected
        assert boxes[count].tolist() == [0, 0, 0, 0]  # a label without pixels
