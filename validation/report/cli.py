"""``diffim-validate report``: write the reports of a run; in regression mode, gate CI on a baseline.

The run comes from the results database (``--db``) or a results JSON file
(``--from-json``). The baseline is a results JSON file (e.g. one committed
under ``reports/``), a stored run ID, or ``previous`` (the campaign's run
before this one). The plotting stack and the database layer are imported
only when the command runs. The status line is printed, and decides the
exit status: 0 only for a PASS (`validation.report.summary.run_verdict`),
and, with ``--regression``, no regression.
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import ValidationError
from ..model import RunStatus
from .regression import regression_exit_code

__all__ = ["add_parser", "regression_exit_code", "run_report_command"]

PREVIOUS_RUN = "previous"


def add_parser(subparsers):
    """Add the ``report`` subcommand to ``diffim-validate``."""
    parser = subparsers.add_parser(
        "report", help="write HTML, Markdown, JUnit XML and JSON reports of a run",
        description="Write report.html, summary.md, junit.xml and results.json of a validation "
                    "run. With --regression, exit 1 if the run regressed against --baseline.")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--db", metavar="URL", help="results database (SQLAlchemy URL)")
    source.add_argument("--from-json", type=Path, metavar="RESULTS_JSON",
                        help="a results.json written by an earlier report")
    parser.add_argument("--run", type=int, metavar="ID",
                        help="stored run to report (default: the latest); needs --db")
    parser.add_argument("--out", type=Path, default=Path("reports"), metavar="DIR",
                        help="output directory (default: reports)")
    parser.add_argument("--baseline", metavar="PATH_OR_RUN_ID",
                        help=f"results JSON file, stored run ID (needs --db), or '{PREVIOUS_RUN}' "
                             "(the campaign's last complete run before this one)")
    parser.add_argument("--regression", action="store_true",
                        help="exit 1 if any check or key metric got worse than in --baseline")
    parser.set_defaults(handler=run_report_command)
    return parser


def run_report_command(args):
    """Write the reports; return 1 unless the run passed (and, in regression mode, held)."""
    if args.regression and not args.baseline:
        raise ValidationError("--regression needs --baseline PATH_OR_RUN_ID")
    if args.run is not None and not args.db:
        raise ValidationError("--run needs --db URL")
    if not args.db:
        return _report(args, None)
    with _open_database(args.db) as database:
        return _report(args, database)


def _report(args, database):
    from ..audit import summarize_run
    from .json_io import read_results_json
    from .summary import exit_status, status_line
    from .writer import write_reports

    if database is not None:
        report = _load_run(database, args.db, args.run)
        trend = database.trend(report.run.campaign)
        audit_summary = summarize_run(report) if report.audits else None
    else:
        (report, audit_summary), trend = read_results_json(args.from_json), None
    baseline = _load_baseline(args.baseline, database, report) if args.baseline else None
    paths = write_reports(report, args.out, trend=trend, audit_summary=audit_summary,
                          baseline=baseline)
    for path in paths.values():
        print(f"wrote {path}")
    print(status_line(report))
    code = exit_status(report)
    if baseline is not None:
        regressed = regression_exit_code(report, baseline, sys.stdout)
        if args.regression:
            code = max(code, regressed)
    return code


def _open_database(url):
    from ..db import ResultsDB

    return ResultsDB(url)


def _load_run(database, url, run_id):
    if run_id is None:
        run_id = database.latest_run_id()
        if run_id is None:
            raise ValidationError(f"results database {url} holds no runs")
    return database.load_run(run_id)


def _load_baseline(spec, database, current):
    """The baseline `RunReport` named by ``--baseline``."""
    from .json_io import read_results_json

    if spec.isdigit() or spec == PREVIOUS_RUN:
        if database is None:
            raise ValidationError(f"--baseline {spec} names a stored run and needs --db URL")
        if spec.isdigit():
            return database.load_run(int(spec))
        # An interrupted or failed run is no baseline.
        run_id = database.latest_run_id(campaign=current.run.campaign, before=current.run.run_id,
                                        status=RunStatus.COMPLETE.value)
        if run_id is None:
            raise ValidationError(f"no complete stored run of campaign {current.run.campaign!r} "
                                  f"before run {current.run.run_id} to use as baseline")
        return database.load_run(run_id)
    return read_results_json(spec)[0]
