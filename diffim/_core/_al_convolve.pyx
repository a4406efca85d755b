"""Separable, spatially varying convolution: the inner loops of ``diffim.psfmatch``.

Private module; call it through `diffim.psfmatch.convolve`, which checks
arguments, pads the input and prepares the coefficient tables.

Convention (true convolution, as ``scipy.signal.convolve2d``): with kernel
taps indexed ``j = offset + h`` and ``K = 2 h + 1``, a separable term
``X (x) Y`` maps a padded input ``P`` (``P[r, c] = I[r - h, c - h]``) to

    out[y, x] = sum_{i, j} X[i] Y[j] P[y + K - 1 - j, x + K - 1 - i].

The image is cut into tiles of ``block_rows x block_cols`` output pixels. For
each tile the x pass runs once per distinct x vector over the tile's rows plus
the ``K - 1`` halo rows, the y pass once per pair; the buffers of a tile stay
in cache and memory is independent of the number of pairs. Tiles are shared
among OpenMP threads.

The spatial weight of pair ``p`` is ``sum_s coeffs[p, s] F_s(x, y)``, with
``F_s = T_{x_powers[s]}(x') T_{y_powers[s]}(y')`` (Chebyshev polynomials of the
first kind when ``chebyshev`` is 1, plain powers otherwise) of the scaled
parent coordinates ``x' = (x - x_offset) * x_scale``.
"""
from cython.parallel cimport parallel, prange

cdef extern from *:
    """
    /* The tap loops are compiled twice, for AVX2+FMA and for the baseline ISA,
       and the loader picks one at run time: the wheel stays portable while
       machines that have FMA use it (about 2x faster here). */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define AL_CLONES __attribute__((target_clones("arch=haswell", "default")))
    #else
    #define AL_CLONES
    #endif

    /* dst[c] = sum_i taps[i] * src[c - i * step], c < n. The column loop is
       innermost so that it vectorises; dst (one tile row) stays in L1. */
    #define AL_TAPS_BODY(SRC_T)                                                     \
        for (Py_ssize_t c = 0; c < n; c++) dst[c] = 0.0;                            \
        for (Py_ssize_t i = 0; i < n_taps; i++) {                                   \
            const double w = taps[i];                                               \
            const SRC_T *restrict s = src - i * step;                               \
            for (Py_ssize_t c = 0; c < n; c++) dst[c] += w * (double)s[c];          \
        }

    AL_CLONES static void al_taps_float(double *restrict dst, const float *restrict src,
                                        Py_ssize_t step, const double *restrict taps,
                                        Py_ssize_t n_taps, Py_ssize_t n) {
        AL_TAPS_BODY(float)
    }

    AL_CLONES static void al_taps_double(double *restrict dst, const double *restrict src,
                                         Py_ssize_t step, const double *restrict taps,
                                         Py_ssize_t n_taps, Py_ssize_t n) {
        AL_TAPS_BODY(double)
    }

    /* dst[c] += w * a[c] * b[c] (b may be NULL for dst += w * a) */
    AL_CLONES static void al_axpy(double *restrict dst, const double *restrict a,
                                  const double *restrict b, double w, Py_ssize_t n) {
        if (b == NULL) { for (Py_ssize_t c = 0; c < n; c++) dst[c] += w * a[c]; }
        else { for (Py_ssize_t c = 0; c < n; c++) dst[c] += w * a[c] * b[c]; }
    }
    """
    void al_taps_float(double* dst, const float* src, Py_ssize_t step, const double* taps,
                       Py_ssize_t n_taps, Py_ssize_t n) noexcept nogil
    void al_taps_double(double* dst, const double* src, Py_ssize_t step, const double* taps,
                        Py_ssize_t n_taps, Py_ssize_t n) noexcept nogil
    void al_axpy(double* dst, const double* a, const double* b, double w,
                 Py_ssize_t n) noexcept nogil
from libc.stdlib cimport free, malloc
from libc.string cimport memset

import numpy as np


cdef inline void _basis_values(double t, int order, int chebyshev, double* out) noexcept nogil:
    cdef int k
    out[0] = 1.0
    if order >= 1:
        out[1] = t
    for k in range(2, order + 1):
        if chebyshev:
            out[k] = 2.0 * t * out[k - 1] - out[k - 2]
        else:
            out[k] = t * out[k - 1]


def stamp_pair_convolutions(const double[:, :, ::1] stamps, const double[:, ::1] x_vectors,
                            const double[:, ::1] y_vectors, const Py_ssize_t[:, ::1] pairs,
                            double[:, :, :, ::1] out):
    """Convolve each stamp with every separable pair, keeping only full-overlap pixels.

    ``stamps`` is ``(n, S, S)``; ``out`` is ``(n, n_pairs, S - K + 1, S - K + 1)``.
    """
    cdef Py_ssize_t n_stamps = stamps.shape[0]
    cdef Py_ssize_t size = stamps.shape[1]
    cdef Py_ssize_t ksize = x_vectors.shape[1]
    cdef Py_ssize_t n_x = x_vectors.shape[0]
    cdef Py_ssize_t n_pairs = pairs.shape[0]
    cdef Py_ssize_t fit = size - ksize + 1
    cdef Py_ssize_t s, r, c, i, q, p, xi
    cdef double* x_pass = NULL
    cdef double total, weight
    with nogil, parallel():
        x_pass = <double*> malloc(n_x * size * fit * sizeof(double))
        for s in prange(n_stamps, schedule="dynamic"):
            for xi in range(n_x):
                for r in range(size):
                    for c in range(fit):
                        total = 0.0
                        for i in range(ksize):
                            total = total + x_vectors[xi, i] * stamps[s, r, c + ksize - 1 - i]
                        x_pass[(xi * size + r) * fit + c] = total
            for p in range(n_pairs):
                xi = pairs[p, 0]
                for r in range(fit):
                    for c in range(fit):
                        out[s, p, r, c] = 0.0
                    for q in range(ksize):
                        weight = y_vectors[pairs[p, 1], q]
                        for c in range(fit):
                            out[s, p, r, c] += weight * x_pass[(xi * size + r + ksize - 1 - q) * fit + c]
        free(x_pass)


def convolve_spatial(const float[:, ::1] padded, float[:, ::1] out,
                     const double[:, ::1] x_vectors, const double[:, ::1] y_vectors,
                     const Py_ssize_t[:, ::1] pairs, const double[:, ::1] coeffs,
                     const Py_ssize_t[::1] x_powers, const Py_ssize_t[::1] y_powers,
                     int chebyshev, double x_offset, double x_scale, double y_offset,
                     double y_scale, Py_ssize_t x0, Py_ssize_t y0,
                     const double[:, ::1] gain, int use_gain,
                     Py_ssize_t block_rows, Py_ssize_t block_cols):
    """``out = gain(x, y) * sum_p alpha_p(x, y) * (P (x) X[p] (x) Y[p])`` (see module doc).

    ``out`` is ``(H, W)``, ``padded`` ``(H + K - 1, W + K - 1)``; ``(x0, y0)``
    is the parent position of ``out[0, 0]``. ``gain`` is a symmetric
    ``(n_terms, n_terms)`` matrix, used when ``use_gain``:
    ``gain(x, y) = sum_{s, t} gain[s, t] F_s F_t``.
    """
    cdef Py_ssize_t height = out.shape[0]
    cdef Py_ssize_t width = out.shape[1]
    cdef Py_ssize_t ksize = x_vectors.shape[1]
    cdef Py_ssize_t n_x = x_vectors.shape[0]
    cdef Py_ssize_t n_pairs = pairs.shape[0]
    cdef Py_ssize_t n_terms = coeffs.shape[1]
    cdef Py_ssize_t tiles_x = (width + block_cols - 1) // block_cols
    cdef Py_ssize_t n_tiles = ((height + block_rows - 1) // block_rows) * tiles_x
    cdef Py_ssize_t buffer_rows = block_rows + ksize - 1
    cdef int order = 0
    cdef Py_ssize_t s, t
    for s in range(n_terms):
        order = max(order, <int> x_powers[s], <int> y_powers[s])
    cdef Py_ssize_t n_orders = order + 1

    cdef Py_ssize_t tile, row0, col0, rows, cols, r, c, p, k, xi
    cdef double* x_pass = NULL
    cdef double* acc = NULL
    cdef double* partial = NULL
    cdef double* x_table = NULL
    cdef double* y_table = NULL
    cdef double* beta = NULL
    cdef double* terms = NULL
    cdef double* gain_row = NULL
    cdef double* row_out = NULL

    with nogil, parallel():
        x_pass = <double*> malloc(n_x * buffer_rows * block_cols * sizeof(double))
        acc = <double*> malloc(block_cols * sizeof(double))
        partial = <double*> malloc(n_orders * block_cols * sizeof(double))
        x_table = <double*> malloc(n_orders * block_cols * sizeof(double))
        y_table = <double*> malloc(n_orders * sizeof(double))
        beta = <double*> malloc(n_pairs * n_orders * sizeof(double))
        terms = <double*> malloc(max(n_terms, n_orders) * sizeof(double))
        gain_row = <double*> malloc(n_orders * n_orders * sizeof(double))
        row_out = <double*> malloc(block_cols * sizeof(double))
        for tile in prange(n_tiles, schedule="dynamic"):
            row0 = (tile // tiles_x) * block_rows
            col0 = (tile % tiles_x) * block_cols
            rows = min(block_rows, height - row0)
            cols = min(block_cols, width - col0)
            # x pass: one row of the tile buffer per padded input row and x vector.
            for xi in range(n_x):
                for r in range(rows + ksize - 1):
                    al_taps_float(x_pass + (xi * buffer_rows + r) * block_cols,
                                  &padded[row0 + r, col0 + ksize - 1], 1, &x_vectors[xi, 0],
                                  ksize, cols)
            for c in range(cols):
                _basis_values((x0 + col0 + c - x_offset) * x_scale, order, chebyshev, terms)
                for k in range(n_orders):
                    x_table[k * block_cols + c] = terms[k]
            for r in range(rows):
                _basis_values((y0 + row0 + r - y_offset) * y_scale, order, chebyshev, y_table)
                # Collapse the y dependence of the spatial weights for this row.
                for p in range(n_pairs):
                    for k in range(n_orders):
                        beta[p * n_orders + k] = 0.0
                    for s in range(n_terms):
                        beta[p * n_orders + x_powers[s]] += coeffs[p, s] * y_table[y_powers[s]]
                memset(partial, 0, n_orders * block_cols * sizeof(double))
                for p in range(n_pairs):
                    al_taps_double(acc, x_pass + (pairs[p, 0] * buffer_rows + r + ksize - 1)
                                   * block_cols, block_cols, &y_vectors[pairs[p, 1], 0], ksize,
                                   cols)
                    for k in range(n_orders):
                        al_axpy(partial + k * block_cols, acc, NULL, beta[p * n_orders + k], cols)
                memset(row_out, 0, cols * sizeof(double))
                for k in range(n_orders):
                    al_axpy(row_out, partial + k * block_cols, x_table + k * block_cols, 1.0, cols)
                if use_gain:
                    # gain(x, y) restricted to this row: a quadratic form in the x functions.
                    for k in range(n_orders * n_orders):
                        gain_row[k] = 0.0
                    for s in range(n_terms):
                        for t in range(n_terms):
                            gain_row[x_powers[s] * n_orders + x_powers[t]] += (
                                gain[s, t] * y_table[y_powers[s]] * y_table[y_powers[t]])
                    memset(acc, 0, cols * sizeof(double))
                    for k in range(n_orders):
                        for p in range(n_orders):
                            al_axpy(acc, x_table + k * block_cols, x_table + p * block_cols,
                                    gain_row[k * n_orders + p], cols)
                    for c in range(cols):
                        row_out[c] = row_out[c] * acc[c]
                for c in range(cols):
                    out[row0 + r, col0 + c] = <float> row_out[c]
        free(x_pass)
        free(acc)
        free(partial)
        free(x_table)
        free(y_table)
        free(beta)
        free(terms)
        free(gain_row)
        free(row_out)


def dilate_mask(const unsigned int[:, ::1] padded, unsigned int[:, ::1] out,
                Py_ssize_t ksize):
    """``out[y, x]`` = OR of ``padded[y:y + ksize, x:x + ksize]``.

    Van Herk's block prefix/suffix scheme makes the cost three operations per
    pixel and direction whatever ``ksize``: a window of ``ksize`` samples
    spans at most two blocks of ``ksize``, so it is the suffix-OR of the first
    block joined with the prefix-OR of the second.
    """
    cdef Py_ssize_t height = out.shape[0]
    cdef Py_ssize_t width = out.shape[1]
    cdef Py_ssize_t in_rows = padded.shape[0]
    cdef Py_ssize_t in_cols = padded.shape[1]
    cdef Py_ssize_t strip = 64
    cdef Py_ssize_t n_strips = (width + strip - 1) // strip
    cdef Py_ssize_t r, c, n, col0, cols
    cdef Py_ssize_t scratch = max(in_cols, in_rows * strip)
    cdef unsigned int* prefix = NULL
    cdef unsigned int* suffix = NULL
    cdef unsigned int[:, ::1] across = np.zeros((in_rows, width), dtype=np.uint32)
    with nogil, parallel():
        prefix = <unsigned int*> malloc(scratch * sizeof(unsigned int))
        suffix = <unsigned int*> malloc(scratch * sizeof(unsigned int))
        for r in prange(in_rows, schedule="static"):
            for c in range(in_cols):
                if c % ksize == 0:
                    prefix[c] = padded[r, c]
                else:
                    prefix[c] = prefix[c - 1] | padded[r, c]
            for n in range(in_cols):
                c = in_cols - 1 - n
                if c % ksize == ksize - 1 or c == in_cols - 1:
                    suffix[c] = padded[r, c]
                else:
                    suffix[c] = suffix[c + 1] | padded[r, c]
            for c in range(width):
                across[r, c] = suffix[c] | prefix[c + ksize - 1]
        free(prefix)
        free(suffix)
    with nogil, parallel():
        prefix = <unsigned int*> malloc(scratch * sizeof(unsigned int))
        suffix = <unsigned int*> malloc(scratch * sizeof(unsigned int))
        for n in prange(n_strips, schedule="static"):
            col0 = n * strip
            cols = min(strip, width - col0)
            for r in range(in_rows):
                for c in range(cols):
                    if r % ksize == 0:
                        prefix[r * strip + c] = across[r, col0 + c]
                    else:
                        prefix[r * strip + c] = prefix[(r - 1) * strip + c] | across[r, col0 + c]
            for r in range(in_rows - 1, -1, -1):
                for c in range(cols):
                    if r % ksize == ksize - 1 or r == in_rows - 1:
                        suffix[r * strip + c] = across[r, col0 + c]
                    else:
                        suffix[r * strip + c] = suffix[(r + 1) * strip + c] | across[r, col0 + c]
            for r in range(height):
                for c in range(cols):
                    out[r, col0 + c] = suffix[r * strip + c] | prefix[(r + ksize - 1) * strip + c]
        free(prefix)
        free(suffix)
