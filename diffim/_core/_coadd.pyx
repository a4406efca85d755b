"""Weighted-mean accumulation of coadd inputs: the inner loop of ``diffim.coadd.combine``.

Private module; call it through `diffim.coadd.combine.combine_mean`.

`accumulate` adds one input to three float64 sums where its ``usable``
flag is set::

    sum_image += w * image,   sum_variance += w^2 * variance,   weight_sum += w

and `finish` divides: ``image = sum_image / weight_sum``, ``variance =
sum_variance / weight_sum^2``, or NaN and +inf where ``weight_sum`` is 0.
One pass per input, no temporaries: numpy's ``where`` would make four
full-size arrays per input.
"""
from cython.parallel cimport prange
from libc.math cimport INFINITY, NAN
from libc.stdint cimport uint8_t


def accumulate(const float[:, ::1] image, const float[:, ::1] variance,
               const uint8_t[:, ::1] usable, double weight, double[:, ::1] sum_image,
               double[:, ::1] sum_variance, double[:, ::1] weight_sum, int threads):
    """Add one input, weighted by ``weight``, to the sums where ``usable`` is non-zero."""
    cdef Py_ssize_t n_rows = image.shape[0], n_cols = image.shape[1], row, column
    cdef double weight_squared = weight * weight
    with nogil:
        for row in prange(n_rows, num_threads=threads, schedule="static"):
            for column in range(n_cols):
                if usable[row, column]:
                    sum_image[row, column] += weight * image[row, column]
                    sum_variance[row, column] += weight_squared * variance[row, column]
                    weight_sum[row, column] += weight


def finish(const double[:, ::1] sum_image, const double[:, ::1] sum_variance,
           const double[:, ::1] weight_sum, float[:, ::1] image, float[:, ::1] variance,
           int threads):
    """Normalise the sums into ``image`` and ``variance`` (NaN, +inf where no weight)."""
    cdef Py_ssize_t n_rows = image.shape[0], n_cols = image.shape[1], row, column
    cdef double total
    with nogil:
        for row in prange(n_rows, num_threads=threads, schedule="static"):
            for column in range(n_cols):
                total = weight_sum[row, column]
                if total > 0.0:
                    image[row, column] = <float>(sum_image[row, column] / total)
                    variance[row, column] = <float>(sum_variance[row, column] / (total * total))
                else:
                    image[row, column] = NAN
                    variance[row, column] = INFINITY
