"""diffim.image.pixel_medians: numpy's medians, bit for bit, from bucket counts."""
import numpy as np
import pytest

from diffim.image.pixel_medians import abs_median, z_statistics
from diffim.image.stats import robust_median_sigma


def _planes(seed, shape, scale, good_fraction, ties=False, offset=0.0):
    rng = np.random.default_rng(seed)
    image = rng.normal(size=shape) * scale
    if ties:
        image = np.round(image * 3)
    image[: shape[0] // 2] += offset
    variance = rng.uniform(0.5, 2.0, shape).astype(np.float32)
    good = rng.random(shape) < good_fraction
    return image.astype(np.float32), variance, good


def _split(length, n):
    return np.cumsum([0] + [len(part) for part in np.array_split(np.arange(length), n)])


@pytest.mark.parametrize("seed, shape, scale, good_fraction, ties, offset", [
    (1, (257, 300), 1.0, 1.0, False, 0.0),      # odd and even counts in the cells
    (2, (64, 64), 1e-3, 0.7, False, 0.0),       # tiny values: many exponents
    (3, (100, 31), 1e4, 0.5, True, 0.0),        # ties, larger values
    (4, (128, 96), 1.0, 0.9, False, 7.0),       # cells with different medians
    (5, (9, 7), 1.0, 0.05, False, 0.0),         # a handful of pixels, empty cells
])
def test_z_statistics_equal_numpy(seed, shape, scale, good_fraction, ties, offset):
    image, variance, good = _planes(seed, shape, scale, good_fraction, ties, offset)
    rows, cols = _split(shape[0], 4), _split(shape[1], 4)
    stats = z_statistics(image, variance, good, rows, cols, clip=5.0)
    z = (image[good] / np.sqrt(variance[good])).astype(float)
    median, sigma = robust_median_sigma(z)
    assert stats["count"] == good.sum()
    assert stats["median"] == median and stats["sigma"] == sigma
    clipped = z[np.abs(z) <= 5.0]
    if clipped.size:
        assert stats["mean"] == pytest.approx(clipped.mean(), rel=1e-12, abs=1e-15)
    else:
        assert np.isnan(stats["mean"])
    for i in range(4):
        for j in range(4):
            window = np.s_[rows[i]:rows[i + 1], cols[j]:cols[j + 1]]
            cell = (image[window][good[window]] / np.sqrt(variance[window][good[window]]))
            assert stats["cell_counts"][i, j] == cell.size
            if cell.size:
                assert stats["cell_medians"][i, j] == np.median(cell.astype(float))
            else:
                assert np.isnan(stats["cell_medians"][i, j])
    assert abs_median(image, good) == float(np.median(np.abs(image[good])))


def test_nan_values_give_nan_as_numpy():
    image, variance, good = _planes(6, (40, 40), 1.0, 1.0)
    image[3, 5] = np.nan
    stats = z_statistics(image, variance, good, _split(40, 2), _split(40, 2), clip=5.0)
    assert np.isnan(stats["median"]) and np.isnan(stats["sigma"])
    assert np.isnan(stats["cell_medians"][0, 0])
    assert np.isfinite(stats["cell_medians"][1, 1])
    assert stats["cell_medians"][1, 1] == np.median(
        (image[20:, 20:] / np.sqrt(variance[20:, 20:])).astype(float))


def test_no_good_pixel():
    image, variance, _ = _planes(7, (16, 16), 1.0, 1.0)
    stats = z_statistics(image, variance, np.zeros((16, 16), bool), _split(16, 4), _split(16, 4),
                         clip=5.0)
    assert stats["count"] == 0 and np.isnan(stats["median"]) and np.isnan(stats["mean"])
    assert np.isnan(abs_median(image, np.zeros((16, 16), bool)))
