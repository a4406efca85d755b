"""Ingest a simulated field held in memory: records, then ``butler.put`` of its datasets."""
from __future__ import annotations

from diffim.sources.catalog import make_source_catalog, source_id_offset

from ..errors import IngestError
from ..repo import INPUT_RUN, INSTRUMENT, register_dataset_types
from .records import detector_region, register_observations, visit_records

__all__ = ["ingest_field"]


def ingest_field(butler, field, sources=None, run=INPUT_RUN):
    """Register a simulated field's camera and visits and put its calexps and ``src``.

    Parameters
    ----------
    butler : `lsst.daf.butler.Butler`
        Writeable, on a repository made by `compat.gen3.repo.make_repo`.
    field : `diffim.sim.field.SimulatedField`
    sources : `dict` [`tuple` [`int`, `int`], `pandas.DataFrame`], optional
        ``src`` catalogues by ``(visit, detector)``; made with
        `diffim.sources.catalog.make_source_catalog` (ids from
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
    roles = {spec.visit: spec.role for spec in field.config.visits}
    register_observations(butler, visit_records(calexps, roles),
                          {key: detector_region(exposure) for key, exposure in calexps.items()})
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
