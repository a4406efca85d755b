"""Pixel-integrated elliptical profiles: the inner loops of ``diffim.psf``.

Private module; call it through `diffim.psf.render`, which checks arguments.

A profile is a function of the quadratic form ``q = r^T A r`` of the offset
``r`` from the centre: ``exp(-q / 2)`` (Gaussian) or ``(1 + q)^-beta``
(Moffat, written ``exp(-beta * log1p(q))`` so that huge ``beta`` with tiny
``A``, the Gaussian limit the PSF fitter walks into, stays accurate). Each
pixel receives the integral of the profile over its unit square, computed
with a tensor-product Gauss-Legendre rule whose nodes and weights the caller
supplies on ``[-0.5, 0.5]``.
"""
from libc.math cimport exp, log1p

PROFILE_GAUSSIAN = 0
PROFILE_MOFFAT = 1


cdef inline double _profile(double q, int kind, double beta) noexcept nogil:
    if kind == 0:
        return exp(-0.5 * q)
    return exp(-beta * log1p(q))


def add_elliptical_profile(double[:, ::1] out, double x_centre, double y_centre,
                           double a_xx, double a_xy, double a_yy,
                           int kind, double beta, double amplitude,
                           const double[::1] nodes, const double[::1] weights):
    """Add ``amplitude`` times the pixel integrals of a profile to ``out``.

    ``out[iy, ix]`` covers the unit square centred on ``(ix, iy)``;
    ``(x_centre, y_centre)`` is the profile centre in the same array frame.
    """
    cdef Py_ssize_t n_rows = out.shape[0]
    cdef Py_ssize_t n_cols = out.shape[1]
    cdef Py_ssize_t n_nodes = nodes.shape[0]
    cdef Py_ssize_t iy, ix, a, b
    cdef double dx, dy, q, row_sum, total
    with nogil:
        for iy in range(n_rows):
            for ix in range(n_cols):
                total = 0.0
                for a in range(n_nodes):
                    dy = iy + nodes[a] - y_centre
                    row_sum = 0.0
                    for b in range(n_nodes):
                        dx = ix + nodes[b] - x_centre
                        q = a_xx * dx * dx + 2.0 * a_xy * dx * dy + a_yy * dy * dy
                        row_sum = row_sum + weights[b] * _profile(q, kind, beta)
                    total = total + weights[a] * row_sum
                out[iy, ix] += amplitude * total


def moffat_with_gradient(double[:, ::1] out, double[:, :, ::1] gradient,
                         double x_centre, double y_centre,
                         double a_xx, double a_xy, double a_yy, double beta,
                         const double[::1] nodes, const double[::1] weights):
    """Pixel integrals of ``(1 + q)^-beta`` and of its parameter derivatives.

    Overwrites ``out`` with the integrals (peak value 1) and ``gradient[k]``
    with their derivatives with respect to, in order: ``x_centre``,
    ``y_centre``, ``a_xx``, ``a_xy``, ``a_yy`` and ``beta``. Integration and
    differentiation commute, so each node contributes its own derivatives.
    """
    cdef Py_ssize_t n_rows = out.shape[0]
    cdef Py_ssize_t n_cols = out.shape[1]
    cdef Py_ssize_t n_nodes = nodes.shape[0]
    cdef Py_ssize_t iy, ix, a, b
    cdef double dx, dy, q, log_term, value, weight, d_value_d_q
    cdef double s_f, s_x, s_y, s_xx, s_xy, s_yy, s_beta
    with nogil:
        for iy in range(n_rows):
            for ix in range(n_cols):
                s_f = 0.0
                s_x = 0.0
                s_y = 0.0
                s_xx = 0.0
                s_xy = 0.0
                s_yy = 0.0
                s_beta = 0.0
                for a in range(n_nodes):
                    dy = iy + nodes[a] - y_centre
                    for b in range(n_nodes):
                        dx = ix + nodes[b] - x_centre
                        weight = weights[a] * weights[b]
                        q = a_xx * dx * dx + 2.0 * a_xy * dx * dy + a_yy * dy * dy
                        log_term = log1p(q)
                        value = weight * exp(-beta * log_term)
                        d_value_d_q = -beta * value / (1.0 + q)
                        s_f = s_f + value
                        s_x = s_x - 2.0 * d_value_d_q * (a_xx * dx + a_xy * dy)
                        s_y = s_y - 2.0 * d_value_d_q * (a_xy * dx + a_yy * dy)
                        s_xx = s_xx + d_value_d_q * dx * dx
                        s_xy = s_xy + 2.0 * d_value_d_q * dx * dy
                        s_yy = s_yy + d_value_d_q * dy * dy
                        s_beta = s_beta - log_term * value
                out[iy, ix] = s_f
                gradient[0, iy, ix] = s_x
                gradient[1, iy, ix] = s_y
                gradient[2, iy, ix] = s_xx
                gradient[3, iy, ix] = s_xy
                gradient[4, iy, ix] = s_yy
                gradient[5, iy, ix] = s_beta
