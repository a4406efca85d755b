"""Separable, spatially varying convolution: the inner loops of ``diffim.psfmatch``.

Private module; call it through `diffim.psfmatch.convolve`, which checks
arguments and prepares the coefficient tables.

Convention (true convolution, as ``scipy.signal.convolve2d``): with kernel
taps indexed ``j = offset + h`` and ``K = 2 h + 1``, a separable term
``X (x) Y`` maps an image ``I``, extended beyond its border by its nearest
edge pixel, to

    out[y, x] = sum_{i, j} X[i] Y[j] I[y + h - j, x + h - i].

The spatial weight of pair ``p`` is ``sum_s coeffs[p, s] F_s(x, y)``, with
``F_s = T_{x_powers[s]}(x') T_{y_powers[s]}(y')`` (Chebyshev polynomials of the
first kind when ``chebyshev`` is 1, plain powers otherwise) of the scaled
parent coordinates ``x' = (x - x_offset) * x_scale``. Grouping the pairs by x
vector and the spatial terms by x power ``k``,

    out[y, x] = sum_k T_k(x') sum_{xi, j} W[k, xi, j](y) (I (x) X[xi])[y + h - j, x],

    W[k, xi, j](y) = sum_{p: pairs[p, 0] = xi} beta[p, k](y) Y[pairs[p, 1], j],

with ``beta[p, k](y)`` the y factor of the terms of x power ``k``. So each
image row is filtered once per distinct x vector (the x pass), and each
output row is one weighted sum of ``n_x * K`` filtered rows per x power (the
y pass), whose weights are recomputed for every row.

The image is cut into vertical strips of ``block_cols`` columns and
``block_rows`` rows, shared among OpenMP threads. A strip is walked top to
bottom: the x-filtered rows live in a ring of ``K`` rows per x vector, so
each input row is x-filtered once and the ring (``n_x * K * block_cols``
floats) stays in L2. Sums are accumulated in float32, weights are rounded
to float32 once.
"""
from cython.parallel cimport parallel, prange

cdef extern from *:
    """
    #include <stdlib.h>
    #include <string.h>

    /* The filter loops are compiled for AVX-512, AVX2+FMA and the baseline
       ISA; the loader picks one at run time, so the wheel stays portable
       while machines that have FMA use it. */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define AL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=haswell", "default")))
    #else
    #define AL_CLONES
    #endif

    /* Eight floats; al_vfu is the same vector at any float alignment. */
    typedef float al_vf __attribute__((vector_size(32)));
    typedef float al_vfu __attribute__((vector_size(32), aligned(4)));
    #define AL_LANES 8
    /* Columns per register block: four vectors, so that each broadcast
       weight feeds four FMAs and each loaded vector up to three. */
    #define AL_BLOCK 32

    static void *al_alloc(size_t bytes) {
        void *pointer = NULL;
        /* 64-byte aligned and rounded up to whole cache lines */
        if (posix_memalign(&pointer, 64, (bytes + 63) & ~(size_t)63) != 0) return NULL;
        return pointer;
    }

    /* dst[c] = sum_{first <= i < last} taps[i] * src[c + n_taps - 1 - i] for
       c < n (a multiple of AL_BLOCK). dst is aligned; src need not be. */
    AL_CLONES static void al_x_pass(float *restrict dst, const float *restrict src,
                                    const float *restrict taps, int n_taps, int first,
                                    int last, Py_ssize_t n) {
        for (Py_ssize_t c = 0; c < n; c += AL_BLOCK) {
            al_vf a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
            for (int i = first; i < last; i++) {
                const float *s = src + c + n_taps - 1 - i;
                const float w = taps[i];
                a0 += w * *(const al_vfu *)(s);
                a1 += w * *(const al_vfu *)(s + AL_LANES);
                a2 += w * *(const al_vfu *)(s + 2 * AL_LANES);
                a3 += w * *(const al_vfu *)(s + 3 * AL_LANES);
            }
            *(al_vf *)(dst + c) = a0;
            *(al_vf *)(dst + c + AL_LANES) = a1;
            *(al_vf *)(dst + c + 2 * AL_LANES) = a2;
            *(al_vf *)(dst + c + 3 * AL_LANES) = a3;
        }
    }

    /* One register block of the y pass for NK x powers at once: every loaded
       vector of a filtered row feeds NK accumulators. */
    #define AL_Y_BODY(NK)                                                          \
        for (Py_ssize_t c = 0; c < n; c += AL_BLOCK) {                             \
            al_vf a[NK][4];                                                        \
            for (int k = 0; k < NK; k++)                                           \
                for (int v = 0; v < 4; v++) a[k][v] = (al_vf){0};                  \
            for (Py_ssize_t m = 0; m < n_rows; m++) {                              \
                const al_vf *s = (const al_vf *)(rows[m] + c);                     \
                const float *w = weights + m * w_stride;                           \
                for (int v = 0; v < 4; v++) {                                      \
                    const al_vf x = s[v];                                          \
                    for (int k = 0; k < NK; k++) a[k][v] += w[k] * x;              \
                }                                                                  \
            }                                                                      \
            for (int k = 0; k < NK; k++)                                           \
                for (int v = 0; v < 4; v++)                                        \
                    *(al_vf *)(out + k * out_stride + c + v * AL_LANES) = a[k][v]; \
        }

    /* out[k * out_stride + c] = sum_m weights[m * w_stride + k] * rows[m][c]
       for k < n_k (1 to 3) and c < n (a multiple of AL_BLOCK); rows and out
       are aligned. */
    AL_CLONES static void al_y_pass(float *restrict out, Py_ssize_t out_stride,
                                    const float *const *restrict rows,
                                    const float *restrict weights, Py_ssize_t w_stride,
                                    Py_ssize_t n_rows, int n_k, Py_ssize_t n) {
        switch (n_k) {
        case 1: AL_Y_BODY(1) break;
        case 2: AL_Y_BODY(2) break;
        default: AL_Y_BODY(3) break;
        }
    }

    /* out[i] = sum_l poly[l * n + i] * at[l] for i < n, summed in double in
       scratch: the y pass weights of one row from their polynomials in y. */
    AL_CLONES static void al_row_weights(float *restrict out, double *restrict scratch,
                                         const double *restrict poly,
                                         const double *restrict at, int n_poly,
                                         Py_ssize_t n) {
        for (Py_ssize_t i = 0; i < n; i++) scratch[i] = poly[i] * at[0];
        for (int l = 1; l < n_poly; l++)
            for (Py_ssize_t i = 0; i < n; i++) scratch[i] += poly[l * n + i] * at[l];
        for (Py_ssize_t i = 0; i < n; i++) out[i] = (float)scratch[i];
    }

    /* out[c] = (sum_k x_table[k][c] y_out[k][c]) * sum_g gain_weights[g] gain_table[g][c]
       for c < n (tables of row stride `stride`, x_table[0] = 1), the gain
       factor only when n_gain > 0; negative results set to 0 when clamp. */
    AL_CLONES static void al_finish_row(float *restrict out, const float *restrict y_out,
                                        const float *restrict x_table, Py_ssize_t stride,
                                        int n_k, const float *restrict gain_table,
                                        const float *restrict gain_weights, int n_gain,
                                        float *restrict scratch, int clamp, Py_ssize_t n) {
        for (Py_ssize_t c = 0; c < n; c++) out[c] = y_out[c];
        for (int k = 1; k < n_k; k++)
            for (Py_ssize_t c = 0; c < n; c++)
                out[c] += x_table[k * stride + c] * y_out[k * stride + c];
        if (n_gain > 0) {
            for (Py_ssize_t c = 0; c < n; c++) scratch[c] = 0.0f;
            for (int g = 0; g < n_gain; g++)
                for (Py_ssize_t c = 0; c < n; c++)
                    scratch[c] += gain_weights[g] * gain_table[g * stride + c];
            for (Py_ssize_t c = 0; c < n; c++) out[c] *= scratch[c];
        }
        if (clamp)
            for (Py_ssize_t c = 0; c < n; c++) out[c] = out[c] > 0.0f ? out[c] : 0.0f;
    }
    """
    void* al_alloc(size_t bytes) noexcept nogil
    void al_x_pass(float* dst, const float* src, const float* taps, int n_taps, int first,
                   int last, Py_ssize_t n) noexcept nogil
    void al_y_pass(float* out, Py_ssize_t out_stride, const float** rows, const float* weights,
                   Py_ssize_t w_stride, Py_ssize_t n_rows, int n_k, Py_ssize_t n) noexcept nogil
    void al_row_weights(float* out, double* scratch, const double* poly, const double* at,
                        int n_poly, Py_ssize_t n) noexcept nogil
    void al_finish_row(float* out, const float* y_out, const float* x_table, Py_ssize_t stride,
                       int n_k, const float* gain_table, const float* gain_weights, int n_gain,
                       float* scratch, int clamp, Py_ssize_t n) noexcept nogil
    int AL_BLOCK
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

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

def convolve_spatial(const float[:, ::1] image, float[:, ::1] out,
                     const double[:, ::1] x_vectors, const double[:, ::1] y_vectors,
                     const Py_ssize_t[:, ::1] pairs, const double[:, ::1] coeffs,
                     const Py_ssize_t[::1] x_powers, const Py_ssize_t[::1] y_powers,
                     int chebyshev, double x_offset, double x_scale, double y_offset,
                     double y_scale, Py_ssize_t x0, Py_ssize_t y0,
                     const double[:, ::1] gain, int use_gain, int non_negative,
                     Py_ssize_t block_rows, Py_ssize_t block_cols):
    """``out = gain(x, y) * sum_p alpha_p(x, y) * (I (x) X[p] (x) Y[p])`` (see module doc).

    ``image`` and ``out`` are ``(H, W)``; ``(x0, y0)`` is the parent position
    of ``out[0, 0]``. ``gain`` is a symmetric ``(n_terms, n_terms)`` matrix,
    used when ``use_gain``: ``gain(x, y) = sum_{s, t} gain[s, t] F_s F_t``.
    Negative outputs are set to 0 when ``non_negative``.
    """
    cdef Py_ssize_t height = out.shape[0]
    cdef Py_ssize_t width = out.shape[1]
    cdef Py_ssize_t ksize = x_vectors.shape[1]
    cdef Py_ssize_t half = ksize // 2
    cdef Py_ssize_t n_x = x_vectors.shape[0]
    cdef Py_ssize_t n_terms = coeffs.shape[1]
    if image.shape[0] != height or image.shape[1] != width:
        raise ValueError("image and out differ in shape")
    x_power_array, y_power_array = np.asarray(x_powers), np.asarray(y_powers)
    cdef int order = max(int(x_power_array.max()), int(y_power_array.max()))
    cdef Py_ssize_t n_orders = order + 1
    # The y pass only needs the x powers of terms with non-zero coefficients
    # (one, for the spatially constant variance kernel).
    used = np.any(np.asarray(coeffs) != 0.0, axis=0)
    cdef Py_ssize_t n_k = int(np.max(x_power_array[used], initial=0)) + 1
    # weight_poly[l, m, k]: coefficient of T_l(y') in the weight W[k, xi, j]
    # of filtered row m = (xi, j); only rows with a non-zero weight are kept.
    term_powers = np.zeros((n_terms, n_k, n_orders))
    term_powers[np.arange(n_terms)[used], x_power_array[used], y_power_array[used]] = 1.0
    pair_array = np.asarray(pairs)
    per_pair = np.einsum("ps,skl,pj->pjkl", np.asarray(coeffs), term_powers,
                         np.asarray(y_vectors)[pair_array[:, 1]])
    dense = np.zeros((n_x, ksize, n_k, n_orders))
    np.add.at(dense, pair_array[:, 0], per_pair)
    row_x_np, row_j_np = np.nonzero(np.any(dense != 0.0, axis=(2, 3)))
    weight_poly_np = np.ascontiguousarray(dense[row_x_np, row_j_np].transpose(2, 0, 1))
    cdef const double[:, :, ::1] weight_poly = weight_poly_np
    cdef const Py_ssize_t[::1] row_x = np.ascontiguousarray(row_x_np, dtype=np.intp)
    cdef const Py_ssize_t[::1] row_j = np.ascontiguousarray(row_j_np, dtype=np.intp)
    cdef Py_ssize_t n_rows = row_x.shape[0]
    nonzero = np.asarray(x_vectors) != 0.0
    cdef const int[::1] tap_first = np.ascontiguousarray(np.argmax(nonzero, axis=1), np.intc)
    cdef const int[::1] tap_last = np.ascontiguousarray(
        ksize - np.argmax(nonzero[:, ::-1], axis=1), np.intc)
    cdef const float[:, ::1] x_taps = np.ascontiguousarray(x_vectors, dtype=np.float32)
    # The gain is sum_{k <= l} G[k, l](y') T_k(x') T_l(x'); gain_index[s, t]
    # is the (k, l) slot that gain[s, t] contributes to.
    k_index, l_index = np.triu_indices(n_orders)
    slot = np.zeros((n_orders, n_orders), dtype=np.intp)
    slot[k_index, l_index] = slot[l_index, k_index] = np.arange(k_index.size)
    cdef const Py_ssize_t[:, ::1] gain_index = np.ascontiguousarray(
        slot[x_power_array[:, None], x_power_array[None, :]])
    cdef const Py_ssize_t[::1] gain_k = np.ascontiguousarray(k_index, dtype=np.intp)
    cdef const Py_ssize_t[::1] gain_l = np.ascontiguousarray(l_index, dtype=np.intp)
    cdef int n_gain = k_index.size if use_gain else 0

    cdef Py_ssize_t cols_buffer = (block_cols + AL_BLOCK - 1) // AL_BLOCK * AL_BLOCK
    cdef Py_ssize_t src_length = cols_buffer + ksize - 1 + AL_BLOCK
    cdef Py_ssize_t strips_x = (width + block_cols - 1) // block_cols
    cdef Py_ssize_t n_tasks = ((height + block_rows - 1) // block_rows) * strips_x

    cdef Py_ssize_t task, row0, col0, rows, cols, y, q, r, c, k, m, s, t, xi, k0, lo, hi
    cdef float* ring = NULL
    cdef float* src = NULL
    cdef float* y_out = NULL
    cdef float* x_table = NULL
    cdef float* gain_table = NULL
    cdef float* gain_weights = NULL
    cdef float* scratch = NULL
    cdef float* weights = NULL
    cdef const float** row_pointers = NULL
    cdef double* y_table = NULL
    cdef double* weight_scratch = NULL
    cdef const float* image_row

    with nogil, parallel():
        ring = <float*> al_alloc(n_x * ksize * cols_buffer * sizeof(float))
        src = <float*> al_alloc(src_length * sizeof(float))
        y_out = <float*> al_alloc(n_k * cols_buffer * sizeof(float))
        x_table = <float*> al_alloc(n_orders * cols_buffer * sizeof(float))
        gain_table = <float*> al_alloc(max(n_gain, 1) * cols_buffer * sizeof(float))
        gain_weights = <float*> al_alloc(max(n_gain, 1) * sizeof(float))
        scratch = <float*> al_alloc(cols_buffer * sizeof(float))
        weights = <float*> al_alloc(n_rows * n_k * sizeof(float))
        row_pointers = <const float**> malloc(n_rows * sizeof(float*))
        y_table = <double*> malloc(n_orders * sizeof(double))
        weight_scratch = <double*> malloc(n_rows * n_k * sizeof(double))
        for task in prange(n_tasks, schedule="dynamic"):
            row0 = (task // strips_x) * block_rows
            col0 = (task % strips_x) * block_cols
            rows = min(block_rows, height - row0)
            cols = min(block_cols, width - col0)
            for c in range(cols):
                _basis_values((x0 + col0 + c - x_offset) * x_scale, order, chebyshev, y_table)
                for k in range(n_orders):
                    x_table[k * cols_buffer + c] = <float> y_table[k]
                for k in range(n_gain):
                    gain_table[k * cols_buffer + c] = <float> (y_table[gain_k[k]]
                                                               * y_table[gain_l[k]])
            # Input row q goes to ring slot (q - row0 + half) % ksize.
            for q in range(row0 - half, row0 + rows + half):
                # Edge-extend the strip's input row into src, then x-filter it.
                image_row = &image[min(max(q, 0), height - 1), 0]
                lo = min(max(half - col0, 0), src_length)
                hi = max(min(width - col0 + half, src_length), lo)
                for c in range(lo):
                    src[c] = image_row[0]
                if hi > lo:
                    memcpy(src + lo, image_row + col0 - half + lo, (hi - lo) * sizeof(float))
                for c in range(hi, src_length):
                    src[c] = image_row[width - 1]
                r = (q - row0 + half) % ksize
                for xi in range(n_x):
                    al_x_pass(ring + (xi * ksize + r) * cols_buffer, src, &x_taps[xi, 0],
                              ksize, tap_first[xi], tap_last[xi], cols_buffer)
                y = q - half
                if y < row0:
                    continue
                # Output row y sums input rows y + half - j: slot r - j (mod ksize).
                _basis_values((y0 + y - y_offset) * y_scale, order, chebyshev, y_table)
                al_row_weights(weights, weight_scratch, &weight_poly[0, 0, 0], y_table,
                               <int> n_orders, n_rows * n_k)
                for m in range(n_rows):
                    t = r - row_j[m]
                    if t < 0:
                        t = t + ksize
                    row_pointers[m] = ring + (row_x[m] * ksize + t) * cols_buffer
                for k0 in range(0, n_k, 3):
                    al_y_pass(y_out + k0 * cols_buffer, cols_buffer, row_pointers, weights + k0,
                              n_k, n_rows, <int> min(3, n_k - k0), cols_buffer)
                if n_gain:
                    for k in range(n_gain):
                        gain_weights[k] = 0.0
                    for s in range(n_terms):
                        for t in range(n_terms):
                            gain_weights[gain_index[s, t]] += <float> (
                                gain[s, t] * y_table[y_powers[s]] * y_table[y_powers[t]])
                al_finish_row(&out[y, col0], y_out, x_table, cols_buffer, <int> n_k, gain_table,
                              gain_weights, n_gain, scratch, non_negative, cols)
        free(ring)
        free(src)
        free(y_out)
        free(x_table)
        free(gain_table)
        free(gain_weights)
        free(scratch)
        free(weights)
        free(row_pointers)
        free(y_table)
        free(weight_scratch)


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
