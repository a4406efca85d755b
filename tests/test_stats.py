import numpy as np
import pytest

from diffim.image.stats import (
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


def test_clipped_row_medians_agree_with_clipped_stats():
    rng = np.random.default_rng(4)
    values = rng.normal(5.0, 1.0, (20, 400))
    values[:, :30] = 100.0
    expected = [clipped_stats(row)[0] for row in values]
    assert np.allclose(clipped_row_medians(values), expected, atol=1e-12)
