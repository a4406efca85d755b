"""Integer pixel boxes in the parent (detector or patch) frame.

Pixel ``(x, y)`` is the pixel whose centre is at ``(x, y)``: a box starting at
``x0`` covers pixel centres ``x0, x0 + 1, ..., x0 + width - 1``, like afw's
``Box2I`` in PARENT coordinates. Arrays are indexed ``[y, x]``.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import GeometryError

__all__ = ["Box"]


@dataclass(frozen=True)
class Box:
    """An integer pixel box with an origin, in parent coordinates.

    Parameters
    ----------
    x0, y0 : `int`
        Parent coordinates of the first column and row.
    width, height : `int`
        Number of columns and rows (>= 0).
    """

    x0: int
    y0: int
    width: int
    height: int

    def __post_init__(self):
        for name in ("x0", "y0", "width", "height"):
            value = getattr(self, name)
            if int(value) != value:
                raise GeometryError(f"Box.{name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.width < 0 or self.height < 0:
            raise GeometryError(f"Box size must be >= 0, got {self.width} x {self.height}")

    @classmethod
    def from_shape(cls, shape, xy0=(0, 0)):
        """Box of an array of ``shape`` (rows, columns) starting at ``xy0``."""
        height, width = shape
        return cls(xy0[0], xy0[1], width, height)

    @classmethod
    def from_corners(cls, x_min, y_min, x_max, y_max):
        """Box covering the inclusive pixel range ``[x_min, x_max] x [y_min, y_max]``."""
        return cls(x_min, y_min, max(x_max - x_min + 1, 0), max(y_max - y_min + 1, 0))

    @property
    def x_end(self):
        """One past the last column."""
        return self.x0 + self.width

    @property
    def y_end(self):
        """One past the last row."""
        return self.y0 + self.height

    @property
    def shape(self):
        """Array shape ``(height, width)``."""
        return (self.height, self.width)

    @property
    def xy0(self):
        """Origin ``(x0, y0)``."""
        return (self.x0, self.y0)

    @property
    def center(self):
        """Centre of the box in parent pixel coordinates, as floats."""
        return (self.x0 + (self.width - 1) / 2.0, self.y0 + (self.height - 1) / 2.0)

    @property
    def area(self):
        """Number of pixels."""
        return self.width * self.height

    def is_empty(self):
        """True when the box holds no pixel."""
        return self.width == 0 or self.height == 0

    def contains(self, other):
        """True when ``other`` (a `Box`) lies entirely inside this box."""
        return (other.x0 >= self.x0 and other.y0 >= self.y0
                and other.x_end <= self.x_end and other.y_end <= self.y_end)

    def contains_point(self, x, y):
        """True when the pixel nearest to ``(x, y)`` is inside the box."""
        ix, iy = round(x), round(y)
        return self.x0 <= ix < self.x_end and self.y0 <= iy < self.y_end

    def intersection(self, other):
        """The overlap of two boxes (possibly empty, then at this box's origin)."""
        x0, y0 = max(self.x0, other.x0), max(self.y0, other.y0)
        x1, y1 = min(self.x_end, other.x_end), min(self.y_end, other.y_end)
        if x1 <= x0 or y1 <= y0:
            return Box(self.x0, self.y0, 0, 0)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def union(self, other):
        """The smallest box containing both boxes."""
        x0, y0 = min(self.x0, other.x0), min(self.y0, other.y0)
        x1, y1 = max(self.x_end, other.x_end), max(self.y_end, other.y_end)
        return Box(x0, y0, x1 - x0, y1 - y0)

    def grown(self, border):
        """The box grown by ``border`` pixels on every side (shrunk if negative)."""
        width, height = self.width + 2 * border, self.height + 2 * border
        if width < 0 or height < 0:
            raise GeometryError(f"cannot shrink {self} by {-border} pixels")
        return Box(self.x0 - border, self.y0 - border, width, height)

    def shifted(self, dx, dy):
        """The box moved by an integer offset."""
        return Box(self.x0 + dx, self.y0 + dy, self.width, self.height)

    def slices_in(self, parent):
        """Array slices ``(rows, columns)`` selecting this box within ``parent``.

        Raises
        ------
        GeometryError
            If this box does not lie inside ``parent``.
        """
        if not parent.contains(self):
            raise GeometryError(f"{self} is not contained in {parent}")
        return (slice(self.y0 - parent.y0, self.y_end - parent.y0),
                slice(self.x0 - parent.x0, self.x_end - parent.x0))

    def __str__(self):
        return f"Box(x0={self.x0}, y0={self.y0}, {self.width}x{self.height})"
