import numpy as np
import pytest
from astropy.io import fits
from conftest import random_exposure, sip_wcs

from diffim import FitsFormatError
from diffim.io.exposure_fits import read_exposure, write_exposure
from diffim.io.parsed_kept import ParsedKept
from diffim.psf import GaussianPsf, PixelPsf


def assert_same_wcs(a, b, bbox):
    xs, ys = np.meshgrid(np.linspace(bbox.x0, bbox.x_end - 1, 5),
                         np.linspace(bbox.y0, bbox.y_end - 1, 5))
    sky_a = np.array(a.pixel_to_world_values(xs, ys))
    sky_b = np.array(b.pixel_to_world_values(xs, ys))
    assert np.abs(sky_a - sky_b).max() * 3600 < 1e-9
    assert a.to_header(relax=True) == b.to_header(relax=True)


def assert_round_trip(exposure, path):
    write_exposure(exposure, path)
    back = read_exposure(path)
    for plane in ("image", "variance"):
        original, read = getattr(exposure, plane), getattr(back, plane)
        assert read.dtype == np.float32 and read.dtype.isnative
        assert original.tobytes() == read.tobytes(), f"{plane} not bit-identical"
    assert back.mask == exposure.mask
    assert back.xy0 == exposure.xy0
    assert back.psf == exposure.psf
    assert back.photo_calib == exposure.photo_calib
    assert back.visit_info == exposure.visit_info
    assert back.metadata == exposure.metadata
    return back


def test_round_trip_with_sip_wcs_and_gaussian_psf(tmp_path):
    wcs = sip_wcs(crpix=(1030.0, 2030.0))
    exposure = random_exposure(xy0=(1000, 2000), psf=GaussianPsf(2.1, 2.6, 0.3), wcs=wcs)
    back = assert_round_trip(exposure, tmp_path / "sip.fits")
    assert back.wcs.sip is not None
    assert_same_wcs(wcs, back.wcs, exposure.bbox)
    assert back.mask.planes.bit("MY_RUNTIME_PLANE") == exposure.mask.planes.bit("MY_RUNTIME_PLANE")


def test_file_wcs_is_in_local_frame(tmp_path):
    exposure = random_exposure(xy0=(1000, 2000), wcs=sip_wcs(crpix=(1030.0, 2030.0)))
    write_exposure(exposure, tmp_path / "local.fits")
    header = fits.getheader(tmp_path / "local.fits", "IMAGE")
    # A FITS viewer that knows nothing of xy0 must see the right sky at file pixel (0, 0).
    assert header["CRPIX1"] == pytest.approx(31.0) and header["CRPIX2"] == pytest.approx(31.0)


def test_round_trip_with_tpv_wcs_and_pixel_psf(tmp_path, decam_dir):
    real = read_exposure(decam_dir / "DEC-OBS04a.mini.fits")
    kernel = GaussianPsf(1.8).computeKernelImage(0, 0)
    real.psf = PixelPsf(kernel * np.linspace(0.9, 1.1, kernel.size).reshape(kernel.shape)
                        / (kernel * np.linspace(0.9, 1.1, kernel.size).reshape(kernel.shape)).sum())
    back = assert_round_trip(real, tmp_path / "tpv.fits")
    assert "PV1_1" in back.wcs.to_header(relax=True)
    assert_same_wcs(real.wcs, back.wcs, real.bbox)


def test_missing_and_non_fits_files(tmp_path):
    with pytest.raises(FitsFormatError, match="nowhere.fits: no such file"):
        read_exposure(tmp_path / "nowhere.fits")
    with pytest.raises(FitsFormatError, match=f"^{tmp_path}: is a directory, not a FITS file$"):
        read_exposure(tmp_path)
    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"definitely not FITS " * 200)
    with pytest.raises(FitsFormatError, match="junk.fits: not a readable FITS file"):
        read_exposure(junk)


def test_truncated_file(tmp_path):
    path = tmp_path / "cut.fits"
    write_exposure(random_exposure(shape=(100, 100)), path)
    path.write_bytes(path.read_bytes()[:-30000])
    with pytest.raises(FitsFormatError, match="cut.fits: truncated FITS file"):
        read_exposure(path)


def test_corrupt_pixel_bytes_fail_checksum(tmp_path):
    path = tmp_path / "flipped.fits"
    write_exposure(random_exposure(shape=(100, 100)), path)
    data = bytearray(path.read_bytes())
    image_data_start = 2 * 2880 * 2  # past the primary and IMAGE headers, well inside the data
    data[image_data_start + 1000] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(FitsFormatError, match="flipped.fits: checksum mismatch in HDU"):
        read_exposure(path)


def test_wrong_shape_and_missing_extension(tmp_path):
    path = tmp_path / "shapes.fits"
    hdus = fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((10, 10), "f4"), name="IMAGE"),
                         fits.ImageHDU(np.zeros((10, 10), "u4"), name="MASK"),
                         fits.ImageHDU(np.zeros((10, 12), "f4"), name="VARIANCE")])
    hdus[0].header["DIFFIMFT"] = 1
    hdus.writeto(path)
    with pytest.raises(FitsFormatError, match=r"shapes.fits: plane shapes differ.*VARIANCE \(10, 12\)"):
        read_exposure(path)
    del hdus["VARIANCE"]
    hdus.writeto(path, overwrite=True)
    with pytest.raises(FitsFormatError, match="shapes.fits: missing VARIANCE extension"):
        read_exposure(path)


def test_plain_options_rejected_for_our_format(tmp_path):
    path = tmp_path / "ours.fits"
    write_exposure(random_exposure(), path)
    with pytest.raises(FitsFormatError, match="only apply to plain FITS"):
        read_exposure(path, gain=2.0)


def test_same_exposure_gives_the_same_bytes(tmp_path):
    import time

    exposure = random_exposure(psf=GaussianPsf(2.0), wcs=sip_wcs(crpix=(1030.0, 2030.0)))
    write_exposure(exposure, tmp_path / "a.fits")
    time.sleep(1.1)  # astropy's default checksum comment carries the time to the second
    write_exposure(exposure, tmp_path / "b.fits")
    assert (tmp_path / "a.fits").read_bytes() == (tmp_path / "b.fits").read_bytes()


def test_a_wcs_read_again_is_parsed_once_and_each_read_has_its_own(tmp_path, monkeypatch):
    import astropy.wcs

    from diffim.io import header

    parsed = []

    class CountingWcs(astropy.wcs.WCS):
        def __init__(self, *args, **kwargs):
            if args:  # a copy is made without a header
                parsed.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(astropy.wcs, "WCS", CountingWcs)
    monkeypatch.setattr(header, "_KEPT_WCS", ParsedKept(1 << 20, copied=True), raising=False)
    wcs = sip_wcs(crpix=(1030.5, 2030.25))
    # Other pixels, so other checksums: the same WCS cards otherwise.
    for name, seed in (("a.fits", 1), ("b.fits", 2)):
        write_exposure(random_exposure(xy0=(1000, 2000), wcs=wcs, seed=seed), tmp_path / name)
    first, second = (read_exposure(tmp_path / name).wcs for name in ("a.fits", "b.fits"))
    assert len(parsed) == 1
    assert first is not second
    assert_same_wcs(wcs, second, random_exposure(xy0=(1000, 2000)).bbox)
    first.wcs.crval = [10.0, 20.0]
    third = read_exposure(tmp_path / "a.fits").wcs
    assert third.to_header(relax=True) == second.to_header(relax=True) != first.to_header(relax=True)
    # Another origin is another WCS, parsed anew.
    write_exposure(random_exposure(xy0=(900, 2000), wcs=wcs, seed=3), tmp_path / "c.fits")
    moved = read_exposure(tmp_path / "c.fits")
    assert len(parsed) == 2
    assert_same_wcs(wcs, moved.wcs, moved.bbox)


def test_files_of_one_psf_share_it(tmp_path):
    psf = PixelPsf(GaussianPsf(1.7, 2.3, 0.2).computeKernelImage(0, 0))
    for name, seed in (("a.fits", 1), ("b.fits", 2)):
        write_exposure(random_exposure(psf=psf, seed=seed), tmp_path / name)
    write_exposure(random_exposure(psf=GaussianPsf(1.9), seed=3), tmp_path / "c.fits")
    first, second, other = (read_exposure(tmp_path / name) for name in ("a.fits", "b.fits",
                                                                          "c.fits"))
    assert first.psf is second.psf and first.psf == psf
    assert other.psf == GaussianPsf(1.9)
