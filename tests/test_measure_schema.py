"""The DIA-source schema and its FITS / Parquet round trips."""
import numpy as np
import pytest

from _measure_data import add_point, noise_exposure
from diffim.measure import COLUMNS, CatalogFormatError, DetectAndMeasureTask, read_catalog, write_catalog
from diffim.measure.schema import empty_catalog


def _measured(**options):
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
        difference, noise_exposure(256, seed=42), difference, **options).diaSources


@pytest.fixture(scope="module")
def catalog():
    return _measured()


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


def _astropy_fits(catalog, path):
    """The catalogue as astropy writes a `Table` of it (the writer before ours)."""
    from astropy.io import fits
    from astropy.table import Table

    table = Table({name: catalog[name].to_numpy() for name in catalog.columns})
    for column in COLUMNS:
        if column.unit:
            table[column.name].unit = column.unit
    hdu = fits.BinTableHDU(table, name="DIASOURCES")
    hdu.header["NSOURCES"] = (len(catalog), "rows in the catalogue")
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, checksum=True)


def _without_checksums(path):
    """The file's bytes with the CHECKSUM and DATASUM cards blanked."""
    data = bytearray(path.read_bytes())
    for start in range(0, len(data), 80):
        if data[start:start + 8] in (b"CHECKSUM", b"DATASUM "):
            data[start:start + 80] = b" " * 80
    return bytes(data)


def test_fits_catalogue_has_astropys_bytes_without_astropy(catalog, tmp_path):
    from astropy.io import fits

    _astropy_fits(catalog, tmp_path / "astropy.fits")
    records = np.asarray(catalog.to_records(index=False))
    for name, table in (("frame", catalog), ("records", records)):
        write_catalog(table, tmp_path / f"{name}.fits")
        assert _without_checksums(tmp_path / f"{name}.fits") == \
            _without_checksums(tmp_path / "astropy.fits")
        with fits.open(tmp_path / f"{name}.fits", checksum=True) as hdus:
            assert hdus[1].verify_checksum() == 1 and hdus[0].verify_checksum() == 1
            assert hdus[1].header["TUNIT2"] == "pix" and hdus[1].header["NSOURCES"] == len(catalog)


def test_records_and_dataframe_are_one_catalogue(catalog):
    records = _measured(asRecords=True)
    assert isinstance(records, np.ndarray) and records.dtype.names == tuple(catalog.columns)
    assert catalog["ip_diffim_DipoleFit_classification"].any() and catalog["sky_source"].any()
    for name in catalog.columns:
        assert catalog[name].to_numpy().tobytes() == np.ascontiguousarray(records[name]).tobytes()
