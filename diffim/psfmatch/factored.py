"""The spatial system of a delta-function kernel, assembled and factored once for every order.

A delta-function basis has a free coefficient per kernel pixel, each with the
kernel's spatial terms: a 21 px kernel with a quadratic variation is a
2649-unknown system, and `diffim.psfmatch.fit` solves it at the highest
spatial order the candidates support and again at each lower order it
compares (Akaike's criterion), in each rejection iteration. The spatial terms
are ordered by total degree, so a lower order's unknowns are a subset of the
highest order's and its system their principal submatrix. Assembled term by
term (lower degrees first), the Cholesky factor of the highest order's system
(symmetric, positive definite: a sum of ``P^T M P``) holds every lower
order's as its leading block: one factorisation, then two triangular
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

    Its unknowns are held term by term: first those every kernel order keeps (the
    spatially constant first term, the background's terms), then each kernel
    column's coefficient of the first spatial term, of the second, ...; an order
    with ``T`` terms is then the leading block of ``T`` terms.

    Parameters
    ----------
    layout : `SpatialLayout`
        The highest order's layout.
    matrix, vector : `numpy.ndarray`
        ``(m, n_columns, n_columns)`` and ``(m, n_columns)``: normal equations of the
        candidates' stamps, read in place (an order the factor cannot solve is solved
        from their copies by `SpatialLayout.solve`).
    x, y : `numpy.ndarray`
        The ``n`` candidates' positions.
    rows : `numpy.ndarray`
        ``(n,)``: each candidate's stamp in ``matrix`` and ``vector``.
    """

    def __init__(self, layout, matrix, vector, x, y, rows):
        self.layout = layout
        self.matrix, self.vector, self.x, self.y, self.rows = matrix, vector, x, y, rows
        self.position = _term_major_positions(layout)
        big, self.rhs = _assembled(layout, matrix, vector, x, y, rows, self.position)
        self.scale = np.ones(layout.n_unknowns)
        self.factored = 0
        self.factor = None
        if np.isfinite(big).all() and np.isfinite(self.rhs).all():
            self.scale = _equilibration_scale(big)
            big *= self.scale[:, None]
            big *= self.scale[None, :]
            # The transposed view is Fortran-ordered and, the matrix being symmetric, the
            # same matrix: LAPACK factors it in place. info > 0: the leading minor of that
            # order is not positive definite; the columns before it are factored.
            self.factor, info = scipy.linalg.lapack.dpotrf(big.T, lower=1, clean=1,
                                                           overwrite_a=1)
            self.factored = layout.n_unknowns if info == 0 else max(info - 1, 0)

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
        layout.check_candidates(len(self.x))
        positions = self.position[_unknowns_of(self.layout, layout)]
        size = len(positions)
        if size <= self.factored:
            pivots = np.diag(self.factor)[:size] ** 2
            if pivots.min() > _MIN_RCOND * pivots.max():
                lower = self.factor[:size, :size]
                scale = self.scale[:size]
                solution = scipy.linalg.solve_triangular(lower, self.rhs[:size] * scale,
                                                         lower=True, check_finite=False)
                solution = scipy.linalg.solve_triangular(lower, solution, lower=True, trans="T",
                                                         check_finite=False)
                return (scale * solution)[positions], False
        return layout.solve(self.matrix[self.rows], self.vector[self.rows], self.x, self.y)


def _term_major_positions(layout):
    """Per unknown of ``layout``, its row in the term-major system: the constant and
    background unknowns first, then the kernel columns' coefficients term by term."""
    position = np.empty(layout.n_unknowns, dtype=np.intp)
    kept = 0
    for name, columns, offset in layout.families:
        if name != "kernel":
            size = layout.terms(name, np.zeros(1), np.zeros(1)).shape[1]
            position[offset:offset + size] = kept + np.arange(size)
            kept += size
    for name, columns, offset in layout.families:
        if name == "kernel":
            n_terms = layout.kernel_spatial.n_terms
            position[offset:offset + len(columns) * n_terms] = (
                kept + np.arange(n_terms)[None, :] * len(columns)
                + np.arange(len(columns))[:, None]).ravel()
    return position


def _assembled(layout, matrix, vector, x, y, rows, position):
    """``sum_c P_c^T M_c P_c`` and ``sum_c P_c^T b_c`` (``M_c = matrix[rows[c]]``), unknown
    ``u`` at row ``position[u]``.

    Block ``(a, b)`` of two families is ``sum_c F_a[c, s] F_b[c, t] M_c[i, j]``: one
    product of the candidates' ``F_a F_b`` with their gathered ``M_c[i, j]``, written
    term-major (rows ``s``, then column ``i``) into place.
    """
    n_candidates = len(x)
    families = layout.families
    terms = [layout.terms(name, x, y) for name, _, _ in families]
    big = np.empty((layout.n_unknowns, layout.n_unknowns))
    rhs = np.empty(layout.n_unknowns)
    for (_, cols_a, off_a), terms_a in zip(families, terms):
        n_a, t_a = len(cols_a), terms_a.shape[1]
        first_a = position[off_a:off_a + n_a * t_a].min()
        rhs[first_a:first_a + n_a * t_a] = (terms_a.T @ vector[rows][:, cols_a]).ravel()
        for (_, cols_b, off_b), terms_b in zip(families, terms):
            n_b, t_b = len(cols_b), terms_b.shape[1]
            first_b = position[off_b:off_b + n_b * t_b].min()
            products = (terms_a[:, :, None] * terms_b[:, None, :]).reshape(n_candidates, -1).T
            block = big[first_a:first_a + n_a * t_a, first_b:first_b + n_b * t_b].reshape(
                t_a, n_a, t_b, n_b)
            for start in range(0, n_a, _ROW_BLOCK):
                columns = cols_a[start:start + _ROW_BLOCK]
                gathered = matrix[rows, columns[0]:columns[-1] + 1,
                                  cols_b[0]:cols_b[-1] + 1].reshape(n_candidates, -1)
                block[:, start:start + len(columns)] = (products @ gathered).reshape(
                    t_a, t_b, len(columns), n_b).transpose(0, 2, 1, 3)
    return big, rhs


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
