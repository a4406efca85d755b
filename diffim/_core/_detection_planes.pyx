"""The mask passes of DIA-source detection, each fused into one pass over the mask.

Private module; call it through `diffim.measure.detection_planes`, which
checks and converts the arguments. Rows are shared among threads; the
counts are integers, so they do not depend on the thread count.

- `clear_and_unmasked`: clear the detection planes, and mark the pixels
  with none of the excluded planes (the pixels detection may use).
- `mark_detections`: set the detection planes from the grown detections,
  count the detected pixels among the counted ones and those, and mark the
  pixels with none of the measurement's excluded planes.
"""
from cython.parallel cimport prange


cdef extern from *:
    """
    /* Row loops over restrict pointers, branch-free: a byte store may alias a mask word
       as far as C knows, and without restrict the compiler reloads and never vectorises. */
    static void planes_clear_row(unsigned int *restrict mask, unsigned char *restrict unmasked,
                                 unsigned int kept, unsigned int excluded, Py_ssize_t n) {
        for (Py_ssize_t i = 0; i < n; i++) {
            unsigned int value = mask[i] & kept;
            mask[i] = value;
            unmasked[i] = (value & excluded) == 0;
        }
    }

    /* Adds the row's counted pixels with a detection bit to *detected, its counted pixels
       to *counted_total (a row's counts fit in 32 bits). */
    static void planes_mark_row(unsigned int *restrict mask,
                                const unsigned char *restrict positive,
                                const unsigned char *restrict negative,
                                const unsigned char *restrict counted,
                                unsigned int positive_bit, unsigned int negative_bit,
                                unsigned int excluded, unsigned char *restrict unmasked,
                                Py_ssize_t n, Py_ssize_t *detected, Py_ssize_t *counted_total) {
        unsigned int n_detected = 0, n_counted = 0;
        const unsigned int either = positive_bit | negative_bit;
        for (Py_ssize_t i = 0; i < n; i++) {
            unsigned int value = mask[i] | ((0u - (positive[i] != 0)) & positive_bit)
                                 | ((0u - (negative[i] != 0)) & negative_bit);
            unsigned int is_counted = counted[i] != 0;
            mask[i] = value;
            unmasked[i] = (value & excluded) == 0;
            n_counted += is_counted;
            n_detected += is_counted & ((value & either) != 0);
        }
        *detected += n_detected;
        *counted_total += n_counted;
    }
    """
    void _clear_row "planes_clear_row" (unsigned int* mask, unsigned char* unmasked,
                                        unsigned int kept, unsigned int excluded,
                                        Py_ssize_t n) noexcept nogil
    void _mark_row "planes_mark_row" (unsigned int* mask, const unsigned char* positive,
                                      const unsigned char* negative,
                                      const unsigned char* counted, unsigned int positive_bit,
                                      unsigned int negative_bit, unsigned int excluded,
                                      unsigned char* unmasked, Py_ssize_t n,
                                      Py_ssize_t* detected,
                                      Py_ssize_t* counted_total) noexcept nogil


def clear_and_unmasked(unsigned int[:, ::1] mask, unsigned int cleared, unsigned int excluded,
                       unsigned char[:, ::1] unmasked):
    """``mask &= ~cleared``, then ``unmasked = (mask & excluded) == 0``."""
    cdef Py_ssize_t n_rows = mask.shape[0]
    cdef Py_ssize_t n_cols = mask.shape[1]
    cdef Py_ssize_t r
    if n_cols == 0:
        return
    with nogil:
        for r in prange(n_rows, schedule="dynamic", chunksize=64):
            _clear_row(&mask[r, 0], &unmasked[r, 0], ~cleared, excluded, n_cols)


def mark_detections(unsigned int[:, ::1] mask, unsigned int positive_bit,
                    unsigned int negative_bit, const unsigned char[:, ::1] positive,
                    const unsigned char[:, ::1] negative, const unsigned char[:, ::1] counted,
                    unsigned int excluded, unsigned char[:, ::1] unmasked):
    """Set ``positive_bit`` where ``positive`` and ``negative_bit`` where ``negative``, then
    ``unmasked = (mask & excluded) == 0``; return how many ``counted`` pixels have
    either bit, and how many pixels are ``counted``."""
    cdef Py_ssize_t n_rows = mask.shape[0]
    cdef Py_ssize_t n_cols = mask.shape[1]
    cdef Py_ssize_t r, row_detected, row_counted
    cdef Py_ssize_t n_detected = 0, n_counted = 0
    if n_cols == 0:
        return 0, 0
    with nogil:
        for r in prange(n_rows, schedule="dynamic", chunksize=64):
            row_detected = 0
            row_counted = 0
            _mark_row(&mask[r, 0], &positive[r, 0], &negative[r, 0], &counted[r, 0],
                      positive_bit, negative_bit, excluded, &unmasked[r, 0], n_cols,
                      &row_detected, &row_counted)
            n_detected += row_detected
            n_counted += row_counted
    return n_detected, n_counted
