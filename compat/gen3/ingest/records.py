"""Ingest a simulated SimCam field and a skymap into a gen3 repository.

The registry learns the camera (instrument, physical filters and bands,
detectors), the observations (day_obs, visits with sky regions, the
region of each visit-detector) and the skymap (tracts and patches with sky
regions). Those regions are what the registry's spatial joins use to pair
a science detector with the patches of its template and with reference-
catalogue shards. The datasets (``calexp``, ``src``, ``skyMap``) go into
one RUN collection.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict

import lsst.sphgeom as sphgeom
from astropy.time import Time
from lsst.daf.butler import Timespan

from diffim.refcat import box_sky_polygon
from diffim.source_catalog import make_source_catalog, source_id_offset

from .errors import IngestError
from .repo import INPUT_RUN, INSTRUMENT, SKYMAP_NAME, register_dataset_types

__all__ = ["day_obs", "detector_region", "ingest_field", "ingest_skymap", "register_instrument",
           "register_visits"]

# Source ids pack (visit, detector) (diffim.source_catalog.source_id_offset):
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


def register_visits(butler, calexps):
    """Insert day_obs, visit and visit_detector_region records for some calexps.

    A visit's region is the convex hull of its detectors' regions; its
    timespan is the exposure, centred on the visit info's MJD.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
    calexps : `dict` [`tuple` [`int`, `int`], `diffim.Exposure`]
        By ``(visit, detector)``; each needs a WCS and visit info with MJD,
        exposure time and physical filter.

    Raises
    ------
    IngestError
        If a visit's detectors disagree on filter or time, or lack a WCS or a
        physical filter.
    """
    by_visit = defaultdict(dict)
    for (visit, detector), exposure in calexps.items():
        by_visit[int(visit)][int(detector)] = exposure
    visit_records, region_records, nights = [], [], set()
    for visit, exposures in sorted(by_visit.items()):
        info = _visit_info(visit, exposures)
        corners = []
        for detector, exposure in sorted(exposures.items()):
            region = detector_region(exposure)
            region_records.append({"instrument": INSTRUMENT, "visit": visit, "detector": detector,
                                   "region": region})
            corners.extend(region.getVertices())
        night = day_obs(info.mjd)
        nights.add(night)
        half = info.exposure_time / 2.0 / 86400.0
        visit_records.append({
            "instrument": INSTRUMENT, "id": visit, "name": f"v{visit}",
            "physical_filter": info.physical_filter, "day_obs": night,
            "exposure_time": info.exposure_time,
            "timespan": Timespan(Time(info.mjd - half, format="mjd", scale="tai"),
                                 Time(info.mjd + half, format="mjd", scale="tai")),
            "region": sphgeom.ConvexPolygon(corners),
        })
    registry = butler.registry
    registry.insertDimensionData("day_obs", *[{"instrument": INSTRUMENT, "id": night}
                                              for night in sorted(nights)], skip_existing=True)
    registry.insertDimensionData("visit", *visit_records)
    registry.insertDimensionData("visit_detector_region", *region_records)


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


def ingest_skymap(butler, skymap, name=SKYMAP_NAME, run=INPUT_RUN):
    """Insert skymap, tract and patch records and put the ``skyMap`` dataset.

    Patch ids are the skymap's sequential indices, ``cell_x``/``cell_y`` its
    grid indices; regions are the outer boxes' (what a template needs).

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
    skymap : `diffim.skymap.SkyMap`
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


def ingest_field(butler, field, sources=None, run=INPUT_RUN):
    """Register a simulated field's camera and visits and put its calexps and ``src``.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        Writeable, on a repository made by `compat.gen3.repo.make_repo`.
    field : `diffim.sim.field.SimulatedField`
    sources : `dict` [`tuple` [`int`, `int`], `pandas.DataFrame`], optional
        ``src`` catalogues by ``(visit, detector)``; made with
        `diffim.source_catalog.make_source_catalog` (ids from
        `source_id_offset`) when omitted.
    run : `str`
        RUN collection to put the datasets in.

    Returns
    -------
    refs : `dict` [`str`, `list` [`lsst.daf.butler.DatasetRef`]]
        ``"calexp"`` and ``"src"`` refs, in ``(visit, detector)`` order.

    Raises
    ------
    IngestError
        If ``sources`` lacks a calexp's catalogue, or the visits are inconsistent.
    """
    calexps = field.calexps
    if sources is not None:
        missing = sorted(set(calexps) - set(sources))
        if missing:
            raise IngestError(f"no src catalogue for (visit, detector) {missing}")
    filters = {e.visit_info.physical_filter: e.visit_info.band for e in calexps.values()}
    register_instrument(butler, {detector for _, detector in calexps}, filters)
    register_visits(butler, calexps)
    register_dataset_types(butler)
    butler.registry.registerRun(run)
    refs = {"calexp": [], "src": []}
    for (visit, detector), exposure in sorted(calexps.items()):
        data_id = {"instrument": INSTRUMENT, "visit": visit, "detector": detector}
        catalog = (sources[(visit, detector)] if sources is not None else
                   make_source_catalog(exposure, id_offset=source_id_offset(visit, detector)))
        refs["calexp"].append(butler.put(exposure, "calexp", data_id, run=run))
        refs["src"].append(butler.put(catalog, "src", data_id, run=run))
    return refs
