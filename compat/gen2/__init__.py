"""The gen2 adapter: our re-creation of the gen2 middleware, over the same ``diffim`` logic.

- `compat.gen2.repository`: repositories on disk (``repositoryCfg.yaml``,
  old-style ``_mapper``), parents and the read order;
- `compat.gen2.registry`: ``registry.sqlite3`` (``raw``, ``raw_visit``);
- `compat.gen2.policy` and ``policy/SimCamMapper.yaml``: dataset type ->
  path template, Python type, storage;
- `compat.gen2.mapper`: `SimCamMapper`, data IDs to paths, registry lookups,
  derived dataset types;
- `compat.gen2.storage`: how each storage reads and writes;
- `compat.gen2.butler`: `Butler`, `ButlerDataRef`;
- `compat.gen2.ingest`: a new repository from a field directory
  (`diffim.sim.field_files`), ``diffim-gen2-ingest``;
- `compat.gen2.data_ids`: the ``--id`` syntax and `DataIdContainer`;
- `compat.gen2.config_overrides`, `compat.gen2.show`,
  `compat.gen2.argument_parser`: ``-c``/``-C``/``-L``, ``--show`` and the
  whole command line (`ArgumentParser`);
- `compat.gen2.task_runner`, `compat.gen2.cmd_line_task`: `TaskRunner` and
  the `CmdLineTask` mixin (``parseAndRun``, config/versions/schema checks);
- `compat.gen2.templates`, `compat.gen2.image_difference`,
  `compat.gen2.commands`: ``imageDifference.py``.
"""
from .argument_parser import ArgumentParser
from .butler import Butler, ButlerDataRef, ButlerSubset, ReadProxy
from .cmd_line_task import CmdLineTask, TaskError
from .data_ids import DataIdContainer
from .errors import (
                     DataIdSyntaxError,
                     Gen2Error,
                     NoResults,
                     ParentsMismatch,
                     PolicyError,
                     RegistryLookupError,
                     RepositoryError,
)
from .ingest import MAPPER_NAME, ingest_field_files
from .mapper import SimCamMapper
from .repository import RepositoryArgs
from .task_runner import TaskRunner

__all__ = ["ArgumentParser", "Butler", "ButlerDataRef", "ButlerSubset", "CmdLineTask",
           "DataIdContainer", "DataIdSyntaxError", "Gen2Error", "MAPPER_NAME", "NoResults",
           "ParentsMismatch", "PolicyError", "ReadProxy", "RegistryLookupError",
           "RepositoryArgs", "RepositoryError", "SimCamMapper", "TaskError", "TaskRunner",
           "ingest_field_files"]
