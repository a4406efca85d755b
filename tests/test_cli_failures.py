"""``diffim`` commands fail in one line: bad outputs, a full disk, absurd headers, unusable
inputs to ``detect``, Ctrl-C; inputs are never overwritten and no output is left half-written."""
import resource
import shutil
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from astropy.io import fits

from diffim import FitsFormatError
from diffim.cli.main import main
from diffim.io.exposure_fits import read_exposure, write_exposure
from diffim.io.header import open_fits

KERNEL = ["-c", "makeKernel.kernel.active.spatialKernelOrder=1"]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """A simulated 512 px pair and its difference (with PSF), written once."""
    directory = tmp_path_factory.mktemp("pair")
    assert main(["sim", "--output-dir", str(directory), "--size", "512", "--seed", "3",
                 "-c", "star_density=1000"]) == 0
    assert main(["subtract", *inputs(directory), "--output", str(directory / "diff.fits"),
                 *KERNEL]) == 0
    return directory


def inputs(directory):
    return ["--science", str(directory / "science.fits"),
            "--template", str(directory / "template.fits")]


def last_error(capsys):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_an_output_naming_an_input_is_refused(pair, capsys):
    before = (pair / "science.fits").read_bytes()
    assert main(["subtract", *inputs(pair), "--output", str(pair / "science.fits")]) == 1
    assert last_error(capsys) == (f"diffim subtract: error: --output {pair / 'science.fits'} is "
                                  f"the input {pair / 'science.fits'}; it would be overwritten")
    # Through another name of the same file, too.
    assert main(["subtract", *inputs(pair), "--output", str(pair / "." / "template.fits")]) == 1
    assert "it would be overwritten" in last_error(capsys)
    assert main(["detect", "--difference", str(pair / "diff.fits"), "--science",
                 str(pair / "science.fits"), "--matched", str(pair / "diff.fits"),
                 "--output", str(pair / "science.fits")]) == 1
    assert "it would be overwritten" in last_error(capsys)
    assert (pair / "science.fits").read_bytes() == before


def test_an_output_naming_a_directory_is_one_line(pair, tmp_path, capsys):
    assert main(["subtract", *inputs(pair), "--output", str(tmp_path)]) == 1
    assert last_error(capsys) == (f"diffim subtract: error: --output {tmp_path} is a directory; "
                                  "give the file to write")


def test_an_unwritable_output_is_one_line(pair, tmp_path, capsys):
    (tmp_path / "file").write_text("not a directory")
    output = tmp_path / "file" / "diff.fits"
    assert main(["subtract", *inputs(pair), "--output", str(output), *KERNEL]) == 1
    assert last_error(capsys) == f"diffim subtract: error: {tmp_path / 'file'}: File exists"


def test_a_full_disk_is_one_line_and_leaves_no_file(pair, tmp_path):
    """The output outgrows the file size limit (what a full disk does to a write)."""
    limit = 200_000

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    output = tmp_path / "diff.fits"
    finished = subprocess.run(
        [sys.executable, "-m", "diffim.cli.main", "subtract", *inputs(pair), "--output",
         str(output), *KERNEL], capture_output=True, text=True, preexec_fn=small_files)
    assert finished.returncode == 1
    (line,) = finished.stderr.strip().splitlines()
    assert line.startswith(f"diffim subtract: error: {output}: cannot write it (")
    assert list(tmp_path.iterdir()) == []


def test_an_absurd_origin_in_the_header_is_one_line(pair, tmp_path, capsys):
    path = tmp_path / "science.fits"
    shutil.copy(pair / "science.fits", path)
    with fits.open(path, mode="update") as hdus:
        hdus[0].header["LTV1"] = 1e300
    assert main(["subtract", "--science", str(path), "--template", str(pair / "template.fits"),
                 "--output", str(tmp_path / "diff.fits")]) == 1
    assert last_error(capsys) == (f"diffim subtract: error: {path}: LTV1 = 1e+300 is not a pixel "
                                  "origin (an integer of at most 2147483647 in size)")


@pytest.mark.parametrize("spoil, message", [
    (lambda difference: difference.image.fill(np.nan),
     "difference image plane has 262144 NaN/inf pixels not flagged NO_DATA/BAD/SAT/EDGE"),
    (lambda difference: difference.variance.__imul__(-1.0),
     "difference variance is zero or negative at"),
])
def test_detect_refuses_what_subtract_refuses(pair, tmp_path, capsys, spoil, message):
    difference = read_exposure(pair / "diff.fits")
    difference.mask.array[:] = 0
    spoil(difference)
    path = tmp_path / "spoiled.fits"
    write_exposure(difference, path)
    output = tmp_path / "dia.parquet"
    assert main(["detect", "--difference", str(path), "--science", str(pair / "science.fits"),
                 "--matched", str(pair / "template.fits"), "--output", str(output)]) == 1
    assert last_error(capsys).startswith(f"diffim detect: error: {message}")
    assert not output.exists()


def test_an_interrupted_read_is_an_interrupt_not_a_format_error(pair):
    with pytest.raises(KeyboardInterrupt):
        with open_fits(pair / "science.fits"):
            raise KeyboardInterrupt


def test_a_bug_while_reading_is_not_blamed_on_the_file(pair):
    # A stale compiled module raised TypeError inside the read and was reported as
    # "corrupt or truncated FITS file"; unreadable data (astropy's ValueError) still is one.
    with pytest.raises(TypeError, match="takes 6 arguments"):
        with open_fits(pair / "science.fits"):
            raise TypeError("flag_plain_image() takes 6 arguments")
    with pytest.raises(FitsFormatError, match="science.fits: corrupt or truncated FITS file"):
        with open_fits(pair / "science.fits"):
            raise ValueError("cannot reshape array of size 4680 into shape (100,100)")


def test_ctrl_c_is_one_line_and_exit_130(pair, tmp_path):
    script = textwrap.dedent(f"""
        import os, signal, sys
        from diffim.cli.main import main
        from diffim.subtract.task import AlardLuptonSubtractTask
        # A suite started in the background (`... &`) hands its children an ignored
        # SIGINT, and Python then installs no handler: restore the terminal's default.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        run = AlardLuptonSubtractTask.run

        def interrupted_run(self, *args, **kwargs):
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C while the subtraction runs
            return run(self, *args, **kwargs)

        AlardLuptonSubtractTask.run = interrupted_run
        sys.exit(main(["subtract", *{inputs(pair)!r}, "--output", {str(tmp_path / "d.fits")!r},
                       *{KERNEL!r}]))
        """)
    finished = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert (finished.returncode, finished.stderr) == (128 + signal.SIGINT,
                                                      "diffim subtract: interrupted\n")
    assert list(tmp_path.iterdir()) == []


def test_the_same_file_as_science_and_template_is_refused(pair, capsys):
    science = pair / "science.fits"
    assert main(["subtract", "--science", str(science), "--template", str(pair / "." / "science.fits"),
                 "--output", str(pair / "self.fits")]) == 1
    assert last_error(capsys) == (f"diffim subtract: error: --science {science} and --template "
                                  f"{pair / 'science.fits'} are the same file; give two epochs")
    assert not (pair / "self.fits").exists()


def test_a_wcs_on_one_side_only_names_the_side_without(pair, tmp_path, capsys):
    with fits.open(pair / "template.fits") as hdus:
        image = hdus[1].data if hdus[0].data is None else hdus[0].data
    fits.PrimaryHDU(np.asarray(image, np.float32)).writeto(tmp_path / "bare.fits")
    assert main(["subtract", "--science", str(pair / "science.fits"), "--template",
                 str(tmp_path / "bare.fits"), "--output", str(tmp_path / "diff.fits")]) == 1
    assert last_error(capsys) == ("diffim subtract: error: the template has no WCS and the science "
                                  "has one: whether they share a pixel grid cannot be checked (give "
                                  "both a WCS, or neither)")
