"""Calls that depend on each other, run in a pool of processes as their predecessors finish.

This is how ``pipetask run -j N`` orders a quantum graph (`compat.gen3.runner`),
with the middleware's ``MPGraphExecutor``'s rules: at most ``jobs`` calls
at once, none started after one failed, and a call running longer than the
timeout killed (its worker process terminated) with the middleware's
``MPTimeoutError``.
"""
from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from lsst.pipe.base.mp_graph_executor import MPTimeoutError

__all__ = ["run_in_pool"]


def run_in_pool(calls, predecessors, jobs, context, initializer=None, timeout=None,
                describe=str):
    """Each call once its predecessors are done; their results in the order of ``calls``.

    Parameters
    ----------
    calls : `dict` [key, `tuple`]
        Key -> ``(function, *arguments)``, picklable; the dictionary's order
        is the order of the results and of the error raised.
    predecessors : `dict` [key, `set`]
        Key -> the keys that must be done before it starts.
    jobs : `int`
        Processes of the pool; at most this many calls are submitted at a time.
    context : `multiprocessing.context.BaseContext`
        Where the pool's processes come from.
    initializer : callable, optional
        Run in each process when it starts.
    timeout : `float`, optional
        Seconds a call may run; none when omitted (the middleware's ``--timeout``).
    describe : callable, optional
        Key -> how the timeout's message names the call.

    Returns
    -------
    results : `list`

    Raises
    ------
    lsst.pipe.base.mp_graph_executor.MPTimeoutError
        A call ran longer than ``timeout`` (the pool's processes are terminated).
    Exception
        The error of the first failed call in the order of ``calls``, once the
        running ones are done.
    """
    if not calls:
        return []
    waiting = {key: set(predecessors.get(key, ())) for key in calls}
    futures, running, finished, failed = {}, {}, set(), False
    with ProcessPoolExecutor(min(jobs, len(calls)), mp_context=context,
                             initializer=initializer) as pool:
        while True:
            ready = [] if failed else [key for key, before in waiting.items()
                                       if before <= finished][:jobs - len(running)]
            for key in ready:
                del waiting[key]
                function, *arguments = calls[key]
                future = pool.submit(function, *arguments)
                futures[key], running[future] = future, (key, time.monotonic())
            if not running:
                break
            ended, _ = wait(running, return_when=FIRST_COMPLETED,
                            timeout=None if timeout is None else _left(running, timeout))
            overdue = [] if ended else _overdue(running, timeout)
            if overdue:
                _terminate(pool)
                raise MPTimeoutError(f"Timeout ({timeout} sec) for {describe(overdue[0])}: "
                                     "its process is killed")
            for future in ended:
                finished.add(running.pop(future)[0])
                failed = failed or future.exception() is not None
    errors = [futures[key].exception() for key in calls if key in futures]
    first = next((error for error in errors if error is not None), None)
    if first is not None:
        raise first
    return [futures[key].result() for key in calls]


def _left(running, timeout):
    """Seconds until the first of the ``running`` calls reaches ``timeout``."""
    return max(0.0, min(start for _, start in running.values()) + timeout - time.monotonic())


def _overdue(running, timeout):
    """The keys of the ``running`` calls started more than ``timeout`` seconds ago."""
    now = time.monotonic()
    return [key for key, start in running.values() if now - start >= timeout]


def _terminate(pool):
    """Stop ``pool``: nothing queued starts, and its processes are terminated."""
    processes = list(pool._processes.values())  # the executor has no public kill
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
