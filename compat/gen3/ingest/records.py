"""Dimension records: the camera, the observations with their sky regions, the skymap.

The registry learns the camera (instrument, physical filters and bands,
detectors), the observations (day_obs, visits with sky regions, the region
of each visit-detector, one ``group`` per visit that names it as a template
visit, see `compat.gen3.repo.TEMPLATE_VISIT_DIMENSION`) and the skymap
(tracts and patches with sky regions). Those regions are what the registry's spatial joins use to
pair a science detector with the patches of its template and with
reference-catalogue shards. Both ingests (in memory and from files) use
these functions.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict

import lsst.sphgeom as sphgeom
from astropy.time import Time
from lsst.daf.butler import Timespan

from diffim.sim.field_files import VisitRecord
from diffim.sky.refcat import box_sky_polygon

from ..errors import IngestError
from ..repo import (
    INPUT_RUN,
    INSTRUMENT,
    SKYMAP_NAME,
    register_dataset_types,
    template_group,
)

__all__ = ["day_obs", "detector_region", "ingest_skymap", "register_instrument",
           "register_observations", "visit_records"]

# Source ids pack (visit, detector) (diffim.sources.catalog.source_id_offset):
# room for 10**4 sources per detector and 100 detectors per visit.
_VISIT_MAX = 10 ** 6
_DETECTOR_MAX = 100

# Observing nights roll over at local noon; for a camera without a site, at
# noon UTC, so that one night's visits share one day_obs.
_DAY_OBS_OFFSET_DAYS = 0.5


def day_obs(mjd):
    """The ``day_obs`` (YYYYMMDD integer) of an observation at ``mjd`` (TAI)."""
    date = Time(mjd - _DAY_OBS_OFFSET_DAYS, format="mjd", scale="tai").utc.datetime
    return date.year * 10000 + date.month * 100 + date.day


def detector_region(exposure):
    """`lsst.sphgeom.ConvexPolygon` through the outer pixel-edge corners of an exposure."""
    return box_sky_polygon(exposure.wcs, exposure.bbox)


def register_instrument(butler, detectors, physical_filters):
    """Insert the SimCam instrument, its filters and detectors (existing ones are kept).

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
    detectors : iterable of `int`
    physical_filters : `dict` [`str`, `str`]
        Physical filter -> band.

    Raises
    ------
    IngestError
        If a detector id is outside ``0..detector_max - 1``.
    """
    detectors = sorted(int(d) for d in detectors)
    if detectors and not 0 <= detectors[0] <= detectors[-1] < _DETECTOR_MAX:
        raise IngestError(f"{INSTRUMENT} detector ids must be in 0..{_DETECTOR_MAX - 1}, "
                          f"got {detectors}")
    registry = butler.registry
    registry.insertDimensionData(
        "instrument", {"name": INSTRUMENT, "detector_max": _DETECTOR_MAX, "visit_max": _VISIT_MAX},
        skip_existing=True)
    registry.insertDimensionData(
        "physical_filter", *[{"instrument": INSTRUMENT, "name": name, "band": band}
                             for name, band in sorted(physical_filters.items())],
        skip_existing=True)
    registry.insertDimensionData(
        "detector", *[{"instrument": INSTRUMENT, "id": d, "full_name": f"D{d:02d}",
                       "purpose": "SCIENCE"} for d in detectors],
        skip_existing=True)


def visit_records(calexps, roles=None):
    """One `diffim.sim.field_files.VisitRecord` per visit, from its calexps' visit info.

    Parameters
    ----------
    calexps : `dict` [`tuple` [`int`, `int`], `diffim.Exposure`]
        By ``(visit, detector)``.
    roles : `dict` [`int`, `str`], optional
        ``"science"``/``"template"`` by visit (``""`` when unknown).

    Raises
    ------
    IngestError
        If a visit's detectors disagree on filter or time, or lack a WCS or a
        physical filter.
    """
    by_visit = defaultdict(dict)
    for (visit, detector), exposure in calexps.items():
        by_visit[int(visit)][int(detector)] = exposure
    records = []
    for visit, exposures in sorted(by_visit.items()):
        info = _visit_info(visit, exposures)
        records.append(VisitRecord(visit=visit, role=(roles or {}).get(visit, ""),
                                   mjd=float(info.mjd), physical_filter=info.physical_filter,
                                   band=info.band, exposure_time=float(info.exposure_time)))
    return records


def _visit_info(visit, exposures):
    """The one `diffim.exposure.VisitInfo` the detectors of ``visit`` share."""
    infos = {(e.visit_info.physical_filter, e.visit_info.mjd, e.visit_info.exposure_time)
             for e in exposures.values()}
    if len(infos) != 1:
        raise IngestError(f"visit {visit}: detectors disagree on (filter, mjd, exposure time): "
                          f"{sorted(infos)}")
    for detector, exposure in exposures.items():
        if exposure.wcs is None:
            raise IngestError(f"visit {visit} detector {detector}: calexp has no WCS")
        if not exposure.visit_info.physical_filter or not exposure.visit_info.band:
            raise IngestError(f"visit {visit} detector {detector}: calexp visit info has no "
                              "physical filter or band")
    return next(iter(exposures.values())).visit_info


def register_observations(butler, visits, regions):
    """Insert the camera, day_obs, visit, visit_detector_region and group records.

    A visit's region is the convex hull of its detectors' regions; its
    timespan is the exposure, centred on its MJD. Its ``group`` (named by
    `compat.gen3.repo.template_group`) lets a calexp-calexp pair name
    it as the template visit.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
    visits : iterable of `diffim.sim.field_files.VisitRecord`
    regions : `dict` [`tuple` [`int`, `int`], `lsst.sphgeom.ConvexPolygon`]
        Sky region of each ``(visit, detector)``.

    Raises
    ------
    IngestError
        If a visit has no detector region, or a detector id is out of range.
    """
    visits = sorted(visits, key=lambda record: record.visit)
    register_instrument(butler, {detector for _, detector in regions},
                        {record.physical_filter: record.band for record in visits})
    by_visit = defaultdict(dict)
    for (visit, detector), region in regions.items():
        by_visit[int(visit)][int(detector)] = region
    visit_rows, region_rows = [], []
    for record in visits:
        detectors = by_visit.get(record.visit)
        if not detectors:
            raise IngestError(f"visit {record.visit}: no detector region (no calexp)")
        corners = []
        for detector, region in sorted(detectors.items()):
            region_rows.append({"instrument": INSTRUMENT, "visit": record.visit,
                                "detector": detector, "region": region})
            corners.extend(region.getVertices())
        half = record.exposure_time / 2.0 / 86400.0
        visit_rows.append({
            "instrument": INSTRUMENT, "id": record.visit, "name": f"v{record.visit}",
            "physical_filter": record.physical_filter, "day_obs": day_obs(record.mjd),
            "exposure_time": record.exposure_time,
            "timespan": Timespan(Time(record.mjd - half, format="mjd", scale="tai"),
                                 Time(record.mjd + half, format="mjd", scale="tai")),
            "region": sphgeom.ConvexPolygon(corners),
        })
    registry = butler.registry
    registry.insertDimensionData("day_obs", *[{"instrument": INSTRUMENT, "id": night} for night
                                              in sorted({row["day_obs"] for row in visit_rows})],
                                 skip_existing=True)
    registry.insertDimensionData("visit", *visit_rows)
    registry.insertDimensionData("visit_detector_region", *region_rows)
    registry.insertDimensionData("group", *[{"instrument": INSTRUMENT,
                                             "name": template_group(record.visit)}
                                            for record in visits], skip_existing=True)


def ingest_skymap(butler, skymap, name=SKYMAP_NAME, run=INPUT_RUN):
    """Insert skymap, tract and patch records and put the ``skyMap`` dataset.

    Patch ids are the skymap's sequential indices, ``cell_x``/``cell_y`` its
    grid indices; regions are the outer boxes' (what a template needs).

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
    skymap : `diffim.sky.skymap.SkyMap`
    name : `str`
        The ``skymap`` dimension value.
    run : `str`
        RUN collection of the ``skyMap`` dataset.

    Returns
    -------
    ref : `lsst.daf.butler.DatasetRef`
    """
    registry = butler.registry
    tracts = list(skymap)
    registry.insertDimensionData("skymap", {
        "name": name, "hash": hashlib.sha1(skymap.to_json().encode()).digest(),
        "tract_max": len(tracts),
        "patch_nx_max": max(t.num_patches[0] for t in tracts),
        "patch_ny_max": max(t.num_patches[1] for t in tracts)})
    registry.insertDimensionData("tract", *[{"skymap": name, "id": t.tract_id,
                                             "region": t.outer_sky_polygon()} for t in tracts])
    registry.insertDimensionData("patch", *[
        {"skymap": name, "tract": t.tract_id, "id": p.sequential_index,
         "cell_x": p.index[0], "cell_y": p.index[1], "region": t.patch_sky_polygon(p)}
        for t in tracts for p in t.patches()])
    register_dataset_types(butler)
    registry.registerRun(run)
    return butler.put(skymap, "skyMap", skymap=name, run=run)
