"""Resampling of an image, its variance and its mask: the inner loop of ``diffim.warp``.

Private module; call it through `diffim.warp.warp_exposure`, which checks
arguments and computes the coordinate grid.

For target pixel ``(column c, row r)`` the source position ``(u, v)`` (array
coordinates of the input: pixel centres at integers) is interpolated
bilinearly from a grid of exact positions known every ``step`` pixels:
node ``(i, j)`` holds the position of target pixel ``(i * step, j * step)``.
The grid must have ``(n_rows - 1) // step + 2`` rows and
``(n_cols - 1) // step + 2`` columns so that every pixel has four nodes.

With separable weights ``wx`` (taps ``p``) and ``wy`` (taps ``q``), each set
normalised to sum 1,

    image[r, c]    = det * sum_{p, q} wx[p] wy[q] in_image[q, p]
    variance[r, c] = det^2 * sum_{p, q} wx[p]^2 wy[q]^2 in_variance[q, p]
    mask[r, c]     = OR over the mask kernel's footprint of in_mask[q, p]

where ``det`` (the ratio of target to source pixel areas, interpolated
like the positions) keeps the counts of a source constant. Lanczos weights
come from a table of ``TABLE_STEPS + 1`` fractions per pixel, interpolated
linearly (see `_taps`); bilinear weights are exact. A fraction
within ``snap`` of 0 or 1 is rounded to the pixel centre, where a kernel
has the single tap 1: the WCS round trip leaves ~1e-10 px of noise on
positions that are exact integers, and without the snap an integer shift
would not reproduce its input.

A pixel whose image-kernel footprint (taps of non-zero weight) is not
entirely inside the input, whose position is not finite, or whose weighted
sum is not finite (a NaN input pixel in the footprint), gets image NaN,
variance +inf and mask ``no_data`` only.
"""
from cython.parallel cimport prange
from libc.math cimport INFINITY, NAN, isfinite
from libc.stdint cimport uint32_t

cdef enum:
    MAX_TAPS = 32
    _FLOOR_OFFSET = 1 << 20
    TABLE_STEPS = 4096


cdef inline int _taps(double position, int half, bint lanczos, double snap,
                      const double *table, int table_steps, double *weights,
                      int *first) noexcept nogil:
    """Normalised weights of the taps around ``position``; returns how many.

    Tap ``k`` weighs input pixel ``first + k``. Lanczos weights are
    interpolated linearly between the rows of ``table`` (``table_steps + 1``
    rows of ``2 half`` normalised weights for fractions ``i / table_steps``):
    a table row costs no trigonometric call and no division, and the
    interpolation error, ``(1 / table_steps)^2 / 8`` times the second
    derivative of a weight (~pi^2), is ~1e-7 at 4096 steps. Interpolated rows
    still sum to 1.
    """
    # Positions are >= -half here; truncation of a positive number is floor.
    cdef int base = <int>(position + _FLOOR_OFFSET) - _FLOOR_OFFSET
    cdef double frac = position - base
    cdef double scaled, lower_weight, upper_weight
    cdef const double *lower
    cdef const double *upper
    cdef int k, n = 2 * half, row
    if frac < snap:
        frac = 0.0
    elif frac > 1.0 - snap:
        base += 1
        frac = 0.0
    if frac == 0.0:
        first[0] = base
        weights[0] = 1.0
        return 1
    first[0] = base - half + 1
    if not lanczos:
        weights[0] = 1.0 - frac
        weights[1] = frac
        return 2
    scaled = frac * table_steps
    row = <int>scaled
    if row >= table_steps:
        row = table_steps - 1
    upper_weight = scaled - row
    lower_weight = 1.0 - upper_weight
    lower = table + row * n
    upper = lower + n
    for k in range(n):
        weights[k] = lower_weight * lower[k] + upper_weight * upper[k]
    return n


cdef inline double _column_value(const double *grid, Py_ssize_t grid_cols,
                                 Py_ssize_t node_row, Py_ssize_t node_col,
                                 double frac_row) noexcept nogil:
    """Grid column ``node_col`` interpolated linearly to ``frac_row`` below ``node_row``."""
    cdef const double *top = grid + node_row * grid_cols + node_col
    return top[0] + frac_row * (top[grid_cols] - top[0])


cdef inline void _no_data(float *image, float *variance, uint32_t *mask,
                          uint32_t no_data) noexcept nogil:
    image[0] = NAN
    variance[0] = INFINITY
    mask[0] = no_data


cdef void _warp_row(Py_ssize_t row, const float *in_image, const float *in_variance,
                    const uint32_t *in_mask, int in_rows, int in_cols,
                    const double *grid_u, const double *grid_v, const double *grid_det,
                    Py_ssize_t grid_cols, int step, int half, bint lanczos, int mask_half,
                    bint mask_lanczos, double snap, const double *table,
                    const double *mask_table, int table_steps, uint32_t no_data,
                    float *out_image,
                    float *out_variance, uint32_t *out_mask,
                    Py_ssize_t out_cols) noexcept nogil:
    """One output row; ``out_*`` point at the row's first pixel, ``in_*`` at the input."""
    cdef double wx[MAX_TAPS]
    cdef double wy[MAX_TAPS]
    cdef double wx2[MAX_TAPS]
    cdef double mwx[MAX_TAPS]
    cdef double mwy[MAX_TAPS]
    cdef int first_x, first_y, n_x, n_y, mfirst_x, mfirst_y, mn_x, mn_y, p, q
    cdef int m_lo_x, m_hi_x, m_lo_y, m_hi_y
    cdef Py_ssize_t column, node_row = row // step, node_col = 0, offset = 0
    cdef double frac_row = (row - node_row * step) / <double>step, frac_col
    cdef double inverse_step = 1.0 / step
    cdef double left_u = 0.0, right_u = 0.0, left_v = 0.0, right_v = 0.0
    cdef double left_det = 0.0, right_det = 0.0
    cdef double u, v, det, row_sum, row_var, value, var
    cdef const float *image_row
    cdef const float *variance_row
    cdef uint32_t bits
    # Walk the grid cells along the row: the two node columns of a cell are
    # interpolated to this row once, and no integer division is done per
    # pixel (a 64-bit division costs as much as a Lanczos tap row).
    for column in range(out_cols):
        if offset == 0:
            left_u = _column_value(grid_u, grid_cols, node_row, node_col, frac_row)
            right_u = _column_value(grid_u, grid_cols, node_row, node_col + 1, frac_row)
            left_v = _column_value(grid_v, grid_cols, node_row, node_col, frac_row)
            right_v = _column_value(grid_v, grid_cols, node_row, node_col + 1, frac_row)
            left_det = _column_value(grid_det, grid_cols, node_row, node_col, frac_row)
            right_det = _column_value(grid_det, grid_cols, node_row, node_col + 1, frac_row)
        frac_col = offset * inverse_step
        offset += 1
        if offset == step:
            offset = 0
            node_col += 1
        u = left_u + frac_col * (right_u - left_u)
        v = left_v + frac_col * (right_v - left_v)
        if not (isfinite(u) and isfinite(v)) or u < -half or v < -half \
                or u > in_cols + half or v > in_rows + half:
            _no_data(out_image + column, out_variance + column, out_mask + column, no_data)
            continue
        n_x = _taps(u, half, lanczos, snap, table, table_steps, wx, &first_x)
        n_y = _taps(v, half, lanczos, snap, table, table_steps, wy, &first_y)
        if first_x < 0 or first_y < 0 or first_x + n_x > in_cols or first_y + n_y > in_rows:
            _no_data(out_image + column, out_variance + column, out_mask + column, no_data)
            continue
        for p in range(n_x):
            wx2[p] = wx[p] * wx[p]
        value = 0.0
        var = 0.0
        for q in range(n_y):
            image_row = in_image + (first_y + q) * <Py_ssize_t>in_cols + first_x
            variance_row = in_variance + (first_y + q) * <Py_ssize_t>in_cols + first_x
            row_sum = 0.0
            row_var = 0.0
            for p in range(n_x):
                row_sum = row_sum + wx[p] * image_row[p]
                row_var = row_var + wx2[p] * variance_row[p]
            value = value + wy[q] * row_sum
            var = var + wy[q] * wy[q] * row_var
        det = left_det + frac_col * (right_det - left_det)
        value = value * det
        var = var * det * det
        if not (isfinite(value) and isfinite(var)):
            _no_data(out_image + column, out_variance + column, out_mask + column, no_data)
            continue
        # The mask footprint is clipped to the image footprint, which is
        # inside the input, so a wide mask kernel cannot read outside it.
        mn_x = _taps(u, mask_half, mask_lanczos, snap, mask_table, table_steps, mwx, &mfirst_x)
        mn_y = _taps(v, mask_half, mask_lanczos, snap, mask_table, table_steps, mwy, &mfirst_y)
        m_lo_x = mfirst_x if mfirst_x > first_x else first_x
        m_hi_x = mfirst_x + mn_x if mfirst_x + mn_x < first_x + n_x else first_x + n_x
        m_lo_y = mfirst_y if mfirst_y > first_y else first_y
        m_hi_y = mfirst_y + mn_y if mfirst_y + mn_y < first_y + n_y else first_y + n_y
        bits = 0
        for q in range(m_lo_y, m_hi_y):
            for p in range(m_lo_x, m_hi_x):
                bits = bits | in_mask[q * <Py_ssize_t>in_cols + p]
        out_image[column] = <float>value
        out_variance[column] = <float>var
        out_mask[column] = bits


cdef inline bint _same_shape(Py_ssize_t *first, Py_ssize_t *second) noexcept:
    return first[0] == second[0] and first[1] == second[1]


def lanczos_table(int half, int steps):
    """Normalised Lanczos-``half`` weights of the ``2 half`` taps, for ``steps + 1`` fractions.

    Row ``i`` is for fraction ``f = i / steps``: tap ``k`` is at distance
    ``d = f + half - 1 - k`` and weighs ``sinc(d) sinc(d / half)``, divided by
    the row sum so that a constant image stays constant.
    """
    import numpy as np
    fractions = np.arange(steps + 1) / steps
    distances = fractions[:, None] + (half - 1 - np.arange(2 * half))[None, :]
    weights = np.sinc(distances) * np.sinc(distances / half)
    weights[np.abs(distances) >= half] = 0.0
    # np.sinc is ~1e-17, not 0, at non-zero integers: make the end rows exact.
    weights[0] = 0.0
    weights[0, half - 1] = 1.0
    weights[steps] = 0.0
    weights[steps, half] = 1.0
    return np.ascontiguousarray(weights / weights.sum(axis=1, keepdims=True))


def warp_planes(const float[:, ::1] in_image, const float[:, ::1] in_variance,
                const uint32_t[:, ::1] in_mask, const double[:, ::1] grid_u,
                const double[:, ::1] grid_v, const double[:, ::1] grid_det, int step,
                int half, bint lanczos, int mask_half, bint mask_lanczos, double snap,
                uint32_t no_data, float[:, ::1] out_image, float[:, ::1] out_variance,
                uint32_t[:, ::1] out_mask, int threads):
    """Fill ``out_*`` by resampling ``in_*``; see the module docstring.

    ``half`` is the kernel half-width (Lanczos order, 1 for bilinear) and must
    be at most 16; ``threads`` OpenMP threads share the rows.
    """
    if not (1 <= half <= MAX_TAPS // 2 and 1 <= mask_half <= MAX_TAPS // 2):
        raise ValueError(f"kernel half-widths must be in 1..{MAX_TAPS // 2}")
    if step < 1:
        raise ValueError("grid step must be >= 1")
    cdef Py_ssize_t n_rows = out_image.shape[0], n_cols = out_image.shape[1]
    if grid_u.shape[0] != (n_rows - 1) // step + 2 or grid_u.shape[1] != (n_cols - 1) // step + 2:
        raise ValueError("coordinate grid has the wrong shape for the output and step")
    if not (_same_shape(grid_v.shape, grid_u.shape) and _same_shape(grid_det.shape, grid_u.shape)):
        raise ValueError("coordinate grids differ in shape")
    if not (_same_shape(in_variance.shape, in_image.shape)
            and _same_shape(in_mask.shape, in_image.shape)):
        raise ValueError("input planes differ in shape")
    if not (_same_shape(out_variance.shape, out_image.shape)
            and _same_shape(out_mask.shape, out_image.shape)):
        raise ValueError("output planes differ in shape")
    if in_image.shape[0] == 0 or in_image.shape[1] == 0:
        raise ValueError("input image is empty")
    cdef int in_rows = in_image.shape[0], in_cols = in_image.shape[1]
    cdef const double[:, ::1] table = lanczos_table(half, TABLE_STEPS)
    cdef const double[:, ::1] mask_table = lanczos_table(mask_half, TABLE_STEPS)
    cdef Py_ssize_t row
    if n_rows == 0 or n_cols == 0:
        return
    for row in prange(n_rows, nogil=True, schedule="dynamic", chunksize=8,
                      num_threads=threads):
        _warp_row(row, &in_image[0, 0], &in_variance[0, 0], &in_mask[0, 0], in_rows, in_cols,
                  &grid_u[0, 0], &grid_v[0, 0], &grid_det[0, 0], grid_u.shape[1], step,
                  half, lanczos, mask_half, mask_lanczos, snap, &table[0, 0],
                  &mask_table[0, 0], TABLE_STEPS, no_data, &out_image[row, 0],
                  &out_variance[row, 0], &out_mask[row, 0], n_cols)
