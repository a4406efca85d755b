"""The field source files both middlewares ingest: written once, read back the same."""
import json

import numpy as np
import pytest

from diffim.cli.main import main
from diffim.sim import FieldConfig, PairConfig, simulate_field
from diffim.sim.field_files import FieldFilesError, read_field_files, write_field_files


@pytest.fixture(scope="module")
def field():
    return simulate_field(FieldConfig(sky=PairConfig(size=256, seed=5), detectors=(2, 1)))


@pytest.fixture(scope="module")
def files(field, tmp_path_factory):
    return write_field_files(field, tmp_path_factory.mktemp("field") / "src")


def test_every_calexp_and_its_sources_round_trip(field, files):
    assert set(files.calexps) == set(field.calexps)
    for key, exposure in field.calexps.items():
        read = files.read_calexp(key)
        assert np.array_equal(read.image, exposure.image)
        assert read.visit_info == exposure.visit_info
        sources = files.read_source(key)
        visit, detector = key
        assert (sources["id"] // 10 ** 4 == visit * 100 + detector).all()


def test_visits_roles_and_coadds_of_the_template_visits(field, files):
    assert files.visits_with_role("template") == [1, 2, 3]
    assert files.visits_with_role("science") == [10, 11]
    assert files.detectors == [0, 1]
    assert files.coadds
    skymap = files.read_skymap()
    for tract, patch in files.coadds:
        coadd = files.read_coadd((tract, patch))
        assert coadd.bbox == skymap[tract].patch(patch).outer_bbox
    assert len(files.read_truth()) == len(field.truth)


def test_reference_shards_hold_the_reference_catalogue(field, files):
    config = json.loads((files.refcat / "config.json").read_text())
    assert config["n_sources"] == len(field.reference)


def test_a_non_empty_directory_is_refused(field, tmp_path):
    (tmp_path / "other").write_text("x")
    with pytest.raises(FieldFilesError, match="not empty"):
        write_field_files(field, tmp_path)


def test_a_directory_without_manifest_names_itself(tmp_path):
    with pytest.raises(FieldFilesError, match=f"{tmp_path}: no manifest.json"):
        read_field_files(tmp_path)


def test_a_missing_listed_file_is_named(files, tmp_path):
    copy = tmp_path / "copy"
    copy.mkdir()
    manifest = json.loads((files.root / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FieldFilesError, match="missing files: .*calexp/v1-d0.fits"):
        read_field_files(copy)


def test_the_field_command_writes_a_readable_directory(tmp_path, capsys):
    out = tmp_path / "field"
    assert main(["field", "--output-dir", str(out), "--size", "128", "--detectors", "1", "1",
                 "-c", "star_density=100"]) == 0
    assert "5 visits x 1 detectors" in capsys.readouterr().out
    assert read_field_files(out).detectors == [0]
