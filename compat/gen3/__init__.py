"""The gen3 adapter: ``diffim`` on the real Rubin middleware (daf_butler, pipe_base).

- `compat.gen3.repo`: repositories whose configuration knows our storage
  classes (``DiffimExposure``, ``DiffimSkyMap``, ``DiffimMatchingKernel``),
  the dataset types the ingest writes (``calexp``, ``src``, ``skyMap``,
  ``deepCoadd``, ``ref_cat``);
- `compat.gen3.ingest`: the SimCam camera, visits with regions, the skymap,
  from a simulated field in memory or from a field directory
  (``diffim-gen3-ingest SOURCE_DIR REPO``, `compat.gen3.ingest_command`);
- `compat.gen3.formatters`: how the butler reads and writes our objects;
- `compat.gen3.tasks`: the ``PipelineTask`` wrappers (imported on demand,
  because ``lsst.pipe.base`` takes seconds to import and reading a dataset
  does not need it);
- `compat.gen3.pipelines`: the pipeline YAML files (`PIPELINE_DIR`,
  `pipeline_path`);
- `compat.gen3.runner`: running a pipeline in this process (`run_pipeline`).
"""
from .errors import Gen3Error, IngestError
from .ingest import ingest_field, ingest_field_files, ingest_skymap
from .pipelines import PIPELINE_DIR, PIPELINES, pipeline_path
from .repo import INPUT_RUN, INSTRUMENT, SKYMAP_NAME, make_repo

__all__ = ["Gen3Error", "INPUT_RUN", "INSTRUMENT", "IngestError", "PIPELINES", "PIPELINE_DIR",
           "SKYMAP_NAME", "ingest_field", "ingest_field_files", "ingest_skymap", "make_repo",
           "pipeline_path"]
