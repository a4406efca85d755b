"""The order in which a campaign's scenarios run: one after the other, or without a barrier.

A scenario is both backends' runs (`Gen2Backend.run`, `Gen3Backend.run`)
followed by the comparison of every data ID (`compare_backends`).

- ``local`` engine: one scenario after the other, everything in this process.
- ``parsl`` engine: each backend runs the scenarios in order in a thread of
  its own (a lane), and a scenario's comparisons are submitted as soon as
  both its backends are done. The workers then never wait at a scenario's
  tail for its last data IDs, its comparisons and the next scenario's graph:
  the apps of the next scenarios are already queued. A scenario built on
  another one (``builds_on``) still finds its outputs, since each backend
  runs them in the campaign's order, and the results come back in that order
  too (the same rows, verdicts and files on every engine).
"""
from __future__ import annotations

import threading
from concurrent.futures import Future

from ..model import ScenarioResult
from .compare_backends import compare_backends
from .overrides import write_override_file

__all__ = ["scenario_results"]


def scenario_results(scenarios, data_ids, backends, run_dir, engine):
    """Each scenario's `validation.model.ScenarioResult`, in order, as it is ready.

    Parameters
    ----------
    scenarios : `list` [`validation.campaign.scenarios.Scenario`]
    data_ids : `list` [`dict`]
    backends : `tuple`
        `Gen2Backend` and `Gen3Backend`, ingested; their outputs are compared
        in this order.
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
    if not engine.parsl:
        for run in runs:
            outputs = [backend.run(*run) for backend in backends]
            yield _scenario_result(run[0], data_ids, outputs, run_dir, engine)
        return
    lanes = [_Lane(backend.run, runs, f"campaign-{backend.name}") for backend in backends]
    try:
        for index, run in enumerate(runs):
            outputs = [lane.result(index) for lane in lanes]
            yield _scenario_result(run[0], data_ids, outputs, run_dir, engine)
    finally:
        for lane in lanes:
            lane.stop()


def _scenario_result(scenario, data_ids, outputs, run_dir, engine):
    gen2, gen3 = outputs
    return ScenarioResult(
        name=scenario.name, features=list(scenario.features), description=scenario.description,
        template_mode=scenario.template, definition=scenario.definition(),
        data_ids=compare_backends(scenario, data_ids, gen2, gen3, run_dir / "artifacts", engine),
        expected_reason=scenario.expected_reason)


class _Lane(threading.Thread):
    """``function(*arguments)`` for each of ``calls``, one after the other, in a daemon thread
    (a stopped campaign does not wait for it), started at once.

    After a call raises, the later ones are not made (their results are cancelled).
    """

    def __init__(self, function, calls, name):
        super().__init__(name=name, daemon=True)
        self._function, self._calls = function, calls
        self._results = [Future() for _ in calls]
        self._stopped = threading.Event()
        self.start()

    def run(self):
        for arguments, result in zip(self._calls, self._results):
            if self._stopped.is_set():
                result.cancel()
                continue
            try:
                result.set_result(self._function(*arguments))
            except BaseException as error:  # handed to the campaign's thread, which raises it
                result.set_exception(error)
                self._stopped.set()

    def result(self, index):
        """What call ``index`` returned, once it has; what it raised is raised here."""
        return self._results[index].result()

    def stop(self):
        """Make no call after the one running now."""
        self._stopped.set()
