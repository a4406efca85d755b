"""The backend comparison: 4k x 4k exposures pixel by pixel, 5000-row catalogues row by row.

`validation.compare.compare_exposures` on two 4096 x 4096 exposures, once
identical (the common case of a gen2/gen3 pair) and once with 1 % of the
pixels perturbed in image and variance (every plane statistic, the
locations of the differences); `validation.compare.compare_catalogs` on
two 5000-row DIA-source catalogues (`diffim.measure.schema`), once
identical (row by row, no match) and once shuffled with positions, fluxes
and some flags perturbed (the positional match, then every column).
``extra_info`` gives the verdict.
"""
import numpy as np
import pytest

from diffim import Exposure
from diffim.measure.schema import CENTROID_X, CENTROID_Y, empty_catalog
from validation.compare import compare_catalogs, compare_exposures

SIZE = 4096
N_SOURCES = 5000
PERTURBED_FRACTION = 0.01
POSITIONS = (CENTROID_X, CENTROID_Y, "coord_ra", "coord_dec")


@pytest.fixture(scope="module")
def exposure():
    """A 4k x 4k exposure: noise on a sky of 100, SAT on the brightest pixels."""
    rng = np.random.default_rng(5)
    image = rng.normal(0.0, 10.0, (SIZE, SIZE)).astype(np.float32)
    exposure = Exposure(image, np.full((SIZE, SIZE), 100.0, np.float32))
    exposure.mask.set("SAT", image > 40.0)
    return exposure


@pytest.fixture(scope="module")
def catalog():
    """A DIA-source catalogue of `N_SOURCES` rows with every schema column filled."""
    rng = np.random.default_rng(6)
    catalog = empty_catalog(N_SOURCES)
    for name, dtype in catalog.dtypes.items():
        if dtype == bool:
            catalog[name] = rng.random(N_SOURCES) < 0.05
        elif dtype.kind == "f":
            catalog[name] = rng.uniform(1.0, 100.0, N_SOURCES)
    catalog["id"] = np.arange(1, N_SOURCES + 1)
    catalog[CENTROID_X], catalog[CENTROID_Y] = rng.uniform(0.0, SIZE, (2, N_SOURCES))
    catalog["coord_ra"] = 150.0 + catalog[CENTROID_X] * 0.2 / 3600.0
    catalog["coord_dec"] = 2.0 + catalog[CENTROID_Y] * 0.2 / 3600.0
    return catalog


def perturbed_exposure(exposure):
    """A copy of ``exposure`` with `PERTURBED_FRACTION` of its pixels changed.

    The chosen pixels get half a sigma added to the image and 1 % to the variance.
    """
    rng = np.random.default_rng(7)
    perturbed = exposure.copy()
    chosen = rng.choice(SIZE * SIZE, int(PERTURBED_FRACTION * SIZE * SIZE), replace=False)
    rows, columns = np.unravel_index(chosen, (SIZE, SIZE))
    perturbed.image[rows, columns] += 5.0
    perturbed.variance[rows, columns] *= 1.01
    return perturbed


def perturbed_catalog(catalog):
    """``catalog`` in another row order, with small changes to positions, fluxes and flags.

    Pixel positions move by up to 0.05 px, every other float column but the
    sky positions by up to 0.1 % (fluxes by a fraction of their errors), and
    the ``base_PixelFlags_flag_edge`` flag of 1 % of the rows flips.
    """
    rng = np.random.default_rng(8)
    perturbed = catalog.sample(frac=1.0, random_state=9).reset_index(drop=True)
    floats = [name for name, dtype in perturbed.dtypes.items()
              if dtype.kind == "f" and name not in POSITIONS]
    perturbed[floats] *= 1.0 + rng.uniform(-0.001, 0.001, (N_SOURCES, len(floats)))
    perturbed[CENTROID_X] += rng.uniform(-0.05, 0.05, N_SOURCES)
    perturbed[CENTROID_Y] += rng.uniform(-0.05, 0.05, N_SOURCES)
    flipped = rng.random(N_SOURCES) < PERTURBED_FRACTION
    perturbed.loc[flipped, "base_PixelFlags_flag_edge"] = ~perturbed.loc[flipped, "base_PixelFlags_flag_edge"]
    return perturbed


@pytest.mark.parametrize("case", ["identical", "perturbed_1pct"])
def test_compare_exposures_4k(benchmark, exposure, case):
    """Pixel-by-pixel comparison of image, variance and mask planes."""
    other = exposure.copy() if case == "identical" else perturbed_exposure(exposure)
    comparison = benchmark.pedantic(compare_exposures, args=(exposure, other), rounds=3,
                                    warmup_rounds=1)
    benchmark.extra_info["verdict"] = comparison.verdict.value
    assert (comparison.verdict.value == "identical") == (case == "identical")


@pytest.mark.parametrize("case", ["identical", "perturbed"])
def test_compare_catalogs_5000(benchmark, catalog, case):
    """Source-by-source comparison: the match (unless identical), then every column."""
    other = catalog.copy() if case == "identical" else perturbed_catalog(catalog)
    comparison = benchmark.pedantic(compare_catalogs, args=(catalog, other), rounds=5,
                                    warmup_rounds=1)
    benchmark.extra_info["verdict"] = comparison.verdict.value
    benchmark.extra_info["matched"] = comparison.metrics["n_matched"]
    assert comparison.metrics["n_matched"] == N_SOURCES
