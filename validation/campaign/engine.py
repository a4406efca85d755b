"""Where a campaign's data IDs run: the ``local`` or the ``parsl`` engine, with N workers.

- ``local``: this process; with N > 1 workers, gen2's own ``-j N`` pool and
  gen3's multiprocess executor (``pipetask run -j N``), as on one machine
  before workflow engines; each data ID's comparison in a pool of N
  processes too. These pools are one pool of N processes kept for the
  campaign (`compat.worker_server.kept_pool`), forked from one server
  started here with what all of them run, so that it imports while the
  field is ingested: the workers keep what they read and build from one
  command to the next, and the scenarios run without a barrier
  (`validation.campaign.schedule`), as on Parsl.
- ``parsl``: N Parsl workers on this machine (a ``HighThroughputExecutor``
  with a ``LocalProvider``): gen2's data references
  (`compat.gen2.parsl_runner`) and gen3's quanta
  (`compat.gen3.parsl_executor`) are Parsl apps. A cluster is the same with
  another provider.

The engine decides where work runs, never what it computes: each data ID
is the same task on the same inputs, so every output is the same file
whatever the engine and the number of workers. Parsl is imported only when
its engine starts (about 0.6 s): the local engine and the harness's other
commands never import it. Parsl's workers here are forked from a server
that imported the middlewares once (`validation.campaign.worker_pool`).
"""
from __future__ import annotations

import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import ValidationError

__all__ = ["ENGINES", "KEPT_EXPOSURE_BYTES", "KEPT_TEMPLATE_BYTES", "Engine", "parsl_config",
           "start_engine"]

ENGINES = ("local", "parsl")

KEPT_EXPOSURE_BYTES = 128 * 2**20
"""Planes of the exposure files the campaign's process and each of its workers keep once read
again (`diffim.io.read_cache`): every scenario of both middlewares reads the same inputs (the
default campaign's are 2 x 28 files of 1.8 MB, one copy in each repository)."""

KEPT_TEMPLATE_BYTES = 64 * 2**20
"""Planes of the coadd templates the campaign's process and each of its workers keep once built
(`diffim.template.kept`): the coadd-template scenarios of both middlewares warp the same
patches onto the same science detectors (the default campaign's 4 templates of 1.8 MB were
built about 120 times)."""

_STRATEGY_PERIOD_SECONDS = 0.1
"""How often Parsl looks at its blocks. The first block starts at the first look after the
executor is added, which at Parsl's default (5 s) came after the field was ingested: the
workers could not import while it was. At 0.5 s the pool still started 0.36 s after the
interchange was up (a timeline at load 5), on the path to the first app; a look with its one
block running reads the block's status kept since the last poll of the provider (every 5 s)."""

_WORKER_PRELOAD = "validation.campaign.worker_preload"
"""What the workers of both engines import once, in the server they are forked from."""

_POLL_PERIOD_MS = 200
"""How long Parsl's interchange and this process's result thread wait for a message before
looking again (Parsl's default: 10 ms). A message wakes them at once; the shorter period only
had the interchange loop 100 times a second beside the two workers on a 2-core machine."""

_HEARTBEAT_PERIOD_SECONDS = 3
_HEARTBEAT_THRESHOLD_SECONDS = 15
"""A worker pool that has not heard from its interchange for this long exits: that is
how the workers of a campaign killed with SIGKILL go away."""


@dataclass(frozen=True)
class Engine:
    """A started engine, as the backends see it.

    Attributes
    ----------
    name : `str`
        One of `ENGINES`.
    workers : `int`
        Data IDs running at once.
    """

    name: str
    workers: int

    @property
    def parsl(self):
        """Whether data IDs are Parsl apps (on the configuration `start_engine` loaded)."""
        return self.name == "parsl"

    @property
    def in_process(self):
        """Whether data IDs run in the campaign's process (the local engine's one worker)."""
        return self.workers == 1 and not self.parsl

    @property
    def jobs(self):
        """Processes of the middlewares' own pools (gen2 ``-j``, ``pipetask -j``)."""
        return 1 if self.parsl else self.workers


@contextmanager
def start_engine(name, workers, run_dir):
    """Start engine ``name`` with ``workers`` workers for the length of the block.

    Parameters
    ----------
    name : `str`
        ``local`` or ``parsl``.
    workers : `int`
    run_dir : `pathlib.Path`
        Where Parsl keeps its logs and worker scripts (``parsl/`` inside).

    Yields
    ------
    engine : `Engine`

    Raises
    ------
    ValidationError
        An unknown engine or fewer than one worker.
    """
    if name not in ENGINES:
        raise ValidationError(f"unknown engine {name!r}; known: {', '.join(ENGINES)}")
    if workers < 1:
        raise ValidationError(f"workers must be >= 1, got {workers}")
    if name == "local":
        with _local_pool(workers):
            yield Engine(name, workers)
        return
    import parsl

    # The DataFlowKernel's exit cleans up: workers and interchange stopped, config unloaded.
    with parsl.load(parsl_config(workers, Path(run_dir) / "parsl")):
        yield Engine(name, workers)


@contextmanager
def _local_pool(workers):
    """With more than one worker, the pool of ``workers`` processes the middlewares' pools and
    the comparisons share for the block (`compat.worker_server.kept_pool`), forked from a
    server that imports what the workers of both run."""
    if workers == 1:
        yield
        return
    from compat.worker_server import kept_pool, worker_context

    with kept_pool(workers, worker_context([_WORKER_PRELOAD])):
        yield


def parsl_config(workers, run_dir):
    """A Parsl configuration of ``workers`` single-core workers on this machine.

    The interchange and the workers run this interpreter (this environment's
    packages, whatever ``PATH`` holds); the workers are forked from a server
    that imported what the campaign's apps run (`validation.campaign.worker_pool`:
    the imports are paid once, not once per worker); each worker is one core, so its
    OpenMP kernels use one thread. The interchange dies with this process
    (``setpriv --pdeathsig``), and the workers soon after it.

    Parameters
    ----------
    workers : `int`
    run_dir : `pathlib.Path`
        Parsl's logs and the provider's scripts.

    Returns
    -------
    config : `parsl.config.Config`
    """
    from parsl.config import Config
    from parsl.executors import HighThroughputExecutor
    from parsl.executors.high_throughput.executor import DEFAULT_LAUNCH_CMD
    from parsl.providers import LocalProvider

    worker_pool = f"{sys.executable} -m validation.campaign.worker_pool"
    executor = HighThroughputExecutor(
        label="diffim-workers", address="127.0.0.1", max_workers_per_node=workers,
        cores_per_worker=1,
        launch_cmd=DEFAULT_LAUNCH_CMD.replace("process_worker_pool.py", worker_pool, 1),
        interchange_launch_cmd=["setpriv", "--pdeathsig", "TERM", "--", sys.executable, "-m",
                                "parsl.executors.high_throughput.interchange"],
        heartbeat_period=_HEARTBEAT_PERIOD_SECONDS,
        heartbeat_threshold=_HEARTBEAT_THRESHOLD_SECONDS, poll_period=_POLL_PERIOD_MS,
        provider=LocalProvider(init_blocks=1, min_blocks=1, max_blocks=1,
                               worker_init="export OMP_NUM_THREADS=1"))
    return Config(executors=[executor], run_dir=str(run_dir), strategy="none",
                  strategy_period=_STRATEGY_PERIOD_SECONDS,
                  usage_tracking=0, app_cache=False)
