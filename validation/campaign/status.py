"""``diffim-validate status``: what the runs of a results database are doing, from the database.

A campaign records each scenario when it ends and its run's status
(`validation.model.RunStatus`) when it stops, so any machine that can reach
the database can follow a campaign running elsewhere: the runs with their
scenarios done out of planned, and for one run, each planned scenario done
(with its verdict), failed, running, or never run. A run whose process died
on this host shows ``abandoned`` (`validation.db.owner`).
"""
from __future__ import annotations

import datetime

from ..model import RunStatus, Verdict
from .progress import format_duration, remaining_seconds

__all__ = ["add_parser", "run_detail", "runs_table"]


def add_parser(subparsers):
    """Register ``status``."""
    parser = subparsers.add_parser(
        "status", help="show the runs of a results database: running, done, failed, abandoned",
        description="List the most recent runs of a results database with their status and "
                    "scenarios done out of planned, or one run (--run) scenario by scenario. "
                    "Reads the database only, so it follows a campaign running anywhere.")
    parser.add_argument("--db", required=True,
                        help="results database: a SQLAlchemy URL or a SQLite path")
    parser.add_argument("--run", type=int, metavar="ID", help="show this run scenario by scenario")
    parser.add_argument("--limit", type=int, default=10, metavar="N",
                        help="how many recent runs to list (default: 10)")
    parser.set_defaults(handler=status)


def status(args):
    """Print the runs table, or one run's scenarios; returns 0."""
    # Imported here: the database layer is not needed to build the parser.
    from ..db import ResultsDB

    with ResultsDB(args.db) as db:
        if args.run is not None:
            print(run_detail(db.load_run(args.run)))
        else:
            print(f"results database: {db.name}")
            print(runs_table([db.load_run(info.run_id) for info in db.runs(args.limit)]))
    return 0


def runs_table(reports, now=None):
    """One line per run: id, campaign, status, scenarios done of planned, verdicts, times.

    Parameters
    ----------
    reports : `list` [`validation.model.RunReport`]
    now : `datetime.datetime`, optional
        For a running run's elapsed time and ETA (default: now, UTC).
    """
    rows = [("run", "campaign", "status", "scenarios", "verdicts", "started", "progress")]
    for report in reports:
        info = report.run
        rows.append((str(info.run_id), info.campaign, info.status,
                     report.recorded_of_planned("/"),
                     _verdict_counts(report.scenarios), info.started,
                     _progress(report, now) if info.status == RunStatus.RUNNING.value else ""))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        padded = "  ".join(f"{cell:{width}}" for cell, width in zip(row, widths))
        lines.append(f"{padded}  {row[-1]}".rstrip())
    return "\n".join(lines)


def run_detail(report, now=None):
    """Run ``report`` scenario by scenario: done, failed, running or not run.

    Parameters
    ----------
    report : `validation.model.RunReport`
    now : `datetime.datetime`, optional
        For a running run's elapsed time and ETA (default: now, UTC).
    """
    info = report.run
    lines = [f"run {info.run_id} ({info.campaign}): {info.status}, "
             f"{report.recorded_of_planned()} scenario(s) recorded, "
             f"started {info.started}" + (f", finished {info.finished}" if info.finished else "")
             + (f"; {_progress(report, now)}" if info.status == RunStatus.RUNNING.value else "")]
    recorded = {scenario.name: scenario for scenario in report.scenarios}
    waiting = "running" if info.status == RunStatus.RUNNING.value else "not run"
    for name in info.planned_scenarios or recorded:
        scenario = recorded.get(name)
        if scenario is None:
            lines.append(f"  {name}: {waiting}")
            waiting = "pending" if waiting == "running" else waiting
        elif scenario.verdict is Verdict.FAILED:
            failed = [r for r in scenario.data_ids if r.verdict is Verdict.FAILED]
            error = next((r.error for r in failed if r.error), "")
            lines.append(f"  {name}: failed ({len(failed)} of {len(scenario.data_ids)} data IDs)"
                         + (f": {error}" if error else ""))
        else:
            lines.append(f"  {name}: done, {scenario.verdict.value} "
                         f"({len(scenario.data_ids)} data IDs)")
    return "\n".join(lines)


def _verdict_counts(scenarios):
    """``3 identical, 1 failed``: scenarios by verdict, best first."""
    counts = {}
    for scenario in scenarios:
        counts[scenario.verdict] = counts.get(scenario.verdict, 0) + 1
    return ", ".join(f"{n} {verdict.value}"
                     for verdict, n in sorted(counts.items(), key=lambda item: item[0].rank))


def _progress(report, now):
    """``5m10s elapsed, ETA 2m03s`` of a running run, from its start and scenarios recorded."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    elapsed = (now - datetime.datetime.fromisoformat(report.run.started)).total_seconds()
    left = remaining_seconds(elapsed, len(report.scenarios), len(report.run.planned_scenarios))
    return f"{format_duration(elapsed)} elapsed, ETA {format_duration(left)}"
