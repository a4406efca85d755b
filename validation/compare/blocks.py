"""Walking two planes in blocks of rows, and what the walk accumulates.

Whole 4k x 4k planes are compared a block of rows at a time: a block without
a difference costs one comparison, and the temporaries of the others stay a
few MB even when every pixel differs.
"""
from __future__ import annotations

import numpy as np

__all__ = ["BLOCK_ROWS", "Extent", "Peak", "row_blocks"]

BLOCK_ROWS = 256


def row_blocks(n_rows):
    """Slices of at most `BLOCK_ROWS` rows covering ``range(n_rows)``, with their first row."""
    for start in range(0, n_rows, BLOCK_ROWS):
        yield start, slice(start, start + BLOCK_ROWS)


class Extent:
    """The box holding every pixel flagged so far, over row blocks."""

    def __init__(self):
        self._rows, self._columns = [], []

    def update(self, flagged, first_row):
        """Add the True pixels of boolean block ``flagged`` (rows from ``first_row`` on)."""
        rows = np.flatnonzero(flagged.any(axis=1))
        if rows.size:
            self._rows += [first_row + int(rows[0]), first_row + int(rows[-1])]
            columns = np.flatnonzero(flagged.any(axis=0))
            self._columns += [int(columns[0]), int(columns[-1])]

    def parent_box(self, xy0):
        """``{"x0", "y0", "width", "height"}`` in the parent frame, or `None` if nothing was flagged."""
        if not self._rows:
            return None
        x_min, y_min = min(self._columns), min(self._rows)
        return {"x0": x_min + int(xy0[0]), "y0": y_min + int(xy0[1]),
                "width": max(self._columns) - x_min + 1, "height": max(self._rows) - y_min + 1}


class Peak:
    """The largest value seen so far over row blocks, and where it is."""

    def __init__(self):
        self.value, self.row, self.column = 0.0, None, None

    def update(self, values, first_row):
        """Consider block ``values`` (rows from ``first_row`` on); zeros never make a peak."""
        row, column = np.unravel_index(int(np.argmax(values)), values.shape)
        if values[row, column] > self.value:
            self.value = float(values[row, column])
            self.row, self.column = first_row + int(row), int(column)

    def parent_xy(self, xy0):
        """Parent ``[x, y]`` of the peak, or `None` if there is none."""
        if self.row is None:
            return None
        return [self.column + int(xy0[0]), self.row + int(xy0[1])]
