"""One axis of a separable sub-pixel shift: the inner loop of ``diffim.psf.pixel.shift_image``.

Private module; call it through that function, which computes the taps.
Each output pixel sums ``weights[t] * image[p - (t - order)]`` over the taps in
order, zero beyond the edges and taps of weight zero skipped: the operations,
and so the bits, of the numpy version (a padded copy and one ``take`` per
tap), without its dozen temporaries per stamp.
"""
cimport cython


def shift_axis(const double[:, :] image, const double[::1] weights, int axis,
               double[:, ::1] out):
    """``out`` = ``image`` correlated with the centred ``weights`` along ``axis`` (0: rows)."""
    cdef Py_ssize_t n_rows = image.shape[0], n_cols = image.shape[1]
    cdef Py_ssize_t order = (weights.shape[0] - 1) // 2, n_taps = weights.shape[0]
    cdef Py_ssize_t r, c, t, source, length = n_rows if axis == 0 else n_cols
    cdef double acc, w, value
    with nogil:
        for r in range(n_rows):
            for c in range(n_cols):
                acc = 0.0
                for t in range(n_taps):
                    w = weights[t]
                    if w != 0.0:
                        source = (r if axis == 0 else c) - (t - order)
                        if 0 <= source < length:
                            value = image[source, c] if axis == 0 else image[r, source]
                        else:
                            value = 0.0
                        acc = acc + w * value
                out[r, c] = acc
