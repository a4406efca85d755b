"""CHECKSUM/DATASUM cards in one pass per plane (diffim.io.checksum) and the one-pass writer."""
import json

import numpy as np
import pytest
from astropy.io import fits
from conftest import random_exposure

from diffim import FitsFormatError
from diffim.io import checksum
from diffim.io.exposure_fits import read_exposure, write_exposure
from diffim.io.fits_cards import header_bytes


@pytest.mark.parametrize("dtype", [np.float32, np.uint32])
def test_cards_are_astropys(dtype):
    rng = np.random.default_rng(5)
    if dtype == np.float32:
        plane = rng.normal(0.0, 1e3, (37, 53)).astype(np.float32)
    else:  # values with the top bit set too: uint32 is stored as int32 with BZERO = 2^31
        plane = rng.integers(0, 2**32, (37, 53), dtype=np.uint64).astype(np.uint32)
    reference = fits.ImageHDU(plane.copy(), name="MASK")
    cards = [card.image for card in reference.header.cards]
    reference.add_checksum(when="a comment")
    ours = checksum.checksum_cards(cards, checksum.plane_datasum(plane), "a comment")
    assert header_bytes(ours) == reference.header.tostring().encode()


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


def _astropy_exposure_file(exposure, path, header_cards):
    """Our exposure format written by astropy itself: the reference the writer's bytes must equal."""
    from diffim.io.header import visit_info_cards, wcs_cards
    from diffim.psf.persistence import psf_table

    primary = fits.PrimaryHDU()
    header = primary.header
    header["DIFFIMFT"] = (1, "diffim exposure format version")
    header["LTV1"] = (-exposure.xy0[0], "minus x0: parent x = file x - LTV1")
    header["LTV2"] = (-exposure.xy0[1], "minus y0: parent y = file y - LTV2")
    if exposure.photo_calib is not None:
        header["MAGZERO"] = (exposure.photo_calib.zero_point, "AB mag of 1 count")
        header["MAGZERR"] = exposure.photo_calib.zero_point_err
    for keyword, value in visit_info_cards(exposure.visit_info).items():
        header[keyword] = value
    if exposure.metadata:
        header["DIFFMETA"] = (json.dumps(exposure.metadata, sort_keys=True), "metadata, JSON")
    for keyword, value in header_cards.items():
        header[keyword] = value
    image_header = (fits.Header.fromstring("".join(wcs_cards(exposure.wcs, exposure.xy0)))
                    if exposure.wcs is not None else None)
    mask = fits.ImageHDU(exposure.mask.array, name="MASK")
    for name, bit in exposure.mask.planes.as_dict().items():
        mask.header[f"HIERARCH MP_{name}"] = bit
    hdus = [primary, fits.ImageHDU(exposure.image, header=image_header, name="IMAGE"), mask,
            fits.ImageHDU(exposure.variance, name="VARIANCE")]
    if exposure.psf is not None:
        columns, cards = psf_table(exposure.psf)
        table = fits.BinTableHDU.from_columns([
            fits.Column(name=name, format=f"{cell.size}D", array=cell.reshape(1, -1))
            for name, cell in columns])
        table.header["EXTNAME"] = "PSF"
        for key, value, comment in cards:
            table.header[key] = (value, comment)
        hdus.append(table)
    for hdu in hdus:
        hdu.add_checksum(when="diffim exposure checksum")
    fits.HDUList(hdus).writeto(path)


def _cases():
    from conftest import DECAM_DIR, sip_wcs

    from diffim import Exposure
    from diffim.geom import Box
    from diffim.psf import DoubleGaussianPsf, GaussianPsf, InterpolatedPsf, PixelPsf, VaryingPsf

    pixel = PixelPsf(GaussianPsf(2.0, size=11).computeKernelImage(0, 0))
    with_mask_bits = random_exposure(shape=(300, 517), psf=pixel)
    with_mask_bits.mask.array[:] = np.random.default_rng(9).integers(
        0, 2**32, with_mask_bits.shape, dtype=np.uint64).astype(np.uint32)
    yield "long metadata, pixel PSF", with_mask_bits, {}
    yield "SIP WCS, Gaussian PSF", random_exposure(psf=GaussianPsf(2.1, 2.6, 0.3),
                                                  wcs=sip_wcs(crpix=(1030.0, 2030.0))), {}
    decam = read_exposure(DECAM_DIR / "DEC-OBS04a.mini.fits")
    decam.psf = InterpolatedPsf.from_model(lambda x, y: GaussianPsf(2.0 + x / 1000.0, size=15),
                                           decam.bbox, 3, 2)
    yield "TPV WCS, interpolated PSF, plain metadata", decam, {
        "KERNSUM": (np.float64(1.0112068848007154), "PSF-matching kernel sum at the image centre"),
        "NKSRC": (3, "kernel candidates used in the solution"), "KSOURCE": ("stars", None),
        "DIFMODE": ("convolveTemplate", "which image was convolved")}
    bare = Exposure(np.ones((40, 30), np.float32), np.full((40, 30), 2.0, np.float32), xy0=(-5, 7))
    bare.psf = VaryingPsf(DoubleGaussianPsf, {"sigma1": [[2.0, 0.01]], "sigma2": [[4.0]],
                                              "ratio": [[0.1]]}, Box(-5, 7, 30, 40), size=9)
    yield "bare, varying PSF, replaced and valueless cards", bare, {"LTV1": 5, "ZOGYFR": 0.5}


@pytest.mark.parametrize("index", range(4))
def test_writer_gives_astropys_bytes(tmp_path, index):
    _, exposure, header_cards = list(_cases())[index]
    write_exposure(exposure, tmp_path / "ours.fits", header_cards=header_cards)
    _astropy_exposure_file(exposure, tmp_path / "astropy.fits", header_cards)
    assert (tmp_path / "ours.fits").read_bytes() == (tmp_path / "astropy.fits").read_bytes()
