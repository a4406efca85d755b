"""Warping an LSST-detector-sized (4k x 4k) exposure onto another WCS.

The input has a TAN-SIP WCS (5 px of radial distortion at the corners), a
spatially varying PSF and a few mask bits; the target is the same pointing
shifted by (7.3, -4.1) px and rotated by 0.5 degrees, as a template is
warped onto a science detector. The time includes the coordinate grid, the
area ratios, the PSF carried to the target (5 x 5 kernel images) and the
compiled resampling of image, variance and mask.
"""
import math

import numpy as np
import pytest

from diffim import Exposure
from diffim.geom import Box
from diffim.psf import GaussianPsf, VaryingPsf
from diffim.sim import offset_wcs, pointing_wcs
from diffim.warp.warper import warp_exposure

SIZE = 4096


@pytest.fixture(scope="module")
def exposure():
    rng = np.random.default_rng(1)
    bbox = Box(0, 0, SIZE, SIZE)
    wcs = pointing_wcs(150.0, 2.0, bbox.center, distortion=5.0,
                       half_diagonal=math.hypot(SIZE - 1, SIZE - 1) / 2.0)
    psf = VaryingPsf(GaussianPsf, {"sigma_x": [[2.0, 0.1], [0.1, 0.0]]}, bbox)
    image = rng.normal(0.0, 10.0, bbox.shape).astype(np.float32)
    exposure = Exposure(image, np.full(bbox.shape, 100.0, np.float32), wcs=wcs, psf=psf)
    exposure.mask.set("SAT", image > 40.0)
    return exposure


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("kernel", ["lanczos3", "bilinear"])
def test_warp_4k(benchmark, exposure, kernel, threads):
    target_wcs = offset_wcs(exposure.wcs, (7.3, -4.1), 0.5)
    warped = benchmark.pedantic(warp_exposure, args=(exposure, target_wcs, exposure.bbox),
                                kwargs={"kernel": kernel, "threads": threads}, rounds=5,
                                warmup_rounds=1)
    benchmark.extra_info["no_data_fraction"] = float(warped.mask.get("NO_DATA").mean())
    assert warped.shape == (SIZE, SIZE)
