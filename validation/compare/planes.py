"""Pixel-wise differences of two planes of one shape: float planes and mask planes.

Both work on the differing pixels only (found with one full-size comparison),
so identical or nearly identical 4k x 4k planes cost little time and memory.
Positions are reported in the parent frame (array index + ``xy0``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .values import box_of, differing_indices, in_noise_units, relative_difference

__all__ = ["FloatPlaneDifference", "MaskDifference", "UNNAMED_BITS", "float_plane_difference",
           "mask_difference"]

UNNAMED_BITS = "(unnamed bits)"
"""Pseudo plane: bits that belong to no named mask plane."""


@dataclass
class FloatPlaneDifference:
    """How two float planes differ.

    Attributes
    ----------
    n_pixels : `int`
    n_differing : `int`
        Pixels whose values differ (NaN equals NaN).
    n_nonfinite : `int`
        Differing pixels where either value is NaN or infinite.
    n_outside : `int`
        Differing pixels beyond the plane's tolerance (non-finite ones included).
    metrics : `dict` [`str`, `float`]
        ``max_abs``, ``rms_abs`` (over all pixels, agreeing ones as 0),
        ``max_rel`` and, when noise was given, ``max_sigma``: over differing
        pixels with finite values (and, for ``max_sigma``, a usable noise).
    details : `dict`
        ``where`` (box of the differing pixels), ``max_abs_at`` and
        ``max_sigma_at`` (parent ``[x, y]``), ``n_without_noise``.
    """

    n_pixels: int
    n_differing: int = 0
    n_nonfinite: int = 0
    n_outside: int = 0
    metrics: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)

    @property
    def frac_outside(self):
        """Fraction of the pixels beyond tolerance."""
        return self.n_outside / self.n_pixels if self.n_pixels else 0.0

    def flat_metrics(self, prefix):
        """The metrics under ``prefix.`` (e.g. ``image.max_abs``), counts included."""
        frac_differing = self.n_differing / self.n_pixels if self.n_pixels else 0.0
        counts = {"n_differing": self.n_differing, "frac_differing": frac_differing,
                  "n_nonfinite": self.n_nonfinite, "n_outside": self.n_outside,
                  "frac_outside": self.frac_outside}
        return {f"{prefix}.{name}": value for name, value in {**counts, **self.metrics}.items()}


def float_plane_difference(plane_a, plane_b, xy0, *, variances=None, max_sigma=None, max_rel=None):
    """Compare two float planes pixel by pixel.

    Parameters
    ----------
    plane_a, plane_b : `numpy.ndarray`
        2-D arrays of one shape.
    xy0 : `tuple` [`int`, `int`]
        Parent coordinates of pixel ``[0, 0]``.
    variances : `tuple` [`numpy.ndarray`, `numpy.ndarray`], optional
        Variance planes giving each pixel's noise, for ``max_sigma``.
    max_sigma : `float`, optional
        A finite difference beyond this many sigma (or with no usable noise)
        is outside tolerance; requires ``variances``.
    max_rel : `float`, optional
        A finite difference beyond this relative difference is outside tolerance.

    Returns
    -------
    difference : `FloatPlaneDifference`
    """
    result = FloatPlaneDifference(n_pixels=int(plane_a.size))
    metrics = {"max_abs": 0.0, "rms_abs": 0.0, "max_rel": 0.0}
    if variances is not None:
        metrics["max_sigma"] = 0.0
    result.metrics = metrics
    indices = differing_indices(plane_a, plane_b)
    if not indices.size:
        return result
    rows, columns = np.unravel_index(indices, plane_a.shape)
    values_a = plane_a.ravel()[indices].astype(np.float64)
    values_b = plane_b.ravel()[indices].astype(np.float64)
    finite = np.isfinite(values_a) & np.isfinite(values_b)
    difference = (values_a - values_b)[finite]
    result.n_differing = int(indices.size)
    result.n_nonfinite = int(indices.size - difference.size)
    result.details["where"] = box_of(rows, columns, xy0)
    outside = np.zeros(difference.size, bool)
    if difference.size:
        absolute = np.abs(difference)
        relative = relative_difference(difference, values_a[finite], values_b[finite])
        at_max = int(np.argmax(absolute))
        metrics.update(max_abs=float(absolute[at_max]),
                       rms_abs=float(np.sqrt(np.dot(difference, difference) / result.n_pixels)),
                       max_rel=float(relative.max()))
        result.details["max_abs_at"] = _parent_xy(rows, columns, finite, at_max, xy0)
        if max_rel is not None:
            outside |= relative > max_rel
    if variances is not None and difference.size:
        sigma = in_noise_units(difference, *(v.ravel()[indices][finite] for v in variances))
        with_noise = np.isfinite(sigma)
        result.details["n_without_noise"] = int(np.count_nonzero(~with_noise))
        if with_noise.any():
            at_max = int(np.nanargmax(sigma))
            metrics["max_sigma"] = float(sigma[at_max])
            result.details["max_sigma_at"] = _parent_xy(rows, columns, finite, at_max, xy0)
        if max_sigma is not None:
            outside |= ~with_noise | (sigma > max_sigma)
    result.n_outside = result.n_nonfinite + int(np.count_nonzero(outside))
    return result


def _parent_xy(rows, columns, finite, position, xy0):
    """Parent ``[x, y]`` of the ``position``-th finite differing pixel."""
    index = np.flatnonzero(finite)[position]
    return [int(columns[index]) + int(xy0[0]), int(rows[index]) + int(xy0[1])]


@dataclass
class MaskDifference:
    """How two masks differ, plane by plane (planes matched by name).

    Attributes
    ----------
    per_plane : `dict` [`str`, `dict`]
        Plane name -> ``{"n_differing", "where"}`` for every plane both masks
        define, plus `UNNAMED_BITS` when bits outside any plane differ.
    n_differing : `int`
        Pixels where any of those differ.
    only_in_a, only_in_b : `dict` [`str`, `int`]
        Planes defined on one side only -> pixels where they are set.
    moved_planes : `dict` [`str`, `list`]
        Planes both define on different bits -> ``[bit_a, bit_b]``.
    """

    per_plane: dict
    n_differing: int
    only_in_a: dict
    only_in_b: dict
    moved_planes: dict

    @property
    def definitions_differ(self):
        """True when the two plane tables are not the same."""
        return bool(self.only_in_a or self.only_in_b or self.moved_planes)


def mask_difference(mask_a, mask_b, xy0):
    """Compare two `diffim.mask.Mask`\\ s of one shape, plane by plane.

    Returns
    -------
    difference : `MaskDifference`
    """
    bits_a, bits_b = mask_a.planes.as_dict(), mask_b.planes.as_dict()
    common = [name for name in bits_a if name in bits_b]
    moved = {name: [bits_a[name], bits_b[name]] for name in common if bits_a[name] != bits_b[name]}
    flat_a, flat_b = mask_a.array.ravel(), mask_b.array.ravel()
    # With one bit layout only pixels of unequal values can differ; with two,
    # any pixel with a bit set on either side might.
    candidates = (flat_a != flat_b) if not moved else ((flat_a | flat_b) != 0)
    indices = np.flatnonzero(candidates)
    values_a, values_b = flat_a[indices], flat_b[indices]
    unnamed_a = values_a & ~np.uint32(mask_a.planes.bitmask(list(bits_a)))
    unnamed_b = values_b & ~np.uint32(mask_b.planes.bitmask(list(bits_b)))
    plane_differs = {name: ((values_a >> np.uint32(bits_a[name])) & 1)
                     != ((values_b >> np.uint32(bits_b[name])) & 1) for name in common}
    if np.any(unnamed_a != unnamed_b):
        plane_differs[UNNAMED_BITS] = unnamed_a != unnamed_b
    rows, columns = np.unravel_index(indices, mask_a.array.shape)
    per_plane = {name: {"n_differing": int(np.count_nonzero(differs)),
                        "where": box_of(rows[differs], columns[differs], xy0)}
                 for name, differs in plane_differs.items()}
    any_differs = np.zeros(indices.size, bool)
    for differs in plane_differs.values():
        any_differs |= differs
    return MaskDifference(
        per_plane=per_plane, n_differing=int(np.count_nonzero(any_differs)),
        only_in_a={name: mask_a.count(name) for name in bits_a if name not in bits_b},
        only_in_b={name: mask_b.count(name) for name in bits_b if name not in bits_a},
        moved_planes=moved)

