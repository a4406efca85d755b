"""The decorrelation afterburner on an LSST-detector-sized (4k x 4k) difference."""
import numpy as np

from diffim.psf import GaussianPsf
from diffim.subtract.decorrelate import decorrelate

SIZE = 4096


def test_decorrelate_4k(benchmark):
    rng = np.random.default_rng(0)
    difference = rng.normal(0.0, 1.0, (SIZE, SIZE)).astype(np.float32)
    variance = np.full((SIZE, SIZE), 2.0, np.float32)
    kernel = GaussianPsf(1.5, size=25).computeKernelImage(0, 0)
    result = benchmark.pedantic(decorrelate, args=(difference, variance, kernel, 1.0, 1.0),
                                rounds=5, warmup_rounds=1)
    assert result.image.shape == (SIZE, SIZE)
