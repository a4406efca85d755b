"""Compare what gen2 and gen3 wrote for each data ID of a scenario.

Each data ID is read back from both repositories and compared where the
engine runs data IDs: here on the ``local`` engine with one worker, in the
pool of its workers with more (`compat.worker_server.kept_pool`), in a
Parsl worker on the ``parsl`` one (an app per data ID, returning its
`DataIdResult`), so that reading and comparing are not a serial share of
the campaign process. The result is the same wherever
it is computed.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from compat.pickled import Pickled
from compat.worker_server import worker_context, worker_pool
from diffim.cli.main import keep_freed_memory

from ..compare import compare_catalogs, compare_exposures
from ..model import Comparison, DataIdResult, Verdict
from .metrics import backend_metrics
from .outputs import data_id_key

__all__ = ["IMAGE_PRODUCTS", "compare_backends", "compare_data_id"]

IMAGE_PRODUCTS = ("differenceExp", "matchedExp", "warpedExp", "scoreExp")
"""Products that are exposures; the others are catalogues."""


def compare_backends(scenario, data_ids, gen2, gen3, artifact_dir, engine):
    """One `DataIdResult` per data ID, in order (`compare_data_id` of each).

    Parameters
    ----------
    scenario : `validation.campaign.scenarios.Scenario`
    data_ids : `list` [`dict`]
    gen2, gen3
        What each backend wrote (`validation.campaign.gen2_backend.Gen2Outputs`,
        `validation.campaign.gen3_backend.Gen3Outputs`).
    artifact_dir : `pathlib.Path`
        As for `compare_data_id`.
    engine : `validation.campaign.engine.Engine`
        On ``parsl``, each data ID is an app on its workers; on ``local``
        with more than one worker, a call in a pool of that many processes.

    Returns
    -------
    results : `list` [`validation.model.DataIdResult`]
    """
    if not data_ids:
        return []
    if engine.in_process:
        return [compare_data_id(scenario, data_id, gen2, gen3, artifact_dir)
                for data_id in data_ids]
    # Unpickled once per worker: its butlers are then opened once per worker, not per data ID.
    shared = Pickled((scenario, gen2, gen3, artifact_dir))
    if not engine.parsl:
        # A failed data ID or Ctrl-C: map cancels the queued ones.
        with worker_pool(engine.workers, worker_context([__name__]),
                         initializer=keep_freed_memory) as pool:
            return list(pool.map(_compare_in_worker, itertools.repeat(shared), data_ids))
    import parsl  # only on its engine

    app = parsl.python_app(_compare_in_worker)
    futures = [app(shared, data_id) for data_id in data_ids]
    return [future.result() for future in futures]


def _compare_in_worker(shared, data_id):
    """`compare_data_id` in a worker; ``shared`` is a `compat.pickled.Pickled` of the other
    arguments."""
    scenario, gen2, gen3, artifact_dir = shared.load()
    return compare_data_id(scenario, data_id, gen2, gen3, artifact_dir)


def compare_data_id(scenario, data_id, gen2, gen3, artifact_dir=None):
    """Read one data ID back from both backends: each product compared, both backends' metrics.

    Parameters
    ----------
    scenario : `validation.campaign.scenarios.Scenario`
    data_id : `dict`
    gen2, gen3
        What each backend wrote; ``read(data_id)`` gives a
        `validation.campaign.outputs.BackendOutput`.
    artifact_dir : `pathlib.Path`, optional
        Where difference-of-difference images and matched-catalogue
        differences go, one folder per scenario and data ID.

    Returns
    -------
    result : `validation.model.DataIdResult`
    """
    key = data_id_key(data_id)
    sides = {"gen2": gen2.read(data_id), "gen3": gen3.read(data_id)}
    result = DataIdResult(data_id=dict(data_id), backend_metrics={
        name: backend_metrics(side.outputs, side.metadata, side.seconds)
        for name, side in sides.items()})
    errors = [f"{name}: {side.error}" for name, side in sides.items() if side.error]
    if errors:
        result.error = "; ".join(errors)
        return result
    where = (Path(artifact_dir) / scenario.name / f"v{key[0]}-d{key[1]}"
             if artifact_dir is not None else None)
    result.comparisons = [_compare_product(scenario, product, sides, where)
                          for product in scenario.products]
    return result


def _compare_product(scenario, product, sides, artifact_dir):
    kind = "image" if product in IMAGE_PRODUCTS else "catalog"
    missing = [name for name, side in sides.items() if product not in side.outputs]
    if missing:
        return Comparison(product=product, kind=kind, verdict=Verdict.FAILED,
                          summary=f"{' and '.join(missing)} wrote no {product}",
                          reason=scenario.expected_reason)
    compare = compare_exposures if kind == "image" else compare_catalogs
    return compare(sides["gen2"].outputs[product], sides["gen3"].outputs[product],
                   product=product, tolerances=scenario.tolerances,
                   reason=scenario.expected_reason, artifact_dir=artifact_dir)
