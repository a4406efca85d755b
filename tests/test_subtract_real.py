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
