"""Mapper policies: what each dataset type is called on disk and how it is stored.

A policy is a YAML file (see ``policy/SimCamMapper.yaml``) with a
``datasets`` mapping of dataset type -> ``template`` (a path relative to a
repository root with %-style named keys), ``python`` (the type of the
in-memory object), ``storage`` (how it is written) and optionally
``tables`` (registry tables that fill missing keys) and ``level``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import yaml

from .errors import PolicyError

__all__ = ["DatasetPolicy", "POLICY_DIR", "STORAGES", "load_policy", "template_keys"]

POLICY_DIR = Path(__file__).parent / "policy"
"""Directory of the policy files shipped with the package."""

STORAGES = ("Fits", "FitsCatalog", "ParquetCatalog", "Yaml", "Config", "Json")
"""Storage names a policy may use (`compat.gen2.storage` implements them)."""

# A %-conversion with a named key: %(visit)d, %(ccd)02d, %(patch)s, ...
_KEY_PATTERN = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?([a-zA-Z])")
_KEY_TYPES = {"d": int, "i": int, "s": str, "f": float}


@dataclass(frozen=True)
class DatasetPolicy:
    """How one dataset type is persisted.

    Attributes
    ----------
    name : `str`
    template : `str`
        Path relative to the repository root, e.g.
        ``calexp/v%(visit)d-f%(filter)s/c%(ccd)02d.fits``.
    python : `str`
        Fully qualified name of the in-memory type.
    storage : `str`
        One of `STORAGES`.
    tables : `tuple` [`str`]
        Registry tables that fill keys missing from a data ID.
    level : `str` or `None`
        Finest data ID level (``"sensor"``, ``"patch"``), or `None` for
        datasets with no data ID keys.
    """

    name: str
    template: str
    python: str
    storage: str
    tables: tuple
    level: str | None = None

    @property
    def keys(self):
        """Template keys -> Python type (`int`, `str` or `float`), in template order."""
        return template_keys(self.template)


def template_keys(template):
    """The named keys of a path template and their types, in order of appearance.

    Raises
    ------
    PolicyError
        If a key's conversion is not ``d``, ``i``, ``s`` or ``f``, or a key
        appears twice with two types.
    """
    keys = {}
    for key, conversion in _KEY_PATTERN.findall(template):
        if conversion not in _KEY_TYPES:
            raise PolicyError(f"template {template!r}: key {key!r} has unsupported conversion "
                              f"%{conversion}")
        kind = _KEY_TYPES[conversion]
        if keys.setdefault(key, kind) is not kind:
            raise PolicyError(f"template {template!r}: key {key!r} used with two types")
    return keys


def load_policy(path):
    """Read a policy file into dataset type -> `DatasetPolicy`.

    Raises
    ------
    PolicyError
        If the file is unreadable, an entry lacks a field, names an unknown
        storage, or has an absolute template or one reaching outside the
        repository (``..``).
    """
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as error:
        raise PolicyError(f"{path}: cannot read mapper policy ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("datasets"), dict):
        raise PolicyError(f"{path}: a mapper policy needs a 'datasets' mapping")
    default_tables = tuple(document.get("defaultTables", ()))
    policies = {}
    for name, entry in document["datasets"].items():
        missing = [field for field in ("template", "python", "storage")
                   if not isinstance(entry, dict) or field not in entry]
        if missing:
            raise PolicyError(f"{path}: dataset type {name!r} lacks {', '.join(missing)}")
        template = entry["template"]
        # Templates are joined to every repository root of a chain; an absolute
        # one would make all repositories share (and overwrite) one file.
        if PurePosixPath(template).is_absolute() or ".." in PurePosixPath(template).parts:
            raise PolicyError(f"{path}: dataset type {name!r}: template {template!r} must be "
                              "relative and inside the repository")
        if entry["storage"] not in STORAGES:
            raise PolicyError(f"{path}: dataset type {name!r}: unknown storage "
                              f"{entry['storage']!r} (one of {', '.join(STORAGES)})")
        template_keys(template)
        policies[name] = DatasetPolicy(name, template, entry["python"], entry["storage"],
                                       tuple(entry.get("tables", default_tables)),
                                       entry.get("level"))
    return policies
