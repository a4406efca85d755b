"""The kernel-match check: flux and width of the matched kernel sources, measured on the pixels."""
import math

import numpy as np
import pytest

from diffim import Exposure
from diffim.cli.main import main
from diffim.psf import GaussianPsf
from diffim.psfmatch.errors import BadKernelMatchError
from diffim.psfmatch.match_check import (
    _Sky,
    _convolve_valid,
    aperture_fluxes,
    check_kernel_match,
    matched_width_ratio,
)
from diffim.subtract import AlardLuptonSubtractConfig, AlardLuptonSubtractTask


def _star_field(sigma=1.5, flux=1e4, sky=100.0, positions=((40, 40), (5, 60), (70, 20))):
    """Noise-free Gaussian stars of ``flux`` on a flat ``sky``, 96 x 96 px."""
    psf = GaussianPsf(sigma)
    image = np.full((96, 96), sky)
    for x, y in positions:
        stamp, box = psf.computeImage(x, y)
        rows = slice(max(box.y0, 0), min(box.y_end, 96))
        cols = slice(max(box.x0, 0), min(box.x_end, 96))
        image[rows, cols] += flux * stamp[rows.start - box.y0:rows.stop - box.y0,
                                          cols.start - box.x0:cols.stop - box.x0]
    return Exposure(image.astype(np.float32), np.ones((96, 96), np.float32), psf=psf)


def test_the_stamp_convolution_is_scipys_valid_convolution():
    from scipy.signal import convolve2d

    rng = np.random.default_rng(3)
    image, kernel = rng.normal(size=(41, 37)), rng.normal(size=(21, 15))
    np.testing.assert_allclose(_convolve_valid(image, kernel),
                               convolve2d(image, kernel, mode="valid"), rtol=1e-12, atol=1e-12)


def test_aperture_fluxes_are_the_stars_fluxes_less_the_sky():
    exposure = _star_field()
    bad = np.zeros((96, 96), bool)
    bad[20, 70] = True
    exposure.mask.set("BAD", bad)
    radius = 2.0 * 1.5 * 2.3548
    fluxes = aperture_fluxes(_Sky(exposure), np.array([40.0, 5.0, 70.0]),
                             np.array([40.0, 60.0, 20.0]), radius)
    # A Gaussian holds 1 - exp(-r^2 / 2 sigma^2) of its flux within r: 0.99998 at 2 FWHM.
    assert fluxes[0] == pytest.approx(1e4 * (1 - math.exp(-radius ** 2 / (2 * 1.5 ** 2))),
                                      rel=2e-3)
    # Too near the edge, or a BAD pixel in the disc: not measured.
    assert np.isnan(fluxes[1]) and np.isnan(fluxes[2])


def _match(flux_ratio=1.0, width_ratio=1.0, fwhms=(5.4, 3.3)):
    return {"flux_ratio": flux_ratio, "flux_sources": 3, "width_ratio": width_ratio,
            "width_sources": 3, "radius": 10.8, "fwhms": fwhms}


def test_check_names_the_numbers_and_the_deconvolution():
    check_kernel_match(_match(1.19, 1.07), 1.0, 0.2, 0.08)
    check_kernel_match(_match(math.nan, math.nan), 1.0, 0.2, 0.08)  # nothing measured: no verdict
    with pytest.raises(BadKernelMatchError, match=r"predicts 0\.48 of the flux measured at 3 "
                       r"kernel sources.*FWHM 5\.40 px.*\(3\.30 px\): a deconvolution.*"
                       r"badKernelFluxThreshold=0\.2"):
        check_kernel_match(_match(0.48), 0.466, 0.2, 0.08)
    with pytest.raises(BadKernelMatchError, match=r"1\.12 times as wide.*badKernelWidthThreshold"):
        check_kernel_match(_match(1.0, 1.12), 1.0, 0.2, 0.08)
    check_kernel_match(_match(1.0, 1.5), 1.0, 0.2, 0.0)  # a threshold of 0: not checked
    check_kernel_match({**_match(1.0, 1.5), "width_sources": 2}, 1.0, 0.2, 0.08)  # too few
    with pytest.raises(BadKernelMatchError) as narrower:
        check_kernel_match(_match(1.0, 0.9, fwhms=(3.0, 4.0)), 1.0, 0.2, 0.08)
    assert "deconvolution" not in str(narrower.value)


@pytest.fixture(scope="module")
def sky_pair():
    """The real-images pair with sky at 512 px: science PSF 5 px, template 3.5 px, flux ratio 0.9."""
    from test_subtract_sky import simulate_sky_pair

    return simulate_sky_pair(512, seed=1)


def _subtract(pair, **fields):
    config = AlardLuptonSubtractConfig()
    for name, value in fields.items():
        setattr(config.makeKernel.kernel.active if name != "mode" else config, name, value)
    task = AlardLuptonSubtractTask(config=config)
    task.run(pair.template, pair.science)
    return task.getFullMetadata()["makeKernel"]


def test_the_right_direction_matches_flux_and_width(sky_pair):
    metadata = _subtract(sky_pair)  # the template (3.5 px) convolved: no error
    assert metadata["kernelFluxRatio"] == pytest.approx(1.0, abs=0.05)
    assert metadata["kernelWidthRatio"] == pytest.approx(1.0, abs=0.03)
    assert "kernelWidthRatio" not in _subtract(sky_pair, badKernelWidthThreshold=0.0)


def test_the_width_ratio_sums_the_stars_each_on_its_own_sky():
    """A kernel that matches exactly, and three faint stars of the reference on a sky 5
    counts above the bright star's, which the 128 px sky grid does not follow: a median of
    per-star width ratios on the grid's sky is theirs (1.11 on the campaign's coadd-template
    pair); summed, each stamp on the median of its outer ring, it is 1."""
    from diffim.subtract.preconvolve import fixed_kernel

    positions = ((30, 30), (66, 30), (30, 66), (66, 66))
    convolved = _star_field(1.5, 2e3, 100.0, positions)
    reference = _star_field(2.0, 2e3, 100.0, positions)
    bright_convolved = _star_field(1.5, 1e5 - 2e3, 0.0, positions[:1])
    bright_reference = _star_field(2.0, 1e5 - 2e3, 0.0, positions[:1])
    convolved.image += bright_convolved.image
    reference.image += bright_reference.image
    yy, xx = np.mgrid[:96, :96]
    reference.image[(np.abs(xx - 30) > 18) | (np.abs(yy - 30) > 18)] += np.float32(5.0)
    offsets = np.arange(-7, 8)
    sigma = math.sqrt(2.0 ** 2 - 1.5 ** 2)
    profile = np.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = fixed_kernel(np.outer(profile, profile) / profile.sum() ** 2, reference.bbox)
    x, y = (np.array(c, float) for c in zip(*positions))
    ratio, count = matched_width_ratio(_Sky(convolved), _Sky(reference), kernel, x, y, 10)
    assert count == 4
    assert ratio == pytest.approx(1.0, abs=2e-3)


def test_a_forced_deconvolution_is_a_bad_subtraction(sky_pair):
    # Convolving the 5 px science image towards the 3.5 px template: the kernel
    # sheds flux (0.56) and the matched stars stay wider (checked by default).
    with pytest.raises(BadKernelMatchError, match="a deconvolution") as error:
        _subtract(sky_pair, mode="convolveScience")
    assert "badKernelFluxThreshold" in str(error.value) and "\n" not in str(error.value)
    with pytest.raises(BadKernelMatchError, match="times as wide"):
        _subtract(sky_pair, mode="convolveScience", badKernelFluxThreshold=0.9)
    metadata = _subtract(sky_pair, mode="convolveScience", raiseOnBadKernelMatch=False)
    assert metadata["kernelFluxRatio"] < 0.8 and metadata["kernelWidthRatio"] > 1.1


def test_the_real_deconvolution_that_passed_every_check_stops(tmp_path, capsys):
    """DECam OBS18c (FWHM 3.3 px) as science with its wider template OBS04c (5.4 px)
    convolved: kernel sum 0.466, robust std 1.0 and a footprint ratio of 0.16 let it
    through; the stars' measured flux ratio says the kernel keeps 0.49 of their flux (0.47
    of it with a constant kernel, kernel sum 0.455, since its three stars no longer carry a
    plane when two of them would determine its slope alone: leverage above 100)."""
    from conftest import DECAM_DIR

    images = ["--science", str(DECAM_DIR / "DEC-OBS18c.mini.fits"),
              "--template", str(DECAM_DIR / "DEC-OBS04c.mini.fits")]
    output = tmp_path / "forced.fits"
    assert main(["subtract", *images, "--output", str(output), "--mode", "convolveTemplate"]) == 1
    error = capsys.readouterr().err.strip()
    assert "\n" not in error and not output.exists()
    assert "kernel (sum 0.455) predicts 0.47 of the flux" in error
    assert "a deconvolution, convolve the other image (mode=auto)" in error
    assert main(["subtract", *images, "--output", str(output), "--mode", "convolveTemplate",
                 "-c", "makeKernel.kernel.active.raiseOnBadKernelMatch=False"]) == 0
