"""The astropy-free reader of simple plain FITS images against astropy, on real and made files."""
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits
from conftest import DECAM_DIR, NIRCAM_DIR, ZTF_ALERTS_DIR

from diffim.io import plain_fits
from diffim.io.exposure_fits import read_exposure
from diffim.io.simple_fits import SimpleHeader, read_simple_image

REAL_FILES = sorted(DECAM_DIR.glob("*.fits")) + sorted(NIRCAM_DIR.glob("*.fits"))


def _astropy_exposure(path, **options):
    """The exposure as read through astropy alone (the fallback path)."""
    with fits.open(path) as hdus:
        hdu = plain_fits.plain_image_hdu(hdus, None, path)
        return plain_fits.exposure_from_plain_image(hdu.data, hdu.header, path, **options)


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda path: path.name)
def test_real_files_read_as_astropy_reads_them(path):
    image, header = read_simple_image(path)
    with fits.open(path) as hdus:
        expected = hdus[0]
        assert image.dtype.isnative and image.dtype == expected.data.dtype.newbyteorder("=")
        assert np.array_equal(image, expected.data, equal_nan=True)
        cards = [card for card in expected.header.cards if card.keyword not in ("", "COMMENT", "HISTORY")]
        assert len(cards) > 20
        for card in cards:
            assert header[card.keyword] == expected.header[card.keyword], card.keyword
            assert type(header[card.keyword]) is type(expected.header[card.keyword]), card.keyword
    assert header.copy() == expected.header
    fast, slow = read_exposure(path), _astropy_exposure(path)
    for plane in ("image", "variance"):
        assert getattr(fast, plane).tobytes() == getattr(slow, plane).tobytes()
    assert fast.mask == slow.mask and fast.visit_info == slow.visit_info
    assert fast.photo_calib == slow.photo_calib and fast.metadata == slow.metadata
    assert fast.wcs.to_header(relax=True) == slow.wcs.to_header(relax=True)


def test_compressed_file_falls_back_to_astropy():
    path = sorted(ZTF_ALERTS_DIR.glob("*.science.fits.gz"))[0]
    assert read_simple_image(path) is None
    fast, slow = read_exposure(path), _astropy_exposure(path)
    assert fast.image.tobytes() == slow.image.tobytes()


def _write(path, data, cards=(), extension=False):
    header = fits.Header(list(cards))
    hdus = [fits.PrimaryHDU(data, header=header)]
    if extension:
        hdus.append(fits.ImageHDU(np.zeros((2, 2), np.float32)))
    fits.HDUList(hdus).writeto(path)
    return path


@pytest.mark.parametrize("dtype", [">f4", ">f8", ">i2", ">i4"])
def test_pixel_types_and_card_values(tmp_path, dtype):
    data = (np.arange(35 * 23).reshape(35, 23) - 300).astype(dtype)
    long_text = "a string that " * 10 + "needs CONTINUE cards, it's long"
    cards = [("GAIN", 2.5, "e-/ADU"), ("SATURATE", 60000), ("BAND", "r "), ("QUOTE", "it's"),
             ("FLAG", True), ("OFF", False), ("TINY", 1.5e-300), ("LONG", long_text),
             ("EMPTY", ""), ("HIERARCH LONG.KEYWORD.NAME", 3)]
    path = _write(tmp_path / "a.fits", data, cards)
    image, header = read_simple_image(path)
    assert image.dtype == np.dtype(dtype).newbyteorder("=") and np.array_equal(image, data)
    expected = fits.getheader(path)
    for keyword in ("GAIN", "SATURATE", "BAND", "QUOTE", "FLAG", "OFF", "TINY", "LONG", "EMPTY",
                    "NAXIS1", "BITPIX"):
        assert header[keyword] == expected[keyword] and type(header[keyword]) is type(expected[keyword])
    assert "gain" in header and "NOPE" not in header and header.get("NOPE", 7) == 7
    assert read_exposure(path).variance.tobytes() == _astropy_exposure(path).variance.tobytes()


def test_written_d_exponents_and_undefined_values():
    raw = b"".join(f"{card:80}".encode() for card in (
        "SIMPLE  =                    T", "RDNOISE =              1.5D+01 / [e-]",
        "AIRMASS =                      / undefined", "NOTE    = 'unterminated", "END"))
    header = SimpleHeader(raw)
    assert header["RDNOISE"] == 15.0 and header["AIRMASS"] is None and header["NOTE"] == "unterminated"


@pytest.mark.parametrize("case", ["scaled", "blank", "extension", "truncated", "padded_short",
                                  "not_fits", "cube", "missing"])
def test_other_files_are_left_to_astropy(tmp_path, case):
    data = np.arange(12, dtype=">i2").reshape(3, 4)
    path = tmp_path / f"{case}.fits"
    if case in ("scaled", "blank"):
        # Cards astropy would rename on write: written under a stand-in name, renamed in the bytes.
        _write(path, data, [("XSCALE", 2.0)])
        keyword = b"BSCALE  " if case == "scaled" else b"BLANK   "
        path.write_bytes(path.read_bytes().replace(b"XSCALE  ", keyword))
    elif case == "extension":
        _write(path, data, extension=True)
    elif case in ("truncated", "padded_short"):
        _write(path, np.ones((40, 40), np.float32))
        content = path.read_bytes()
        path.write_bytes(content[:-3000] if case == "truncated" else content[:2880 + 40 * 40 * 4])
    elif case == "not_fits":
        path.write_text("hello" * 1000)
    elif case == "cube":
        _write(path, np.zeros((2, 3, 4), np.float32))
    assert read_simple_image(path) is None


def test_plain_image_read_and_written_without_astropy(tmp_path):
    """A simple plain image without a WCS is read, and written with a PSF, without astropy."""
    image = np.random.default_rng(1).normal(100.0, 5.0, (64, 64)).astype(np.float32)
    _write(tmp_path / "sci.fits", image, [("GAIN", 1.0), ("SATURATE", 1e5)])
    code = ("import sys\nfrom diffim.io.exposure_fits import read_exposure, write_exposure\n"
            "from diffim.psf import GaussianPsf\n"
            f"exposure = read_exposure({str(tmp_path / 'sci.fits')!r})\n"
            "exposure.psf = GaussianPsf(2.0)\n"
            f"write_exposure(exposure, {str(tmp_path / 'out.fits')!r})\n"
            "print(sorted(m for m in sys.modules if m.startswith('astropy')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert read_exposure(tmp_path / "out.fits").image.tobytes() == image.tobytes()


def test_read_exposure_reads_a_plain_files_first_header_once(monkeypatch):
    from diffim.io import exposure_fits, simple_fits

    reads = []

    def counted(stream):
        reads.append(stream.tell())
        return SimpleHeader(simple_fits.read_header_blocks(stream))

    monkeypatch.setattr(exposure_fits, "read_header", counted)
    monkeypatch.setattr(simple_fits, "read_header", counted)
    exposure = read_exposure(REAL_FILES[0])
    assert reads == [0]  # the layout check's read serves the plain image too
    assert np.array_equal(exposure.image, read_simple_image(REAL_FILES[0])[0], equal_nan=True)
