"""The exposure data model: image, mask, variance, and what describes them.

An `Exposure` plays the part of afw's ``ExposureF``: float32 ``image`` and
``variance`` planes, a `Mask` with named planes, an integer origin so that
sub-images and patches keep their place in the parent frame, a PSF, an astropy
WCS (mapping PARENT pixel coordinates to the sky), a photometric calibration,
visit information, and free metadata.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np

from .errors import GeometryError
from .geom import Box
from .mask import Mask

__all__ = ["Exposure", "PhotoCalib", "VisitInfo"]

IMAGE_DTYPE = np.float32

# AB magnitude of 1 nJy.
_AB_NJY_ZERO_POINT = 31.4


@dataclass(frozen=True)
class PhotoCalib:
    """Photometric calibration: instrumental counts to physical flux.

    Parameters
    ----------
    zero_point : `float`
        AB magnitude of a source giving one count (in the exposure's units) in
        total: ``mag = zero_point - 2.5 log10(instFlux)``.
    zero_point_err : `float`
        Uncertainty of ``zero_point`` in magnitudes.
    """

    zero_point: float
    zero_point_err: float = 0.0

    def instflux_to_magnitude(self, instflux):
        """AB magnitude of an instrumental flux (array or scalar)."""
        return self.zero_point - 2.5 * np.log10(instflux)

    def instflux_to_nanojansky(self, instflux):
        """Flux in nJy of an instrumental flux (array or scalar)."""
        return np.asarray(instflux) * 10.0 ** ((_AB_NJY_ZERO_POINT - self.zero_point) / 2.5)

    def magnitude_to_instflux(self, magnitude):
        """Instrumental flux of an AB magnitude (array or scalar)."""
        return 10.0 ** ((self.zero_point - np.asarray(magnitude)) / 2.5)


@dataclass(frozen=True)
class VisitInfo:
    """What is known about the observation.

    Parameters
    ----------
    exposure_time : `float`
        Exposure time in seconds.
    mjd : `float`
        Modified Julian date of the middle of the exposure (TAI).
    band : `str`
        Abstract filter name, e.g. ``"r"``.
    physical_filter : `str`
        Instrument filter name, e.g. ``"r_sim"``.
    airmass : `float` or `None`
        Airmass at the middle of the exposure, when known.
    """

    exposure_time: float = math.nan
    mjd: float = math.nan
    band: str = ""
    physical_filter: str = ""
    airmass: float | None = None

    def __eq__(self, other):
        # NaN means "unknown" here, and two unknowns are the same visit info.
        if not isinstance(other, VisitInfo):
            return NotImplemented
        return all(_same(getattr(self, f), getattr(other, f)) for f in self.__dataclass_fields__)


def _same(a, b):
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


class Exposure:
    """An image with its mask, variance, origin, PSF, WCS and calibration.

    Parameters
    ----------
    image : `numpy.ndarray`
        2-D image, stored as float32 (a view is kept when it already is).
    variance : `numpy.ndarray`, optional
        Variance per pixel, same shape; zeros when omitted.
    mask : `Mask` or `numpy.ndarray`, optional
        Mask of the same shape; empty with the default planes when omitted.
    xy0 : `tuple` [`int`, `int`]
        Parent coordinates of pixel ``image[0, 0]``.
    psf : `diffim.psf.Psf`, optional
        PSF model, evaluated in parent coordinates.
    wcs : `astropy.wcs.WCS`, optional
        Maps 0-based PARENT pixel coordinates to the sky.
    photo_calib : `PhotoCalib`, optional
    visit_info : `VisitInfo`, optional
    metadata : `dict`, optional
        Free metadata: JSON-serialisable scalars, lists and dicts.

    Raises
    ------
    GeometryError
        If the planes are not 2-D arrays of one shape.
    """

    def __init__(self, image, variance=None, mask=None, *, xy0=(0, 0), psf=None, wcs=None,
                 photo_calib=None, visit_info=None, metadata=None):
        self.image = _as_plane(image, "image")
        shape = self.image.shape
        self.variance = (np.zeros(shape, IMAGE_DTYPE) if variance is None
                         else _as_plane(variance, "variance"))
        if mask is None:
            mask = Mask.zeros(shape)
        elif not isinstance(mask, Mask):
            mask = Mask(mask)
        self.mask = mask
        for name, plane in (("variance", self.variance), ("mask", self.mask)):
            if plane.shape != shape:
                raise GeometryError(f"{name} shape {plane.shape} differs from image shape {shape}")
        self.bbox = Box.from_shape(shape, xy0)
        self.psf = psf
        self.wcs = wcs
        self.photo_calib = photo_calib
        self.visit_info = visit_info if visit_info is not None else VisitInfo()
        self.metadata = dict(metadata) if metadata else {}

    @property
    def xy0(self):
        """Parent coordinates ``(x0, y0)`` of the first pixel."""
        return self.bbox.xy0

    @property
    def shape(self):
        """Array shape ``(rows, columns)``."""
        return self.image.shape

    def __getitem__(self, bbox):
        """The part of this exposure inside ``bbox`` (parent coordinates).

        The planes are views: writing to the sub-image writes to this one.
        PSF, WCS, calibration and visit info are shared; metadata is copied.
        """
        if not isinstance(bbox, Box):
            raise GeometryError(f"an exposure is indexed by a Box, got {type(bbox).__name__}")
        slices = bbox.slices_in(self.bbox)
        return Exposure(self.image[slices], self.variance[slices], self.mask[slices],
                        xy0=bbox.xy0, psf=self.psf, wcs=self.wcs, photo_calib=self.photo_calib,
                        visit_info=self.visit_info, metadata=self.metadata)

    def copy(self):
        """A deep copy of the planes and metadata (PSF, WCS shared: they are not mutated)."""
        return Exposure(self.image.copy(), self.variance.copy(), self.mask.copy(), xy0=self.xy0,
                        psf=self.psf, wcs=copy.deepcopy(self.wcs), photo_calib=self.photo_calib,
                        visit_info=self.visit_info, metadata=copy.deepcopy(self.metadata))

    def pixel_to_sky(self, x, y):
        """Sky coordinates (ra, dec) in degrees of parent pixel positions."""
        self._require_wcs()
        return self.wcs.pixel_to_world_values(x, y)

    def sky_to_pixel(self, ra, dec):
        """Parent pixel positions (x, y) of sky coordinates in degrees."""
        self._require_wcs()
        return self.wcs.world_to_pixel_values(ra, dec)

    def _require_wcs(self):
        if self.wcs is None:
            raise GeometryError("this exposure has no WCS")

    def __repr__(self):
        return (f"Exposure({self.bbox}, psf={type(self.psf).__name__ if self.psf else None}, "
                f"wcs={'yes' if self.wcs is not None else 'no'})")


def _as_plane(array, name):
    array = np.asarray(array)
    if array.ndim != 2:
        raise GeometryError(f"{name} must be a 2-D array, got shape {array.shape}")
    if array.dtype != IMAGE_DTYPE:
        array = array.astype(IMAGE_DTYPE)
    return array
