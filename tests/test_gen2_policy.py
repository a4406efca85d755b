"""The mapper policy, the registry file and the ingest command line."""
import sqlite3

import pytest

from _gen2_data import files  # noqa: F401  (the shared field files)
from compat.gen2 import Butler, PolicyError, RegistryLookupError, SimCamMapper
from compat.gen2.ingest import main
from compat.gen2.policy import POLICY_DIR, load_policy, template_keys
from compat.gen2.registry import Registry

ISSUE_DATASET_TYPES = {
    "calexp", "src", "deepCoadd", "deepCoadd_skyMap", "ref_cat", "deepDiff_differenceExp",
    "deepDiff_matchedExp", "deepDiff_warpedExp", "deepDiff_diaSrc", "deepDiff_kernelSrc",
    "deepDiff_config", "deepDiff_metadata", "deepDiff_diaSrc_schema", "packages"}


def test_shipped_policy_has_every_dataset_type_the_task_needs():
    policy = load_policy(POLICY_DIR / "SimCamMapper.yaml")
    assert ISSUE_DATASET_TYPES <= set(policy)
    assert policy["calexp"].template == "calexp/v%(visit)d-f%(filter)s/c%(ccd)02d.fits"
    assert (policy["calexp"].python, policy["calexp"].storage, policy["calexp"].tables) == (
        "diffim.exposure.Exposure", "Fits", ("raw",))
    assert policy["deepDiff_config"].template == "config/deepDiff.py"
    assert policy["deepDiff_config"].keys == {}


def test_template_keys_and_types():
    assert template_keys("deepCoadd/%(filter)s/%(tract)d/%(patch)s.fits") == {
        "filter": str, "tract": int, "patch": str}
    assert template_keys("c%(ccd)02d-%(ccd)d") == {"ccd": int}
    with pytest.raises(PolicyError, match=r"key 'ccd' has unsupported conversion %x"):
        template_keys("c%(ccd)x")
    with pytest.raises(PolicyError, match="key 'ccd' used with two types"):
        template_keys("%(ccd)d/%(ccd)s")


@pytest.mark.parametrize("template", ["/abs/%(visit)d.fits", "../up/%(visit)d.fits"])
def test_templates_must_stay_inside_the_repository(tmp_path, template):
    path = tmp_path / "policy.yaml"
    path.write_text(f"datasets:\n  bad:\n    template: {template}\n    python: dict\n"
                    "    storage: Yaml\n")
    with pytest.raises(PolicyError) as error:
        load_policy(path)
    assert str(error.value) == (f"{path}: dataset type 'bad': template '{template}' must be "
                                "relative and inside the repository")


def test_policy_errors_name_the_file_and_entry(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("datasets:\n  bad:\n    template: x.fits\n    storage: Pickle\n"
                    "    python: dict\n")
    with pytest.raises(PolicyError, match=f"^{path}: dataset type 'bad': unknown storage "
                                          "'Pickle'"):
        load_policy(path)
    path.write_text("datasets:\n  bad:\n    template: x.fits\n")
    with pytest.raises(PolicyError, match=f"^{path}: dataset type 'bad' lacks python, storage$"):
        load_policy(path)
    with pytest.raises(PolicyError, match="cannot read mapper policy"):
        SimCamMapper(policy=tmp_path / "missing.yaml")


def test_registry_tables_and_constraints(tmp_path):
    registry = Registry.create(tmp_path / "registry.sqlite3")
    row = {"visit": 5, "ccd": 0, "filter": "r_sim", "date": "2024-01-01", "expTime": 30.0}
    registry.add_exposures([row, {**row, "ccd": 1}])
    assert registry.columns("raw") == ["id", "visit", "ccd", "filter", "date", "expTime"]
    assert registry.query("raw_visit", ["visit", "filter"], {"ccd": 1}) == [(5, "r_sim")]
    with pytest.raises(RegistryLookupError, match="UNIQUE constraint failed: raw.visit, raw.ccd"):
        registry.add_exposures([row])
    with pytest.raises(RegistryLookupError, match=r"visits \[5\] have detectors with different "
                                                  "filters or dates"):
        registry.add_exposures([{**row, "ccd": 2, "filter": "g_sim"}])
    with sqlite3.connect(registry.path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM raw").fetchone() == (2,)
    with pytest.raises(RegistryLookupError, match=r"table 'raw' has no column\(s\) \['tract'\]"):
        registry.query("raw", ["tract"], {})
    with pytest.raises(FileExistsError):
        Registry.create(registry.path)


def test_ingest_command_line(files, tmp_path, capsys):
    root = tmp_path / "repo"
    assert main([str(files.root), str(root)]) == 0
    assert capsys.readouterr().out == f"{root}\n"
    assert Butler(root).queryMetadata("calexp", "visit") == [1, 2, 10, 11]
    assert main([str(files.root), str(root)]) == 1
    assert capsys.readouterr().err == ("diffim-gen2-ingest: error: "
                                       f"{root}: is a repository already (has _mapper)\n")
    assert main([str(tmp_path), str(tmp_path / "other")]) == 1
    assert capsys.readouterr().err == (f"diffim-gen2-ingest: error: {tmp_path}: no manifest.json; "
                                       "not a field directory (or an interrupted write)\n")
