"""Detection and measurement of DIA sources on difference images.

`DetectAndMeasureTask` (in `task`) is the entry point; `schema` documents
every catalogue column and persists catalogues as FITS or Parquet;
`catalog` starts the catalogue from the footprints and `measurement` fills
its measured columns. The other modules hold one measurement each:
`detection` (`SourceDetectionTask`, the ``detection`` sub-task, over
`footprints`), `centroid`, `photometry`, `shape`, `flags`,
`dipole`, `sky_sources`.
"""
from .._lazy import lazy_exports

# Imported on first use: the subtraction reads the photometry and quality
# modules without paying for the task's dipole fitting (scipy.optimize) or
# the catalogue formats (astropy.table, pandas).
_EXPORTS = {
    "COLUMNS": "diffim.measure.schema",
    "CatalogFormatError": "diffim.measure.schema",
    "read_catalog": "diffim.measure.schema",
    "write_catalog": "diffim.measure.schema",
    "DetectAndMeasureConfig": "diffim.measure.task",
    "DetectAndMeasureTask": "diffim.measure.task",
}
__getattr__ = lazy_exports(globals(), _EXPORTS)

__all__ = [
    "COLUMNS",
    "CatalogFormatError",
    "DetectAndMeasureConfig",
    "DetectAndMeasureTask",
    "read_catalog",
    "write_catalog",
]
