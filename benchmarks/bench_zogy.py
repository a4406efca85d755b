"""ZOGY at LSST-detector size (4k x 4k): D and S_corr, the whole task, peak memory.

``test_zogy_difference_and_score`` times what the ZOGY speed target counts: the
proper difference D, the score S and their variance planes (so S_corr =
S / sqrt(var S)) from two float32 images, their variance planes and PSF
stamps (`diffim.zogy.proper.proper_images` with the filters of
`diffim.zogy.kernels.zogy_kernels`). ``test_zogy_task`` times `ZogyTask.run`
on a simulated pair (plus the matched images, the mask, the exposures).
Peak memory is measured in child processes (VmHWM), reported in ``extra_info``.
"""
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from diffim.io.exposure_fits import write_exposure
from diffim.sim import PairConfig, simulate_pair
from diffim.zogy import ZogyTask
from diffim.zogy.kernels import zogy_kernels
from diffim.zogy.proper import proper_images

SIZE = 4096
STAR_DENSITY = 300.0


@pytest.fixture(scope="module")
def pair():
    return simulate_pair(PairConfig(size=SIZE, seed=1, star_density=STAR_DENSITY))


def difference_and_score(new, ref, var_new, var_ref, psf_new, psf_ref):
    """D / F_d and S_corr, from scratch: filters, transforms, variance planes."""
    kernels = zogy_kernels(psf_new, psf_ref, float(np.median(var_new[::16, ::16])),
                           float(np.median(var_ref[::16, ::16])), 1.0 / 0.9)
    result = proper_images(new, ref, var_new, var_ref, kernels)
    np.sqrt(result.scoreVariance, out=result.scoreVariance)
    result.score /= result.scoreVariance
    return result


def _arrays(pair):
    centre = pair.science.bbox.center
    return (pair.science.image, pair.template.image / np.float32(0.9), pair.science.variance,
            pair.template.variance / np.float32(0.81),
            pair.science.psf.computeKernelImage(*centre),
            pair.template.psf.computeKernelImage(*centre))


def test_zogy_difference_and_score(benchmark, pair):
    arrays = _arrays(pair)
    result = benchmark.pedantic(difference_and_score, args=arrays, rounds=5, warmup_rounds=1)
    # CPU seconds of all threads: on a busy machine the wall time says little.
    start = time.process_time()
    difference_and_score(*arrays)
    benchmark.extra_info["cpu_seconds_all_threads"] = round(time.process_time() - start, 3)
    assert result.difference.shape == (SIZE, SIZE) and np.isfinite(result.score).all()


def test_zogy_task(benchmark, pair):
    task = ZogyTask()
    result = benchmark.pedantic(task.run, args=(pair.template, pair.science), rounds=3,
                                warmup_rounds=1)
    assert result.difference.shape == pair.science.shape


# VmHWM, not ru_maxrss: Linux carries ru_maxrss across execve, so a child of a
# large pytest process would report the parent's peak.
_PEAK_MEMORY_SCRIPT = """
import sys
import numpy as np
from diffim.io.exposure_fits import read_exposure
from diffim.sim import SimulatedPair
from diffim.zogy import ZogyTask
sys.path.insert(0, sys.argv[3])
from bench_zogy import _arrays, difference_and_score

def peak_kb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))

science, template = read_exposure(sys.argv[1]), read_exposure(sys.argv[2])
if sys.argv[4] == "core":
    pair = SimulatedPair(science, template, None, None, None)
    arrays = _arrays(pair)
    del science, template, pair
    before = peak_kb()
    difference_and_score(*arrays)
else:
    before = peak_kb()
    ZogyTask().run(template, science)
print(before, peak_kb())
"""


@pytest.mark.parametrize("what", ["core", "task"])
def test_zogy_peak_memory_4k(benchmark, tmp_path, pair, what):
    """Peak resident memory (VmHWM) of a process that reads a 4k pair and runs ZOGY."""
    paths = [tmp_path / "science.fits", tmp_path / "template.fits"]
    write_exposure(pair.science, paths[0])
    write_exposure(pair.template, paths[1])

    def measure():
        output = subprocess.run(
            [sys.executable, "-c", _PEAK_MEMORY_SCRIPT, *map(str, paths),
             str(Path(__file__).parent), what],
            check=True, capture_output=True, text=True).stdout.split()
        return [int(value) / 1024 for value in output]

    before_mb, after_mb = benchmark.pedantic(measure, rounds=1)
    benchmark.extra_info["peak_rss_mb_inputs_read"] = round(before_mb)
    benchmark.extra_info["peak_rss_mb_after_zogy"] = round(after_mb)
    assert after_mb >= before_mb
