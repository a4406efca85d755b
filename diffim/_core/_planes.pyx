"""Whole-plane checks and updates in one pass, without image-sized temporaries, and
stamps gathered around many sources.

Private module; its callers (`diffim.subtract`, `diffim.psfmatch`,
`diffim.sources`, `diffim.measure.stamps`) check the arguments. numpy spells
each plane's pass as a chain of full-size boolean and float temporaries
(``np.isfinite``, ``np.where``, ``~``, ``&``); at 4k every one is 16-64 MB
that the kernel must hand out and zero. The loops are memory-bound and
parallel over rows.
"""
cimport cython
from cython.parallel cimport parallel, prange
from libc.stdlib cimport free, malloc
from libc.math cimport INFINITY, fabs, isfinite

import numpy as np


def all_finite(const float[:, :] plane):
    """Whether every pixel of ``plane`` is finite."""
    cdef Py_ssize_t n_rows = plane.shape[0], n_cols = plane.shape[1], r, c
    cdef Py_ssize_t bad = 0
    for r in prange(n_rows, nogil=True, schedule="static"):
        for c in range(n_cols):
            if not isfinite(plane[r, c]):
                bad += 1
    return bad == 0


def count_unflagged_nonfinite(const float[:, :] image, const float[:, :] variance,
                              const unsigned int[:, :] mask, unsigned int bits):
    """``(image, variance)``: how many pixels of each plane are not finite without any
    of ``bits`` set in ``mask`` (the mask read once for both)."""
    cdef Py_ssize_t n_rows = image.shape[0], n_cols = image.shape[1], r, c
    cdef Py_ssize_t in_image = 0, in_variance = 0
    for r in prange(n_rows, nogil=True, schedule="static"):
        for c in range(n_cols):
            if isfinite(image[r, c]) and isfinite(variance[r, c]):
                continue
            if not (mask[r, c] & bits):
                in_image += not isfinite(image[r, c])
                in_variance += not isfinite(variance[r, c])
    return in_image, in_variance


def count_unusable(const float[:, :] image, const float[:, :] variance,
                   const unsigned int[:, :] mask, unsigned int already_bits):
    """``(already, no_data, bad)``: pixels with ``already_bits`` set; others with a
    non-finite image; others with a variance that is not finite and > 0."""
    cdef Py_ssize_t n_rows = image.shape[0], n_cols = image.shape[1], r, c
    cdef Py_ssize_t already = 0, no_data = 0, bad = 0
    cdef float v
    for r in prange(n_rows, nogil=True, schedule="static"):
        for c in range(n_cols):
            if mask[r, c] & already_bits:
                already += 1
            elif not isfinite(image[r, c]):
                no_data += 1
            else:
                v = variance[r, c]
                if not (v > 0 and isfinite(v)):
                    bad += 1
    return already, no_data, bad


def add_outer_sum(float[:, ::1] out, const float[::1] coefficients,
                  const double[:, ::1] y_values, const double[:, ::1] x_values, bint accumulate):
    """``S = sum_t coefficients[t] * float32(outer(y_values[t], x_values[t]))``, summed in
    float32 from 0 in ``t`` order (numpy's rounding order), into ``out`` (``out += S``
    when ``accumulate``): a row of ``S`` at a time, no image-sized temporary."""
    cdef Py_ssize_t n_rows = out.shape[0], n_cols = out.shape[1], n_terms = coefficients.shape[0]
    cdef Py_ssize_t r, c, t
    cdef float* row = NULL
    if y_values.shape[0] != n_terms or x_values.shape[0] != n_terms:
        raise ValueError("one row of y and x values per coefficient")
    if y_values.shape[1] != n_rows or x_values.shape[1] != n_cols:
        raise ValueError("y and x values do not match the plane's shape")
    with nogil, parallel():
        row = <float*> malloc(max(n_cols, 1) * sizeof(float))
        for r in prange(n_rows, schedule="static"):
            for c in range(n_cols):
                row[c] = 0.0
            for t in range(n_terms):
                for c in range(n_cols):
                    row[c] = row[c] + coefficients[t] * <float> (y_values[t, r] * x_values[t, c])
            if accumulate:
                for c in range(n_cols):
                    out[r, c] = out[r, c] + row[c]
            else:
                for c in range(n_cols):
                    out[r, c] = row[c]
        free(row)


def flag_plain_image(float[:, :] image, unsigned int[:, :] mask, unsigned int no_data_bit,
                     unsigned int saturated_bit, float saturation, bint check_saturation,
                     float blank_magnitude):
    """A plain image's masking in one pass: non-finite pixels and blanks (``|value| >=
    blank_magnitude``) set to 0 and flagged ``no_data_bit``; the others at or above
    ``saturation`` (if checked) flagged ``saturated_bit``. Returns the number of pixels
    flagged ``no_data_bit``."""
    cdef Py_ssize_t n_rows = image.shape[0], n_cols = image.shape[1], r, c
    cdef Py_ssize_t no_data = 0
    cdef float value
    for r in prange(n_rows, nogil=True, schedule="static"):
        for c in range(n_cols):
            value = image[r, c]
            if not isfinite(value) or fabs(value) >= blank_magnitude:
                image[r, c] = 0.0
                mask[r, c] = mask[r, c] | no_data_bit
                no_data += 1
            elif check_saturation and value >= saturation:
                mask[r, c] = mask[r, c] | saturated_bit
    return no_data


cdef inline Py_ssize_t _unusable_row(const float *image, const float *variance,
                                     const unsigned char *bad, bint has_variance, bint has_bad,
                                     unsigned char *out, Py_ssize_t n) noexcept nogil:
    """`unusable_for_psf` over one row, without branches; returns its usable count."""
    cdef Py_ssize_t c, usable = 0
    cdef bint unusable
    cdef float v
    for c in range(n):
        v = variance[c]
        unusable = (not isfinite(image[c]) or (has_bad and bad[c] != 0)
                    or (has_variance and (not (v > 0) or v == INFINITY)))
        out[c] = unusable
        usable += not unusable
    return usable


def unusable_for_psf(const float[:, ::1] image, const float[:, ::1] variance,
                     const unsigned char[:, ::1] bad, bint has_variance, bint has_bad,
                     unsigned char[:, ::1] out):
    """``out`` = image not finite, or ``bad``, or variance not > 0 or infinite; returns
    the number of usable pixels."""
    cdef Py_ssize_t n_rows = image.shape[0], n_cols = image.shape[1], r
    cdef Py_ssize_t usable = 0
    for r in prange(n_rows, nogil=True, schedule="static"):
        usable += _unusable_row(&image[r, 0], &variance[r, 0], &bad[r, 0], has_variance,
                                has_bad, &out[r, 0], n_cols)
    return usable


cdef Py_ssize_t BILINEAR_THREADED = 1 << 20  # points from which bilinear_at uses threads


def bilinear_at(const float[:, ::1] grid, const int[::1] row_lo, const int[::1] row_hi,
                const float[::1] row_frac, const int[::1] col_lo, const int[::1] col_hi,
                const float[::1] col_frac, const Py_ssize_t[::1] rows,
                const Py_ssize_t[::1] cols, float[::1] out):
    """``out[i]`` = the bilinear background at pixel ``(rows[i], cols[i])``, in the
    float32 operation order of `diffim.image.background.BackgroundGrid.at`."""
    cdef Py_ssize_t n = rows.shape[0], i
    # A PSF estimate asks for a few stamps' worth at a time: threads started for that wait
    # longer for each other on a busy machine (13-22 ms a call at load 7) than one thread
    # takes for the whole gather.
    for i in prange(n, nogil=True, schedule="static", use_threads_if=n >= BILINEAR_THREADED):
        out[i] = _bilinear(grid, row_lo, row_hi, row_frac, col_lo, col_hi, col_frac, rows[i],
                           cols[i])


cdef inline float _bilinear(const float[:, ::1] grid, const int[::1] row_lo,
                            const int[::1] row_hi, const float[::1] row_frac,
                            const int[::1] col_lo, const int[::1] col_hi,
                            const float[::1] col_frac, Py_ssize_t r, Py_ssize_t c) noexcept nogil:
    """The bilinear background at pixel ``(r, c)`` (float32 operations, in this order)."""
    cdef float one = 1  # a float: Cython writes the literal 1 - x as the double 1.0 - x
    cdef float cf = col_frac[c], rf = row_frac[r]
    cdef float top = grid[row_lo[r], col_lo[c]] * (one - cf) + grid[row_lo[r], col_hi[c]] * cf
    cdef float bottom = grid[row_hi[r], col_lo[c]] * (one - cf) + grid[row_hi[r], col_hi[c]] * cf
    return top * (one - rf) + bottom * rf


def stamp_pixels(const float[:, ::1] image, const float[:, ::1] variance,
                 const unsigned int[:, ::1] mask, unsigned int bits, const float[:, ::1] grid,
                 const int[::1] row_lo, const int[::1] row_hi, const float[::1] row_frac,
                 const int[::1] col_lo, const int[::1] col_hi, const float[::1] col_frac,
                 int subtract_background, const Py_ssize_t[::1] rows,
                 const Py_ssize_t[::1] cols, float[:, :, ::1] stamps,
                 float[:, :, ::1] variances):
    """Square stamps of the image (less the bilinear background when
    ``subtract_background``) and of the variance, centred on ``(rows[s], cols[s])``.

    Pixels off the image, or with any of ``bits`` set in ``mask`` (not read
    when ``bits`` is 0), are 0 in both: what ``np.where(usable, ...)`` of the
    gathered float32 pixels gives, in one pass.
    """
    cdef Py_ssize_t n = stamps.shape[0], size = stamps.shape[1], half = size // 2
    cdef Py_ssize_t n_rows = image.shape[0], n_cols = image.shape[1], s, i, j, r, c
    for s in prange(n, nogil=True, schedule="static",
                    use_threads_if=n * size * size >= BILINEAR_THREADED):
        for i in range(size):
            r = rows[s] + i - half
            for j in range(size):
                c = cols[s] + j - half
                if (r < 0 or r >= n_rows or c < 0 or c >= n_cols
                        or (bits != 0 and (mask[r, c] & bits) != 0)):
                    stamps[s, i, j] = 0
                    variances[s, i, j] = 0
                elif subtract_background:
                    stamps[s, i, j] = image[r, c] - _bilinear(
                        grid, row_lo, row_hi, row_frac, col_lo, col_hi, col_frac, r, c)
                    variances[s, i, j] = variance[r, c]
                else:
                    stamps[s, i, j] = image[r, c]
                    variances[s, i, j] = variance[r, c]


ctypedef fused pixel_t:
    unsigned char
    unsigned int
    float


def gather_stamps(const pixel_t[:, :] array, const Py_ssize_t[::1] ix, const Py_ssize_t[::1] iy,
                  Py_ssize_t half, pixel_t fill, pixel_t[:, :, ::1] out):
    """``out[i]`` = the ``2 half + 1`` square of ``array`` centred on ``(iy[i], ix[i])``,
    ``fill`` where it lies outside ``array`` (`diffim.measure.stamps.gather`'s loop;
    `stamp_pixels` is its image-and-variance kind, with bad pixels and a background)."""
    cdef Py_ssize_t n_rows = array.shape[0]
    cdef Py_ssize_t n_cols = array.shape[1]
    cdef Py_ssize_t size = 2 * half + 1
    cdef Py_ssize_t i, a, b, row, col
    with nogil:
        for i in range(ix.shape[0]):
            for a in range(size):
                row = iy[i] + a - half
                for b in range(size):
                    col = ix[i] + b - half
                    if 0 <= row < n_rows and 0 <= col < n_cols:
                        out[i, a, b] = array[row, col]
                    else:
                        out[i, a, b] = fill


def strided_good_values(const float[:, ::1] plane, const unsigned char[:, ::1] good,
                        Py_ssize_t max_samples):
    """``plane[good][::step]`` with ``step = max(1, good.sum() // max_samples)``,
    without gathering every good pixel first.

    Rows in parallel: each row's count of good pixels gives, by a prefix sum,
    the index of its first good pixel in ``plane[good]``, hence its first
    sample and where that goes; no division per pixel.
    """
    cdef Py_ssize_t n_rows = plane.shape[0], n_cols = plane.shape[1], r, c
    cdef Py_ssize_t count, step, skip, n
    row_counts = np.zeros(n_rows, dtype=np.intp)
    cdef Py_ssize_t[::1] counts = row_counts
    for r in prange(n_rows, nogil=True, schedule="static"):
        for c in range(n_cols):
            counts[r] += good[r, c] != 0
    starts_np = np.concatenate([[0], np.cumsum(row_counts)])
    cdef const Py_ssize_t[::1] starts = starts_np
    count = starts[n_rows]
    step = max(1, count // max_samples)
    values = np.empty((count + step - 1) // step, dtype=np.float32)
    cdef float[::1] out = values
    for r in prange(n_rows, nogil=True, schedule="static"):
        # Good pixels of this row before its first sample, and that sample's place.
        skip = (step - starts[r] % step) % step
        n = (starts[r] + step - 1) // step
        for c in range(n_cols):
            if good[r, c]:
                if skip == 0:
                    out[n] = plane[r, c]
                    n = n + 1
                    skip = step - 1
                else:
                    skip = skip - 1
    return values


def bilinear_plane(const float[:, ::1] grid, const int[::1] row_lo, const int[::1] row_hi,
                   const float[::1] row_frac, const int[::1] col_lo, const int[::1] col_hi,
                   const float[::1] col_frac, float[:, ::1] out):
    """`bilinear_at` at every pixel of ``out``, rows in parallel."""
    cdef Py_ssize_t n_rows = out.shape[0], n_cols = out.shape[1], r, c
    cdef float cf, rf, top, bottom
    cdef float one = 1  # a float: Cython writes the literal 1 - x as the double 1.0 - x
    for r in prange(n_rows, nogil=True, schedule="static"):
        rf = row_frac[r]
        for c in range(n_cols):
            cf = col_frac[c]
            top = grid[row_lo[r], col_lo[c]] * (one - cf) + grid[row_lo[r], col_hi[c]] * cf
            bottom = grid[row_hi[r], col_lo[c]] * (one - cf) + grid[row_hi[r], col_hi[c]] * cf
            out[r, c] = top * (one - rf) + bottom * rf
