"""Tests of diffim/psfmatch/solve.py: the candidates' normal equations and residual statistics."""
import numpy as np
import pytest

from diffim.psfmatch.solve import StampSystems, residual_statistics, solve_systems


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
