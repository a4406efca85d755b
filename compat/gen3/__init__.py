"""The gen3 adapter: ``diffim`` on the real Rubin middleware (daf_butler, pipe_base).

- `compat.gen3.repo`: repositories whose configuration knows our storage
  classes (``DiffimExposure``, ``DiffimSkyMap``, ``DiffimMatchingKernel``);
- `compat.gen3.ingest`: the SimCam camera, visits with regions, the skymap,
  ``calexp`` and ``src`` datasets;
- `compat.gen3.formatters`: how the butler reads and writes our objects;
- `compat.gen3.tasks`: the ``PipelineTask`` wrappers (imported on demand,
  because ``lsst.pipe.base`` takes seconds to import and reading a dataset
  does not need it);
- ``pipelines/``: pipeline YAML files in `PIPELINE_DIR`, e.g.
  ``pipetask run -p $(python -c "import compat.gen3 as g; print(g.PIPELINE_DIR)")/subtract.yaml``.
"""
from pathlib import Path

from .errors import Gen3Error, IngestError
from .ingest import ingest_field, ingest_skymap
from .repo import INPUT_RUN, INSTRUMENT, SKYMAP_NAME, make_repo

__all__ = ["Gen3Error", "INPUT_RUN", "INSTRUMENT", "IngestError", "PIPELINE_DIR", "SKYMAP_NAME",
           "ingest_field", "ingest_skymap", "make_repo"]

PIPELINE_DIR = Path(__file__).parent / "pipelines"
"""Directory of the pipeline YAML files shipped with the package."""
