"""Sky, photon and read noise, and the expected variance of a CCD image.

Units: images are in ADU; ``gain`` is electrons per ADU; read noise is in
electrons. A pixel expecting ``m`` ADU receives ``Poisson(m gain)`` electrons
plus Gaussian read noise, divided by the gain. Its expected variance is
``m / gain + (read_noise / gain)^2`` ADU^2.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["BLOCK_ROWS", "sky_plane", "normalised_coordinates", "observe_counts",
           "expected_variance"]

BLOCK_ROWS = 128
"""Rows per independently seeded noise block: fixed, so output never depends on threads."""


def normalised_coordinates(bbox, x, y):
    """``(u, v)`` running over [-1, 1] between the first and last pixel centres of ``bbox``.

    The same convention as `diffim.psf.VaryingPsf`, so sky gradients and PSF
    variations are described alike.
    """
    x_centre, y_centre = bbox.center
    x_half = max((bbox.width - 1) / 2.0, 0.5)
    y_half = max((bbox.height - 1) / 2.0, 0.5)
    return (np.asarray(x, dtype=float) - x_centre) / x_half, \
        (np.asarray(y, dtype=float) - y_centre) / y_half


def sky_plane(bbox, level, gradient):
    """A planar sky: ``level (1 + gx u + gy v)`` ADU per pixel.

    Parameters
    ----------
    bbox : `diffim.geom.Box`
        The image.
    level : `float`
        Sky at the image centre (also its mean), ADU.
    gradient : `tuple` [`float`, `float`]
        Fractional change ``(gx, gy)`` from the centre to the +x and +y edges.

    Returns
    -------
    sky : `numpy.ndarray`
        float64, shape ``bbox.shape``.
    """
    u, v = normalised_coordinates(bbox, np.arange(bbox.x0, bbox.x_end),
                                  np.arange(bbox.y0, bbox.y_end))
    along_x = level * (1.0 + gradient[0] * u)
    along_y = level * gradient[1] * v
    return along_x[None, :] + along_y[:, None]


def _block_seed(seed_sequence, block):
    # What SeedSequence.spawn would hand out, but addressable by block number.
    return np.random.SeedSequence(seed_sequence.entropy,
                                  spawn_key=tuple(seed_sequence.spawn_key) + (block,))


def observe_counts(expected, gain, read_noise, seed_sequence, threads=2):
    """Noisy ADU for an image of expected ADU.

    Parameters
    ----------
    expected : `numpy.ndarray`
        Expected ADU per pixel (sky plus sources), >= 0.
    gain : `float`
        Electrons per ADU.
    read_noise : `float`
        Electrons, Gaussian.
    seed_sequence : `numpy.random.SeedSequence`
        Seeds one generator per block of `BLOCK_ROWS` rows.
    threads : `int`
        Blocks drawn in parallel (numpy releases the GIL while it draws).

    Returns
    -------
    counts : `numpy.ndarray`
        float64 noisy ADU, same shape.
    """
    counts = np.empty(expected.shape)
    n_blocks = -(-expected.shape[0] // BLOCK_ROWS)

    def draw(block):
        rows = slice(block * BLOCK_ROWS, (block + 1) * BLOCK_ROWS)
        rng = np.random.default_rng(_block_seed(seed_sequence, block))
        electrons = rng.poisson(np.maximum(expected[rows], 0.0) * gain).astype(np.float64)
        if read_noise > 0.0:
            electrons += read_noise * rng.standard_normal(electrons.shape)
        counts[rows] = electrons / gain

    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(draw, range(n_blocks)))
    return counts


def expected_variance(expected, gain, read_noise):
    """Expected variance in ADU^2 of pixels expecting ``expected`` (>= 0) ADU, as float32."""
    variance = expected.astype(np.float32)
    variance *= np.float32(1.0 / gain)
    variance += np.float32((read_noise / gain) ** 2)
    return variance
