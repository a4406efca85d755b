"""Files written whole or not at all (diffim.io.atomic)."""
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from diffim.io.atomic import write_atomically, write_fits, write_parquet, write_text


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "keep.txt"
    write_text(path, "before")

    def fail_half_way(temporary):
        with open(temporary, "wb") as stream:
            stream.write(b"half a file")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_atomically(path, fail_half_way)
    assert path.read_text() == "before"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_written_files_get_the_ordinary_mode(tmp_path):
    """Atomic writes go through a private temporary file; the result is not private."""
    path = write_atomically(tmp_path / "x.txt", lambda temporary: Path(temporary).write_text("x"))
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_text_parquet_and_fits_round_trip_into_new_folders(tmp_path):
    text = write_text(tmp_path / "a" / "t.json", "{\"é\": 1}\n")
    assert text == tmp_path / "a" / "t.json"
    assert text.read_bytes() == "{\"é\": 1}\n".encode("utf-8")

    frame = pd.DataFrame({"x": [1.5, 2.5], "flag": [True, False]}, index=[7, 9])
    parquet = write_parquet(tmp_path / "b" / "c.parquet", frame)
    pd.testing.assert_frame_equal(pd.read_parquet(parquet), frame.reset_index(drop=True))

    hdus = fits.HDUList([fits.PrimaryHDU(np.arange(6, dtype=np.float32).reshape(2, 3))])
    path = write_fits(tmp_path / "c" / "i.fits", hdus, checksum=True)
    write_fits(path, hdus, checksum=True)  # replaces an existing file
    with fits.open(path, checksum=True) as read:
        np.testing.assert_array_equal(read[0].data, hdus[0].data)
        assert "CHECKSUM" in read[0].header
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["i.fits"]
