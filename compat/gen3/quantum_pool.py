"""Calls that depend on each other, run in a pool of processes as their predecessors finish.

This is how ``pipetask run -j N`` orders a quantum graph (`compat.gen3.runner`),
with the middleware's ``MPGraphExecutor``'s rules: at most ``jobs`` calls
at once, none started after one failed, and a call running longer than the
timeout killed (its worker process terminated) with the middleware's
``MPTimeoutError``. A call's clock starts when it starts in its process, not
when it is submitted: a pool's first calls wait for their processes to start
(the fork server importing the tasks, seconds on a busy machine), and that
wait is not the quantum's. Without a timeout the calls run in the process's
kept pool if it has ``jobs`` processes (`compat.worker_server.worker_pool`);
with one, in a pool of their own, which the timeout may kill.
"""
from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

from lsst.pipe.base.mp_graph_executor import MPTimeoutError

from ..worker_server import terminate, worker_pool

__all__ = ["run_in_pool"]


def run_in_pool(calls, predecessors, jobs, context, initializer=None, timeout=None,
                describe=str, on_result=None, on_error=None):
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
        Run in each process of a pool started for these calls when it starts.
    timeout : `float`, optional
        Seconds a call may run; none when omitted (the middleware's ``--timeout``).
    describe : callable, optional
        Key -> how the timeout's message names the call.
    on_result : callable, optional
        Called with each call's result as it succeeds (also when another fails).
    on_error : callable, optional
        Called with each call's error as it fails, before the first is raised.

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
    futures, running, starts, finished, failed = {}, {}, {}, set(), False
    started = None if timeout is None else context.SimpleQueue()
    with _pool(jobs, context, initializer, started) as pool:
        while True:
            ready = [] if failed else [key for key, before in waiting.items()
                                       if before <= finished][:jobs - len(running)]
            for key in ready:
                del waiting[key]
                future = pool.submit(_run_call, key, *calls[key])
                futures[key], running[future] = future, key
            if not running:
                break
            ended, _ = wait(running, return_when=FIRST_COMPLETED,
                            timeout=None if timeout is None else _left(running, starts, timeout))
            # Drained at every turn: at most ``jobs`` calls start between two turns, so the
            # pipe never fills and no worker waits on it.
            while started is not None and not started.empty():
                key, start = started.get()
                starts[key] = start
            overdue = [] if ended else _overdue(running, starts, timeout)
            if overdue:
                terminate(pool)
                raise MPTimeoutError(f"Timeout ({timeout} sec) for {describe(overdue[0])}: "
                                     "its process is killed")
            for future in ended:
                finished.add(running.pop(future))
                failed = failed or future.exception() is not None
                if future.exception() is None:
                    if on_result is not None:
                        on_result(future.result())
                elif on_error is not None:
                    on_error(future.exception())
    errors = [futures[key].exception() for key in calls if key in futures]
    first = next((error for error in errors if error is not None), None)
    if first is not None:
        raise first
    return [futures[key].result() for key in calls]


def _pool(jobs, context, initializer, started):
    """The pool of the calls: `compat.worker_server.worker_pool` without a ``started`` queue,
    else a pool of their own whose processes send their calls' starts to it."""
    if started is None:
        return worker_pool(jobs, context, initializer)
    return ProcessPoolExecutor(jobs, mp_context=context, initializer=_start_process,
                               initargs=(started, initializer))


_STARTED = None
"""In a pool's process: the queue its calls' starts go to (`_start_process`), if any."""


def _start_process(started, initializer):
    """A pool process's start: keep the queue of starts, then run the caller's initializer."""
    global _STARTED
    _STARTED = started
    if initializer is not None:
        initializer()


def _run_call(key, function, *arguments):
    """``function(*arguments)``, its start (the machine's monotonic clock) sent first if the
    process has a queue of starts."""
    if _STARTED is not None:
        _STARTED.put((key, time.monotonic()))
    return function(*arguments)


def _left(running, starts, timeout):
    """Seconds until the first of the ``running`` calls can reach ``timeout`` (one that has
    not started yet no earlier than ``timeout`` from now)."""
    now = time.monotonic()
    return max(0.0, min(starts.get(key, now) for key in running.values()) + timeout - now)


def _overdue(running, starts, timeout):
    """The keys of the ``running`` calls that started more than ``timeout`` seconds ago."""
    now = time.monotonic()
    return [key for key in running.values() if key in starts and now - starts[key] >= timeout]
