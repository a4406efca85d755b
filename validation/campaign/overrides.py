"""A scenario's configuration as a gen2 ``-C`` override file.

The file is what a gen2 user would have written for the same run, so it is
both the gen2 command's input and a sample for the feature audit.
"""
from __future__ import annotations

from pathlib import Path

from compat.names import is_within
from diffim.io.atomic import write_text
from diffim.template import GetCalexpAsTemplateTask

from ..errors import ValidationError

__all__ = ["override_file_text", "write_override_file"]


def override_file_text(scenario):
    """The pex_config override file of ``scenario``.

    The retarget of its template mode first, then its user's override file
    (loaded unchanged, ``config.load``), then its values.
    """
    lines = [f"# Overrides of scenario {scenario.name!r} ({scenario.task})."]
    if scenario.template == "calexp":
        lines += [f"from {GetCalexpAsTemplateTask.__module__} import "
                  f"{GetCalexpAsTemplateTask.__name__}",
                  f"config.getTemplate.retarget({GetCalexpAsTemplateTask.__name__})"]
    if scenario.override_file:
        lines.append(f"config.load({scenario.override_file!r})")
    lines += [f"config.{name} = {value!r}" for name, value in scenario.config.items()]
    return "\n".join(lines) + "\n"


def write_override_file(scenario, directory):
    """Write ``<directory>/<scenario>.py``; returns its path.

    Raises
    ------
    ValidationError
        If the scenario's name would put the file outside ``directory``.
    """
    path = Path(directory) / f"{scenario.name}.py"
    if not is_within(directory, path.parent):
        raise ValidationError(f"scenario name {scenario.name!r} leads out of {directory}")
    return write_text(path, override_file_text(scenario))
