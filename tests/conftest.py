"""Shared test inputs: small exposures with real WCSs, and the real cutouts in tests/data."""
from pathlib import Path

import numpy as np
import pytest
from astropy.wcs import WCS, Sip

from diffim import Exposure, PhotoCalib, VisitInfo

DATA_DIR = Path(__file__).resolve().parent / "data"
DECAM_DIR = DATA_DIR / "decam-sfft"
NIRCAM_DIR = DATA_DIR / "nircam-sfft"
ZTF_ALERTS_DIR = DATA_DIR / "ztf-alerts"


def sip_wcs(crpix=(128.0, 128.0), ra=150.0, dec=2.0, scale_arcsec=0.2, rotation_deg=10.0):
    """A TAN-SIP WCS with a few arcsec of distortion at the corners of 256 px."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN-SIP", "DEC--TAN-SIP"]
    wcs.wcs.crval = [ra, dec]
    wcs.wcs.crpix = [crpix[0] + 1.0, crpix[1] + 1.0]
    angle = np.radians(rotation_deg)
    scale = scale_arcsec / 3600.0
    wcs.wcs.cd = scale * np.array([[-np.cos(angle), np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    a = np.zeros((4, 4))
    b = np.zeros((4, 4))
    a[2, 0], a[0, 2], a[3, 0] = 2e-5, -1e-5, 1e-8
    b[1, 1], b[0, 3] = 1.5e-5, -2e-8
    wcs.sip = Sip(a, b, None, None, wcs.wcs.crpix)
    return wcs


def random_exposure(shape=(64, 80), xy0=(1000, 2000), seed=3, psf=None, wcs=None):
    """An exposure with noise-like planes, a few mask bits and every descriptor set."""
    rng = np.random.default_rng(seed)
    image = rng.normal(10.0, 3.0, shape).astype(np.float32)
    image[5, 7] = np.float32(1.0e-30)  # a denormal-ish value that must survive bit for bit
    variance = rng.uniform(8.0, 10.0, shape).astype(np.float32)
    exposure = Exposure(image, variance, xy0=xy0, psf=psf, wcs=wcs,
                        photo_calib=PhotoCalib(27.123456789, 0.0125),
                        visit_info=VisitInfo(exposure_time=30.0, mjd=60000.123456789, band="r",
                                             physical_filter="r_sim", airmass=1.234),
                        metadata={"visit": 42, "detector": 3, "note": "x" * 200,
                                  "nested": {"list": [1, 2.5, "three"]}})
    exposure.mask.set("SAT", image > 15.0)
    exposure.mask.set("CR", (slice(10, 12), slice(3, 9)))
    exposure.mask.set("MY_RUNTIME_PLANE", (slice(0, 2), slice(0, 80)))
    return exposure


@pytest.fixture
def decam_dir():
    """The real DECam cutouts (tests/data/README.md)."""
    return DECAM_DIR
