"""Exact medians of per-pixel values over whole images, by bucket counts.

Private module; call it through `diffim.image.pixel_medians`, which checks
the arguments. A non-negative double, or a float with its sign bit flipped
(all its bits when negative), orders as an unsigned integer as the number
does; the top 16 bits of that key put each value in one of 65536 ordered
buckets. `bucket_counts` counts each cell's buckets in one pass, which
locates the bucket of any rank; `gather` then copies only the values of the
wanted buckets (a small fraction) for numpy to partition. The values are
``image`` (``absolute``: ``|image|``), or ``image / sqrt(variance)`` in float32
as numpy computes it; with a finite ``centre``, their float64 distances
``|value - centre|`` instead. Cells run in parallel, each with its own counts.
"""
from cython.parallel cimport prange
from libc.math cimport fabs, fabsf, isnan, sqrtf
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy


cdef inline double _value(float image, float variance, bint absolute, double centre,
                          bint deviation) noexcept nogil:
    cdef float value = fabsf(image) if absolute else image / sqrtf(variance)
    if deviation:
        return fabs(<double> value - centre)
    return value


cdef inline uint32_t _bucket(double value, bint deviation) noexcept nogil:
    """Top 16 bits of the order-preserving key: of the float32 value, or of a
    non-negative double distance."""
    cdef float single
    cdef uint32_t bits
    cdef uint64_t wide
    if deviation:
        memcpy(&wide, &value, 8)
        return <uint32_t> (wide >> 48)
    single = <float> value
    memcpy(&bits, &single, 4)
    if bits >> 31:
        bits = ~bits
    else:
        bits = bits | 0x80000000u
    return bits >> 16


def bucket_counts(const float[:, ::1] image, const float[:, ::1] variance,
                  const unsigned char[:, ::1] good, const Py_ssize_t[::1] row_edges,
                  const Py_ssize_t[::1] col_edges, bint absolute, double centre, double clip,
                  unsigned int[:, ::1] counts, double[:, ::1] extras):
    """Count the good values of each cell per bucket.

    ``counts`` is ``(n_cells, 65536)``, zeroed, cells in row-major order of
    the grid ``row_edges`` x ``col_edges``. ``extras[cell]`` receives the sum
    and the number of values with ``|value| <= clip``, and the number of NaN
    values (not counted in any bucket). ``centre`` NaN: the values themselves.
    """
    cdef Py_ssize_t n_cell_cols = col_edges.shape[0] - 1
    cdef Py_ssize_t n_cells = (row_edges.shape[0] - 1) * n_cell_cols
    cdef Py_ssize_t cell, i, j, r, c
    cdef bint deviation = not isnan(centre)
    cdef double value, total, kept, nan
    # Raw pointers: through the memoryviews every store reloads their fields.
    cdef Py_ssize_t width = image.shape[1]
    cdef const float *pixels = &image[0, 0]
    cdef const float *variances = &variance[0, 0]
    cdef const unsigned char *usable = &good[0, 0]
    cdef unsigned int *buckets = &counts[0, 0]
    for cell in prange(n_cells, nogil=True, schedule="dynamic"):
        i = cell // n_cell_cols
        j = cell % n_cell_cols
        total = 0.0
        kept = 0.0
        nan = 0.0
        for r in range(row_edges[i], row_edges[i + 1]):
            for c in range(col_edges[j], col_edges[j + 1]):
                if not usable[r * width + c]:
                    continue
                value = _value(pixels[r * width + c], variances[r * width + c], absolute, centre,
                               deviation)
                if isnan(value):
                    nan = nan + 1.0
                    continue
                buckets[cell * 65536 + _bucket(value, deviation)] += 1
                if fabs(value) <= clip:
                    total = total + value
                    kept = kept + 1.0
        extras[cell, 0] = total
        extras[cell, 1] = kept
        extras[cell, 2] = nan


def gather(const float[:, ::1] image, const float[:, ::1] variance,
           const unsigned char[:, ::1] good, const Py_ssize_t[::1] row_edges,
           const Py_ssize_t[::1] col_edges, bint absolute, double centre,
           const unsigned int[:, ::1] ranges, const Py_ssize_t[:, ::1] offsets,
           double[::1] out):
    """Copy the good values of each cell that fall in its two bucket ranges.

    ``ranges[cell]`` is ``(first, last, first, last)``: two inclusive bucket
    ranges (an empty one is ``(65536, 65536)``); the values of range ``s`` go
    to ``out`` from ``offsets[cell, s]`` on (the caller sizes them from
    `bucket_counts`), in pixel order.
    """
    cdef Py_ssize_t n_cell_cols = col_edges.shape[0] - 1
    cdef Py_ssize_t n_cells = (row_edges.shape[0] - 1) * n_cell_cols
    cdef Py_ssize_t cell, i, j, r, c, first, second
    cdef bint deviation = not isnan(centre)
    cdef double value
    cdef uint32_t bucket, low_first, span_first, low_second, span_second
    cdef Py_ssize_t width = image.shape[1]
    cdef const float *pixels = &image[0, 0]
    cdef const float *variances = &variance[0, 0]
    cdef const unsigned char *usable = &good[0, 0]
    cdef double *values = &out[0]
    for cell in prange(n_cells, nogil=True, schedule="dynamic"):
        i = cell // n_cell_cols
        j = cell % n_cell_cols
        first = offsets[cell, 0]
        second = offsets[cell, 1]
        # In locals, and raw pointers above: through the memoryviews they would
        # be reloaded after each store to ``out``, which might alias them.
        low_first = ranges[cell, 0]
        span_first = ranges[cell, 1] - low_first
        low_second = ranges[cell, 2]
        span_second = ranges[cell, 3] - low_second
        for r in range(row_edges[i], row_edges[i + 1]):
            for c in range(col_edges[j], col_edges[j + 1]):
                if not usable[r * width + c]:
                    continue
                value = _value(pixels[r * width + c], variances[r * width + c], absolute, centre,
                               deviation)
                if isnan(value):
                    continue
                bucket = _bucket(value, deviation)
                # One unsigned comparison per range (below ``low`` wraps
                # around): two would be mispredicted half the time.
                if <uint32_t> (bucket - low_first) <= span_first:
                    values[first] = value
                    first = first + 1
                if <uint32_t> (bucket - low_second) <= span_second:
                    values[second] = value
                    second = second + 1
