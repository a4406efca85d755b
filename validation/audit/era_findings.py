"""What an override file meant in its era, and what changes if it runs today.

Judged against `validation.audit.history.ConfigHistory`, the stack's own
``ImageDifferenceConfig`` over time, from the file's parsed settings (never
by running it). Each finding is a dict ``{"kind", "path", "message"}``,
its kind one of `FINDING_KINDS`.
"""
from __future__ import annotations

import re

from .here import not_applied_here
from .history import SUBTASK_DEFAULT, ConfigHistory, canonical_path, top_field
from .parsed import FieldReference

__all__ = ["FINDING_KINDS", "WRAPPERS", "era_findings"]

FINDING_KINDS = {
    "would_not_load": "the stack's imageDifference.py (last gen2 version) stops on it",
    "unknown_field": "no ImageDifferenceConfig of any version has this field",
    "no_effect_today": "set, but the field no longer does anything",
    "not_applied_here": "accepted by this project, which does not do what it asks",
    "relied_on_default": "left to a default that has changed since the file's era",
    "new_since_era": "a step added after the file's era that runs today unless turned off",
}
"""Finding kind -> what it means (for reports)."""

WRAPPERS = {
    "imageDifference": "ImageDifferenceDriverTask (LSSTDESC dia_pipe)",
    "differencer": "ApPipeTask (lsst.ap.pipe)",
}
"""Fields of tasks that wrapped ImageDifferenceTask -> the task: a file
setting ``config.<field>.*`` was written for that task's config, its
sub-settings are ImageDifferenceConfig settings."""

_OBSERVATORY_IMPORT = re.compile(r"^\s*(?:from|import)\s+(lsst\.obs(?:\.\w+)*)")
_PACKAGE_DIR = re.compile(r"getPackageDir\(\s*['\"](\w+)['\"]\s*\)")


def era_findings(parsed, text, era, project_fields=(), history=None):
    """The findings of one parsed override file.

    Parameters
    ----------
    parsed : `validation.audit.parsed.ParsedConfig`
    text : `str`
        The file's source (for the lines of its imports).
    era : `validation.audit.era.Era` or `None`
        When it was written; `None`: only what holds today is reported.
    project_fields : collection of `str`, optional
        Top-level fields of this project's config classes: a file whose
        fields unknown to the stack are all among them is written for this
        project, not the stack, and gets no findings; so does a persisted
        config of a class outside ``lsst``.
    history : `ConfigHistory`, optional
        The packaged table by default.

    Returns
    -------
    findings : `list` [`dict`]
        ``{"kind", "path", "message"}``, blocking ones first.
    """
    history = history or ConfigHistory.load()
    findings = []
    settings, wrapper, values = _image_difference_settings(parsed)
    if _written_for_this_project(parsed, settings, history, project_fields):
        return []
    if wrapper:
        field, task = wrapper
        findings.append(_finding(
            "would_not_load", field,
            f"{parsed.name}: written for {task}: its config.{field}.* settings are "
            "ImageDifferenceConfig settings (audited as such here), but imageDifference.py "
            f"has no field {field}"))
    findings += _blocking_statements(parsed, text)
    date = era.date if era else None
    unknown = set()
    for path, setting in settings.items():
        if top_field(path) in history.top_fields:
            findings += _setting_findings(history, path, setting, date)
        elif top_field(path) not in unknown:
            unknown.add(top_field(path))
            findings.append(_unknown_field(history, top_field(path), settings))
    findings += not_applied_here(values, parsed.name)
    if date and date < history.last_gen2:
        findings += _default_findings(history, settings, date)
    order = list(FINDING_KINDS)
    return sorted(findings, key=lambda finding: order.index(finding["kind"]))


def _finding(kind, path, message):
    return {"kind": kind, "path": path, "message": message}


def _image_difference_settings(parsed):
    """Path -> `Setting` of the ImageDifferenceConfig settings (values and retargets), the
    wrapper (or `None`), and the values alone."""
    settings = {**parsed.values, **parsed.retargets}
    for field, task in WRAPPERS.items():
        prefix = field + "."
        inner = {path[len(prefix):]: setting for path, setting in settings.items()
                 if path.startswith(prefix)}
        if inner:
            values = {path[len(prefix):]: setting for path, setting in parsed.values.items()
                      if path.startswith(prefix)}
            return inner, (field, task), values
    return settings, None, dict(parsed.values)


def _written_for_this_project(parsed, settings, history, project_fields):
    if parsed.config_type is not None:
        return not parsed.config_type.value.startswith("lsst.")
    foreign = {top_field(path) for path in settings} - history.top_fields
    return bool(foreign) and foreign <= set(project_fields)


def _blocking_statements(parsed, text):
    """Observatory-package imports and ``getPackageDir`` calls: the stack cannot run them here."""
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        match = _OBSERVATORY_IMPORT.match(line)
        if match:
            findings.append(_finding(
                "would_not_load", match.group(1),
                f"{parsed.name}:{number}: imports {match.group(1)}, an observatory package "
                "(camera and data layout of one instrument) that is not installed"))
    for problem in parsed.problems:
        package = _PACKAGE_DIR.search(problem)
        if package:
            where = problem.removeprefix("not evaluated: ").split(": ", 1)[0]
            findings.append(_finding(
                "would_not_load", f"getPackageDir({package.group(1)!r})",
                f"{where}: getPackageDir({package.group(1)!r}) needs the EUPS package "
                f"{package.group(1)} set up; the file it names is not read"))
    return findings


def _setting_findings(history, path, setting, date):
    """Findings about one setting of the file: unknown, moved, removed, no longer used."""
    where = setting.where
    top = top_field(path)
    registry = history.registries.get(top)
    key = re.match(rf"{re.escape(top)}\['([^']*)'\]", path.replace('"', "'"))
    if registry and key and key.group(1) not in registry["keys"]:
        return [_finding("unknown_field", path,
                         f"{where}: {top} offers {', '.join(registry['keys'])}, "
                         f"not {key.group(1)!r}")]
    if registry and path.startswith(top + ".") and history.known(path):
        then = (f"written when {top} was one task (until {registry['date']}); "
                if date and date < registry["date"] else "")
        return [_finding("would_not_load", path,
                         f"{where}: {then}{top} is a registry since {registry['date']} "
                         f"({registry['where']}): today {top}['al']{path[len(top):]}")]
    state = history.today(path)
    if history.known(path) and not state.exists:
        return [_finding("would_not_load", path,
                         f"{where}: {top} was removed on {state.since.cite}")]
    if state.no_effect and _value(setting) != state.default:
        change = state.no_effect
        reason = change.value if change.event == "deprecated" else "the task stopped reading it"
        return [_finding("no_effect_today", path,
                         f"{where}: {path}={_value(setting)!r} has no effect since "
                         f"{change.cite}: {reason}")]
    return []


def _unknown_field(history, top, settings):
    """One finding for all the settings under an unknown top-level field."""
    lines = list(dict.fromkeys(setting.where for path, setting in settings.items()
                               if top_field(path) == top))
    more = f" (and {len(lines) - 1} more statements)" if len(lines) > 1 else ""
    return _finding("unknown_field", top,
                    f"{lines[0]}{more}: no ImageDifferenceConfig from {history.first} to "
                    f"{history.last_gen2} has a field {top}; pex_config stops at the first")


def _default_findings(history, settings, date):
    """Defaults the file relied on that changed, and steps added since its era."""
    given = {canonical_path(path) for path in settings}
    findings = []
    for path in history.paths:
        if path in given or top_field(path) in given or top_field(path) == "connections":
            continue
        then, now = history.state(path, date), history.today(path)
        if not now.exists:
            continue
        if (then.exists and then.default != now.default and not now.no_effect
                and SUBTASK_DEFAULT not in (then.default, now.default)
                and not history.retyped(path, date, history.last_gen2)):
            findings.append(_finding(
                "relied_on_default", path,
                f"relied on {path}={then.default!r} (the default on {date}); "
                f"today {now.default!r} (since {now.since.cite})"))
        elif (not then.exists and top_field(path) == path and history.kinds[path] == "Field"
              and _runs(now.default)):
            findings.append(_finding(
                "new_since_era", path,
                f"{path}={now.default!r} by default (since {now.since.cite}), a field added "
                f"after {date}: it runs today unless the file turns it off"))
    return findings


def _value(setting):
    value = setting.value
    return f"config.{value.path}" if isinstance(value, FieldReference) else value


def _runs(default):
    """Whether a new field's default does something (a switch on, a threshold, a name)."""
    return default is True or (not isinstance(default, bool) and default not in (None, "", [], {}))

