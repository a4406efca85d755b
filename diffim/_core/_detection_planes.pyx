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


def clear_and_unmasked(unsigned int[:, ::1] mask, unsigned int cleared, unsigned int excluded,
                       unsigned char[:, ::1] unmasked):
    """``mask &= ~cleared``, then ``unmasked = (mask & excluded) == 0``."""
    cdef Py_ssize_t n_rows = mask.shape[0]
    cdef Py_ssize_t n_cols = mask.shape[1]
    cdef Py_ssize_t r, c
    cdef unsigned int kept = ~cleared
    with nogil:
        for r in prange(n_rows, schedule="dynamic", chunksize=64):
            for c in range(n_cols):
                mask[r, c] = mask[r, c] & kept
                unmasked[r, c] = (mask[r, c] & excluded) == 0


def mark_detections(unsigned int[:, ::1] mask, unsigned int positive_bit,
                    unsigned int negative_bit, const unsigned char[:, ::1] positive,
                    const unsigned char[:, ::1] negative, const unsigned char[:, ::1] counted,
                    unsigned int excluded, unsigned char[:, ::1] unmasked):
    """Set ``positive_bit`` where ``positive`` and ``negative_bit`` where ``negative``, then
    ``unmasked = (mask & excluded) == 0``; return how many ``counted`` pixels have
    either bit, and how many pixels are ``counted``."""
    cdef Py_ssize_t n_rows = mask.shape[0]
    cdef Py_ssize_t n_cols = mask.shape[1]
    cdef Py_ssize_t r, c
    cdef Py_ssize_t n_detected = 0, n_counted = 0
    cdef unsigned int value
    cdef unsigned int detected = positive_bit | negative_bit
    with nogil:
        for r in prange(n_rows, schedule="dynamic", chunksize=64):
            for c in range(n_cols):
                value = (mask[r, c] | (positive_bit if positive[r, c] else 0)
                         | (negative_bit if negative[r, c] else 0))
                mask[r, c] = value
                unmasked[r, c] = (value & excluded) == 0
                n_counted += counted[r, c] != 0
                n_detected += counted[r, c] != 0 and (value & detected) != 0
    return n_detected, n_counted
