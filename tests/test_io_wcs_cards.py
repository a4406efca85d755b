"""A plain image's WCS is written as the cards it was read with: the same sky, no astropy."""
import subprocess
import sys
import warnings

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from conftest import DECAM_DIR, NIRCAM_DIR, sip_wcs

from diffim.geom import Box
from diffim.io.exposure_fits import read_exposure, write_exposure
from diffim.io.wcs_cards import CardWcs, same_grid


def _sip_file(directory):
    """A plain image whose header holds a TAN-SIP WCS (as astropy writes one)."""
    path = directory / "sip.fits"
    header = sip_wcs(crpix=(90.5, 140.25)).to_header(relax=True)
    header["GAIN"] = 2.0
    image = np.random.default_rng(3).normal(50.0, 3.0, (200, 180)).astype(np.float32)
    fits.PrimaryHDU(image, header=header).writeto(path)
    return path


def _input(name, directory):
    return {"decam": DECAM_DIR / "DEC-OBS04a.mini.fits",
            "nircam": NIRCAM_DIR / "a2744-2561-f200w.sci.fits",
            "sip": None}[name] or _sip_file(directory)


def _file_wcs(header):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # astropy's notes on the DECam header's redundant CDELT
        return WCS(header, relax=True)


@pytest.mark.parametrize("cut", [None, Box(17, 31, 120, 90)], ids=["whole", "cut"])
@pytest.mark.parametrize("name", ["decam", "nircam", "sip"])
def test_written_cards_give_the_input_sky(name, cut, tmp_path):
    path = _input(name, tmp_path)
    exposure = read_exposure(path)
    assert isinstance(exposure.wcs, CardWcs)
    part = exposure if cut is None else exposure[cut]
    write_exposure(part, tmp_path / "out.fits")
    written = fits.getheader(tmp_path / "out.fits", "IMAGE")
    source = fits.getheader(path)
    # Every WCS card of the input is there; only CRPIX moves, by the cut's origin.
    for image in exposure.wcs.images:
        keyword = image[:8].rstrip()
        if keyword.startswith("CRPIX"):
            shift = part.xy0[int(keyword[-1]) - 1]
            assert written[keyword] == pytest.approx(source[keyword] - shift, rel=1e-15)
        else:
            assert image in written.tostring()
    if name == "decam":
        assert "PV1_10" in written and "PV2_3" in written
    if name == "sip":
        assert written["A_ORDER"] == source["A_ORDER"] and "B_0_3" in written and "A_3_0" in written
    x_file, y_file = np.meshgrid(np.linspace(0.0, part.shape[1] - 1.0, 4),
                                 np.linspace(0.0, part.shape[0] - 1.0, 3))
    expected = np.array(_file_wcs(source).pixel_to_world_values(x_file + part.xy0[0],
                                                                y_file + part.xy0[1]))
    got = np.array(_file_wcs(written).pixel_to_world_values(x_file, y_file))
    assert np.abs(got - expected).max() * 3600.0 < 1e-9
    # Read back, the WCS maps parent pixels; the lazy astropy WCS of the cards does too.
    back = read_exposure(tmp_path / "out.fits")
    parent = (x_file + part.xy0[0], y_file + part.xy0[1])
    for wcs in (back.wcs, part.wcs):
        assert np.abs(np.array(wcs.pixel_to_world_values(*parent)) - expected).max() * 3600 < 1e-9


def test_same_grid_from_card_values(decam_dir):
    # Two renderings of one TPV WCS: CDELT beside CD, LONPOLE/LATPOLE/RADESYS
    # written or left to their defaults, 0.0 against 0., -6954.667 against -6954.66700000001.
    science = read_exposure(decam_dir / "DEC-OBS04a.mini.fits").wcs
    template = read_exposure(decam_dir / "DEC-OBS18a.mini.fits").wcs
    assert science.images != template.images
    assert same_grid(science, template) is True
    moved = CardWcs(science.header_cards((1, 0)), (0, 0), "moved")
    assert same_grid(science, moved) is False
    extra = CardWcs([*science.images, f"{'A_ORDER':8}= {2:>20}".ljust(80)], (0, 0), "sip")
    assert same_grid(science, extra) is None


def test_subtraction_of_plain_images_with_wcs_never_imports_astropy(decam_dir, tmp_path):
    # With a FITS catalogue too: its sky coordinates come from the cards, its table
    # is written without astropy or pandas; the kernel-match check's stamp convolution
    # does not load scipy.signal (and with it scipy.stats, 0.6 CPU s).
    code = ("import sys\nfrom diffim.cli.main import main\n"
            f"rc = main(['subtract', '--science', {str(decam_dir / 'DEC-OBS04a.mini.fits')!r}, "
            f"'--template', {str(decam_dir / 'DEC-OBS18a.mini.fits')!r}, "
            f"'--output', {str(tmp_path / 'diff.fits')!r}, "
            f"'--catalog', {str(tmp_path / 'dia.fits')!r}])\n"
            "print(rc, sorted(m for m in sys.modules if m.startswith(('astropy', 'pandas', 'scipy.signal', 'scipy.stats'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "0 []"
    sources = fits.getdata(tmp_path / "dia.fits", "DIASOURCES")
    assert len(sources) and np.isfinite(sources["coord_ra"]).all()
    written = fits.getheader(tmp_path / "diff.fits", "IMAGE")
    assert written["CTYPE1"] == "RA---TPV" and written["CRPIX2"] == -6954.66700000001


_REAL_HEADERS = sorted([*DECAM_DIR.glob("*.fits"), *NIRCAM_DIR.glob("*.fits")])


@pytest.mark.parametrize("path", [*_REAL_HEADERS, "sip"], ids=lambda p: getattr(p, "name", p))
def test_sky_coordinates_without_astropy_agree_with_astropy(path, tmp_path):
    # DECam's TPV, NIRCam's TAN and a TAN-SIP header are evaluated from their cards,
    # at parent pixels of an image that starts away from (0, 0).
    path = _sip_file(tmp_path) if path == "sip" else path
    wcs = read_exposure(path).wcs
    moved = CardWcs(wcs.images, (-40, 25), path)
    assert moved._gnomonic() is not None
    rng = np.random.default_rng(5)
    x, y = rng.uniform(-40.0, 600.0, 500), rng.uniform(25.0, 600.0, 500)
    ra, dec = moved.pixel_to_world_values(x, y)
    expected_ra, expected_dec = moved.astropy.pixel_to_world_values(x, y)
    separation = np.hypot((ra - expected_ra + 180.0) % 360.0 - 180.0, dec - expected_dec)
    assert separation.max() * 3600.0 < 1e-6


def test_sky_coordinates_of_other_projections_from_astropy():
    cards = [f"{key:8}= {value:>20}".ljust(80) for key, value in (
        ("CTYPE1", "'RA---SIN'"), ("CTYPE2", "'DEC--SIN'"), ("CRPIX1", 10.0), ("CRPIX2", 20.0),
        ("CRVAL1", 30.0), ("CRVAL2", -40.0), ("CDELT1", -1e-4), ("CDELT2", 1e-4))]
    wcs = CardWcs(cards, (0, 0), "sin")
    assert wcs._gnomonic() is None
    expected = wcs.astropy.pixel_to_world_values([0.0, 300.0], [5.0, -70.0])
    assert np.array_equal(wcs.pixel_to_world_values([0.0, 300.0], [5.0, -70.0]), expected)
