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
from libc.math cimport sqrtf
from libc.stdlib cimport free, malloc

import numpy as np

cdef enum:
    MAX_HALF = 2  # half-width of the local-maximum window (5 x 5)

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


cdef void _background_row(const float[:, ::1] grid, Py_ssize_t r, const int[::1] row_lo,
                          const int[::1] row_hi, const float[::1] row_frac,
                          const int[::1] col_lo, const int[::1] col_hi,
                          const float[::1] col_frac, float *out) noexcept nogil:
    """One row of the bilinear background, in the float32 operation order of
    `diffim.image.background.BackgroundGrid.image`."""
    cdef Py_ssize_t c
    cdef float fy = row_frac[r], fx, top, bottom
    cdef Py_ssize_t lo = row_lo[r], hi = row_hi[r]
    for c in range(col_lo.shape[0]):
        fx = col_frac[c]
        top = grid[lo, col_lo[c]] * (1 - fx) + grid[lo, col_hi[c]] * fx
        bottom = grid[hi, col_lo[c]] * (1 - fx) + grid[hi, col_hi[c]] * fx
        out[c] = top * (1 - fy) + bottom * fy


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
    """
    void _accumulate "peaks_accumulate" (float *acc, const float **sources, const float *weights,
                                         Py_ssize_t count, Py_ssize_t n) noexcept nogil


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
    cdef float *background = <float *> malloc(n_cols * sizeof(float))
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
    cdef Py_ssize_t r, c, k, i, j, source
    cdef float weight, v, noise
    cdef bint is_peak
    cdef int status = 0
    if (line == NULL or var_line == NULL or background == NULL or rows_image == NULL
            or rows_variance == NULL or smooth == NULL or snr == NULL or sources == NULL
            or var_sources == NULL or weights == NULL):
        status = -1
    else:
        # Row pass.
        for r in range(h0, h1):
            _background_row(grid, r, row_lo, row_hi, row_frac, col_lo, col_hi, col_frac,
                            background)
            for c in range(half):
                line[c] = 0
                line[half + n_cols + c] = 0
            for c in range(n_cols):
                if mask[r, c] & bad_bits:
                    line[half + c] = 0
                    var_line[half + c] = 0
                else:
                    line[half + c] = image[r, c] - background[c]
                    var_line[half + c] = variance[r, c]
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
        # Column pass and significance.
        for r in range(s0, s1):
            acc = smooth + (r - s0) * n_cols
            acc_var = snr + (r - s0) * n_cols
            for c in range(n_cols):
                acc[c] = 0
                acc_var[c] = 0
            used = 0
            for k in range(2 * half + 1):
                source = r + k - half
                if 0 <= source < n_rows:
                    sources[used] = rows_image + (source - h0) * n_cols
                    weights[used] = kernel[k]
                    used += 1
                var_sources[k] = rows_variance + (_clamp(source, n_rows) - h0) * n_cols
            _accumulate(acc, sources, weights, used, n_cols)
            _accumulate(acc_var, var_sources, &kernel[0], 2 * half + 1, n_cols)
            for c in range(n_cols):
                acc_var[c] = acc[c] / sqrtf(power * acc_var[c])
        # Local maxima of the significance.
        for r in range(y0, y1):
            for c in range(n_cols):
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
                        status = -1
                        break
                found.row[found.count] = <int> r
                found.col[found.count] = <int> c
                found.value[found.count] = smooth[(r - s0) * n_cols + c]
                found.snr[found.count] = v
                found.count += 1
            if status < 0:
                break
    free(line)
    free(var_line)
    free(background)
    free(rows_image)
    free(rows_variance)
    free(smooth)
    free(snr)
    free(sources)
    free(var_sources)
    free(weights)
    return status


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
