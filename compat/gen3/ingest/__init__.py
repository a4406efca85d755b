"""Ingest SimCam fields into a gen3 repository.

- `ingest_field`: a simulated field in memory (its objects are put);
- `ingest_field_files`: a field directory (`diffim.sim.field_files`), its files
  copied byte for byte (``diffim-gen3-ingest SOURCE_DIR REPO``);
- `compat.gen3.ingest.records`: the dimension records both write.
"""
from .files import ingest_field_files
from .memory import ingest_field
from .records import (
                      day_obs,
                      detector_region,
                      ingest_skymap,
                      register_instrument,
                      register_observations,
                      visit_records,
)

__all__ = ["day_obs", "detector_region", "ingest_field", "ingest_field_files", "ingest_skymap",
           "register_instrument", "register_observations", "visit_records"]
