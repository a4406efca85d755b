"""`diffim.io.hdu_reader`: our exposure files read back without astropy, the same as astropy reads them."""
import numpy as np
import pytest
from astropy.io import fits
from conftest import random_exposure, sip_wcs

from diffim import FitsFormatError
from diffim.io import exposure_fits
from diffim.io.exposure_fits import read_exposure, write_exposure
from diffim.io.hdu_reader import read_hdus
from diffim.io.simple_fits import read_header
from diffim.psf import GaussianPsf


def raw_hdus(path):
    with open(path, "rb") as stream:
        return read_hdus(stream, read_header(stream))


@pytest.fixture
def written(tmp_path):
    exposure = random_exposure(shape=(60, 70), xy0=(5, 9), psf=GaussianPsf(2.0),
                               wcs=sip_wcs(crpix=(30.0, 40.0)))
    path = tmp_path / "ours.fits"
    write_exposure(exposure, path)
    return exposure, path


def test_planes_and_sums_are_astropys(written):
    exposure, path = written
    hdus = raw_hdus(path)
    assert [hdu.name for hdu in hdus] == ["PRIMARY", "IMAGE", "MASK", "VARIANCE", "PSF"]
    with fits.open(path) as astropy_hdus:
        for hdu, theirs in zip(hdus, astropy_hdus):
            assert hdu.datasum == int(theirs.header["DATASUM"])
            assert hdu.header.raw == theirs.header.tostring().encode("ascii")
    assert hdus[1].data.dtype == np.float32 and hdus[1].data.dtype.isnative
    assert np.array_equal(hdus[1].data, exposure.image)
    assert hdus[2].data.dtype == np.uint32 and np.array_equal(hdus[2].data, exposure.mask.array)
    assert hdus[4].data == fits.getdata(path, "PSF").tobytes()


def test_both_readers_give_the_same_exposure(written):
    _, path = written
    ours = read_exposure(path)
    with exposure_fits.open_fits(path) as hdus:
        theirs = exposure_fits._exposure_from_hdulist(hdus, path)
    assert ours.image.tobytes() == theirs.image.tobytes()
    assert ours.variance.tobytes() == theirs.variance.tobytes()
    assert ours.mask == theirs.mask
    assert list(ours.mask.planes.as_dict().items()) == list(theirs.mask.planes.as_dict().items())
    assert (ours.xy0, ours.psf, ours.photo_calib, ours.visit_info, ours.metadata) == \
        (theirs.xy0, theirs.psf, theirs.photo_calib, theirs.visit_info, theirs.metadata)
    assert ours.wcs.to_header(relax=True) == theirs.wcs.to_header(relax=True)


def test_other_layouts_are_left_to_astropy(tmp_path, written):
    _, path = written
    cut = tmp_path / "cut.fits"
    cut.write_bytes(path.read_bytes()[:-2880])
    assert raw_hdus(cut) is None
    longer = tmp_path / "longer.fits"
    longer.write_bytes(path.read_bytes() + b"\0" * 2880)
    assert raw_hdus(longer) is None
    other = tmp_path / "float64.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((4, 5)), name="IMAGE")]).writeto(other)
    assert raw_hdus(other) is None


def test_a_changed_header_card_fails_the_checksum(tmp_path, written):
    _, path = written
    data = bytearray(path.read_bytes())
    start = data.index(b"MAGZERO =")
    data[start + 28] = ord("7") if data[start + 28] != ord("7") else ord("8")
    corrupt = tmp_path / "corrupt.fits"
    corrupt.write_bytes(bytes(data))
    assert raw_hdus(corrupt) is not None
    with pytest.raises(FitsFormatError, match="corrupt.fits: checksum mismatch in HDU PRIMARY"):
        read_exposure(corrupt)
