"""Small noiseless star fields for the PSF-matching tests.

Stars are sampled (not pixel-integrated) circular Gaussians, rendered in a
box of +-6 sigma around each star; the tests need exact, cheap images more
than realistic ones.
"""
import numpy as np

from diffim import Exposure


def gaussian_kernel(size, sigma_x, sigma_y=None):
    """Sampled elliptical Gaussian on a ``size x size`` grid, sum 1."""
    sigma_y = sigma_x if sigma_y is None else sigma_y
    offsets = np.arange(size) - size // 2
    image = np.outer(np.exp(-0.5 * (offsets / sigma_y) ** 2),
                     np.exp(-0.5 * (offsets / sigma_x) ** 2))
    return image / image.sum()


def star_field(shape, positions, fluxes, sigma):
    """Image of Gaussian stars; ``sigma`` is a number or a function of (x, y)."""
    image = np.zeros(shape)
    for (x, y), flux in zip(positions, fluxes):
        width = sigma(x, y) if callable(sigma) else sigma
        radius = int(np.ceil(6 * width))
        x0, y0 = max(int(x) - radius, 0), max(int(y) - radius, 0)
        x1, y1 = min(int(x) + radius + 1, shape[1]), min(int(y) + radius + 1, shape[0])
        yy, xx = np.mgrid[y0:y1, x0:x1]
        image[y0:y1, x0:x1] += (flux / (2 * np.pi * width**2)
                                * np.exp(-0.5 * ((xx - x) ** 2 + (yy - y) ** 2) / width**2))
    return image


def grid_positions(shape, spacing, margin, rng=None, jitter=0.0):
    """Star positions on a regular grid, optionally jittered."""
    ys, xs = np.mgrid[margin:shape[0] - margin:spacing, margin:shape[1] - margin:spacing]
    positions = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(float)
    if rng is not None and jitter:
        positions += rng.uniform(-jitter, jitter, positions.shape)
    return positions


def exposure(image, variance=1.0):
    """An `Exposure` with a constant (or given) variance plane."""
    image = np.asarray(image, dtype=np.float32)
    var = np.broadcast_to(np.float32(variance), image.shape).copy()
    return Exposure(image, var)
