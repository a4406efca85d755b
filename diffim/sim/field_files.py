"""A field on disk: the one set of source files that both middlewares ingest.

The validation harness must feed gen2 and gen3 *the same bytes*. So a field
(simulated, or real data arranged the same way) is first written here, as
plain files with a manifest, and each backend's ingest copies from these
files. Coadds are built once, at this stage, for the same reason.

Layout under ``root``::

    manifest.json                     what is here (see `FieldFiles`)
    calexp/v{visit}-d{detector}.fits  calibrated exposures (our MEF FITS)
    src/v{visit}-d{detector}.parquet  their source catalogues
    skyMap.json                       the skymap
    deepCoadd/t{tract}-p{patch}.fits  coadd patches of the template visits
    ref_cat/                          HTM7 reference shards + config.json
    truth.parquet                     what was simulated (empty for real data)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..coadd import MakeCoaddTask, NoCoaddInputsError
from ..errors import DiffimError
from ..io.atomic import write_parquet, write_text
from ..io.exposure_fits import read_exposure, write_exposure
from ..sky.refcat import write_reference_catalog
from ..sky.skymap import SkyMap, simulated_skymap
from ..sources.catalog import make_source_catalog, source_id_offset

__all__ = ["FieldFiles", "FieldFilesError", "VisitRecord", "make_coadds", "read_field_files",
           "write_field_files"]

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


class FieldFilesError(DiffimError):
    """A field directory that is missing, incomplete or not what its manifest says."""


@dataclass(frozen=True)
class VisitRecord:
    """What the registries of both middlewares need to know about a visit."""

    visit: int
    role: str
    mjd: float
    physical_filter: str
    band: str
    exposure_time: float


@dataclass
class FieldFiles:
    """The files of a field, by key, as listed in its manifest.

    Attributes
    ----------
    root : `pathlib.Path`
    instrument : `str`
    visits : `list` [`VisitRecord`]
    calexps : `dict` [`tuple` [`int`, `int`], `pathlib.Path`]
        By ``(visit, detector)``.
    sources : `dict` [`tuple` [`int`, `int`], `pathlib.Path`]
        Source catalogues (Parquet), by ``(visit, detector)``.
    skymap : `pathlib.Path`
    coadds : `dict` [`tuple` [`int`, `int`], `pathlib.Path`]
        ``deepCoadd`` patches by ``(tract, patch sequential index)``.
    refcat : `pathlib.Path`
        Directory of HTM7 shards (`diffim.sky.refcat.write_reference_catalog`).
    truth : `pathlib.Path`
    """

    root: Path
    instrument: str
    visits: list
    calexps: dict
    sources: dict
    skymap: Path
    coadds: dict
    refcat: Path
    truth: Path

    @property
    def detectors(self):
        """Sorted detector ids that have a calexp."""
        return sorted({detector for _, detector in self.calexps})

    def visits_with_role(self, role):
        """Sorted visit ids of ``role`` (``"science"`` or ``"template"``)."""
        return sorted(record.visit for record in self.visits if record.role == role)

    def read_calexp(self, key):
        """The calexp of ``(visit, detector)``."""
        return read_exposure(self._path(self.calexps, key, "calexp"))

    def read_source(self, key):
        """The source catalogue of ``(visit, detector)``."""
        return pd.read_parquet(self._path(self.sources, key, "src"))

    def read_skymap(self):
        """The `diffim.sky.skymap.SkyMap`."""
        return SkyMap.read(self.skymap)

    def read_coadd(self, key):
        """The coadd patch ``(tract, patch)``."""
        return read_exposure(self._path(self.coadds, key, "deepCoadd"))

    def read_truth(self):
        """The simulated population (`pandas.DataFrame`)."""
        return pd.read_parquet(self.truth)

    def _path(self, paths, key, what):
        try:
            return paths[tuple(key)]
        except KeyError:
            raise FieldFilesError(f"{self.root}: no {what} for {tuple(key)}") from None


def write_field_files(field, root, skymap=None, coadd_task=None):
    """Write a simulated field as source files under ``root`` (new or empty).

    Parameters
    ----------
    field : `diffim.sim.field.SimulatedField`
    root : `str` or `pathlib.Path`
    skymap : `diffim.sky.skymap.SkyMap`, optional
        Default: `diffim.sky.skymap.simulated_skymap` around the field with
        patches about the size of a detector.
    coadd_task : `diffim.coadd.MakeCoaddTask`, optional
        Builds ``deepCoadd`` from the template visits' calexps.

    Returns
    -------
    files : `FieldFiles`
    """
    root = Path(root)
    if root.exists() and any(root.iterdir()):
        raise FieldFilesError(f"{root}: not empty; field files need a new directory")
    root.mkdir(parents=True, exist_ok=True)
    skymap = skymap or simulated_skymap(patch_size=field.config.sky.size,
                                        patch_border=field.config.sky.size // 16)
    records = _visit_records(field)
    manifest = {"version": MANIFEST_VERSION, "instrument": "SimCam",
                "visits": [record.__dict__ for record in records],
                "calexps": [], "coadds": [], "skymap": "skyMap.json", "refcat": "ref_cat",
                "truth": "truth.parquet"}
    for (visit, detector), exposure in sorted(field.calexps.items()):
        name = f"v{visit}-d{detector}"
        write_exposure(exposure, root / "calexp" / f"{name}.fits")
        catalog = make_source_catalog(exposure, id_offset=source_id_offset(visit, detector))
        write_parquet(root / "src" / f"{name}.parquet", catalog)
        manifest["calexps"].append({"visit": visit, "detector": detector,
                                    "calexp": f"calexp/{name}.fits", "src": f"src/{name}.parquet"})
    skymap.write(root / "skyMap.json")
    templates = [field.calexps[key] for key in sorted(field.calexps)
                 if key[0] in {r.visit for r in records if r.role == "template"}]
    for (tract, patch), coadd in sorted(make_coadds(templates, skymap, coadd_task).items()):
        path = f"deepCoadd/t{tract}-p{patch}.fits"
        write_exposure(coadd, root / path)
        manifest["coadds"].append({"tract": tract, "patch": patch, "path": path})
    write_reference_catalog(field.reference, root / "ref_cat")
    write_parquet(root / "truth.parquet", field.truth)
    # The manifest goes last: a directory without one is an interrupted write.
    write_text(root / MANIFEST, json.dumps(manifest, indent=1))
    return read_field_files(root)


def read_field_files(root):
    """The `FieldFiles` of a directory written by `write_field_files`.

    Raises
    ------
    FieldFilesError
        If the manifest is missing, unreadable or of another version, or a
        file it lists does not exist.
    """
    # Absolute: ingest commands resolve relative paths against their repositories.
    root = Path(root).resolve()
    manifest_path = root / MANIFEST
    if not manifest_path.is_file():
        raise FieldFilesError(f"{root}: no {MANIFEST}; not a field directory (or an "
                              "interrupted write)")
    try:
        manifest = json.loads(manifest_path.read_text())
        version = manifest["version"]
    except (ValueError, KeyError, TypeError) as error:
        raise FieldFilesError(f"{manifest_path}: unreadable manifest ({error})") from None
    if version != MANIFEST_VERSION:
        raise FieldFilesError(f"{manifest_path}: manifest version {version}, this code reads "
                              f"{MANIFEST_VERSION}")
    files = FieldFiles(
        root=root, instrument=manifest["instrument"],
        visits=[VisitRecord(**record) for record in manifest["visits"]],
        calexps={(e["visit"], e["detector"]): root / e["calexp"] for e in manifest["calexps"]},
        sources={(e["visit"], e["detector"]): root / e["src"] for e in manifest["calexps"]},
        skymap=root / manifest["skymap"],
        coadds={(e["tract"], e["patch"]): root / e["path"] for e in manifest["coadds"]},
        refcat=root / manifest["refcat"], truth=root / manifest["truth"])
    listed = [*files.calexps.values(), *files.sources.values(), *files.coadds.values(),
              files.skymap, files.refcat, files.truth]
    missing = [str(path) for path in listed if not path.exists()]
    if missing:
        raise FieldFilesError(f"{root}: the manifest lists missing files: {', '.join(missing[:3])}"
                              + (f" and {len(missing) - 3} more" if len(missing) > 3 else ""))
    return files


def _visit_records(field):
    infos = {visit: exposure.visit_info for (visit, _), exposure in field.calexps.items()}
    return [VisitRecord(visit=spec.visit, role=spec.role, mjd=float(infos[spec.visit].mjd),
                        physical_filter=infos[spec.visit].physical_filter,
                        band=infos[spec.visit].band,
                        exposure_time=float(infos[spec.visit].exposure_time))
            for spec in field.config.visits if spec.visit in infos]


def make_coadds(templates, skymap, coadd_task=None):
    """Coadd patches of ``templates`` over every tract of ``skymap`` they reach.

    Parameters
    ----------
    templates : `list` [`diffim.Exposure`]
    skymap : `diffim.sky.skymap.SkyMap`
    coadd_task : `diffim.coadd.MakeCoaddTask`, optional

    Returns
    -------
    coadds : `dict` [`tuple` [`int`, `int`], `diffim.Exposure`]
        By ``(tract, patch sequential index)``.
    """
    coadd_task = coadd_task or MakeCoaddTask()
    coadds = {}
    for tract in skymap:
        try:
            coadds.update(coadd_task.run(templates, skymap, tract.tract_id).coadds)
        except NoCoaddInputsError:
            continue  # a tract the field does not reach
    return coadds

