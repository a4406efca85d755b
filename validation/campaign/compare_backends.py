"""Compare what gen2 and gen3 wrote for each data ID of a scenario."""
from __future__ import annotations

from pathlib import Path

from ..compare import compare_catalogs, compare_exposures
from ..model import Comparison, DataIdResult, Verdict
from .metrics import backend_metrics
from .outputs import data_id_key

__all__ = ["IMAGE_PRODUCTS", "compare_backends"]

IMAGE_PRODUCTS = ("differenceExp", "matchedExp", "warpedExp", "scoreExp")
"""Products that are exposures; the others are catalogues."""


def compare_backends(scenario, data_ids, gen2, gen3, artifact_dir=None):
    """One `DataIdResult` per data ID: each product compared, both backends' metrics.

    Parameters
    ----------
    scenario : `validation.campaign.scenarios.Scenario`
    data_ids : `list` [`dict`]
    gen2, gen3 : `dict` [`tuple`, `validation.campaign.outputs.BackendOutput`]
        Per ``(visit, detector)``.
    artifact_dir : `pathlib.Path`, optional
        Where difference-of-difference images and matched-catalogue
        differences go, one folder per scenario and data ID.

    Returns
    -------
    results : `list` [`validation.model.DataIdResult`]
    """
    results = []
    for data_id in data_ids:
        key = data_id_key(data_id)
        sides = {"gen2": gen2[key], "gen3": gen3[key]}
        result = DataIdResult(data_id=dict(data_id), backend_metrics={
            name: backend_metrics(side.outputs, side.metadata, side.seconds)
            for name, side in sides.items()})
        errors = [f"{name}: {side.error}" for name, side in sides.items() if side.error]
        if errors:
            result.error = "; ".join(errors)
        else:
            where = (Path(artifact_dir) / scenario.name / f"v{key[0]}-d{key[1]}"
                     if artifact_dir is not None else None)
            result.comparisons = [_compare_product(scenario, product, sides, where)
                                  for product in scenario.products]
        results.append(result)
    return results


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
