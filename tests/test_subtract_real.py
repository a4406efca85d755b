"""Subtraction of real DECam pixels: OBS18 templates from OBS04 science images."""
import numpy as np
import pytest

from diffim.image.stats import robust_median_sigma
from diffim.io.exposure_fits import read_exposure
from diffim.subtract import AlardLuptonSubtractConfig, AlardLuptonSubtractTask

EPOCHS = "abcde"


@pytest.fixture(scope="module")
def decam_results(request):
    from conftest import DECAM_DIR

    config = AlardLuptonSubtractConfig()
    # 256 x 256 cutouts hold a handful of usable stars: a constant kernel.
    config.makeKernel.kernel.active.spatialKernelOrder = 0
    config.makeKernel.kernel.active.spatialBgOrder = 0
    config.doScaleVariance = False
    results = {}
    for epoch in EPOCHS:
        science = read_exposure(DECAM_DIR / f"DEC-OBS04{epoch}.mini.fits")
        template = read_exposure(DECAM_DIR / f"DEC-OBS18{epoch}.mini.fits")
        task = AlardLuptonSubtractTask(config=config)
        results[epoch] = (task.run(template, science).difference, task.metadata)
    return results


def test_real_pairs_subtract_to_noise_away_from_stars(decam_results):
    for epoch, (difference, metadata) in decam_results.items():
        good = ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "SAT_TEMPLATE", "BAD"])
        normalised = difference.image[good] / np.sqrt(difference.variance[good])
        # Stars leave a few outliers; the robust width is set by the sky.
        std = robust_median_sigma(normalised)[1]
        assert 0.85 < std < 1.10, f"OBS04{epoch}: robust std {std:.3f}"
        assert metadata["nKernelSources"] >= 3


def test_real_kernel_sums_are_consistent(decam_results):
    sums = np.array([metadata["kernelSum"] for _, metadata in decam_results.values()])
    # Same field, same filter, similar transparency: sums within a few percent of each other.
    assert np.all((sums > 0.95) & (sums < 1.10)), sums
    assert sums.max() - sums.min() < 0.08, sums


def test_defaults_subtract_the_real_pairs_with_or_without_their_sky():
    """No configuration: 256 px cutouts with 3-5 usable stars get a constant kernel, and
    the same images with their sky added back (AVSKY) give the same subtraction."""
    from conftest import DECAM_DIR

    for epoch in "ae":
        science = read_exposure(DECAM_DIR / f"DEC-OBS04{epoch}.mini.fits")
        template = read_exposure(DECAM_DIR / f"DEC-OBS18{epoch}.mini.fits")
        results = []
        for with_sky in (False, True):
            if with_sky:
                for exposure in (science, template):
                    exposure.image += np.float32(
                        read_header(exposure.metadata["SOURCE_FILE"])["AVSKY"])
            task = AlardLuptonSubtractTask()
            difference = task.run(template, science).difference
            good = ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "SAT_TEMPLATE", "BAD"])
            z = difference.image[good] / np.sqrt(difference.variance[good])
            assert abs(np.median(z)) < 0.1, (epoch, with_sky)
            assert task.makeKernel.metadata["spatialKernelOrderUsed"] < 2
            results.append(task.metadata["kernelSum"])
        assert results[1] == pytest.approx(results[0], rel=0.01), epoch
        assert 0.98 < results[0] < 1.06


def test_defaults_leave_little_near_the_bright_stars():
    """Within 3 px of the brightest 0.5 % of template pixels (the stars' cores), the
    difference is near noise on pairs a, b and d: their brightest star (S/N 830-850)
    is a kernel source. On pairs c and e that star is rejected: its single-kernel sum
    is 10 standard errors below the other stars' on c (0.960 +- 0.005 against
    1.011-1.035), its PSF-flux ratio 10 % above theirs on e (1.17 against 1.06); its
    residual stays (near-bright std 4.1 and 4.3)."""
    from conftest import DECAM_DIR
    from scipy.ndimage import binary_dilation

    for epoch, limit in zip("abd", (1.3, 1.4, 1.9)):
        science = read_exposure(DECAM_DIR / f"DEC-OBS04{epoch}.mini.fits")
        template = read_exposure(DECAM_DIR / f"DEC-OBS18{epoch}.mini.fits")
        difference = AlardLuptonSubtractTask().run(template, science).difference
        good = ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "SAT_TEMPLATE", "BAD"])
        bright = template.image > np.percentile(template.image, 99.5)
        near = binary_dilation(bright, iterations=3) & good
        z = difference.image[near] / np.sqrt(difference.variance[near])
        assert z.std() < limit, (epoch, z.std())


def read_header(path):
    from astropy.io import fits

    return fits.getheader(path)


def test_jwst_cluster_pair_with_bad_pixels_runs_by_default(tmp_path, capsys):
    """NIRCam F200W on Abell 2744: five NaN template pixels and a noise map with a
    pixel <= 0 are masked, not fatal; away from the cluster galaxies the difference is
    noise. (Near its bright sources: the next test.)"""
    from astropy.io import fits
    from conftest import NIRCAM_DIR

    from diffim.cli.main import main

    paths = {}
    for role, name in (("science", "a2744-2561-f200w"), ("template", "a2744-1324-f200w")):
        noise = fits.getdata(NIRCAM_DIR / f"{name}.err.fits").astype(np.float64)
        variance = np.where(noise > 0, noise ** 2, 0.0)  # a noise <= 0 is no variance
        paths[role] = tmp_path / f"{role}.var.fits"
        fits.PrimaryHDU(variance.astype(np.float32)).writeto(paths[role])
    output = tmp_path / "diff.fits"
    assert main(["subtract", "--science", str(NIRCAM_DIR / "a2744-2561-f200w.sci.fits"),
                 "--template", str(NIRCAM_DIR / "a2744-1324-f200w.sci.fits"),
                 "--science-variance", str(paths["science"]),
                 "--template-variance", str(paths["template"]),
                 "--science-fwhm", "2.3", "--template-fwhm", "2.3",
                 "--output", str(output)]) == 0
    fields = dict(item.split("=", 1) for item in capsys.readouterr().out.split() if "=" in item)
    assert fields["science_masked"].startswith("BAD:1")
    assert fields["template_masked"].startswith("NO_DATA:5")
    assert abs(float(fields["median(diff/sigma)"])) < 0.1
    assert 0.98 < float(fields["kernel_sum"]) < 1.02
    assert int(fields["kernel_sources"]) >= 20


def test_jwst_cluster_pair_near_its_bright_sources(tmp_path):
    """Where 1.3x the noise near the bright sources is reached on the NIRCam pair, and
    where it cannot be. Over 90 % of the near-bright residual power sits on one star
    (x=19, y=383) whose diffraction pattern differs between the two programmes'
    pointings: no convolution kernel maps one onto the other (near-bright std 5-10
    here; HOTPANTS 16.8; SFFT's published difference 2.65 on this cutout). Around
    the cluster galaxies the Gaussian basis cannot follow NIRCam's structured PSF
    (std 2.85); `diffim subtract` keeps the delta-function kernel instead, which
    predicts the bright sources outside the kernel-source stamps 1.5 times better
    (chi^2; diffim.psfmatch.held_out), and reaches 1.16 (tests/data/README.md,
    ninth pass)."""
    from astropy.io import fits
    from conftest import NIRCAM_DIR
    from scipy.ndimage import binary_dilation

    from diffim.cli.main import main
    from diffim.io.exposure_fits import read_exposure as read

    args = []
    for role, name in (("science", "a2744-2561-f200w"), ("template", "a2744-1324-f200w")):
        noise = fits.getdata(NIRCAM_DIR / f"{name}.err.fits").astype(np.float64)
        path = tmp_path / f"{role}.var.fits"
        fits.PrimaryHDU(np.where(noise > 0, noise ** 2, 0.0).astype(np.float32)).writeto(path)
        args += [f"--{role}", str(NIRCAM_DIR / f"{name}.sci.fits"), f"--{role}-variance",
                 str(path), f"--{role}-fwhm", "2.3"]
    template = np.nan_to_num(fits.getdata(NIRCAM_DIR / "a2744-1324-f200w.sci.fits"))
    near = binary_dilation(template > np.percentile(template, 99.5), iterations=3)
    yy, xx = np.mgrid[:template.shape[0], :template.shape[1]]
    star = np.hypot(xx - 19, yy - 383) < 15
    spreads, bases = {}, {}
    for choose in (True, False):
        output = tmp_path / f"diff_{choose}.fits"
        assert main(["subtract", *args, "-c", f"makeKernel.kernel['AL'].doChooseBasis={choose}",
                     "--output", str(output)]) == 0
        bases[choose] = fits.getheader(output)["KBASIS"]
        difference = read(output)
        good = ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "SAT_TEMPLATE", "BAD"])
        z = difference.image / np.sqrt(np.where(good, difference.variance, 1.0))
        spreads[choose] = (z[near & good].std(), z[near & good & ~star].std())
    assert bases == {True: "delta-function", False: "alard-lupton"}
    assert spreads[True][1] < 1.2 < 2.0 < spreads[False][1]
    assert min(spreads[True][0], spreads[False][0]) > 5.0
