"""Stamps of many sources (`diffim.measure.stamps.gather`): numpy's fancy indexing, filled
outside the image."""
import numpy as np
import pytest

from diffim.mask import Mask
from diffim.measure.stamps import gather, unmasked_stamps, usable_stamps

SHAPE = (37, 53)


def expected_stamps(array, ix, iy, half, fill):
    offsets = np.arange(-half, half + 1)
    rows = iy[:, None, None] + offsets[None, :, None]
    cols = ix[:, None, None] + offsets[None, None, :]
    inside = (rows >= 0) & (rows < array.shape[0]) & (cols >= 0) & (cols < array.shape[1])
    values = array[np.clip(rows, 0, array.shape[0] - 1), np.clip(cols, 0, array.shape[1] - 1)]
    return np.where(inside, values, np.asarray(fill, array.dtype)), inside


@pytest.mark.parametrize("dtype, fill", [(np.float32, 0.0), (np.float32, np.nan),
                                         (np.uint32, 0), (bool, False), (bool, True)])
@pytest.mark.parametrize("half", [0, 1, 4])
def test_stamps_are_the_pixels_around_each_centre(dtype, fill, half):
    rng = np.random.default_rng(3)
    array = rng.integers(0, 1 << 31, SHAPE).astype(dtype)
    if dtype is np.float32:
        array = rng.normal(size=SHAPE).astype(dtype)
    # Centres inside, on every edge and corner, and beyond the image.
    ix = np.array([10, 0, 52, 0, 52, -2, 60, 25, 25])
    iy = np.array([10, 0, 36, 36, 0, 18, 18, -3, 40])
    stamps, inside = gather(array, ix, iy, half, fill=fill)
    expected, expected_inside = expected_stamps(array, ix, iy, half, fill)
    assert stamps.dtype == array.dtype and stamps.shape == (len(ix), 2 * half + 1, 2 * half + 1)
    np.testing.assert_array_equal(inside, expected_inside)
    np.testing.assert_array_equal(stamps, expected)


def test_a_strided_view_is_gathered_as_its_values():
    array = np.arange(40 * 60, dtype=np.float32).reshape(40, 60)
    view = array[::2, 1::3]
    stamps, _ = gather(view, np.array([3, 19]), np.array([5, 0]), 2)
    np.testing.assert_array_equal(stamps, expected_stamps(view, np.array([3, 19]),
                                                          np.array([5, 0]), 2, 0.0)[0])


def test_no_sources_give_no_stamps():
    stamps, inside = gather(np.zeros(SHAPE, np.float32), np.array([], int), np.array([], int), 3)
    assert stamps.shape == inside.shape == (0, 7, 7)


def test_other_dtypes_are_an_error():
    with pytest.raises(TypeError, match="float64"):
        gather(np.zeros(SHAPE), np.array([1]), np.array([1]), 1)


def test_unmasked_stamps_are_the_gathered_unmasked_pixels():
    """From the mask's stamps, what gathering ``Mask.unmasked`` gives: False outside the
    image, planes the table lacks ignored."""
    rng = np.random.default_rng(4)
    mask = Mask(rng.integers(0, 1 << 6, SHAPE).astype(np.uint32))
    planes = ["BAD", "EDGE", "NOT_A_PLANE"]
    ix = np.array([10, 0, 52, -2, 60, 25])
    iy = np.array([10, 0, 36, 18, 18, -3])
    for half in (0, 2, 5):
        expected, _ = gather(mask.unmasked(planes), ix, iy, half, fill=False)
        stamps = unmasked_stamps(mask, planes)(ix, iy, half)
        np.testing.assert_array_equal(stamps, expected)
        np.testing.assert_array_equal(usable_stamps(mask.unmasked(planes), ix, iy, half),
                                      expected)
    assert 0 < np.count_nonzero(stamps) < stamps.size
