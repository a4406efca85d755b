"""Repositories on disk: their configuration, parents, and the order reads search them.

A repository is a directory. Its ``repositoryCfg.yaml`` records the mapper
(``_mapper``, ``_mapperArgs``), its parents (``_parents``, relative to the
root), a policy override (``_policy``) and ``_root`` (null: the root is the
directory the file is in). Old-style repositories have instead a ``_mapper``
file holding one fully qualified class name, and optionally a ``_parent``
symlink; a bare ``registry.sqlite3`` also marks one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from diffim.io.atomic import write_text

from .errors import RepositoryError
from .registry import REGISTRY_FILE

__all__ = ["CFG_FILE", "MAPPER_FILE", "PARENT_LINK", "RepositoryArgs", "RepositoryCfg",
           "read_cfg", "search_order", "write_cfg"]

CFG_FILE = "repositoryCfg.yaml"
MAPPER_FILE = "_mapper"
PARENT_LINK = "_parent"

_MODES = ("r", "w", "rw")


@dataclass
class RepositoryArgs:
    """How a `compat.gen2.butler.Butler` uses one repository.

    Parameters
    ----------
    root : `str` or `pathlib.Path`
    mode : `str`
        ``"r"``, ``"w"`` or ``"rw"``; inputs default to ``"r"``, outputs to ``"w"``.
    mapper : `str`, optional
        Fully qualified mapper class name, for a new repository.
    mapperArgs : `dict`, optional
        Keyword arguments of the mapper.
    """

    root: Path
    mode: str | None = None
    mapper: str | None = None
    mapperArgs: dict = field(default_factory=dict)

    def __post_init__(self):
        self.root = Path(self.root).resolve()
        if self.mode is not None and self.mode not in _MODES:
            raise RepositoryError(f"{self.root}: repository mode must be one of {_MODES}, "
                                  f"got {self.mode!r}")

    @classmethod
    def coerce(cls, value, mode):
        """A `RepositoryArgs` from a path, a dict of its fields, or itself, with a default mode."""
        if isinstance(value, cls):
            args = value
        elif isinstance(value, dict):
            args = cls(**value)
        else:
            args = cls(value)
        if args.mode is None:
            args.mode = mode
        return args


@dataclass
class RepositoryCfg:
    """What a repository records about itself.

    Attributes
    ----------
    root : `pathlib.Path`
        Absolute root directory.
    mapper : `str` or `None`
        Fully qualified mapper class name; `None` to take the parents'.
    mapperArgs : `dict`
    parents : `list` [`pathlib.Path`]
        Absolute roots of the parents, in search order.
    policy : `str` or `None`
        A policy file replacing the mapper's default.
    old_style : `bool`
        Read from ``_mapper``/``_parent``/``registry.sqlite3``, not from
        ``repositoryCfg.yaml``; never rewritten.
    """

    root: Path
    mapper: str | None = None
    mapperArgs: dict = field(default_factory=dict)
    parents: list = field(default_factory=list)
    policy: str | None = None
    old_style: bool = False


def read_cfg(root):
    """The configuration of the repository at ``root``, or `None` if there is none.

    Raises
    ------
    RepositoryError
        If ``repositoryCfg.yaml`` is unreadable or malformed.
    """
    root = Path(root).resolve()
    cfg_path = root / CFG_FILE
    if cfg_path.is_file():
        try:
            document = yaml.safe_load(cfg_path.read_text())
        except (OSError, yaml.YAMLError) as error:
            raise RepositoryError(f"{cfg_path}: cannot read ({error})") from None
        if not isinstance(document, dict) or not isinstance(document.get("_parents", []), list):
            raise RepositoryError(f"{cfg_path}: not a repository configuration")
        return RepositoryCfg(root, document.get("_mapper"), document.get("_mapperArgs") or {},
                             [_absolute(root, parent) for parent in document.get("_parents", [])],
                             document.get("_policy"))
    mapper_path = root / MAPPER_FILE
    if mapper_path.is_file() or (root / REGISTRY_FILE).is_file():
        mapper = mapper_path.read_text().strip() if mapper_path.is_file() else None
        parent = root / PARENT_LINK
        parents = [parent.resolve()] if parent.exists() else []
        return RepositoryCfg(root, mapper or None, {}, parents, None, old_style=True)
    return None


def write_cfg(cfg):
    """Write ``cfg`` as ``repositoryCfg.yaml`` in its root (created if needed), atomically."""
    document = {"_mapper": cfg.mapper, "_mapperArgs": dict(cfg.mapperArgs),
                # Relative parents keep a tree of repositories valid when it is moved.
                "_parents": [os.path.relpath(parent, cfg.root) for parent in cfg.parents],
                "_policy": cfg.policy, "_root": None}
    text = yaml.safe_dump(document, sort_keys=True)
    write_text(cfg.root / CFG_FILE, text)


def search_order(roots):
    """Each root followed by its parents, depth first, without repeats.

    Parameters
    ----------
    roots : iterable of `pathlib.Path`

    Returns
    -------
    cfgs : `list` [`RepositoryCfg`]
        Repositories in the order reads search them; a root with no
        configuration yet (a new output) is given an empty one.
    """
    order, seen = [], set()

    def visit(root, trail):
        if root in trail:
            raise RepositoryError(f"{root}: parent chain loops back to itself via "
                                  f"{' -> '.join(map(str, trail))}")
        if root in seen:
            return
        seen.add(root)
        cfg = read_cfg(root) or RepositoryCfg(root)
        order.append(cfg)
        for parent in cfg.parents:
            visit(parent, trail + (root,))

    for root in roots:
        visit(Path(root).resolve(), ())
    return order


def _absolute(root, parent):
    return (root / parent).resolve() if not Path(parent).is_absolute() else Path(parent)
