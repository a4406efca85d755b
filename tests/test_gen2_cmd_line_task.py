"""gen2's command line: parsing, overrides, --show, reruns, the once-per-repo checks, exit codes."""
import logging

import pytest
import yaml
from _gen2_cmd_line import NO_DATA, parse, usage_error

# files, pristine and root are the shared fixtures.
from _gen2_data import FILTER, SCIENCE_VISIT, files, pristine, root  # noqa: F401

from compat.gen2 import Butler, TaskError
from compat.gen2.cmd_line_task import package_versions
from compat.gen2.commands import run_image_difference
from compat.gen2.image_difference import ImageDifferenceCmdLineTask
from diffim.measure.schema import COLUMNS
from diffim.template import GetCalexpAsTemplateTask

OUT = ["--rerun", "out"]
"""An output repository, which gen2 requires."""


def test_overrides_apply_left_to_right(root, tmp_path):
    override = tmp_path / "override.py"
    override.write_text("config.doDecorrelation = True\nconfig.growFootprint = 4\n")
    parsed = parse([str(root), *OUT, "--id", "visit=10", "ccd=0^1", "-c", "doDecorrelation=False",
                    "subtract.mode=auto", "-C", str(override), "-c", "growFootprint=3",
                    "detectAndMeasure.detection.thresholdValue=5.5"])
    config = parsed.config
    assert config.doDecorrelation is True and config.growFootprint == 3
    assert config.subtract.mode == "auto"
    assert config.detectAndMeasure.detection.thresholdValue == 5.5
    assert [ref.dataId for ref in parsed.id.refList] == [
        {"visit": 10, "ccd": ccd, "filter": FILTER} for ccd in (0, 1)]
    with pytest.raises(Exception, match="frozen"):
        config.doDecorrelation = False


def test_retarget_in_an_override_file(root, tmp_path):
    override = tmp_path / "calexp.py"
    override.write_text("from diffim.get_template import GetCalexpAsTemplateTask\n"
                        "config.getTemplate.retarget(GetCalexpAsTemplateTask)\n")
    parsed = parse([str(root), *NO_DATA, *OUT, "--templateId", "visit=1", "-C", str(override)])
    assert parsed.config.getTemplate.target is GetCalexpAsTemplateTask
    assert parsed.templateId.idList == [{"visit": 1}]


@pytest.mark.parametrize("args, message", [
    (["-c", "doSubtractt=False"], "no config field: doSubtractt"),
    (["-c", "growFootprint=abc"], "cannot parse 'abc' as a value for growFootprint"),
    (["-c", "growFootprint=2.5"], "cannot set config.growFootprint=2.5: "),
    (["-c", "doSubtract"], "-c value 'doSubtract' must be in form name=value"),
    (["-C", "/nonexistent.py"], "cannot load config file '/nonexistent.py': "),
    (["-c", "doScaleTemplateVariance=True"], "invalid config: Field 'doScaleDiffimVariance' "
                                             "failed validation: scaling the difference variance "
                                             "and the template variance are both set: choose one"),
    (["--id", "visitt=10"], "ID key 'visitt' is neither a key of 'calexp' "
                            "['ccd', 'filter', 'visit'] nor a registry column"),
    (["--id", "visit=1", "visit=2"], "visit appears multiple times in one ID argument: --id"),
    (["--id", "visit=ten"], "Cannot cast value 'ten' to int for ID key 'visit'"),
    (["--rerun", "a", "--output", "x"], "Error: cannot specify both --output and --rerun"),
    (["--rerun", "a:b:c"], "Error: invalid argument for --rerun: a:b:c"),
    (["--show", "everything"], "unknown value(s) for --show: everything (choose from "
                               "config[=PATTERN], history=PATTERN, tasks, data, run)"),
    (["-L", "loud"], "loglevel='loud' not one of "),
    (["--clobber-output"], "--clobber-output is only valid with --output or --rerun"),
])
def test_usage_errors_are_one_line(root, capsys, args, message):
    output = [] if {"--rerun", "--output", "--clobber-output"} & set(args) else OUT
    assert usage_error(capsys, [str(root), *NO_DATA, *output, *args]).startswith(message)


def test_missing_input_and_rerun_errors(root, tmp_path, capsys):
    assert usage_error(capsys, [str(tmp_path / "none"), *NO_DATA]) == (
        f"Error: input='{tmp_path / 'none'}' not found")
    assert usage_error(capsys, [str(root), *NO_DATA, "--rerun", "nothere:out"]) == (
        f"{root / 'rerun' / 'nothere'}: input repository does not exist (no "
        "repositoryCfg.yaml, _mapper or registry.sqlite3)")


def test_rerun_and_output_resolution(root, tmp_path):
    parsed = parse([str(root), *NO_DATA, "--rerun", "a"])
    assert (parsed.input, parsed.output, parsed.rerun) == (str(root), str(root / "rerun/a"),
                                                           ["a"])
    assert parsed.butler.read_roots == [root / "rerun/a", root]
    parsed = parse([str(root), *NO_DATA, "--rerun", "a:b"])
    assert (parsed.input, parsed.output) == (str(root / "rerun/a"), str(root / "rerun/b"))
    assert parsed.butler.read_roots == [root / "rerun/b", root / "rerun/a", root]
    # An old-style rerun names its input with a _parent link.
    old = root / "rerun" / "old"
    old.mkdir()
    (old / "_parent").symlink_to(root / "rerun" / "a")
    assert parse([str(root), *NO_DATA, "--rerun", "old"]).input == str(root / "rerun/a")
    parsed = parse([str(root), *NO_DATA, "--output", str(tmp_path / "out")])
    assert parsed.butler.write_roots == [tmp_path / "out"]
    assert parsed.butler.read_roots == [tmp_path / "out", root]


def test_clobber_output_removes_the_output_first(root):
    (root / "rerun" / "a").mkdir(parents=True)
    (root / "rerun" / "a" / "stale.txt").write_text("old")
    parse([str(root), *NO_DATA, "--rerun", "a", "--clobber-output"])
    assert not (root / "rerun" / "a" / "stale.txt").exists()


def test_argument_file_with_several_arguments_per_line(root, tmp_path):
    argfile = tmp_path / "args.txt"
    argfile.write_text("# a comment line\n\n--id visit=10 ccd=1  # trailing comment\n"
                       "-c doDecorrelation=False\n    growFootprint=5\n--rerun a\n")
    parsed = parse([str(root), f"@{argfile}"])
    assert [ref.dataId["ccd"] for ref in parsed.id.refList] == [1]
    assert (parsed.config.doDecorrelation, parsed.config.growFootprint) == (False, 5)
    assert parsed.rerun == ["a"]


def test_show_config_tasks_data_and_run(root, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse([str(root), "--id", "visit=10", *OUT, "--show", "config=doSub*", "tasks", "data"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "config.doSubtract=True" in out and "config.doSelectSources" not in out
    assert "# Compute the difference image?" in out
    assert "config.getTemplate: GetCoaddAsTemplateTask" in out
    assert "config.subtract.makeKernel: MakeKernelTask" in out
    assert "id dataRef.dataId = {'visit': 10, 'filter': 'r_sim', 'ccd': 1}" in out
    parsed = parse([str(root), *NO_DATA, *OUT, "-c", "growFootprint=3", "--show",
                    "history=growFootprint", "run"])
    assert parsed.config.growFootprint == 3
    assert "growFootprint" in capsys.readouterr().out
    assert run_image_difference([str(root), *NO_DATA, *OUT, "--show", "config"]) == 0
    assert "config.coaddName='deep'" in capsys.readouterr().out
    assert not (root / "rerun" / "out" / "config").exists()


def test_log_levels(root):
    try:
        parse([str(root), *NO_DATA, *OUT, "-L", "diffim.imageDifference=debug", "warn"])
        assert logging.getLogger("diffim.imageDifference").level == logging.DEBUG
        assert logging.getLogger().level == logging.WARNING
    finally:
        logging.getLogger("diffim.imageDifference").setLevel(logging.NOTSET)
        logging.getLogger().setLevel(logging.WARNING)


def test_no_data_is_a_warning_and_nothing_runs(root, caplog):
    with caplog.at_level(logging.WARNING):
        result = ImageDifferenceCmdLineTask.parseAndRun([str(root), *NO_DATA, "--rerun", "a"])
    assert result.resultList == [] and result.nFailed == 0
    messages = [record.getMessage() for record in caplog.records]
    assert "No data found for dataId={'visit': 99}" in messages
    assert any(m.startswith("Not running the task because there is no data") for m in messages)


def test_config_schema_and_versions_are_written_once_and_checked(root, caplog):
    rerun = root / "rerun" / "a"
    assert run_image_difference([str(root), *NO_DATA, "--rerun", "a"]) == 0
    stored = ImageDifferenceCmdLineTask.ConfigClass()
    stored.load(str(rerun / "config" / "deepDiff.py"))
    assert stored.compare(ImageDifferenceCmdLineTask.ConfigClass())
    assert yaml.safe_load((rerun / "config" / "packages.yaml").read_text()) == package_versions()
    assert {"numpy", "astropy", "lsst-pex-config", "python"} <= set(package_versions())
    butler = Butler(rerun)
    schema = butler.get("deepDiff_diaSrc_schema")
    assert len(schema) == 0 and list(schema.columns) == [column.name for column in COLUMNS]

    # The same config again is fine; another one is refused, naming the dataset.
    assert run_image_difference([str(root), *NO_DATA, "--rerun", "a"]) == 0
    with pytest.raises(TaskError) as error:
        run_image_difference([str(root), *NO_DATA, "--rerun", "a", "-c", "growFootprint=3",
                              "--doraise"])
    assert str(error.value) == (
        "Config does not match existing task config 'deepDiff_config' on disk; tasks "
        "configurations must be consistent within the same output repo (override with "
        "--clobber-config)")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        run_image_difference([str(root), "--id", "visit=10", "ccd=0", "--rerun", "a", "-c",
                              "growFootprint=3"])
    assert any(r.getMessage().startswith("Failed in task initialization: Config does not match")
               for r in caplog.records)
    assert not (rerun / f"deepDiff/v{SCIENCE_VISIT}-f{FILTER}").exists()

    # --clobber-config keeps the old config as ~1, unless --no-backup-config.
    assert run_image_difference([str(root), *NO_DATA, "--rerun", "a", "-c", "growFootprint=3",
                                 "--clobber-config"]) == 0
    assert "config.growFootprint=3" in (rerun / "config" / "deepDiff.py").read_text()
    assert "config.growFootprint=2" in (rerun / "config" / "deepDiff.py~1").read_text()
    assert run_image_difference([str(root), *NO_DATA, "--rerun", "a", "--clobber-config",
                                 "--no-backup-config"]) == 0
    assert not (rerun / "config" / "deepDiff.py~2").exists()

    # A stored schema of another shape is refused too.
    butler.put(schema.drop(columns=["slot_Centroid_x"]), "deepDiff_diaSrc_schema")
    with pytest.raises(TaskError, match="^New schema does not match schema 'deepDiff_diaSrc' on "
                                        "disk; .* \\(override with --clobber-config\\)$"):
        run_image_difference([str(root), *NO_DATA, "--rerun", "a", "--doraise"])


def test_package_versions_are_checked(root):
    rerun = root / "rerun" / "v"
    assert run_image_difference([str(root), *NO_DATA, "--rerun", "v"]) == 0
    path = rerun / "config" / "packages.yaml"
    path.write_text(yaml.safe_dump({**package_versions(), "numpy": "0.0"}))
    with pytest.raises(TaskError) as error:
        run_image_difference([str(root), *NO_DATA, "--rerun", "v", "--doraise"])
    assert str(error.value) == (f"Version mismatch (numpy: {package_versions()['numpy']} vs 0.0); "
                                "consider using --clobber-versions or --no-versions")
    assert run_image_difference([str(root), *NO_DATA, "--rerun", "v", "--no-versions"]) == 0
    assert run_image_difference([str(root), *NO_DATA, "--rerun", "v", "--clobber-versions"]) == 0
    assert yaml.safe_load(path.read_text()) == package_versions()
    assert yaml.safe_load(path.with_name("packages.yaml~1").read_text())["numpy"] == "0.0"
