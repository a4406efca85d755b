"""``diffim detect`` (diffim.cli.detect) on persisted images."""
import argparse

import pytest
from _measure_data import add_point, noise_exposure

from diffim.cli import detect
from diffim.errors import DiffimError
from diffim.io.exposure_fits import write_exposure
from diffim.measure import read_catalog


def parse(argv):
    parser = argparse.ArgumentParser(prog="diffim")
    detect.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(argv)


@pytest.fixture
def images(tmp_path):
    difference = noise_exposure(256, seed=51)
    add_point(difference, 100.0, 90.0, 3000.0)
    add_point(difference, 180.0, 170.0, -3000.0)
    paths = {}
    for name, exposure in (("difference", difference), ("science", noise_exposure(256, seed=52)),
                           ("matched", noise_exposure(256, seed=53))):
        paths[name] = tmp_path / f"{name}.fits"
        write_exposure(exposure, paths[name])
    return paths


def arguments(images, output, *extra):
    return ["detect", "--difference", str(images["difference"]), "--science",
            str(images["science"]), "--matched", str(images["matched"]), "--output", str(output),
            *extra]


@pytest.mark.parametrize("suffix", [".fits", ".parquet"])
def test_detect_writes_catalogue_and_one_line(images, tmp_path, capsys, suffix):
    output = tmp_path / "out" / f"dia{suffix}"
    args = parse(arguments(images, output))
    args.run(args)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines == [f"{output}: dia_sources=2 positive=1 negative=1 dipoles=0 sky_sources=0"]
    catalog = read_catalog(output)
    assert len(catalog) == 2 and sorted(catalog["is_negative"]) == [False, True]
    assert [p.name for p in output.parent.iterdir()] == [output.name]


def test_overrides_apply(images, tmp_path, capsys):
    config_file = tmp_path / "override.py"
    config_file.write_text("config.skySources.nSources = 7\n")
    output = tmp_path / "dia.parquet"
    args = parse(arguments(images, output, "-c", "doSkySources=True", "-C", str(config_file)))
    args.run(args)
    assert "sky_sources=7" in capsys.readouterr().out
    assert read_catalog(output)["sky_source"].sum() == 7


@pytest.mark.parametrize("extra, message", [
    (["-c", "noSuchField=1"], "unknown config field 'noSuchField'"),
    (["-c", "detection.thresholdPolarity=sideways"], "thresholdPolarity"),
])
def test_bad_config_is_a_one_line_error(images, tmp_path, extra, message):
    args = parse(arguments(images, tmp_path / "dia.fits", *extra))
    with pytest.raises(DiffimError, match=message) as error:
        args.run(args)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "dia.fits").exists()


def test_bad_output_and_missing_input(images, tmp_path):
    args = parse(arguments(images, tmp_path / "dia.csv"))
    with pytest.raises(DiffimError, match="unknown catalogue format"):
        args.run(args)
    images["difference"] = tmp_path / "missing.fits"
    args = parse(arguments(images, tmp_path / "dia.fits"))
    with pytest.raises(DiffimError, match="missing.fits"):
        args.run(args)
    assert not (tmp_path / "dia.fits").exists()
