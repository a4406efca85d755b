"""Peaks of the smoothed significance image against a float64 numpy reference."""
import numpy as np
import pytest

from diffim.image.background import background_grid
from diffim.image.peaks import find_peaks, smoothing_kernel


def _reference_significance(image, variance, bad):
    """The smoothed image over its noise in float64: zero beyond the edges for the image,
    the edge repeated for the variance, bad pixels zero in both."""
    kernel = smoothing_kernel().astype(float)
    half = len(kernel) // 2
    image = np.where(bad, 0.0, image.astype(float))
    variance = np.where(bad, 0.0, variance.astype(float))

    def smooth(plane, mode):
        for axis in (1, 0):
            padded = np.pad(plane, [(half, half) if a == axis else (0, 0) for a in (0, 1)],
                            mode=mode)
            plane = sum(weight * np.take(padded, np.arange(k, k + plane.shape[axis]), axis=axis)
                        for k, weight in enumerate(kernel))
        return plane

    power = float(np.sum(kernel ** 2) ** 2)
    smoothed = smooth(image, "constant")
    return smoothed, smoothed / np.sqrt(power * smooth(variance, "edge"))


@pytest.mark.parametrize("shape, stars, sky", [
    # 300 rows: three strips of the parallel loop, stars across their seams and at edges.
    ((300, 257), [(40.3, 50.7), (127.6, 128.2), (128.4, 200.1), (255.5, 3.2), (298.0, 250.0)],
     False),
    # 1100 columns: three column blocks of the smoothing (512) and a partial threshold block
    # (64); stars across their seams, on a sloping sky that the background grid removes.
    ((300, 1100), [(60.2, 511.6), (127.6, 512.4), (200.1, 1023.8), (150.0, 1096.7),
                   (10.0, 63.6), (290.0, 640.2)], True),
])
def test_peaks_are_the_reference_maxima(shape, stars, sky):
    rng = np.random.default_rng(11)
    variance = rng.uniform(80.0, 120.0, shape).astype(np.float32)
    image = rng.normal(0.0, 10.0, shape).astype(np.float32)
    yy, xx = np.mgrid[:shape[0], :shape[1]]
    for y, x in stars:
        image += (3000.0 * np.exp(-0.5 * ((yy - y) ** 2 + (xx - x) ** 2) / 1.6 ** 2)).astype(
            np.float32)
    bad = np.zeros(shape, bool)
    bad[200:204, 100:140] = True
    background = None
    if sky:
        image += (200.0 + 0.05 * xx - 0.1 * yy).astype(np.float32)
        background = background_grid(image, ~bad, 64)
    peaks = find_peaks(image, variance, bad, 5.0, background)
    smoothed, significance = _reference_significance(
        image if background is None else image - background.image(), variance, bad)
    assert np.allclose(peaks.snr, significance[peaks.y, peaks.x], rtol=2e-5)
    assert np.allclose(peaks.value, smoothed[peaks.y, peaks.x], rtol=2e-5, atol=1e-3)
    # Every star is found where it is, brightest first; no peak on a bad pixel.
    found = set(zip(peaks.y.tolist(), peaks.x.tolist()))
    assert {(round(y), round(x)) for y, x in stars} <= found
    assert np.all(np.diff(peaks.value) <= 0) and not bad[peaks.y, peaks.x].any()
    # Each peak is the largest significance of its 5 x 5 neighbourhood, and each pixel
    # that is such a maximum above threshold is a peak.
    padded = np.pad(significance, 2, constant_values=-np.inf)
    window = np.max([padded[dy:dy + shape[0], dx:dx + shape[1]]
                     for dy in range(5) for dx in range(5)], axis=0)
    expected = (significance >= 5.0) & (significance >= window) & ~bad
    assert found == set(zip(*np.nonzero(expected)))
