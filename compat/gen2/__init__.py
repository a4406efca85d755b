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
- `compat.gen2.ingest`: a new repository from a simulated field;
- `compat.gen2.argument_parser`: the ``--id`` syntax and `DataIdContainer`.
"""
from .argument_parser import DataIdContainer
from .butler import Butler, ButlerDataRef, ButlerSubset, ReadProxy
from .errors import (DataIdSyntaxError, Gen2Error, NoResults, ParentsMismatch, PolicyError,
                     RegistryLookupError, RepositoryError)
from .ingest import MAPPER_NAME, ingest_field
from .mapper import SimCamMapper
from .repository import RepositoryArgs

__all__ = ["Butler", "ButlerDataRef", "ButlerSubset", "DataIdContainer", "DataIdSyntaxError",
           "Gen2Error", "MAPPER_NAME", "NoResults", "ParentsMismatch", "PolicyError", "ReadProxy",
           "RegistryLookupError", "RepositoryArgs", "RepositoryError", "SimCamMapper",
           "ingest_field"]
