"""`diffim.io.hdu_reader`: our exposure files and binary tables read back without astropy, the same
as astropy reads them."""
import numpy as np
import pytest
from astropy.io import fits
from conftest import random_exposure, sip_wcs

from diffim import FitsFormatError
from diffim.io import exposure_fits
from diffim.io.checksum import checksum_cards, table_datasum
from diffim.io.exposure_fits import read_exposure, write_exposure
from diffim.io.fits_cards import header_bytes
from diffim.io.hdu_reader import read_hdus, read_table_columns
from diffim.io.hdu_writer import catalog_table_hdu, primary_cards, write_hdus
from diffim.io.simple_fits import read_header
from diffim.psf import GaussianPsf


def raw_hdus(path):
    with open(path, "rb") as stream:
        return read_hdus(stream, read_header(stream))


@pytest.fixture
def written(tmp_path):
    exposure = random_exposure(shape=(60, 70), xy0=(5, 9), psf=GaussianPsf(2.0),
                               wcs=sip_wcs(crpix=(30.0, 40.0)))
    path = tmp_path / "ours.fits"
    write_exposure(exposure, path)
    return exposure, path


def test_planes_and_sums_are_astropys(written):
    exposure, path = written
    hdus = raw_hdus(path)
    assert [hdu.name for hdu in hdus] == ["PRIMARY", "IMAGE", "MASK", "VARIANCE", "PSF"]
    with fits.open(path) as astropy_hdus:
        for hdu, theirs in zip(hdus, astropy_hdus):
            assert hdu.datasum == int(theirs.header["DATASUM"])
            assert hdu.header.raw == theirs.header.tostring().encode("ascii")
    assert hdus[1].data.dtype == np.float32 and hdus[1].data.dtype.isnative
    assert np.array_equal(hdus[1].data, exposure.image)
    assert hdus[2].data.dtype == np.uint32 and np.array_equal(hdus[2].data, exposure.mask.array)
    assert hdus[4].data == fits.getdata(path, "PSF").tobytes()


def test_both_readers_give_the_same_exposure(written):
    _, path = written
    ours = read_exposure(path)
    with exposure_fits.open_fits(path) as hdus:
        theirs = exposure_fits._exposure_from_hdulist(hdus, path)
    assert ours.image.tobytes() == theirs.image.tobytes()
    assert ours.variance.tobytes() == theirs.variance.tobytes()
    assert ours.mask == theirs.mask
    assert list(ours.mask.planes.as_dict().items()) == list(theirs.mask.planes.as_dict().items())
    assert (ours.xy0, ours.psf, ours.photo_calib, ours.visit_info, ours.metadata) == \
        (theirs.xy0, theirs.psf, theirs.photo_calib, theirs.visit_info, theirs.metadata)
    assert ours.wcs.to_header(relax=True) == theirs.wcs.to_header(relax=True)


def test_other_layouts_are_left_to_astropy(tmp_path, written):
    _, path = written
    cut = tmp_path / "cut.fits"
    cut.write_bytes(path.read_bytes()[:-2880])
    assert raw_hdus(cut) is None
    longer = tmp_path / "longer.fits"
    longer.write_bytes(path.read_bytes() + b"\0" * 2880)
    assert raw_hdus(longer) is None
    other = tmp_path / "float64.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((4, 5)), name="IMAGE")]).writeto(other)
    assert raw_hdus(other) is None


def test_a_changed_header_card_fails_the_checksum(tmp_path, written):
    _, path = written
    data = bytearray(path.read_bytes())
    start = data.index(b"MAGZERO =")
    data[start + 28] = ord("7") if data[start + 28] != ord("7") else ord("8")
    corrupt = tmp_path / "corrupt.fits"
    corrupt.write_bytes(bytes(data))
    assert raw_hdus(corrupt) is not None
    with pytest.raises(FitsFormatError, match="corrupt.fits: checksum mismatch in HDU PRIMARY"):
        read_exposure(corrupt)


TABLE = {"id": np.array([3, -2, 2**40], np.int64), "flux": np.array([1.5, np.nan, -0.0]),
         "x": np.array([0.25, 1e30, -7], np.float32), "n": np.array([1, -5, 7], np.int32),
         "short": np.array([-3, 0, 300], np.int16), "flag": np.array([True, False, True])}


def write_table(path, columns, extname="CATALOG", before=()):
    """A primary HDU, the ``before`` tables' HDUs, then ``columns`` as the table ``extname``."""
    hdus = [(header_bytes(checksum_cards(primary_cards(), 0, "sums")), None)]
    for name, table in [*before, (extname, columns)]:
        cards, data = catalog_table_hdu(table, name)
        hdus.append((header_bytes(checksum_cards(cards, table_datasum(data), "sums")), data))
    write_hdus(path, hdus)


def test_table_columns_are_astropys(tmp_path):
    path = tmp_path / "table.fits"
    write_table(path, TABLE, before=[("OTHER", {"a": np.arange(2.0)})])
    columns = read_table_columns(path, "CATALOG")
    with fits.open(path, checksum=True) as hdus:
        data = hdus["CATALOG"].data
        assert list(columns) == data.columns.names
        for name, values in columns.items():
            assert values.dtype.isnative
            theirs = np.asarray(data[name])
            assert values.dtype == theirs.dtype.newbyteorder("=")
            assert values.tobytes() == theirs.astype(values.dtype).tobytes()
    assert all(columns[name].tobytes() == TABLE[name].tobytes() for name in TABLE)


def test_tables_of_other_layouts_are_left_to_astropy(tmp_path):
    path = tmp_path / "table.fits"
    write_table(path, TABLE, extname="OTHER")
    assert read_table_columns(path, "CATALOG") is None
    write_table(path, TABLE, before=[("CATALOG", TABLE)])
    assert read_table_columns(path, "CATALOG") is None
    write_table(path, {name: values[:0] for name, values in TABLE.items()})
    assert read_table_columns(path, "CATALOG") is None
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(
        [fits.Column("small", "I", bzero=32768, array=np.arange(3, dtype=np.uint16)),
         fits.Column("cell", "2D", array=np.zeros((3, 2)))], name="CATALOG")]).writeto(
        path, overwrite=True)
    assert read_table_columns(path, "CATALOG") is None


@pytest.mark.parametrize("where", ["rows", "padding", "table header"])
def test_a_changed_table_byte_fails_the_checksum(tmp_path, where):
    path = tmp_path / "table.fits"
    write_table(path, TABLE)
    data = bytearray(path.read_bytes())
    rows_end = 2 * 2880 + len(catalog_table_hdu(TABLE, "CATALOG")[1])
    offset = {"rows": rows_end - 5, "padding": rows_end + 3,
              "table header": data.index(b"'id", 2880) + 1}[where]
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(FitsFormatError,
                       match=f"^{path}: checksum mismatch in HDU CATALOG: file is corrupt$"):
        read_table_columns(path, "CATALOG")
