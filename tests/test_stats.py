import numpy as np
import pytest

from diffim.image.stats import (
    cell_clipped_medians,
    clipped_row_medians,
    clipped_stats,
    robust_median_sigma,
    row_medians,
)


def test_robust_sigma_of_gaussian():
    values = np.random.default_rng(1).normal(5.0, 2.0, 200_000)
    median, sigma = robust_median_sigma(values)
    assert median == pytest.approx(5.0, abs=0.02)
    assert sigma == pytest.approx(2.0, rel=0.01)


def test_clipping_ignores_outliers():
    values = np.random.default_rng(2).normal(0.0, 1.0, 10_000)
    values[:500] = 1000.0
    median, sigma = clipped_stats(values)
    assert abs(median) < 0.05
    assert sigma == pytest.approx(1.0, rel=0.05)


def test_row_medians_match_numpy_with_missing_values():
    rng = np.random.default_rng(3)
    values = rng.normal(0.0, 1.0, (50, 37))
    values[rng.random(values.shape) < 0.3] = np.nan
    values[7] = np.nan
    expected = np.array([np.median(row[~np.isnan(row)]) if (~np.isnan(row)).any() else np.nan
                         for row in values])
    assert np.allclose(row_medians(values), expected, equal_nan=True)


@pytest.mark.filterwarnings("ignore:All-NaN slice")
def test_row_medians_along_an_axis_are_numpy_nanmedian_to_the_bit_in_float32():
    rng = np.random.default_rng(8)
    stack = rng.normal(0.0, 1.0, (6, 30, 40)).astype(np.float32)
    stack[rng.random(stack.shape) < 0.4] = np.nan
    stack[:, 3, 4] = np.nan
    medians = row_medians(stack, axis=0)
    assert medians.dtype == np.float32 and np.isnan(medians[3, 4])
    np.testing.assert_array_equal(medians, np.nanmedian(stack, axis=0))


def test_clipped_row_medians_agree_with_clipped_stats():
    rng = np.random.default_rng(4)
    values = rng.normal(5.0, 1.0, (20, 400))
    values[:, :30] = 100.0
    expected = [clipped_stats(row)[0] for row in values]
    assert np.allclose(clipped_row_medians(values), expected, atol=1e-12)


def test_cell_clipped_medians_are_clipped_stats_bit_for_bit():
    """Each cell's median is exactly clipped_stats' on its usable pixels (odd and even
    counts, ties, outliers, a constant cell); cells with too few usable pixels are not used."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=(150, 130)).astype(np.float32)
    values[:50] = np.round(values[:50] * 3)  # ties
    values[rng.random(values.shape) < 0.05] += 1000.0  # outliers
    values[100:, :20] = 7.0
    usable = rng.random(values.shape) < 0.8
    usable[:30, 100:] = False  # cells with too few usable pixels
    rows = np.array_split(np.arange(150), 7)
    cols = np.array_split(np.arange(130), 6)
    medians, used = cell_clipped_medians(values, usable, rows, cols, 0.5)
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            window = (slice(row[0], row[-1] + 1), slice(col[0], col[-1] + 1))
            good = usable[window]
            assert used[i, j] == (good.mean() >= 0.5)
            if used[i, j]:
                assert medians[i, j] == clipped_stats(values[window][good])[0]
            else:
                assert np.isnan(medians[i, j])
    assert not used.all() and used.sum() > 30
