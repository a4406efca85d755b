"""Detection and measurement of DIA sources on difference images.

`DetectAndMeasureTask` (in `task`) is the entry point; `schema` documents
every catalogue column and persists catalogues as FITS or Parquet;
`catalog` starts the catalogue from the footprints and `measurement` fills
its measured columns. The other modules hold one measurement each:
`detection` (`SourceDetectionTask`, the ``detection`` sub-task, over
`footprints`), `centroid`, `photometry`, `shape`, `flags`,
`dipole`, `sky_sources`.
"""
from .schema import COLUMNS, CatalogFormatError, read_catalog, write_catalog
from .task import DetectAndMeasureConfig, DetectAndMeasureTask

__all__ = [
    "COLUMNS",
    "CatalogFormatError",
    "DetectAndMeasureConfig",
    "DetectAndMeasureTask",
    "read_catalog",
    "write_catalog",
]
