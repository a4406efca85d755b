"""4-connected parts of a detection image as pixel lists, found through its runs.

Private module; call it through `diffim.measure.footprints`, which checks
and converts the arguments.

A detection image is mostly empty. `label_runs` reads each row twice, to
count its runs of set pixels and then to store them (eight bytes at a time
over the empty stretches, rows shared among threads); joins every run to the runs it
touches in the row above (union-find over runs, not pixels); and writes
each part's pixels from its runs. No image-sized label plane is made or
read back. Parts are numbered in the order of their first pixel in
row-major order, as ``scipy.ndimage.label`` numbers them, and each part's
pixels are listed in raster order.
"""
from cython.parallel cimport prange
from libc.stdint cimport uint64_t
from libc.string cimport memcpy
import numpy as np


cdef Py_ssize_t _row_runs(const unsigned char* row, Py_ssize_t n, int* starts,
                          int* stops) noexcept nogil:
    """Runs of non-zero bytes of ``row``: their count, and their ``[start, stop)``
    written to ``starts``, ``stops`` unless those are NULL."""
    cdef Py_ssize_t c = 0, start, count = 0
    cdef uint64_t word
    while c < n:
        while c + 8 <= n:
            memcpy(&word, row + c, 8)
            if word != 0:
                break
            c = c + 8
        while c < n and row[c] == 0:
            c = c + 1
        if c == n:
            break
        start = c
        while c < n and row[c] != 0:
            c = c + 1
        if starts != NULL:
            starts[count] = <int>start
            stops[count] = <int>c
        count = count + 1
    return count


cdef inline Py_ssize_t _root(Py_ssize_t* parent, Py_ssize_t run) noexcept nogil:
    """Root of ``run``'s set, halving the path on the way."""
    while parent[run] != run:
        parent[run] = parent[parent[run]]
        run = parent[run]
    return run


cdef inline void _join(Py_ssize_t* parent, Py_ssize_t first, Py_ssize_t second) noexcept nogil:
    """Join two sets under the smaller root: a set's root is its first run in raster order."""
    cdef Py_ssize_t a = _root(parent, first)
    cdef Py_ssize_t b = _root(parent, second)
    if a < b:
        parent[b] = a
    elif b < a:
        parent[a] = b


def label_runs(const unsigned char[:, ::1] detected):
    """The 4-connected parts of the non-zero pixels of ``detected``.

    Returns
    -------
    count : `int`
        Number of parts.
    pixels : `numpy.ndarray` [`numpy.int64`]
        Flat indices of every set pixel, grouped by part in part order, each
        part in raster order.
    starts : `numpy.ndarray` [`numpy.int64`]
        ``count + 1`` offsets of the parts in ``pixels``.
    """
    cdef Py_ssize_t n_rows = detected.shape[0]
    cdef Py_ssize_t n_cols = detected.shape[1]
    cdef Py_ssize_t r, c, run, part, above, below, n_runs, n_parts = 0
    if n_cols >= 2 ** 31:
        raise ValueError(f"detection image of {n_cols} columns: at most 2**31 - 1")
    row_firsts_np = np.zeros(n_rows + 1, np.intp)
    cdef Py_ssize_t[::1] row_firsts = row_firsts_np
    with nogil:
        for r in prange(n_rows, schedule="dynamic", chunksize=64):
            row_firsts[r + 1] = _row_runs(&detected[r, 0], n_cols, NULL, NULL)
    np.cumsum(row_firsts_np, out=row_firsts_np)
    n_runs = row_firsts[n_rows]
    run_starts_np = np.empty(n_runs + 1, np.intc)
    run_stops_np = np.empty(n_runs + 1, np.intc)
    parent_np = np.arange(n_runs, dtype=np.intp)
    part_of_np = np.empty(n_runs, np.intp)
    cdef int[::1] run_starts = run_starts_np
    cdef int[::1] run_stops = run_stops_np
    cdef Py_ssize_t[::1] parent = parent_np
    cdef Py_ssize_t[::1] part_of = part_of_np
    with nogil:
        for r in prange(n_rows, schedule="dynamic", chunksize=64):
            _row_runs(&detected[r, 0], n_cols, &run_starts[row_firsts[r]],
                      &run_stops[row_firsts[r]])
        # Runs of consecutive rows touch where their column ranges overlap; walk
        # both rows' runs in column order, stepping past the one that ends first.
        for r in range(1, n_rows):
            above, below = row_firsts[r - 1], row_firsts[r]
            while above < row_firsts[r] and below < row_firsts[r + 1]:
                if run_starts[above] < run_stops[below] and run_starts[below] < run_stops[above]:
                    _join(&parent[0], above, below)
                if run_stops[above] < run_stops[below]:
                    above = above + 1
                else:
                    below = below + 1
        # Every run's parent precedes it and, visited in order, already points to
        # its root: one step each makes the sets flat, and numbering the roots in
        # order numbers the parts by their first pixel.
        for run in range(n_runs):
            if parent[run] == run:
                part_of[run] = n_parts
                n_parts = n_parts + 1
            else:
                parent[run] = parent[parent[run]]
                part_of[run] = part_of[parent[run]]
    starts_np = np.zeros(n_parts + 1, np.int64)
    cdef long long[::1] starts = starts_np
    with nogil:
        for run in range(n_runs):
            part = part_of[run]
            starts[part + 1] = starts[part + 1] + run_stops[run] - run_starts[run]
        for part in range(n_parts):
            starts[part + 1] = starts[part + 1] + starts[part]
    pixels_np = np.empty(starts_np[n_parts], np.int64)
    cdef long long[::1] pixels = pixels_np
    cursor_np = starts_np[:n_parts].copy()
    cdef long long[::1] cursor = cursor_np
    with nogil:
        for r in range(n_rows):
            for run in range(row_firsts[r], row_firsts[r + 1]):
                part = part_of[run]
                for c in range(run_starts[run], run_stops[run]):
                    pixels[cursor[part]] = r * n_cols + c
                    cursor[part] = cursor[part] + 1
    return n_parts, pixels_np, starts_np
