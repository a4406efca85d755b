"""When each default of the stack's gen2 ``ImageDifferenceConfig`` changed.

The table ``data/image_difference_history.json`` was read out of the git
history of lsst/pipe_tasks (``ImageDifferenceConfig``: its fields, its
``setDefaults``, the fields its task reads, its gen3 connections) and
lsst/ip_diffim (the Alard-Lupton and delta-function kernel configs under
``subtract['al'].kernel``), one entry per change, each with the date it
reached the first-parent line of ``main`` and the commit. Its ``about`` says
how; ``last_gen2`` is the last version before gen2 was removed, the "today"
of an override file.

Field paths are written as in override files, with one spelling per field:
the kernel of the default subtraction as ``subtract['al'].kernel['AL']``,
whatever a file calls it (`canonical_path`).
"""
from __future__ import annotations

import functools
import importlib.resources
import json
import re
from dataclasses import dataclass

__all__ = ["SUBTASK_DEFAULT", "Change", "ConfigHistory", "FieldState", "canonical_path",
           "top_field"]

SUBTASK_DEFAULT = "<the sub-task's own default>"
"""The default of a sub-task field once no ``setDefaults`` sets it (the table
does not follow every sub-task's history)."""


@dataclass(frozen=True)
class Change:
    """One entry of a field's history.

    Attributes
    ----------
    date : `str`
        ISO date the change reached ``main``.
    where : `str`
        ``repository@commit``.
    event : `str`
        ``present`` (in the first version read), ``added``, ``removed``,
        ``set`` and ``unset`` (a ``setDefaults`` started or stopped setting this
        sub-task field), ``default`` (the effective default became ``value``), ``deprecated``
        (``value`` is the message), ``type`` (kind or target changed) or
        ``unused`` (the task's code stopped reading it).
    value : `object`
        The new default, message or type.
    """

    date: str
    where: str
    event: str
    value: object

    @property
    def cite(self):
        """``"2021-06-01, lsst/pipe_tasks@79ea098af7"``."""
        return f"{self.date}, {self.where}"


@dataclass(frozen=True)
class FieldState:
    """A field as it was on one date.

    Attributes
    ----------
    exists : `bool`
    default : `object`
        The effective default (``setDefaults`` over the field's own).
    since : `Change` or `None`
        The change that gave it that default (or made it exist).
    no_effect : `Change` or `None`
        The deprecation or the "unused" change, when the field no longer
        did anything on that date.
    """

    exists: bool
    default: object = None
    since: Change | None = None
    no_effect: Change | None = None


def top_field(path):
    """``"subtract"`` of ``"subtract['al'].kernel"``, ``"doDecorrelation"`` of itself."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]


def canonical_path(path):
    """The table's spelling of a field path.

    ``subtract.kernel...`` (before ``subtract`` became a registry) and
    ``kernel.active`` (the selected kernel, AL by default) name the same
    fields as ``subtract['al'].kernel['AL']``; double quotes become single.
    """
    path = path.replace('"', "'")
    path = re.sub(r"^subtract\.kernel\b", "subtract['al'].kernel", path)
    return path.replace("kernel.active.", "kernel['AL'].")


class ConfigHistory:
    """The table of defaults over time, with questions about one field and one date.

    Parameters
    ----------
    table : `dict`
        The parsed JSON table (`load` reads the packaged one).
    """

    def __init__(self, table):
        self.table = table
        self.last_gen2 = table["last_gen2"]["date"]
        self.first = table["first"]["lsst/pipe_tasks"]
        self.paths = {path: tuple(Change(*entry) for entry in entry_table["history"])
                      for path, entry_table in table["paths"].items()}
        self.kinds = {path: entry.get("kind", "") for path, entry in table["paths"].items()}
        self.top_fields = {path for path in self.paths if top_field(path) == path}
        self.registries = table["registries"]

    @classmethod
    @functools.cache
    def load(cls):
        """The packaged table (read once)."""
        resource = importlib.resources.files(__package__) / "data" / "image_difference_history.json"
        return cls(json.loads(resource.read_text(encoding="utf-8")))

    def known(self, path):
        """Whether the table has ``path`` (canonical) at any date."""
        return canonical_path(path) in self.paths

    def state(self, path, date):
        """`FieldState` of ``path`` on ``date`` (ISO; the table's last date if later)."""
        exists, default, since, no_effect = False, None, None, None
        for change in self.paths.get(canonical_path(path), ()):
            if change.date > date:
                break
            if change.event in ("present", "added", "set"):
                exists, default, since, no_effect = True, change.value, change, None
            elif change.event == "removed":
                exists, since = False, change
            elif change.event == "unset":
                default, since = SUBTASK_DEFAULT, change
            elif change.event == "default":
                default, since = change.value, change
            elif change.event in ("deprecated", "unused"):
                no_effect = no_effect or change
        return FieldState(exists, default, since, no_effect)

    def retyped(self, path, start, end):
        """Whether the kind of field ``path`` changed after ``start``, up to ``end``."""
        return any(change.event == "type" and start < change.date <= end
                   for change in self.paths.get(canonical_path(path), ()))

    def today(self, path):
        """`FieldState` of ``path`` in the last gen2 version."""
        return self.state(path, self.last_gen2)
