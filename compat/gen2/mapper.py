"""Mappers: dataset type + data ID -> a path in a repository, and its storage.

A mapper knows nothing of where repositories are: it turns a (possibly
partial) data ID into a complete one, filling missing template keys from the
registry, and the complete one into a path relative to a repository root.
The `compat.gen2.butler.Butler` joins that path with each root of its chain.

Every dataset type ``X`` of the policy also gives derived types:
``X_filename`` (the path), ``X_md`` (FITS header), ``X_bbox`` and ``X_sub``
(images: bounding box, and a sub-image with a ``bbox`` key), ``X_len``
(catalogues: rows) and ``X_schema`` (catalogues: no rows, every column). A
type the policy names explicitly (``deepDiff_diaSrc_schema``) is its own
dataset, written by the task, not derived.
"""
from __future__ import annotations

import os

from ..names import value_problem
from .errors import DataIdSyntaxError, PolicyError, RegistryLookupError, format_data_id
from .policy import POLICY_DIR, load_policy

__all__ = ["DERIVED_SUFFIXES", "SimCamMapper"]

DERIVED_SUFFIXES = ("_filename", "_md", "_bbox", "_sub", "_len", "_schema")
"""Suffixes of the derived dataset types, checked in this order."""

_IMAGE_STORAGES = ("Fits",)
_CATALOG_STORAGES = ("FitsCatalog", "ParquetCatalog")
_DERIVED_STORAGES = {"_md": ("Fits", "FitsCatalog"), "_bbox": _IMAGE_STORAGES,
                     "_sub": _IMAGE_STORAGES, "_len": _CATALOG_STORAGES,
                     "_schema": _CATALOG_STORAGES}


class SimCamMapper:
    """The mapper of the simulated camera (`diffim.sim.field`).

    Parameters
    ----------
    registry : `compat.gen2.registry.Registry`, optional
        Where missing data ID keys are looked up; `None` when the chain of
        repositories has no registry (every key must then be given).
    policy : `str` or `pathlib.Path`, optional
        Policy file; ``policy/SimCamMapper.yaml`` of this package by default.
    """

    def __init__(self, registry=None, policy=None):
        self.registry = registry
        self.policy_path = POLICY_DIR / "SimCamMapper.yaml" if policy is None else policy
        self.datasets = load_policy(self.policy_path)

    def split(self, dataset_type):
        """``(policy, suffix)`` of a dataset type; suffix ``""`` unless derived.

        Raises
        ------
        PolicyError
            If neither the type nor its base (without a derived suffix) is in
            the policy, or the suffix does not apply to the base's storage.
        """
        if dataset_type in self.datasets:
            return self.datasets[dataset_type], ""
        for suffix in DERIVED_SUFFIXES:
            base = dataset_type[:-len(suffix)]
            if dataset_type.endswith(suffix) and base in self.datasets:
                policy = self.datasets[base]
                allowed = _DERIVED_STORAGES.get(suffix)
                if allowed is not None and policy.storage not in allowed:
                    raise PolicyError(f"dataset type {dataset_type!r}: {base!r} is stored as "
                                      f"{policy.storage}, which has no {suffix} form")
                return policy, suffix
        raise PolicyError(f"unknown dataset type {dataset_type!r} (not in {self.policy_path})")

    def keys(self, dataset_type):
        """Data ID keys of a dataset type -> Python type (what `Butler.getKeys` returns)."""
        return dict(self.split(dataset_type)[0].keys)

    def registry_keys(self, dataset_type):
        """Columns of the registry tables of a dataset type (empty without a registry)."""
        if self.registry is None:
            return set()
        policy, _ = self.split(dataset_type)
        return {column for table in policy.tables for column in self.registry.columns(table)}

    def complete(self, dataset_type, data_id):
        """The data ID with every template key, cast to its type.

        Keys the template does not use are kept (a butler data ID may carry
        more keys than one dataset type needs). Missing keys are looked up
        in the policy's registry tables, constrained by the given keys.

        Raises
        ------
        RegistryLookupError
            If a value does not cast to its key's type, or the registry does
            not give exactly one value for the missing keys.
        """
        policy, _ = self.split(dataset_type)
        complete = dict(data_id)
        for key, kind in policy.keys.items():
            if key in complete:
                try:
                    complete[key] = kind(complete[key])
                except (TypeError, ValueError):
                    raise RegistryLookupError(
                        f"dataset type {dataset_type!r}: {key}={complete[key]!r} is not "
                        f"{kind.__name__}") from None
        missing = [key for key in policy.keys if key not in complete]
        if missing:
            table = self._table_with(policy, missing, data_id)
            rows = self.registry.query(table, missing, complete)
            if len(rows) != 1:
                raise RegistryLookupError(
                    f"No unique lookup for {missing} of {dataset_type!r} from dataId "
                    f"{format_data_id(data_id)}: {len(rows)} matches in registry table {table!r}")
            complete.update(zip(missing, rows[0]))
        return complete

    def path(self, dataset_type, data_id):
        """Path relative to a repository root of the dataset (base type) for a complete data ID.

        Raises
        ------
        DataIdSyntaxError
            If a text value of a template key is not a plain name
            (`compat.names.value_problem`): it would lead out of the
            repository, or into another dataset's directory.
        """
        policy, _ = self.split(dataset_type)
        for key in policy.keys:
            value = data_id.get(key)
            problem = value_problem(value, f"value of {key}") if isinstance(value, str) else None
            if problem:
                raise DataIdSyntaxError(f"dataset type {dataset_type!r}: {problem}")
        relative = policy.template % data_id
        if os.path.isabs(relative) or os.path.normpath(relative).split(os.sep)[0] == "..":
            raise PolicyError(f"dataset type {dataset_type!r}: template {policy.template!r} "
                              f"gives {relative!r}, outside the repository")
        return relative

    def query(self, dataset_type, keys, data_id):
        """Distinct registry values of ``keys`` for datasets of a type matching ``data_id``.

        Raises
        ------
        RegistryLookupError
            If no table of the dataset type has all ``keys``.
        """
        policy, _ = self.split(dataset_type)
        table = self._table_with(policy, keys, data_id)
        return self.registry.query(table, list(keys), data_id)

    def _table_with(self, policy, keys, data_id):
        """The first registry table of ``policy`` with every key of ``keys``."""
        if self.registry is None:
            raise RegistryLookupError(
                f"dataset type {policy.name!r}: keys {list(keys)} are not in dataId "
                f"{format_data_id(data_id)} and no repository of the chain has a registry")
        for table in policy.tables:
            if set(keys) <= set(self.registry.columns(table)):
                return table
        raise RegistryLookupError(
            f"dataset type {policy.name!r}: keys {list(keys)} are not in dataId "
            f"{format_data_id(data_id)} nor in registry tables {list(policy.tables)} of "
            f"{self.registry.path}")
