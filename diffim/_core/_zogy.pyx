"""Per-frequency products of ZOGY: the inner loops of ``diffim.zogy.proper``.

Private module; call it through `diffim.zogy.proper`, which documents the
formulas. Spectra are complex64 arrays seen as float32 ``(ny, 2 * nk)``
views (real, imaginary interleaved); each frequency is independent, so rows
are shared among OpenMP threads and the results do not depend on their
number. One pass reads the four input spectra and writes the four outputs in
their place: no temporaries of image size.
"""
from cython.parallel cimport prange
from libc.math cimport sqrtf


def proper_spectra(float[:, ::1] new, float[:, ::1] ref, float[:, ::1] psf_new,
                   float[:, ::1] psf_ref, float var_new, float var_ref, float flux_ref,
                   float tiny, bint split):
    """In place: ``new`` <- D, ``ref`` <- c_n N, ``psf_new`` <- S_N, ``psf_ref`` <- S_R.

    Without ``split``, ``psf_new`` <- S = S_N - S_R and ``psf_ref`` is left alone.

    With ``den = var_new flux_ref^2 |P_r|^2 + var_ref |P_n|^2``,
    ``c_n = flux_ref P_r / sqrt(den)``, ``c_r = P_n / sqrt(den)`` and
    ``g = conj(c_n P_n)`` (``F_D P_D`` conjugated):
    ``D = c_n N - c_r R``, ``S_N = g c_n N``, ``S_R = g c_r R``. Where ``den``
    is below ``tiny`` both PSFs vanish: the filters take their zero-frequency
    ratio and ``g`` is 0, as the stack does.
    """
    cdef Py_ssize_t rows = new.shape[0]
    cdef Py_ssize_t cols = new.shape[1] // 2
    cdef Py_ssize_t r, c
    cdef float weight_new = var_new * flux_ref * flux_ref
    cdef float zero_norm = 1.0 / sqrtf(weight_new + var_ref)
    cdef float nr, ni, rr, ri, pnr, pni, prr, pri, den, inv
    cdef float cnr, cni, crr, cri, gr, gi, snr, sni, srr, sri
    for r in prange(rows, nogil=True, schedule="static"):
        for c in range(cols):
            nr = new[r, 2 * c]
            ni = new[r, 2 * c + 1]
            rr = ref[r, 2 * c]
            ri = ref[r, 2 * c + 1]
            pnr = psf_new[r, 2 * c]
            pni = psf_new[r, 2 * c + 1]
            prr = psf_ref[r, 2 * c]
            pri = psf_ref[r, 2 * c + 1]
            den = weight_new * (prr * prr + pri * pri) + var_ref * (pnr * pnr + pni * pni)
            if den > tiny:
                inv = 1.0 / sqrtf(den)
                cnr = flux_ref * prr * inv
                cni = flux_ref * pri * inv
                crr = pnr * inv
                cri = pni * inv
                gr = cnr * pnr - cni * pni
                gi = -(cnr * pni + cni * pnr)
            else:
                cnr = flux_ref * zero_norm
                cni = 0.0
                crr = zero_norm
                cri = 0.0
                gr = 0.0
                gi = 0.0
            snr = cnr * nr - cni * ni
            sni = cnr * ni + cni * nr
            srr = crr * rr - cri * ri
            sri = crr * ri + cri * rr
            new[r, 2 * c] = snr - srr
            new[r, 2 * c + 1] = sni - sri
            ref[r, 2 * c] = snr
            ref[r, 2 * c + 1] = sni
            if split:
                psf_new[r, 2 * c] = gr * snr - gi * sni
                psf_new[r, 2 * c + 1] = gr * sni + gi * snr
                psf_ref[r, 2 * c] = gr * srr - gi * sri
                psf_ref[r, 2 * c + 1] = gr * sri + gi * srr
            else:
                snr = snr - srr
                sni = sni - sri
                psf_new[r, 2 * c] = gr * snr - gi * sni
                psf_new[r, 2 * c + 1] = gr * sni + gi * snr


def variance_spectra(float[:, ::1] var_new, float[:, ::1] var_ref,
                     float[:, ::1] f_new, float[:, ::1] f_ref, bint add):
    """In place: two variance planes' spectra through their squared filters.

    ``f_new`` <- ``var_new f_new + var_ref f_ref`` when ``add`` (the variance
    of D or S); otherwise ``f_new`` <- ``var_new f_new`` and ``f_ref`` <-
    ``var_ref f_ref`` (the matched images' variances).
    """
    cdef Py_ssize_t rows = var_new.shape[0]
    cdef Py_ssize_t cols = var_new.shape[1] // 2
    cdef Py_ssize_t r, c
    cdef float nr, ni, rr, ri, ar, ai, br, bi, xr, xi, yr, yi
    for r in prange(rows, nogil=True, schedule="static"):
        for c in range(cols):
            nr = var_new[r, 2 * c]
            ni = var_new[r, 2 * c + 1]
            rr = var_ref[r, 2 * c]
            ri = var_ref[r, 2 * c + 1]
            ar = f_new[r, 2 * c]
            ai = f_new[r, 2 * c + 1]
            br = f_ref[r, 2 * c]
            bi = f_ref[r, 2 * c + 1]
            xr = nr * ar - ni * ai
            xi = nr * ai + ni * ar
            yr = rr * br - ri * bi
            yi = rr * bi + ri * br
            if add:
                f_new[r, 2 * c] = xr + yr
                f_new[r, 2 * c + 1] = xi + yi
            else:
                f_new[r, 2 * c] = xr
                f_new[r, 2 * c + 1] = xi
                f_ref[r, 2 * c] = yr
                f_ref[r, 2 * c + 1] = yi
