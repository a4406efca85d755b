import numpy as np
import pytest

from conftest import random_exposure, sip_wcs
from diffim import Box, Exposure, GeometryError, PhotoCalib


def test_planes_are_float32_and_default_mask_variance():
    exposure = Exposure(np.ones((3, 4)), xy0=(5, 6))
    assert exposure.image.dtype == np.float32 and exposure.variance.dtype == np.float32
    assert exposure.bbox == Box(5, 6, 4, 3)
    assert exposure.mask.count("BAD") == 0


def test_sub_exposure_keeps_origin_and_shares_pixels():
    exposure = random_exposure(xy0=(1000, 2000), wcs=sip_wcs())
    box = Box(1010, 2005, 20, 15)
    sub = exposure[box]
    assert sub.xy0 == (1010, 2005) and sub.shape == (15, 20)
    assert sub.image[0, 0] == exposure.image[5, 10]
    sub.image[0, 0] = -7.0
    sub.mask.set("EDGE", (0, 0))
    assert exposure.image[5, 10] == -7.0
    assert exposure.mask.get("EDGE")[5, 10]
    # The WCS is in parent coordinates: the same pixel maps to the same sky in both.
    assert np.allclose(sub.pixel_to_sky(1012.3, 2007.5), exposure.pixel_to_sky(1012.3, 2007.5))
    sub_of_sub = sub[Box(1015, 2010, 3, 3)]
    assert sub_of_sub.image[0, 0] == exposure.image[10, 15]


def test_sub_exposure_outside_raises():
    exposure = random_exposure(xy0=(0, 0))
    with pytest.raises(GeometryError, match="not contained"):
        exposure[Box(70, 0, 20, 5)]


def test_copy_is_deep():
    exposure = random_exposure()
    other = exposure.copy()
    other.image[:] = 0
    other.mask.set("COPY_ONLY")
    other.metadata["nested"]["list"].append(4)
    assert exposure.image.any() and "COPY_ONLY" not in exposure.mask.planes
    assert exposure.metadata["nested"]["list"] == [1, 2.5, "three"]


def test_shape_mismatch_raises():
    with pytest.raises(GeometryError, match="variance shape"):
        Exposure(np.zeros((3, 3)), np.zeros((3, 4)))
    with pytest.raises(GeometryError, match="2-D"):
        Exposure(np.zeros(9))


def test_photo_calib_round_trips_magnitudes():
    calib = PhotoCalib(zero_point=31.4)
    assert calib.instflux_to_nanojansky(5.0) == pytest.approx(5.0)
    assert calib.instflux_to_magnitude(calib.magnitude_to_instflux(22.5)) == pytest.approx(22.5)
