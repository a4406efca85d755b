"""What a config file says, as the audit reads it: settings, references, problems.

`validation.audit.safe_config` makes these from pex_config Python and
`validation.audit.pipelines` from the ``config`` blocks of pipeline YAML;
`validation.audit.detect` judges them.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["FieldReference", "ParsedConfig", "Setting", "follow_load", "join_field_path"]


@dataclass(frozen=True)
class Setting:
    """A value a file gives (a field value, a retarget's target name, a config class name).

    Attributes
    ----------
    value : `object`
        The literal value, a `FieldReference`, or a dotted class name.
    where : `str`
        ``FILE:LINE`` (or ``FILE:KEY`` for YAML), for evidence.
    source : `str`
        The statement as written.
    """

    value: object
    where: str
    source: str

    @property
    def evidence(self):
        """``"WHERE: SOURCE"``, the line quoted as evidence."""
        return f"{self.where}: {self.source}"


@dataclass(frozen=True)
class FieldReference:
    """``config.a = config.b``: the value of field ``path``, known only with the defaults."""

    path: str


@dataclass
class ParsedConfig:
    """What a config file says, as far as it can be read without running it.

    Attributes
    ----------
    name : `str`
        The file (or YAML block) it was read from.
    values : `dict` [`str`, `Setting`]
        Field path (``"subtract.mode"``, ``"kernel['AL'].kernelSize"``) ->
        its last setting.
    retargets : `dict` [`str`, `Setting`]
        Field path -> setting whose value is the target's dotted name.
    config_type : `Setting` or `None`
        The config class a persisted file asserts (dotted name).
    references : `list` [`str`]
        Imports and loaded files, as ``"import a.b"`` or
        ``"load FILE (followed)"``.
    problems : `list` [`str`]
        Statements not evaluated, syntax errors.
    """

    name: str
    values: dict = field(default_factory=dict)
    retargets: dict = field(default_factory=dict)
    config_type: Setting | None = None
    references: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    def merge(self, other, prefix=""):
        """Apply the values and retargets of ``other`` to field ``prefix`` of this config.

        This is what ``config.<prefix>.load(other)`` does; ``other``'s own
        references and problems stay in its own record.
        """
        for path, setting in other.values.items():
            if isinstance(setting.value, FieldReference):
                setting = dataclasses.replace(
                    setting, value=FieldReference(join_field_path(prefix, setting.value.path)))
            self.values[join_field_path(prefix, path)] = setting
        for path, setting in other.retargets.items():
            self.retargets[join_field_path(prefix, path)] = setting


def follow_load(parsed, load_path, loader, prefix=""):
    """Merge the config file ``load_path`` into field ``prefix`` of ``parsed``, if audited.

    Parameters
    ----------
    parsed : `ParsedConfig`
        The config doing the load; the load is added to its references.
    load_path : `str`
        The file loaded.
    loader : callable or `None`
        ``loader(path) -> ParsedConfig or None``; `None` (or no loader) leaves
        the file unread.
    prefix : `str`, optional
        The field the file is loaded into (``""``: the whole config).
    """
    loaded = loader(load_path) if loader else None
    if loaded is None:
        parsed.references.append(f"load {load_path} (not followed: not audited, or a load cycle)")
    else:
        parsed.merge(loaded, prefix)
        parsed.references.append(f"load {load_path} (followed)")


def join_field_path(prefix, path):
    """``prefix`` and ``path`` joined as pex_config field paths (``a`` + ``b`` -> ``a.b``)."""
    if not prefix or not path:
        return prefix or path
    return prefix + path if path.startswith("[") else f"{prefix}.{path}"
