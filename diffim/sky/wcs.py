"""TAN (optionally TAN-SIP) WCSs: pointings of simulated cameras, skymap tracts.

All WCSs here map 0-based PARENT pixel coordinates to the sky, as
`diffim.exposure.Exposure` expects: FITS ``CRPIX`` is the 0-based reference
pixel plus one.
"""
from __future__ import annotations

import math

import numpy as np
from astropy.wcs import WCS, Sip

__all__ = ["rotation_matrix", "tan_wcs"]


def rotation_matrix(degrees):
    """2-D rotation matrix by ``degrees`` counter-clockwise."""
    angle = math.radians(degrees)
    return np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])


def tan_wcs(ra, dec, centre, pixel_scale=0.2, rotation=0.0, distortion=0.0,
                 half_diagonal=None):
    """A TAN WCS with its reference pixel at ``centre``.

    Parameters
    ----------
    ra, dec : `float`
        Sky position (degrees) of the reference pixel.
    centre : `tuple` [`float`, `float`]
        0-based parent pixel ``(x, y)`` of the reference point.
    pixel_scale : `float`
        Arcseconds per pixel.
    rotation : `float`
        Degrees; 0 puts north along +y and east along -x.
    distortion : `float`
        Radial SIP distortion: a pixel at ``half_diagonal`` from ``centre`` is
        displaced outwards by this many pixels (cubic in radius). 0 gives a
        pure TAN WCS.
    half_diagonal : `float`, optional
        Radius (pixels) at which ``distortion`` is reached; required when
        ``distortion`` is not 0.

    Returns
    -------
    wcs : `astropy.wcs.WCS`
    """
    wcs = WCS(naxis=2)
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [centre[0] + 1.0, centre[1] + 1.0]
    # East to the left (-x) at rotation 0, as a sky image seen from the ground.
    flip = np.array([[-1.0, 0.0], [0.0, 1.0]])
    wcs.wcs.cd = (pixel_scale / 3600.0) * flip @ rotation_matrix(rotation)
    if distortion:
        # Radial distortion d(r) = k r^3: x += k u r^2, y += k v r^2.
        k = distortion / half_diagonal ** 3
        a = np.zeros((4, 4))
        b = np.zeros((4, 4))
        a[3, 0] = a[1, 2] = k
        b[0, 3] = b[2, 1] = k
        wcs.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"]
        wcs.sip = Sip(a, b, None, None, wcs.wcs.crpix)
    else:
        wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.set()
    return wcs
