"""Clipped medians of the cells of a grid over an image: the inner loop of
``diffim.image.stats.cell_clipped_medians``.

Private module; call it through that function, which checks the arguments.

Each cell's usable pixels are sorted once (a radix sort of their float32
bits, in a per-thread buffer) and clipped exactly as
`diffim.image.stats.clipped_stats` does: median and 1.4826 MAD, keep
``|v - median| <= n_sigma sigma``, repeat. On sorted values every step is
cheap: the median is the middle element (the mean of the two middle ones, as
``numpy.median``), the absolute deviations are two sorted runs from the
median outwards, merged up to the middle one for the MAD, and the values
kept are a contiguous range. The order statistics are the same values as
numpy's, so the medians are the same bits; one call replaces thousands of
small numpy calls, and cells run in parallel.
"""
cimport cython
from cython.parallel cimport parallel, prange
from libc.math cimport NAN, fabs, isfinite
from libc.stdint cimport uint32_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

cdef double MAD_TO_SIGMA = 1.4826
cdef enum:
    DIGITS = 4  # of 8 bits, in a 32-bit key
    RADIX = 256


cdef inline uint32_t _key(float value) noexcept nogil:
    """Unsigned key that orders as the float does (negatives: all bits flipped)."""
    cdef uint32_t bits
    memcpy(&bits, &value, 4)
    return ~bits if bits >> 31 else bits | 0x80000000u


cdef inline float _value(uint32_t key) noexcept nogil:
    cdef uint32_t bits = key & 0x7FFFFFFFu if key >> 31 else ~key
    cdef float value
    memcpy(&value, &bits, 4)
    return value


cdef void _sort(uint32_t *keys, uint32_t *scratch, Py_ssize_t n, Py_ssize_t *counts) noexcept nogil:
    """Sort ``keys[:n]`` (least significant 8-bit digit first; the four digits' counts in
    one pass); ``scratch`` holds n, ``counts`` 4 x 256."""
    cdef Py_ssize_t digit, shift, i, total, count
    cdef Py_ssize_t *digit_counts
    cdef uint32_t *source = keys
    cdef uint32_t *target = scratch
    cdef uint32_t *swap
    cdef uint32_t key
    memset(counts, 0, DIGITS * RADIX * sizeof(Py_ssize_t))
    for i in range(n):
        key = keys[i]
        counts[key & 0xFF] += 1
        counts[RADIX + ((key >> 8) & 0xFF)] += 1
        counts[2 * RADIX + ((key >> 16) & 0xFF)] += 1
        counts[3 * RADIX + (key >> 24)] += 1
    for digit in range(DIGITS):
        shift = digit * 8
        digit_counts = counts + digit * RADIX
        if digit_counts[(source[0] >> shift) & 0xFF] == n:
            continue  # every key has this digit: nothing moves
        total = 0
        for i in range(RADIX):
            count = digit_counts[i]
            digit_counts[i] = total
            total += count
        for i in range(n):
            key = source[i]
            target[digit_counts[(key >> shift) & 0xFF]] = key
            digit_counts[(key >> shift) & 0xFF] += 1
        swap = source
        source = target
        target = swap
    if source != keys:
        memcpy(keys, source, n * sizeof(uint32_t))


cdef inline double _middle(const double *a, Py_ssize_t lo, Py_ssize_t hi) noexcept nogil:
    """``numpy.median`` of the sorted ``a[lo:hi]`` (hi > lo)."""
    cdef Py_ssize_t n = hi - lo, k = (hi - lo) // 2
    if n % 2 == 1:
        return a[lo + k]
    return (a[lo + k - 1] + a[lo + k]) / 2.0


cdef double _deviation_median(const double *a, Py_ssize_t lo, Py_ssize_t hi,
                              double median) noexcept nogil:
    """Median of ``|a[i] - median|`` over the sorted ``a[lo:hi]``.

    The deviations fall from ``lo`` to the median and rise after it: the
    two runs are merged from the median outwards up to the middle rank.
    """
    cdef Py_ssize_t n = hi - lo, k = n // 2, rank, left, right
    cdef double lower = 0.0, current = 0.0, d_left, d_right
    left = lo
    while left < hi and a[left] < median:
        left += 1
    right = left  # a[right:] >= median: rising deviations
    left -= 1     # a[:left + 1] < median: rising deviations going down
    for rank in range(k + 1):
        lower = current
        if left < lo:
            current = fabs(a[right] - median)
            right += 1
        elif right >= hi:
            current = fabs(a[left] - median)
            left -= 1
        else:
            d_left = fabs(a[left] - median)
            d_right = fabs(a[right] - median)
            if d_left <= d_right:
                current = d_left
                left -= 1
            else:
                current = d_right
                right += 1
    if n % 2 == 1:
        return current
    return (lower + current) / 2.0


cdef double _clipped_median(const double *values, Py_ssize_t n, double n_sigma,
                            int iterations) noexcept nogil:
    """The median of `clipped_stats` on the sorted ``values[:n]``.

    An iteration that stops the clipping (no spread, nothing clipped) leaves
    the values as they were, so their median is the one it just found.
    """
    cdef Py_ssize_t lo = 0, hi = n
    cdef double median, sigma, limit
    cdef int iteration
    for iteration in range(iterations):
        median = _middle(values, lo, hi)
        sigma = MAD_TO_SIGMA * _deviation_median(values, lo, hi, median)
        if sigma == 0.0:
            return median
        limit = n_sigma * sigma
        n = hi - lo
        while lo < hi and fabs(values[lo] - median) > limit:
            lo += 1
        while hi > lo and fabs(values[hi - 1] - median) > limit:
            hi -= 1
        if hi == lo:
            return NAN  # nothing left: numpy's median of no values
        if hi - lo == n:
            return median
    return _middle(values, lo, hi)


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
    cdef uint32_t *keys = NULL
    cdef double *sorted_values = NULL
    cdef Py_ssize_t *counts = NULL
    cdef bint finite
    for i in range(n_cell_rows):
        for j in range(n_cell_cols):
            n = (row_edges[i + 1] - row_edges[i]) * (col_edges[j + 1] - col_edges[j])
            if n > largest:
                largest = n
    with nogil, parallel():
        keys = <uint32_t *> malloc(2 * largest * sizeof(uint32_t))
        sorted_values = <double *> malloc(largest * sizeof(double))
        counts = <Py_ssize_t *> malloc(DIGITS * RADIX * sizeof(Py_ssize_t))
        for cell in prange(n_cell_rows * n_cell_cols, schedule="static"):
            i = cell // n_cell_cols
            j = cell % n_cell_cols
            n = 0
            finite = True
            for r in range(row_edges[i], row_edges[i + 1]):
                for c in range(col_edges[j], col_edges[j + 1]):
                    if usable[r, c]:
                        keys[n] = _key(values[r, c])
                        finite = finite and isfinite(values[r, c])
                        n = n + 1
            # As numpy.mean of the boolean window: count / size in float64.
            if n == 0 or (<double> n) / ((row_edges[i + 1] - row_edges[i])
                                         * (col_edges[j + 1] - col_edges[j])) < min_usable:
                used[i, j] = 0
                medians[i, j] = NAN
            elif not finite:
                used[i, j] = 1
                medians[i, j] = NAN
            else:
                used[i, j] = 1
                _sort(keys, keys + largest, n, counts)
                for r in range(n):
                    sorted_values[r] = _value(keys[r])
                medians[i, j] = _clipped_median(sorted_values, n, n_sigma, iterations)
        free(keys)
        free(sorted_values)
        free(counts)
