"""Features of a gen3 pipeline YAML, read without running anything.

A pipeline names its tasks (``tasks: LABEL: module.Class`` or ``tasks: LABEL:
{class: module.Class, config: ...}``) and configures them with ``config``
blocks (a mapping or a list of them) of ``field: value`` pairs,
``python: "..."`` source (read by `validation.audit.safe_config`, never run)
and ``file: PATH`` overrides. The YAML is read with `yaml.safe_load`, which
builds no Python objects.

Tasks are recognised by the short name of their class, since the gen3 tasks
are still being written: the feature catalogue's ``classes`` patterns say
which name means which feature (``GetTemplateTask``: coadd templates;
``MakeCalexpCoaddTask`` or ``...Calexp...Template...Task``: calexp templates;
``AlardLuptonSubtractTask``, ``DetectAndMeasureTask``: the split), and a
task's config values are judged over the defaults of its config class, as
for config files. A pipeline that detects (``DetectAndMeasureTask``) but does
not subtract uses ``detect_only``. ``imports`` are recorded, not followed: the
imported pipelines are audited on their own when listed.
"""
from __future__ import annotations

import os
import re

import yaml

from .detect import add_evidence, audit_record, config_class_of_task, detect_features, short_name
from .parsed import ParsedConfig, Setting, follow_load
from .safe_config import parse_config_source

__all__ = ["read_pipeline"]

_DETECTION_TASK = "DetectAndMeasureTask"
_SUBTRACTION_TASKS = r"AlardLuptonSubtractTask|(Winter2013)?ImageDifferenceTask"


def read_pipeline(text, path, loader=None):
    """The `AuditRecord` of one pipeline YAML.

    Parameters
    ----------
    text : `str`
        The YAML.
    path : `str`
        Its file, for evidence.
    loader : callable, optional
        ``loader(path) -> ParsedConfig or None`` for the config files that
        ``file:`` entries and ``load`` statements name.

    Returns
    -------
    record : `validation.model.AuditRecord`
        ``kind`` ``"pipeline"``; unreadable YAML or a document without
        ``tasks`` is a problem, not an error.
    """
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        reason = str(error).splitlines()[0]
        return audit_record(path, "pipeline", {}, [], [f"not parsed: {path}: {reason}"])
    if not isinstance(document, dict) or not isinstance(document.get("tasks"), dict):
        return audit_record(path, "pipeline", {}, [],
                            [f"not a pipeline: {path}: no 'tasks' mapping"])
    parameters = document.get("parameters") or {}
    reader = _PipelineReader(path, parameters if isinstance(parameters, dict) else {}, loader)
    if not isinstance(parameters, dict):
        reader.problems.append(f"not understood: {path}:parameters: {parameters!r}")
    imports = document.get("imports") or []
    reader.references.extend(f"imports {_import_location(entry)}"
                             for entry in (imports if isinstance(imports, list) else [imports]))
    for label, entry in document["tasks"].items():
        reader.read_task(str(label), entry)
    reader.check_detect_only()
    return audit_record(path, "pipeline", reader.found, reader.references, reader.problems)


def _import_location(entry):
    return entry.get("location") if isinstance(entry, dict) else entry


class _PipelineReader:
    """Collects features, references and problems over the tasks of one pipeline."""

    def __init__(self, path, parameters, loader):
        self.path = path
        self.directory = os.path.dirname(path)
        self.parameters = parameters
        self.loader = loader
        self.found = {}
        self.references = []
        self.problems = []
        self.task_classes = {}

    def read_task(self, label, entry):
        where = f"{self.path}:tasks.{label}"
        class_name = entry.get("class") if isinstance(entry, dict) else entry
        if not isinstance(class_name, str):
            self.problems.append(f"not understood: {where}: no task class")
            return
        class_evidence = f"{where}.class: {class_name}"
        self.task_classes[short_name(class_name)] = class_evidence
        blocks = (entry.get("config") or []) if isinstance(entry, dict) else []
        parsed = ParsedConfig(where)
        for block in blocks if isinstance(blocks, list) else [blocks]:
            if isinstance(block, dict):
                self._read_block(parsed, block, f"{where}.config")
            else:
                self.problems.append(f"not understood: {where}.config: {block!r}")
        add_evidence(self.found, detect_features(parsed, config_class_of_task(class_name),
                                                 class_name, class_evidence))
        self.references.extend(parsed.references)
        self.problems.extend(parsed.problems)

    def _read_block(self, parsed, block, where):
        for key, value in block.items():
            if key == "python":
                block_source = parse_config_source(str(value), f"{where}.python",
                                                   directory=self.directory, loader=self.loader)
                parsed.merge(block_source)
                parsed.references.extend(block_source.references)
                parsed.problems.extend(block_source.problems)
            elif key == "file":
                for filename in value if isinstance(value, list) else [value]:
                    follow_load(parsed, os.path.normpath(os.path.join(self.directory,
                                                                      str(filename))),
                                self.loader)
            elif key != "dataId":  # a condition on where the block applies, not a field
                parsed.values[str(key)] = Setting(self._substitute(value), where,
                                                  f"{key}: {value!r}")

    def _substitute(self, value):
        """A ``parameters.NAME`` value replaced by the pipeline parameter, as pipe_base does."""
        if isinstance(value, str) and value.startswith("parameters."):
            return self.parameters.get(value.removeprefix("parameters."), value)
        return value

    def check_detect_only(self):
        detection = self.task_classes.get(_DETECTION_TASK)
        subtracts = any(re.fullmatch(_SUBTRACTION_TASKS, name) for name in self.task_classes)
        if detection and not subtracts:
            add_evidence(self.found, {"detect_only": [f"{detection} (no subtraction task)"]})
