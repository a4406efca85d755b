"""A spatially varying analytic PSF: each parameter a 2-D polynomial over the detector."""
from __future__ import annotations

import numpy as np
from numpy.polynomial import polynomial

from ..errors import PsfError
from ..geom import Box
from .analytic import AnalyticPsf
from .base import Psf, check_position

__all__ = ["VaryingPsf"]

_SIZE_GRID = 17
"""Points per axis where the stamp size (and validity) is checked at construction."""
_KEPT_IMAGES = 1024
"""Images a `VaryingPsf` keeps, by kind and position (all dropped when full)."""


class VaryingPsf(Psf):
    """An analytic PSF whose parameters are polynomials of the detector position.

    Parameters
    ----------
    model : `type`
        An `AnalyticPsf` subclass: `GaussianPsf`, `DoubleGaussianPsf` or
        `MoffatPsf`.
    fields : `dict` [`str`, array-like]
        Constructor parameter name -> 2-D coefficient array ``c``. The value
        at parent ``(x, y)`` is ``sum_ij c[i][j] u^i v^j`` (a power series,
        as `numpy.polynomial.polynomial.polyval2d`), with
        ``u = (x - x_centre) / x_half`` and ``v = (y - y_centre) / y_half``
        running over [-1, 1] between the first and last pixel centres of
        ``bbox``. ``[[c]]`` is a constant. Parameters left out take the
        model's default; ``size`` is not a field.
    bbox : `diffim.geom.Box`
        The region the normalisation refers to (usually the detector).
    size : `int`, optional
        Stamp side for the whole field. Default: the largest default size of
        the model over a 17 x 17 grid spanning ``bbox``.

    Notes
    -----
    `at` returns the constant analytic PSF at a position; every ``compute*``
    method delegates to it, so an image drawn with this PSF has exactly the
    PSF it reports.

    Raises
    ------
    PsfError
        If ``model`` is not an analytic PSF class, a field is unknown,
        missing, not a finite 2-D array, or gives invalid parameters on the
        sample grid.
    """

    def __init__(self, model, fields, bbox, size=None):
        if not (isinstance(model, type) and issubclass(model, AnalyticPsf)
                and model is not AnalyticPsf):
            raise PsfError(f"VaryingPsf model must be an analytic PSF class, got {model!r}")
        if not isinstance(bbox, Box) or bbox.is_empty():
            raise PsfError(f"VaryingPsf bbox must be a non-empty Box, got {bbox!r}")
        self.model = model
        self.bbox = bbox
        self.fields = {}
        for name, coefficients in dict(fields).items():
            if name not in model.parameter_names:
                raise PsfError(f"{model.__name__} has no parameter {name!r}; "
                               f"fields may set {', '.join(model.parameter_names)}")
            self.fields[name] = self._check_coefficients(name, coefficients)
        missing = [name for name in model.required_parameters if name not in self.fields]
        if missing:
            raise PsfError(f"VaryingPsf of {model.__name__} lacks fields {', '.join(missing)}")
        # The grid's parameters in one polynomial evaluation per field (the same
        # numbers as point by point: 4 times faster at each read of a calexp).
        grid_x, grid_y = (axis.ravel() for axis in np.meshgrid(
            np.linspace(bbox.x0, bbox.x_end - 1, _SIZE_GRID),
            np.linspace(bbox.y0, bbox.y_end - 1, _SIZE_GRID)))
        u, v = self.normalised_position(grid_x, grid_y)
        grid = {name: polynomial.polyval2d(u, v, coefficients)
                for name, coefficients in self.fields.items()}
        sizes = [self._model(x, y, {name: float(values[k]) for name, values in grid.items()},
                             None).size
                 for k, (x, y) in enumerate(zip(grid_x.tolist(), grid_y.tolist()))]
        self.size = max(sizes) if size is None else size
        # Checks a caller's size with the model's own rules.
        self._make(*bbox.center, self.size)

    @staticmethod
    def _check_coefficients(name, coefficients):
        try:
            array = np.array(coefficients, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise PsfError(f"VaryingPsf field {name!r} must be a numeric 2-D array") from exc
        if array.ndim != 2 or array.size == 0:
            raise PsfError(f"VaryingPsf field {name!r} must be a non-empty 2-D coefficient "
                           f"array, got shape {array.shape}")
        if not np.all(np.isfinite(array)):
            raise PsfError(f"VaryingPsf field {name!r} has non-finite coefficients")
        array.flags.writeable = False
        return array

    def normalised_position(self, x, y):
        """``(u, v)`` in [-1, 1] over ``bbox`` for parent ``(x, y)``."""
        x_centre, y_centre = self.bbox.center
        x_half = max((self.bbox.width - 1) / 2.0, 0.5)
        y_half = max((self.bbox.height - 1) / 2.0, 0.5)
        return (x - x_centre) / x_half, (y - y_centre) / y_half

    def parameters_at(self, x, y):
        """The model's constructor parameters (without ``size``) at parent ``(x, y)``."""
        x, y = check_position(x, y)
        u, v = self.normalised_position(x, y)
        return {name: float(polynomial.polyval2d(u, v, coefficients))
                for name, coefficients in self.fields.items()}

    def _make(self, x, y, size):
        return self._model(x, y, self.parameters_at(x, y), size)

    def _model(self, x, y, parameters, size):
        try:
            return self.model(**parameters, size=size)
        except PsfError as exc:
            raise PsfError(f"VaryingPsf of {self.model.__name__} is invalid at "
                           f"({x:g}, {y:g}): {exc}") from exc

    def at(self, x, y):
        """The constant analytic PSF at parent ``(x, y)``, with this PSF's ``size``."""
        return self._make(x, y, self.size)

    def computeKernelImage(self, x, y):
        x, y = check_position(x, y)
        return self._kept(("kernel", x, y), lambda: self.at(x, y).computeKernelImage(x, y)).copy()

    def computeImage(self, x, y):
        x, y = check_position(x, y)
        image, box = self._kept(("image", x, y), lambda: self.at(x, y).computeImage(x, y))
        return image.copy(), box

    def _kept(self, key, render):
        """``render()``, kept under ``key``: a campaign renders one calexp's PSF at the same
        grid nodes and sources in every scenario (2-3 % of the default campaign's samples)."""
        kept = self.__dict__.setdefault("_images", {})
        found = kept.get(key)
        if found is None:
            found = render()
            if len(kept) >= _KEPT_IMAGES:
                kept.clear()
            kept[key] = found
        return found

    def __getstate__(self):
        # The kept images are not part of the PSF: pickles (a template's key) and copies
        # are the same with or without them.
        return {name: value for name, value in self.__dict__.items() if name != "_images"}

    def computeShape(self, x, y):
        return self.at(x, y).computeShape(x, y)

    def computeFwhm(self, x, y):
        return self.at(x, y).computeFwhm(x, y)

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return (self.model is other.model and self.bbox == other.bbox
                and self.size == other.size and self.fields.keys() == other.fields.keys()
                and all(np.array_equal(self.fields[name], other.fields[name])
                        for name in self.fields))

    def __repr__(self):
        fields = ", ".join(f"{name!r}: {value.tolist()}" for name, value in self.fields.items())
        return (f"VaryingPsf({self.model.__name__}, {{{fields}}}, {self.bbox}, "
                f"size={self.size})")
