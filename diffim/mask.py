"""Integer mask planes with names, like afw's ``Mask``.

Each named plane is one bit of an unsigned 32-bit integer per pixel. Masks made
from one another (sub-images, copies of a plane layout) share a `MaskPlanes`
table, so a plane added at run time on a sub-image is known to its parent.
"""
from __future__ import annotations

import numpy as np

from ._core import _mask
from .errors import MaskPlaneError

__all__ = ["DEFAULT_MASK_PLANES", "MASK_DTYPE", "Mask", "MaskPlanes", "bit_moves", "move_bits",
           "plane_moves"]

MASK_DTYPE = np.uint32

# afw's default planes in afw's order, then the two diffim relies on.
DEFAULT_MASK_PLANES = (
    "BAD", "SAT", "INTRP", "CR", "EDGE", "DETECTED", "DETECTED_NEGATIVE",
    "SUSPECT", "NO_DATA", "FAKE", "HIGH_VARIANCE",
)
_MAX_PLANES = np.iinfo(MASK_DTYPE).bits


class MaskPlanes:
    """A table of mask plane name -> bit number.

    Parameters
    ----------
    planes : `dict` [`str`, `int`], optional
        Initial table; defaults to `DEFAULT_MASK_PLANES` in order.
    """

    def __init__(self, planes=None):
        if planes is None:
            planes = {name: bit for bit, name in enumerate(DEFAULT_MASK_PLANES)}
        self._bits = {}
        for name, bit in planes.items():
            self._check_new(name, int(bit))
            self._bits[name] = int(bit)

    def _check_new(self, name, bit):
        if not name or not isinstance(name, str):
            raise MaskPlaneError(f"mask plane name must be a non-empty string, got {name!r}")
        if not 0 <= bit < _MAX_PLANES:
            raise MaskPlaneError(f"mask plane {name!r}: bit {bit} outside 0..{_MAX_PLANES - 1}")
        if bit in self._bits.values():
            raise MaskPlaneError(f"mask plane {name!r}: bit {bit} is already used")

    def add(self, name):
        """Return the bit of plane ``name``, adding it on the lowest free bit if new.

        Raises
        ------
        MaskPlaneError
            If all 32 bits are taken.
        """
        if name in self._bits:
            return self._bits[name]
        used = set(self._bits.values())
        free = [bit for bit in range(_MAX_PLANES) if bit not in used]
        if not free:
            raise MaskPlaneError(f"cannot add mask plane {name!r}: all {_MAX_PLANES} bits are used")
        self._check_new(name, free[0])
        self._bits[name] = free[0]
        return free[0]

    def bit(self, name):
        """Bit number of an existing plane.

        Raises
        ------
        MaskPlaneError
            If the plane is unknown.
        """
        try:
            return self._bits[name]
        except KeyError:
            raise MaskPlaneError(
                f"unknown mask plane {name!r}; known planes: {', '.join(self._bits)}"
            ) from None

    def bitmask(self, names):
        """Integer with the bits of all ``names`` set (unknown names raise)."""
        if isinstance(names, str):
            names = [names]
        value = 0
        for name in names:
            value |= 1 << self.bit(name)
        return value

    def as_dict(self):
        """A copy of the table, name -> bit, ordered by bit."""
        return dict(sorted(self._bits.items(), key=lambda item: item[1]))

    def copy(self):
        """An independent copy of the table."""
        return MaskPlanes(self._bits)

    def __contains__(self, name):
        return name in self._bits

    def __iter__(self):
        return iter(self.as_dict())

    def __eq__(self, other):
        return isinstance(other, MaskPlanes) and self._bits == other._bits

    def __repr__(self):
        return f"MaskPlanes({self.as_dict()})"


class Mask:
    """A 2-D array of plane bits with a named-plane table.

    Parameters
    ----------
    array : `numpy.ndarray`
        2-D unsigned integer array (converted to `MASK_DTYPE`; a view is kept
        when it already has that type).
    planes : `MaskPlanes`, optional
        Plane table, shared, not copied; a default table when omitted.
    """

    def __init__(self, array, planes=None):
        array = np.asarray(array)
        if array.ndim != 2:
            raise MaskPlaneError(f"mask array must be 2-D, got shape {array.shape}")
        if array.dtype != MASK_DTYPE:
            if array.size and (array.min() < 0 or array.max() > np.iinfo(MASK_DTYPE).max):
                raise MaskPlaneError("mask values do not fit in 32 unsigned bits")
            array = array.astype(MASK_DTYPE)
        self.array = array
        self.planes = planes if planes is not None else MaskPlanes()

    @classmethod
    def zeros(cls, shape, planes=None):
        """An empty mask of ``shape``."""
        return cls(np.zeros(shape, dtype=MASK_DTYPE), planes)

    @property
    def shape(self):
        """Array shape ``(rows, columns)``."""
        return self.array.shape

    def add_plane(self, name):
        """Add (or find) plane ``name`` and return its bit."""
        return self.planes.add(name)

    def bitmask(self, names):
        """Integer with the bits of ``names`` set."""
        return self.planes.bitmask(names)

    def get(self, names):
        """Boolean array: True where any of the planes ``names`` is set."""
        bits = MASK_DTYPE(self.bitmask(names))
        out = np.empty(self.shape, dtype=bool)
        if self.array.ndim == 2 and self.array.size:
            _mask.any_bits(self.array, bits, out.view(np.uint8))
        else:
            np.not_equal(self.array & bits, 0, out=out)
        return out

    def unmasked(self, names):
        """Boolean array: True where none of the planes ``names`` is set; planes the table
        lacks are ignored. `get` inverted in place: one image-sized array, not two."""
        if isinstance(names, str):
            names = [names]
        out = self.get([name for name in names if name in self.planes])
        return np.logical_not(out, out=out)

    def set(self, name, where=None):
        """Set plane ``name`` (added if new) where ``where`` is True (everywhere if None)."""
        value = MASK_DTYPE(1 << self.planes.add(name))
        if where is None:
            self.array |= value
        elif (isinstance(where, np.ndarray) and where.dtype == bool
                and where.shape == self.shape and self.array.size):
            _mask.set_bits(self.array, value, where.view(np.uint8))
        else:
            self.array[where] |= value

    def clear(self, names, where=None):
        """Clear planes ``names`` where ``where`` is True (everywhere if None)."""
        keep = MASK_DTYPE(~self.bitmask(names) & np.iinfo(MASK_DTYPE).max)
        if where is None:
            self.array &= keep
        else:
            self.array[where] &= keep

    def count(self, name):
        """Number of pixels with plane ``name`` set."""
        if self.array.ndim == 2:
            return int(_mask.count_any_bits(self.array, MASK_DTYPE(self.bitmask(name))))
        return int(np.count_nonzero(self.get(name)))

    def copy(self):
        """A deep copy: new array, new plane table."""
        return Mask(self.array.copy(), self.planes.copy())

    def __getitem__(self, slices):
        return Mask(self.array[slices], self.planes)

    def __eq__(self, other):
        return (isinstance(other, Mask) and self.planes == other.planes
                and np.array_equal(self.array, other.array))

    def __repr__(self):
        counts = {name: self.count(name) for name in self.planes}
        set_planes = ", ".join(f"{name}={n}" for name, n in counts.items() if n)
        return f"Mask(shape={self.shape}, set: {set_planes or 'none'})"


def plane_moves(source, target, exclude=()):
    """How bits in plane table ``source`` move onto table ``target`` (planes added there).

    Planes that move by the same number of bits are grouped, so re-encoding
    a mask (`move_bits`) costs one pass per distinct shift, not one per plane.

    Parameters
    ----------
    source, target : `MaskPlanes`
        ``source``'s planes are added to ``target`` in bit order, as needed.
    exclude : iterable of `str`, optional
        Planes left out (neither moved nor added).

    Returns
    -------
    moves : `list` [`tuple` [`int`, `numpy.uint32`]]
        ``(shift, bits)``: the source's ``bits`` land ``shift`` bits higher
        (lower when negative).
    """
    return bit_moves((bit, target.add(name)) for name, bit in source.as_dict().items()
                     if name not in exclude)


def bit_moves(pairs):
    """``(shift, bits)`` moves (as `plane_moves`) taking each bit ``old`` of ``pairs`` to ``new``.

    Parameters
    ----------
    pairs : iterable of `tuple` [`int`, `int`]
        ``(old, new)`` bit numbers; bits moving by the same shift are grouped.

    Returns
    -------
    moves : `list` [`tuple` [`int`, `numpy.uint32`]]
    """
    shifts = {}
    for old, new in pairs:
        shifts[new - old] = shifts.get(new - old, 0) | (1 << old)
    return [(shift, MASK_DTYPE(bits)) for shift, bits in shifts.items()]


def move_bits(array, moves):
    """A new mask array: ``array``'s bits moved by ``moves`` (`plane_moves`, `bit_moves`),
    others cleared."""
    moved = np.zeros(array.shape, MASK_DTYPE)
    for shift, bits in moves:
        moved |= (array & bits) << shift if shift >= 0 else (array & bits) >> -shift
    return moved
