"""The spatial system of a delta-function kernel, assembled and factored once for every order.

A delta-function basis has a free coefficient per kernel pixel, each with the
kernel's spatial terms: a 21 px kernel with a quadratic variation is a
2649-unknown system, and `diffim.psfmatch.fit` solves it at the highest
spatial order the candidates support and again at each lower order it
compares (Akaike's criterion), in each rejection iteration. The spatial terms
are ordered by total degree, so a lower order's unknowns are a subset of the
highest order's and its system their principal submatrix. With the unknowns
permuted so that lower degrees come first, the Cholesky factor of the highest
order's system (symmetric, positive definite: a sum of ``P^T M P``) holds every
lower order's as its leading block: one factorisation, then two triangular
solves per order, where the Alard-Lupton path (`SpatialLayout.solve`, whose
results stay those of earlier versions to the bit) assembles and LU-factors
each order anew. Each block is assembled by one matrix product over the
candidates, written in place.
"""
from __future__ import annotations

import numpy as np
import scipy.linalg

from .solve import _MIN_RCOND, _equilibration_scale

__all__ = ["FactoredSpatialSystem"]

_ROW_BLOCK = 64
"""Rows of a family's per-candidate matrices gathered at a time for its block's product
(a whole 626-column family of 200 candidates would be a 630 MB copy)."""


class FactoredSpatialSystem:
    """The combined system of one candidate set at its highest kernel order, factored.

    Parameters
    ----------
    layout : `SpatialLayout`
        The highest order's layout.
    matrix, vector : `numpy.ndarray`
        ``(n, n_columns, n_columns)`` and ``(n, n_columns)``: the candidates' normal equations.
    x, y : `numpy.ndarray`
        Candidate positions.
    """

    def __init__(self, layout, matrix, vector, x, y):
        self.layout = layout
        self.n_candidates = len(x)
        self.big, self.rhs = _assembled(layout, matrix, vector, x, y)
        self.permutation = np.argsort(_degrees(layout), kind="stable")
        self.position = np.empty_like(self.permutation)
        self.position[self.permutation] = np.arange(len(self.permutation))
        self.scale = np.ones(layout.n_unknowns)
        self.factored = 0
        self.factor = None
        if np.isfinite(self.big).all() and np.isfinite(self.rhs).all():
            self.scale = _equilibration_scale(self.big)
            permuted = self.big[np.ix_(self.permutation, self.permutation)]
            permuted *= self.scale[self.permutation][:, None]
            permuted *= self.scale[self.permutation][None, :]
            # The transposed view is Fortran-ordered and, the matrix being symmetric,
            # the same matrix: LAPACK factors it in place.
            factor, info = scipy.linalg.lapack.dpotrf(permuted.T, lower=1, clean=1,
                                                      overwrite_a=1)
            # info > 0: the leading minor of that order is not positive definite; the
            # columns before it are factored.
            self.factored = layout.n_unknowns if info == 0 else max(info - 1, 0)
            self.factor = factor

    def solve(self, layout):
        """Solve the system of ``layout``: the highest order's families at a kernel order
        not above it.

        Returns
        -------
        theta : `numpy.ndarray`
            ``layout.n_unknowns`` spatial coefficients.
        used_pseudo_inverse : `bool`

        Raises
        ------
        SingularSystemError
            As `SpatialLayout.solve`.
        """
        layout.check_candidates(self.n_candidates)
        index = _unknowns_of(self.layout, layout)
        positions = self.position[index]
        size = len(index)
        if size <= self.factored:
            pivots = np.diag(self.factor)[:size] ** 2
            if pivots.min() > _MIN_RCOND * pivots.max():
                lower = self.factor[:size, :size]
                permuted_rhs = np.empty(size)
                permuted_rhs[positions] = self.rhs[index] * self.scale[index]
                solution = scipy.linalg.solve_triangular(lower, permuted_rhs, lower=True,
                                                         check_finite=False)
                solution = scipy.linalg.solve_triangular(lower, solution, lower=True, trans="T",
                                                         check_finite=False)
                return self.scale[index] * solution[positions], False
        return layout.solved(self.big[np.ix_(index, index)], self.rhs[index], self.n_candidates)


def _assembled(layout, matrix, vector, x, y):
    """``sum_c P_c^T M_c P_c`` and ``sum_c P_c^T b_c`` in ``layout``'s unknowns.

    Block ``(a, b)`` of two families is ``sum_c M_c[i, j] F_a[c, s] F_b[c, t]`` at
    ``(i s, j t)``: one product of the gathered ``M_c[i, j]`` with the candidates'
    ``F_a F_b`` products, transposed into place.
    """
    n_candidates = len(x)
    families = layout.families
    terms = [layout.terms(name, x, y) for name, _, _ in families]
    big = np.empty((layout.n_unknowns, layout.n_unknowns))
    rhs = np.empty(layout.n_unknowns)
    for (_, cols_a, off_a), terms_a in zip(families, terms):
        n_a, t_a = len(cols_a), terms_a.shape[1]
        rhs[off_a:off_a + n_a * t_a] = (vector[:, cols_a].T @ terms_a).ravel()
        for (_, cols_b, off_b), terms_b in zip(families, terms):
            n_b, t_b = len(cols_b), terms_b.shape[1]
            products = (terms_a[:, :, None] * terms_b[:, None, :]).reshape(n_candidates, -1)
            block = big[off_a:off_a + n_a * t_a, off_b:off_b + n_b * t_b].reshape(
                n_a, t_a, n_b, t_b)
            for start in range(0, n_a, _ROW_BLOCK):
                rows = cols_a[start:start + _ROW_BLOCK]
                gathered = matrix[:, rows[0]:rows[-1] + 1, cols_b[0]:cols_b[-1] + 1].reshape(
                    n_candidates, -1)
                block[start:start + len(rows)] = (gathered.T @ products).reshape(
                    len(rows), n_b, t_a, t_b).transpose(0, 2, 1, 3)
    return big, rhs


def _degrees(layout):
    """Per unknown, the total degree of its kernel spatial term; -1 for the spatially
    constant first term and the background, which every kernel order keeps."""
    degrees = np.full(layout.n_unknowns, -1)
    term_degrees = layout.kernel_spatial.powers.sum(axis=1)
    for name, columns, offset in layout.families:
        if name == "kernel":
            degrees[offset:offset + len(columns) * len(term_degrees)] = np.tile(
                term_degrees, len(columns))
    return degrees


def _unknowns_of(highest, layout):
    """For each unknown of ``layout``, the same coefficient's unknown in ``highest``."""
    offsets = {name: offset for name, _, offset in highest.families}
    index = []
    for name, columns, offset in layout.families:
        if name == "kernel":
            n_terms = layout.kernel_spatial.n_terms
            index.append((offsets[name] + np.arange(len(columns))[:, None]
                          * highest.kernel_spatial.n_terms + np.arange(n_terms)).ravel())
        elif name == "background":
            index.append(offsets[name] + np.arange(layout.background_spatial.n_terms))
        else:
            index.append(np.array([offsets[name]]))
    return np.concatenate(index)

