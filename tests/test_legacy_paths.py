"""Module paths of earlier releases still import, as stored configs and override files name them."""
import importlib

import pytest

import diffim
from diffim._legacy_paths import MOVED_MODULES
from diffim.image_difference import ImageDifferenceConfig
from diffim.template import GetCalexpAsTemplateTask


@pytest.mark.parametrize("old, present", sorted(MOVED_MODULES.items()))
def test_old_path_is_the_present_module(old, present):
    assert importlib.import_module(old) is importlib.import_module(present)


def test_override_file_with_old_path_retargets(tmp_path):
    override = tmp_path / "calexpTemplate.py"
    override.write_text("from diffim.get_template import GetCalexpAsTemplateTask\n"
                        "import diffim.make_kernel\n"
                        "config.getTemplate.retarget(GetCalexpAsTemplateTask)\n")
    config = ImageDifferenceConfig()
    config.load(str(override))
    assert config.getTemplate.target is GetCalexpAsTemplateTask


def test_unknown_module_is_still_an_error():
    with pytest.raises(ModuleNotFoundError, match="diffim.no_such_module"):
        importlib.import_module("diffim.no_such_module")


def test_lazy_exports_name_the_tasks_and_io():
    assert diffim.ImageDifferenceTask.ConfigClass is diffim.ImageDifferenceConfig
    assert diffim.AlardLuptonSubtractTask.ConfigClass is diffim.AlardLuptonSubtractConfig
    assert callable(diffim.read_exposure) and callable(diffim.write_exposure)
    assert set(diffim.__all__) >= {"DetectAndMeasureTask", "GetCoaddAsTemplateTask", "read_catalog"}
    with pytest.raises(AttributeError, match="no_such_name"):
        diffim.no_such_name  # noqa: B018


def test_saved_config_names_present_modules_and_loads_back():
    saved = ImageDifferenceConfig().saveToString()
    imports = {line.split()[1] for line in saved.splitlines() if line.startswith("import diffim")}
    assert "diffim.psfmatch.make_kernel" in imports and "diffim.template.get_template" in imports
    assert not imports & set(MOVED_MODULES)
    config = ImageDifferenceConfig()
    config.loadFromString(saved)
    assert config.compare(ImageDifferenceConfig())
