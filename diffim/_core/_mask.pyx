"""Mask-plane tests and updates in one pass: the inner loops of `diffim.mask.Mask`.

Private module; call it through `Mask.get` and `Mask.set`. numpy's
``(array & bits) != 0`` makes an image-sized uint32 temporary before the
boolean (80 MB and two passes for a 4k mask); these loops write the result
directly. They are memory-bound: one thread is as fast as two, and costs
less CPU.
"""


def any_bits(const unsigned int[:, :] array, unsigned int bits, unsigned char[:, ::1] out):
    """``out = (array & bits) != 0`` (``out`` a uint8 view of a boolean array)."""
    cdef Py_ssize_t n_rows = array.shape[0]
    cdef Py_ssize_t n_cols = array.shape[1]
    cdef Py_ssize_t r, c
    with nogil:
        for r in range(n_rows):
            for c in range(n_cols):
                out[r, c] = (array[r, c] & bits) != 0


def set_bits(unsigned int[:, :] array, unsigned int bits, const unsigned char[:, :] where):
    """``array |= bits`` where ``where`` (a uint8 view of a boolean array) is set."""
    cdef Py_ssize_t n_rows = array.shape[0]
    cdef Py_ssize_t n_cols = array.shape[1]
    cdef Py_ssize_t r, c
    with nogil:
        for r in range(n_rows):
            for c in range(n_cols):
                if where[r, c]:
                    array[r, c] = array[r, c] | bits
