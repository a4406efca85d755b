"""Mask-plane tests and updates in one pass: the inner loops of `diffim.mask.Mask`.

Private module; call it through `Mask.get`, `Mask.set` and `Mask.count`. numpy's
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


cdef extern from *:
    """
    /* Pixels of a contiguous row with any of bits set: branch-free, so vectorised. */
    static Py_ssize_t mask_count_row(const unsigned int *row, unsigned int bits, Py_ssize_t n)
    {
        Py_ssize_t i;
        unsigned int count = 0;
        for (i = 0; i < n; i++)
            count += (row[i] & bits) != 0;
        return count;
    }

    /* out[i] |= to where source[i] & from, for a contiguous row: branch-free, vectorised. */
    static void mask_or_where_row(unsigned int *out, const unsigned int *source,
                                  unsigned int from, unsigned int to, Py_ssize_t n)
    {
        Py_ssize_t i;
        for (i = 0; i < n; i++)
            out[i] |= (0u - (unsigned int) ((source[i] & from) != 0)) & to;
    }
    """
    Py_ssize_t _count_row "mask_count_row" (const unsigned int *row, unsigned int bits,
                                            Py_ssize_t n) noexcept nogil
    void _or_where_row "mask_or_where_row" (unsigned int *out, const unsigned int *source,
                                            unsigned int from_bits, unsigned int to_bits,
                                            Py_ssize_t n) noexcept nogil


def count_any_bits(const unsigned int[:, :] array, unsigned int bits):
    """Number of elements of ``array`` with any of ``bits`` set (no boolean plane made)."""
    cdef Py_ssize_t n_rows = array.shape[0]
    cdef Py_ssize_t n_cols = array.shape[1]
    cdef Py_ssize_t r, c, count = 0
    with nogil:
        for r in range(n_rows):
            if array.strides[1] == sizeof(unsigned int):
                count += _count_row(&array[r, 0], bits, n_cols)
            else:
                for c in range(n_cols):
                    count += (array[r, c] & bits) != 0
    return count


def or_moved_bits(unsigned int[:, ::1] out, const unsigned int[:, :] base,
                  const unsigned int[:, ::1] first, const unsigned int[::1] first_from,
                  const unsigned int[::1] first_to, const unsigned int[:, ::1] second,
                  const unsigned int[::1] second_from, const unsigned int[::1] second_to):
    """``out = base``, plus bit ``first_to[k]`` where ``first & first_from[k]``, likewise for
    ``second``: planes of two masks copied onto a third under their new bits, in one pass
    over the rows (each row's moves run over it while it is in cache).

    ``out`` may be ``base``; all are the same shape.
    """
    cdef Py_ssize_t n_rows = out.shape[0]
    cdef Py_ssize_t n_cols = out.shape[1]
    cdef Py_ssize_t r, c, k
    with nogil:
        for r in range(n_rows):
            if &out[r, 0] != &base[r, 0]:
                for c in range(n_cols):
                    out[r, c] = base[r, c]
            for k in range(first_from.shape[0]):
                _or_where_row(&out[r, 0], &first[r, 0], first_from[k], first_to[k], n_cols)
            for k in range(second_from.shape[0]):
                _or_where_row(&out[r, 0], &second[r, 0], second_from[k], second_to[k], n_cols)
