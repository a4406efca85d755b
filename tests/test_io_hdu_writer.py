"""`diffim.io.hdu_writer`: binary tables written without astropy, byte for byte as astropy writes them."""
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table

from compat.gen2 import storage
from diffim.io.checksum import checksum_cards, table_datasum
from diffim.io.fits_cards import header_bytes
from diffim.io.hdu_writer import catalog_table_hdu, primary_cards, write_hdus

COMMENT = "a checksum comment"


def astropy_bytes(columns, path, comment=COMMENT):
    hdus = fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(Table(columns), name="CATALOG")])
    for hdu in hdus:
        hdu.add_checksum(when=comment)
    hdus.writeto(path)
    return path.read_bytes()


def our_bytes(columns, path):
    cards, data = catalog_table_hdu(columns, "CATALOG")
    write_hdus(path, [(header_bytes(checksum_cards(primary_cards(), 0, COMMENT)), None),
                      (header_bytes(checksum_cards(cards, table_datasum(data), COMMENT)), data)])
    return path.read_bytes()


@pytest.mark.parametrize("rows", [0, 1, 37])
def test_catalog_table_is_astropys_bytes(tmp_path, rows):
    rng = np.random.default_rng(rows)
    columns = {"id": rng.integers(-2**62, 2**62, rows),
               "flux": rng.normal(size=rows), "flux_f32": rng.normal(size=rows).astype(np.float32),
               "flag": rng.random(rows) > 0.5, "count": rng.integers(-9, 9, rows).astype(np.int16),
               "area": rng.integers(0, 10**6, rows).astype(np.int32),
               "a_rather_long_column_name_of_the_measurement_plugin_instFluxErr": np.full(rows,
                                                                                           np.nan)}
    ours = our_bytes(columns, tmp_path / "ours.fits")
    assert ours == astropy_bytes(columns, tmp_path / "astropy.fits")
    with fits.open(tmp_path / "ours.fits", checksum=True) as hdus:
        assert hdus[1].data["flag"].tolist() == columns["flag"].tolist()


def test_other_column_types_are_refused():
    with pytest.raises(TypeError, match="'small'.*uint16"):
        catalog_table_hdu({"small": np.arange(3, dtype=np.uint16)}, "CATALOG")


@pytest.mark.parametrize("dtype", [np.float64, np.uint16])
def test_gen2_fits_catalog_storage_writes_astropys_bytes(tmp_path, dtype):
    """Common column types without astropy, others (scaled) through it: the same file."""
    frame = pd.DataFrame({"x": np.arange(5, dtype=dtype), "ok": np.arange(5) % 2 == 0})
    storage.write("FitsCatalog", "pandas.DataFrame", frame, tmp_path / "cat.fits")
    columns = {name: frame[name].to_numpy() for name in frame.columns}
    assert (tmp_path / "cat.fits").read_bytes() == astropy_bytes(
        columns, tmp_path / "a.fits", comment="gen2 catalog checksum")
    pd.testing.assert_frame_equal(storage.read("FitsCatalog", "pandas.DataFrame",
                                               tmp_path / "cat.fits"), frame)
