"""CHECKSUM/DATASUM cards in one pass per plane (diffim.io.checksum) and the one-pass writer."""
import numpy as np
import pytest
from astropy.io import fits
from conftest import random_exposure

from diffim import FitsFormatError
from diffim.io import checksum
from diffim.io.exposure_fits import read_exposure, write_exposure


@pytest.mark.parametrize("dtype", [np.float32, np.uint32])
def test_cards_are_astropys(dtype):
    rng = np.random.default_rng(5)
    if dtype == np.float32:
        plane = rng.normal(0.0, 1e3, (37, 53)).astype(np.float32)
    else:  # values with the top bit set too: uint32 is stored as int32 with BZERO = 2^31
        plane = rng.integers(0, 2**32, (37, 53), dtype=np.uint64).astype(np.uint32)
    reference = fits.ImageHDU(plane.copy(), name="MASK")
    reference.add_checksum(when="a comment")
    ours = fits.ImageHDU(plane.copy(), name="MASK")
    checksum.add_checksum_cards(ours, checksum.plane_datasum(plane), "a comment")
    assert ours.header.tostring() == reference.header.tostring()


def test_read_swaps_in_place_and_sums_the_file_words():
    plane = np.random.default_rng(6).normal(size=(9, 11)).astype(np.float32)
    as_read = plane.astype(">f4")
    native, datasum = checksum.read_plane(as_read)
    assert native.dtype == np.float32 and np.array_equal(native, plane)
    assert np.shares_memory(native, as_read)
    assert datasum == checksum.plane_datasum(plane)
    assert checksum.read_plane(plane.astype(">f8")) is None  # astropy verifies other layouts


def test_corrupt_header_fails_checksum(tmp_path):
    path = tmp_path / "header.fits"
    write_exposure(random_exposure(shape=(100, 100)), path)
    data = bytearray(path.read_bytes())
    comment = data.index(b"diffim exposure checksum", data.index(b"EXTNAME = 'MASK"))
    data[comment] ^= 0x01  # 'd' -> 'e' in a card comment of the MASK header
    path.write_bytes(bytes(data))
    with pytest.raises(FitsFormatError, match="header.fits: checksum mismatch in HDU"):
        read_exposure(path)


def test_writer_gives_astropys_bytes(tmp_path):
    from diffim.io.exposure_fits import exposure_to_hdulist
    from diffim.io.hdu_writer import write_hdus
    from diffim.psf import GaussianPsf, PixelPsf

    exposure = random_exposure(shape=(300, 517),
                               psf=PixelPsf(GaussianPsf(2.0, size=11).computeKernelImage(0, 0)))
    exposure.mask.array[:] = np.random.default_rng(9).integers(
        0, 2**32, exposure.shape, dtype=np.uint64).astype(np.uint32)
    hdus = exposure_to_hdulist(exposure)
    for hdu in hdus:
        hdu.add_checksum(when="a comment")
    write_hdus(tmp_path / "ours.fits", hdus)
    hdus.writeto(tmp_path / "astropy.fits")
    assert (tmp_path / "ours.fits").read_bytes() == (tmp_path / "astropy.fits").read_bytes()
