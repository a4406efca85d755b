"""Tests of diffim/psfmatch/solve.py: the candidates' normal equations and residual statistics."""
import dataclasses

import numpy as np
import pytest

from diffim._core import _al_solve
from diffim.psfmatch.basis import make_delta_function_basis
from diffim.psfmatch.solve import (
    StampSystems,
    build_stamp_systems,
    residual_statistics,
    solve_systems,
)


def _systems(n_stamps=150, n_columns=4, n_pixels=49, seed=3):
    """Random columns, a target that is their known combination plus unit noise, sigma 1."""
    rng = np.random.default_rng(seed)
    columns = rng.normal(size=(n_stamps, n_columns, n_pixels))
    truth = rng.normal(size=(n_stamps, n_columns))
    target = np.einsum("nkq,nk->nq", columns, truth) + rng.normal(size=(n_stamps, n_pixels))
    inverse_sigma = np.ones((n_stamps, n_pixels))
    inverse_sigma[:, 0] = 0.0  # one masked pixel per stamp
    weights = inverse_sigma ** 2
    matrix = np.einsum("nkq,nq,njq->nkj", columns, weights, columns)
    vector = np.einsum("nkq,nq,nq->nk", columns, weights, target)
    return StampSystems(columns, target, inverse_sigma, matrix, vector), truth


def test_residual_statistics_known_answer():
    """The solved systems leave the unit noise over the 48 unmasked pixels; the exact
    model leaves nothing."""
    systems, truth = _systems()
    solution, pseudo = solve_systems(systems.matrix, systems.vector)
    assert not pseudo.any()
    assert solution == pytest.approx(truth, abs=0.6)
    stats = residual_statistics(systems, solution)
    assert np.all(stats[:, 2] == 48)
    assert np.median(stats[:, 1]) == pytest.approx(1.0, abs=0.1)
    exact = residual_statistics(
        StampSystems(systems.columns, np.einsum("nkq,nk->nq", systems.columns, truth),
                     systems.inverse_sigma, systems.matrix, systems.vector), truth)
    assert np.abs(exact[:, :2]).max() < 1e-12


def test_residual_statistics_of_a_subset_equal_those_of_its_copy():
    """``rows`` (more than one block of stamps, with gaps) gives the same bits as the
    subset's arrays copied out."""
    systems, truth = _systems()
    rows = np.flatnonzero(np.arange(150) % 3 != 1)
    coefficients = truth[rows] + 0.01
    shared = StampSystems(systems.columns, systems.target, systems.inverse_sigma,
                          systems.matrix[rows], systems.vector[rows], rows=rows)
    copied = StampSystems(systems.columns[rows], systems.target[rows],
                          systems.inverse_sigma[rows], systems.matrix[rows], systems.vector[rows])
    assert np.array_equal(residual_statistics(shared, coefficients),
                          residual_statistics(copied, coefficients))


def _delta_function_stamps(n_stamps=12, kernel_size=7, fit=9, seed=5):
    """Template stamps (a star on sky, noise), science stamps, and one variance per stamp."""
    rng = np.random.default_rng(seed)
    size = fit + kernel_size - 1
    yy, xx = np.mgrid[:size, :size] - size // 2
    star = np.exp(-0.5 * (xx ** 2 + yy ** 2) / 1.5 ** 2)
    template = (rng.uniform(100, 1000, (n_stamps, 1, 1)) * star
                + rng.normal(size=(n_stamps, size, size)) + rng.uniform(-5, 5, (n_stamps, 1, 1)))
    science = 0.9 * template + rng.normal(size=template.shape)
    variance = np.broadcast_to(rng.uniform(1, 4, (n_stamps, 1, 1)), template.shape).copy()
    return template, science, variance


@pytest.mark.parametrize("fit_background", [True, False])
def test_delta_function_systems_from_autocorrelations_equal_the_column_products(fit_background):
    """One weight per stamp: the windowed autocorrelations give the column path's normal
    equations to rounding without making the columns, and the same residual statistics."""
    template, science, variance = _delta_function_stamps()
    basis = make_delta_function_basis(7)
    fast = build_stamp_systems(basis, template, science, variance, fit_background, True)
    # Per-pixel weights of a constant variance: the same weights, through the columns.
    slow = build_stamp_systems(basis, template, science, variance, fit_background, False)
    assert fast.columns is None and slow.columns is not None
    scale = np.abs(slow.matrix).max(axis=(1, 2))[:, None, None]
    assert np.abs(fast.matrix - slow.matrix).max() / scale.min() < 1e-13
    assert np.abs(fast.vector - slow.vector).max() / np.abs(slow.vector).max() < 1e-13
    assert np.array_equal(fast.matrix, fast.matrix.transpose(0, 2, 1))
    coefficients = np.random.default_rng(1).normal(0.0, 0.05, fast.vector.shape)
    assert residual_statistics(fast, coefficients) == pytest.approx(
        residual_statistics(slow, coefficients), rel=1e-12)
    rows = np.array([1, 4, 5, 11])
    subset = dataclasses.replace(fast, matrix=fast.matrix[rows], vector=fast.vector[rows],
                                 rows=rows)
    assert np.array_equal(residual_statistics(subset, coefficients[rows]),
                          residual_statistics(fast, coefficients)[rows])


@pytest.mark.parametrize("n_pixels", [1, 3, 4, 6, 9])
def test_normal_equations_sum_the_pixels_in_order(n_pixels):
    """Pixels taken four at a time (and the rest) give the bits of a sum pixel by pixel."""
    rng = np.random.default_rng(n_pixels)
    columns = rng.normal(size=(5, 6, n_pixels))
    weights, target = rng.random((5, n_pixels)), rng.normal(size=(5, n_pixels))
    matrix, vector = np.empty((5, 6, 6)), np.empty((5, 6))
    _al_solve.normal_equations(columns, weights, target, matrix, vector)
    expected_matrix, expected_vector = np.zeros((5, 6, 6)), np.zeros((5, 6))
    for pixel in range(n_pixels):
        weighted = columns[:, :, pixel] * weights[:, pixel, None]
        expected_matrix = expected_matrix + weighted[:, :, None] * columns[:, None, :, pixel]
        expected_vector = expected_vector + weighted * target[:, pixel, None]
    lower = np.tril_indices(6)
    assert np.array_equal(matrix[:, lower[0], lower[1]],
                          expected_matrix[:, lower[0], lower[1]])
    assert np.array_equal(matrix, matrix.transpose(0, 2, 1))
    assert np.array_equal(vector, expected_vector)


def test_singular_and_non_finite_systems_fall_back_to_the_pseudo_inverse():
    """A regular system is solved by LU; a singular one gets the pseudo-inverse's
    minimum-norm solution; a non-finite one gets NaN; both are flagged."""
    regular = np.array([[4.0, 1.0], [1.0, 3.0]])
    matrix = np.stack([regular, np.diag([2.0, 0.0]), np.array([[np.nan, 0.0], [0.0, 1.0]])])
    vector = np.array([[1.0, 2.0], [4.0, 0.0], [1.0, 1.0]])
    solution, pseudo = solve_systems(matrix, vector)
    assert pseudo.tolist() == [False, True, True]
    assert solution[0] == pytest.approx(np.linalg.solve(regular, vector[0]), rel=1e-14)
    assert solution[1] == pytest.approx([2.0, 0.0], abs=1e-15)
    assert np.isnan(solution[2]).all()
