"""Test inputs for the detect-and-measure tests: flat-noise differences with known sources."""
import numpy as np

from diffim import Exposure
from diffim.config.paths import set_path
from diffim.measure import DetectAndMeasureConfig, DetectAndMeasureTask
from diffim.psf import GaussianPsf

PSF_SIGMA = 1.5


def noise_exposure(size=512, seed=0, sigma=PSF_SIGMA, noise=1.0):
    """A pure-noise difference (variance ``noise^2``) with a Gaussian PSF."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0.0, noise, (size, size)).astype(np.float32)
    variance = np.full((size, size), noise ** 2, np.float32)
    return Exposure(image, variance, psf=GaussianPsf(sigma))


def add_point(exposure, x, y, flux):
    """Add ``flux`` times the exposure's PSF centred at parent ``(x, y)``."""
    stamp, box = exposure.psf.computeImage(x, y)
    overlap = box.intersection(exposure.bbox)
    exposure.image[overlap.slices_in(exposure.bbox)] += (flux * stamp[overlap.slices_in(box)]
                                                         ).astype(np.float32)


def random_positions(n, size, seed, margin=40, separation=40):
    """``n`` positions at least ``separation`` apart and ``margin`` from the edges."""
    rng = np.random.default_rng(seed)
    points = []
    while len(points) < n:
        x, y = rng.uniform(margin, size - margin, 2)
        if all(np.hypot(x - px, y - py) >= separation for px, py in points):
            points.append((x, y))
    return np.array(points)


def match(catalog, x, y, radius=2.0):
    """Index of the catalogue row nearest to each ``(x, y)`` within ``radius`` (-1 if none).

    ``catalog`` is a DIA-source catalogue (``slot_Centroid_*``) or a truth table (``x``, ``y``).
    """
    columns = ("slot_Centroid_x", "slot_Centroid_y") if "slot_Centroid_x" in catalog else ("x", "y")
    cx, cy = (catalog[name].to_numpy() for name in columns)
    indices = []
    for xi, yi in zip(x, y):
        distance = np.hypot(cx - xi, cy - yi)
        best = int(np.argmin(distance)) if len(distance) else -1
        indices.append(best if best >= 0 and distance[best] <= radius else -1)
    return np.array(indices)


def make_task(**fields):
    """A `DetectAndMeasureTask`; ``a__b=value`` sets the nested field ``a.b``."""
    config = DetectAndMeasureConfig()
    for name, value in fields.items():
        set_path(config, name.replace("__", "."), value)
    return DetectAndMeasureTask(config=config)
