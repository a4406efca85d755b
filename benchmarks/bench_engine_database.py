"""The results database's share of a data ID: one scenario of a full visit (189 detectors)
recorded in one transaction, on SQLite and on PostgreSQL.

Each data ID carries what a campaign records for it: three comparisons
(difference image, matched image, DIA sources) with their metrics and
details, and both backends' metrics. PostgreSQL is a throwaway cluster of
Debian's server on a local socket (the tests' `_postgres`). ``extra_info``
has ``ms_per_data_id``.
"""
import sys
from pathlib import Path

import pytest

from validation.db import ResultsDB
from validation.model import Comparison, DataIdResult, RunInfo, ScenarioResult, Verdict

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
from _postgres import postgresql_cluster  # noqa: E402,F401  (fixture)

DETECTORS = 189
IMAGE_METRICS = {"max_abs_diff": 0.0, "n_pixels_different": 0.0, "mask_planes_different": 0.0}
BACKEND_METRICS = {"kernel_sum": 0.98, "n_kernel_sources": 41.0, "residual_std": 1.01,
                   "n_dia_sources": 12.0, "seconds": 3.2}


def visit_scenario(name):
    """One scenario over the 189 detectors of visit 10, everything identical."""
    data_ids = []
    for detector in range(DETECTORS):
        comparisons = [Comparison(product, kind, Verdict.IDENTICAL, "bit for bit",
                                  metrics=dict(IMAGE_METRICS), details={"planes": ["BAD"]})
                       for product, kind in (("differenceExp", "image"), ("matchedExp", "image"),
                                             ("diaSrc", "catalog"))]
        data_ids.append(DataIdResult(
            data_id={"visit": 10, "detector": detector}, comparisons=comparisons,
            backend_metrics={"gen2": dict(BACKEND_METRICS), "gen3": dict(BACKEND_METRICS)}))
    return ScenarioResult(name=name, features=["coadd_template"], data_ids=data_ids)


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """A results database with one running run: its URL and the run id."""
    if request.param == "sqlite":
        url = str(tmp_path / "results.sqlite3")
    else:
        cluster = request.getfixturevalue("postgresql_cluster")
        url = cluster.url(cluster.create_database("bench"))
    with ResultsDB(url) as db:
        run_id = db.start_run(RunInfo(campaign="survey", code_version="1", config_hash="h",
                                      machine="m", started="2026-01-01T00:00:00"))
    return url, run_id


def test_record_visit_scenario(benchmark, database):
    """``ResultsDB.record_scenario`` of 189 data IDs (a new scenario name each round)."""
    url, run_id = database
    names = iter(f"scenario{number}" for number in range(1000))
    with ResultsDB(url) as db:
        benchmark.pedantic(lambda: db.record_scenario(run_id, visit_scenario(next(names))),
                           rounds=5, warmup_rounds=1)
    benchmark.extra_info["ms_per_data_id"] = round(
        1000 * benchmark.stats.stats.median / DETECTORS, 3)
