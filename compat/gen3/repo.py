"""Gen3 data repositories that know the ``diffim`` data model.

The storage classes and formatters of our objects go into the repository
configuration at `make_repo`: registered at run time instead, they would be
unknown to every other process (``pipetask -j 2`` workers, the ``butler``
command line).
"""
from __future__ import annotations

from pathlib import Path

import sqlalchemy
from lsst.daf.butler import Butler, Config, DatasetType

from .errors import Gen3Error

__all__ = ["DATASET_TYPES", "INPUT_RUN", "INSTRUMENT", "REFCAT_NAME", "SKYMAP_NAME",
           "STORAGE_CLASSES", "TEMPLATE_VISIT_DIMENSION", "make_repo", "register_dataset_types",
           "repo_config", "template_group"]

INSTRUMENT = "SimCam"
"""Instrument name of the simulated camera (`diffim.sim.field`)."""

INPUT_RUN = f"{INSTRUMENT}/inputs"
"""RUN collection the ingest writes calexps, source catalogues and the skymap to."""

SKYMAP_NAME = "simSkyMap"
"""Name of the ``skymap`` dimension record of the ingested `diffim.sky.skymap.SkyMap`."""

REFCAT_NAME = "ref_cat"
"""Dataset type of the reference-catalogue shards (dimension ``htm7``)."""

TEMPLATE_VISIT_DIMENSION = "group"
"""Dimension whose value names the template visit of a calexp-calexp pair.

Data IDs of the universe hold one ``visit``; ``exposure`` is tied to
``visit`` by ``visit_definition`` (an (exposure, visit) pair must be an
exposure *of* that visit), while nothing relates ``group`` to ``visit``: a
(science visit, group) data ID is free. The ingest makes one group per
visit, named by `template_group`.
"""


def template_group(visit):
    """The ``group`` name that stands for template ``visit`` (its decimal id)."""
    return str(int(visit))


STORAGE_CLASSES = {
    "DiffimExposure": ("diffim.exposure.Exposure",
                       "compat.gen3.formatters.ExposureFormatter"),
    "DiffimSkyMap": ("diffim.sky.skymap.SkyMap", "compat.gen3.formatters.SkyMapFormatter"),
    "DiffimMatchingKernel": ("diffim.psfmatch.kernel.SpatialKernel",
                             "compat.gen3.formatters.MatchingKernelFormatter"),
}
"""Storage class name -> (Python type, formatter class) of our objects."""

_VISIT_DETECTOR = ("instrument", "visit", "detector")

DATASET_TYPES = {
    "calexp": (_VISIT_DETECTOR, "DiffimExposure"),
    "src": (_VISIT_DETECTOR, "DataFrame"),
    "skyMap": (("skymap",), "DiffimSkyMap"),
    "deepCoadd": (("skymap", "tract", "patch", "band"), "DiffimExposure"),
    REFCAT_NAME: (("htm7",), "DataFrame"),
}
"""Dataset types the ingest writes: name -> (dimensions, storage class).

The names are the stack's, so pipelines and ``butler`` queries read as
users of the stack expect.
"""


def repo_config(registry_db=None, namespace=None):
    """The `lsst.daf.butler.Config` `make_repo` writes into ``butler.yaml``.

    Parameters
    ----------
    registry_db : `str`, optional
        SQLAlchemy URL of the registry database (e.g.
        ``postgresql+psycopg2://user@host/db``; the butler takes no other
        PostgreSQL driver); a SQLite file in the repository root when omitted.
    namespace : `str`, optional
        PostgreSQL schema holding this repository's tables, so that several
        repositories share one database.
    """
    config = Config({
        "storageClasses": {name: {"pytype": pytype}
                           for name, (pytype, _) in STORAGE_CLASSES.items()},
        "datastore": {"formatters": {name: formatter
                                     for name, (_, formatter) in STORAGE_CLASSES.items()}},
    })
    if registry_db is not None:
        config["registry", "db"] = registry_db
    if namespace is not None:
        config["registry", "namespace"] = namespace
    return config


def make_repo(root, registry_db=None, namespace=None):
    """Create an empty gen3 repository that can store our objects.

    Parameters
    ----------
    root : `str` or `pathlib.Path`
        Repository root directory; created if missing.
    registry_db : `str`, optional
        Registry database URL (see `repo_config`).
    namespace : `str`, optional
        PostgreSQL schema for the registry's tables (see `repo_config`); an
        existing one is dropped first, with every table in it.

    Returns
    -------
    butler : `lsst.daf.butler.Butler`
        A writeable butler on the new repository.

    Raises
    ------
    Gen3Error
        If ``root`` already holds a repository (``butler.yaml``), or the
        registry database cannot be reached.
    """
    root = Path(root)
    if (root / "butler.yaml").exists():
        raise Gen3Error(f"{root}: already a gen3 repository (butler.yaml exists)")
    if registry_db is not None and registry_db.startswith("postgresql"):
        _prepare_postgresql(registry_db, namespace)
    Butler.makeRepo(str(root), config=repo_config(registry_db, namespace))
    return Butler.from_config(str(root), writeable=True)


def _prepare_postgresql(registry_db, namespace):
    """The ``btree_gist`` extension the butler needs, and an empty ``namespace``."""
    engine = sqlalchemy.create_engine(registry_db, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS btree_gist")
            if namespace is not None:
                quoted = connection.dialect.identifier_preparer.quote_identifier(namespace)
                connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {quoted} CASCADE")
    except sqlalchemy.exc.SQLAlchemyError as error:
        reason = str(error.orig if getattr(error, "orig", None) else error).splitlines()[0]
        shown = sqlalchemy.make_url(registry_db).render_as_string(hide_password=True)
        raise Gen3Error(f"registry database {shown}: {reason}") from None
    finally:
        engine.dispose()


def register_dataset_types(butler, definitions=None):
    """Register dataset types, accepting those already registered identically.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
    definitions : `dict`, optional
        Name -> (dimensions, storage class); `DATASET_TYPES` when omitted.

    Returns
    -------
    dataset_types : `dict` [`str`, `lsst.daf.butler.DatasetType`]

    Raises
    ------
    lsst.daf.butler.registry.ConflictingDefinitionError
        If a name is registered with other dimensions or storage class.
    """
    dataset_types = {}
    for name, (dimensions, storage_class) in (definitions or DATASET_TYPES).items():
        dataset_type = DatasetType(name, dimensions, storage_class, universe=butler.dimensions)
        butler.registry.registerDatasetType(dataset_type)
        dataset_types[name] = dataset_type
    return dataset_types
