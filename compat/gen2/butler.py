"""The gen2 `Butler` and `ButlerDataRef`: datasets by type and data ID over a chain of repositories.

Reads search the readable outputs, then their parents depth first, then the
inputs and their parents, and take the first file that exists (as is, or
compressed as ``.gz``/``.fz``). Writes go to every writable output, so an
output hides what its inputs hold and never overwrites it.
"""
from __future__ import annotations

import os
from pathlib import Path

from .data_ref import ButlerDataRef, ButlerSubset, ReadProxy
from .errors import Gen2Error, NoResults, ParentsMismatch, RepositoryError
from .registry import REGISTRY_FILE, Registry
from .repository import RepositoryArgs, RepositoryCfg, read_cfg, search_order, write_cfg
from .storage import (import_type, read, read_bbox, read_header, read_length, read_schema,
                      write)

__all__ = ["Butler", "ButlerDataRef", "ButlerSubset", "ReadProxy"]

_COMPRESSED_SUFFIXES = ("", ".gz", ".fz")


class Butler:
    """Read and write datasets of a chain of gen2 repositories.

    Either old style, ``Butler(root, mapper=None, **mapperArgs)`` (``root`` is
    read and written), or new style, ``Butler(inputs=..., outputs=...)``; the
    two cannot be mixed.

    Parameters
    ----------
    root : `str` or `pathlib.Path`, optional
        Old style: the one repository, mode ``"rw"``.
    mapper : `str`, optional
        Old style: mapper class name, when ``root`` has none yet.
    inputs, outputs : path, `dict`, `compat.gen2.repository.RepositoryArgs`, or a list of them
        New style. Inputs must exist and are read only; outputs are created
        when new, recording the inputs as their parents. An existing
        output's recorded parents must be the inputs, or the start of them
        (the list is then extended); with no inputs, the recorded parents
        are read.
    **mapperArgs
        Old style: keyword arguments of the mapper.

    Raises
    ------
    RepositoryError
        If the styles are mixed, an input does not exist, a readable output
        is not the only output, or no repository names a mapper.
    ParentsMismatch
        If an existing output records other parents than the inputs.
    """

    def __init__(self, root=None, mapper=None, inputs=None, outputs=None, **mapperArgs):
        new_style = inputs is not None or outputs is not None
        if new_style and (root is not None or mapper is not None or mapperArgs):
            raise RepositoryError("Butler: root, mapper and mapperArgs (old style) cannot be "
                                  "combined with inputs and outputs (new style)")
        if new_style:
            inputs = [RepositoryArgs.coerce(args, "r") for args in _as_list(inputs)]
            outputs = [RepositoryArgs.coerce(args, "w") for args in _as_list(outputs)]
        elif root is not None:
            inputs = []
            outputs = [RepositoryArgs(root, "rw", mapper, mapperArgs)]
        else:
            raise RepositoryError("Butler: give a root (old style) or inputs and/or outputs "
                                  "(new style)")
        for args in inputs:
            if args.mode != "r":
                raise RepositoryError(f"{args.root}: an input must have mode 'r', not "
                                      f"{args.mode!r}")
            if read_cfg(args.root) is None:
                raise RepositoryError(f"{args.root}: input repository does not exist (no "
                                      "repositoryCfg.yaml, _mapper or registry.sqlite3)")
        if any("r" in args.mode for args in outputs) and len(outputs) > 1:
            raise RepositoryError("Butler: a readable output must be the only output, got "
                                  f"{[str(args.root) for args in outputs]}")
        input_roots = [args.root for args in inputs]
        opened = [(args.mode, _open_output(args, input_roots)) for args in outputs]
        self._outputs = [cfg for _, cfg in opened]
        readable = [cfg.root for mode, cfg in opened if "r" in mode]
        self._read_chain = search_order(readable + input_roots
                                        + [p for cfg in self._outputs for p in cfg.parents])
        self._write_roots = [cfg.root for mode, cfg in opened if "w" in mode]
        self.mapper = self._make_mapper()

    def _make_mapper(self):
        chain = self._outputs + self._read_chain
        name = _first_mapper(chain)
        if name is None:
            raise RepositoryError("Butler: no repository of "
                                  f"{[str(cfg.root) for cfg in chain]} names a mapper")
        cfg = next(cfg for cfg in chain if cfg.mapper == name)
        registry = next((Registry(cfg.root / REGISTRY_FILE) for cfg in chain
                         if (cfg.root / REGISTRY_FILE).is_file()), None)
        policy = next((cfg.root / cfg.policy for cfg in chain if cfg.policy), None)
        return import_type(name)(registry=registry, policy=policy, **cfg.mapperArgs)

    @property
    def read_roots(self):
        """Repository roots in the order reads search them."""
        return [cfg.root for cfg in self._read_chain]

    @property
    def write_roots(self):
        """Roots of the writable outputs."""
        return list(self._write_roots)

    def getKeys(self, datasetType):
        """Data ID keys of a dataset type -> their Python types."""
        return self.mapper.keys(datasetType)

    def queryMetadata(self, datasetType, format, dataId=None, **rest):
        """Registry values of ``format`` keys for datasets of a type matching a data ID.

        Parameters
        ----------
        datasetType : `str`
        format : `str` or `list` [`str`]
            Keys wanted.
        dataId : `dict`, optional
        **rest
            More data ID keys.

        Returns
        -------
        values : `list`
            Sorted distinct values: scalars for one key, tuples for several.
        """
        keys = [format] if isinstance(format, str) else list(format)
        rows = self.mapper.query(datasetType, keys, _merge(dataId, rest))
        return [row[0] for row in rows] if len(keys) == 1 else [tuple(row) for row in rows]

    def get(self, datasetType, dataId=None, immediate=True, **rest):
        """Read a dataset (or, with ``immediate=False``, a `ReadProxy` reading it on first use).

        Derived types answer without reading the whole dataset:
        ``X_filename`` (``[path]``), ``X_md`` (header dict), ``X_bbox``,
        ``X_len``, ``X_schema`` (an empty catalogue); ``X_sub`` reads the
        part inside the data ID's ``bbox``.

        Raises
        ------
        NoResults
            If no readable repository holds the dataset.
        RegistryLookupError
            If a missing data ID key has no unique registry value.
        """
        if not immediate:
            return ReadProxy(lambda: self.get(datasetType, dataId, **rest))
        data_id = _merge(dataId, rest)
        bbox = data_id.pop("bbox", None)
        policy, suffix = self.mapper.split(datasetType)
        if suffix == "_sub" and bbox is None:
            raise Gen2Error(f"get {datasetType!r}: the data ID needs a bbox (a diffim.geom.Box)")
        complete = self.mapper.complete(datasetType, data_id)
        path = self._locate(self.mapper.path(datasetType, complete))
        if path is None:
            raise NoResults("No locations for get", datasetType, complete)
        if suffix == "_filename":
            return [str(path)]
        if suffix == "_md":
            return read_header(policy.storage, path)
        if suffix == "_bbox":
            return read_bbox(policy.storage, path)
        if suffix == "_len":
            return read_length(policy.storage, path)
        if suffix == "_schema":
            return read_schema(policy.storage, path)
        obj = read(policy.storage, policy.python, path)
        return obj[bbox].copy() if suffix == "_sub" else obj

    def put(self, obj, datasetType, dataId=None, doBackup=False, **rest):
        """Write a dataset to every writable output.

        Parameters
        ----------
        obj
            The object, of the policy's Python type.
        datasetType : `str`
        dataId : `dict`, optional
        doBackup : `bool`
            Keep an existing file as ``f~1`` (older ones shift to ``f~2``, ...)
            instead of replacing it. Not safe with parallel writers.
        **rest
            More data ID keys.

        Raises
        ------
        RepositoryError
            If the Butler has no writable output.
        """
        if not self._write_roots:
            raise RepositoryError(f"Butler: no writable output to put {datasetType!r}")
        policy, suffix = self.mapper.split(datasetType)
        if suffix:
            raise RepositoryError(f"cannot put derived dataset type {datasetType!r}")
        relative = self.mapper.path(datasetType,
                                    self.mapper.complete(datasetType, _merge(dataId, rest)))
        for root in self._write_roots:
            path = root / relative
            if doBackup and path.exists():
                _shift_backups(path)
            write(policy.storage, policy.python, obj, path)

    def datasetExists(self, datasetType, dataId=None, write=False, **rest):
        """Whether the dataset exists: in a readable repository, or with ``write=True``
        in every writable output (and there is at least one)."""
        relative = self.mapper.path(datasetType,
                                    self.mapper.complete(datasetType, _merge(dataId, rest)))
        if write:
            return bool(self._write_roots) and all(
                _existing(root / relative) for root in self._write_roots)
        return self._locate(relative) is not None

    def subset(self, datasetType, level=None, dataId=None, **rest):
        """Data references to every registry data ID of a type matching a partial data ID.

        Parameters
        ----------
        datasetType : `str`
        level : `str`, optional
            Must be the dataset type's own level (the policy's ``level``);
            other levels are not supported yet.
        dataId : `dict`, optional
        **rest
            More data ID keys.

        Returns
        -------
        subset : `ButlerSubset`
            One `ButlerDataRef` per matching data ID, in sorted key order;
            the refs need not have the dataset itself.
        """
        policy, _ = self.mapper.split(datasetType)
        if level is not None and level != policy.level:
            raise RepositoryError(f"subset of {datasetType!r}: level {level!r} is not supported "
                                  f"(only its own level {policy.level!r})")
        data_id = _merge(dataId, rest)
        keys = [key for key in policy.keys if key not in data_id]
        if not keys:
            return ButlerSubset(self, datasetType, [self.mapper.complete(datasetType, data_id)])
        partial = {key: policy.keys[key](value) if key in policy.keys else value
                   for key, value in data_id.items()}
        rows = self.mapper.query(datasetType, keys, partial)
        return ButlerSubset(self, datasetType, [{**partial, **dict(zip(keys, row))}
                                                for row in rows])

    def dataRef(self, datasetType, level=None, dataId=None, **rest):
        """The one `ButlerDataRef` of a data ID.

        Raises
        ------
        NoResults
            If the data ID matches no registry entry, or more than one.
        """
        subset = self.subset(datasetType, level, dataId, **rest)
        if len(subset) != 1:
            raise NoResults(f"dataRef needs exactly one match, got {len(subset)}", datasetType,
                            _merge(dataId, rest))
        return subset[0]

    def _locate(self, relative):
        for cfg in self._read_chain:
            found = _existing(cfg.root / relative)
            if found is not None:
                return found
        return None

    def __repr__(self):
        return (f"Butler(read={[str(r) for r in self.read_roots]}, "
                f"write={[str(r) for r in self._write_roots]})")


def _as_list(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _open_output(args, input_roots):
    """Create or check one output repository; returns its configuration."""
    cfg = read_cfg(args.root)
    if cfg is None:
        mapper = args.mapper or _first_mapper(search_order(input_roots))
        if mapper is None:
            raise RepositoryError(f"{args.root}: a new output needs a mapper, and no input "
                                  "names one")
        cfg = RepositoryCfg(args.root, mapper, args.mapperArgs, list(input_roots))
        write_cfg(cfg)
        return cfg
    if not input_roots or cfg.parents == input_roots:
        return cfg
    if cfg.parents != input_roots[:len(cfg.parents)]:
        raise ParentsMismatch(
            f"Inputs of this Butler {[str(r) for r in input_roots]} do not match the parents "
            f"{[str(p) for p in cfg.parents]} of existing output {cfg.root}")
    if cfg.old_style:
        raise ParentsMismatch(f"{cfg.root}: an old-style repository cannot record the new "
                              f"parents {[str(r) for r in input_roots[len(cfg.parents):]]}")
    cfg.parents = list(input_roots)
    write_cfg(cfg)
    return cfg


def _merge(data_id, rest):
    merged = dict(data_id or {})
    merged.update(rest)
    return merged


def _first_mapper(cfgs):
    return next((cfg.mapper for cfg in cfgs if cfg.mapper), None)


def _existing(path):
    """``path``, or its compressed form, if it exists."""
    for suffix in _COMPRESSED_SUFFIXES:
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            return candidate
    return None


def _shift_backups(path):
    """Rename ``path`` to ``path~1``, moving ``path~n`` to ``path~n+1`` from the oldest down."""
    count = 1
    while Path(f"{path}~{count}").exists():
        count += 1
    for number in range(count - 1, 0, -1):
        os.replace(f"{path}~{number}", f"{path}~{number + 1}")
    os.replace(path, f"{path}~1")
