"""gen2's `CmdLineTask`: a `diffim` task run from the command line over a gen2 repository.

`CmdLineTask` is a mixin: ``class MyCmdLineTask(CmdLineTask, MyTask)``
gives the middleware-free ``MyTask`` gen2's ``parseAndRun``, the once-per-
output-repository bookkeeping (``<name>_config``, ``packages``, schema
datasets, checked against what is stored) and ``<name>_metadata`` per data
reference. Subclasses add ``runDataRef(dataRef, **kwargs)``: read, call
``run``, write.
"""
from __future__ import annotations

import functools
import importlib.metadata
import platform
import sys
from pathlib import Path

import numpy as np

from diffim.config.fresh import fresh_config
from diffim.task import Struct

from .argument_parser import ArgumentParser
from .config_overrides import first_line
from .errors import Gen2Error, format_data_id
from .task_runner import TaskRunner

__all__ = ["CmdLineTask", "TaskError", "package_versions"]

PACKAGES = ("diffim-migration", "numpy", "scipy", "astropy", "pandas", "pyarrow", "pyyaml",
            "lsst-pex-config", "lsst-sphgeom")
"""Distributions whose versions the ``packages`` dataset records (with Python's)."""


class TaskError(Gen2Error):
    """A command-line task cannot run as asked (config or versions differ from the stored ones)."""


def package_versions():
    """``{name: version}`` of `PACKAGES` that are installed, and ``python``.

    Looked up once per process (each lookup scans the installed distributions'
    metadata: 30-100 ms a command); a new dict at each call.
    """
    return dict(_installed_versions())


@functools.lru_cache(maxsize=1)
def _installed_versions():
    """Python's and `PACKAGES`' installed versions, looked up once per process.

    Returns
    -------
    versions : `dict` [`str`, `str`]
    """
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


class CmdLineTask:
    """Mixin giving a `diffim.task.Task` subclass gen2's command-line running.

    Attributes
    ----------
    RunnerClass : `type`
        The `compat.gen2.task_runner.TaskRunner` (sub)class that runs it.
    """

    RunnerClass = TaskRunner

    @classmethod
    def applyOverrides(cls, config):
        """Camera-specific config overrides, applied before the command line's (none)."""

    @classmethod
    def parseAndRun(cls, args=None, config=None, log=None, doReturnResults=False):
        """Parse a command line and run the task on its data references.

        Parameters
        ----------
        args : `list` [`str`], optional
            Command-line arguments (``sys.argv[1:]`` by default).
        config : `lsst.pex.config.Config`, optional
            Starting config (the task's default by default).
        log : `logging.Logger`, optional
        doReturnResults : `bool`
            Keep each data reference's result (see `TaskRunner`).

        Returns
        -------
        result : `diffim.task.Struct`
            ``argumentParser``, ``parsedCmd``, ``taskRunner``, ``resultList``
            and ``nFailed`` (data references that failed: the exit status).

        Raises
        ------
        SystemExit
            On a usage error (2), or after ``--show`` without ``run`` (0).
        """
        args = sys.argv[1:] if args is None else list(args)
        parser = cls._makeArgumentParser()
        parsedCmd = parser.parse_args(config=config or fresh_config(cls.ConfigClass), args=args, log=log,
                                      override=cls.applyOverrides)
        parsedCmd.log.info("Running: %s %s", cls._DefaultName, " ".join(args))
        runner = cls.RunnerClass(TaskClass=cls, parsedCmd=parsedCmd,
                                 doReturnResults=doReturnResults)
        resultList = runner.run(parsedCmd)
        nFailed = sum(result.exitStatus != 0 for result in resultList)
        if nFailed and parsedCmd.noExit:
            parsedCmd.log.error("%d dataRefs failed; not exiting as --noExit was set", nFailed)
        return Struct(argumentParser=parser, parsedCmd=parsedCmd, taskRunner=runner,
                      resultList=resultList, nFailed=nFailed)

    @classmethod
    def _makeArgumentParser(cls):
        """The parser: input, the common options and ``--id`` (``raw`` data IDs)."""
        parser = ArgumentParser(name=cls._DefaultName)
        parser.add_id_argument("--id", "raw", help="data IDs, e.g. --id visit=12345 ccd=1^2")
        return parser

    def _getConfigName(self):
        """Dataset type of the persisted config."""
        return f"{self._DefaultName}_config"

    def _getMetadataName(self):
        """Dataset type of the persisted metadata."""
        return f"{self._DefaultName}_metadata"

    def getSchemaCatalogs(self):
        """``{dataset type: empty catalogue}`` of the catalogues the task writes."""
        return {}

    def writeConfig(self, butler, clobber=False, doBackup=True):
        """Write the config to the output repository, or check it against the one there.

        Raises
        ------
        TaskError
            If a stored config differs (and not ``clobber``) or cannot be read.
        """
        name = self._getConfigName()
        if clobber:
            butler.put(self.config, name, doBackup=doBackup)
            return
        if not butler.datasetExists(name, write=True):
            butler.put(self.config, name)
            return
        # Read as this task's config class: the policy's type may be a parent
        # class, and pex_config refuses to load a subclass's file into it.
        stored = type(self.config)()
        try:
            stored.load(butler.get(f"{name}_filename")[0])
        except Exception as error:
            raise TaskError(f"Unable to read stored config file {name} ({first_line(error)}); "
                            "consider using --clobber-config") from None
        differences = []
        if not self.config.compare(stored, shortcut=False, output=differences.append):
            for difference in differences:
                self.log.critical("Comparing configuration: %s", difference)
            raise TaskError(f"Config does not match existing task config {name!r} on disk; "
                            "tasks configurations must be consistent within the same output "
                            "repo (override with --clobber-config)")

    def writeSchemas(self, butler, clobber=False, doBackup=True):
        """Write ``<dataset>_schema`` (an empty catalogue) for `getSchemaCatalogs`, or check it.

        Raises
        ------
        TaskError
            If a stored schema (column names and types) differs and not ``clobber``.
        """
        for dataset, catalog in self.getSchemaCatalogs().items():
            name = f"{dataset}_schema"
            if clobber:
                butler.put(catalog, name, doBackup=doBackup)
            elif not butler.datasetExists(name, write=True):
                butler.put(catalog, name)
            elif _schema(butler.get(name)) != _schema(catalog):
                raise TaskError(f"New schema does not match schema {dataset!r} on disk; schemas "
                                "must be consistent within the same output repo (override with "
                                "--clobber-config)")

    def writePackageVersions(self, butler, clobber=False, doBackup=True, dataset="packages"):
        """Write the package versions, or check those in common with the stored ones.

        Packages not stored yet are added to the stored set.

        Raises
        ------
        TaskError
            If a package's version differs from the stored one and not ``clobber``.
        """
        versions = package_versions()
        if clobber:
            butler.put(versions, dataset, doBackup=doBackup)
            return
        if not butler.datasetExists(dataset, write=True):
            butler.put(versions, dataset)
            return
        stored = butler.get(dataset)
        changed = {name: (stored[name], version) for name, version in versions.items()
                   if name in stored and stored[name] != version}
        if changed:
            listing = "; ".join(f"{name}: {new} vs {old}" for name, (old, new)
                                in sorted(changed.items()))
            raise TaskError(f"Version mismatch ({listing}); consider using --clobber-versions "
                            "or --no-versions")
        if set(versions) - set(stored):
            butler.put({**stored, **versions}, dataset, doBackup=doBackup)

    def writeMetadata(self, dataRef):
        """Write the full metadata for ``dataRef``; a failure is only logged."""
        try:
            dataRef.put(_plain(self.getFullMetadata()), self._getMetadataName())
        except Exception as error:
            self.log.warning("Could not persist metadata for dataId=%s: %s",
                             format_data_id(dataRef.dataId), first_line(error))


def _schema(catalog):
    return [(str(name), str(dtype)) for name, dtype in catalog.dtypes.items()]


def _plain(value):
    """``value`` with numpy scalars and arrays, tuples and paths as plain YAML-safe types."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value
