"""The order in which a campaign's scenarios run: one after the other, or without a barrier.

A scenario is both backends' runs (`Gen2Backend.run`, `Gen3Backend.run`)
followed by the comparison of every data ID (`compare_backends`).

- One worker of the ``local`` engine: one scenario after the other,
  everything in this process.
- Otherwise (Parsl's workers, or the local engine's pool of workers) each
  backend runs the scenarios in a lane of threads of its own (`_Lane`), and a
  scenario's comparisons are submitted as soon as both its backends are done.
  A lane runs the next scenario while the previous one's data IDs run
  (``LOOKAHEAD``): the command parsed, the quantum graph built and its data
  IDs submitted while the workers still have the previous scenario's, so the
  workers never wait at a scenario's tail for its last data IDs, its
  comparisons, its outputs' registration and the next scenario's graph. A
  scenario built on another one (``builds_on``) starts once that one is done
  in the lane, so it finds its outputs; the results come back in the
  campaign's order (the same rows, verdicts and files on every engine).
"""
from __future__ import annotations

import contextvars
import threading
from concurrent.futures import Future, wait

from ..model import ScenarioResult
from .compare_backends import compare_backends
from .overrides import write_override_file

__all__ = ["LOOKAHEAD", "scenario_results"]

LOOKAHEAD = 1
"""Scenarios a lane runs at once beyond one (a limit on the calls running, not on how far
ahead of the oldest unfinished one they are: calls that end early free their place). One is
enough to keep the workers fed (the next graph is built while the previous one's quanta
run); more would only queue more data IDs behind the same workers and hold more graphs in
this process."""


def scenario_results(scenarios, data_ids, backends, run_dir, engine):
    """Each scenario's `validation.model.ScenarioResult`, in order, as it is ready.

    Parameters
    ----------
    scenarios : `list` [`validation.campaign.scenarios.Scenario`]
    data_ids : `list` [`dict`]
    backends : `tuple`
        `Gen2Backend` and `Gen3Backend`, ingested; their outputs are compared
        in this order. Their ``run`` may be called from two threads at once.
    run_dir : `pathlib.Path`
        Holds the override files (``overrides/``) and the comparison
        artifacts (``artifacts/``).
    engine : `validation.campaign.engine.Engine`

    Yields
    ------
    result : `validation.model.ScenarioResult`
        A backend's error is raised at its scenario, after the earlier
        scenarios' results.
    """
    runs = [(scenario, data_ids, write_override_file(scenario, run_dir / "overrides"), engine)
            for scenario in scenarios]
    if engine.in_process:
        for run in runs:
            outputs = [backend.run(*run) for backend in backends]
            yield _scenario_result(run[0], data_ids, outputs, run_dir, engine)
        return
    after = _builds_on(scenarios)
    lanes = [_Lane(backend.run, runs, after, f"campaign-{backend.name}") for backend in backends]
    try:
        for index, run in enumerate(runs):
            outputs = [lane.result(index) for lane in lanes]
            yield _scenario_result(run[0], data_ids, outputs, run_dir, engine)
    finally:
        for lane in lanes:
            lane.stop()


def _builds_on(scenarios):
    """The index of the scenario each of ``scenarios`` builds on (``builds_on``), or `None`
    (a loaded campaign defines a scenario before those built on it)."""
    indices = {scenario.name: index for index, scenario in enumerate(scenarios)}
    return [indices[scenario.builds_on] if scenario.builds_on else None for scenario in scenarios]


def _scenario_result(scenario, data_ids, outputs, run_dir, engine):
    gen2, gen3 = outputs
    return ScenarioResult(
        name=scenario.name, features=list(scenario.features), description=scenario.description,
        template_mode=scenario.template, definition=scenario.definition(),
        data_ids=compare_backends(scenario, data_ids, gen2, gen3, run_dir / "artifacts", engine),
        expected_reason=scenario.expected_reason)


class _Lane(threading.Thread):
    """``function(*arguments)`` for each of ``calls``, started in order, each in a daemon thread
    (a stopped campaign does not wait for them), up to ``LOOKAHEAD + 1`` at once.

    Call ``i`` starts once call ``i - 1`` has started, fewer than ``LOOKAHEAD + 1`` calls run,
    and call ``after[i]`` (if not `None`) is done. After a call raises, no later one starts
    (their results are cancelled); those already running finish.
    """

    def __init__(self, function, calls, after, name):
        super().__init__(name=name, daemon=True)
        self._function, self._calls, self._after = function, calls, after
        self._results = [Future() for _ in calls]
        self._running = threading.BoundedSemaphore(LOOKAHEAD + 1)
        self._stopped = threading.Event()
        # The campaign's context (its engine's kept pool: `compat.worker_server.kept_pool`),
        # which each call runs in a copy of.
        self._context = contextvars.copy_context()
        self.start()

    def run(self):
        for index, (arguments, result) in enumerate(zip(self._calls, self._results)):
            self._running.acquire()
            if self._after[index] is not None:
                wait([self._results[self._after[index]]])
            if self._stopped.is_set():
                self._running.release()
                result.cancel()
                continue
            threading.Thread(target=self._context.copy().run,
                             args=(self._call, arguments, result), daemon=True,
                             name=f"{self.name}-{index}").start()

    def _call(self, arguments, result):
        try:
            result.set_result(self._function(*arguments))
        except BaseException as error:  # handed to the campaign's thread, which raises it
            self._stopped.set()
            result.set_exception(error)
        finally:
            self._running.release()

    def result(self, index):
        """What call ``index`` returned, once it has; what it raised is raised here."""
        return self._results[index].result()

    def stop(self):
        """Start no call after those running now."""
        self._stopped.set()
