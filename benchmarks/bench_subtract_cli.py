"""`diffim subtract` as a user runs it, per stage and as a whole process, at 1k, 2k and 4k.

The inputs are what users bring from other surveys: plain single-image FITS
files with separate variance images and no PSF (a simulated pair with
Gaussian PSFs, sigma 2.0 and 1.4 px, gain 1, read noise 5, 300 stars per
million pixels; the true kernel sum is 0.9), as
`side_by_side.write_simulated_pair` writes it. Stages, as the command runs
them: reading both images and variances, the PSF estimate of each image,
kernel-source selection, the kernel fit with the convolution, variance and
mask, the differential background's refit on the whole image,
decorrelation, writing, and the statistics of the summary line. The whole
process runs in a child interpreter that reports its own peak resident
memory (VmHWM) and its CPU time (user + system, the figure that stays
honest on a loaded machine) in ``extra_info``. Side by side with HOTPANTS:
``benchmarks/side_by_side.py``. Benchmarks assert
quality (kernel sum), never time.
"""
import resource
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from side_by_side import TRUE_KERNEL_SUM, write_simulated_pair

from diffim.io.exposure_fits import read_exposure, write_exposure
from diffim.measure.quality import residual_summary
from diffim.io.plain_fits import read_plain_image
from diffim.psf import measure_psf
from diffim.psfmatch import convolve_exposure
from diffim.psfmatch.make_kernel import MakeKernelTask
from diffim.sources.kernel_sources import SignalToNoiseConfig, select_kernel_sources
from diffim.subtract import AlardLuptonSubtractConfig, AlardLuptonSubtractTask
from diffim.subtract.background import refine_background
from diffim.subtract.decorrelate import decorrelate, mean_variance

BAD_FOR_PSF = ("SAT", "BAD", "NO_DATA", "CR", "EDGE")
DATA = Path(__file__).resolve().parent.parent / "tests" / "data"

# Runs the command line as typed and prints the process's peak memory (kB) on stderr.
_CLI_SCRIPT = """
import sys
from diffim.cli.main import main
status = main(sys.argv[1:])
with open("/proc/self/status") as lines:
    print(next(line.split()[1] for line in lines if line.startswith("VmHWM")), file=sys.stderr)
sys.exit(status)
"""


@pytest.fixture(scope="module", params=[1024, 2048, 4096], ids=lambda size: f"{size}px")
def plain_pair(request, tmp_path_factory):
    """Paths of science, template and their variance images, as plain FITS files."""
    return write_simulated_pair(request.param, tmp_path_factory.mktemp(f"plain{request.param}"))


def read_plain_pair(plain_pair):
    """Both exposures, read as ``diffim subtract`` reads them with variance maps given."""
    return {role: read_exposure(image, variance=read_plain_image(variance))
            for role, (image, variance) in plain_pair.items()}


@pytest.fixture(scope="module")
def read_pair(plain_pair):
    return read_plain_pair(plain_pair)


@pytest.fixture(scope="module")
def with_psfs(read_pair):
    pair = {}
    for role, exposure in read_pair.items():
        view = exposure[exposure.bbox]
        view.psf = measure_psf(view.image, view.variance, view.mask.get(
            [p for p in BAD_FOR_PSF if p in view.mask.planes]), view.xy0).psf
        pair[role] = view
    return pair


def test_read(benchmark, plain_pair):
    """Both images and both variance maps, as ``diffim subtract`` reads them."""
    read = benchmark.pedantic(read_plain_pair, args=(plain_pair,), rounds=3)
    assert all(exposure.image.dtype == np.float32 for exposure in read.values())


@pytest.mark.parametrize("role", ["science", "template"])
def test_psf_estimate(benchmark, read_pair, role):
    exposure = read_pair[role]
    bad = exposure.mask.get([p for p in BAD_FOR_PSF if p in exposure.mask.planes])
    measured = benchmark.pedantic(measure_psf, args=(exposure.image, exposure.variance, bad),
                                  rounds=3)
    benchmark.extra_info["fwhm"] = measured.fwhm
    assert measured.n_stars >= 10


def test_kernel_sources(benchmark, with_psfs):
    sources = benchmark.pedantic(select_kernel_sources,
                                 args=(with_psfs["science"], with_psfs["template"]),
                                 kwargs={"signal_to_noise": SignalToNoiseConfig()}, rounds=3)
    benchmark.extra_info["kernel_sources"] = len(sources)


def test_fit_and_convolution(benchmark, with_psfs):
    """Kernel fit, convolution of the template with variance and mask, difference."""
    science, template = with_psfs["science"], with_psfs["template"]
    sources = select_kernel_sources(science, template, signal_to_noise=SignalToNoiseConfig())

    def fit_and_convolve():
        fit = MakeKernelTask().run(template, science, sources)
        matched = convolve_exposure(template, fit.psfMatchingKernel,
                                    bad_mask_planes=["NO_DATA", "BAD", "SAT", "EDGE"])
        return fit, science.image - matched.image

    fit, _ = benchmark.pedantic(fit_and_convolve, rounds=3)
    kernel_sum = float(fit.psfMatchingKernel.kernel_sum(*science.bbox.center))
    assert kernel_sum == pytest.approx(TRUE_KERNEL_SUM, rel=1e-2)


def test_background_refit(benchmark, with_psfs):
    """The differential background refitted on the residual's clipped cell medians."""
    science, template = with_psfs["science"], with_psfs["template"]
    sources = select_kernel_sources(science, template, signal_to_noise=SignalToNoiseConfig())
    fit = MakeKernelTask().run(template, science, sources)
    matched = convolve_exposure(template, fit.psfMatchingKernel,
                                bad_mask_planes=["NO_DATA", "BAD", "SAT", "EDGE"])
    unusable = [(matched.mask.array, matched.mask.bitmask(["NO_DATA", "BAD", "SAT", "EDGE"]))]
    benchmark.pedantic(refine_background, args=(fit.backgroundModel, science.image, matched.image,
                                                unusable, science.bbox), rounds=3)


def test_decorrelation(benchmark, with_psfs):
    science, template = with_psfs["science"], with_psfs["template"]
    sources = select_kernel_sources(science, template, signal_to_noise=SignalToNoiseConfig())
    fit = MakeKernelTask().run(template, science, sources)
    kernel = fit.psfMatchingKernel
    matched = convolve_exposure(template, kernel, bad_mask_planes=["NO_DATA", "BAD", "SAT", "EDGE"])
    image = science.image - matched.image
    variance = science.variance + matched.variance
    usable = np.ones(image.shape, bool)
    benchmark.pedantic(decorrelate, args=(image, variance, kernel.image(*science.bbox.center)),
                       kwargs=dict(unconvolved_variance=mean_variance(science.variance, usable),
                                   convolved_variance=mean_variance(template.variance, usable)),
                       rounds=3)


def test_write(benchmark, with_psfs, tmp_path):
    task = AlardLuptonSubtractTask(config=AlardLuptonSubtractConfig())
    difference = task.run(with_psfs["template"], with_psfs["science"]).difference
    benchmark.pedantic(write_exposure, args=(difference, tmp_path / "difference.fits"), rounds=3)


def test_summary(benchmark, with_psfs):
    """Median, clipped mean, robust width and gradient of difference/sigma (the summary line)."""
    task = AlardLuptonSubtractTask(config=AlardLuptonSubtractConfig())
    difference = task.run(with_psfs["template"], with_psfs["science"]).difference
    summary = benchmark.pedantic(residual_summary,
                                 args=(difference, ("NO_DATA", "EDGE", "SAT", "BAD")), rounds=3)
    assert abs(summary["median"]) < 0.05
    assert summary["robust_std"] == pytest.approx(1.0, abs=0.05)


def test_whole_process(benchmark, plain_pair, tmp_path):
    """``diffim subtract`` in a fresh interpreter, imports included; peak memory in extra_info."""
    (science, science_variance), (template, template_variance) = (plain_pair["science"],
                                                                  plain_pair["template"])
    output = tmp_path / "difference.fits"
    _whole_process(benchmark, ["--science", str(science), "--template", str(template),
                               "--science-variance", str(science_variance),
                               "--template-variance", str(template_variance),
                               "--output", str(output)])
    with fits.open(output) as hdus:
        assert hdus[0].header["KERNSUM"] == pytest.approx(TRUE_KERNEL_SUM, rel=1e-2)


@pytest.mark.parametrize("science, template, options", [
    ("decam-sfft/DEC-OBS04a.mini.fits", "decam-sfft/DEC-OBS18a.mini.fits", []),
    ("nircam-sfft/a2744-2561-f200w.sci.fits", "nircam-sfft/a2744-1324-f200w.sci.fits",
     ["--science-fwhm", "2.3", "--template-fwhm", "2.3"])], ids=["decam256", "nircam640x512"])
def test_whole_process_real_pair(benchmark, science, template, options, tmp_path):
    """``diffim subtract`` on the real test pairs, plain images with a WCS (TPV, TAN), as
    typed (the DECam PSFs measured; the NIRCam cluster cutouts have too few stars); the
    WCS cards go through without astropy."""
    output = tmp_path / "difference.fits"
    _whole_process(benchmark, ["--science", str(DATA / science), "--template",
                               str(DATA / template), *options, "--output", str(output)])
    with fits.open(output) as hdus:
        assert hdus[0].header["KERNSUM"] == pytest.approx(1.0, abs=0.05)


def _whole_process(benchmark, arguments):
    """Benchmark ``diffim subtract ARGUMENTS`` in a child interpreter; its peak memory and
    median CPU time (user + system) in extra_info."""
    command = [sys.executable, "-c", _CLI_SCRIPT, "subtract", *arguments]
    cpu = []

    def run():
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        finished = subprocess.run(command, check=True, capture_output=True, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        return finished

    finished = benchmark.pedantic(run, rounds=3)
    benchmark.extra_info["peak_rss_mb"] = round(int(finished.stderr.split()[-1]) / 1024)
    benchmark.extra_info["median_cpu_s"] = round(statistics.median(cpu), 3)


@pytest.mark.parametrize("arguments", [["--help"], ["subtract", "--help"]],
                         ids=["diffim", "subtract"])
def test_help(benchmark, arguments):
    """``diffim [subtract] --help`` in a fresh interpreter: the imports a command pays up front."""
    command = [sys.executable, "-c", "import sys; from diffim.cli.main import main; main()",
               *arguments]
    finished = benchmark.pedantic(subprocess.run, args=(command,),
                                  kwargs=dict(check=True, capture_output=True, text=True),
                                  rounds=5)
    assert "usage: diffim" in finished.stdout
