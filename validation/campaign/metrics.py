"""Science numbers of one backend's outputs for one data ID, stored next to the verdicts.

They make a regression visible even when both backends agree (both got
worse together), and they are what the trend plots follow across runs.
"""
from __future__ import annotations

import math

import numpy as np

from diffim.image.stats import robust_median_sigma

__all__ = ["METADATA_METRICS", "backend_metrics", "find_in_metadata"]

METADATA_METRICS = {"kernelSum": "kernel_sum", "nSelectedSources": "n_kernel_sources",
                    "varianceScaleFactor": "variance_scale_factor",
                    "NFalsePositivesTotal": "n_false_positives",
                    "NFalsePositivesRefAssociated": "n_false_positives_ref"}
"""Task metadata entries -> metric names."""

_UNUSABLE_PLANES = ("NO_DATA", "EDGE", "SAT", "BAD", "SAT_TEMPLATE", "DETECTED",
                    "DETECTED_NEGATIVE")


def backend_metrics(outputs, metadata=None, seconds=None):
    """Named numbers of one data ID's outputs.

    Parameters
    ----------
    outputs : `dict` [`str`, `object`]
        Product -> in-memory output (``differenceExp`` an Exposure,
        ``diaSrc`` a DataFrame, ...).
    metadata : `dict`, optional
        The task metadata, nested (found entries listed in `METADATA_METRICS`).
    seconds : `float`, optional
        Wall time of this data ID.

    Returns
    -------
    metrics : `dict` [`str`, `float`]
        ``residual_std`` (robust std of difference / sigma on source-free,
        usable pixels; 1 for pure noise), ``n_dia_sources``, and what the
        metadata holds.
    """
    metrics = {}
    difference = outputs.get("differenceExp")
    if difference is not None:
        present = [plane for plane in _UNUSABLE_PLANES if plane in difference.mask.planes]
        good = ~difference.mask.get(present) & (difference.variance > 0)
        good &= np.isfinite(difference.image)
        if good.any():
            normalised = difference.image[good] / np.sqrt(difference.variance[good])
            metrics["residual_std"] = float(robust_median_sigma(normalised)[1])
    dia_sources = outputs.get("diaSrc")
    if dia_sources is not None:
        metrics["n_dia_sources"] = float(len(dia_sources))
    for key, name in METADATA_METRICS.items():
        value = find_in_metadata(metadata or {}, key)
        if value is not None:
            metrics[name] = value
    if seconds is not None:
        metrics["seconds"] = float(seconds)
    return metrics


def find_in_metadata(metadata, key):
    """The first finite number stored under ``key`` at any depth of ``metadata``, or `None`.

    Both middlewares nest a task's metadata under its sub-task names, and
    the two nestings differ; the key names are the tasks' own.
    """
    if not isinstance(metadata, dict):
        return None
    value = metadata.get(key)
    if isinstance(value, (list, tuple)) and value:
        value = value[-1]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    for child in metadata.values():
        found = find_in_metadata(child, key)
        if found is not None:
            return found
    return None
