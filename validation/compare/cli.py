"""``diffim-validate compare A B``: two exposure or catalogue files, a verdict and why.

Exit code 0 when the files are identical or within tolerance, 1 when they
differ; bad input (unreadable file, unknown tolerance) is a `ValidationError`,
which ``diffim-validate`` turns into exit code 2.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from ..errors import ValidationError
from ..model import Verdict
from .tolerances import Tolerances

__all__ = ["add_parser", "format_comparison", "parse_tolerances", "run_compare_command"]

_PASSING = (Verdict.IDENTICAL, Verdict.WITHIN_TOLERANCE)


def add_parser(subparsers):
    """Add the ``compare`` subcommand to ``diffim-validate``."""
    parser = subparsers.add_parser(
        "compare", help="compare two exposures (pixel by pixel) or two catalogues (source by source)",
        description="Compare two FITS exposures, or two FITS/Parquet catalogues, and print the "
                    "verdict: identical, within_tolerance or different. Exit 0 unless different.")
    parser.add_argument("path_a", type=Path, metavar="A", help="first file (the 'a' of a - b)")
    parser.add_argument("path_b", type=Path, metavar="B", help="second file")
    parser.add_argument("--tolerance", "-t", action="append", default=[], metavar="KEY=VALUE",
                        help="override a tolerance, e.g. image_max_sigma=0.1 (repeatable); "
                             f"keys: {', '.join(Tolerances.__dataclass_fields__)}")
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("--artifacts", type=Path, metavar="DIR",
                        help="write the difference image or the matched-pairs table here")
    parser.add_argument("--reason", help="why a difference is expected (kept with the result)")
    parser.set_defaults(handler=run_compare_command)
    return parser


def run_compare_command(args):
    """Compare ``args.path_a`` with ``args.path_b``, print the result, return the exit code."""
    # Imported here: the readers (astropy, pandas) are not needed to build the parser.
    from .files import compare_files

    comparison = compare_files(args.path_a, args.path_b, tolerances=parse_tolerances(args.tolerance),
                               reason=args.reason, artifact_dir=args.artifacts)
    if args.json:
        print(json.dumps(dataclasses.asdict(comparison), indent=2, allow_nan=False))
    else:
        print(format_comparison(comparison))
    return 0 if comparison.verdict in _PASSING else 1


def parse_tolerances(assignments):
    """`Tolerances` from ``["KEY=VALUE", ...]``.

    Raises
    ------
    ValidationError
        If an item has no ``=``, names no tolerance, or has a bad value.
    """
    values = {}
    for assignment in assignments:
        key, equals, value = assignment.partition("=")
        if not equals or not key.strip():
            raise ValidationError(f"--tolerance expects KEY=VALUE, got {assignment!r}")
        values[key.strip()] = value
    return Tolerances.from_dict(values)


def format_comparison(comparison):
    """The comparison as a few readable lines: verdict, summary, where and what differs."""
    lines = [f"{comparison.verdict.value}: {comparison.product} ({comparison.kind})",
             f"  {comparison.summary}"]
    if comparison.reason:
        lines.append(f"  expected because: {comparison.reason}")
    details = comparison.details
    if comparison.kind == "image":
        for plane in ("image", "variance"):
            plane_details = details.get(plane, {})
            if plane_details.get("where"):
                lines.append(f"  {plane}: differs in {_box(plane_details['where'])}, max |Δ| at "
                             f"{plane_details.get('max_abs_at')}")
        for name, plane in details.get("mask", {}).get("per_plane", {}).items():
            lines.append(f"  mask {name}: {plane['n_differing']} px in {_box(plane['where'])}")
    else:
        for side in ("a", "b"):
            unmatched = details["match"][f"unmatched_{side}"]
            if unmatched["count"]:
                lines.append(f"  unmatched in {side.upper()} ({unmatched['by']}): "
                             + ", ".join(map(str, unmatched["ids"]))
                             + (" ..." if unmatched["count"] > len(unmatched["ids"]) else ""))
        for name, column in details["columns"].items():
            if column["n_differing"]:
                verdict = ("not judged" if column["limit"] is None
                           else "OUTSIDE" if column["outside"] else "ok")
                lines.append(f"  {name} [{column['class']}]: {column['n_differing']} rows differ, "
                             f"max {column['measure']:.3g} {column['unit']} ({verdict})")
    for name, path in comparison.artifacts.items():
        lines.append(f"  {name}: {path}")
    return "\n".join(lines)


def _box(box):
    return f"x {box['x0']}..{box['x0'] + box['width'] - 1}, y {box['y0']}..{box['y0'] + box['height'] - 1}"
