"""Regression mode: what got worse (or better) since a baseline run.

A regression is a check (scenario / data ID / product) whose outcome got
worse, a check of the baseline that is missing now, a new check that fails,
or a key backend metric that drifted beyond its tolerance. Improvements are
listed separately and never fail a run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .outcome import RUN_ERROR_PRODUCT, checks, data_id_key, data_id_label

__all__ = ["DIRTY_SUFFIX", "KEY_METRIC_TOLERANCES", "BaselineComparison", "Change", "compare_to_baseline",
           "find_regressions", "regression_exit_code", "run_name"]

KEY_METRIC_TOLERANCES = {"kernel_sum": 1e-3, "n_dia_sources": 0.0}
"""Backend metric -> largest relative change that is not a regression (0: must not change)."""


@dataclass(frozen=True)
class Change:
    """One regression or improvement: where it is and what changed."""

    where: str
    what: str

    def __str__(self):
        return f"{self.where}: {self.what}"


DIRTY_SUFFIX = "-dirty"
"""Ends the code version of a run made from a work tree with uncommitted changes."""


@dataclass
class BaselineComparison:
    """A run against its baseline, as the reports show it.

    ``from_dirty_tree`` is true when the baseline ran uncommitted code: its
    verdicts may come from changes nobody can check out again.
    """

    baseline: str
    regressions: list
    improvements: list
    from_dirty_tree: bool = False


def compare_to_baseline(current, baseline):
    """`find_regressions` with default tolerances, plus a name for the baseline run."""
    regressions, improvements = find_regressions(current, baseline)
    return BaselineComparison(run_name(baseline), regressions, improvements,
                              from_dirty_tree=baseline.run.code_version.endswith(DIRTY_SUFFIX))


def find_regressions(current, baseline, metric_tolerances=None):
    """Compare a run with a baseline run.

    Parameters
    ----------
    current, baseline : `validation.model.RunReport`
    metric_tolerances : `dict` [`str`, `float`], optional
        Backend metric -> largest relative change allowed; default
        `KEY_METRIC_TOLERANCES`.

    Returns
    -------
    regressions : `list` [`Change`]
    improvements : `list` [`Change`]
    """
    now = {check.key: check for check in checks(current)}
    before = {check.key: check for check in checks(baseline)}
    regressions = _missing(before, now, current)
    improvements = []
    for key, old in before.items():
        new = now.get(key)
        if new is None or new.outcome is old.outcome:
            continue
        change = Change(new.where, f"{old.outcome.label} -> {new.outcome.label}: {new.message}")
        (regressions if new.outcome.rank > old.outcome.rank else improvements).append(change)
    regressions.extend(Change(new.where, f"new check, {new.outcome.label}: {new.message}")
                       for key, new in now.items() if key not in before and new.outcome.is_failure)
    tolerances = KEY_METRIC_TOLERANCES if metric_tolerances is None else metric_tolerances
    regressions.extend(_metric_drifts(current, baseline, tolerances))
    return regressions, improvements


def _missing(before, now, current):
    """One line per scenario, data ID or product of the baseline absent now.

    A data ID that now fails without products is not reported here: its
    failure check is a new failing check.
    """
    scenarios_now = {check.scenario.name for check in now.values()}
    scenarios_now.update(scenario.name for scenario in current.scenarios)
    data_ids_now = {key[:2] for key in now}
    failed_now = {key[:2] for key in now if key[2] == RUN_ERROR_PRODUCT}
    lines = {}
    for key, old in before.items():
        if key in now or key[:2] in failed_now:
            continue
        if key[0] not in scenarios_now:
            lines.setdefault(key[0], Change(key[0], "scenario missing now"))
        elif key[:2] not in data_ids_now:
            lines.setdefault(key[:2], Change(f"{key[0]} / {data_id_label(old.result.data_id)}",
                                             "data ID missing now"))
        else:
            lines[key] = Change(old.where, f"product missing now (was {old.outcome.label})")
    return list(lines.values())


def _metric_drifts(current, baseline, tolerances):
    results_now = {(scenario.name, data_id_key(result.data_id)): result
                   for scenario in current.scenarios for result in scenario.data_ids}
    for scenario in baseline.scenarios:
        for old in scenario.data_ids:
            new = results_now.get((scenario.name, data_id_key(old.data_id)))
            if new is None or new.error:
                continue  # reported as missing or failed
            for backend, old_metrics in sorted(old.backend_metrics.items()):
                new_metrics = new.backend_metrics.get(backend, {})
                for name, tolerance in tolerances.items():
                    if name not in old_metrics:
                        continue
                    where = f"{scenario.name} / {data_id_label(old.data_id)} / {backend} {name}"
                    if name not in new_metrics:
                        yield Change(where, f"no longer recorded (was {old_metrics[name]})")
                    elif _drifted(old_metrics[name], new_metrics[name], tolerance):
                        yield Change(where, f"{old_metrics[name]} -> {new_metrics[name]} "
                                            f"(allowed relative change {tolerance:g})")


def _drifted(old, new, tolerance):
    numbers = (int, float)
    if not (isinstance(old, numbers) and isinstance(new, numbers)):
        return new != old
    if math.isnan(old) or math.isnan(new):
        return math.isnan(old) != math.isnan(new)
    if tolerance == 0:
        return new != old
    return abs(new - old) > tolerance * abs(old)


def regression_exit_code(current, baseline, stream):
    """Print each regression on one line to ``stream``; 1 if there are any, else 0.

    Improvements are printed too, marked as such, and do not change the code.
    """
    comparison = compare_to_baseline(current, baseline)
    if comparison.from_dirty_tree:
        print(f"warning: the baseline, {comparison.baseline}, ran uncommitted code: no commit "
              "reproduces it", file=stream)
    for change in comparison.regressions:
        print(f"REGRESSION {change}", file=stream)
    for change in comparison.improvements:
        print(f"improved {change}", file=stream)
    print(f"{len(comparison.regressions)} regression(s), {len(comparison.improvements)} "
          f"improvement(s) against baseline {comparison.baseline}", file=stream)
    return 1 if comparison.regressions else 0


def run_name(report):
    """``"run 12 of 'nightly' (v1.2, 2025-11-25T10:00)"``: a run for one-line messages."""
    run = report.run
    run_id = f"run {run.run_id}" if run.run_id is not None else "run"
    return f"{run_id} of {run.campaign!r} ({run.code_version}, {run.started})"
