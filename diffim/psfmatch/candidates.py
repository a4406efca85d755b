"""Kernel candidates: stamps around stars, checked and ranked in spatial cells.

A candidate's stamp is at least ``(2 kernelSize + 1)^2`` pixels centred on the source;
the kernel fit uses the stamp shrunk by the kernel half-width (where the
convolved template is fully defined). Candidates are ranked by flux within
``sizeCellX x sizeCellY`` cells; the spatial fit uses the best
``nStarPerCell`` still-good candidates of each cell, so a rejected candidate
is replaced by the next one of its cell, as in the stack's ``SpatialCellSet``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._core import _planes
from ..errors import DiffimError
from .errors import NoKernelCandidatesError, PsfMatchInputError

__all__ = ["FIT_COLUMNS", "CandidateStamps", "check_planes", "check_usable", "cut_stamps",
           "reason_counts", "select_per_cell"]

GOOD, BAD = "GOOD", "BAD"

FIT_COLUMNS = (("kernel_sum", float), ("residual_mean", float), ("residual_std", float),
               ("n_pixels", float), ("pseudo_inverse", bool), ("background", float),
               ("used", bool), ("spatial_kernel_sum", float), ("spatial_residual_mean", float),
               ("spatial_residual_std", float))
"""Columns the kernel fit fills (`diffim.psfmatch.fit`), after the candidates' own:
NaN (False) for the candidates it did not reach. A record array rather than a
DataFrame keeps pandas out of the subtraction (0.3 s of its run)."""


@dataclass
class CandidateStamps:
    """Stamps of the usable candidates and the table of all candidates.

    Attributes
    ----------
    table : `numpy.recarray`
        One row per input candidate: ``id, x, y, flux, cell_x, cell_y, status,
        reason`` and the fit's columns (`FIT_COLUMNS`); ``status`` is
        ``GOOD`` or ``BAD`` (``reason`` says why).
    rows : `numpy.ndarray`
        Table row index of each stamp.
    template, science, variance : `numpy.ndarray`
        ``(n, S, S)`` float64 stamps; ``variance`` is science + template variance.
    """

    table: np.recarray
    rows: np.ndarray
    template: np.ndarray
    science: np.ndarray
    variance: np.ndarray


def check_planes(exposure, label, bad_mask_planes):
    """Raise `PsfMatchInputError` if the image or variance of ``exposure`` has NaN/inf.

    Pixels flagged with any of ``bad_mask_planes`` may be non-finite: no
    stamp touching them is used.
    """
    planes = [name for name in bad_mask_planes if name in exposure.mask.planes]
    # One counting pass over both planes and the mask; the pixels are located
    # only to report them.
    counts = _planes.count_unflagged_nonfinite(exposure.image, exposure.variance,
                                               exposure.mask.array, exposure.mask.bitmask(planes))
    for plane_name, count in zip(("image", "variance"), counts):
        if count:
            bad = ~np.isfinite(getattr(exposure, plane_name)) & exposure.mask.unmasked(planes)
            y, x = np.argwhere(bad)[0]
            raise PsfMatchInputError(
                f"{label} {plane_name} plane has {count} NaN/inf pixels not flagged "
                f"{'/'.join(planes) or 'bad'} (first at x={x + exposure.xy0[0]}, "
                f"y={y + exposure.xy0[1]})")


def check_usable(exposure, label, bad_mask_planes):
    """Raise if ``exposure`` has no pixel to work with, as the subtraction requires.

    `check_planes` (no unflagged NaN/inf), then: some pixel is not flagged
    with ``bad_mask_planes``, and the variance is positive on all of those.

    Raises
    ------
    PsfMatchInputError
        Unflagged non-finite pixels.
    DiffimError
        Every pixel flagged, or a variance of zero or less on an unflagged one.
    """
    check_planes(exposure, label, bad_mask_planes)
    usable = exposure.mask.unmasked(bad_mask_planes)
    if not usable.any():
        raise DiffimError(f"every {label} pixel is masked ({'/'.join(bad_mask_planes)})")
    if (exposure.variance[usable] <= 0).any():
        bad = int((exposure.variance[usable] <= 0).sum())
        raise DiffimError(f"{label} variance is zero or negative at {bad} unmasked pixels")


def cut_stamps(template, science, positions, fluxes, kernel_size, config, half_width=None):
    """Cut and check the stamps of every candidate position.

    Parameters
    ----------
    template, science : `Exposure`
        Images on the same pixel grid; ``template`` is the one to be convolved.
    positions : `numpy.ndarray`
        ``(n, 2)`` parent ``(x, y)`` of the candidate sources.
    fluxes : `numpy.ndarray` or `None`
        Ranking flux of each candidate (larger is better); when `None`, the
        science stamp's sum within the fit region is used.
    kernel_size : `int`
        Kernel width; the stamp half-size unless ``half_width`` is given.
    config : `PsfMatchConfig`
        ``badMaskPlanes``, ``sizeCellX``, ``sizeCellY``.
    half_width : `int`, optional
        Stamp half-size (at least ``kernel_size // 2 + 1``); ``kernel_size`` if None.

    Returns
    -------
    stamps : `CandidateStamps`

    Raises
    ------
    NoKernelCandidatesError
        If no candidate survives, with the count per reason.
    """
    positions = np.asarray(positions, dtype=float).reshape(-1, 2)
    bbox = template.bbox
    half = kernel_size if half_width is None else half_width
    size = 2 * half + 1
    centres = np.rint(positions).astype(np.int64)
    n = len(positions)
    table = np.rec.fromarrays(
        [np.arange(n), positions[:, 0], positions[:, 1],
         np.full(n, np.nan) if fluxes is None else np.asarray(fluxes, float),
         (centres[:, 0] - bbox.x0) // config.sizeCellX,
         (centres[:, 1] - bbox.y0) // config.sizeCellY,
         np.full(n, GOOD, dtype=object), np.full(n, "", dtype=object),
         *(np.full(n, np.nan if kind is float else False, dtype=kind) for _, kind in FIT_COLUMNS)],
        names=["id", "x", "y", "flux", "cell_x", "cell_y", "status", "reason",
               *(name for name, _ in FIT_COLUMNS)])
    # Each image's mask with its bad planes' bits, looked up once for all candidates.
    masks = []
    for exposure in (template, science):
        planes = [(name, exposure.mask.bitmask(name)) for name in config.badMaskPlanes
                  if name in exposure.mask.planes]
        masks.append((exposure.mask.array, planes, exposure.mask.bitmask([p for p, _ in planes])))

    keep, stamps = [], ([], [], [])
    reasons = table["reason"]
    for row, (cx, cy) in enumerate(centres):
        x0, y0 = cx - half - bbox.x0, cy - half - bbox.y0
        if x0 < 0 or y0 < 0 or x0 + size > bbox.width or y0 + size > bbox.height:
            reasons[row] = "outside image"
            continue
        window = (slice(y0, y0 + size), slice(x0, x0 + size))
        hit = set()
        for mask, planes, all_bits in masks:
            if all_bits:
                bits = int(np.bitwise_or.reduce(mask[window], axis=None))
                hit.update(name for name, bit in planes if bits & bit)
        if hit:
            reasons[row] = "mask " + "|".join(sorted(hit))
            continue
        variance = (science.variance[window].astype(float)
                    + template.variance[window].astype(float))
        if not (variance > 0).all():
            reasons[row] = "variance <= 0"
            continue
        keep.append(row)
        stamps[0].append(template.image[window])
        stamps[1].append(science.image[window])
        stamps[2].append(variance)
    table["status"][reasons != ""] = BAD
    if not keep:
        detail = ", ".join(f"{count} {reason}" for reason, count in reason_counts(table))
        raise NoKernelCandidatesError(
            f"no usable kernel candidate among {len(table)} ({detail or 'none given'}); "
            f"stamps are {size}x{size} px (kernelSize={kernel_size}), "
            f"badMaskPlanes={list(config.badMaskPlanes)}")
    keep = np.array(keep)
    template_stamps, science_stamps, variance_stamps = (np.array(s, dtype=float) for s in stamps)
    if fluxes is None:
        inner = slice(kernel_size // 2, size - kernel_size // 2)
        table["flux"][keep] = science_stamps[:, inner, inner].sum(axis=(1, 2))
    return CandidateStamps(table, keep, template_stamps, science_stamps, variance_stamps)


def select_per_cell(table, good, n_per_cell):
    """Boolean array: the ``n_per_cell`` highest-flux ``good`` rows of each cell."""
    order = np.lexsort((-table["flux"], table["cell_y"], table["cell_x"]))
    selected = np.zeros(len(table), dtype=bool)
    cells = np.column_stack([table["cell_x"], table["cell_y"]])
    count, previous = 0, None
    for row in order:
        if not good[row]:
            continue
        cell = tuple(cells[row])
        count = count + 1 if cell == previous else 1
        previous = cell
        if count <= n_per_cell:
            selected[row] = True
    return selected


def reason_counts(table):
    """``(reason, count)`` over the candidates, most frequent first (ties by first
    occurrence), as ``pandas.Series.value_counts`` lists them."""
    names, first, counts = np.unique(table["reason"].astype(str), return_index=True,
                                     return_counts=True)
    order = np.lexsort((first, -counts))
    return [(names[i], int(counts[i])) for i in order]
