"""Ingest a field directory (`diffim.sim.field_files`): the files are copied, byte for byte.

The harness feeds gen2 and gen3 the same bytes: calexps, ``src``
catalogues, ``deepCoadd`` patches and ``ref_cat`` shards enter the datastore
with ``butler.ingest`` (the file itself, not a re-write). The registry gets
the records of `compat.gen3.ingest.records`, with detector regions from the
calexps' WCSs.
"""
from __future__ import annotations

from pathlib import Path

from lsst.daf.butler import Butler, DatasetRef, FileDataset, MissingCollectionError

from diffim.sky.refcat import HTM_LEVEL, ReferenceCatalogLoader

from ...names import path_name_problem
from ..errors import IngestError
from ..formatters import ParquetFileFormatter
from ..repo import (
    INPUT_RUN,
    INSTRUMENT,
    REFCAT_NAME,
    SKYMAP_NAME,
    make_repo,
    register_dataset_types,
)
from .records import detector_region, ingest_skymap, register_observations

__all__ = ["ingest_field_files"]


def ingest_field_files(butler_or_root, files, run=INPUT_RUN, transfer="copy"):
    """Ingest everything a field directory holds into one RUN collection.

    Parameters
    ----------
    butler_or_root : `lsst.daf.butler.Butler` or `str` or `pathlib.Path`
        A writeable butler, or a repository root (created with
        `compat.gen3.repo.make_repo` when it holds no repository yet).
    files : `diffim.sim.field_files.FieldFiles`
    run : `str`
    transfer : `str`
        ``butler.ingest`` transfer mode (``"copy"``, ``"symlink"``, ...).

    Returns
    -------
    butler : `lsst.daf.butler.Butler`
        Writeable, on the repository.

    Raises
    ------
    IngestError
        Another instrument, coadds of several bands, a reference catalogue
        that is not Parquet HTM7 shards, inconsistent visits, a ``run``
        that is not a plain collection name (`compat.names`), or a
        repository that already holds ``run`` or one of the field's visits.
    """
    if files.instrument != INSTRUMENT:
        raise IngestError(f"{files.root}: instrument {files.instrument!r}, this repository "
                          f"knows {INSTRUMENT!r}")
    problem = path_name_problem(run, "RUN collection name")
    if problem:
        raise IngestError(problem)
    butler = _writeable_butler(butler_or_root)
    _refuse_ingested(butler, files, run, where="repository" if butler is butler_or_root
                     else str(butler_or_root))
    regions = {key: detector_region(files.read_calexp(key)) for key in sorted(files.calexps)}
    register_observations(butler, files.visits, regions)
    ingest_skymap(butler, files.read_skymap(), run=run)
    dataset_types = register_dataset_types(butler)
    datasets = []
    for (visit, detector), path in sorted(files.calexps.items()):
        data_id = {"instrument": INSTRUMENT, "visit": visit, "detector": detector}
        datasets.append(_file(butler, dataset_types["calexp"], data_id, path, run))
        datasets.append(_file(butler, dataset_types["src"], data_id,
                              files.sources[(visit, detector)], run))
    band = _coadd_band(files)
    for (tract, patch), path in sorted(files.coadds.items()):
        datasets.append(_file(butler, dataset_types["deepCoadd"],
                              {"skymap": SKYMAP_NAME, "tract": tract, "patch": patch,
                               "band": band}, path, run))
    for trixel, path in _reference_shards(files.refcat):
        datasets.append(_file(butler, dataset_types[REFCAT_NAME], {"htm7": trixel}, path, run))
    butler.ingest(*datasets, transfer=transfer)
    return butler


def _refuse_ingested(butler, files, run, where):
    """Raise `IngestError` if ``butler``'s repository already holds ``run`` or a field visit.

    Records and datasets already there would collide half-way through the
    ingest (a database constraint error); refusing first leaves the
    repository as it was. ``where`` names the repository in messages.
    """
    try:
        butler.collections.query(run)
    except MissingCollectionError:
        pass
    else:
        raise IngestError(f"{where}: already holds collection {run!r} (ingested before?); "
                          "ingest into a new repository, or with another --run")
    existing = {record.id for record in
                butler.registry.queryDimensionRecords("visit", instrument=INSTRUMENT)}
    clashing = sorted(existing & {record.visit for record in files.visits})
    if clashing:
        raise IngestError(f"{where}: already holds {INSTRUMENT} visits {clashing} of "
                          f"{files.root}; ingest into a new repository")


def _writeable_butler(butler_or_root):
    if isinstance(butler_or_root, Butler):
        return butler_or_root
    root = Path(butler_or_root)
    if (root / "butler.yaml").exists():
        return Butler.from_config(str(root), writeable=True)
    return make_repo(root)


def _file(butler, dataset_type, data_id, path, run):
    data_id = butler.registry.expandDataId(data_id, dimensions=dataset_type.dimensions)
    formatter = ParquetFileFormatter if dataset_type.storageClass_name == "DataFrame" else None
    return FileDataset(path=str(path), refs=[DatasetRef(dataset_type, data_id, run=run)],
                       formatter=formatter)


def _coadd_band(files):
    """The one band of the template visits, which the coadds are made of."""
    bands = {record.band for record in files.visits if record.role == "template"}
    if files.coadds and len(bands) != 1:
        raise IngestError(f"{files.root}: deepCoadd patches need template visits of one band, "
                          f"got {sorted(bands)}")
    return next(iter(bands), None)


def _reference_shards(directory):
    """``(trixel, path)`` of each shard of a reference catalogue directory."""
    loader = ReferenceCatalogLoader(directory)
    if loader.level != HTM_LEVEL or loader.format != "parquet":
        raise IngestError(f"{directory}: {REFCAT_NAME} needs Parquet shards of HTM level "
                          f"{HTM_LEVEL}, got {loader.format} level {loader.level}")
    return sorted((int(path.stem), path) for path in Path(directory).glob("*.parquet"))
