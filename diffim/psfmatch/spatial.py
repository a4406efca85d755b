"""2-D spatial functions: Chebyshev (first kind) or plain polynomials over a box.

Terms follow afw's ``Chebyshev1Function2`` / ``PolynomialFunction2`` order:
by total degree, then by power of y: ``1, x, y, x^2, xy, y^2, ...``.
Coordinates are parent pixel positions mapped linearly so the domain box
spans ``[-1, 1]`` in each axis.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..geom import Box
from .errors import PsfMatchConfigError

__all__ = ["SpatialFunction"]


@dataclass(frozen=True)
class SpatialFunction:
    """The term basis of a 2-D spatial model.

    Parameters
    ----------
    model_type : `str`
        ``"chebyshev1"`` or ``"polynomial"`` (the stack's ``spatialModelType``).
    order : `int`
        Highest total degree.
    domain : `Box`
        Box mapped onto ``[-1, 1]^2``; a one-pixel side maps to 0.
    """

    model_type: str
    order: int
    domain: Box

    def __post_init__(self):
        if self.model_type not in ("chebyshev1", "polynomial"):
            raise PsfMatchConfigError(
                f"spatialModelType must be 'chebyshev1' or 'polynomial', got {self.model_type!r}")
        if self.order < 0:
            raise PsfMatchConfigError(f"spatial order must be >= 0, got {self.order}")

    @property
    def n_terms(self):
        """``(order + 1) (order + 2) / 2``."""
        return (self.order + 1) * (self.order + 2) // 2

    @property
    def powers(self):
        """``(n_terms, 2)`` integer (x degree, y degree) of each term."""
        return np.array([(total - y_power, y_power) for total in range(self.order + 1)
                         for y_power in range(total + 1)], dtype=np.intp)

    @property
    def scaling(self):
        """``(x_offset, x_scale, y_offset, y_scale)``: ``x' = (x - x_offset) * x_scale``."""
        x_min, x_max = self.domain.x0, self.domain.x_end - 1
        y_min, y_max = self.domain.y0, self.domain.y_end - 1
        x_scale = 2.0 / (x_max - x_min) if x_max > x_min else 0.0
        y_scale = 2.0 / (y_max - y_min) if y_max > y_min else 0.0
        return 0.5 * (x_min + x_max), x_scale, 0.5 * (y_min + y_max), y_scale

    @property
    def is_chebyshev(self):
        return self.model_type == "chebyshev1"

    def one_dimensional(self, t):
        """``(order + 1, n)`` values of the 1-D functions at scaled coordinates ``t``."""
        t = np.atleast_1d(np.asarray(t, dtype=float))
        values = np.empty((self.order + 1, t.size))
        values[0] = 1.0
        if self.order >= 1:
            values[1] = t
        for k in range(2, self.order + 1):
            values[k] = (2.0 * t * values[k - 1] - values[k - 2] if self.is_chebyshev
                         else t * values[k - 1])
        return values

    def terms(self, x, y):
        """``(n, n_terms)`` values of every term at parent positions ``(x, y)``."""
        x_offset, x_scale, y_offset, y_scale = self.scaling
        x_values = self.one_dimensional((np.ravel(x) - x_offset) * x_scale)
        y_values = self.one_dimensional((np.ravel(y) - y_offset) * y_scale)
        powers = self.powers
        return (x_values[powers[:, 0]] * y_values[powers[:, 1]]).T

    def evaluate(self, coefficients, x, y):
        """``sum_s coefficients[..., s] * term_s(x, y)`` for each position: shape ``(..., n)``."""
        return np.asarray(coefficients) @ self.terms(x, y).T
