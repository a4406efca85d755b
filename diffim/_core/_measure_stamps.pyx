"""Square stamps of many sources out of one image: the inner loop of
``diffim.measure.stamps.gather``.

Private module; call it through `diffim.measure.stamps.gather`, which checks
and converts the arguments.
"""

ctypedef fused pixel_t:
    unsigned char
    unsigned int
    float


def gather_stamps(const pixel_t[:, :] array, const Py_ssize_t[::1] ix, const Py_ssize_t[::1] iy,
                  Py_ssize_t half, pixel_t fill, pixel_t[:, :, ::1] out):
    """``out[i]`` = the ``2 half + 1`` square of ``array`` centred on ``(iy[i], ix[i])``,
    ``fill`` where it lies outside ``array``."""
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
