# distutils: extra_compile_args = -O3 -fopenmp -ffp-contract=off
"""Per-candidate normal equations, their LU solutions and residual statistics for
``diffim.psfmatch``.

Private module; call it through `diffim.psfmatch.solve`. Candidates are
independent, so each OpenMP thread takes whole candidates.
"""
from cython.parallel cimport parallel, prange
from libc.math cimport fabs, isfinite, sqrt
from libc.stdlib cimport free, malloc
from scipy.linalg.cython_lapack cimport dgetrf, dgetrs

cdef extern from *:
    """
    /* The sums are cloned for AVX2 and the baseline ISA (the loader picks one by
       CPU features). Each element is the same sequence of rounded products and
       sums whichever runs: the vectors span elements, never one element's terms,
       and nothing is contracted into an FMA (-ffp-contract=off). */
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define SOLVE_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
    #else
    #define SOLVE_CLONES
    #endif

    /* Up to four pixels' rank-one updates in turn, each element loaded and
       stored once for all of them: sums[i * n + j] += (pixels[p][i] * weights[p])
       * pixels[p][j] for j <= i, and sums[n * n + i] += (pixels[p][i] * weights[p])
       * values[p], for p = 0, 1, ... < count in order (pixels[p] at pixels + p * n). */
    #define SOLVE_PIXELS 4
    SOLVE_CLONES static void solve_pixel_update(double *restrict sums,
                                                const double *restrict pixels,
                                                const double *restrict weights,
                                                const double *restrict values, int count,
                                                int n) {
        if (count < SOLVE_PIXELS) {
            for (int p = 0; p < count; p++) {
                const double *restrict a = pixels + p * n;
                for (int i = 0; i < n; i++) {
                    const double wa = a[i] * weights[p];
                    double *restrict row = sums + i * n;
                    for (int j = 0; j <= i; j++) row[j] = row[j] + wa * a[j];
                    sums[n * n + i] = sums[n * n + i] + wa * values[p];
                }
            }
            return;
        }
        const double *restrict a = pixels, *restrict b = pixels + n;
        const double *restrict c = pixels + 2 * n, *restrict d = pixels + 3 * n;
        for (int i = 0; i < n; i++) {
            const double wa = a[i] * weights[0], wb = b[i] * weights[1];
            const double wc = c[i] * weights[2], wd = d[i] * weights[3];
            double *restrict row = sums + i * n;
            for (int j = 0; j <= i; j++)
                row[j] = (((row[j] + wa * a[j]) + wb * b[j]) + wc * c[j]) + wd * d[j];
            sums[n * n + i] = (((sums[n * n + i] + wa * values[0]) + wb * values[1])
                               + wc * values[2]) + wd * values[3];
        }
    }

    /* model[q] = sum_i coefficients[i] * columns[i * n_pix + q], summed in i order. */
    SOLVE_CLONES static void solve_model(double *restrict model, const double *restrict columns,
                                         const double *restrict coefficients, int n_cols,
                                         Py_ssize_t n_pix) {
        for (Py_ssize_t q = 0; q < n_pix; q++) model[q] = 0.0;
        for (int i = 0; i < n_cols; i++) {
            const double c = coefficients[i];
            const double *restrict column = columns + i * n_pix;
            for (Py_ssize_t q = 0; q < n_pix; q++) model[q] = model[q] + c * column[q];
        }
    }
    """
    void solve_pixel_update(double* sums, const double* pixels, const double* weights,
                            const double* values, int count, int n) noexcept nogil
    int SOLVE_PIXELS
    void solve_model(double* model, const double* columns, const double* coefficients,
                     int n_cols, Py_ssize_t n_pix) noexcept nogil


def lu_solve_systems(const double[:, :, ::1] matrix, const double[:, ::1] vector,
                     double min_rcond, double[:, ::1] solution, unsigned char[::1] solved):
    """Solve each ``matrix[n] a = vector[n]`` by LU of its equilibrated form.

    With ``D = diag(M)^-1/2`` (1 where the diagonal is not > 0), ``D M D`` is
    factored by LAPACK's ``dgetrf`` (scipy's, as ``scipy.linalg.lu_factor``)
    and ``a = D x`` with ``x`` from ``dgetrs`` on ``D b``: the same operations,
    in the same order, as ``lu_factor`` and ``lu_solve`` on the scaled arrays,
    without their Python overhead (about 0.3 ms a system). ``solved[n]`` is 0,
    and ``solution[n]`` left as it was, where the system is not finite or a
    pivot of U is at most ``min_rcond`` times the largest.
    """
    cdef Py_ssize_t n_systems = matrix.shape[0]
    cdef int size = <int> matrix.shape[1]
    cdef int one = 1, info, i, j
    cdef Py_ssize_t n
    cdef char transpose = b'N'
    cdef double smallest, largest, pivot
    cdef bint finite
    cdef double* scale = <double*> malloc(size * sizeof(double))
    cdef double* factors = <double*> malloc(size * size * sizeof(double))
    cdef double* rhs = <double*> malloc(size * sizeof(double))
    cdef int* pivots = <int*> malloc(size * sizeof(int))
    try:
        with nogil:
            for n in range(n_systems):
                solved[n] = 0
                finite = True
                for i in range(size):
                    finite = finite and isfinite(vector[n, i])
                    for j in range(size):
                        finite = finite and isfinite(matrix[n, i, j])
                if not finite:
                    continue
                for i in range(size):
                    scale[i] = 1.0 / sqrt(matrix[n, i, i]) if matrix[n, i, i] > 0 else 1.0
                # Column-major, as lu_factor hands a C-ordered array to LAPACK.
                for j in range(size):
                    for i in range(size):
                        factors[i + j * size] = matrix[n, i, j] * scale[i] * scale[j]
                dgetrf(&size, &size, factors, &size, pivots, &info)
                smallest = fabs(factors[0])
                largest = smallest
                for i in range(1, size):
                    pivot = fabs(factors[i + i * size])
                    smallest = min(smallest, pivot)
                    largest = max(largest, pivot)
                if info < 0 or smallest <= min_rcond * largest:
                    continue
                for i in range(size):
                    rhs[i] = vector[n, i] * scale[i]
                dgetrs(&transpose, &size, &one, factors, &size, pivots, rhs, &size, &info)
                if info != 0:
                    continue
                for i in range(size):
                    solution[n, i] = scale[i] * rhs[i]
                solved[n] = 1
    finally:
        free(scale)
        free(factors)
        free(rhs)
        free(pivots)


def normal_equations(const double[:, :, ::1] columns, const double[:, ::1] weights,
                     const double[:, ::1] target, double[:, :, ::1] matrix,
                     double[:, ::1] vector):
    """``matrix[n] = C^T W C`` and ``vector[n] = C^T W s`` for each candidate ``n``.

    ``columns`` is ``(n, n_columns, n_pixels)``; ``weights`` and ``target``
    are ``(n, n_pixels)``; a zero weight drops a pixel.

    Each sum runs over the pixels in order, ``total + (c_i w) c_j``: four
    pixels at a time (their rank-one updates of the whole triangle in turn,
    each element loaded and stored once for the four, their columns' values
    gathered once) rather than a dot product at a time, which strode through
    every column for every element.
    """
    cdef Py_ssize_t n_cand = columns.shape[0]
    cdef Py_ssize_t n_cols = columns.shape[1]
    cdef Py_ssize_t n_pix = columns.shape[2]
    cdef Py_ssize_t n, i, j, q, p, block, count
    cdef double *pixels = NULL
    cdef double *sums = NULL
    with nogil, parallel():
        pixels = <double *> malloc(SOLVE_PIXELS * n_cols * sizeof(double))
        sums = <double *> malloc((n_cols * n_cols + n_cols) * sizeof(double))
        for n in prange(n_cand, schedule="dynamic"):
            for i in range(n_cols * n_cols + n_cols):
                sums[i] = 0.0
            for block in range((n_pix + SOLVE_PIXELS - 1) // SOLVE_PIXELS):
                q = block * SOLVE_PIXELS
                count = min(SOLVE_PIXELS, n_pix - q)
                for p in range(count):
                    for i in range(n_cols):
                        pixels[p * n_cols + i] = columns[n, i, q + p]
                solve_pixel_update(sums, pixels, &weights[n, q], &target[n, q], <int> count,
                                   <int> n_cols)
            for i in range(n_cols):
                for j in range(i + 1):
                    matrix[n, i, j] = sums[i * n_cols + j]
                    matrix[n, j, i] = sums[i * n_cols + j]
                vector[n, i] = sums[n_cols * n_cols + i]
        free(pixels)
        free(sums)


def residual_statistics(const double[:, :, ::1] columns, const double[:, ::1] coefficients,
                        const double[:, ::1] target, const double[:, ::1] inverse_sigma,
                        const Py_ssize_t[::1] rows, double[:, ::1] out):
    """Mean, standard deviation and count of ``(s - C a) / sigma`` per candidate.

    Row ``k`` of ``coefficients`` and ``out`` belongs to stamp ``rows[k]`` of
    ``columns``, ``target`` and ``inverse_sigma``: a subset of the stamps is
    read where it lies, not gathered into a copy first. Pixels with
    ``inverse_sigma == 0`` are skipped. ``out`` is ``(len(rows), 3)``; a
    candidate with fewer than two pixels gets a NaN standard deviation.
    """
    cdef Py_ssize_t n_out = rows.shape[0]
    cdef Py_ssize_t n_cols = columns.shape[1]
    cdef Py_ssize_t n_pix = columns.shape[2]
    cdef Py_ssize_t k, n, i, q
    cdef double *model = NULL
    with nogil, parallel():
        model = <double *> malloc(n_pix * sizeof(double))
        for k in prange(n_out, schedule="dynamic"):
            n = rows[k]
            solve_model(model, &columns[n, 0, 0], &coefficients[k, 0], <int> n_cols, n_pix)
            _store_statistics(&target[n, 0], &inverse_sigma[n, 0], model, n_pix, &out[k, 0])
        free(model)


cdef inline void _store_statistics(const double *target, const double *inverse_sigma,
                                   const double *model, Py_ssize_t n_pix,
                                   double *out) noexcept nogil:
    """``out[0:3]``: mean, standard deviation and count of ``(target - model) * inverse_sigma``
    over the pixels whose ``inverse_sigma`` is not 0 (NaN deviation below two pixels)."""
    cdef double resid, mean, total = 0.0, total_sq = 0.0, count = 0.0
    cdef Py_ssize_t q
    for q in range(n_pix):
        if inverse_sigma[q] == 0.0:
            continue
        resid = (target[q] - model[q]) * inverse_sigma[q]
        total = total + resid
        total_sq = total_sq + resid * resid
        count = count + 1.0
    mean = total / count if count > 0 else 0.0
    out[0] = mean
    out[1] = sqrt(max(total_sq - count * mean * mean, 0.0) / (count - 1.0)) if count > 1 else 0.0 / 0.0
    out[2] = count


cdef inline void _summed_area_table(const double *first, const double *second,
                                    Py_ssize_t row_stride, Py_ssize_t height, Py_ssize_t width,
                                    long double *table) noexcept nogil:
    """``table[(y + 1) * (width + 1) + x + 1]``: the sum of ``first * second`` (``first``
    alone when ``second`` is NULL) over rows ``<= y`` and columns ``<= x`` of two
    ``height x width`` blocks ``row_stride`` apart from row to row; row and column 0 hold 0."""
    cdef Py_ssize_t stride = width + 1
    cdef Py_ssize_t x, y
    cdef long double row
    for x in range(stride):
        table[x] = 0.0
    for y in range(height):
        row = 0.0
        table[(y + 1) * stride] = 0.0
        for x in range(width):
            if second == NULL:
                row = row + first[y * row_stride + x]
            else:
                row = row + (<long double> first[y * row_stride + x]) * second[y * row_stride + x]
            table[(y + 1) * stride + x + 1] = table[y * stride + x + 1] + row


cdef inline long double _window_sum(const long double *table, Py_ssize_t stride, Py_ssize_t top,
                                    Py_ssize_t left, Py_ssize_t fit) noexcept nogil:
    """The sum over the ``fit x fit`` window at ``(top, left)`` of a `_summed_area_table`."""
    return (table[(top + fit) * stride + left + fit] - table[top * stride + left + fit]
            - table[(top + fit) * stride + left] + table[top * stride + left])


def delta_function_normal_equations(const double[:, :, ::1] template,
                                    const double[:, ::1] target, const double[::1] weights,
                                    Py_ssize_t kernel_size, bint fit_background,
                                    double[:, :, ::1] matrix, double[:, ::1] vector):
    """Normal equations of a delta-function basis with one weight per stamp.

    ``template`` is ``(n, S, S)``; column ``k`` of a stamp is its window
    ``template[n, A:A + F, B:B + F]`` with ``A * K + B = K^2 - 1 - k``
    (``K = kernel_size``, ``F = S - K + 1``), then a column of ones when
    ``fit_background``. ``target`` is ``(n, F * F)``, ``weights`` ``(n,)``.

    ``M[a, a + d] = w sum_{p in window a} T(p) T(p + d)``: for each offset
    difference ``d`` (half of them: ``M`` is symmetric) the products
    ``T(p) T(p + d)`` are summed once into a summed-area table, and every
    window is four look-ups, ``~(2K)^2 S^2 / 2`` operations per stamp instead of
    the ``K^4 F^2 / 2`` of the per-pixel outer products. The tables and the
    right-hand side accumulate in long double (64-bit mantissa), so the
    differences of large partial sums lose nothing a double sum keeps.
    """
    cdef Py_ssize_t n_stamps = template.shape[0]
    cdef Py_ssize_t size = template.shape[1]
    cdef Py_ssize_t fit = size - kernel_size + 1
    cdef Py_ssize_t n_kernel = kernel_size * kernel_size
    cdef Py_ssize_t last = n_kernel - 1
    cdef Py_ssize_t n, dy, dx, y, x, ay, ax, x_first, width, stride, k_a, k_b
    cdef long double total
    cdef double weight, value
    cdef long double *table = NULL
    with nogil, parallel():
        table = <long double *> malloc((size + 1) * (size + 1) * sizeof(long double))
        for n in prange(n_stamps, schedule="dynamic"):
            weight = weights[n]
            for dy in range(kernel_size):
                for dx in range(1 - kernel_size, kernel_size):
                    if dy == 0 and dx < 0:
                        continue
                    # Products T(p) T(p + d) over the rows and columns a window can reach.
                    x_first = -dx if dx < 0 else 0
                    width = (size - dx if dx > 0 else size) - x_first
                    stride = width + 1
                    _summed_area_table(&template[n, 0, x_first], &template[n, dy, x_first + dx],
                                       size, size - dy, width, table)
                    for ay in range(kernel_size - dy):
                        for ax in range(x_first, kernel_size - (dx if dx > 0 else 0)):
                            value = weight * <double> _window_sum(table, stride, ay,
                                                                  ax - x_first, fit)
                            k_a = last - (ay * kernel_size + ax)
                            k_b = last - ((ay + dy) * kernel_size + ax + dx)
                            matrix[n, k_a, k_b] = value
                            matrix[n, k_b, k_a] = value
            for ay in range(kernel_size):
                for ax in range(kernel_size):
                    total = 0.0
                    for y in range(fit):
                        for x in range(fit):
                            total = total + (<long double> template[n, ay + y, ax + x]) * target[
                                n, y * fit + x]
                    vector[n, last - (ay * kernel_size + ax)] = weight * <double> total
            if fit_background:
                # Window sums of the stamp (the background column against each shift).
                _summed_area_table(&template[n, 0, 0], NULL, size, size, size, table)
                for ay in range(kernel_size):
                    for ax in range(kernel_size):
                        value = weight * <double> _window_sum(table, size + 1, ay, ax, fit)
                        k_a = last - (ay * kernel_size + ax)
                        matrix[n, k_a, n_kernel] = value
                        matrix[n, n_kernel, k_a] = value
                matrix[n, n_kernel, n_kernel] = weight * fit * fit
                total = 0.0
                for x in range(fit * fit):
                    total = total + target[n, x]
                vector[n, n_kernel] = weight * <double> total
        free(table)


def delta_function_residual_statistics(const double[:, :, ::1] template,
                                       const double[:, ::1] coefficients,
                                       const double[:, ::1] target,
                                       const double[:, ::1] inverse_sigma,
                                       const Py_ssize_t[::1] rows, Py_ssize_t kernel_size,
                                       double[:, ::1] out):
    """`residual_statistics` of a delta-function basis, from the template stamps.

    Column ``k`` of stamp ``n`` is the window of ``template[n]`` that
    `delta_function_normal_equations` describes (``K^2`` columns, then the
    background's when ``coefficients`` has ``K^2 + 1``): the model is the
    stamp convolved with the coefficients, made a coefficient at a time over
    the whole fit region without the columns themselves.
    """
    cdef Py_ssize_t n_out = rows.shape[0]
    cdef Py_ssize_t size = template.shape[1]
    cdef Py_ssize_t n_pix = target.shape[1]
    cdef Py_ssize_t n_cols = coefficients.shape[1]
    cdef Py_ssize_t fit = size - kernel_size + 1
    cdef Py_ssize_t n_kernel = kernel_size * kernel_size
    cdef Py_ssize_t k, n, i, y, x, ay, ax, q
    cdef double coefficient, background
    cdef double *model = NULL
    with nogil, parallel():
        model = <double *> malloc(n_pix * sizeof(double))
        for k in prange(n_out, schedule="dynamic"):
            n = rows[k]
            background = coefficients[k, n_kernel] if n_cols > n_kernel else 0.0
            for q in range(n_pix):
                model[q] = background
            for i in range(n_kernel):
                coefficient = coefficients[k, i]
                ay = (n_kernel - 1 - i) // kernel_size
                ax = (n_kernel - 1 - i) % kernel_size
                for y in range(fit):
                    for x in range(fit):
                        model[y * fit + x] = model[y * fit + x] + coefficient * template[
                            n, ay + y, ax + x]
            _store_statistics(&target[n, 0], &inverse_sigma[n, 0], model, n_pix, &out[k, 0])
        free(model)
