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
"""
from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver

__all__ = ["worker_context"]

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
