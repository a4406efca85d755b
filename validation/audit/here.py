"""Which settings of an override file this project accepts but does not apply.

The task's own table decides (`ImageDifferenceConfig.notAppliedTable`, the
one the task logs from when it runs): the file's literal settings are set
on a fresh config of ours by path (values only, nothing of the file runs),
and `diffim.config.not_applied.not_applied` lists those whose effect is
missing here.
"""
from __future__ import annotations

from diffim.config.fresh import fresh_config
from diffim.config.not_applied import not_applied
from diffim.config.paths import ConfigPathError, set_path
from diffim.image_difference import ImageDifferenceConfig

from .parsed import FieldReference

__all__ = ["not_applied_here"]


def not_applied_here(settings, name):
    """Findings ``not_applied_here`` for ``settings`` (path -> `Setting`) of file ``name``.

    A setting our config refuses is left out (the other findings name it);
    so are references to other fields, whose values the file computes.
    """
    config = fresh_config(ImageDifferenceConfig)
    where = {}
    for path, setting in settings.items():
        if isinstance(setting.value, FieldReference):
            continue
        try:
            set_path(config, path, setting.value)
        except ConfigPathError:
            continue
        where[path] = setting.where
    findings = []
    for line in not_applied(config, config.notAppliedTable()):
        path = line.split("=", 1)[0]
        # The table may name the setting more precisely than the file (subtract -> subtract.name).
        written = max((given for given in where if path.startswith(given)), key=len, default=None)
        findings.append({"kind": "not_applied_here", "path": path,
                         "message": f"{where[written] if written else name}: {line}"})
    return findings
