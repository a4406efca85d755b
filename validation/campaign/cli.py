"""``diffim-validate run``: a campaign end to end, ending in the database and the reports.

The campaign's machinery (the science's configs, the middlewares, the
database layer) is imported when the command runs, not when
``diffim-validate`` builds its parser.
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

from ..model import Verdict
from .engine import ENGINES

__all__ = ["add_parser", "verdict_table"]

DEFAULT_WORKDIR = Path("runs/validation")


def add_parser(subparsers):
    """Register ``run``."""
    parser = subparsers.add_parser(
        "run", help="run a validation campaign through gen2 and gen3 and report",
        description="Simulate (or reuse) the campaign's field, ingest it into a gen2 and a gen3 "
                    "repository, run every scenario through both, compare the outputs, store "
                    "everything in the results database and write the reports.")
    parser.add_argument("campaign", nargs="?", default="default",
                        help="campaign file, or the name of a shipped one (default: default)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help=f"field files, repositories, artifacts (default: {DEFAULT_WORKDIR})")
    parser.add_argument("--db", help="results database: a SQLAlchemy URL or a SQLite path "
                                     "(default: WORKDIR/results.sqlite3)")
    parser.add_argument("--registry-db", metavar="URL",
                        help="gen3 registry database, e.g. postgresql+psycopg2://user@host/db "
                             "(default: SQLite in the repository)")
    parser.add_argument("--out", type=Path, help="report directory (default: WORKDIR/report)")
    parser.add_argument("--scenario", action="append", default=[], metavar="NAME",
                        help="run only this scenario (and what it builds on); repeatable")
    parser.add_argument("--engine", choices=ENGINES, default="local",
                        help="where data IDs run: this process and the middlewares' own pools "
                             "(local), or Parsl workers (parsl); the results are the same "
                             "(default: local)")
    parser.add_argument("--workers", "-j", "--jobs", type=int, default=1, metavar="N",
                        help="data IDs running at once (default: 1); with the local engine, "
                             "in the middlewares' own process pools, whose workers are forked "
                             "from one server that imported both middlewares once")
    parser.add_argument("--baseline", type=Path,
                        help="results.json of an earlier run; with --regression, fail on worse "
                             "verdicts or drifting metrics")
    parser.add_argument("--save-baseline", type=Path, metavar="PATH",
                        help="also write this run's results as a baseline file to commit")
    parser.add_argument("--regression", action="store_true",
                        help="exit 1 when the run regressed against --baseline")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.set_defaults(handler=run)


def run(args):
    """Run the campaign, write the reports, print the verdict table; returns the exit code.

    0 when the run passed (`validation.report.summary.run_verdict`) and,
    with ``--regression``, did not regress against ``--baseline``; else 1.
    A `KeyboardInterrupt` (Ctrl-C, SIGTERM) that lands after the run was
    recorded complete carries a note naming the run and the ``report``
    command that writes what this one did not.
    """
    from .scenarios import load_campaign

    campaign = load_campaign(args.campaign)
    if args.scenario:
        campaign = campaign.select(args.scenario)
    if args.list:
        for scenario in campaign.scenarios:
            print(f"{scenario.name:26s} {', '.join(scenario.features):40s} {scenario.description}")
        return 0
    if args.workers < 1:
        print(f"diffim-validate run: error: --workers must be >= 1, got {args.workers}",
              file=sys.stderr)
        return 2
    db_url = args.db or str(args.workdir / "results.sqlite3")
    out = args.out or args.workdir / "report"
    complete = []
    try:
        return _run_and_report(args, campaign, db_url, out, complete.append)
    except KeyboardInterrupt as interrupt:
        if complete:
            command = shlex.join(["diffim-validate", "report", "--db", db_url,
                                  "--run", str(complete[0]), "--out", str(out)])
            interrupt.add_note(f"run {complete[0]} is complete; `{command}` writes its report")
        raise


def _run_and_report(args, campaign, db_url, out, on_complete):
    """`run` once the arguments are checked: the campaign, its reports, the verdict table."""
    from diffim.cli.main import keep_freed_memory

    from ..audit import summarize_run
    from ..db import ResultsDB
    from ..report import read_results_json, regression_exit_code, write_reports
    from ..report.summary import exit_status, status_line
    from .baseline import write_baseline
    from .run import run_campaign

    baseline = read_results_json(args.baseline)[0] if args.baseline else None
    # The local engine runs both middlewares here: freed image-sized blocks are reused.
    keep_freed_memory()
    done = run_campaign(campaign, args.workdir, db_url, engine=args.engine, workers=args.workers,
                        progress=lambda line: print(line, flush=True),
                        registry_db=args.registry_db, on_complete=on_complete)
    with ResultsDB(db_url) as db:
        report = db.load_run(done.run_id)
        trend = db.trend(campaign.name)
    audit_summary = summarize_run(report)
    paths = write_reports(report, out, trend=trend, audit_summary=audit_summary,
                          baseline=baseline)
    if args.save_baseline:
        write_baseline(report, args.save_baseline)
    print()
    print(verdict_table(report))
    print(f"\n{status_line(report)}")
    print(f"report: {paths['html']}\ndatabase: {db_url} (run {done.run_id})")
    code = exit_status(report)
    if baseline is not None:
        regressed = regression_exit_code(report, baseline, sys.stdout)
        if args.regression:
            code = max(code, regressed)
    return code


def verdict_table(report):
    """The short table printed at the end: scenario, verdict, data IDs, reason."""
    rows = [("scenario", "verdict", "data IDs", "note")]
    for scenario in report.scenarios:
        counts = {}
        for result in scenario.data_ids:
            counts[result.verdict] = counts.get(result.verdict, 0) + 1
        spread = ", ".join(f"{n} {verdict.value}" for verdict, n in
                           sorted(counts.items(), key=lambda item: item[0].rank))
        note = ""
        if scenario.verdict is Verdict.DIFFERENT and scenario.expected_reason:
            note = f"expected: {scenario.expected_reason}"
        elif scenario.verdict is Verdict.DIFFERENT:
            note = "UNEXPLAINED"
        elif scenario.verdict is Verdict.FAILED:
            note = next((r.error for r in scenario.data_ids if r.error), "")[:100]
        rows.append((scenario.name, scenario.verdict.value, spread, note))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return "\n".join(f"{row[0]:{widths[0]}}  {row[1]:{widths[1]}}  {row[2]:{widths[2]}}  {row[3]}"
                     .rstrip() for row in rows)
