import numpy as np
import pytest

from diffim.image.background import background_grid


def test_background_at_pixels_is_the_plane_bit_for_bit():
    """`at` (one compiled pass over the pixels asked for) gives the bits of `image`
    (numpy's float32 operations), for any shape of index arrays."""
    rng = np.random.default_rng(5)
    n_rows, n_cols = 300, 260
    y, x = np.mgrid[:n_rows, :n_cols]
    image = 100.0 + 0.05 * x - 0.03 * y + rng.normal(0.0, 3.0, (n_rows, n_cols))
    image = image.astype(np.float32)
    grid = background_grid(image, np.ones(image.shape, bool), cell=64)
    plane = grid.image()
    assert np.array_equal(grid.at(np.arange(n_rows)[:, None], np.arange(n_cols)[None, :]), plane)
    rows, cols = rng.integers(0, n_rows, (7, 5, 3)), rng.integers(0, n_cols, (7, 5, 3))
    assert np.array_equal(grid.at(rows, cols), plane[rows, cols])
    assert grid.at(np.zeros(0, int), np.zeros(0, int)).shape == (0,)
    with pytest.raises(IndexError):
        grid.at(np.array([n_rows]), np.array([0]))
    with pytest.raises(IndexError):
        grid.at(np.array([0]), np.array([-1]))
