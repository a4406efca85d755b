"""``diffim subtract`` on inputs as users bring them: plain FITS with sky, bad pixels,
saturation, masks, 63 x 63 stamps; and the bad subtraction that must be an error."""
import numpy as np
import pytest
from astropy.io import fits

from conftest import DECAM_DIR, NIRCAM_DIR
from diffim.cli.main import main
from diffim.sim import PairConfig, simulate_pair
from diffim.sim.noise import sky_plane

GAIN, READ_NOISE = 1.5, 5.0
SKY = {"science": 1200.0, "template": 1000.0}


@pytest.fixture(scope="module")
def plain_pair(tmp_path_factory):
    """A 512 px simulated pair written as plain FITS images that still carry their sky."""
    config = PairConfig(size=512, seed=5, n_transients=5, transient_flux_min=5000.0,
                        science_sky=SKY["science"], template_sky=SKY["template"],
                        gain=GAIN, read_noise=READ_NOISE)
    pair = simulate_pair(config)
    directory = tmp_path_factory.mktemp("plain")
    paths = {}
    for role, exposure in (("science", pair.science), ("template", pair.template)):
        image = exposure.image + sky_plane(exposure.bbox, SKY[role],
                                           getattr(config, f"{role}_sky_gradient"))
        header = fits.Header({"GAIN": GAIN, "RDNOISE": READ_NOISE,
                              "MAGZERO": exposure.photo_calib.zero_point})
        paths[role] = directory / f"{role}.fits"
        fits.PrimaryHDU(image.astype(np.float32), header).writeto(paths[role])
    return pair, paths


def run_subtract(paths, tmp_path, *extra):
    return main(["subtract", "--science", str(paths["science"]), "--template",
                 str(paths["template"]), "--output", str(tmp_path / "diff.fits"),
                 "--science-fwhm", "5.0", "--template-fwhm", "3.5", *extra])


def summary_fields(line):
    return dict(item.split("=", 1) for item in line.split() if "=" in item)


def test_plain_images_with_sky_subtract_by_default(plain_pair, tmp_path, capsys):
    _, paths = plain_pair
    assert run_subtract(paths, tmp_path) == 0
    line = capsys.readouterr().out.strip()
    fields = summary_fields(line)
    # No pedestal (+6 sigma before the background was subtracted by default).
    assert abs(float(fields["median(diff/sigma)"])) < 0.1
    assert abs(float(fields["mean(diff/sigma)"])) < 0.1
    assert "WARNING" not in line
    assert fields["kernel_source"] == "stars"


def test_a_pedestal_is_a_one_line_bad_subtraction(plain_pair, tmp_path, capsys):
    """Without the background the kernel-source footprints keep their sky offset."""
    _, paths = plain_pair
    assert run_subtract(paths, tmp_path, "-c", "doSubtractBackground=False") == 1
    captured = capsys.readouterr()
    assert "WARNING: pedestal: median(diff/sigma) = +" in captured.out
    error = captured.err.strip()
    assert "\n" not in error
    assert error.startswith("diffim subtract: error: bad subtraction: the difference keeps ")
    assert "badSubtractionRatioThreshold=0.2" in error
    # The check can be switched off, as the stack's raiseOnBadSubtractionRatio.
    assert run_subtract(paths, tmp_path, "-c", "doSubtractBackground=False", "--detect-config",
                        "raiseOnBadSubtractionRatio=False") == 0


def test_bad_pixels_saturation_and_masks_are_masked_and_counted(plain_pair, tmp_path, capsys):
    _, paths = plain_pair
    with fits.open(paths["science"]) as hdus:
        image = hdus[0].data.copy()
        header = hdus[0].header
    image[100, 100] = np.nan
    image[300, 40] = np.inf
    broken = tmp_path / "broken.fits"
    fits.PrimaryHDU(image, header).writeto(broken)
    variance = tmp_path / "variance.fits"
    template_variance = np.full(image.shape, 700.0, np.float32)
    template_variance[50, 60] = np.inf
    template_variance[51, 60] = 0.0
    fits.PrimaryHDU(template_variance).writeto(variance)
    mask = np.zeros(image.shape, np.int16)
    mask[200:203, 200:203] = 1
    mask_path = tmp_path / "mask.fits"
    fits.PrimaryHDU(mask).writeto(mask_path)
    status = run_subtract({"science": broken, "template": paths["template"]}, tmp_path,
                          "--template-variance", str(variance), "--science-mask", str(mask_path),
                          "--science-saturation", "30000", "--template-gain", str(GAIN))
    assert status == 0, capsys.readouterr().err
    fields = summary_fields(capsys.readouterr().out)
    assert fields["template_masked"] == "BAD:2"
    assert fields["science_masked"].startswith("NO_DATA:2")
    with fits.open(tmp_path / "diff.fits") as hdus:
        mask_header = hdus["MASK"].header
        bits = {key[3:]: value for key, value in mask_header.items() if key.startswith("MP_")}
        difference_mask = hdus["MASK"].data
    for plane, (y, x) in (("NO_DATA", (100, 100)), ("NO_DATA", (300, 40)), ("BAD", (201, 201)),
                          ("BAD", (50, 60))):
        assert difference_mask[y, x] & (1 << bits[plane]), (plane, x, y)


def test_options_that_need_a_plain_image_are_refused_for_an_exposure(tmp_path, capsys):
    main(["sim", "--output-dir", str(tmp_path), "--size", "256", "--seed", "2"])
    capsys.readouterr()
    status = main(["subtract", "--science", str(tmp_path / "science.fits"), "--template",
                   str(tmp_path / "template.fits"), "--output", str(tmp_path / "d.fits"),
                   "--science-gain", "2.0"])
    assert status == 1
    assert "only apply to plain FITS images" in capsys.readouterr().err


def test_a_63_pixel_stamp_subtracts_with_a_kernel_from_the_psf_models(plain_pair, tmp_path,
                                                                      capsys):
    pair, paths = plain_pair
    truth = pair.truth
    transient = truth[(truth["kind"] == "transient") & truth["is_isolated"]].iloc[0]
    x, y = int(round(transient["x"])), int(round(transient["y"]))
    stamps = {}
    for role, path in paths.items():
        with fits.open(path) as hdus:
            stamp = hdus[0].data[y - 31:y + 32, x - 31:x + 32]
            stamps[role] = tmp_path / f"{role}-stamp.fits"
            fits.PrimaryHDU(stamp, hdus[0].header).writeto(stamps[role])
    assert run_subtract(stamps, tmp_path) == 0
    fields = summary_fields(capsys.readouterr().out)
    assert fields["kernel_source"] == "psf-model"
    with fits.open(tmp_path / "diff.fits") as hdus:
        assert hdus[0].header["KSOURCE"] == "psf-model"
        image, variance = hdus["IMAGE"].data, hdus["VARIANCE"].data
    # The flux scale is the transparency (from the stamp's stars, else the zero points),
    # the stamp's sky is gone, the noise is the noise.
    assert float(fields["kernel_sum"]) == pytest.approx(pair.config.flux_ratio, abs=0.02)
    assert abs(float(fields["median(diff/sigma)"])) < 0.15
    assert 0.9 < float(fields["robust_std(diff/sigma)"]) < 1.15
    # ... and the transient stands out at its flux.
    core = image[27:36, 27:36].sum()
    assert core > 10 * np.sqrt(variance[27:36, 27:36].sum())


def test_noise_maps_are_squared_and_a_noise_map_given_as_variance_is_named(tmp_path, capsys):
    # JWST ships 1-sigma ERR maps; HOTPANTS takes noise images. As --*-noise they are
    # squared; as --*-variance they are the user trap the error message now names.
    science, template = (NIRCAM_DIR / f"a2744-{program}-f200w" for program in ("2561", "1324"))
    images = ["--science", f"{science}.sci.fits", "--template", f"{template}.sci.fits"]
    output = ["--output", str(tmp_path / "diff.fits")]
    assert main(["subtract", *images, *output, "--science-noise", f"{science}.err.fits",
                 "--template-noise", f"{template}.err.fits"]) == 0
    fields = summary_fields(capsys.readouterr().out)
    assert 0.8 < float(fields["variance_scale"]) < 1.3
    assert fields["science_masked"] == "BAD:1"  # the one sigma <= 0 pixel
    assert main(["subtract", *images, "--output", str(tmp_path / "trap.fits"),
                 "--science-variance", f"{science}.err.fits",
                 "--template-variance", f"{template}.err.fits"]) == 1
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert "variance scaling factor" in error and "sigma rather than sigma^2" in error
    with pytest.raises(SystemExit) as usage:
        main(["subtract", *images, "--output", str(tmp_path / "both.fits"),
              "--science-variance", f"{science}.err.fits",
              "--science-noise", f"{science}.err.fits"])
    assert usage.value.code == 2
    assert "--science-noise: not allowed with argument --science-variance" in capsys.readouterr().err



def test_a_noisy_measured_psf_has_a_width_for_detection(tmp_path, capsys):
    """DECam OBS18a (FWHM 3.5 px) as the science, OBS04a (4.8 px) as the template.

    Its difference's measured PSF image is noisy: unweighted second moments at the
    centre of ixx 4.63, iyy 8.87, ixy 10.4 (a negative determinant) stopped
    ``--catalog`` with a PsfError. Adaptive moments give it a width, and the catalogue
    is written when the sharper science image is the one convolved (the command's
    default, ``--mode auto``). Convolving the wider template, which no kernel can
    sharpen, keeps 0.91 of the stars' flux in a kernel with negative lobes of 0.71 of its
    positive sum, and leaves the matched stars 1.05 times as wide: within the default
    badKernelWidthThreshold (0.06, set above NIRCam's 1.03 subtracted the right way), a
    one-line bad-subtraction error at 0.04 (before the spatial order was bounded by its
    leverage, a quadratic kernel through 7 stars, leverage 4e4, failed the footprint
    ratio instead).
    """
    from diffim.io.exposure_fits import read_exposure

    catalog, output = tmp_path / "diasources.fits", tmp_path / "diff.fits"
    images = ["--science", str(DECAM_DIR / "DEC-OBS18a.mini.fits"),
              "--template", str(DECAM_DIR / "DEC-OBS04a.mini.fits")]
    assert main(["subtract", *images, "--output", str(output), "--catalog", str(catalog)]) == 0
    assert "mode=convolveScience" in capsys.readouterr().out
    assert catalog.exists()
    assert 1.5 < read_exposure(output).psf.computeSigma(127.5, 127.5) < 2.5
    assert main(["subtract", *images, "--mode", "convolveTemplate", "--output",
                 str(tmp_path / "template.fits"), "--catalog", str(tmp_path / "t.cat.fits"),
                 "-c", "makeKernel.kernel.active.badKernelWidthThreshold=0.04"]) == 1
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and error.startswith("diffim subtract: error: bad subtraction: ")
    assert "1.05 times as wide" in error and "a deconvolution" in error


def test_a_sharper_science_image_is_the_one_convolved_by_default(tmp_path, capsys):
    """DECam OBS18c as the science against OBS04c: convolving the wider template is a
    deconvolution (kernel sum 0.47, robust std 1.0, which only the kernel-match check
    stops); the command convolves the sharper image by default, as HOTPANTS does, and
    ``-c mode=`` still rules."""
    images = ["--science", str(DECAM_DIR / "DEC-OBS18c.mini.fits"),
              "--template", str(DECAM_DIR / "DEC-OBS04c.mini.fits")]
    assert main(["subtract", *images, "--output", str(tmp_path / "auto.fits")]) == 0
    fields = summary_fields(capsys.readouterr().out)
    assert fields["mode"] == "convolveScience"
    assert float(fields["kernel_sum"]) == pytest.approx(1.0, abs=0.03)
    assert main(["subtract", *images, "--output", str(tmp_path / "forced.fits"),
                 "-c", "mode=preconvolve"]) == 0
    assert summary_fields(capsys.readouterr().out)["mode"] == "preconvolve"
