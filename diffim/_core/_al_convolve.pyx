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
output row is one weighted sum of filtered rows per x power (the y pass),
whose weights are recomputed for every row. Both passes run over non-zero
taps only: the x pass over each vector's support (vectors of similar support
filtered together), the y pass over the rows ``(xi, j)`` whose weight can be
non-zero, so a narrow Gaussian costs its own few sigma in a wide kernel.

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
       while machines that have FMA use it. The clones name ISA levels, which
       the loader checks by CPU features: "arch=haswell" was checked by CPU
       model, so an AMD EPYC with AVX2 and FMA ran the baseline loops, 8 times
       slower. */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define AL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
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

    /* dst[x][c] = sum_{first <= i < last} taps[x][i] * src[c + n_taps - 1 - i] for
       x < NX and c < n (a multiple of AL_BLOCK): every loaded vector of the
       input row feeds NX accumulators. dst rows are aligned; src need not be. */
    #define AL_X_BODY(NX)                                                          \
        for (Py_ssize_t c = 0; c < n; c += AL_BLOCK) {                             \
            al_vf a[NX][4];                                                        \
            for (int x = 0; x < NX; x++)                                           \
                for (int v = 0; v < 4; v++) a[x][v] = (al_vf){0};                  \
            for (int i = first; i < last; i++) {                                   \
                const float *s = src + c + n_taps - 1 - i;                         \
                for (int v = 0; v < 4; v++) {                                      \
                    const al_vf in = *(const al_vfu *)(s + v * AL_LANES);          \
                    for (int x = 0; x < NX; x++) a[x][v] += taps[x][i] * in;       \
                }                                                                  \
            }                                                                      \
            for (int x = 0; x < NX; x++)                                           \
                for (int v = 0; v < 4; v++)                                        \
                    *(al_vf *)(dst[x] + c + v * AL_LANES) = a[x][v];               \
        }

    /* The x pass of one input row for n_x (1 to 3) x vectors; the taps
       outside [first, last) must be zero or are ignored. */
    AL_CLONES static void al_x_pass(float *const *restrict dst, const float *restrict src,
                                    const float *const *restrict taps, int n_x, int n_taps,
                                    int first, int last, Py_ssize_t n) {
        switch (n_x) {
        case 1: AL_X_BODY(1) break;
        case 2: AL_X_BODY(2) break;
        default: AL_X_BODY(3) break;
        }
    }

    /* The y pass for two consecutive output rows at once and NK x powers:
       every loaded vector of a filtered row feeds 2 * NK accumulators, which
       halves the reads of the filtered rows (from L2) per multiply-add. Two
       vectors per block keep the 4 * NK accumulators in registers. */
    #define AL_Y_BODY(NK)                                                          \
        for (Py_ssize_t c = 0; c < n; c += 2 * AL_LANES) {                         \
            al_vf a[2][NK][2];                                                     \
            for (int o = 0; o < 2; o++)                                            \
                for (int k = 0; k < NK; k++)                                       \
                    for (int v = 0; v < 2; v++) a[o][k][v] = (al_vf){0};           \
            for (Py_ssize_t m = 0; m < n_rows; m++) {                              \
                const al_vf *s = (const al_vf *)(rows[m] + c);                     \
                const float *w = weights + m * w_stride;                           \
                for (int v = 0; v < 2; v++) {                                      \
                    const al_vf x = s[v];                                          \
                    for (int k = 0; k < NK; k++) {                                 \
                        a[0][k][v] += w[k] * x;                                    \
                        a[1][k][v] += w[w_second + k] * x;                         \
                    }                                                              \
                }                                                                  \
            }                                                                      \
            for (int o = 0; o < 2; o++)                                            \
                for (int k = 0; k < NK; k++)                                       \
                    for (int v = 0; v < 2; v++)                                    \
                        *(al_vf *)(out[o] + k * out_stride + c + v * AL_LANES) =   \
                            a[o][k][v];                                            \
        }

    /* out[o][k * out_stride + c] = sum_m weights[m * w_stride + o * w_second + k]
       * rows[m][c] for the outputs o = 0, 1, k < n_k (1 to 3) and c < n (a
       multiple of AL_BLOCK); rows and out are aligned. */
    AL_CLONES static void al_y_pass(float *const *restrict out, Py_ssize_t out_stride,
                                    const float *const *restrict rows,
                                    const float *restrict weights, Py_ssize_t w_stride,
                                    Py_ssize_t w_second, Py_ssize_t n_rows, int n_k,
                                    Py_ssize_t n) {
        switch (n_k) {
        case 1: AL_Y_BODY(1) break;
        case 2: AL_Y_BODY(2) break;
        default: AL_Y_BODY(3) break;
        }
    }

    /* dst[c] = sum_i taps[i] * src[c + (n_taps - 1 - i) * step] for c < n, in
       double with the taps outer so that the column loop vectorises. */
    AL_CLONES static void al_taps_double(double *restrict dst, const double *restrict src,
                                         Py_ssize_t step, const double *restrict taps,
                                         int n_taps, Py_ssize_t n) {
        for (Py_ssize_t c = 0; c < n; c++) dst[c] = 0.0;
        for (int i = 0; i < n_taps; i++) {
            const double w = taps[i];
            const double *restrict s = src + (n_taps - 1 - i) * step;
            for (Py_ssize_t c = 0; c < n; c++) dst[c] += w * s[c];
        }
    }

    /* dst[c] = src[c], or 0 where mask[c] has any of bits, for c < n. */
    AL_CLONES static void al_masked_copy(float *restrict dst, const float *restrict src,
                                         const unsigned int *restrict mask, unsigned int bits,
                                         Py_ssize_t n) {
        for (Py_ssize_t c = 0; c < n; c++) dst[c] = (mask[c] & bits) ? 0.0f : src[c];
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
    void al_x_pass(float** dst, const float* src, const float** taps, int n_x, int n_taps,
                   int first, int last, Py_ssize_t n) noexcept nogil
    void al_y_pass(float** out, Py_ssize_t out_stride, const float** rows, const float* weights,
                   Py_ssize_t w_stride, Py_ssize_t w_second, Py_ssize_t n_rows, int n_k,
                   Py_ssize_t n) noexcept nogil
    void al_taps_double(double* dst, const double* src, Py_ssize_t step, const double* taps,
                        int n_taps, Py_ssize_t n) noexcept nogil
    void al_masked_copy(float* dst, const float* src, const unsigned int* mask, unsigned int bits,
                        Py_ssize_t n) noexcept nogil
    void al_row_weights(float* out, double* scratch, const double* poly, const double* at,
                        int n_poly, Py_ssize_t n) noexcept nogil
    void al_finish_row(float* out, const float* y_out, const float* x_table, Py_ssize_t stride,
                       int n_k, const float* gain_table, const float* gain_weights, int n_gain,
                       float* scratch, int clamp, Py_ssize_t n) noexcept nogil
    int AL_BLOCK
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

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


def _support(vectors):
    """``(first, last)``: each row's non-zero taps lie in ``[first, last)`` (0, 0 if none)."""
    nonzero = np.asarray(vectors) != 0.0
    width = nonzero.shape[1]
    first = np.where(nonzero.any(axis=1), np.argmax(nonzero, axis=1), 0)
    last = np.where(nonzero.any(axis=1), width - np.argmax(nonzero[:, ::-1], axis=1), 0)
    return np.ascontiguousarray(first, np.intc), np.ascontiguousarray(last, np.intc)


def stamp_pair_convolutions(const double[:, :, ::1] stamps, const double[:, ::1] x_vectors,
                            const double[:, ::1] y_vectors, const Py_ssize_t[:, ::1] pairs,
                            double[:, :, :, ::1] out):
    """Convolve each stamp with every separable pair, keeping only full-overlap pixels.

    ``stamps`` is ``(n, S, S)``; ``out`` is ``(n, n_pairs, S - K + 1, S - K + 1)``.
    Each 1-D pass runs over its vector's non-zero taps only (a narrow
    Gaussian of a wide kernel, one tap of a delta-function vector).
    """
    cdef Py_ssize_t n_stamps = stamps.shape[0]
    cdef Py_ssize_t size = stamps.shape[1]
    cdef Py_ssize_t ksize = x_vectors.shape[1]
    cdef Py_ssize_t n_x = x_vectors.shape[0]
    cdef Py_ssize_t n_pairs = pairs.shape[0]
    cdef Py_ssize_t fit = size - ksize + 1
    cdef Py_ssize_t s, r, p, xi, yi
    cdef double* x_pass = NULL
    x_first_np, x_last_np = _support(x_vectors)
    y_first_np, y_last_np = _support(y_vectors)
    cdef const int[::1] x_first = x_first_np
    cdef const int[::1] x_last = x_last_np
    cdef const int[::1] y_first = y_first_np
    cdef const int[::1] y_last = y_last_np
    with nogil, parallel():
        x_pass = <double*> malloc(n_x * size * fit * sizeof(double))
        for s in prange(n_stamps, schedule="dynamic"):
            for xi in range(n_x):
                for r in range(size):
                    al_taps_double(x_pass + (xi * size + r) * fit,
                                   &stamps[s, r, ksize - x_last[xi]], 1,
                                   &x_vectors[xi, x_first[xi]], x_last[xi] - x_first[xi], fit)
            for p in range(n_pairs):
                xi = pairs[p, 0]
                yi = pairs[p, 1]
                for r in range(fit):
                    al_taps_double(&out[s, p, r, 0],
                                   x_pass + (xi * size + r + ksize - y_last[yi]) * fit, fit,
                                   &y_vectors[yi, y_first[yi]], y_last[yi] - y_first[yi], fit)
        free(x_pass)


def convolve_spatial(const float[:, ::1] image, const unsigned int[:, ::1] mask,
                     unsigned int bad_bits, float[:, ::1] out,
                     const double[:, ::1] x_vectors, const double[:, ::1] y_vectors,
                     const Py_ssize_t[:, ::1] pairs, const double[:, ::1] coeffs,
                     const Py_ssize_t[::1] x_powers, const Py_ssize_t[::1] y_powers,
                     int chebyshev, double x_offset, double x_scale, double y_offset,
                     double y_scale, Py_ssize_t x0, Py_ssize_t y0,
                     const double[:, ::1] gain, int use_gain, int non_negative,
                     Py_ssize_t block_rows, Py_ssize_t block_cols):
    """``out = gain(x, y) * sum_p alpha_p(x, y) * (I (x) X[p] (x) Y[p])`` (see module doc).

    ``image`` and ``out`` are ``(H, W)``; ``(x0, y0)`` is the parent position
    of ``out[0, 0]``. Pixels with any of ``bad_bits`` set in ``mask`` (an
    ``(H, W)`` array, not read when ``bad_bits`` is 0) are read as 0, here
    and where the edge extension repeats them. ``gain`` is a symmetric ``(n_terms, n_terms)`` matrix,
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
    if bad_bits and (mask.shape[0] != height or mask.shape[1] != width):
        raise ValueError("image and mask differ in shape")
    x_power_array, y_power_array = np.asarray(x_powers), np.asarray(y_powers)
    cdef int order = max(int(x_power_array.max()), int(y_power_array.max()))
    cdef Py_ssize_t n_orders = order + 1
    # The y pass only needs the x powers of terms with non-zero coefficients
    # (one, for the spatially constant variance kernel).
    used = np.any(np.asarray(coeffs) != 0.0, axis=0)
    cdef Py_ssize_t n_k = int(np.max(x_power_array[used], initial=0)) + 1
    # One slot more than the kernel height: two output rows need ksize + 1 input rows.
    cdef Py_ssize_t ring_rows = ksize + 1
    # The x vectors sorted by their support, so that each group of three
    # filtered together spans few taps beyond its own (a narrow Gaussian of a
    # wide kernel is not filtered over the wide one's taps).
    pair_array = np.asarray(pairs)
    first_np, last_np = _support(x_vectors)
    order_np = np.lexsort((first_np, last_np - first_np))
    x_sorted = np.asarray(x_vectors)[order_np]
    pair_x = np.argsort(order_np)[pair_array[:, 0]]
    # weight_poly[l, m, k]: coefficient of T_l(y') in the weight W[k, xi, j]
    # of filtered row m = (xi, j); only rows with a non-zero weight are kept.
    term_powers = np.zeros((n_terms, n_k, n_orders))
    term_powers[np.arange(n_terms)[used], x_power_array[used], y_power_array[used]] = 1.0
    per_pair = np.einsum("ps,skl,pj->pjkl", np.asarray(coeffs), term_powers,
                         np.asarray(y_vectors)[pair_array[:, 1]])
    dense = np.zeros((n_x, ksize, n_k, n_orders))
    np.add.at(dense, pair_x, per_pair)
    row_x_np, row_j_np = np.nonzero(np.any(dense != 0.0, axis=(2, 3)))
    weight_poly_np = np.ascontiguousarray(dense[row_x_np, row_j_np].transpose(2, 0, 1))
    cdef const double[:, :, ::1] weight_poly = weight_poly_np
    cdef Py_ssize_t n_rows = row_x_np.shape[0]
    # The y pass reads, for each x vector, only the ring slots d (input row
    # y - half + d) that carry a weight for output row y (tap j = 2 half - d)
    # or y + 1 (j = 2 half + 1 - d): slot_index numbers them compactly, and
    # row_slot[m, t] is where row m's weight for output row y + t goes.
    j_low = np.full(n_x, ksize)
    j_high = np.full(n_x, -1)
    np.minimum.at(j_low, row_x_np, row_j_np)
    np.maximum.at(j_high, row_x_np, row_j_np)
    slot_x, slot_d = [], []
    for vector in range(n_x):
        for offset in range(2 * half - j_high[vector], 2 * half + 2 - j_low[vector]):
            slot_x.append(vector)
            slot_d.append(offset)
    slot_index = np.full((n_x, ring_rows), -1, dtype=np.intp)
    slot_index[slot_x, slot_d] = np.arange(len(slot_x))
    cdef Py_ssize_t n_slots = len(slot_x)
    cdef const Py_ssize_t[::1] slot_ring = np.ascontiguousarray(
        np.asarray(slot_x, dtype=np.intp) * ring_rows, dtype=np.intp)
    cdef const Py_ssize_t[::1] slot_offset = np.ascontiguousarray(slot_d, dtype=np.intp)
    cdef const Py_ssize_t[:, ::1] row_slot = np.ascontiguousarray(np.stack(
        [slot_index[row_x_np, 2 * half + step - row_j_np] for step in range(2)], axis=1))
    # The x pass filters with three x vectors at a time, over the taps where
    # any of the three is non-zero.
    nonzero = x_sorted != 0.0
    nonzero = np.logical_or.reduceat(nonzero, np.arange(0, n_x, 3), axis=0)
    cdef const int[::1] tap_first = np.ascontiguousarray(np.argmax(nonzero, axis=1), np.intc)
    cdef const int[::1] tap_last = np.ascontiguousarray(
        ksize - np.argmax(nonzero[:, ::-1], axis=1), np.intc)
    cdef const float[:, ::1] x_taps = np.ascontiguousarray(x_sorted, dtype=np.float32)
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
    cdef const unsigned int* mask_row
    cdef float first, last
    cdef float** x_dst = NULL
    cdef float** y_dst = NULL
    cdef float* row_weights = NULL
    cdef const float** x_src = NULL

    with nogil, parallel():
        ring = <float*> al_alloc(n_x * ring_rows * cols_buffer * sizeof(float))
        # Slots not yet written are read with weight 0: they must hold no NaN.
        memset(ring, 0, n_x * ring_rows * cols_buffer * sizeof(float))
        src = <float*> al_alloc(src_length * sizeof(float))
        y_out = <float*> al_alloc(2 * n_k * cols_buffer * sizeof(float))
        x_table = <float*> al_alloc(n_orders * cols_buffer * sizeof(float))
        gain_table = <float*> al_alloc(max(n_gain, 1) * cols_buffer * sizeof(float))
        gain_weights = <float*> al_alloc(2 * max(n_gain, 1) * sizeof(float))
        scratch = <float*> al_alloc(cols_buffer * sizeof(float))
        weights = <float*> al_alloc(max(n_slots, 1) * 2 * n_k * sizeof(float))
        row_weights = <float*> al_alloc(n_rows * n_k * sizeof(float))
        row_pointers = <const float**> malloc(max(n_slots, 1) * sizeof(float*))
        y_table = <double*> malloc(n_orders * sizeof(double))
        weight_scratch = <double*> malloc(n_rows * n_k * sizeof(double))
        x_dst = <float**> malloc(3 * sizeof(float*))
        x_src = <const float**> malloc(3 * sizeof(float*))
        y_dst = <float**> malloc(2 * sizeof(float*))
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
            # Input row q goes to ring slot (q - row0 + half) % ring_rows.
            for q in range(row0 - half, row0 + rows + half):
                # Edge-extend the strip's input row into src, then x-filter it.
                image_row = &image[min(max(q, 0), height - 1), 0]
                mask_row = &mask[min(max(q, 0), height - 1), 0] if bad_bits else NULL
                lo = min(max(half - col0, 0), src_length)
                hi = max(min(width - col0 + half, src_length), lo)
                first = 0 if bad_bits and mask_row[0] & bad_bits else image_row[0]
                last = 0 if bad_bits and mask_row[width - 1] & bad_bits else image_row[width - 1]
                for c in range(lo):
                    src[c] = first
                if hi > lo and bad_bits:
                    al_masked_copy(src + lo, image_row + col0 - half + lo,
                                   mask_row + col0 - half + lo, bad_bits, hi - lo)
                elif hi > lo:
                    memcpy(src + lo, image_row + col0 - half + lo, (hi - lo) * sizeof(float))
                for c in range(hi, src_length):
                    src[c] = last
                r = (q - row0 + half) % ring_rows
                for xi in range(0, n_x, 3):
                    for k in range(min(3, n_x - xi)):
                        x_dst[k] = ring + ((xi + k) * ring_rows + r) * cols_buffer
                        x_src[k] = &x_taps[xi + k, 0]
                    al_x_pass(x_dst, src, x_src, <int> min(3, n_x - xi), ksize,
                              tap_first[xi // 3], tap_last[xi // 3], cols_buffer)
                # Output rows y and y + 1 once input row y + 1 + half is in;
                # a last row on its own computes a second row that is dropped.
                y = q - half
                if y < row0 or ((y - row0) % 2 == 0 and y != row0 + rows - 1):
                    continue
                y = y - (y - row0) % 2
                # Filtered row (xi, d) is input row y - half + d, in slot
                # (y - row0 + d) % ring_rows; it enters row y with tap
                # j = 2 half - d and row y + 1 with tap j = 2 half + 1 - d.
                memset(weights, 0, n_slots * 2 * n_k * sizeof(float))
                for t in range(2):
                    _basis_values((y0 + y + t - y_offset) * y_scale, order, chebyshev, y_table)
                    al_row_weights(row_weights, weight_scratch, &weight_poly[0, 0, 0], y_table,
                                   <int> n_orders, n_rows * n_k)
                    for m in range(n_rows):
                        for k in range(n_k):
                            weights[(row_slot[m, t] * 2 + t) * n_k + k] = row_weights[
                                m * n_k + k]
                    if n_gain:
                        for k in range(n_gain):
                            gain_weights[t * n_gain + k] = 0.0
                        for s in range(n_terms):
                            for m in range(n_terms):
                                gain_weights[t * n_gain + gain_index[s, m]] += <float> (
                                    gain[s, m] * y_table[y_powers[s]] * y_table[y_powers[m]])
                for m in range(n_slots):
                    row_pointers[m] = ring + (slot_ring[m] + (y - row0 + slot_offset[m])
                                              % ring_rows) * cols_buffer
                for k0 in range(0, n_k, 3):
                    y_dst[0] = y_out + k0 * cols_buffer
                    y_dst[1] = y_out + (n_k + k0) * cols_buffer
                    al_y_pass(y_dst, cols_buffer, row_pointers, weights + k0, 2 * n_k, n_k,
                              n_slots, <int> min(3, n_k - k0), cols_buffer)
                for t in range(min(2, row0 + rows - y)):
                    al_finish_row(&out[y + t, col0], y_out + t * n_k * cols_buffer, x_table,
                                  cols_buffer, <int> n_k, gain_table, gain_weights + t * n_gain,
                                  n_gain, scratch, non_negative, cols)
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
        free(x_dst)
        free(x_src)
        free(y_dst)
        free(row_weights)


ctypedef fused mask_t:
    unsigned char
    unsigned int


def dilate_mask(const mask_t[:, ::1] mask, mask_t[:, ::1] out, Py_ssize_t ksize):
    """``out[y, x]`` = OR of ``mask`` over the ``ksize`` x ``ksize`` box centred on
    ``(y, x)``; pixels beyond the edges count as 0 (no padded copy is made).
    ``out`` must not overlap ``mask``. Both are uint32 mask planes, or uint8
    views of boolean arrays (whose OR is their maximum filter).

    Rows first, into ``out``, then its columns in place. A row with few set
    pixels ORs each into its output window (``ksize`` operations per set
    pixel); other rows and the columns use van Herk's block prefix/suffix
    scheme, three operations per
    pixel whatever ``ksize``: in the zero-extended line, a window of
    ``ksize`` samples spans at most two blocks of ``ksize``, so it is the
    suffix-OR of the first block joined with the prefix-OR of the second.
    """
    cdef Py_ssize_t height = mask.shape[0]
    cdef Py_ssize_t width = mask.shape[1]
    if out.shape[0] != height or out.shape[1] != width:
        raise ValueError(f"mask {width}x{height} and out {out.shape[1]}x{out.shape[0]} differ")
    if ksize < 1 or ksize % 2 == 0:
        raise ValueError(f"dilation box size must be odd and positive, got {ksize}")
    cdef Py_ssize_t strip = 64
    cdef Py_ssize_t n_strips = (width + strip - 1) // strip
    cdef Py_ssize_t r, n, col0, cols
    cdef Py_ssize_t scratch = max(width, height) + 2 * ksize
    cdef mask_t* prefix = NULL
    cdef mask_t* suffix = NULL
    with nogil, parallel():
        prefix = <mask_t*> malloc(scratch * sizeof(mask_t))
        suffix = <mask_t*> malloc(scratch * sizeof(mask_t))
        for r in prange(height, schedule="static"):
            _dilate_row(&mask[r, 0], &out[r, 0], width, ksize, prefix, suffix)
        free(prefix)
        free(suffix)
    with nogil, parallel():
        prefix = <mask_t*> malloc(scratch * strip * sizeof(mask_t))
        suffix = <mask_t*> malloc(scratch * strip * sizeof(mask_t))
        for n in prange(n_strips, schedule="static"):
            col0 = n * strip
            cols = min(strip, width - col0)
            # In place: a strip is read whole into prefix and suffix before it is written.
            _van_herk(&out[0, col0], width, &out[0, col0], width, height, cols, ksize,
                      prefix, suffix)
        free(prefix)
        free(suffix)


cdef void _dilate_row(const mask_t* line, mask_t* out, Py_ssize_t width,
                      Py_ssize_t ksize, mask_t* prefix, mask_t* suffix) noexcept nogil:
    """One row of `dilate_mask` (``prefix`` and ``suffix`` hold ``width + 2 ksize``)."""
    cdef Py_ssize_t half = ksize // 2
    cdef Py_ssize_t c, p, lo, hi, set_pixels = 0
    cdef mask_t value
    for c in range(width):
        set_pixels += line[c] != 0
    if set_pixels * ksize < 3 * width:
        for c in range(width):
            out[c] = 0
        for c in range(width):
            value = line[c]
            if value != 0:
                lo = max(c - half, 0)
                hi = min(c + half + 1, width)
                for p in range(lo, hi):
                    out[p] |= value
        return
    _van_herk(line, 1, out, 1, width, 1, ksize, prefix, suffix)


cdef void _van_herk(const mask_t* line, Py_ssize_t line_step, mask_t* out,
                    Py_ssize_t out_step, Py_ssize_t length, Py_ssize_t lanes, Py_ssize_t ksize,
                    mask_t* prefix, mask_t* suffix) noexcept nogil:
    """Box OR of ``lanes`` adjacent lines of ``length`` samples (sample ``i`` of lane
    ``l`` at ``line[i * line_step + l]``), zero-extended by ``ksize // 2`` at both ends.

    ``prefix[p * lanes + l]`` and ``suffix[...]`` are indexed by the position
    ``p`` in the extended line; block ``b`` holds positions ``[b ksize, (b + 1) ksize)``.
    """
    cdef Py_ssize_t half = ksize // 2
    cdef Py_ssize_t extended = length + 2 * half
    cdef Py_ssize_t start, stop, p, l, i
    cdef mask_t* previous
    cdef mask_t* current
    start = 0
    while start < extended:
        stop = min(start + ksize, extended)
        for p in range(start, stop):
            current = prefix + p * lanes
            i = p - half
            if i < 0 or i >= length:
                if p == start:
                    memset(current, 0, lanes * sizeof(mask_t))
                else:
                    memcpy(current, current - lanes, lanes * sizeof(mask_t))
            elif p == start:
                for l in range(lanes):
                    current[l] = line[i * line_step + l]
            else:
                previous = current - lanes
                for l in range(lanes):
                    current[l] = previous[l] | line[i * line_step + l]
        for p in range(stop - 1, start - 1, -1):
            current = suffix + p * lanes
            i = p - half
            if i < 0 or i >= length:
                if p == stop - 1:
                    memset(current, 0, lanes * sizeof(mask_t))
                else:
                    memcpy(current, current + lanes, lanes * sizeof(mask_t))
            elif p == stop - 1:
                for l in range(lanes):
                    current[l] = line[i * line_step + l]
            else:
                previous = current + lanes
                for l in range(lanes):
                    current[l] = previous[l] | line[i * line_step + l]
        start = stop
    for i in range(length):
        for l in range(lanes):
            out[i * out_step + l] = suffix[i * lanes + l] | prefix[(i + ksize - 1) * lanes + l]
