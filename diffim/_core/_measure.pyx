"""The full-image passes of detection: the inner loops of ``diffim.measure.footprints``.

Private module; call it through `diffim.measure.footprints`, which checks
and converts the arguments.

- `significance`: the image correlated with a separable kernel (zero outside
  the image and on unusable pixels), first along rows, then along columns,
  each pixel then divided by its noise ``sqrt(power * var)``. Both passes
  run over whole rows of contiguous memory, one kernel tap at a time;
  threads make bands of output rows, keeping the row-filtered rows a band
  needs in a ring. Every pixel's sum takes its terms in kernel order, so
  the result does not depend on the thread count.
- `grow_detections`: pixels beyond a threshold, dilated by a disc, for both
  polarities at once.
"""
cimport openmp
from cython.parallel cimport prange, threadid
from libc.math cimport sqrt
from libc.string cimport memset
import numpy as np


cdef extern from *:
    """
    #include <math.h>
    #include <string.h>
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif

    /* Compiled for AVX2 and the baseline ISA, the loader picking one at run time.
       AVX2 without FMA: a multiply and an add, each rounded as in the baseline
       loop, so every clone gives the same bits (an FMA would round once). */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define MEASURE_CLONES __attribute__((target_clones("avx2", "default")))
    #else
    #define MEASURE_CLONES
    #endif

    /* total[i] += weight * values[i] over n floats. */
    MEASURE_CLONES static void measure_add_scaled(float *restrict total,
                                                  const float *restrict values, float weight,
                                                  Py_ssize_t n) {
        for (Py_ssize_t i = 0; i < n; i++)
            total[i] = total[i] + weight * values[i];
    }

    /* values[i] /= sqrt(power * variance[i]) in double, rounded to float, where good[i]
       and the noise is positive; 0 elsewhere. Four pixels at a time in SSE2, whose
       square root, division and conversions round as the scalar C operations do:
       libm's sqrt keeps the compiler from vectorising (errno). */
    static void measure_divide_by_noise(float *restrict values, const float *restrict variance,
                                        const unsigned char *restrict good, float power,
                                        Py_ssize_t n) {
        Py_ssize_t i = 0;
    #if defined(__SSE2__)
        const __m128 zero = _mm_setzero_ps();
        const __m128 scale = _mm_set1_ps(power);
        for (; i + 4 <= n; i += 4) {
            __m128 noise = _mm_mul_ps(scale, _mm_loadu_ps(variance + i));
            __m128 value = _mm_loadu_ps(values + i);
            __m128d low = _mm_div_pd(_mm_cvtps_pd(value), _mm_sqrt_pd(_mm_cvtps_pd(noise)));
            __m128d high = _mm_div_pd(_mm_cvtps_pd(_mm_movehl_ps(value, value)),
                                      _mm_sqrt_pd(_mm_cvtps_pd(_mm_movehl_ps(noise, noise))));
            __m128 scaled = _mm_movelh_ps(_mm_cvtpd_ps(low), _mm_cvtpd_ps(high));
            int flags;
            memcpy(&flags, good + i, 4);
            __m128i bytes = _mm_cvtsi32_si128(flags);
            __m128i words = _mm_unpacklo_epi16(_mm_unpacklo_epi8(bytes, _mm_setzero_si128()),
                                               _mm_setzero_si128());
            __m128 usable = _mm_andnot_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(words,
                                                                           _mm_setzero_si128())),
                                          _mm_cmpgt_ps(noise, zero));
            _mm_storeu_ps(values + i, _mm_and_ps(scaled, usable));
        }
    #endif
        for (; i < n; i++) {
            float noise = power * variance[i];
            values[i] = good[i] && noise > 0 ? (float) (values[i] / sqrt((double) noise)) : 0.0f;
        }
    }
    """
    void _add_scaled "measure_add_scaled" (float* total, const float* values, float weight,
                                           Py_ssize_t n) noexcept nogil
    void _divide_by_noise "measure_divide_by_noise" (float* values, const float* variance,
                                                     const unsigned char* good, float power,
                                                     Py_ssize_t n) noexcept nogil


cdef inline void _usable_values(const float* values, const unsigned char* good, Py_ssize_t n,
                                float* out) noexcept nogil:
    """``out = values`` where ``good``, else 0."""
    cdef Py_ssize_t i
    for i in range(n):
        out[i] = values[i] if good[i] else 0.0


cdef void _significance_rows(const float* image, const float* variance,
                             const unsigned char* good, Py_ssize_t n_rows, Py_ssize_t n_cols,
                             const float* kernel, Py_ssize_t half, float power,
                             Py_ssize_t first, Py_ssize_t last, float* padded, float* ring,
                             float* out) noexcept nogil:
    """Rows ``first`` to ``last - 1`` of the significance, each input row filtered once.

    The row-filtered rows live in ``ring`` (``2 half + 1`` rows, in L2), row
    ``j`` in slot ``j % (2 half + 1)``; ``padded`` is a row with ``half``
    zeros either side.
    """
    cdef Py_ssize_t taps = 2 * half + 1
    cdef Py_ssize_t r, k, source, filtered = max(first - half, 0)
    cdef float* slot
    cdef float* row
    for r in range(first, last):
        while filtered <= min(r + half, n_rows - 1):
            # Zeros on unusable pixels and beyond the edges: adding a zero term
            # leaves a sum as it was, so every pixel's sum is that of its usable
            # neighbours, in kernel order.
            slot = ring + (filtered % taps) * n_cols
            _usable_values(image + filtered * n_cols, good + filtered * n_cols, n_cols,
                           padded + half)
            memset(slot, 0, n_cols * sizeof(float))
            for k in range(taps):
                _add_scaled(slot, padded + k, kernel[k], n_cols)
            filtered = filtered + 1
        row = out + r * n_cols
        memset(row, 0, n_cols * sizeof(float))
        for k in range(taps):
            source = r + k - half
            if 0 <= source < n_rows:
                _add_scaled(row, ring + (source % taps) * n_cols, kernel[k], n_cols)
        _divide_by_noise(row, variance + r * n_cols, good + r * n_cols, power, n_cols)


cdef enum:
    BAND_ROWS = 256


def significance(const float[:, ::1] image, const float[:, ::1] variance,
                 const unsigned char[:, ::1] good, const double[::1] kernel, double power,
                 float[:, ::1] out):
    """Write ``(k (x) k) * (image * good) / sqrt(power * variance)`` to ``out``.

    ``kernel`` has odd length and no negative weight. Pixels that are not
    ``good`` or have ``variance <= 0`` get 0.
    """
    cdef Py_ssize_t n_rows = image.shape[0]
    cdef Py_ssize_t n_cols = image.shape[1]
    cdef Py_ssize_t half = kernel.shape[0] // 2
    # Bands of BAND_ROWS output rows, handed out as threads come free: on a
    # shared machine a thread that lost its core holds up no more than a band.
    # Each band filters its 2 half rows beyond its edges again (6 % more at 17 taps).
    cdef Py_ssize_t n_bands = (n_rows + BAND_ROWS - 1) // BAND_ROWS
    cdef Py_ssize_t band, thread
    if n_rows == 0 or n_cols == 0:
        return
    weights_np = np.asarray(kernel, np.float32)
    n_threads = openmp.omp_get_max_threads()
    padded_np = np.zeros((n_threads, n_cols + 2 * half), np.float32)
    ring_np = np.empty((n_threads, 2 * half + 1, n_cols), np.float32)
    cdef const float[::1] weights = weights_np
    cdef float[:, ::1] padded = padded_np
    cdef float[:, :, ::1] ring = ring_np
    with nogil:
        for band in prange(n_bands, schedule="dynamic"):
            thread = threadid()
            _significance_rows(&image[0, 0], &variance[0, 0], &good[0, 0], n_rows, n_cols,
                               &weights[0], half, <float>power, band * BAND_ROWS,
                               min((band + 1) * BAND_ROWS, n_rows), &padded[thread, 0],
                               &ring[thread, 0, 0], &out[0, 0])


cdef inline void _row_distances(const float* values, Py_ssize_t n, float threshold, float sign,
                                Py_ssize_t radius, unsigned char* flags,
                                unsigned char* distance) noexcept nogil:
    """Per pixel, the distance along the row to the nearest ``sign * value >= threshold``
    within ``radius`` pixels (``radius + 1`` when there is none).

    ``flags`` is scratch of ``n + 2 radius`` bytes whose ``radius`` bytes at either end are 0.
    """
    cdef Py_ssize_t c, dx
    cdef unsigned char cap = radius + 1
    cdef unsigned char offset, candidate
    for c in range(n):
        flags[radius + c] = sign * values[c] >= threshold
        distance[c] = cap
    for dx in range(2 * radius + 1):
        offset = dx - radius if dx >= radius else radius - dx
        for c in range(n):
            candidate = cap - flags[c + dx] * (cap - offset)
            distance[c] = candidate if candidate < distance[c] else distance[c]


cdef inline void _or_within(unsigned char* out, const unsigned char* distance,
                            unsigned char reach, Py_ssize_t n) noexcept nogil:
    """``out |= distance <= reach`` over ``n`` bytes."""
    cdef Py_ssize_t c
    for c in range(n):
        out[c] = out[c] | (distance[c] <= reach)


cdef inline void _either(const unsigned char* first, const unsigned char* second, Py_ssize_t n,
                         unsigned char* out) noexcept nogil:
    """``out = first | second`` over ``n`` bytes."""
    cdef Py_ssize_t c
    for c in range(n):
        out[c] = first[c] | second[c]


def grow_detections(const float[:, ::1] significance, float threshold,
                    const unsigned char[::1] half_widths, bint positive, bint negative,
                    unsigned char[:, ::1] positive_distance,
                    unsigned char[:, ::1] negative_distance, unsigned char[:, ::1] positive_out,
                    unsigned char[:, ::1] negative_out, unsigned char[:, ::1] either_out):
    """Detections ``significance >= threshold`` and ``<= -threshold``, dilated by a disc.

    The disc of radius ``R = len(half_widths) - 1`` (at most 254) reaches
    ``half_widths[|dy|]`` pixels along the row ``dy`` rows away
    (``half_widths[0] = R``). A polarity not asked for is left all 0.
    ``*_distance`` are scratch of the image's shape; ``either_out`` is the
    union of both outputs.
    """
    cdef Py_ssize_t n_rows = significance.shape[0]
    cdef Py_ssize_t n_cols = significance.shape[1]
    cdef Py_ssize_t radius = half_widths.shape[0] - 1
    cdef Py_ssize_t r, dy, source
    cdef unsigned char reach
    flags_np = np.zeros((openmp.omp_get_max_threads(), n_cols + 2 * radius), np.uint8)
    cdef unsigned char[:, ::1] flags = flags_np
    # Chunks of rows handed out as threads come free (a shared machine).
    with nogil:
        for r in prange(n_rows, schedule="dynamic", chunksize=64):
            if positive:
                _row_distances(&significance[r, 0], n_cols, threshold, 1.0, radius,
                               &flags[threadid(), 0], &positive_distance[r, 0])
            if negative:
                _row_distances(&significance[r, 0], n_cols, threshold, -1.0, radius,
                               &flags[threadid(), 0], &negative_distance[r, 0])
        for r in prange(n_rows, schedule="dynamic", chunksize=64):
            memset(&positive_out[r, 0], 0, n_cols)
            memset(&negative_out[r, 0], 0, n_cols)
            for dy in range(-radius, radius + 1):
                source = r + dy
                if source < 0 or source >= n_rows:
                    continue
                reach = half_widths[dy if dy >= 0 else -dy]
                if positive:
                    _or_within(&positive_out[r, 0], &positive_distance[source, 0], reach, n_cols)
                if negative:
                    _or_within(&negative_out[r, 0], &negative_distance[source, 0], reach, n_cols)
            _either(&positive_out[r, 0], &negative_out[r, 0], n_cols, &either_out[r, 0])

