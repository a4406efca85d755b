"""``doAddMetrics`` of the legacy ``ImageDifferenceTask``: kernel QA and false positives.

`kernel_source_catalog` builds the ``kernelSrc`` catalogue as the stack's
task wrote it: the science ``src`` catalogue, every row, with the QA columns
of `diffim.image_difference.kernel_metrics` filled in for the sources that
were kernel candidates or in the control sample held back by
``doSelectSources`` (NaN, 0 or False elsewhere; ``isControl`` marks the
control sample). `false_positive_counts` gives the
stack's counts of DIA sources and of those at known (``src`` or reference)
sources, and `metric_summary` the mean, median and standard deviation of
each metric over the catalogue -- the metadata keys of the stack's
``KernelCandidateQa.aggregate`` (``NFalsePositivesTotal``,
``KCDiffimMean_LOCAL_MEAN``, ...).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..sky.matching import match_pixels, match_sky
from .kernel_metrics import kernel_candidate_metrics

__all__ = ["SUMMARISED_METRICS", "false_positive_counts", "kernel_source_catalog",
           "metric_summary"]

SUMMARISED_METRICS = tuple(
    f"{name}_{kind}" for kind in ("LOCAL", "SPATIAL")
    for name in ("KCDiffimMean", "KCDiffimMedian", "KCDiffimIQR", "KCDiffimStDev", "KCDiffimKSProb",
                 "KCDiffimADSig", "KCDiffimChiSq", "KCDiffimMseResids", "KCDiffimMseKernel")
    if (name, kind) != ("KCDiffimMseKernel", "LOCAL"))
"""The ``kernelSrc`` columns the stack summarised in the metadata, in its order."""


def kernel_source_catalog(subtracted, convolved, reference, fit_background, science_sources,
                          kernel_sources, control_sources):
    """The ``kernelSrc`` catalogue: the science sources with the candidates' QA columns.

    Parameters
    ----------
    subtracted : `diffim.task.Struct`
        Result of `diffim.subtract.AlardLuptonSubtractTask.run`.
    convolved, reference : `diffim.exposure.Exposure`
        The image the kernel convolved and the one it was matched to.
    fit_background : `bool`
        Whether the kernel fit included a background.
    science_sources : `pandas.DataFrame`
        The science ``src`` catalogue (``x``, ``y``, ...).
    kernel_sources : `pandas.DataFrame` or None
        The sources given to the subtraction (with ``ref_coord_*`` when
        selected by ``doSelectSources``).
    control_sources : `pandas.DataFrame` or None
        The control sample, if any.

    Returns
    -------
    catalog : `pandas.DataFrame`
        ``science_sources``' rows and columns, then the QA columns and
        ``isControl``.
    """
    candidates = subtracted.kernelSources
    positions = _reference_positions(candidates, kernel_sources)
    metrics = kernel_candidate_metrics(
        candidates, subtracted.localKernelCoefficients, subtracted.psfMatchingKernel,
        subtracted.backgroundModel, convolved, reference, fit_background, positions)
    metrics["isControl"] = False
    if control_sources is not None and len(control_sources):
        control = pd.DataFrame({"id": control_sources["id"], "x": control_sources["x"],
                                "y": control_sources["y"], "status": "UNKNOWN"})
        no_solution = np.full((len(control), subtracted.localKernelCoefficients.shape[1]),
                              np.nan)
        control_metrics = kernel_candidate_metrics(
            control, no_solution, subtracted.psfMatchingKernel, subtracted.backgroundModel,
            convolved, reference, fit_background, _reference_positions(control, control_sources))
        control_metrics["isControl"] = True
        metrics = pd.concat([metrics, control_metrics], ignore_index=True)
    return _on_science_sources(metrics, science_sources)


def _on_science_sources(metrics, science_sources):
    """``science_sources`` with the QA columns of the metric rows at their positions.

    A candidate is the source at its position (within half a pixel); a
    source that was none keeps afw's new-field values: NaN, 0, False, no array.
    """
    catalog = science_sources.reset_index(drop=True).copy()
    metric_rows, source_rows, _ = match_pixels(metrics["x"], metrics["y"], catalog["x"],
                                               catalog["y"], 0.5)
    for name in metrics.columns.drop(["x", "y"]):
        values = metrics[name].to_numpy()
        if values.dtype.kind == "b":
            column = np.zeros(len(catalog), bool)
        elif values.dtype.kind in "iu":
            column = np.zeros(len(catalog), values.dtype)
        elif values.dtype.kind == "f":
            column = np.full(len(catalog), np.nan)
        else:
            column = np.full(len(catalog), None, object)
        column[source_rows] = values[metric_rows]
        catalog[name] = column
    return catalog


def _reference_positions(rows, selected_sources):
    """Position of each row's reference counterpart (NaN without one), for ``Register*``."""
    positions = pd.DataFrame({"ra": np.nan, "dec": np.nan}, index=range(len(rows)))
    if selected_sources is None or "ref_coord_ra" not in selected_sources:
        return positions
    row_index, source_index, _ = match_pixels(rows["x"], rows["y"], selected_sources["x"],
                                              selected_sources["y"], 0.5)
    positions.loc[row_index, "ra"] = selected_sources["ref_coord_ra"].to_numpy()[source_index]
    positions.loc[row_index, "dec"] = selected_sources["ref_coord_dec"].to_numpy()[source_index]
    return positions


def false_positive_counts(dia_sources, science_sources, reference_sources, radius_arcsec):
    """The stack's QA counts: DIA sources, and how many match src or refcat sources.

    In a null test (no real variability) every DIA source is a false
    positive; those at known sources point at subtraction residuals.

    Parameters
    ----------
    dia_sources : `pandas.DataFrame`
        DIA sources with ``coord_ra``, ``coord_dec`` (sky sources, when
        flagged ``sky_source``, are not counted).
    science_sources, reference_sources : `pandas.DataFrame` or None
        Known sources with ``coord_ra``, ``coord_dec``.
    radius_arcsec : `float`
        Match radius.

    Returns
    -------
    counts : `dict` [`str`, `int`]
        ``NFalsePositivesTotal``, ``NFalsePositivesSrcAssociated``,
        ``NFalsePositivesRefAssociated``, ``NFalsePositivesUnassociated``.
    """
    real = dia_sources[~dia_sources["sky_source"]] if "sky_source" in dia_sources \
        else dia_sources
    counts = {"NFalsePositivesTotal": len(real)}
    for key, catalog in (("NFalsePositivesSrcAssociated", science_sources),
                         ("NFalsePositivesRefAssociated", reference_sources)):
        counts[key] = 0 if catalog is None or not len(real) else len(match_sky(
            real["coord_ra"], real["coord_dec"], catalog["coord_ra"], catalog["coord_dec"],
            radius_arcsec)[0])
    matched_any = np.zeros(len(real), bool)
    for catalog in (science_sources, reference_sources):
        if catalog is not None and len(real):
            index = match_sky(real["coord_ra"], real["coord_dec"], catalog["coord_ra"],
                              catalog["coord_dec"], radius_arcsec)[0]
            matched_any[index] = True
    counts["NFalsePositivesUnassociated"] = int((~matched_any).sum())
    return counts


def metric_summary(kernel_sources):
    """``<metric>_MEAN``, ``_MEDIAN`` and ``_STDEV`` of each `SUMMARISED_METRICS` column.

    Over the finite values of the catalogue's rows (candidates and control
    sources alike), as the stack's ``KernelCandidateQa.aggregate``; NaN for
    a column without any.

    Parameters
    ----------
    kernel_sources : `pandas.DataFrame`
        The ``kernelSrc`` catalogue.

    Returns
    -------
    summary : `dict` [`str`, `float`]
    """
    summary = {}
    for name in SUMMARISED_METRICS:
        values = kernel_sources[name].to_numpy(np.float64)
        values = values[np.isfinite(values)]
        empty = not values.size
        summary[f"{name}_MEAN"] = np.nan if empty else float(values.mean())
        summary[f"{name}_MEDIAN"] = np.nan if empty else float(np.median(values))
        summary[f"{name}_STDEV"] = np.nan if empty else float(values.std())
    return summary
