"""Pixel-wise difference of two masks, plane by plane, planes matched by name.

When both masks use one bit layout (the usual case) a plane differs where
the XOR of the two arrays has its bit; when a plane sits on another bit in
``b``, ``b`` is first translated into ``a``'s layout, so the comparison is
always of meanings, not of raw bits. Bits of no named plane are compared as
one pseudo plane, `UNNAMED_BITS`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from diffim.mask import MASK_DTYPE, bit_moves, move_bits

from .blocks import Extent, row_blocks

__all__ = ["MaskDifference", "UNNAMED_BITS", "mask_difference"]

UNNAMED_BITS = "(unnamed bits)"
"""Pseudo plane: bits that belong to no named mask plane."""


@dataclass
class MaskDifference:
    """How two masks differ, plane by plane.

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
    """Compare two `diffim.mask.Mask` objects of one shape, plane by plane.

    Parameters
    ----------
    mask_a, mask_b : `diffim.mask.Mask`
    xy0 : `tuple` [`int`, `int`]
        Parent coordinates of pixel ``[0, 0]``.

    Returns
    -------
    difference : `MaskDifference`
    """
    bits_a, bits_b = mask_a.planes.as_dict(), mask_b.planes.as_dict()
    common = [name for name in bits_a if name in bits_b]
    moved = {name: [bits_a[name], bits_b[name]] for name in common if bits_a[name] != bits_b[name]}
    to_a = bit_moves((bits_b[name], bits_a[name]) for name in common)
    common_bits = MASK_DTYPE(mask_a.planes.bitmask(common))
    unnamed_a = ~MASK_DTYPE(mask_a.planes.bitmask(list(bits_a)))
    unnamed_b = ~MASK_DTYPE(mask_b.planes.bitmask(list(bits_b)))
    counts = dict.fromkeys([*common, UNNAMED_BITS], 0)
    extents = {name: Extent() for name in counts}
    n_differing = 0
    for start, rows in row_blocks(mask_a.array.shape[0]):
        block_a, block_b = mask_a.array[rows], mask_b.array[rows]
        # Equal raw bits mean equal planes only when the layouts agree.
        if not moved and np.array_equal(block_a, block_b):
            continue
        b_as_a = move_bits(block_b, to_a) if moved else block_b
        changed_bits = (block_a ^ b_as_a) & common_bits
        unnamed_differs = (block_a & unnamed_a) != (block_b & unnamed_b)
        n_differing += int(np.count_nonzero((changed_bits != 0) | unnamed_differs))
        any_changed = int(np.bitwise_or.reduce(changed_bits, axis=None))
        for name in common:
            bit = MASK_DTYPE(1 << bits_a[name])
            if any_changed & int(bit):
                plane_differs = (changed_bits & bit) != 0
                counts[name] += int(np.count_nonzero(plane_differs))
                extents[name].update(plane_differs, start)
        counts[UNNAMED_BITS] += int(np.count_nonzero(unnamed_differs))
        extents[UNNAMED_BITS].update(unnamed_differs, start)
    if not counts[UNNAMED_BITS]:
        del counts[UNNAMED_BITS]
    per_plane = {name: {"n_differing": count, "where": extents[name].parent_box(xy0)}
                 for name, count in counts.items()}
    return MaskDifference(
        per_plane=per_plane, n_differing=n_differing,
        only_in_a={name: mask_a.count(name) for name in bits_a if name not in bits_b},
        only_in_b={name: mask_b.count(name) for name in bits_b if name not in bits_a},
        moved_planes=moved)

