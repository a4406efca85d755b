# distutils: extra_compile_args = -O3 -fopenmp -fno-math-errno -ffp-contract=off
# (setup.py's flags; sqrtf without errno so that the significance loop is vectorised, and
# no fused multiply-adds, so that every ISA's clone of the smoothing sums rounds alike:
# the same values.)
"""Peaks of a smoothed significance image in one pass: the inner loop of ``diffim.image.peaks``.

Private module; call it through `diffim.image.peaks.find_peaks`, which checks
and converts the arguments.

The image is processed in strips of rows (128: each strip also smooths the
12 + 4 rows of its margins), in parallel. For each strip the
background-subtracted image (zero at bad pixels, the background bilinear
between the nodes of a coarse grid) and the variance (zero at bad pixels) are
correlated with a separable kernel, rows first then columns, in buffers the
size of the strip plus its margins; the image is zero beyond its edges and the
variance repeats its edge (scipy's ``constant`` and ``nearest`` modes). A
usable pixel is a peak when its significance ``s / sqrt(power * v)`` reaches
the threshold and no pixel of its 5 x 5 neighbourhood is more significant
(zero outside the image). No full-size temporary is made.
"""
cimport cython
from cython.parallel cimport prange
from libc.math cimport sqrtf  # math.h, for the C helpers below
from libc.stdlib cimport free, malloc

import numpy as np

cdef enum:
    MAX_HALF = 2  # half-width of the local-maximum window (5 x 5)
    COLUMN_BLOCK = 512  # columns smoothed at a time down a strip: their rows stay in cache
    SCAN_BLOCK = 64  # columns whose significance is checked against the threshold at once

ctypedef fused mask_t:
    unsigned char
    unsigned int


cdef struct Strip:
    Py_ssize_t count
    Py_ssize_t capacity
    int *row
    int *col
    float *value
    float *snr


cdef inline Py_ssize_t _clamp(Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    return 0 if i < 0 else (n - 1 if i >= n else i)


cdef void _background_rows(const float[:, ::1] grid, Py_ssize_t lo, Py_ssize_t hi,
                           const int[::1] col_lo, const int[::1] col_hi,
                           const float[::1] col_frac, float *top, float *bottom) noexcept nogil:
    """Node rows ``lo`` and ``hi`` of the background interpolated along x: the two terms of
    each background row between them (``peaks_line``), in the operation order of
    `diffim.image.background.BackgroundGrid.image`."""
    cdef Py_ssize_t c
    cdef float fx
    for c in range(col_lo.shape[0]):
        fx = col_frac[c]
        top[c] = grid[lo, col_lo[c]] * (1 - fx) + grid[lo, col_hi[c]] * fx
        bottom[c] = grid[hi, col_lo[c]] * (1 - fx) + grid[hi, col_hi[c]] * fx


cdef extern from *:
    """
    /* The smoothing sums are compiled for AVX2 and the baseline ISA (SSE2); the
       loader picks one by CPU features. Without contraction (-ffp-contract=off)
       both round every product and sum alike: the same bits, twice the lanes. */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define PEAKS_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
    #else
    #define PEAKS_CLONES
    #endif

    /* acc[i] = acc[i] + weights[k] * sources[k][i] for k = 0 .. count - 1 in turn.
       Four sources per sweep over acc (one load and store of it instead of four);
       the additions keep their order, so the result is the same to the bit. */
    PEAKS_CLONES
    static void peaks_accumulate(float *restrict acc, const float **sources,
                                 const float *weights, Py_ssize_t count, Py_ssize_t n)
    {
        Py_ssize_t k = 0, i;
        while (k + 4 <= count) {
            const float *restrict a = sources[k], *restrict b = sources[k + 1];
            const float *restrict c = sources[k + 2], *restrict d = sources[k + 3];
            const float wa = weights[k], wb = weights[k + 1];
            const float wc = weights[k + 2], wd = weights[k + 3];
            for (i = 0; i < n; i++)
                acc[i] = (((acc[i] + wa * a[i]) + wb * b[i]) + wc * c[i]) + wd * d[i];
            k += 4;
        }
        for (; k < count; k++) {
            const float *restrict a = sources[k];
            const float wa = weights[k];
            for (i = 0; i < n; i++)
                acc[i] = acc[i] + wa * a[i];
        }
    }

    /* One row of the row pass's input: image minus background (bilinear, its
       value rounded to float first: the operations of `_background_rows`' terms,
       then the row fraction, as Cython wrote them before) and variance, both 0
       at bad pixels. Without branches, so that it is vectorised. */
    #define PEAKS_LINE(NAME, MASK_T) \
    PEAKS_CLONES \
    static void NAME(const float *restrict image, const float *restrict variance, \
                     const MASK_T *restrict mask, unsigned int bits, \
                     const float *restrict top, const float *restrict bottom, float fy, \
                     float *restrict line, float *restrict var_line, Py_ssize_t n) \
    { \
        Py_ssize_t i; \
        for (i = 0; i < n; i++) { \
            const int bad = (mask[i] & bits) != 0; \
            const float background = top[i] * (1.0 - fy) + bottom[i] * fy; \
            line[i] = bad ? 0.0f : image[i] - background; \
            var_line[i] = bad ? 0.0f : variance[i]; \
        } \
    }
    PEAKS_LINE(peaks_line_u8, unsigned char)
    PEAKS_LINE(peaks_line_u32, unsigned int)

    /* variance[i] = smooth[i] / sqrt(power variance[i]): the significance, in place. */
    PEAKS_CLONES
    static void peaks_significance(const float *restrict smooth, float *restrict variance,
                                   float power, Py_ssize_t n)
    {
        Py_ssize_t i;
        for (i = 0; i < n; i++)
            variance[i] = smooth[i] / sqrtf(power * variance[i]);
    }

    /* Whether any of values[:n] is >= threshold (NaN is not). */
    PEAKS_CLONES
    static int peaks_any_at_least(const float *restrict values, float threshold, Py_ssize_t n)
    {
        Py_ssize_t i;
        int any = 0;
        for (i = 0; i < n; i++)
            any |= values[i] >= threshold;
        return any;
    }
    """
    void _accumulate "peaks_accumulate" (float *acc, const float **sources, const float *weights,
                                         Py_ssize_t count, Py_ssize_t n) noexcept nogil
    void _line_u8 "peaks_line_u8" (const float *image, const float *variance,
                                   const unsigned char *mask, unsigned int bits, const float *top,
                                   const float *bottom, float fy, float *line, float *var_line,
                                   Py_ssize_t n) noexcept nogil
    void _line_u32 "peaks_line_u32" (const float *image, const float *variance,
                                     const unsigned int *mask, unsigned int bits, const float *top,
                                     const float *bottom, float fy, float *line, float *var_line,
                                     Py_ssize_t n) noexcept nogil
    void _significance "peaks_significance" (const float *smooth, float *variance, float power,
                                             Py_ssize_t n) noexcept nogil
    bint _any_at_least "peaks_any_at_least" (const float *values, float threshold,
                                             Py_ssize_t n) noexcept nogil


cdef int _strip(const float[:, ::1] image, const float[:, ::1] variance,
                const mask_t[:, ::1] mask, unsigned int bad_bits,
                const float[:, ::1] grid, const int[::1] row_lo, const int[::1] row_hi,
                const float[::1] row_frac, const int[::1] col_lo, const int[::1] col_hi,
                const float[::1] col_frac, const float[::1] kernel, float power,
                float threshold, Py_ssize_t y0, Py_ssize_t y1, Strip *found) noexcept nogil:
    """Find the peaks of rows ``[y0, y1)``; returns -1 when out of memory."""
    cdef Py_ssize_t n_rows = image.shape[0], n_cols = image.shape[1]
    cdef Py_ssize_t half = kernel.shape[0] // 2
    # Rows of significance needed: the strip and the local-maximum margin;
    # rows of row-smoothed planes: those plus the kernel margin.
    cdef Py_ssize_t s0 = y0 - MAX_HALF if y0 >= MAX_HALF else 0
    cdef Py_ssize_t s1 = y1 + MAX_HALF if y1 + MAX_HALF <= n_rows else n_rows
    cdef Py_ssize_t h0 = s0 - half if s0 >= half else 0
    cdef Py_ssize_t h1 = s1 + half if s1 + half <= n_rows else n_rows
    cdef Py_ssize_t width = n_cols + 2 * half
    cdef float *line = <float *> malloc(width * sizeof(float))
    cdef float *var_line = <float *> malloc(width * sizeof(float))
    cdef float *top = <float *> malloc(n_cols * sizeof(float))
    cdef float *bottom = <float *> malloc(n_cols * sizeof(float))
    cdef Py_ssize_t node_lo = -1, node_hi = -1, c0, block
    cdef float *rows_image = <float *> malloc((h1 - h0) * n_cols * sizeof(float))
    cdef float *rows_variance = <float *> malloc((h1 - h0) * n_cols * sizeof(float))
    cdef float *smooth = <float *> malloc((s1 - s0) * n_cols * sizeof(float))
    cdef float *snr = <float *> malloc((s1 - s0) * n_cols * sizeof(float))
    cdef const float **sources = <const float **> malloc((2 * half + 1) * sizeof(float *))
    cdef const float **var_sources = <const float **> malloc((2 * half + 1) * sizeof(float *))
    cdef float *weights = <float *> malloc((2 * half + 1) * sizeof(float))
    cdef Py_ssize_t used
    cdef float *acc
    cdef float *acc_var
    cdef Py_ssize_t r, c, k, source
    cdef float weight
    cdef int status = 0
    if (line == NULL or var_line == NULL or top == NULL or bottom == NULL or rows_image == NULL
            or rows_variance == NULL or smooth == NULL or snr == NULL or sources == NULL
            or var_sources == NULL or weights == NULL):
        status = -1
    else:
        # Row pass.
        for r in range(h0, h1):
            if row_lo[r] != node_lo or row_hi[r] != node_hi:
                node_lo, node_hi = row_lo[r], row_hi[r]
                _background_rows(grid, node_lo, node_hi, col_lo, col_hi, col_frac, top, bottom)
            for c in range(half):
                line[c] = 0
                line[half + n_cols + c] = 0
            if mask_t is cython.uchar:
                _line_u8(&image[r, 0], &variance[r, 0], &mask[r, 0], bad_bits, top, bottom,
                         row_frac[r], line + half, var_line + half, n_cols)
            else:
                _line_u32(&image[r, 0], &variance[r, 0], &mask[r, 0], bad_bits, top, bottom,
                          row_frac[r], line + half, var_line + half, n_cols)
            for c in range(half):
                var_line[c] = var_line[half]
                var_line[half + n_cols + c] = var_line[half + n_cols - 1]
            acc = rows_image + (r - h0) * n_cols
            acc_var = rows_variance + (r - h0) * n_cols
            weight = kernel[0]
            for c in range(n_cols):
                acc[c] = weight * line[c]
                acc_var[c] = weight * var_line[c]
            for k in range(1, 2 * half + 1):
                sources[k - 1] = line + k
                var_sources[k - 1] = var_line + k
            _accumulate(acc, sources, &kernel[1], 2 * half, n_cols)
            _accumulate(acc_var, var_sources, &kernel[1], 2 * half, n_cols)
        # Column pass and significance, a block of columns at a time: the 2 half + 1
        # source rows of consecutive output rows are mostly the same, and a block's
        # stay in cache (whole rows of a 4k image do not).
        c0 = 0
        while c0 < n_cols:
            block = min(<Py_ssize_t> COLUMN_BLOCK, n_cols - c0)
            for r in range(s0, s1):
                acc = smooth + (r - s0) * n_cols + c0
                acc_var = snr + (r - s0) * n_cols + c0
                for c in range(block):
                    acc[c] = 0
                    acc_var[c] = 0
                used = 0
                for k in range(2 * half + 1):
                    source = r + k - half
                    if 0 <= source < n_rows:
                        sources[used] = rows_image + (source - h0) * n_cols + c0
                        weights[used] = kernel[k]
                        used += 1
                    var_sources[k] = rows_variance + (_clamp(source, n_rows) - h0) * n_cols + c0
                _accumulate(acc, sources, weights, used, block)
                _accumulate(acc_var, var_sources, &kernel[0], 2 * half + 1, block)
                _significance(acc, acc_var, power, block)
            c0 += block
        # Local maxima of the significance, in the blocks of a row that reach the threshold.
        for r in range(y0, y1):
            c0 = 0
            while c0 < n_cols and status == 0:
                block = min(<Py_ssize_t> SCAN_BLOCK, n_cols - c0)
                if _any_at_least(snr + (r - s0) * n_cols + c0, threshold, block):
                    status = _block_peaks(mask, bad_bits, smooth, snr, n_rows, n_cols, threshold,
                                          r, s0, c0, c0 + block, found)
                c0 += block
            if status < 0:
                break
    free(line)
    free(var_line)
    free(top)
    free(bottom)
    free(rows_image)
    free(rows_variance)
    free(smooth)
    free(snr)
    free(sources)
    free(var_sources)
    free(weights)
    return status


cdef int _block_peaks(const mask_t[:, ::1] mask, unsigned int bad_bits, const float *smooth,
                      const float *snr, Py_ssize_t n_rows, Py_ssize_t n_cols, float threshold,
                      Py_ssize_t r, Py_ssize_t s0, Py_ssize_t c0, Py_ssize_t c1,
                      Strip *found) noexcept nogil:
    """Append the peaks of row ``r``, columns ``[c0, c1)``, to ``found``; -1 when out of memory.

    A usable pixel is a peak when its significance reaches the threshold and
    no pixel of its 5 x 5 neighbourhood is more significant (zero outside the
    image). ``smooth`` and ``snr`` hold the strip's rows from ``s0``.
    """
    cdef Py_ssize_t c, i, j
    cdef float v
    cdef bint is_peak
    for c in range(c0, c1):
        v = snr[(r - s0) * n_cols + c]
        if not v >= threshold or mask[r, c] & bad_bits:
            continue
        is_peak = True
        for i in range(r - MAX_HALF, r + MAX_HALF + 1):
            if not is_peak:
                break
            for j in range(c - MAX_HALF, c + MAX_HALF + 1):
                if 0 <= i < n_rows and 0 <= j < n_cols:
                    if snr[(i - s0) * n_cols + j] > v:
                        is_peak = False
                        break
                elif v < 0:
                    is_peak = False
                    break
        if not is_peak:
            continue
        if found.count == found.capacity:
            if _grow(found) < 0:
                return -1
        found.row[found.count] = <int> r
        found.col[found.count] = <int> c
        found.value[found.count] = smooth[(r - s0) * n_cols + c]
        found.snr[found.count] = v
        found.count += 1
    return 0


cdef int _grow(Strip *found) noexcept nogil:
    cdef Py_ssize_t capacity = 2 * found.capacity + 64
    cdef int *row = <int *> malloc(capacity * sizeof(int))
    cdef int *col = <int *> malloc(capacity * sizeof(int))
    cdef float *value = <float *> malloc(capacity * sizeof(float))
    cdef float *snr = <float *> malloc(capacity * sizeof(float))
    cdef Py_ssize_t i
    if row == NULL or col == NULL or value == NULL or snr == NULL:
        free(row)
        free(col)
        free(value)
        free(snr)
        return -1
    for i in range(found.count):
        row[i] = found.row[i]
        col[i] = found.col[i]
        value[i] = found.value[i]
        snr[i] = found.snr[i]
    free(found.row)
    free(found.col)
    free(found.value)
    free(found.snr)
    found.row, found.col, found.value, found.snr = row, col, value, snr
    found.capacity = capacity
    return 0


def smoothed_peaks(const float[:, ::1] image, const float[:, ::1] variance,
                   const mask_t[:, ::1] mask, unsigned int bad_bits,
                   const float[:, ::1] grid, const int[::1] row_lo, const int[::1] row_hi,
                   const float[::1] row_frac, const int[::1] col_lo, const int[::1] col_hi,
                   const float[::1] col_frac, const float[::1] kernel, double power,
                   double threshold, Py_ssize_t strip_rows=128):
    """Peaks of the smoothed significance image: ``(row, col, smoothed value, significance)``.

    Arrays in row-major scan order. ``mask & bad_bits`` marks unusable pixels;
    the background at row ``r``, column ``c`` is bilinear between grid nodes
    ``row_lo[r]``/``row_hi[r]`` (fraction ``row_frac[r]``) and
    ``col_lo[c]``/``col_hi[c]`` (fraction ``col_frac[c]``).
    """
    cdef Py_ssize_t n_rows = image.shape[0]
    cdef Py_ssize_t n_strips = (n_rows + strip_rows - 1) // strip_rows
    cdef Strip *strips = <Strip *> malloc(n_strips * sizeof(Strip))
    cdef int[::1] status = np.zeros(n_strips, dtype=np.intc)
    cdef Py_ssize_t s, total = 0, i, offset
    if strips == NULL:
        raise MemoryError("smoothed_peaks: no memory for the strip table")
    for s in range(n_strips):
        strips[s].count = strips[s].capacity = 0
        strips[s].row = strips[s].col = NULL
        strips[s].value = strips[s].snr = NULL
    with nogil:
        for s in prange(n_strips, schedule="dynamic"):
            status[s] = _strip(image, variance, mask, bad_bits, grid, row_lo, row_hi, row_frac,
                               col_lo, col_hi, col_frac, kernel, <float> power,
                               <float> threshold, s * strip_rows,
                               min((s + 1) * strip_rows, n_rows), &strips[s])
    for s in range(n_strips):
        total += strips[s].count
    rows = np.empty(total, dtype=np.intp)
    cols = np.empty(total, dtype=np.intp)
    values = np.empty(total, dtype=np.float32)
    snrs = np.empty(total, dtype=np.float32)
    cdef Py_ssize_t[::1] rows_view = rows, cols_view = cols
    cdef float[::1] values_view = values, snrs_view = snrs
    offset = 0
    for s in range(n_strips):
        for i in range(strips[s].count):
            rows_view[offset] = strips[s].row[i]
            cols_view[offset] = strips[s].col[i]
            values_view[offset] = strips[s].value[i]
            snrs_view[offset] = strips[s].snr[i]
            offset += 1
        free(strips[s].row)
        free(strips[s].col)
        free(strips[s].value)
        free(strips[s].snr)
    free(strips)
    if np.any(np.asarray(status) < 0):
        raise MemoryError("smoothed_peaks: out of memory in a strip buffer")
    return rows, cols, values, snrs
