"""Worker processes of the middlewares' own pools, forked from one server that imported once.

gen2's ``-j`` pool (`compat.gen2.task_runner`) and gen3's multiprocess
executor (``pipetask run -j``, `compat.gen3.runner`) started each worker
with ``spawn``: a new interpreter that imported the middleware, the tasks
and the science again (3-4 CPU s), per worker and per command, or per
quantum for gen3, whose executor starts a process for each. Forking the
command's own process instead is not safe: a fork of a process whose OpenMP
runtime has started its threads can hang in the child. A ``forkserver`` is
safe: its server is a new interpreter (fork and exec) that only imports and
never runs an OpenMP kernel, and the workers are forks of it. It is started
once per process with the modules the workers need, and serves every pool
after: each worker then starts with them imported, in milliseconds.

A pool is started per command (`worker_pool`), unless the process keeps one
(`kept_pool`: a campaign on the local engine): its workers then serve every
command of every middleware, and what they read, build and open once
(exposures kept, coadd templates, butlers) serves the next commands too, as
on a Parsl worker.
"""
from __future__ import annotations

import contextvars
import multiprocessing
import multiprocessing.forkserver
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

__all__ = ["kept_pool", "terminate", "worker_context", "worker_pool"]

_PRELOAD = set()
"""Every module asked for so far: what the server imports when it starts (again)."""


def worker_context(preload):
    """The ``forkserver`` context, its server started (once per process) importing ``preload``.

    The server imports in the background: this returns at once, and the
    first worker waits for the imports. Once the server runs, the modules
    it imported are fixed: a caller that knows all its workers' modules
    (a campaign's engine) starts it first with all of them.

    Parameters
    ----------
    preload : iterable of `str`
        Modules the workers run (the server ignores one that fails to import).

    Returns
    -------
    context : `multiprocessing.context.ForkServerContext`
    """
    _PRELOAD.update(preload)
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(sorted(_PRELOAD))
    multiprocessing.forkserver.ensure_running()
    return context


class _Kept:
    """The pool a `kept_pool` block keeps, replaced when one of its processes died."""

    def __init__(self, jobs, context):
        self.jobs, self.context = jobs, context
        self.pool = self._new_pool()
        self.ended = False
        self._lock = threading.Lock()

    def serving(self):
        """The pool, a new one if a process of the last one died (killed, out of memory):
        an executor whose process died fails every call after, and the campaign's later
        commands would all fail with it.

        Raises
        ------
        RuntimeError
            The block has ended: a thread it started (a campaign's lane, still
            running after the campaign stopped) gets no pool.
        """
        with self._lock:
            if self.ended:
                raise RuntimeError("the campaign's worker pool is stopped: no new command")
            if self.pool._broken:  # the executor has no public test
                terminate(self.pool)
                self.pool = self._new_pool()
            return self.pool

    def _new_pool(self):
        # Its processes outlive a command: each ends itself once this process is gone
        # (killed with SIGKILL, crashed), instead of waiting for calls forever.
        return ProcessPoolExecutor(self.jobs, mp_context=self.context,
                                   initializer=_exit_without, initargs=(os.getpid(),))

    def end(self, terminated):
        """Serve no more; stop the pool at once if ``terminated``, else once its calls end."""
        with self._lock:
            self.ended = True
        _stop(self.pool, terminated)


_KEPT = contextvars.ContextVar("kept_pool", default=None)
"""The `_Kept` pool of the `kept_pool` block this code runs in: in the block's thread, and in
threads that run in a copy of its context (`contextvars.copy_context`: a campaign's lanes)."""


@contextmanager
def kept_pool(jobs, context):
    """Keep one pool of ``jobs`` processes from ``context`` for the block: `worker_pool` of
    ``jobs`` processes is this pool, in the block's thread and in the threads that run in a
    copy of its context (a campaign's lanes).

    Its callers submit calls beside each other's, each waiting for its own. The
    pool's processes are terminated when the block raises (a stopped campaign
    does not wait for its running calls), else shut down once their calls end.
    A pool one of whose processes died is replaced at the next `worker_pool`.
    Once the block has ended, `worker_pool` in a thread still running in its
    context raises instead of starting a pool (a stopped campaign's lane
    starts no command).

    Parameters
    ----------
    jobs : `int`
    context : `multiprocessing.context.BaseContext`
        Where the processes come from (`worker_context`).
    """
    kept = _Kept(jobs, context)
    token = _KEPT.set(kept)
    try:
        with _stopped_after(kept.end):
            yield
    finally:
        _KEPT.reset(token)


@contextmanager
def worker_pool(jobs, context, initializer=None):
    """A pool of ``jobs`` processes for the block: the `kept_pool` if it has ``jobs`` processes,
    else one from ``context`` started for the block.

    The caller cancels its queued calls when it stops early (``Executor.map``
    does): the kept pool serves others too. A pool started for the block is
    terminated when the block raises (its running calls killed, as
    `multiprocessing.pool.Pool` does), else shut down once its calls end.

    Parameters
    ----------
    jobs : `int`
    context : `multiprocessing.context.BaseContext`
        Where a pool started for the block gets its processes (`worker_context`).
    initializer : callable, optional
        Run in each process of a pool started for the block when it starts
        (the kept pool's processes start with what the server imported).

    Yields
    ------
    pool : `concurrent.futures.ProcessPoolExecutor`
    """
    kept = _KEPT.get()
    if kept is not None and kept.jobs == jobs:
        yield kept.serving()
        return
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=initializer)
    with _stopped_after(lambda terminated: _stop(pool, terminated)):
        yield pool


@contextmanager
def _stopped_after(stop):
    """Run the block, then ``stop(terminated)``: ``terminated`` is whether the block raised."""
    try:
        yield
    except BaseException:
        stop(True)
        raise
    stop(False)


def _stop(pool, terminated):
    """Stop ``pool``: at once if ``terminated`` (`terminate`), else once its calls end."""
    if terminated:
        terminate(pool)
    else:
        pool.shutdown()


_OWNER_CHECK_SECONDS = 2
"""How often a kept pool's process looks whether the process that kept it is still there."""


def _exit_without(owner):
    """In a kept pool's process: end it once process ``owner`` is gone (a thread that looks
    every `_OWNER_CHECK_SECONDS`; the pool's own processes never learn it otherwise: they
    are the fork server's children and wait on their call queue)."""
    def watch():
        while True:
            time.sleep(_OWNER_CHECK_SECONDS)
            try:
                os.kill(owner, 0)
            except ProcessLookupError:
                os._exit(1)

    threading.Thread(target=watch, name="kept-pool-owner", daemon=True).start()


def terminate(pool):
    """Stop ``pool`` at once: nothing queued starts, and its processes are terminated."""
    processes = list(pool._processes.values())  # the executor has no public kill
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
