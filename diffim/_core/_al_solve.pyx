"""Per-candidate normal equations and residual statistics for ``diffim.psfmatch``.

Private module; call it through `diffim.psfmatch.solve`. Candidates are
independent, so each OpenMP thread takes whole candidates.
"""
from cython.parallel cimport parallel, prange
from libc.math cimport sqrt
from libc.stdlib cimport free, malloc


def normal_equations(const double[:, :, ::1] columns, const double[:, ::1] weights,
                     const double[:, ::1] target, double[:, :, ::1] matrix,
                     double[:, ::1] vector):
    """``matrix[n] = C^T W C`` and ``vector[n] = C^T W s`` for each candidate ``n``.

    ``columns`` is ``(n, n_columns, n_pixels)``; ``weights`` and ``target``
    are ``(n, n_pixels)``; a zero weight drops a pixel.

    Each sum runs over the pixels in order, ``total + (c_i w) c_j``: a pixel
    at a time (a rank-one update of the whole triangle, its columns' values
    gathered once) rather than a dot product at a time, which strode through
    every column for every element.
    """
    cdef Py_ssize_t n_cand = columns.shape[0]
    cdef Py_ssize_t n_cols = columns.shape[1]
    cdef Py_ssize_t n_pix = columns.shape[2]
    cdef Py_ssize_t n, i, j, q
    cdef double weighted, weight, value
    cdef double *pixel = NULL
    cdef double *sums = NULL
    with nogil, parallel():
        pixel = <double *> malloc(n_cols * sizeof(double))
        sums = <double *> malloc((n_cols * n_cols + n_cols) * sizeof(double))
        for n in prange(n_cand, schedule="dynamic"):
            for i in range(n_cols * n_cols + n_cols):
                sums[i] = 0.0
            for q in range(n_pix):
                weight = weights[n, q]
                value = target[n, q]
                for i in range(n_cols):
                    pixel[i] = columns[n, i, q]
                for i in range(n_cols):
                    weighted = pixel[i] * weight
                    for j in range(i + 1):
                        sums[i * n_cols + j] = sums[i * n_cols + j] + weighted * pixel[j]
                    sums[n_cols * n_cols + i] = sums[n_cols * n_cols + i] + weighted * value
            for i in range(n_cols):
                for j in range(i + 1):
                    matrix[n, i, j] = sums[i * n_cols + j]
                    matrix[n, j, i] = sums[i * n_cols + j]
                vector[n, i] = sums[n_cols * n_cols + i]
        free(pixel)
        free(sums)


def residual_statistics(const double[:, :, ::1] columns, const double[:, ::1] coefficients,
                        const double[:, ::1] target, const double[:, ::1] inverse_sigma,
                        const Py_ssize_t[::1] rows, double[:, ::1] out):
    """Mean, standard deviation and count of ``(s - C a) / sigma`` per candidate.

    Row ``k`` of ``coefficients`` and ``out`` belongs to stamp ``rows[k]`` of
    ``columns``, ``target`` and ``inverse_sigma``: a subset of the stamps is
    read where it lies, not gathered into a copy first. Pixels with
    ``inverse_sigma == 0`` are skipped. ``out`` is ``(len(rows), 3)``; a
    candidate with fewer than two pixels gets a NaN standard deviation.
    """
    cdef Py_ssize_t n_out = rows.shape[0]
    cdef Py_ssize_t n_cols = columns.shape[1]
    cdef Py_ssize_t n_pix = columns.shape[2]
    cdef Py_ssize_t k, n, i, q
    cdef double model, resid, total, total_sq, count, mean
    for k in prange(n_out, nogil=True, schedule="dynamic"):
        n = rows[k]
        total = 0.0
        total_sq = 0.0
        count = 0.0
        for q in range(n_pix):
            if inverse_sigma[n, q] == 0.0:
                continue
            model = 0.0
            for i in range(n_cols):
                model = model + coefficients[k, i] * columns[n, i, q]
            resid = (target[n, q] - model) * inverse_sigma[n, q]
            total = total + resid
            total_sq = total_sq + resid * resid
            count = count + 1.0
        mean = total / count if count > 0 else 0.0
        out[k, 0] = mean
        out[k, 1] = sqrt(max(total_sq - count * mean * mean, 0.0) / (count - 1.0)) if count > 1 else 0.0 / 0.0
        out[k, 2] = count
