import numpy as np
import pandas as pd
import pytest

from diffim.sky.matching import match_pixels, match_sky
from diffim.sky.refcat import (
    ReferenceCatalogError,
    ReferenceCatalogLoader,
    htm_index,
    sky_circle,
    write_reference_catalog,
)


def random_catalog(n=3000, seed=1):
    rng = np.random.default_rng(seed)
    # A patch straddling several level-7 trixels (~0.5 deg each).
    return pd.DataFrame({"id": np.arange(n, dtype=np.int64),
                         "coord_ra": rng.uniform(149.0, 151.0, n),
                         "coord_dec": rng.uniform(1.0, 3.0, n),
                         "r_flux": rng.uniform(1e3, 1e5, n), "r_fluxErr": rng.uniform(1, 10, n)})


@pytest.mark.parametrize("file_format", ["parquet", "fits"])
def test_region_load_equals_brute_force(tmp_path, file_format):
    catalog = random_catalog()
    shards = write_reference_catalog(catalog, tmp_path / "refcat", file_format)
    assert len(shards) > 4
    assert sorted(p.stem for p in (tmp_path / "refcat").glob(f"*.{file_format}")) == \
        sorted(str(s) for s in shards)
    loader = ReferenceCatalogLoader(tmp_path / "refcat")
    region = sky_circle(150.2, 2.1, 0.3)
    loaded = loader.load_region(region)
    separation = np.degrees(np.arccos(
        np.sin(np.radians(catalog.coord_dec)) * np.sin(np.radians(2.1))
        + np.cos(np.radians(catalog.coord_dec)) * np.cos(np.radians(2.1))
        * np.cos(np.radians(catalog.coord_ra - 150.2))))
    expected = catalog[separation < 0.3].sort_values("id").reset_index(drop=True)
    pd.testing.assert_frame_equal(loaded, expected, check_dtype=False)
    assert len(loader.shards_for(region)) < len(shards)


def test_htm_index_is_level_7():
    trixel = htm_index([150.0], [2.0])[0]
    # Level-7 HTM ids lie in [8 * 4**7, 16 * 4**7).
    assert 8 * 4 ** 7 <= trixel < 16 * 4 ** 7


def test_refcat_errors(tmp_path):
    with pytest.raises(ReferenceCatalogError, match="not a reference catalogue"):
        ReferenceCatalogLoader(tmp_path)
    with pytest.raises(ReferenceCatalogError, match="lacks columns"):
        write_reference_catalog(pd.DataFrame({"ra": [1.0]}), tmp_path / "x")
    write_reference_catalog(random_catalog(10), tmp_path / "y")
    with pytest.raises(ReferenceCatalogError, match="not empty"):
        write_reference_catalog(random_catalog(10), tmp_path / "y")


def test_sky_match_is_one_to_one_and_within_radius():
    # A grid with 10 arcsec spacing: each source has one counterpart within 1 arcsec.
    grid_ra, grid_dec = np.meshgrid(np.arange(25) * 10 / 3600, np.arange(20) * 10 / 3600)
    dec = -5 + grid_dec.ravel()
    ra = 10 + grid_ra.ravel() / np.cos(np.radians(dec))
    shifted_ra = ra + (0.3 / 3600) / np.cos(np.radians(dec))
    i, j, separation = match_sky(ra, dec, shifted_ra[::-1], dec[::-1], radius_arcsec=1.0)
    assert len(i) == len(ra)
    assert np.allclose(separation, 0.3, atol=1e-6)
    assert np.array_equal(j, len(ra) - 1 - i)
    assert len(set(i)) == len(i) and len(set(j)) == len(j)
    assert len(match_sky(ra, dec, shifted_ra, dec, radius_arcsec=0.2)[0]) == 0


def test_pixel_match_takes_closest_first():
    i, j, d = match_pixels([0, 10], [0, 0], [0.5, 0.2, 10.4], [0, 0, 0], radius_pixels=1.0)
    assert list(zip(i, j)) == [(0, 1), (1, 2)]
    assert np.allclose(d, [0.2, 0.4])
