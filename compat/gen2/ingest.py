"""Make a gen2 repository from a field's source files (`diffim.sim.field_files`).

The registry gets one ``raw`` row per (visit, ccd) and one ``raw_visit``
row per visit; the files are copied byte for byte to where the mapper puts
each dataset (``calexp``, ``src``, ``deepCoadd_skyMap``, ``deepCoadd`` with
gen2's ``"x,y"`` patch names, ``ref_cat`` shards and ``ref_cat_config``),
so gen2 and gen3 read identical inputs. A file in another format than the
policy's (e.g. FITS reference shards) is refused rather than converted.

As gen2 users did by hand, the new repository is marked old style: a
``_mapper`` file naming `compat.gen2.mapper.SimCamMapper`. Reruns made on
top of it by a `compat.gen2.butler.Butler` get a ``repositoryCfg.yaml``.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from astropy.time import Time

from diffim.errors import DiffimError
from diffim.io.atomic import write_atomically
from diffim.sim.field_files import FieldFiles, read_field_files
from diffim.sky.refcat import ReferenceCatalogLoader

from .butler import Butler
from .errors import Gen2Error, RepositoryError
from .mapper import SimCamMapper
from .registry import REGISTRY_FILE, Registry
from .repository import CFG_FILE, MAPPER_FILE

__all__ = ["MAPPER_NAME", "ingest_field_files", "main"]

MAPPER_NAME = f"{SimCamMapper.__module__}.{SimCamMapper.__qualname__}"
"""What the ``_mapper`` file of an ingested repository says."""

_REFCAT_CONFIG = "config.json"


def ingest_field_files(files, root):
    """Create a gen2 repository at ``root`` holding a field's source files.

    Parameters
    ----------
    files : `diffim.sim.field_files.FieldFiles` or path
        The field (a directory is read with `read_field_files`).
    root : `str` or `pathlib.Path`
        A new or empty directory.

    Returns
    -------
    butler : `compat.gen2.butler.Butler`
        An old-style butler on the new repository.

    Raises
    ------
    RepositoryError
        If ``root`` is a repository already, the template visits (whose
        filter names the coadds) use several filters, or a calexp's visit is
        not in the field's visit list.
    """
    if not isinstance(files, FieldFiles):
        files = read_field_files(files)
    root = Path(root)
    for marker in (MAPPER_FILE, CFG_FILE, REGISTRY_FILE):
        if (root / marker).exists():
            raise RepositoryError(f"{root}: is a repository already (has {marker})")
    visits = {record.visit: record for record in files.visits}
    unknown = sorted({visit for visit, _ in files.calexps} - set(visits))
    if unknown:
        raise RepositoryError(f"{files.root}: calexps of visits {unknown} not in the visit list")
    root.mkdir(parents=True, exist_ok=True)
    Registry.create(root / REGISTRY_FILE).add_exposures(
        {"visit": visit, "ccd": ccd, "filter": visits[visit].physical_filter,
         "date": Time(visits[visit].mjd, format="mjd", scale="tai").utc.isot[:10],
         "expTime": visits[visit].exposure_time}
        for visit, ccd in sorted(files.calexps))
    (root / MAPPER_FILE).write_text(MAPPER_NAME + "\n")
    butler = Butler(root)
    for (visit, ccd), path in sorted(files.calexps.items()):
        _copy(butler, path, "calexp", visit=visit, ccd=ccd)
        _copy(butler, files.sources[(visit, ccd)], "src", visit=visit, ccd=ccd)
    _copy(butler, files.skymap, "deepCoadd_skyMap")
    if files.coadds:
        skymap = files.read_skymap()
        coadd_filter = _coadd_filter(files)
        for (tract, patch), path in sorted(files.coadds.items()):
            x, y = skymap[tract].patch(patch).index
            _copy(butler, path, "deepCoadd", filter=coadd_filter, tract=tract, patch=f"{x},{y}")
    _ingest_refcat(butler, files.refcat)
    return butler


def _copy(butler, source, datasetType, **dataId):
    """Copy a file, as it is, to where ``butler`` puts ``datasetType`` for ``dataId``."""
    relative = butler.mapper.path(datasetType, butler.mapper.complete(datasetType, dataId))
    expected = Path(relative).suffix
    if Path(source).suffix != expected:
        raise RepositoryError(f"{source}: a {datasetType} file must be {expected}, as the "
                              "policy stores it")
    for write_root in butler.write_roots:
        write_atomically(write_root / relative,
                         lambda temporary: shutil.copyfile(source, temporary))


def _coadd_filter(files):
    """The one physical filter of the template visits, which names the coadd directory."""
    filters = sorted({record.physical_filter for record in files.visits
                      if record.role == "template"})
    if len(filters) != 1:
        raise RepositoryError(f"{files.root}: template visits use filters {filters}; coadds "
                              "need exactly one")
    return filters[0]


def _ingest_refcat(butler, directory):
    """Copy the reference shards, then their config (a catalogue is complete once it has one).

    Raises
    ------
    RepositoryError
        If the shards are not Parquet, the policy's format.
    """
    loader = ReferenceCatalogLoader(directory)
    for shard in sorted(Path(directory).glob(f"*.{loader.format}"), key=lambda p: int(p.stem)):
        _copy(butler, shard, "ref_cat", htm7=int(shard.stem))
    _copy(butler, Path(directory) / _REFCAT_CONFIG, "ref_cat_config")


def main(argv=None):
    """``diffim-gen2-ingest SOURCE_DIR REPO``: a new gen2 repository from a field directory.

    Prints the repository root; returns the exit status (1 with a one-line
    error on stderr when the field or the repository is not as needed).
    """
    parser = argparse.ArgumentParser(prog="diffim-gen2-ingest",
                                     description="Ingest a field directory (diffim field) into "
                                                 "a new gen2 repository.")
    parser.add_argument("source", help="field directory with manifest.json")
    parser.add_argument("repo", help="new repository directory")
    args = parser.parse_args(argv)
    try:
        ingest_field_files(args.source, args.repo)
    except (Gen2Error, DiffimError) as error:
        print(f"diffim-gen2-ingest: error: {error}", file=sys.stderr)
        return 1
    print(args.repo)
    return 0


if __name__ == "__main__":
    sys.exit(main())
