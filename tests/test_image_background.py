import numpy as np
import pytest

from diffim.image.background import background_grid


def _numpy_plane(grid):
    """The bilinear plane in numpy's float32 operations (the compiled passes' reference)."""
    row_frac, col_frac = grid.row_frac[:, np.newaxis], grid.col_frac
    top_row, bottom_row = grid.grid[grid.row_lo], grid.grid[grid.row_hi]
    top = top_row[:, grid.col_lo] * (1 - col_frac) + top_row[:, grid.col_hi] * col_frac
    bottom = bottom_row[:, grid.col_lo] * (1 - col_frac) + bottom_row[:, grid.col_hi] * col_frac
    return top * (1 - row_frac) + bottom * row_frac


def test_background_plane_and_pixels_are_numpys_float32_bit_for_bit():
    """`image` and `at` (compiled passes) give the bits of numpy's float32 operations,
    `at` for any shape of index arrays."""
    rng = np.random.default_rng(5)
    n_rows, n_cols = 300, 260
    y, x = np.mgrid[:n_rows, :n_cols]
    image = 100.0 + 0.05 * x - 0.03 * y + rng.normal(0.0, 3.0, (n_rows, n_cols))
    image = image.astype(np.float32)
    grid = background_grid(image, np.ones(image.shape, bool), cell=64)
    plane = grid.image()
    assert plane.dtype == np.float32 and np.array_equal(plane, _numpy_plane(grid))
    assert np.array_equal(grid.at(np.arange(n_rows)[:, None], np.arange(n_cols)[None, :]), plane)
    rows, cols = rng.integers(0, n_rows, (7, 5, 3)), rng.integers(0, n_cols, (7, 5, 3))
    assert np.array_equal(grid.at(rows, cols), plane[rows, cols])
    # From 2**20 points the gather is split between threads: the same bits.
    rows, cols = rng.integers(0, n_rows, 1 << 21), rng.integers(0, n_cols, 1 << 21)
    assert np.array_equal(grid.at(rows, cols), plane[rows, cols])
    assert grid.at(np.zeros(0, int), np.zeros(0, int)).shape == (0,)
    with pytest.raises(IndexError):
        grid.at(np.array([n_rows]), np.array([0]))
    with pytest.raises(IndexError):
        grid.at(np.array([0]), np.array([-1]))
