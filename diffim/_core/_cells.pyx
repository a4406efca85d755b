"""Clipped medians of the cells of a grid over an image: the inner loop of
``diffim.image.stats.cell_clipped_medians``.

Private module; call it through that function, which checks the arguments.

Each cell's usable pixels are copied (as float64) into a per-thread buffer and
clipped exactly as `diffim.image.stats.clipped_stats` does: median and
1.4826 MAD, keep ``|v - median| <= n_sigma sigma``, repeat. Medians are order
statistics found by selection (the middle one, or the mean of the two middle
ones, as ``numpy.median``), so the results are the same bits as numpy's; one
call replaces thousands of small numpy calls, and cells run in parallel.
"""
cimport cython
from cython.parallel cimport parallel, prange
from libc.math cimport NAN, fabs, isfinite
from libc.stdlib cimport free, malloc

cdef double MAD_TO_SIGMA = 1.4826


cdef void _swap(double *a, Py_ssize_t i, Py_ssize_t j) noexcept nogil:
    cdef double t = a[i]
    a[i] = a[j]
    a[j] = t


cdef double _select(double *a, Py_ssize_t n, Py_ssize_t k) noexcept nogil:
    """The ``k``-th smallest of ``a[:n]``; ``a`` is reordered so that ``a[:k] <= a[k]``."""
    cdef Py_ssize_t lo = 0, hi = n - 1, i, j, mid
    cdef double pivot
    while hi > lo:
        mid = lo + (hi - lo) // 2
        # Median of three as pivot, left at a[mid].
        if a[mid] < a[lo]:
            _swap(a, mid, lo)
        if a[hi] < a[lo]:
            _swap(a, hi, lo)
        if a[hi] < a[mid]:
            _swap(a, hi, mid)
        pivot = a[mid]
        i = lo
        j = hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                _swap(a, i, j)
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return a[k]
    return a[k]


cdef double _median(double *a, Py_ssize_t n) noexcept nogil:
    """``numpy.median`` of ``a[:n]`` (n >= 1), reordering ``a``."""
    cdef Py_ssize_t k = n // 2, i
    cdef double upper = _select(a, n, k), lower
    if n % 2 == 1:
        return upper
    lower = a[0]
    for i in range(1, k):
        if a[i] > lower:
            lower = a[i]
    return (lower + upper) / 2.0


cdef double _median_sigma(double *values, double *work, Py_ssize_t n, double *sigma) noexcept nogil:
    """`robust_median_sigma` of ``values[:n]`` (reordered), ``work`` scratch."""
    cdef Py_ssize_t i
    cdef double median = _median(values, n)
    for i in range(n):
        work[i] = fabs(values[i] - median)
    sigma[0] = MAD_TO_SIGMA * _median(work, n)
    return median


cdef double _clipped_median(double *values, double *work, Py_ssize_t n, double n_sigma,
                            int iterations) noexcept nogil:
    """The median of `clipped_stats` on ``values[:n]``.

    An iteration that stops the clipping (no spread, nothing clipped) leaves
    the values as they were, so their median is the one it just found:
    `clipped_stats`' closing median and MAD are only recomputed here when
    the iterations ran out (the same values; a third less work per cell).
    """
    cdef Py_ssize_t i, kept
    cdef double median, sigma, limit
    cdef int iteration
    for iteration in range(iterations):
        median = _median_sigma(values, work, n, &sigma)
        if sigma == 0.0:
            return median
        limit = n_sigma * sigma
        kept = 0
        for i in range(n):
            if fabs(values[i] - median) <= limit:
                values[kept] = values[i]
                kept += 1
        if kept == n:
            return median
        n = kept
    return _median(values, n)


@cython.boundscheck(False)
@cython.wraparound(False)
def cell_clipped_medians(const float[:, :] values, const unsigned char[:, :] usable,
                         const Py_ssize_t[::1] row_edges, const Py_ssize_t[::1] col_edges,
                         double min_usable, double n_sigma, int iterations,
                         double[:, ::1] medians, unsigned char[:, ::1] used):
    """Fill ``medians`` and ``used`` for the cells ``[row_edges[i]:row_edges[i+1],
    col_edges[j]:col_edges[j+1]]``.

    A cell is used when at least ``min_usable`` of its pixels are usable; its
    median is NaN when one of those is not finite.
    """
    cdef Py_ssize_t n_cell_rows = row_edges.shape[0] - 1
    cdef Py_ssize_t n_cell_cols = col_edges.shape[0] - 1
    cdef Py_ssize_t largest = 0, cell, i, j, r, c, n
    cdef double *buffer = NULL
    cdef bint finite
    for i in range(n_cell_rows):
        for j in range(n_cell_cols):
            n = (row_edges[i + 1] - row_edges[i]) * (col_edges[j + 1] - col_edges[j])
            if n > largest:
                largest = n
    with nogil, parallel():
        buffer = <double *> malloc(2 * largest * sizeof(double))
        for cell in prange(n_cell_rows * n_cell_cols, schedule="static"):
            i = cell // n_cell_cols
            j = cell % n_cell_cols
            n = 0
            finite = True
            for r in range(row_edges[i], row_edges[i + 1]):
                for c in range(col_edges[j], col_edges[j + 1]):
                    if usable[r, c]:
                        buffer[n] = values[r, c]
                        finite = finite and isfinite(buffer[n])
                        n = n + 1
            # As numpy.mean of the boolean window: count / size in float64.
            if n == 0 or (<double> n) / ((row_edges[i + 1] - row_edges[i])
                                         * (col_edges[j + 1] - col_edges[j])) < min_usable:
                used[i, j] = 0
                medians[i, j] = NAN
            else:
                used[i, j] = 1
                medians[i, j] = (_clipped_median(buffer, buffer + largest, n, n_sigma, iterations)
                                 if finite else NAN)
        free(buffer)
