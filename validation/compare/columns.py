"""Column-by-column differences of matched catalogue rows, each judged in its own unit.

Columns fall in classes by name and dtype, following the DIA-source schema
(`diffim.measure.schema`) and the ``src``/``kernelSrc`` catalogues:

========== ======================================== ====================================
class      columns                                  judged by
========== ======================================== ====================================
flag       boolean                                  fraction of matched rows disagreeing
id         integer ``id`` and ``*Id``               fraction of matched rows disagreeing
flux       ``*Flux`` with a ``*FluxErr`` column     max ``|Δ|`` in sigma of the errors
centroid   ``x``, ``y``, ``*_x``, ``*_y``           max ``|Δ|`` in pixels
sky        ``coord_ra``, ``coord_dec``              max ``|Δ|`` on the sky, arcsec
other      any other number                         max relative difference (if set)
========== ======================================== ====================================

Columns holding anything but numbers or booleans (arrays per row, strings)
are listed as not compared.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .values import differing_indices, in_noise_units, relative_difference

__all__ = ["ColumnDifference", "classify_column", "column_difference"]

_NUMERIC_KINDS = "biuf"


@dataclass
class ColumnDifference:
    """One column over the matched rows.

    Attributes
    ----------
    summary : `dict`
        ``class``, ``n_differing``, ``n_nonfinite`` (NaN/inf against a
        value), ``max_abs``, ``measure`` (the judged number), ``unit`` of
        ``measure``, ``limit`` (tolerance, `None` if not judged), ``outside``.
    signed : `numpy.ndarray`
        Per matched row: a - b in the judged unit (sigma for fluxes), for histograms.
    """

    summary: dict
    signed: np.ndarray


def classify_column(name, dtype_a, dtype_b, shared_columns):
    """The class of a column present in both catalogues, or `None` if it cannot be compared."""
    # pandas extension dtypes (nullable integers, strings) hold pd.NA, which numpy cannot compute with.
    if not all(isinstance(dtype, np.dtype) and dtype.kind in _NUMERIC_KINDS
               for dtype in (dtype_a, dtype_b)):
        return None
    if dtype_a.kind == dtype_b.kind == "b":
        return "flag"
    if dtype_a.kind in "iu" and dtype_b.kind in "iu" and (name == "id" or name.endswith("Id")):
        return "id"
    if name.endswith("Flux") and f"{name}Err" in shared_columns:
        return "flux"
    if name in ("x", "y") or name.endswith("_x") or name.endswith("_y"):
        return "centroid"
    if name in ("coord_ra", "coord_dec"):
        return "sky"
    return "other"


def column_difference(column_class, values_a, values_b, tolerances, *, errors=None,
                      declination=None):
    """Compare one column's matched values.

    Parameters
    ----------
    column_class : `str`
        From `classify_column`.
    values_a, values_b : `numpy.ndarray`
        The column on matched rows, pair by pair.
    tolerances : `Tolerances`
    errors : `tuple` [`numpy.ndarray`, `numpy.ndarray`], optional
        The ``*Err`` column of each side, for a flux.
    declination : `numpy.ndarray`, optional
        Declination in degrees of each pair, for ``coord_ra``.
    """
    n_rows = len(values_a)
    differing = differing_indices(values_a, values_b)
    values_a, values_b = values_a.astype(np.float64), values_b.astype(np.float64)
    raw = values_a - values_b
    agreeing = np.ones(n_rows, bool)
    agreeing[differing] = False
    raw[agreeing] = 0.0  # NaN - NaN and inf - inf are agreements, not NaN differences
    if column_class == "sky" and declination is not None:
        raw = (raw + 180.0) % 360.0 - 180.0  # RA differences across 0/360
    finite = np.isfinite(raw)
    summary = {"class": column_class, "n_differing": int(differing.size),
               "n_nonfinite": int(np.count_nonzero(~finite)),
               "max_abs": float(np.abs(raw[finite]).max(initial=0.0))}
    if column_class in ("flag", "id"):
        limit = tolerances.flag_max_fraction if column_class == "flag" else tolerances.id_max_fraction
        measure = differing.size / n_rows if n_rows else 0.0
        summary.update(measure=measure, unit="fraction", limit=limit, outside=measure > limit,
                       n_outside=None)
        return ColumnDifference(summary, raw)
    unit, limit = {"flux": ("sigma", tolerances.flux_max_sigma),
                   "centroid": ("pixel", tolerances.centroid_max_pixels),
                   "sky": ("arcsec", tolerances.centroid_max_arcsec),
                   "other": ("relative", tolerances.other_max_rel)}[column_class]
    if column_class == "flux":
        sigma = np.copysign(in_noise_units(raw, errors[0] ** 2, errors[1] ** 2), raw)
        # A flux that changed where no error gives its scale cannot be judged in sigma.
        unjudged = finite & (raw != 0) & ~np.isfinite(sigma)
        summary["n_nonfinite"] += int(np.count_nonzero(unjudged))
        signed = np.where(raw == 0, 0.0, sigma)
        judged = np.abs(signed)
    elif column_class == "sky":
        cos_dec = 1.0 if declination is None else np.cos(np.radians(declination))
        signed = raw * cos_dec * 3600.0
        judged = np.abs(signed)
    elif column_class == "other":
        signed = raw
        judged = relative_difference(raw, values_a, values_b)
    else:
        signed = raw
        judged = np.abs(raw)
    measure = float(judged[np.isfinite(judged)].max(initial=0.0))
    outside = limit is not None and (summary["n_nonfinite"] > 0 or measure > limit)
    beyond = np.isfinite(judged) & (judged > limit) if limit is not None else None
    n_outside = None if beyond is None else summary["n_nonfinite"] + int(np.count_nonzero(beyond))
    summary.update(measure=measure, unit=unit, limit=limit, outside=bool(outside), n_outside=n_outside)
    return ColumnDifference(summary, signed)
