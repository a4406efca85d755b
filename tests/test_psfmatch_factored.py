"""Tests of diffim/psfmatch/factored.py: one Cholesky factor solving every spatial order."""
import numpy as np
import pytest

from diffim import Box
from diffim.psfmatch import SpatialFunction
from diffim.psfmatch.factored import FactoredSpatialSystem
from diffim.psfmatch.solve import SpatialLayout

DOMAIN = Box(0, 0, 1000, 800)


def _layout(order, background_order=1, n_basis=10):
    """A delta-function-like layout: no spatially constant first term, a background."""
    return SpatialLayout(n_basis, False, True, SpatialFunction("chebyshev1", order, DOMAIN),
                         SpatialFunction("chebyshev1", background_order, DOMAIN))


def _candidates(n_candidates=30, n_columns=11, seed=2):
    rng = np.random.default_rng(seed)
    columns = rng.normal(size=(n_candidates, n_columns, 40))
    matrix = columns @ columns.transpose(0, 2, 1)
    vector = rng.normal(size=(n_candidates, n_columns))
    x, y = rng.uniform(0, 1000, n_candidates), rng.uniform(0, 800, n_candidates)
    return matrix, vector, x, y


@pytest.mark.parametrize("order", [2, 1, 0])
def test_every_lower_order_is_solved_from_the_highest_orders_factor(order):
    """Each order's solution is its own assembled LU solution's, to rounding; the
    candidates' matrices are read where they lie (every other stamp of 60)."""
    matrix, vector, x, y = _candidates(60)
    rows = np.arange(0, 60, 2)
    x, y = x[rows], y[rows]
    factored = FactoredSpatialSystem(_layout(2), matrix, vector, x, y, rows)
    assert factored.factored == _layout(2).n_unknowns
    theta, pseudo = factored.solve(_layout(order))
    expected, expected_pseudo = _layout(order).solve(matrix[rows], vector[rows], x, y)
    assert not pseudo and not expected_pseudo
    assert theta == pytest.approx(expected, rel=1e-9, abs=1e-12 * np.abs(expected).max())


def test_an_order_the_candidates_do_not_constrain_falls_back_to_the_pseudo_inverse():
    """Candidates on a line leave the kernel's y terms free: its factor stops at them, the
    linear and quadratic kernels are solved by pseudo-inverse as before, the constant
    kernel from the factor."""
    matrix, vector, x, _ = _candidates()
    y = np.full_like(x, 399.5)  # the domain centre: every y term is 0
    factored = FactoredSpatialSystem(_layout(2, 0), matrix, vector, x, y, np.arange(len(x)))
    assert 0 < factored.factored < _layout(2, 0).n_unknowns
    for order, singular in ((2, True), (1, True), (0, False)):
        theta, pseudo = factored.solve(_layout(order, 0))
        expected, expected_pseudo = _layout(order, 0).solve(matrix, vector, x, y)
        assert pseudo == expected_pseudo == singular
        assert theta == pytest.approx(expected, rel=1e-8, abs=1e-10 * np.abs(expected).max())
