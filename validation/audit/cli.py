"""``diffim-validate audit PATHS... [--json] [--db URL]``: the feature-deprecation audit."""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import json
import platform

from ..model import RunInfo, now_iso
from .era import parse_era
from .features import FEATURES
from .limits import LimitExceeded, read_regular_file
from .summary import summarize

__all__ = ["add_parser", "format_report", "run_audit"]


def add_parser(subparsers):
    """Add the ``audit`` subcommand to ``subparsers``; its handler is `run_audit`."""
    parser = subparsers.add_parser(
        "audit", help="say which historical features config files and pipelines use",
        description="Read pex_config override files, persisted *_config datasets and gen3 "
                    "pipeline YAML without executing them; report which historical "
                    "image-differencing features each uses, and per feature how many use it "
                    "and what replaces it in gen3. For each override file, also what the "
                    "stack's imageDifference.py would refuse in it, and - from its era (--era, a "
                    "'# era: DATE' header note, a PROVENANCE.md entry beside it, or its git "
                    "date) - which defaults it relied on that have changed since.")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="files, or directories searched for *.py, *config*, *.yaml")
    parser.add_argument("--json", action="store_true",
                        help="print the records and the summary as JSON instead of tables")
    parser.add_argument("--era", metavar="DATE", type=parse_era,
                        help="the date (YYYY-MM-DD) of the stack the config files were written "
                             "for, instead of each file's own")
    parser.add_argument("--db", metavar="URL",
                        help="also record the audit in this results database (path or URL)")
    parser.set_defaults(handler=run_audit)


def run_audit(args):
    """Audit ``args.paths``, print the result, record it with ``--db``; exit code 0.

    Problems in the files (statements not evaluated) are reported, not fatal.

    Raises
    ------
    ValidationError
        A path is missing or unreadable.
    """
    # Imported here: the scan brings the science's configs, which the parser does not need.
    from .scan import audit_paths

    started = now_iso()
    records = audit_paths(args.paths, era=args.era)
    summary = summarize(records)
    if args.json:
        print(json.dumps({"files": [dataclasses.asdict(record) for record in records],
                          "features": summary}, indent=2))
    else:
        print(format_report(records, summary))
    if args.db:
        run_id = _record_in_database(args.db, records, started)
        if not args.json:
            print(f"\nrecorded as run {run_id} in {args.db}")
    return 0


def format_report(records, summary):
    """The per-file table, the problems, the findings, and the per-feature table, as text.

    A file's problems are its statements the audit did not evaluate and the
    findings that stop the stack from loading it (``would_not_load``,
    ``unknown_field``); its findings column counts all findings.
    """
    file_rows = [(record.path, record.kind, record.era.split(" ")[0] or "-",
                  ", ".join(record.features) or "-", str(len(_problems(record))),
                  str(len(record.findings))) for record in records]
    sections = [_table(("file", "kind", "era", "features", "problems", "findings"), file_rows)]
    problems = [problem for record in records for problem in _problems(record)]
    if problems:
        sections.append("problems (reported, not run):\n" +
                        "\n".join(f"  {problem}" for problem in problems))
    for record in records:
        if record.findings:
            lines = [f"  {finding['kind']}: {finding['message']}" for finding in record.findings]
            sections.append(f"{record.path} (era {record.era or 'unknown'}):\n" + "\n".join(lines))
    feature_rows = [(row["feature"], row["gen2_setting"], str(row["n_configs"]),
                     row["gen2_gen3_agree"], row["gen3_replacement"]) for row in summary]
    sections.append(_table(("feature", "gen2 setting", "configs", "gen2/gen3", "gen3 replacement"),
                           feature_rows))
    return "\n\n".join(sections)


def _problems(record):
    """The statements not evaluated, then the findings that stop a load, as lines."""
    blocking = [finding["message"] for finding in record.findings if finding["kind"] in _BLOCKING]
    return list(record.problems) + blocking


_BLOCKING = ("would_not_load", "unknown_field")
"""Finding kinds (of `validation.audit.era_findings.FINDING_KINDS`) that stop the stack
loading the file."""


def _table(header, rows):
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    lines = [header, tuple("-" * width for width in widths), *rows]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
                     for line in lines)


def _record_in_database(url, records, started):
    # Imported here: the database layer (SQLAlchemy) is only needed with --db.
    from ..db import ResultsDB

    audited = hashlib.sha256()
    for record in records:
        audited.update(record.path.encode())
        try:
            audited.update(read_regular_file(record.path))
        except (LimitExceeded, OSError):
            pass  # refused by the audit too: its record says why
    run = RunInfo(campaign="audit", code_version=importlib.metadata.version("diffim-migration"),
                  config_hash=audited.hexdigest()[:16], machine=platform.node(), started=started,
                  python=platform.python_version())
    catalog = {feature.id: {"description": feature.description,
                            "gen3_replacement": feature.gen3_replacement}
               for feature in FEATURES.values()}
    with ResultsDB(url) as database:
        run_id = database.start_run(run)
        database.record_feature_catalog(catalog)
        database.record_audit(run_id, records)
        database.finish_run(run_id, now_iso(), "complete")
    return run_id
