"""TAN (optionally TAN-SIP) WCSs for simulated pointings.

All WCSs here map 0-based PARENT pixel coordinates to the sky, as
`diffim.exposure.Exposure` expects: FITS ``CRPIX`` is the 0-based reference
pixel plus one.
"""
from __future__ import annotations

import numpy as np
from astropy.wcs import Sip

from ..sky.wcs import rotation_matrix
from ..sky.wcs import tan_wcs as pointing_wcs

__all__ = ["pointing_wcs", "offset_wcs", "local_jacobian"]


def offset_wcs(wcs, offset=(0.0, 0.0), rotation=0.0):
    """The WCS of a pointing shifted and rotated relative to ``wcs``.

    A sky position at pixel ``p`` of ``wcs`` lands at pixel
    ``c + offset + R(rotation) (p - c)`` of the result, ``c`` the reference
    pixel of ``wcs`` (exactly for TAN; SIP distortion, a property of the
    detector, stays attached to the pixel grid and adds its own small term).

    Parameters
    ----------
    wcs : `astropy.wcs.WCS`
        The reference pointing, as made by `pointing_wcs`.
    offset : `tuple` [`float`, `float`]
        Pixel shift ``(dx, dy)``.
    rotation : `float`
        Degrees counter-clockwise in pixel coordinates.

    Returns
    -------
    wcs : `astropy.wcs.WCS`
        A new WCS; ``wcs`` is not modified.
    """
    result = wcs.deepcopy()
    result.wcs.crpix = [wcs.wcs.crpix[0] + offset[0], wcs.wcs.crpix[1] + offset[1]]
    # Intermediate coordinates are CD (p - c) = CD' (p' - c'), with p' - c' = R (p - c).
    result.wcs.cd = wcs.wcs.cd @ rotation_matrix(-rotation)
    if wcs.sip is not None:
        result.sip = Sip(wcs.sip.a, wcs.sip.b, None, None, result.wcs.crpix)
    result.wcs.set()
    return result


def local_jacobian(wcs, x, y):
    """Arcseconds on the tangent plane per pixel, at each ``(x, y)``.

    Returns
    -------
    jacobian : `numpy.ndarray`
        Shape ``(n, 2, 2)``: ``[[dxi/dx, dxi/dy], [deta/dx, deta/dy]]`` with
        ``xi`` towards east and ``eta`` towards north, by central differences
        over one pixel.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    _, dec = wcs.pixel_to_world_values(x, y)
    cos_dec = np.cos(np.radians(dec))
    jacobian = np.empty((x.size, 2, 2))
    for column, (dx, dy) in enumerate(((0.5, 0.0), (0.0, 0.5))):
        ra_plus, dec_plus = wcs.pixel_to_world_values(x + dx, y + dy)
        ra_minus, dec_minus = wcs.pixel_to_world_values(x - dx, y - dy)
        d_ra = (ra_plus - ra_minus + 180.0) % 360.0 - 180.0
        jacobian[:, 0, column] = d_ra * cos_dec * 3600.0
        jacobian[:, 1, column] = (dec_plus - dec_minus) * 3600.0
    return jacobian
