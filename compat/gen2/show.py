"""``--show``: what a command-line task would do, printed instead of (or before) doing it.

``config[=PATTERN]`` prints the config as an override file (only the
fields whose dotted name matches the glob ``PATTERN``, case-insensitively
unless it ends in ``:NOIGNORECASE``), ``history=FIELD`` where a field got
its value, ``tasks`` the sub-task hierarchy, ``data`` the data references
(printed by the parser once it has them) and ``run`` asks to run the task
afterwards: without it the command exits after showing.
"""
from __future__ import annotations

import fnmatch
import re
import sys

import lsst.pex.config as pexConfig
import lsst.pex.config.history as pexHistory
from lsst.pex.config.registry import RegistryInstanceDict

from .config_overrides import first_line

__all__ = ["SHOW_CHOICES", "check_show", "show_config_items"]

SHOW_CHOICES = ("config", "history", "tasks", "data", "run")
"""The things ``--show`` may name (``config`` and ``history`` take ``=...``)."""


def check_show(show):
    """The unknown ``--show`` values, as one message (empty when all are known)."""
    unknown = [what for what in show if what.partition("=")[0] not in SHOW_CHOICES]
    if not unknown:
        return ""
    return (f"unknown value(s) for --show: {', '.join(unknown)} (choose from "
            "config[=PATTERN], history=PATTERN, tasks, data, run)")


def show_config_items(show, config, stream=None):
    """Print what ``config``, ``history`` and ``tasks`` of ``show`` ask for."""
    stream = stream or sys.stdout
    for what in show:
        command, _, argument = what.partition("=")
        if command == "config":
            _show_config(config, argument, stream)
        elif command == "history":
            _show_history(config, argument, stream)
        elif command == "tasks":
            for name, target in _task_hierarchy(config, "config"):
                print(f"{name}: {target}", file=stream)


def _show_config(config, pattern, stream):
    pattern = re.sub(r"^config\.", "", pattern)
    if not pattern:
        config.saveToStream(stream, "config")
        return
    flags = re.IGNORECASE
    if pattern.endswith(":NOIGNORECASE"):
        pattern, flags = pattern[:-len(":NOIGNORECASE")], 0
    matcher = re.compile(fnmatch.translate(f"config.{pattern}"), flags)
    document = _Collect()
    config.saveToStream(document, "config")
    # Each assignment is preceded by its doc comment; keep the pair together.
    for block in "".join(document.parts).split("\n\n"):
        assignment = block.strip().splitlines()[-1] if block.strip() else ""
        if matcher.match(assignment.split("=")[0].strip()):
            print(block.strip() + "\n", file=stream)


def _show_history(config, name, stream):
    *parents, leaf = name.split(".") if name else [""]
    target = config
    try:
        for part in parents:
            target = getattr(target, part)
        print(pexHistory.format(target, leaf), file=stream)
    except Exception as error:
        print(f"--show history={name}: {first_line(error)}", file=stream)


def _task_hierarchy(config, prefix):
    """``(dotted field name, target class name)`` of every sub-task, depth first."""
    for name, value in config.items():
        if isinstance(value, pexConfig.configurableField.ConfigurableInstance):
            yield f"{prefix}.{name}", value.target.__name__
            yield from _task_hierarchy(value.value, f"{prefix}.{name}")
        elif isinstance(value, RegistryInstanceDict) and not value._field.multi \
                and value.active is not None:
            # A registry's sub-task is its selection's (registered wrappers name their target).
            target = getattr(value.target, "_target", value.target)
            yield f"{prefix}.{name}", target.__name__
            yield from _task_hierarchy(value.active, f"{prefix}.{name}")


class _Collect:
    """A write-only stream keeping what is written."""

    def __init__(self):
        self.parts = []

    def write(self, text):
        self.parts.append(text)
