"""What an install ships: every package, and every data file the code reads at run time."""
import fnmatch
from pathlib import Path

from setuptools.config.setupcfg import read_configuration

ROOT = Path(__file__).resolve().parents[1]
DATA_SUFFIXES = {".yaml", ".json", ".j2", ".pyx", ".pxd"}


def test_every_data_file_is_package_data_of_a_listed_package():
    options = read_configuration(ROOT / "setup.cfg")["options"]
    packages, package_data = set(options["packages"]), options["package_data"]
    shipped, missing = [], []
    for top in ("diffim", "compat", "validation"):
        for path in sorted((ROOT / top).rglob("*")):
            if path.suffix not in DATA_SUFFIXES or "__pycache__" in path.parts:
                continue
            package = ".".join(path.parent.relative_to(ROOT).parts)
            patterns = package_data.get(package, [])
            if package in packages and any(fnmatch.fnmatch(path.name, p) for p in patterns):
                shipped.append(path.relative_to(ROOT).as_posix())
            else:
                missing.append(path.relative_to(ROOT).as_posix())
    assert missing == []
    assert {"compat/gen2/policy/SimCamMapper.yaml", "compat/gen3/pipelines/image_difference.yaml",
            "validation/scenarios/default.yaml", "validation/templates/report.html.j2",
            "compat/gen3/bps/local.yaml", "validation/audit/data/image_difference_history.json",
            "diffim/_core/_al_solve.pyx"} <= set(shipped)


def test_no_cache_folder_is_a_package():
    packages = read_configuration(ROOT / "setup.cfg")["options"]["packages"]
    assert not [name for name in packages if "__pycache__" in name]
    assert {"diffim.psfmatch", "compat.gen3.tasks", "validation.report"} <= set(packages)
