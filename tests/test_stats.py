import numpy as np
import pytest

from diffim.stats import clipped_stats, robust_median_sigma


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
