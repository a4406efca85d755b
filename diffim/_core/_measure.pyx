"""The significance image of detection: the inner loops of ``diffim.measure.footprints``.

Private module; call it through `diffim.measure.footprints.significance_image`,
which checks and converts the arguments.

The image is correlated with a separable kernel (zero outside the image),
first along rows, then along columns; the column pass walks whole rows so
the inner loop runs over contiguous memory. Both passes are parallel over
rows. Then each usable pixel is divided by its noise ``sqrt(power * var)``.
"""
from cython.parallel cimport prange
from libc.math cimport sqrt


def significance(const float[:, ::1] image, const float[:, ::1] variance,
                 const unsigned char[:, ::1] good, const double[::1] kernel, double power,
                 float[:, ::1] work, float[:, ::1] out):
    """Write ``(k (x) k) * (image * good) / sqrt(power * variance)`` to ``out``.

    ``kernel`` has odd length; ``work`` is scratch of the image's shape.
    Pixels that are not ``good`` or have ``variance <= 0`` get 0.
    """
    cdef Py_ssize_t n_rows = image.shape[0]
    cdef Py_ssize_t n_cols = image.shape[1]
    cdef Py_ssize_t half = kernel.shape[0] // 2
    cdef Py_ssize_t r, c, k, lo, hi, source
    cdef float total, weight, noise
    with nogil:
        for r in prange(n_rows, schedule="static"):
            for c in range(n_cols):
                total = 0.0
                lo = half - c if c < half else 0
                hi = n_cols - c + half if c + half >= n_cols else 2 * half + 1
                for k in range(lo, hi):
                    source = c + k - half
                    if good[r, source]:
                        total = total + <float>kernel[k] * image[r, source]
                work[r, c] = total
        for r in prange(n_rows, schedule="static"):
            for c in range(n_cols):
                out[r, c] = 0.0
            for k in range(2 * half + 1):
                source = r + k - half
                if source < 0 or source >= n_rows:
                    continue
                weight = <float>kernel[k]
                for c in range(n_cols):
                    out[r, c] = out[r, c] + weight * work[source, c]
            for c in range(n_cols):
                noise = <float>power * variance[r, c]
                if good[r, c] and noise > 0:
                    out[r, c] = out[r, c] / sqrt(noise)
                else:
                    out[r, c] = 0.0
