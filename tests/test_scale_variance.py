import numpy as np
import pytest

from diffim import Exposure
from diffim.errors import DiffimError
from diffim.subtract.scale_variance import ScaleVarianceTask


def test_factor_recovers_a_misstated_variance():
    rng = np.random.default_rng(1)
    image = rng.normal(0.0, 3.0, (512, 512))
    exposure = Exposure(image, np.full(image.shape, 4.0))  # true variance is 9
    exposure.image[100:110, 100:110] = 1e4  # a masked source must not matter
    exposure.mask.set("DETECTED", (slice(100, 110), slice(100, 110)))
    assert ScaleVarianceTask().run(exposure).factor == pytest.approx(9.0 / 4.0, rel=0.01)


def test_refuses_unreasonable_factors_and_empty_background():
    exposure = Exposure(np.random.default_rng(2).normal(0, 100.0, (64, 64)), np.ones((64, 64)))
    with pytest.raises(DiffimError, match="beyond limit"):
        ScaleVarianceTask().run(exposure)
    exposure.mask.set("BAD")
    with pytest.raises(DiffimError, match="only 0 background pixels"):
        ScaleVarianceTask().run(exposure)
