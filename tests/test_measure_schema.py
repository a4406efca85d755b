"""The DIA-source schema and its FITS / Parquet round trips."""
import numpy as np
import pytest

from _measure_data import add_point, noise_exposure
from diffim.measure import COLUMNS, CatalogFormatError, DetectAndMeasureTask, read_catalog, write_catalog
from diffim.measure.schema import empty_catalog


@pytest.fixture(scope="module")
def catalog():
    """A real catalogue: point sources, a dipole (NaNs elsewhere) and sky sources."""
    from diffim.measure import DetectAndMeasureConfig

    difference = noise_exposure(256, seed=41)
    add_point(difference, 60.0, 60.0, 3000.0)
    add_point(difference, 180.0, 70.0, -3000.0)
    add_point(difference, 128.0, 180.0, 3000.0)
    add_point(difference, 125.0, 180.0, -3000.0)
    config = DetectAndMeasureConfig()
    config.doSkySources = True
    config.skySources.nSources = 5
    return DetectAndMeasureTask(config=config).run(
        difference, noise_exposure(256, seed=42), difference).diaSources


def test_schema_is_documented_and_matches_the_catalogue(catalog):
    names = [column.name for column in COLUMNS]
    assert len(names) == len(set(names))
    assert list(catalog.columns) == names
    for column in COLUMNS:
        assert column.doc, column.name
        assert catalog[column.name].dtype == np.dtype(column.dtype), column.name
        if column.name.endswith(("Flux", "FluxErr", "instFlux", "instFluxErr")):
            assert column.unit == "count", column.name
    assert {c.unit for c in COLUMNS} <= {"", "pixel", "pixel^2", "count", "deg", "rad"}


@pytest.mark.parametrize("suffix", [".fits", ".parquet"])
def test_round_trip_is_exact(catalog, tmp_path, suffix):
    assert catalog.isna().any().any()  # NaNs must survive too
    path = tmp_path / f"dia{suffix}"
    write_catalog(catalog, path)
    back = read_catalog(path)
    assert back.equals(catalog)
    assert (back.dtypes == catalog.dtypes).all()
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary left


@pytest.mark.parametrize("suffix", [".fits", ".parquet"])
def test_round_trip_of_empty_and_extended_catalogues(tmp_path, suffix):
    empty = empty_catalog(0)
    write_catalog(empty, tmp_path / f"empty{suffix}")
    assert read_catalog(tmp_path / f"empty{suffix}").equals(empty)
    extended = empty_catalog(3)
    extended["srcMatchId"] = np.array([5, -1, 7], np.int64)
    write_catalog(extended, tmp_path / f"extended{suffix}")
    assert read_catalog(tmp_path / f"extended{suffix}").equals(extended)


def test_bad_files_are_one_line_errors(tmp_path, catalog):
    with pytest.raises(CatalogFormatError, match="unknown catalogue format '.csv'"):
        write_catalog(catalog, tmp_path / "dia.csv")
    with pytest.raises(CatalogFormatError, match="no such catalogue file"):
        read_catalog(tmp_path / "missing.fits")
    (tmp_path / "junk.fits").write_bytes(b"not fits at all")
    with pytest.raises(CatalogFormatError, match="junk.fits"):
        read_catalog(tmp_path / "junk.fits")
    write_catalog(catalog[["id", "slot_Centroid_x"]], tmp_path / "partial.parquet")
    with pytest.raises(CatalogFormatError, match="missing catalogue columns slot_Centroid_y"):
        read_catalog(tmp_path / "partial.parquet")
