"""gen2's FITS catalogues read without astropy: the frame astropy's read gives."""
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from compat.gen2 import storage
from compat.gen2.errors import Gen2Error
from diffim.io.hdu_reader import read_table_columns

_COLUMNS = {"id": np.array([3, -2, 2**40], np.int64), "flux": np.array([1.5, np.nan, -0.0]),
            "x": np.array([0.25, 1e30, -7], np.float32), "n": np.array([1, -5, 7], np.int32),
            "short": np.array([-3, 0, 300], np.int16), "flag": np.array([True, False, True])}


def _astropys_read(path):
    with fits.open(path, checksum=True) as hdus:
        data = hdus["CATALOG"].data
        return pd.DataFrame({name: np.asarray(data[name]).astype(data[name].dtype.newbyteorder("="))
                             for name in data.columns.names})


@pytest.mark.parametrize("rows", [3, 1, 0])
def test_catalogue_reads_as_astropy_reads_it(tmp_path, rows):
    frame = pd.DataFrame({name: values[:rows] for name, values in _COLUMNS.items()})
    path = tmp_path / "cat.fits"
    storage.write("FitsCatalog", "pandas.DataFrame", frame, path)
    read = storage.read("FitsCatalog", "pandas.DataFrame", path)
    pd.testing.assert_frame_equal(read, _astropys_read(path))
    pd.testing.assert_frame_equal(read, frame)
    for name in frame.columns:
        assert read[name].to_numpy().tobytes() == frame[name].to_numpy().tobytes()
    # Rows without astropy; an empty table (no data unit) through it.
    assert (read_table_columns(path, "CATALOG") is None) == (rows == 0)


def test_scaled_columns_are_left_to_astropy(tmp_path):
    frame = pd.DataFrame({"small": np.arange(4, dtype=np.uint16)})
    path = tmp_path / "cat.fits"
    storage.write("FitsCatalog", "pandas.DataFrame", frame, path)
    assert read_table_columns(path, "CATALOG") is None
    pd.testing.assert_frame_equal(storage.read("FitsCatalog", "pandas.DataFrame", path), frame)


@pytest.mark.parametrize("where", ["rows", "table header"])
def test_a_changed_byte_is_a_corrupt_catalogue(tmp_path, where):
    path = tmp_path / "cat.fits"
    storage.write("FitsCatalog", "pandas.DataFrame", pd.DataFrame(_COLUMNS), path)
    data = bytearray(path.read_bytes())
    # The table's header starts at the second block; its TTYPE1 value is a name to change.
    offset = -20 if where == "rows" else data.index(b"'id", 2880) + 1
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(Gen2Error, match=f"^{path}: checksum mismatch: catalogue file is corrupt$"):
        storage.read("FitsCatalog", "pandas.DataFrame", path)


def test_columns_of_interleaved_dtypes_keep_their_order_and_values(tmp_path):
    # Columns of one dtype are read together: interleaved, in two pandas blocks of one dtype
    # (a column added later), and with a column of pandas' own dtype among them.
    frame = pd.DataFrame({"a": np.array([1.0, 2.0, 3.0]), "b": np.array([True, False, True]),
                          "c": np.array([7, 8, 9], np.int32)})
    frame["d"] = np.array([4.0, -5.0, 6.5])
    frame.insert(1, "e", pd.array([1, 2, 3], dtype="Int64"))
    path = tmp_path / "cat.fits"
    storage.write("FitsCatalog", "pandas.DataFrame", frame, path)
    read = _astropys_read(path)
    assert list(read.columns) == ["a", "e", "b", "c", "d"]
    for name, expected in [("a", [1.0, 2.0, 3.0]), ("e", [1, 2, 3]), ("b", [True, False, True]),
                           ("c", [7, 8, 9]), ("d", [4.0, -5.0, 6.5])]:
        np.testing.assert_array_equal(read[name].to_numpy(), expected)
    assert read["c"].dtype == np.int32 and read["d"].dtype == np.float64


def test_big_endian_columns_are_written_with_their_values(tmp_path):
    # pandas' 2-D read of several columns refuses a byte order not the machine's.
    frame = pd.DataFrame({"a": np.array([1.5, -2.0], ">f8"), "b": np.array([3.0, 4.0], ">f8"),
                          "c": np.array([5, 6], ">i4"), "d": np.array([7.0, 8.0])})
    path = tmp_path / "cat.fits"
    storage.write("FitsCatalog", "pandas.DataFrame", frame, path)
    read = _astropys_read(path)
    for name in "abcd":
        np.testing.assert_array_equal(read[name].to_numpy(), frame[name].to_numpy())


def test_an_object_column_is_refused_by_name(tmp_path):
    frame = pd.DataFrame({"x": [1.0, 2.0], "name": ["a", "b"], "other": [object(), 1]})
    with pytest.raises(Gen2Error,
                       match=r"cat\.fits: catalogue column 'name' is not numeric or boolean$"):
        storage.write("FitsCatalog", "pandas.DataFrame", frame, tmp_path / "cat.fits")


def test_duplicate_column_names_are_refused(tmp_path):
    frame = pd.DataFrame(np.zeros((2, 3)), columns=["x", "y", "x"])
    with pytest.raises(Gen2Error,
                       match=r"cat\.fits: catalogue columns \['x'\] appear more than once$"):
        storage.write("FitsCatalog", "pandas.DataFrame", frame, tmp_path / "cat.fits")
