"""Parsl's worker pool with its workers forked, the middlewares already imported, not spawned.

Parsl's pool (``parsl.executors.high_throughput.process_worker_pool``) starts
each worker as a new interpreter (``spawn``), which then imports the
middlewares, the tasks and the comparison at its first app: 3-4 CPU s per
worker, paid again by every worker, on cores the campaign's ingest needs.
Run through this module, the pool starts its processes in a ``forkserver``
context instead: the fork server is started first and imports
`validation.campaign.worker_preload` and Parsl's apps once, while the pool starts and
connects to its interchange, and every worker is a fork of it, ready at
once. The pool is otherwise Parsl's own, run unchanged with its own
arguments: ``python -m validation.campaign.worker_pool ARGS`` is the launch
command of `validation.campaign.engine.parsl_config`.
"""
from __future__ import annotations

import runpy

from compat.worker_server import worker_context

__all__ = ["POOL_MODULE", "PRELOAD", "main"]

POOL_MODULE = "parsl.executors.high_throughput.process_worker_pool"
PRELOAD = ("validation.campaign.worker_preload", "compat.gen2.parsl_runner",
           "compat.gen3.parsl_executor")
"""The campaign's workers' modules (`validation.campaign.worker_preload`) and Parsl's apps."""


def main():
    """Start the fork server (it imports `PRELOAD`), then run Parsl's pool on it."""
    context = worker_context(PRELOAD)  # the server imports in the background from here
    # Imported after the server started, so that both import at once (parsl: about 0.5 s).
    import parsl.multiprocessing

    # The pool takes its context from here when its module loads: its workers, queues and
    # state manager come from the fork server.
    parsl.multiprocessing.SpawnContext = context
    runpy.run_module(POOL_MODULE, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
