"""MakeCoaddTask: four 4k x 4k calexps combined onto a 4k x 4k patch.

The calexps share a sky position with pointing offsets of tens of pixels and
small rotations, different seeing (spatially varying Gaussian PSFs) and zero
points; the patch is a tract's middle patch whose outer box is 4096 x 4096.
The time covers input checks and weights, four Lanczos-3 warps (each with
its 5 x 5 warped PSF), calibration, the per-pixel combination, the mask and
the 5 x 5 coadd PSF. ``extra_info`` gives the NO_DATA fraction.
"""
import math

import numpy as np
import pytest

from diffim import Exposure, PhotoCalib
from diffim.coadd import MakeCoaddConfig, MakeCoaddTask
from diffim.geom import Box
from diffim.psf import GaussianPsf, VaryingPsf
from diffim.sim import pointing_wcs
from diffim.sky.skymap import SkyMap, SkyMapConfig

SIZE = 4096
RA, DEC = 150.0, 2.0
# Pointing offset (arcsec), rotation (degrees), PSF sigma (px), zero point.
POINTINGS = [((0.0, 0.0), 0.0, 1.5, 28.0), ((9.1, -6.3), 0.3, 1.8, 27.7),
             ((-7.4, 5.2), -0.2, 2.1, 28.2), ((4.0, 8.8), 0.1, 2.4, 27.9)]


@pytest.fixture(scope="module")
def calexps():
    rng = np.random.default_rng(2)
    bbox = Box(0, 0, SIZE, SIZE)
    exposures = []
    for (dx, dy), rotation, sigma, zero_point in POINTINGS:
        wcs = pointing_wcs(RA + dx / 3600.0 / math.cos(math.radians(DEC)), DEC + dy / 3600.0,
                           bbox.center, 0.2, rotation)
        psf = VaryingPsf(GaussianPsf, {"sigma_x": [[sigma, 0.1], [0.1, 0.0]]}, bbox)
        image = rng.normal(0.0, 10.0, bbox.shape).astype(np.float32)
        exposure = Exposure(image, np.full(bbox.shape, 100.0, np.float32), wcs=wcs, psf=psf,
                            photo_calib=PhotoCalib(zero_point))
        exposure.mask.set("SAT", image > 40.0)
        exposures.append(exposure)
    return exposures


@pytest.fixture(scope="module")
def skymap():
    config = SkyMapConfig()
    config.raList, config.decList, config.radiusList = [RA], [DEC], [0.32]
    config.tractOverlap = 0.0
    config.patchInnerDimensions = [3900, 3900]
    config.patchBorder = 98
    return SkyMap(config)


@pytest.mark.parametrize("statistic", ["MEAN", "MEANCLIP"])
def test_coadd_4k(benchmark, calexps, skymap, statistic):
    config = MakeCoaddConfig()
    config.statistic = statistic
    task = MakeCoaddTask(config, threads=2)
    patch = skymap[0].patch((1, 1))
    assert patch.outer_bbox.shape == (SIZE, SIZE)
    result = benchmark.pedantic(task.run, args=(calexps, skymap, 0, patch), rounds=3,
                                warmup_rounds=1)
    coadd = result.coadds[(0, patch.sequential_index)]
    benchmark.extra_info["no_data_fraction"] = float(coadd.mask.get("NO_DATA").mean())
    assert coadd.shape == (SIZE, SIZE)
