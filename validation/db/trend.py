"""One stored run summarised as a point of a trend across runs."""
from __future__ import annotations

import math
import statistics
from collections import defaultdict

from ..model import TrendPoint
from ..report.outcome import Outcome, scenario_outcome

__all__ = ["TREND_METRICS", "trend_point"]

TREND_METRICS = {
    "kernel_sum": ("median", statistics.median),
    "residual_std": ("median", statistics.median),
    "n_dia_sources": ("total", math.fsum),
    "seconds": ("total", math.fsum),
}
"""Backend metric -> (label, aggregate over the run's data IDs) for `trend_point`."""


def trend_point(report):
    """Outcome counts and aggregated backend metrics of one run.

    Parameters
    ----------
    report : `validation.model.RunReport`
        A stored run (its ``run.run_id`` is set).

    Returns
    -------
    point : `validation.model.TrendPoint`
        ``counts`` maps every `validation.report.Outcome` value (``"identical"``,
        ..., ``"expected_difference"``, ``"unexplained_difference"``, ...) to
        its number of scenarios, zeros included, so plots have stable series
        and tell expected differences from unexplained ones.
        ``metrics`` has ``"<backend>.<metric>.<label>"`` (e.g.
        ``"gen3.kernel_sum.median"``, ``"gen2.n_dia_sources.total"``) for each
        `TREND_METRICS` entry some data ID reported; NaN values are left out.
    """
    counts = dict.fromkeys((outcome.value for outcome in Outcome), 0)
    values = defaultdict(list)
    for scenario in report.scenarios:
        counts[scenario_outcome(scenario).value] += 1
        for result in scenario.data_ids:
            for backend, backend_metrics in result.backend_metrics.items():
                for name, value in backend_metrics.items():
                    if name in TREND_METRICS and not math.isnan(value):
                        values[backend, name].append(value)
    metrics = {}
    for (backend, name), series in sorted(values.items()):
        label, aggregate = TREND_METRICS[name]
        metrics[f"{backend}.{name}.{label}"] = aggregate(series)
    return TrendPoint(run_id=report.run.run_id, started=report.run.started,
                      code_version=report.run.code_version, counts=counts, metrics=metrics)
