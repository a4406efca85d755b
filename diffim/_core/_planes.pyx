"""Whole-plane checks and updates in one pass, without image-sized temporaries.

Private module; its callers (`diffim.subtract`, `diffim.psfmatch`) check the
arguments. numpy spells each of these as a chain of full-size boolean and
float temporaries (``np.isfinite``, ``np.where``, ``~``, ``&``); at 4k every
one is 16-64 MB that the kernel must hand out and zero. The loops are
memory-bound and parallel over rows.
"""
cimport cython
from cython.parallel cimport prange
from libc.math cimport isfinite


def all_finite(const float[:, :] plane):
    """Whether every pixel of ``plane`` is finite."""
    cdef Py_ssize_t n_rows = plane.shape[0], n_cols = plane.shape[1], r, c
    cdef Py_ssize_t bad = 0
    for r in prange(n_rows, nogil=True, schedule="static"):
        for c in range(n_cols):
            if not isfinite(plane[r, c]):
                bad += 1
    return bad == 0


def zeroed_copy(const float[:, :] plane, const unsigned int[:, :] mask, unsigned int bits,
                float[:, ::1] out):
    """``out = plane`` with 0 where ``mask & bits``; returns the count of other non-finite pixels."""
    cdef Py_ssize_t n_rows = plane.shape[0], n_cols = plane.shape[1], r, c
    cdef Py_ssize_t unexplained = 0
    cdef float value
    for r in prange(n_rows, nogil=True, schedule="static"):
        for c in range(n_cols):
            value = plane[r, c]
            if mask[r, c] & bits:
                out[r, c] = 0.0
            else:
                out[r, c] = value
                if not isfinite(value):
                    unexplained += 1
    return unexplained


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


def add_outer(float[:, ::1] out, float coefficient, const double[::1] y_values,
              const double[::1] x_values):
    """``out += coefficient * float32(outer(y_values, x_values))`` (numpy's rounding order)."""
    cdef Py_ssize_t n_rows = out.shape[0], n_cols = out.shape[1], r, c
    cdef double y
    for r in prange(n_rows, nogil=True, schedule="static"):
        y = y_values[r]
        for c in range(n_cols):
            out[r, c] = out[r, c] + coefficient * <float> (y * x_values[c])
