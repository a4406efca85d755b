"""The stack's ImageDifferenceConfig: real override files, legacy paths, registry, retargets,
settings not applied, every failing line at once, and -c paths."""
import importlib
import io
import logging
import sys
from pathlib import Path

import lsst.daf.butler
import lsst.pex.config as pexConfig
import pytest
# files and pristine are the shared fixtures of the gen2 repository.
from _gen2_data import files, make_repo, pristine  # noqa: F401

from compat.gen2.image_difference import ImageDifferenceCmdLineTask
from compat.gen3.runner import load_pipeline
from compat.gen3.tasks import ImageDifferenceTask as Gen3ImageDifferenceTask
from diffim.cli.config_overrides import ConfigOverrideError, apply_overrides
from diffim.config.override_file import OverrideFileError
from diffim.image_difference import ImageDifferenceConfig, ImageDifferenceTask
from diffim.image_difference.subtract_registry import ImagePsfMatchTask, ZogyImagePsfMatchTask
from diffim.measure.detection import SourceDetectionTask
from diffim.subtract import AlardLuptonSubtractConfig
from diffim.template import GetCalexpAsTemplateTask
from validation.campaign.scenarios import apply_overrides as apply_scenario_overrides
from validation.errors import ValidationError

REAL_FILES = sorted((Path(__file__).parent / "data" / "gen2_overrides").glob("*.py"))
"""Real gen2 override files, 2016-2021 (provenance and licences beside them)."""

NO_DATA = ["--id", "visit=99", "--rerun", "config"]
"""A data ID with no data, and the output gen2 requires: parsing only reads the repository."""


@pytest.fixture(scope="module")
def root(files, pristine, tmp_path_factory):  # noqa: F811
    """One repository for the module: these tests only parse command lines against it."""
    return make_repo(files, pristine, tmp_path_factory.mktemp("config") / "repo")


def gen2_parse(root, args):
    parser = ImageDifferenceCmdLineTask._makeArgumentParser()
    return parser.parse_args(config=ImageDifferenceCmdLineTask.ConfigClass(),
                             args=[str(root), *NO_DATA, *args])


def gen3_task(config_files):
    graph = load_pipeline("image_difference",
                          config_files={"imageDifference": config_files}).to_graph()
    return Gen3ImageDifferenceTask(config=graph.tasks["imageDifference"].config)


def observatory_package(path):
    """The observatory package a file needs (an import or a getPackageDir), if any."""
    text = path.read_text()
    for name in ("obs_decam", "obs_lsst", "lsst.obs."):
        if f"getPackageDir('{name}')" in text or (name == "lsst.obs." and name in text):
            return name
    return None


def test_there_are_real_files():
    assert len(REAL_FILES) >= 15


@pytest.mark.parametrize("path", REAL_FILES, ids=lambda path: path.stem)
def test_real_file_loads_in_gen2_and_gen3(root, capsys, path):
    """Each real file loads unchanged (imageDifference.py -C, pipetask -C label:file), and
    both middlewares build the same task from it; or it stops at once on the one line that
    needs an observatory package, naming file, line and package."""
    package = observatory_package(path)
    if package is None:
        config = gen2_parse(root, ["-C", str(path)]).config
        gen2 = ImageDifferenceTask(config=config)
        gen3 = gen3_task([str(path)]).diffimTask
        assert type(gen3.subtract) is type(gen2.subtract)
        assert type(gen3.getTemplate) is type(gen2.getTemplate)
        gen3_lines = [line for line in gen3.notApplied if not line.startswith("connections.")]
        assert gen3_lines == [line for line in gen2.notApplied
                              if not line.startswith("connections.")]
        return
    with pytest.raises(SystemExit):
        gen2_parse(root, ["-C", str(path)])
    gen2_error = capsys.readouterr().err.strip().splitlines()[-1]
    with pytest.raises(OverrideFileError) as gen3_error:
        gen3_task([str(path)])
    for message in (gen2_error, str(gen3_error.value)):
        assert len(message.splitlines()) == 1 and f"{path}:" in message
        assert "observatory package" in message and package.rstrip(".") in message


def test_stack_names_resolve_only_while_a_file_loads(tmp_path):
    override = tmp_path / "override.py"
    override.write_text("from lsst.ip.diffim.getTemplate import GetCalexpAsTemplateTask\n"
                        "from lsst.meas.algorithms import LoadIndexedReferenceObjectsTask\n"
                        "import lsst.daf.butler\n"
                        "assert lsst.daf.butler.Butler.__module__.startswith('lsst.daf')\n"
                        "config.getTemplate.retarget(GetCalexpAsTemplateTask)\n"
                        "config.refObjLoader.retarget(LoadIndexedReferenceObjectsTask)\n")
    butler_module = sys.modules["lsst.daf.butler"]
    config = ImageDifferenceConfig()
    config.load(str(override))
    assert config.getTemplate.target is GetCalexpAsTemplateTask
    assert sys.modules["lsst.daf.butler"] is butler_module is lsst.daf.butler
    assert not any(name.startswith(("lsst.ip", "lsst.meas")) for name in sys.modules)
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("lsst.ip.diffim")
    saved = io.StringIO()
    config.saveToStream(saved)
    assert "lsst.ip" not in saved.getvalue()


def test_every_failing_line_is_reported_at_once(root, capsys, tmp_path):
    override = tmp_path / "override.py"
    override.write_text("config.doDecorrelation = False\n"
                        "config.noSuchField = 1\n"
                        "from lsst.ip.diffim import NoSuchTask\n"
                        "config.getTemplate.retarget(NoSuchTask)\n"
                        "config.subtract['al'].kernel['AL'].kernelSize = 'wide'\n"
                        "config.detection.thresholdValue = 6.0\n")
    expected = [f"{override}:2: config.noSuchField = 1: ",
                f"{override}:3: from lsst.ip.diffim import NoSuchTask: ImportError",
                f"{override}:4: config.getTemplate.retarget(NoSuchTask): NoSuchTask is "
                "undefined (line 3 failed)",
                f"{override}:5: config.subtract['al'].kernel['AL'].kernelSize = 'wide': "]
    with pytest.raises(SystemExit):
        gen2_parse(root, ["-C", str(override)])
    gen2_lines = capsys.readouterr().err.strip().splitlines()[-4:]
    with pytest.raises(OverrideFileError) as gen3_error:
        gen3_task([str(override)])
    for lines in (gen2_lines, gen3_error.value.problems):
        assert len(lines) == 4
        assert all(line.split("error: ")[-1].startswith(start)
                   for line, start in zip(lines, expected))


def test_legacy_kernel_path_is_the_project_path_and_is_saved():
    config = ImageDifferenceConfig()
    assert config.subtract["al"].kernel is config.subtract.makeKernel.kernel
    config.subtract["al"].kernel["AL"].kernelSize = 31
    assert config.subtract["al"].makeKernel.kernel["AL"].kernelSize == 31
    config.subtract.makeKernel.kernel.name = "DF"
    assert config.subtract["al"].kernel.name == "DF"
    config.subtract.kernel["AL"].alardNGauss = 2      # subtract.kernel: the pre-2017 layout
    saved = io.StringIO()
    config.saveToStream(saved)
    text = saved.getvalue()
    assert "config.subtract['al'].kernel['AL'].kernelSize=31" in text
    assert "config.subtract['al'].kernel.name='DF'" in text
    assert "config.detection.thresholdValue=5.0" in text
    assert "makeKernel.kernel" not in text and "detectAndMeasure.detection." not in text
    loaded = ImageDifferenceConfig()
    loaded.loadFromString(text)
    assert loaded.compare(config)
    assert loaded.subtract["al"].kernel["AL"].alardNGauss == 2


def test_retargets_and_registry_choice_take_effect():
    class SlowDetection(SourceDetectionTask):
        pass

    config = ImageDifferenceConfig()
    config.getTemplate.retarget(GetCalexpAsTemplateTask)
    config.detection.retarget(SlowDetection)
    task = ImageDifferenceTask(config=config)
    assert type(task.getTemplate) is GetCalexpAsTemplateTask
    assert type(task.detectAndMeasure.detection) is SlowDetection
    assert type(task.subtract) is ImagePsfMatchTask and not task.notApplied
    config = ImageDifferenceConfig()
    config.subtract = "zogy"                          # as 2018 files wrote it
    config.subtract["zogy"].zogyConfig.doSpatialGrid = True
    config.doDecorrelation = False
    task = ImageDifferenceTask(config=config)
    assert type(task.subtract) is ZogyImagePsfMatchTask and not task.notApplied
    assert task.subtract.zogy.config.doSpatialGrid


def test_zogy_settings_without_effect_are_named():
    config = ImageDifferenceConfig()
    config.subtract.name = "zogy"
    config.subtract["zogy"].zogyConfig.inImageSpace = True
    config.subtract["zogy"].zogyMapReduceConfig.borderSizeX = 7.0
    config.doDecorrelation = False
    assert ImageDifferenceTask(config=config).notApplied == [
        "subtract['zogy'].zogyMapReduceConfig.borderSizeX=7.0 is accepted but not applied: ZOGY's "
        "cells are zogyConfig.doSpatialGrid here (the 2017-2020 map-reduce grid is not)",
        "subtract['zogy'].zogyConfig.inImageSpace=True is accepted but not applied: ZOGY works "
        "in Fourier space here, with the PSFs as measured"]


def test_settings_not_applied_are_logged_and_recorded(caplog):
    config = ImageDifferenceConfig()
    config.doSelectSources = True
    config.doUseRegister = True
    config.register.matchRadius = 2.0
    config.detection.minPixels = 5
    config.astrometer.matcher.maxMatchDistArcSec = 2.0
    config.doSpatiallyVarying = True
    with caplog.at_level(logging.WARNING):
        task = ImageDifferenceTask(config=config)
    assert [line.split(" is accepted but not applied: ")[0] for line in task.notApplied] == [
        "doUseRegister=True", "register.matchRadius=2.0", "doSpatiallyVarying=True",
        "astrometer.matcher.maxMatchDistArcSec=2.0", "detection.minPixels=5"]
    assert task.notApplied[0] == ("doUseRegister=True is accepted but not applied: templates "
                                  "are warped with the calexps' WCSs, never re-registered here")
    assert [record.getMessage() for record in caplog.records] == task.notApplied
    assert task.getFullMetadata()["notApplied"] == task.notApplied
    assert "notApplied" not in ImageDifferenceTask().getFullMetadata()


@pytest.mark.parametrize("switches, message", [
    ({"subtract": "zogy", "doDecorrelation": True},
     "doDecorrelation=True is not a ZOGY option"),
    ({"subtract": "zogy", "doDecorrelation": False, "useScoreImageDetection": True,
      "convolveTemplate": False}, None),                     # ZOGY convolves both images
    ({"useGaussianForPreConvolution": True}, None),           # ignored, as 2013-2021
    ({"doScaleTemplateVariance": True, "doScaleDiffimVariance": False}, None),
    ({"doAddMetrics": True}, None),                           # no metrics without selection
    ({"doWriteScoreExp": True}, "doWriteScoreExp=True needs useScoreImageDetection=True"),
    ({"doAddMetrics": True, "doSubtract": False, "doWriteSubtractedExp": False},
     "kernel metrics need doSubtract=True"),
])
def test_validate_rules_are_the_stacks(switches, message):
    config = ImageDifferenceConfig()
    for name, value in switches.items():
        setattr(config, name, value)
    if message is None:
        config.validate()
    else:
        with pytest.raises(pexConfig.FieldValidationError, match=message):
            config.validate()


def test_dash_c_takes_every_path_a_file_can_set(root):
    config = AlardLuptonSubtractConfig()
    apply_overrides(config, [("set", "makeKernel.kernel.name=DF"),
                             ("set", "makeKernel.kernel['AL'].kernelSize=25")])
    assert config.makeKernel.kernel.name == "DF" and config.makeKernel.kernel["AL"].kernelSize == 25
    with pytest.raises(ConfigOverrideError, match="unknown config field 'makeKernel.kernel.nam'"):
        apply_overrides(AlardLuptonSubtractConfig(), [("set", "makeKernel.kernel.nam=DF")])
    config = gen2_parse(root, ["-c", "subtract.name=zogy", "subtract['al'].kernel['AL'].kernelSize=25",
                               "detection.thresholdValue=6", "doDecorrelation=False"]).config
    assert config.subtract.name == "zogy" and config.detection.thresholdValue == 6.0
    assert config.subtract["al"].kernel["AL"].kernelSize == 25
    config = ImageDifferenceConfig()
    apply_scenario_overrides(config, {"subtract.makeKernel.kernel.name": "DF",
                                      "getTemplate.warpType": "psfMatched"}, where="scenario x")
    assert config.subtract["al"].kernel.name == "DF"
    with pytest.raises(ValidationError, match="scenario x: unknown config field 'subtract.nam'"):
        apply_scenario_overrides(config, {"subtract.nam": "al"}, where="scenario x")


def test_sub_task_configs_carry_the_monolith_switches_without_touching_its_config():
    default = ImageDifferenceTask()
    # The defaults agree: the sub-tasks run on the monolith's own (frozen) sub-configs.
    assert default.subtract.config is default.config.subtract.active
    assert default.detectAndMeasure.config is default.config.detectAndMeasure.value
    config = ImageDifferenceConfig()
    config.convolveTemplate = False
    config.doDecorrelation = False
    config.doSkySources = True
    config.doMeasurement = False
    switched = ImageDifferenceTask(config=config)
    assert switched.subtract.config.mode == "convolveScience"
    assert not switched.subtract.config.doDecorrelation
    assert switched.detectAndMeasure.config.doSkySources
    assert not switched.detectAndMeasure.config.doMeasurement
    assert not switched.detectAndMeasure.config.doDipoleFitting  # fitted by the measurement
    assert config.subtract.active.mode == "convolveTemplate"
    assert config.subtract.active.doDecorrelation
    assert not config.detectAndMeasure.value.doSkySources
    assert config.detectAndMeasure.value.doMeasurement
