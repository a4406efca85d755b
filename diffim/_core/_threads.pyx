"""The OpenMP thread count of a parallel loop whose caller names none.

Private module; the warp (`diffim.warp.warper`), the coadd's combination
(`diffim.coadd.combine`) and the FITS checksums (`diffim.io.checksum`) pass
it as their loops' ``num_threads`` when they are given no thread count.
"""
cimport openmp


def default_threads():
    """Threads an OpenMP team started in this thread gets by default.

    That is the runtime's own choice: ``OMP_NUM_THREADS``, or a limit set
    since in this thread (``omp_set_num_threads``, which
    `threadpoolctl.threadpool_limits` calls; a thread started later gets
    the process's default, not the limit), else one per CPU this process
    may run on. A process given one core this way (a Parsl worker) and the
    campaign's main thread on a small field keep to it.

    Returns
    -------
    threads : `int`
    """
    return openmp.omp_get_max_threads()
