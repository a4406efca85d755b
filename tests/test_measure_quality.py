"""diffim.measure.quality.footprint_ratios against the metric taken one source at a time."""
import numpy as np

from diffim import Exposure
from diffim.measure.quality import footprint_ratios


def _one_at_a_time(science, difference, x, y, radius, bad):
    """The metric as its docstring states it, with numpy's median and mean per source."""
    half = int(np.ceil(2 * radius))
    offsets = np.arange(-half, half + 1)
    distance = np.hypot(offsets[None, :], offsets[:, None])
    disc, annulus = distance <= radius, (distance > radius) & (distance <= 2 * radius)
    noise = np.median(np.abs(difference[~bad]))
    ratios = np.full(len(x), np.nan)
    for i, (xc, yc) in enumerate(zip(np.rint(x).astype(int), np.rint(y).astype(int))):
        if not (half <= xc < science.shape[1] - half and half <= yc < science.shape[0] - half):
            continue
        window = (slice(yc - half, yc + half + 1), slice(xc - half, xc + half + 1))
        inner, outer = disc & ~bad[window], annulus & ~bad[window]
        if inner.any() and outer.any():
            image = science[window].astype(float)
            level = np.abs(image[inner] - np.median(image[outer])).mean()
            if level > 0:
                ratios[i] = abs(np.abs(difference[window][inner].astype(float)).mean()
                                - noise) / level
    return ratios


def test_footprint_ratios_are_each_sources_own_median_and_means():
    rng = np.random.default_rng(3)
    shape = (120, 150)
    science = (100 + 10 * rng.standard_normal(shape)).astype(np.float32)
    difference = rng.standard_normal(shape).astype(np.float32)
    bad = rng.random(shape) < 0.2
    bad[40:70, 60:100] = True  # a source whose disc is all masked
    science[90, 20] = np.nan  # a NaN in an annulus: that source's ratio is NaN, as numpy's
    x = np.concatenate([rng.uniform(-5, 155, 60), [80.0, 22.0, 30.0]])
    y = np.concatenate([rng.uniform(-5, 125, 60), [55.0, 90.0, 30.0]])
    science[25:36, 25:36] = 100.0  # a flat source: its science level is 0 (NaN ratio)
    exposures = []
    for image in (science, difference):
        exposure = Exposure(image, variance=np.ones(shape, np.float32))
        exposure.mask.set("BAD", bad)
        exposures.append(exposure)
    for radius in (3.0, 4.5):  # discs of odd and even pixel counts
        ratios = footprint_ratios(*exposures, x, y, radius, ["BAD"])
        expected = _one_at_a_time(science, difference, x, y, radius, bad)
        np.testing.assert_array_equal(ratios, expected)
        assert np.isfinite(ratios).sum() > 30
        assert np.isnan(ratios[-3:]).all()


def test_footprint_ratios_of_sources_without_a_whole_window_are_nan():
    shape = (40, 50)
    exposures = [Exposure(np.ones(shape, np.float32), variance=np.ones(shape, np.float32))
                 for _ in range(2)]
    ratios = footprint_ratios(*exposures, [1.0, 48.0, 25.0], [1.0, 38.0, -9.0], 3.0, ["BAD"])
    assert np.isnan(ratios).all() and len(ratios) == 3
