"""One stored run summarised as a point of a trend across runs."""
from __future__ import annotations

import math
import statistics
from collections import defaultdict

from ..model import TrendPoint, Verdict

__all__ = ["TREND_METRICS", "trend_point"]

TREND_METRICS = {
    "kernel_sum": ("median", statistics.median),
    "residual_std": ("median", statistics.median),
    "n_dia_sources": ("total", math.fsum),
    "seconds": ("total", math.fsum),
}
"""Backend metric -> (label, aggregate over the run's data IDs) for `trend_point`."""


def trend_point(report):
    """Verdict counts and aggregated backend metrics of one run.

    Parameters
    ----------
    report : `validation.model.RunReport`
        A stored run (its ``run.run_id`` is set).

    Returns
    -------
    point : `validation.model.TrendPoint`
        ``counts`` maps every verdict value (``"identical"``, ...) to its number
        of scenarios, zeros included, so plots have stable series.
        ``metrics`` has ``"<backend>.<metric>.<label>"`` (e.g.
        ``"gen3.kernel_sum.median"``, ``"gen2.n_dia_sources.total"``) for each
        `TREND_METRICS` entry some data ID reported; NaN values are left out.
    """
    counts = dict.fromkeys((verdict.value for verdict in Verdict), 0)
    values = defaultdict(list)
    for scenario in report.scenarios:
        counts[scenario.verdict.value] += 1
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
