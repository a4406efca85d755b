"""Normal equations of the kernel fit: per candidate, and spatially combined.

For a candidate with template stamp ``T``, science stamp ``S`` and weights
``W`` over the fit region, the columns are ``C_k = T (x) B_k`` (plus a column
of ones for the background) and the normal equations ``M a = b`` with
``M = C^T W C``, ``b = C^T W S``.

The spatial solution writes each coefficient as a spatial function,
``a_k(x, y) = sum_s theta_{k,s} F_s(x, y)``; each candidate then contributes
``P_c^T M_c P_c`` and ``P_c^T b_c`` to the big system, ``P_c`` holding the
spatial terms at its centre.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._core import _al_convolve, _al_solve
from .errors import SingularSystemError

__all__ = ["StampSystems", "build_stamp_systems", "solve_systems", "SpatialLayout",
           "residual_statistics"]

# Eigenvalues below this fraction of the largest are dropped by the pseudo-inverse.
_PINV_RCOND = 1e-12
# Reciprocal condition number under which an LU solution is not trusted.
_MIN_RCOND = 1e-14
# Stamps whose pair images are made at once in `build_stamp_systems`.
_STAMP_BLOCK = 64


@dataclass
class StampSystems:
    """Columns and normal equations of a set of candidate stamps.

    Attributes
    ----------
    columns : `numpy.ndarray` or `None`
        ``(n, n_columns, n_pixels)`` design columns (kernel bases, then background);
        None for a delta-function basis with one weight per stamp, whose columns
        are windows of ``template``.
    target : `numpy.ndarray`
        ``(n, n_pixels)`` science pixels of the fit region.
    inverse_sigma : `numpy.ndarray`
        ``(n, n_pixels)`` ``1 / sqrt(var_sci + var_tmpl)``.
    matrix, vector : `numpy.ndarray`
        ``(n, n_columns, n_columns)`` and ``(n, n_columns)``: ``M`` and ``b``.
    rows : `numpy.ndarray`, optional
        Which stamps of ``columns``, ``target`` and ``inverse_sigma`` these
        ``n`` systems are (all of them, in order, when None): a subset of the
        candidates shares their arrays instead of copying them (the columns
        are ~180 MB at 4k).
    template : `numpy.ndarray`, optional
        ``(n, S, S)`` template stamps when ``columns`` is None: column ``k`` is
        the window ``template[:, A:A + F, B:B + F]``, ``A * K + B = K^2 - 1 - k``
        (``K`` the kernel size, ``F = S - K + 1``).
    kernel_size : `int`, optional
        ``K``: the basis images' size (needed with ``template``).
    """

    columns: np.ndarray
    target: np.ndarray
    inverse_sigma: np.ndarray
    matrix: np.ndarray
    vector: np.ndarray
    rows: np.ndarray = None
    template: np.ndarray = None
    kernel_size: int = None


def build_stamp_systems(basis, template, science, variance, fit_background,
                        constant_weighting, regularization=None):
    """Columns and normal equations for ``(n, S, S)`` template/science/variance stamps.

    Parameters
    ----------
    basis : `KernelBasis`
    template, science, variance : `numpy.ndarray`
        float64 stamps; ``variance`` is the sum of both images' variances.
    fit_background : `bool`
        Add a column of ones (``fitForBackground``).
    constant_weighting : `bool`
        Weight every pixel of a stamp by ``1 / median(variance)``
        (``constantVarianceWeighting``) instead of ``1 / variance``.
    regularization : `numpy.ndarray`, optional
        ``lambda * H`` added to the kernel block of ``M`` (delta-function basis).

    Notes
    -----
    A delta-function basis with one weight per stamp makes no columns: they are
    shifted windows of the template stamp, so the normal matrix is made of the
    stamp's windowed autocorrelations
    (`diffim._core._al_solve.delta_function_normal_equations`), and the columns,
    ``K^2`` stamp-sized copies (~5 MB a stamp for a 25 px kernel), are never
    made. Same matrices to rounding: 1.3e-14 of an element, 2.6e-15 of a stamp's
    largest on 54 simulated 43 px stamps of a 21 px kernel.
    """
    n_stamps, size, _ = template.shape
    half = basis.half_width
    n_basis = len(basis)
    n_columns = n_basis + int(fit_background)
    template = np.ascontiguousarray(template)
    inner = (slice(None), slice(half, size - half), slice(half, size - half))
    target = np.ascontiguousarray(science[inner].reshape(n_stamps, -1))
    fit_variance = variance[inner].reshape(n_stamps, -1)
    inverse_sigma = 1.0 / np.sqrt(fit_variance)
    matrix = np.empty((n_stamps, n_columns, n_columns))
    vector = np.empty((n_stamps, n_columns))
    if basis.name == "delta-function" and constant_weighting:
        _al_solve.delta_function_normal_equations(
            template, target, 1.0 / np.median(fit_variance, axis=1), basis.size,
            fit_background, matrix, vector)
        systems = StampSystems(None, target, inverse_sigma, matrix, vector, template=template,
                               kernel_size=basis.size)
    else:
        columns = _columns(basis, template, fit_background, size - 2 * half)
        if constant_weighting:
            weights = np.repeat(1.0 / np.median(fit_variance, axis=1)[:, None],
                                fit_variance.shape[1], axis=1)
        else:
            weights = inverse_sigma**2
        _al_solve.normal_equations(columns, np.ascontiguousarray(weights), target, matrix, vector)
        systems = StampSystems(columns, target, inverse_sigma, matrix, vector,
                               kernel_size=basis.size)
    if regularization is not None:
        matrix[:, :n_basis, :n_basis] += regularization
    return systems


def _columns(basis, template, fit_background, fit):
    """``(n, n_basis [+ 1], fit * fit)``: each basis convolved with the ``(n, S, S)`` template
    stamps over the fit region (``fit`` px a side), then a column of ones for the background."""
    n_stamps = template.shape[0]
    n_basis = len(basis)
    columns = np.empty((n_stamps, n_basis + int(fit_background), fit * fit))
    vectors = (np.ascontiguousarray(basis.x_vectors), np.ascontiguousarray(basis.y_vectors),
               np.ascontiguousarray(basis.pairs, dtype=np.intp))
    # A block of stamps at a time: the pair images of all of them would be as
    # large as the columns (~180 MB at 4k), on top of them at the peak memory.
    pair_images = np.empty((min(n_stamps, _STAMP_BLOCK), len(basis.pairs), fit, fit))
    for start in range(0, n_stamps, _STAMP_BLOCK):
        stop = min(start + _STAMP_BLOCK, n_stamps)
        block = pair_images[:stop - start]
        _al_convolve.stamp_pair_convolutions(template[start:stop], *vectors, block)
        # Written in place: no temporary as large as the columns.
        np.matmul(basis.transform, block.reshape(stop - start, len(basis.pairs), -1),
                  out=columns[start:stop, :n_basis])
    if fit_background:
        columns[:, n_basis] = 1.0
    return columns


def solve_systems(matrix, vector):
    """Solve a stack of symmetric systems by LU, falling back to a pseudo-inverse.

    Returns
    -------
    solution : `numpy.ndarray`
        ``(n, m)``; rows that cannot be solved at all are NaN.
    used_pseudo_inverse : `numpy.ndarray`
        ``(n,)`` bool, True where the system was singular or ill-conditioned
        and the eigen pseudo-inverse (eigenvalues below 1e-12 of the largest
        dropped) was used instead.
    """
    solution, used_pseudo_inverse = _lu_solve_systems(matrix, vector)
    for n in np.flatnonzero(used_pseudo_inverse):
        solution[n] = _pseudo_inverse_solve(matrix[n], vector[n])
    return solution, used_pseudo_inverse


def _lu_solve_systems(matrix, vector):
    """``(solution, failed)``: each system solved by LU of its equilibrated form
    (`_equilibrated`), NaN and True where it is not finite or a pivot vanishes
    (below `_MIN_RCOND` of the largest)."""
    matrix, vector = np.ascontiguousarray(matrix, float), np.ascontiguousarray(vector, float)
    solution = np.full(vector.shape, np.nan)
    solved = np.zeros(matrix.shape[0], dtype=np.uint8)
    if matrix.shape[0]:
        _al_solve.lu_solve_systems(matrix, vector, _MIN_RCOND, solution, solved)
    return solution, solved == 0


def residual_statistics(systems, coefficients):
    """``(n, 3)``: mean, standard deviation and pixel count of ``(S - C a) / sigma``.

    For a subset (``systems.rows``) the kernel reads those stamps in place.
    """
    coefficients = np.ascontiguousarray(coefficients)
    rows = (np.arange(coefficients.shape[0]) if systems.rows is None
            else np.ascontiguousarray(systems.rows, dtype=np.intp))
    out = np.empty((coefficients.shape[0], 3))
    if systems.columns is None:
        _al_solve.delta_function_residual_statistics(systems.template, coefficients,
                                                     systems.target, systems.inverse_sigma,
                                                     rows, systems.kernel_size, out)
    else:
        _al_solve.residual_statistics(systems.columns, coefficients, systems.target,
                                      systems.inverse_sigma, rows, out)
    return out


def _equilibrated(matrix, vector):
    """``D M D``, ``D b`` and ``D`` with ``D = diag(M)^-1/2`` (1 where the diagonal is not > 0).

    The solution of ``M a = b`` is ``D`` times that of the scaled system. The
    columns of a stamp span many orders of magnitude when the template carries
    its sky (a 9600 ADU pedestal in the kernel-sum column beside the
    background's ones): unscaled, a faint candidate's matrix fails the pivot test
    and the pseudo-inverse drops a direction the data do constrain (a real DECam
    candidate: kernel sum 0.30 with the sky left in, 0.74 without).
    """
    scale = _equilibration_scale(matrix)
    return matrix * scale[:, None] * scale[None, :], vector * scale, scale


def _equilibration_scale(matrix):
    """`_equilibrated`'s ``D``: ``diag(M)^-1/2``, 1 where the diagonal is not > 0."""
    diagonal = np.diag(matrix)
    scale = np.ones_like(diagonal)
    positive = diagonal > 0
    scale[positive] = 1.0 / np.sqrt(diagonal[positive])
    return scale


def _lu_solve(matrix, vector):
    """The LU solution of one system, as `solve_systems` finds it.

    Raises
    ------
    SingularSystemError
        If the system is not finite or a pivot of its LU vanishes.
    """
    solution, used_pseudo_inverse = _lu_solve_systems(matrix[None], vector[None])
    if used_pseudo_inverse[0]:
        raise SingularSystemError("non-finite normal equations or a vanishing LU pivot")
    return solution[0]


def _pseudo_inverse_solve(matrix, vector):
    if not np.isfinite(matrix).all() or not np.isfinite(vector).all():
        return np.full(vector.shape, np.nan)
    matrix, vector, scale = _equilibrated(matrix, vector)
    values, vectors = np.linalg.eigh(0.5 * (matrix + matrix.T))
    keep = values > _PINV_RCOND * max(values.max(), 0.0)
    if not keep.any():
        return np.full(vector.shape, np.nan)
    projected = (vectors[:, keep].T @ vector) / values[keep]
    return scale * (vectors[:, keep] @ projected)


class SpatialLayout:
    """Where each spatial coefficient sits in the combined system.

    Columns fall into families sharing one vector of spatial terms: the
    spatially constant first basis (when ``constant_first_term``), the other
    kernel bases (``kernel_spatial`` terms) and the background
    (``background_spatial`` terms). Unknown ``offset + i * n_terms + s`` is
    the coefficient of term ``s`` for the family's ``i``-th column, so there
    are ``(n_basis - 1) * nkt + 1 + nbt`` unknowns for an Alard-Lupton basis.
    """

    def __init__(self, n_basis, constant_first_term, fit_background, kernel_spatial,
                 background_spatial):
        self.n_basis = n_basis
        self.kernel_spatial = kernel_spatial
        self.background_spatial = background_spatial
        self.families = []
        first = 1 if constant_first_term else 0
        offset = 0
        if constant_first_term:
            self.families.append(("constant", np.array([0]), offset))
            offset += 1
        kernel_columns = np.arange(first, n_basis)
        self.families.append(("kernel", kernel_columns, offset))
        offset += len(kernel_columns) * kernel_spatial.n_terms
        if fit_background:
            self.families.append(("background", np.array([n_basis]), offset))
            offset += background_spatial.n_terms
        self.n_unknowns = offset

    def terms(self, family, x, y):
        """``(n, n_terms)`` spatial terms of ``family`` (a name in ``families``) at ``(x, y)``."""
        if family == "constant":
            return np.ones((len(x), 1))
        spatial = self.kernel_spatial if family == "kernel" else self.background_spatial
        return spatial.terms(x, y)

    def solve(self, matrix, vector, x, y):
        """Assemble and solve the combined system of candidates at ``(x, y)``.

        Returns
        -------
        theta : `numpy.ndarray`
            The ``n_unknowns`` spatial coefficients.
        used_pseudo_inverse : `bool`

        Raises
        ------
        SingularSystemError
            If the system cannot be solved even by pseudo-inverse, or has
            fewer candidates than spatial terms.
        """
        terms = [self.terms(name, x, y) for name, _, _ in self.families]
        big = np.zeros((self.n_unknowns, self.n_unknowns))
        rhs = np.zeros(self.n_unknowns)
        for (_, cols_a, off_a), terms_a in zip(self.families, terms):
            size_a = len(cols_a) * terms_a.shape[1]
            rhs[off_a:off_a + size_a] = np.einsum("ci,cs->is", vector[:, cols_a],
                                                  terms_a).ravel()
            for (_, cols_b, off_b), terms_b in zip(self.families, terms):
                size_b = len(cols_b) * terms_b.shape[1]
                block = np.einsum("cij,cs,ct->isjt", matrix[:, cols_a][:, :, cols_b],
                                  terms_a, terms_b, optimize=True)
                big[off_a:off_a + size_a, off_b:off_b + size_b] = block.reshape(size_a, size_b)
        self.check_candidates(len(x))
        return self.solved(big, rhs, len(x))

    def check_candidates(self, n_candidates):
        """Raise `SingularSystemError` when ``n_candidates`` cannot constrain the kernel's terms."""
        if n_candidates < self.kernel_spatial.n_terms:
            raise SingularSystemError(
                f"spatial kernel fit has {n_candidates} candidates for "
                f"{self.kernel_spatial.n_terms} spatial terms (spatialKernelOrder="
                f"{self.kernel_spatial.order}); lower spatialKernelOrder or give more sources")

    def solved(self, big, rhs, n_candidates):
        """``(theta, used_pseudo_inverse)`` of the assembled system ``big theta = rhs``:
        by LU, else by pseudo-inverse; `SingularSystemError` when neither solves it."""
        try:
            return _lu_solve(big, rhs), False
        except SingularSystemError:
            theta = _pseudo_inverse_solve(big, rhs)
            if not np.isfinite(theta).all():
                raise SingularSystemError(
                    f"spatial kernel system ({self.n_unknowns} unknowns, {n_candidates} "
                    "candidates) is singular and has no pseudo-inverse solution") from None
            return theta, True

    def coefficients_at(self, theta, x, y):
        """``(n, n_columns)`` per-candidate coefficients implied by ``theta``."""
        n_columns = self.n_basis + (1 if self.families[-1][0] == "background" else 0)
        out = np.zeros((len(x), n_columns))
        for name, columns, offset in self.families:
            terms = self.terms(name, x, y)
            block = theta[offset:offset + len(columns) * terms.shape[1]]
            out[:, columns] = terms @ block.reshape(len(columns), terms.shape[1]).T
        return out

    def kernel_coefficients(self, theta):
        """``(n_basis, nkt)`` spatial coefficients of the kernel bases."""
        out = np.zeros((self.n_basis, self.kernel_spatial.n_terms))
        for name, columns, offset in self.families:
            if name == "constant":
                out[0, 0] = theta[offset]
            elif name == "kernel":
                n_terms = self.kernel_spatial.n_terms
                out[columns] = theta[offset:offset + len(columns) * n_terms].reshape(-1, n_terms)
        return out

    def background_coefficients(self, theta):
        """``nbt`` background coefficients (zeros without a background fit)."""
        for name, _, offset in self.families:
            if name == "background":
                return theta[offset:offset + self.background_spatial.n_terms].copy()
        return np.zeros(self.background_spatial.n_terms)
