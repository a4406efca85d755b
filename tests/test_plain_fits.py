import numpy as np
import pytest
from astropy.io import fits

from diffim import FitsFormatError
from diffim.image.stats import robust_median_sigma
from diffim.io.exposure_fits import read_exposure


def test_decam_cutouts_load_with_sensible_variance(decam_dir):
    paths = sorted(decam_dir.glob("DEC-OBS*.mini.fits"))
    assert len(paths) == 10
    for path in paths:
        header = fits.getheader(path)
        raw = fits.getdata(path).astype(np.float64)
        exposure = read_exposure(path)
        assert exposure.shape == (256, 256)
        expected = (np.maximum(raw, 0) + header["AVSKY"]) / header["GAIN"] \
            + (header["RDNOISE"] / header["GAIN"]) ** 2
        good = ~exposure.mask.get("NO_DATA")
        assert np.allclose(exposure.variance[good], expected[good], rtol=1e-6)
        # The rebuilt variance describes the noise: the robust std of sky pixels,
        # in units of sqrt(variance), is close to 1 (stars push it up slightly).
        sky = good & ~exposure.mask.get("SAT") & (np.abs(exposure.image) < 5 * np.sqrt(exposure.variance))
        normalised = exposure.image[sky] / np.sqrt(exposure.variance[sky])
        robust_std = robust_median_sigma(normalised)[1]
        assert 0.85 < robust_std < 1.2, f"{path.name}: robust std {robust_std:.3f}"
        assert exposure.wcs is not None and "PV1_1" in exposure.wcs.to_header(relax=True)
        assert exposure.visit_info.band == "i"
        assert exposure.visit_info.exposure_time == header["EXPTIME"]


def test_saturation_nan_and_options(tmp_path):
    image = np.full((20, 30), 100.0)
    image[3, 4] = np.nan
    image[5, 6] = np.inf
    image[7, 8] = -np.finfo(np.float32).max  # a blank, as in ZTF's template cutouts
    image[7, 9] = -1e30
    image[10, 11] = 900.0
    path = tmp_path / "plain.fits"
    header = fits.Header({"GAIN": 2.0, "RDNOISE": 4.0, "AVSKY": 50.0, "SATURATE": 940.0})
    fits.PrimaryHDU(image, header=header).writeto(path)
    exposure = read_exposure(path)
    assert exposure.mask.count("NO_DATA") == 4
    assert exposure.image[3, 4] == 0 and exposure.variance[5, 6] == 0
    assert exposure.image[7, 8] == 0 and exposure.image[7, 9] == 0 and exposure.variance[7, 8] == 0
    assert np.isfinite(exposure.image).all() and np.isfinite(exposure.variance).all()
    assert exposure.mask.get("SAT")[10, 11] and exposure.mask.count("SAT") == 1
    assert exposure.variance[0, 0] == pytest.approx((100 + 50) / 2 + 4.0)
    # Options win over header keywords.
    overridden = read_exposure(path, gain=1.0, read_noise=0.0, sky=0.0, saturation=95.0)
    assert overridden.variance[0, 0] == pytest.approx(100.0)
    assert overridden.mask.count("SAT") == 20 * 30 - 4


def test_no_gain_falls_back_to_robust_noise(tmp_path):
    rng = np.random.default_rng(5)
    image = rng.normal(0.0, 7.0, (200, 200))
    path = tmp_path / "nogain.fits"
    fits.PrimaryHDU(image).writeto(path)
    exposure = read_exposure(path)
    assert np.sqrt(exposure.variance[0, 0]) == pytest.approx(7.0, rel=0.03)
    assert "robust" in exposure.metadata["VARIANCE_SOURCE"]


def test_bad_plain_inputs_name_the_problem(tmp_path):
    path = tmp_path / "table_only.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(
        [fits.Column("a", "E", array=np.zeros(3))])]).writeto(path)
    with pytest.raises(FitsFormatError, match="table_only.fits: no 2-D image"):
        read_exposure(path)
    flat = tmp_path / "flat.fits"
    fits.PrimaryHDU(np.zeros((10, 10))).writeto(flat)
    with pytest.raises(FitsFormatError, match="flat.fits: cannot estimate a noise level"):
        read_exposure(flat)
    with pytest.raises(FitsFormatError, match="option gain = -2.0 must be a positive number"):
        read_exposure(flat, gain=-2.0)


def test_psf_measured_on_real_decam_tracks_survey_fwhm(decam_dir):
    """The survey's FWHM keyword (SExtractor-style, on pixelised stars) runs ~10 %
    above our continuous-profile FWHM; the ratio must be the same for every image."""
    from diffim.psf import measure_psf

    ratios = []
    for path in sorted(decam_dir.glob("DEC-OBS*.mini.fits")):
        exposure = read_exposure(path)
        measured = measure_psf(exposure.image, exposure.variance,
                               exposure.mask.get(["SAT", "NO_DATA"]), exposure.xy0)
        assert measured.n_stars >= 3
        ratios.append(measured.fwhm / fits.getheader(path)["FWHM"])
    ratios = np.array(ratios)
    assert np.all((ratios > 0.85) & (ratios < 0.97)), ratios
    assert ratios.max() - ratios.min() < 0.05, ratios
