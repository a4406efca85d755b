"""A `RunReport` as JSON: for CI, for committed baselines, and back.

The document is the records' fields, nested as in `validation.model`, with
each `Verdict` as its string value, under a format marker and version. A
results file may carry extra top-level keys (the audit summary); reading a
report ignores them. Non-finite floats are written as Python's ``json``
writes them (``NaN``, ``Infinity``) so that a round trip is exact.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from diffim.io.atomic import write_text

from ..errors import ValidationError
from ..model import AuditRecord, Comparison, DataIdResult, RunInfo, RunReport, ScenarioResult, Verdict

__all__ = ["FORMAT", "FORMAT_VERSION", "read_results_json", "run_report_from_json",
           "run_report_to_json", "write_results_json"]

FORMAT = "diffim-validate-run"
FORMAT_VERSION = 1
_LEAVES = frozenset((str, float, int, bool, type(None)))


def run_report_to_json(report):
    """A `RunReport` as a JSON-ready `dict` (verdicts as their string values)."""
    document = {"format": FORMAT, "version": FORMAT_VERSION}
    document.update(_plain(report))
    return document


def _plain(value):
    """Records as dicts of their fields, verdicts as their values; new containers, leaves as they are.

    What ``dataclasses.asdict`` makes of them, without its deep copy of every
    leaf (most of the time of a results file).
    """
    if type(value) in _LEAVES:
        return value
    if isinstance(value, Verdict):
        return value.value
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if dataclasses.is_dataclass(value):
        return {field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)}
    return value


def run_report_from_json(document, source="JSON document"):
    """The `RunReport` of a `dict` made by `run_report_to_json`.

    Parameters
    ----------
    document : `dict`
    source : `str`, optional
        What the document came from, for error messages (e.g. its path).

    Raises
    ------
    validation.errors.ValidationError
        If the document is not a run report of a known version, or a record
        lacks a field or has an unknown verdict.
    """
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValidationError(f"{source}: not a diffim-validate run report (format != {FORMAT!r})")
    if document.get("version") != FORMAT_VERSION:
        raise ValidationError(f"{source}: unsupported run report version {document.get('version')!r}")
    run = _record(RunInfo, document.get("run"), source)
    scenarios = [_scenario(item, source) for item in _list(document, "scenarios", source)]
    audits = [_record(AuditRecord, item, source) for item in _list(document, "audits", source)]
    return RunReport(run=run, scenarios=scenarios, audits=audits)


def _scenario(item, source):
    scenario = _record(ScenarioResult, item, source)
    scenario.data_ids = [_data_id(entry, source) for entry in _list(item, "data_ids", source)]
    return scenario


def _data_id(item, source):
    result = _record(DataIdResult, item, source)
    result.comparisons = [_comparison(entry, source) for entry in _list(item, "comparisons", source)]
    return result


def _comparison(item, source):
    comparison = _record(Comparison, item, source)
    try:
        comparison.verdict = Verdict(comparison.verdict)
    except ValueError:
        raise ValidationError(f"{source}: unknown verdict {comparison.verdict!r} "
                              f"for product {comparison.product!r}") from None
    return comparison


def _list(item, key, source):
    value = item.get(key, [])
    if not isinstance(value, list):
        raise ValidationError(f"{source}: {key!r} must be a list, not {type(value).__name__}")
    return value


def _record(cls, item, source):
    """Build a dataclass from the keys of ``item`` that are its fields."""
    if not isinstance(item, dict):
        raise ValidationError(f"{source}: a {cls.__name__} must be an object, not {item!r:.60}")
    names = {field.name for field in dataclasses.fields(cls)}
    missing = [field.name for field in dataclasses.fields(cls)
               if field.name not in item and field.default is dataclasses.MISSING
               and field.default_factory is dataclasses.MISSING]
    if missing:
        raise ValidationError(f"{source}: {cls.__name__} lacks field(s) {', '.join(missing)}")
    return cls(**{key: value for key, value in item.items() if key in names})


def write_results_json(report, path, audit_summary=None):
    """Write a run report (and the audit summary, if given) as JSON, atomically.

    Returns
    -------
    path : `pathlib.Path`
    """
    document = run_report_to_json(report)
    if audit_summary is not None:
        document["audit_summary"] = audit_summary
    return write_text(path, json.dumps(document, indent=1) + "\n")


def read_results_json(path):
    """Read a results file written by `write_results_json`.

    Returns
    -------
    report : `validation.model.RunReport`
    audit_summary : `list` [`dict`] or `None`

    Raises
    ------
    validation.errors.ValidationError
        If the file is missing, not JSON, or not a run report.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except OSError as error:
        raise ValidationError(f"cannot read results file {path}: {error.strerror}") from None
    except ValueError as error:
        raise ValidationError(f"results file {path} is not valid JSON: {error}") from None
    report = run_report_from_json(document, source=str(path))
    return report, document.get("audit_summary")
