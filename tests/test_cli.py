import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from conftest import random_exposure

from diffim.cli.main import main
from diffim.io.exposure_fits import read_exposure, write_exposure

SIM_ARGS = ["--size", "256", "--seed", "7", "-c", "n_transients=3"]


def test_sim_writes_pair_and_truth(tmp_path, capsys):
    assert main(["sim", "--output-dir", str(tmp_path), *SIM_ARGS]) == 0
    printed = capsys.readouterr().out.split()
    assert [Path(p).name for p in printed] == ["science.fits", "template.fits", "truth.parquet"]
    science = read_exposure(tmp_path / "science.fits")
    template = read_exposure(tmp_path / "template.fits")
    truth = pd.read_parquet(tmp_path / "truth.parquet")
    assert science.shape == template.shape == (256, 256)
    assert science.psf is not None and science.wcs is not None
    assert (truth["kind"] == "transient").sum() == 3


def test_sim_is_deterministic_on_disk(tmp_path):
    for name in ("a", "b"):
        assert main(["sim", "--output-dir", str(tmp_path / name), *SIM_ARGS]) == 0
    first = read_exposure(tmp_path / "a" / "science.fits")
    second = read_exposure(tmp_path / "b" / "science.fits")
    assert np.array_equal(first.image, second.image)


def test_sim_unknown_parameter_is_one_line_error(tmp_path, capsys):
    assert main(["sim", "--output-dir", str(tmp_path), "-c", "no_such_knob=3"]) == 1
    error = capsys.readouterr().err.strip()
    assert error.startswith("diffim sim: error: unknown simulation parameter 'no_such_knob=3'")
    assert "\n" not in error
    assert not any(tmp_path.iterdir())


def test_info_describes_exposure(tmp_path, capsys):
    path = tmp_path / "e.fits"
    write_exposure(random_exposure(), path)
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    assert "Box(x0=1000, y0=2000, 80x64)" in out
    assert "SAT=" in out and "MY_RUNTIME_PLANE=160" in out
    assert "zero point 27.1235" in out
    assert "band=r" in out


def test_info_on_real_decam_image_measures_psf(decam_dir, capsys):
    assert main(["info", str(decam_dir / "DEC-OBS04a.mini.fits")]) == 0
    out = capsys.readouterr().out
    assert "measured FWHM" in out
    assert "TPV" in out


def test_info_on_corrupt_file_exits_nonzero(tmp_path, capsys):
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"garbage" * 500)
    assert main(["info", str(bad)]) == 1
    assert "bad.fits: not a readable FITS file" in capsys.readouterr().err


def test_installed_entry_point_runs():
    diffim = Path(sys.executable).with_name("diffim")
    result = subprocess.run([str(diffim), "info", "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "FITS file" in result.stdout


def test_subtract_writes_difference_with_summary_cards(tmp_path, capsys):
    assert main(["sim", "--output-dir", str(tmp_path), "--size", "512", "--seed", "3",
                 "-c", "star_density=1000"]) == 0
    capsys.readouterr()
    output = tmp_path / "diff.fits"
    assert main(["subtract", "--science", str(tmp_path / "science.fits"),
                 "--template", str(tmp_path / "template.fits"), "--output", str(output),
                 "-c", "makeKernel.kernel.active.spatialKernelOrder=1"]) == 0
    line = capsys.readouterr().out.strip()
    assert "\n" not in line and "mode=convolveTemplate" in line
    header = fits.getheader(output)
    assert header["DIFMODE"] == "convolveTemplate"
    assert header["KERNSUM"] == pytest.approx(0.9, rel=1e-2)
    assert header["NKSRC"] >= 10
    difference = read_exposure(output)
    assert difference.shape == (512, 512) and difference.psf is not None


def test_subtract_plain_images_with_given_fwhm_and_variance(tmp_path, capsys):
    assert main(["sim", "--output-dir", str(tmp_path), "--size", "512", "--seed", "3",
                 "-c", "star_density=1000"]) == 0
    for name in ("science", "template"):
        exposure = read_exposure(tmp_path / f"{name}.fits")
        fits.PrimaryHDU(exposure.image).writeto(tmp_path / f"{name}_plain.fits")
        fits.PrimaryHDU(exposure.variance).writeto(tmp_path / f"{name}_var.fits")
    capsys.readouterr()
    assert main(["subtract", "--science", str(tmp_path / "science_plain.fits"),
                 "--template", str(tmp_path / "template_plain.fits"),
                 "--output", str(tmp_path / "d.fits"),
                 "--science-variance", str(tmp_path / "science_var.fits"),
                 "--template-variance", str(tmp_path / "template_var.fits"),
                 "--science-fwhm", "5.0", "--template-fwhm", "3.5", "--mode", "auto",
                 "-c", "makeKernel.kernel.active.spatialKernelOrder=1"]) == 0
    assert fits.getheader(tmp_path / "d.fits")["KERNSUM"] == pytest.approx(0.9, rel=1e-2)


def test_subtract_errors_are_one_line(tmp_path, capsys):
    path, other = tmp_path / "e.fits", tmp_path / "f.fits"
    write_exposure(random_exposure(), path)
    write_exposure(random_exposure(), other)
    assert main(["subtract", "--science", str(path), "--template", str(other),
                 "--output", str(tmp_path / "d.fits"), "-c", "noSuchField=1"]) == 1
    error = capsys.readouterr().err.strip()
    assert error == "diffim subtract: error: unknown config field 'noSuchField'"
    assert main(["subtract", "--science", str(path), "--template", str(tmp_path / "missing.fits"),
                 "--output", str(tmp_path / "d.fits")]) == 1
    assert "missing.fits: no such file" in capsys.readouterr().err
    assert not (tmp_path / "d.fits").exists()


def test_subtract_with_catalog_runs_both_halves(tmp_path, capsys):
    assert main(["sim", "--output-dir", str(tmp_path), "--size", "512", "--seed", "3",
                 "-c", "star_density=1000", "-c", "n_transients=15"]) == 0
    capsys.readouterr()
    assert main(["subtract", "--science", str(tmp_path / "science.fits"),
                 "--template", str(tmp_path / "template.fits"), "--output",
                 str(tmp_path / "d.fits"), "--catalog", str(tmp_path / "dia.parquet"),
                 "--detect-config", "doSkySources=True",
                 "-c", "makeKernel.kernel.active.spatialKernelOrder=1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and "dia_sources=" in lines[1]
    dia = pd.read_parquet(tmp_path / "dia.parquet")
    truth = pd.read_parquet(tmp_path / "truth.parquet")
    assert dia["sky_source"].sum() > 0
    bright = truth[(truth["kind"] == "transient") & (truth["difference_snr"] > 20)
                   & (truth["host_id"] < 0)]
    found = [np.hypot(dia["slot_Centroid_x"] - x, dia["slot_Centroid_y"] - y).min() < 1.0
             for x, y in zip(bright["x"], bright["y"])]
    assert np.mean(found) > 0.8
    assert main(["subtract", "--science", str(tmp_path / "science.fits"),
                 "--template", str(tmp_path / "template.fits"), "--output",
                 str(tmp_path / "e.fits"), "--catalog", str(tmp_path / "dia.txt")]) == 1
    assert "dia.txt" in capsys.readouterr().err
    assert not (tmp_path / "e.fits").exists()


def test_subtract_warps_a_template_on_another_wcs(tmp_path, capsys):
    assert main(["sim", "--output-dir", str(tmp_path), "--size", "512", "--seed", "3",
                 "-c", "star_density=1000", "-c", "template_offset=(7.3, -4.1)",
                 "-c", "template_rotation=0.5"]) == 0
    capsys.readouterr()
    assert main(["subtract", "--science", str(tmp_path / "science.fits"),
                 "--template", str(tmp_path / "template.fits"), "--output",
                 str(tmp_path / "d.fits"), "-c", "makeKernel.kernel.active.spatialKernelOrder=1"]) == 0
    line = capsys.readouterr().out
    robust_std = float(line.split("robust_std(diff/sigma)=")[1].split()[0])
    assert 0.95 < robust_std < 1.08
    assert fits.getheader(tmp_path / "d.fits")["KERNSUM"] == pytest.approx(0.9, rel=1e-2)


def test_main_job_reports_against_the_truth(tmp_path, capsys):
    assert main(["main", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("science.fits", "template.fits", "truth.parquet", "difference.fits",
                 "diaSources.parquet"):
        assert (tmp_path / name).is_file()
    found, total = (int(n) for n in out.split("truth: ")[-1].split()[0].split("/"))
    assert found >= 0.7 * total > 0
    kernel_sum_error = float(out.split("kernel sum error ")[1].split()[0])
    assert abs(kernel_sum_error) < 0.4
