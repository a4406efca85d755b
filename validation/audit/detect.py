"""Which catalogued features a parsed config uses, judged by value.

A parsed file's values are laid over the defaults of its config class (ours,
instantiated here: that is our code, not the audited file), and each
feature's ``switches`` are tested on the result. The baseline is
`ImageDifferenceConfig`, on whose defaults no switch holds; a class with other
defaults (`Winter2013ImageDifferenceConfig` selects template sources and
retargets ``getTemplate`` to calexps) brings its features with it. Setting a
switch to its default, as persisted configs do for every field, uses nothing.
"""
from __future__ import annotations

import functools
import re

import lsst.pex.config as pexConfig

from diffim.image_difference import (
    ImageDifferenceConfig,
    Winter2013ImageDifferenceConfig,
)
from diffim.measure.task import DetectAndMeasureConfig
from diffim.subtract import AlardLuptonSubtractConfig

from ..model import AuditRecord
from .features import FEATURES
from .parsed import FieldReference

__all__ = ["PROJECT_FIELDS", "add_evidence", "audit_record", "config_class_of_task",
           "detect_config_features", "detect_features", "short_name"]

_CONFIG_CLASSES = (ImageDifferenceConfig, Winter2013ImageDifferenceConfig,
                   AlardLuptonSubtractConfig, DetectAndMeasureConfig)
"""Config classes whose defaults the audit knows, most likely first for a gen2 file."""

PROJECT_FIELDS = frozenset(name for cls in _CONFIG_CLASSES for name in cls._fields)
"""Top-level fields of this project's config classes."""

_TASK_CONFIGS = {"ImageDifferenceTask": ImageDifferenceConfig,
                 "Winter2013ImageDifferenceTask": Winter2013ImageDifferenceConfig,
                 "AlardLuptonSubtractTask": AlardLuptonSubtractConfig,
                 "DetectAndMeasureTask": DetectAndMeasureConfig}
"""Task class short name -> its config class; the gen3 PipelineTasks add only
connections to the same fields, so one entry serves both worlds."""

_MISSING = object()


def short_name(dotted_name):
    """The last component of a dotted name."""
    return dotted_name.rsplit(".", 1)[-1]


def config_class_of_task(task_name):
    """Our config class for a task class name (dotted or short), or `None`."""
    return _TASK_CONFIGS.get(short_name(task_name))


def detect_config_features(parsed):
    """Features a config file uses; its class from its ``assert type`` line or its fields.

    Without an ``assert type`` line, the class is the known one having most
    of the file's top-level fields (the monolith's on ties): a file setting
    ``winter2013WcsShift`` is a Winter2013 config, one setting only
    ``detection.thresholdValue`` a `DetectAndMeasureConfig`.

    Parameters
    ----------
    parsed : `validation.audit.parsed.ParsedConfig`

    Returns
    -------
    evidence : `dict` [`str`, `list` [`str`]]
        Feature id -> evidence lines, in catalogue order.
    """
    if parsed.config_type is not None:
        name = parsed.config_type.value
        config_class = next((cls for cls in _CONFIG_CLASSES if cls.__name__ == short_name(name)),
                            None)
        return detect_features(parsed, config_class, name, parsed.config_type.evidence)
    top_fields = {_top_field(path) for path in (*parsed.values, *parsed.retargets)}
    config_class = max(_CONFIG_CLASSES, key=lambda cls: len(top_fields & set(cls._fields)))
    own_fields = set(config_class._fields) - set(ImageDifferenceConfig._fields)
    evidence = [setting.evidence for path, setting in parsed.values.items()
                if _top_field(path) in own_fields]
    class_evidence = evidence[0] if evidence else f"{parsed.name}: {config_class.__name__} fields"
    return detect_features(parsed, config_class, config_class.__name__, class_evidence)


def detect_features(parsed, config_class, class_name, class_evidence):
    """Features a parsed config uses.

    Parameters
    ----------
    parsed : `validation.audit.parsed.ParsedConfig`
        The values the file gives.
    config_class : `type` or `None`
        Config class whose defaults fill the fields the file leaves alone
        (`None`: unknown, only the file's values count).
    class_name : `str`
        The (dotted) task or config class the file is for, which
        ``config_class`` was chosen by.
    class_evidence : `str`
        What says so (the ``assert type`` line, the pipeline's ``class:``),
        quoted for the features the class and its defaults bring.

    Returns
    -------
    evidence : `dict` [`str`, `list` [`str`]]
        Feature id -> evidence lines, in catalogue order.
    """
    effective = _EffectiveConfig(parsed, config_class, class_evidence)
    named = [(class_name, class_evidence)] + effective.targets()
    found = {}
    for feature in FEATURES.values():
        lines = []
        for alternative in feature.switches:
            lines.extend(effective.holds(alternative) or ())
        if feature.classes:
            lines.extend(evidence for name, evidence in named
                         if re.fullmatch(feature.classes, short_name(name)))
        if lines:
            found[feature.id] = list(dict.fromkeys(lines))
    return found


class _EffectiveConfig:
    """A parsed file's values over the defaults of its config class."""

    def __init__(self, parsed, config_class, class_evidence):
        self.parsed = parsed
        self.defaults = _defaults(config_class) if config_class else None
        self.class_evidence = class_evidence

    def value(self, path, seen=()):
        """``(value, evidence lines)`` of field ``path`` (``_MISSING`` if unknown)."""
        setting = self.parsed.values.get(path)
        if setting is None:
            value = _lookup(self.defaults, path)
            return value, ([self.class_evidence] if value is not _MISSING else [])
        if isinstance(setting.value, FieldReference):
            if setting.value.path in seen:
                return _MISSING, []
            value, evidence = self.value(setting.value.path, seen + (path,))
            return value, [setting.evidence] + evidence
        return setting.value, [setting.evidence]

    def holds(self, alternative):
        """Evidence that every ``(field, value)`` of ``alternative`` holds, or `None`."""
        lines = []
        for path, wanted in alternative:
            value, evidence = self.value(path)
            if type(value) is not type(wanted) or value != wanted:
                return None
            lines.extend(evidence)
        return lines

    def targets(self):
        """``(dotted task name, evidence)`` of each retarget, and of each default
        target of the config class that differs from `ImageDifferenceConfig`'s."""
        named = [(setting.value, setting.evidence) for setting in self.parsed.retargets.values()]
        if self.defaults is None:
            return named
        baseline = _defaults(ImageDifferenceConfig)
        for name, config_field in type(self.defaults)._fields.items():
            if (isinstance(config_field, pexConfig.ConfigurableField)
                    and name not in self.parsed.retargets and name in baseline._fields):
                target = getattr(self.defaults, name).target
                if target is not getattr(baseline, name).target:
                    named.append((f"{target.__module__}.{target.__qualname__}",
                                  self.class_evidence))
        return named


def add_evidence(found, more):
    """Add the feature evidence ``more`` to ``found`` (both feature id -> lines)."""
    for feature_id, lines in more.items():
        found[feature_id] = list(dict.fromkeys(found.get(feature_id, []) + lines))


def audit_record(path, kind, found, references, problems):
    """The `AuditRecord` of one file, its features in catalogue order."""
    features = [feature_id for feature_id in FEATURES if feature_id in found]
    return AuditRecord(path=path, kind=kind, features=features,
                       evidence={feature_id: found[feature_id] for feature_id in features},
                       problems=list(problems), references=list(references))


def _top_field(path):
    """``"subtract"`` of ``"subtract.mode"``, ``"kernel"`` of ``"kernel['AL']"``."""
    return re.split(r"[.\[]", path)[0]


@functools.cache
def _defaults(config_class):
    """A default instance of ``config_class``, made once: the audit only reads it."""
    return config_class()


def _lookup(config, path):
    """The default of dotted field ``path`` in ``config``, or ``_MISSING``."""
    value = config
    for name in path.split("."):
        if value is None or not hasattr(value, name):
            return _MISSING
        value = getattr(value, name)
    return value
