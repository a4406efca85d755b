"""DetectAndMeasureTask on a 4k x 4k difference with ~1000 sources.

The difference is built directly: unit Gaussian noise, a Gaussian PSF
(sigma 2 px), ~1000 point sources of both signs with fluxes 300-10000 and
~20 dipoles (lobes 3 px apart). Default config (detection at 5 sigma,
merge, measurement, dipole fitting, forced photometry on the difference
and the template), and detection alone. The number of sources found is
reported in ``extra_info``, with the false detections per megapixel of a
4k pure-noise difference, and the median CPU seconds of the rounds (user +
sys, all threads: on a shared machine the wall time says more of the load).
"""
import statistics
import time

import numpy as np
import pytest

from diffim import Exposure
from diffim.measure import DetectAndMeasureTask
from diffim.measure.footprints import detect_footprints
from diffim.psf import GaussianPsf, InterpolatedPsf

SIZE = 4096
N_SOURCES = 1000
N_DIPOLES = 20


def noise(seed):
    rng = np.random.default_rng(seed)
    return Exposure(rng.normal(0.0, 1.0, (SIZE, SIZE)).astype(np.float32),
                    np.ones((SIZE, SIZE), np.float32), psf=GaussianPsf(2.0))


def add_point(exposure, x, y, flux):
    stamp, box = exposure.psf.computeImage(x, y)
    exposure.image[box.slices_in(exposure.bbox)] += np.float32(flux) * stamp.astype(np.float32)


def cpu_timed(benchmark, function, args, rounds, warmup_rounds=0):
    """``benchmark.pedantic`` of ``function(*args)``; the rounds' median CPU seconds in
    ``extra_info["cpu_s"]``."""
    seconds = []

    def timed():
        start = time.process_time()
        result = function(*args)
        seconds.append(time.process_time() - start)
        return result

    result = benchmark.pedantic(timed, rounds=rounds, warmup_rounds=warmup_rounds)
    benchmark.extra_info["cpu_s"] = round(statistics.median(seconds[warmup_rounds:]), 3)
    return result


@pytest.fixture(scope="module")
def difference():
    exposure = noise(1)
    rng = np.random.default_rng(2)
    for x, y in rng.uniform(40, SIZE - 40, (N_SOURCES, 2)):
        add_point(exposure, x, y, rng.choice([-1, 1]) * rng.uniform(300, 10000))
    for x, y in rng.uniform(40, SIZE - 40, (N_DIPOLES, 2)):
        add_point(exposure, x + 1.5, y, 5000.0)
        add_point(exposure, x - 1.5, y, -5000.0)
    return exposure


def test_detect_and_measure_4k(benchmark, difference):
    template = noise(3)
    task = DetectAndMeasureTask()
    result = cpu_timed(benchmark, task.run, (difference, template, difference), rounds=5,
                       warmup_rounds=1)
    benchmark.extra_info.update({key: value for key, value in task.metadata.items()
                                 if isinstance(value, int)})
    assert task.metadata["nDiaSources"] >= 0.9 * (N_SOURCES + N_DIPOLES)
    assert task.metadata["nDipoles"] >= 0.9 * N_DIPOLES
    assert len(result.diaSources) == task.metadata["nDiaSources"]


def test_detect_footprints_4k(benchmark, difference):
    """Detection alone: significance image, thresholds, grown footprints, labels, peaks."""
    good = np.ones(difference.shape, bool)
    footprints = cpu_timed(benchmark, detect_footprints,
                           (difference.image, difference.variance, good, 2.0), rounds=5,
                           warmup_rounds=1)
    benchmark.extra_info["footprints"] = footprints.count
    assert footprints.count >= 0.9 * (N_SOURCES + N_DIPOLES)


def test_detect_and_measure_4k_interpolated_psf(benchmark, difference):
    """The same difference with the kind of PSF a subtraction gives it: kernel images on a
    5 x 5 grid (`InterpolatedPsf`), whose FWHM is a Moffat fit and whose images are
    interpolated and shifted at every dipole-fit step."""
    psf = InterpolatedPsf.from_model(lambda x, y: GaussianPsf(2.0 + 1e-5 * (x + y)),
                                     difference.bbox, 5, 5)
    with_grid = Exposure(difference.image, difference.variance, psf=psf)
    task = DetectAndMeasureTask()
    cpu_timed(benchmark, task.run, (with_grid, noise(3), with_grid), rounds=3, warmup_rounds=1)
    assert task.metadata["nDipoles"] >= 0.9 * N_DIPOLES


def test_false_detections_4k_noise(benchmark):
    difference, template = noise(4), noise(5)
    task = DetectAndMeasureTask()
    result = cpu_timed(benchmark, task.run, (difference, template, difference), rounds=3)
    per_megapixel = len(result.diaSources) / (SIZE * SIZE / 1e6)
    benchmark.extra_info["false_detections_per_mpx"] = per_megapixel
    assert per_megapixel < 3.0
