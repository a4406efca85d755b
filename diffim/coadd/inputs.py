"""Coadd inputs: each calexp checked, calibrated, weighted and outlined on the sky.

`describe_input` turns one calexp into a `CoaddInput` (the scale to the
coadd zero point, the weight, the PSF FWHM and the sky polygon) or raises a
`CoaddInputError` naming what it lacks; `MakeCoaddTask.prepare_inputs`
selects among them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from astropy.wcs import WCS

from ..exposure import Exposure
from ..io.wcs_cards import CardWcs
from ..mask import MASK_DTYPE
from ..sky.refcat import sky_polygon
from .errors import CoaddInputError

__all__ = ["CoaddInput", "describe_input", "exposure_polygon", "input_label"]


@dataclass
class CoaddInput:
    """One calexp as the coadd sees it.

    Attributes
    ----------
    index : `int`
        Position in the list given to `MakeCoaddTask.run`.
    exposure : `diffim.exposure.Exposure`
    scale : `float`
        Factor to the coadd zero point.
    weight : `float`
        ``1 / (median variance * scale**2)`` over its usable pixels.
    psf_fwhm : `float`
        PSF FWHM at its centre, arcsec.
    polygon : `lsst.sphgeom.ConvexPolygon`
        Its outline on the sky.
    """

    index: int
    exposure: Exposure
    scale: float
    weight: float
    psf_fwhm: float
    polygon: object

    @property
    def label(self):
        """How messages name the input."""
        return input_label(self.index, self.exposure)


def input_label(index, exposure):
    """An input's list index, with its visit and detector when its metadata has them."""
    ids = [f"{key}={exposure.metadata[key]}" for key in ("visit", "detector")
           if key in exposure.metadata]
    return f"calexp {index}" + (f" ({', '.join(ids)})" if ids else "")


def _pixel_scale_arcsec(wcs, x, y):
    """Local pixel scale (arcsec, square root of the pixel's sky area) at ``(x, y)``."""
    ra, dec = wcs.pixel_to_world_values(np.array([x, x + 0.5, x - 0.5, x, x]),
                                        np.array([y, y, y, y + 0.5, y - 0.5]))
    cos_dec = math.cos(math.radians(dec[0]))
    d_ra = (np.array([ra[1] - ra[2], ra[3] - ra[4]]) + 180.0) % 360.0 - 180.0
    jacobian = np.array([d_ra * cos_dec, [dec[1] - dec[2], dec[3] - dec[4]]]) * 3600.0
    return math.sqrt(abs(np.linalg.det(jacobian)))


def exposure_polygon(exposure):
    """The sky polygon through the outer pixel corners of an exposure."""
    box = exposure.bbox
    x = np.array([box.x0, box.x_end, box.x_end, box.x0], dtype=float) - 0.5
    y = np.array([box.y0, box.y0, box.y_end, box.y_end], dtype=float) - 0.5
    return sky_polygon(*exposure.wcs.pixel_to_world_values(x, y))


def describe_input(index, calexp, config):
    """A `CoaddInput` for one calexp, or a one-line error naming what it lacks.

    Parameters
    ----------
    index : `int`
        Position of the calexp in the task's input list.
    calexp : `diffim.exposure.Exposure`
    config : `diffim.coadd.MakeCoaddConfig`
        Gives ``coaddZeroPoint`` and ``badMaskPlanes``.

    Returns
    -------
    item : `CoaddInput`

    Raises
    ------
    CoaddInputError
        The calexp lacks a PSF, WCS or PhotoCalib, its WCS is neither an
        astropy WCS nor the cards of one (`diffim.io.wcs_cards.CardWcs`, a
        plain image's), or it has no usable pixel.
    """
    label = input_label(index, calexp)
    missing = [name for name, value in (("PSF", calexp.psf), ("WCS", calexp.wcs),
                                        ("PhotoCalib", calexp.photo_calib))
               if value is None]
    if missing:
        raise CoaddInputError(f"{label} has no {' and no '.join(missing)}: a coadd input "
                              "needs a PSF, a WCS and a PhotoCalib")
    if not isinstance(calexp.wcs, (WCS, CardWcs)):
        raise CoaddInputError(f"{label}: WCS must be an astropy WCS or a CardWcs, "
                              f"not {type(calexp.wcs).__name__}")
    scale = 10.0 ** ((config.coaddZeroPoint - calexp.photo_calib.zero_point) / 2.5)
    bad_bits = MASK_DTYPE(calexp.mask.bitmask(
        [name for name in config.badMaskPlanes if name in calexp.mask.planes]))
    good = (((calexp.mask.array & bad_bits) == 0) & np.isfinite(calexp.image)
            & np.isfinite(calexp.variance) & (calexp.variance > 0.0))
    if not good.any():
        raise CoaddInputError(f"{label} has no usable pixel (all masked by "
                              f"{list(config.badMaskPlanes)}, or variance <= 0)")
    weight = 1.0 / (float(np.median(calexp.variance[good])) * scale ** 2)
    x, y = calexp.bbox.center
    psf_fwhm = calexp.psf.computeFwhm(x, y) * _pixel_scale_arcsec(calexp.wcs, x, y)
    return CoaddInput(index, calexp, scale, weight, float(psf_fwhm), exposure_polygon(calexp))
