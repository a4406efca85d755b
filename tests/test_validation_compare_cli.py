"""``diffim-validate compare`` on real files, and the tolerances it reads.

The command is driven through a parser holding only its own subcommand;
``validation.cli.main`` adds the others and turns `ValidationError` into exit 2.
"""
import argparse
import json

import numpy as np
import pytest
from astropy.io import fits
from conftest import random_exposure

from diffim.io.exposure_fits import write_exposure
from diffim.measure.schema import empty_catalog, write_catalog
from validation.compare import Tolerances, compare_files
from validation.compare.cli import add_parser
from validation.errors import ValidationError


def run(argv):
    parser = argparse.ArgumentParser(prog="diffim-validate")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["compare", *map(str, argv)])
    return args.handler(args)


@pytest.fixture
def exposure_files(tmp_path):
    """Three exposure files: a, an exact copy, and one with pixel (x=1020, y=2010) lowered by 6."""
    exposure = random_exposure(shape=(64, 80), xy0=(1000, 2000))
    paths = {name: tmp_path / f"{name}.fits" for name in ("a", "copy", "altered")}
    write_exposure(exposure, paths["a"])
    write_exposure(exposure, paths["copy"])
    exposure.image[10, 20] -= np.float32(6.0)
    write_exposure(exposure, paths["altered"])
    return paths


@pytest.fixture
def catalog_files(tmp_path):
    """One catalogue of 5 sources as FITS and Parquet, and as Parquet without source 3."""
    catalog = empty_catalog(5)
    catalog["id"] = np.arange(1, 6)
    catalog["slot_Centroid_x"] = [10.0, 50.0, 90.0, 130.0, 170.0]
    catalog["slot_Centroid_y"] = [20.0, 20.0, 60.0, 60.0, 100.0]
    catalog["base_PsfFlux_instFlux"] = [100.0, 200.0, 300.0, 400.0, 500.0]
    catalog["base_PsfFlux_instFluxErr"] = 10.0
    paths = {"fits": tmp_path / "cat_a.fits", "parquet": tmp_path / "b.parquet",
             "dropped": tmp_path / "dropped.parquet"}
    write_catalog(catalog, paths["fits"])
    write_catalog(catalog, paths["parquet"])
    write_catalog(catalog[catalog["id"] != 3].reset_index(drop=True), paths["dropped"])
    return paths


def test_identical_exposure_files(exposure_files, capsys):
    assert run([exposure_files["a"], exposure_files["copy"]]) == 0
    output = capsys.readouterr().out
    assert output.startswith("identical: a (image)")


def test_altered_pixel_file_is_different_and_located(exposure_files, capsys, tmp_path):
    artifacts = tmp_path / "artifacts"
    assert run([exposure_files["a"], exposure_files["altered"], "--artifacts", artifacts]) == 1
    output = capsys.readouterr().out
    assert output.startswith("different: a (image)")
    assert "image: differs in x 1020..1020, y 2010..2010, max |Δ| at [1020, 2010]" in output
    with fits.open(artifacts / "a_diff_of_diff.fits") as hdus:
        assert hdus["IMAGE"].data[10, 20] == pytest.approx(6.0, rel=1e-6)


def test_tolerance_overrides_and_json(exposure_files, capsys):
    argv = [exposure_files["a"], exposure_files["altered"], "--json",
            "--tolerance", "pixel_max_fraction=0.001", "-t", "mask_max_pixels=3",
            "--reason", "known pixel"]
    assert run(argv) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["verdict"] == "within_tolerance"
    assert record["metrics"]["image.max_abs"] == pytest.approx(6.0, rel=1e-6)
    assert record["details"]["image"]["max_abs_at"] == [1020, 2010]
    assert record["reason"] == "known pixel"


def test_same_catalogue_as_fits_and_parquet_is_identical(catalog_files, capsys):
    assert run([catalog_files["fits"], catalog_files["parquet"]]) == 0
    assert capsys.readouterr().out.startswith("identical: cat_a (catalog)")


def test_dropped_source_file(catalog_files, capsys, tmp_path):
    assert run([catalog_files["parquet"], catalog_files["dropped"], "--artifacts", tmp_path]) == 1
    output = capsys.readouterr().out
    assert "unmatched in A (id): 3" in output
    assert (tmp_path / "b_matched.parquet").is_file()
    assert run([catalog_files["parquet"], catalog_files["dropped"], "-t", "unmatched_max=1"]) == 0


def test_plain_fits_images_compare_as_exposures(tmp_path):
    data = np.arange(64 * 64, dtype=np.float32).reshape(64, 64)
    fits.PrimaryHDU(data).writeto(tmp_path / "plain_a.fits")
    data[3, 5] += 1.0
    fits.PrimaryHDU(data).writeto(tmp_path / "plain_b.fits")
    comparison = compare_files(tmp_path / "plain_a.fits", tmp_path / "plain_b.fits",
                               tolerances=Tolerances(image_max_sigma=1e6))
    assert comparison.kind == "image" and comparison.metrics["image.n_differing"] == 1
    assert comparison.details["image"]["max_abs_at"] == [5, 3]


def test_unreadable_files_name_the_file(exposure_files, tmp_path):
    missing = tmp_path / "missing.fits"
    with pytest.raises(ValidationError, match="missing.fits"):
        run([exposure_files["a"], missing])
    truncated = tmp_path / "truncated.fits"
    truncated.write_bytes(exposure_files["a"].read_bytes()[:10000])
    with pytest.raises(ValidationError, match="truncated.fits"):
        run([truncated, exposure_files["a"]])
    text = tmp_path / "notes.txt"
    text.write_text("not data\n")
    with pytest.raises(ValidationError, match="notes.txt: neither a FITS nor a Parquet"):
        run([text, exposure_files["a"]])
    bad_parquet = tmp_path / "bad.parquet"
    bad_parquet.write_bytes(b"PAR1 truncated")
    with pytest.raises(ValidationError, match="bad.parquet"):
        run([bad_parquet, bad_parquet])


def test_exposure_against_catalogue_is_refused(exposure_files, catalog_files):
    with pytest.raises(ValidationError, match="an exposure.*a catalogue"):
        run([exposure_files["a"], catalog_files["fits"]])


def test_bad_tolerance_arguments(exposure_files):
    files = [exposure_files["a"], exposure_files["copy"]]
    with pytest.raises(ValidationError, match="unknown tolerance 'image_sigma'"):
        run([*files, "-t", "image_sigma=1"])
    with pytest.raises(ValidationError, match="KEY=VALUE"):
        run([*files, "-t", "image_max_sigma"])
    with pytest.raises(ValidationError, match="tolerance mask_max_pixels must be int"):
        run([*files, "-t", "mask_max_pixels=2.5"])


def test_tolerances_from_dict():
    tolerances = Tolerances.from_dict({"image_max_sigma": "0.25", "mask_max_pixels": "7",
                                       "allow_schema_differences": "yes",
                                       "other_max_rel": 0.01})
    assert tolerances.image_max_sigma == 0.25 and tolerances.mask_max_pixels == 7
    assert tolerances.allow_schema_differences is True and tolerances.other_max_rel == 0.01
    assert tolerances.flux_max_sigma == Tolerances().flux_max_sigma
    assert Tolerances.from_dict(tolerances.to_dict()) == tolerances
    assert Tolerances.from_dict({"other_max_rel": "none"}).other_max_rel is None
    with pytest.raises(ValidationError, match="unknown tolerance 'flux_sigma'"):
        Tolerances.from_dict({"flux_sigma": 1.0})
    with pytest.raises(ValidationError, match="image_max_sigma must be a finite number >= 0"):
        Tolerances.from_dict({"image_max_sigma": -1})
    with pytest.raises(ValidationError, match="flux_max_sigma must be a finite number"):
        Tolerances.from_dict({"flux_max_sigma": "inf"})
    with pytest.raises(ValidationError, match="flag_max_fraction is a fraction"):
        Tolerances.from_dict({"flag_max_fraction": 2})
    with pytest.raises(ValidationError, match="allow_schema_differences must be bool"):
        Tolerances.from_dict({"allow_schema_differences": "maybe"})
    with pytest.raises(ValidationError, match="match_radius_pixels must be > 0"):
        Tolerances(match_radius_pixels=0.0)
