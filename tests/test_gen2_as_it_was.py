"""gen2's command line as the last gen2 release had it: a required output, environment roots,
``--config-file``, ``--calib``, bare ``--id`` and ``-L``, ``--longlog``, ``--debug``,
``--profile``, log lines on stdout, and ``imageDifferenceWinter2013.py``."""
import importlib.metadata
import logging
import os
import pstats
import re
import sys

import pytest
from _gen2_cmd_line import NO_DATA, parse, usage_error

# files, pristine and root are the shared fixtures.
from _gen2_data import FILTER, files, pristine, root  # noqa: F401

from compat.gen2 import Butler
from compat.gen2.commands import image_difference_main, image_difference_winter2013_main
from compat.gen2.image_difference import ImageDifferenceCmdLineTask


@pytest.fixture
def gen2_logging():
    """The console script's log set-up, removed afterwards."""
    root_logger = logging.getLogger()
    handlers, level = list(root_logger.handlers), root_logger.level
    yield
    root_logger.handlers[:] = handlers
    root_logger.setLevel(level)


def test_an_output_is_required_and_is_not_the_input(root, capsys):
    assert usage_error(capsys, [str(root), *NO_DATA]) == (
        "no output directory specified: an output directory must be specified with the "
        "--output or --rerun command-line arguments")
    assert usage_error(capsys, [str(root), *NO_DATA, "--output", str(root)]) == (
        f"Error: the output repository '{root}' is the input one; outputs never go into the "
        "input repository (use another --output or --rerun)")
    # --show prints first, then the missing output is the error, as in gen2.
    with pytest.raises(SystemExit) as exit_info:
        parse([str(root), *NO_DATA, "--show", "config=coaddName"])
    assert exit_info.value.code == 2
    assert "config.coaddName='deep'" in capsys.readouterr().out


def test_environment_roots(root, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPE_INPUT_ROOT", str(root.parent))
    monkeypatch.setenv("PIPE_OUTPUT_ROOT", str(tmp_path / "outputs"))
    parsed = parse([root.name, *NO_DATA])
    assert (parsed.input, parsed.output) == (str(root), str(tmp_path / "outputs"))
    parsed = parse([root.name, *NO_DATA, "--output", "mine"])
    assert parsed.output == str(tmp_path / "outputs" / "mine")
    assert parse([root.name, *NO_DATA, "--rerun", "r"]).output == str(root / "rerun" / "r")


def test_config_file_alias_and_calib(root, tmp_path, capsys):
    override = tmp_path / "override.py"
    override.write_text("config.growFootprint = 4\n")
    calib = tmp_path / "CALIB"
    calib.mkdir()
    parsed = parse([str(root), *NO_DATA, "--rerun", "a", "--config-file", str(override),
                    "--calib", str(calib)])
    assert parsed.config.growFootprint == 4 and parsed.calib == str(calib)
    assert usage_error(capsys, [str(root), *NO_DATA, "--rerun", "a", "--calib",
                                str(tmp_path / "none")]) == (
        f"Error: calib='{tmp_path / 'none'}' not found")


def test_bare_id_means_all_data_and_bare_loglevel_is_accepted(root):
    parsed = parse([str(root), "--id", "--rerun", "a", "-L"])
    expected = [ref.dataId for ref in Butler(root).subset("calexp")]
    assert [ref.dataId for ref in parsed.id.refList] == expected
    assert len(expected) == 8  # two template and two science visits, two detectors each
    assert {ref.dataId["filter"] for ref in parsed.id.refList} == {FILTER}


def test_log_lines_on_stdout_as_gen2_wrote_them(root, capsys, gen2_logging):
    assert image_difference_main([str(root), "--id", "visit=10", "ccd=0", "--rerun", "a",
                                  "-c", "doSubtract=False"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "imageDifference INFO: Processing {'visit': 10, 'ccd': 0, 'filter': 'r_sim'}" in lines
    assert "imageDifference INFO: Source selection via src product" in lines
    assert any(line.startswith("imageDifference FATAL: Failed on dataId=") for line in lines)


def test_longlog_carries_time_logger_data_id_and_line(root, capsys, gen2_logging):
    image_difference_main([str(root), "--id", "visit=10", "ccd=0", "--rerun", "a",
                           "--longlog", "-c", "doSubtract=False"])
    lines = capsys.readouterr().out.splitlines()
    processing = [line for line in lines if line.endswith("- Processing {'visit': 10, 'ccd': 0, "
                                                          "'filter': 'r_sim'}")]
    assert len(processing) == 1
    assert re.match(r"INFO  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z imageDifference "
                    r"\(\{'visit': 10, 'ccd': 0, 'filter': 'r_sim'\}\)\(image_difference\.py:\d+\)- ",
                    processing[0])


def test_debug_imports_the_users_debug_module(root, tmp_path, capsys, monkeypatch):
    monkeypatch.delitem(sys.modules, "debug", raising=False)
    parsed = parse([str(root), *NO_DATA, "--rerun", "a", "--debug"])
    assert parsed.debug is False
    assert "Warning: no 'debug' module found" in capsys.readouterr().err
    (tmp_path / "debug.py").write_text("import os\nos.environ['GEN2_DEBUG_LOADED'] = 'yes'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("GEN2_DEBUG_LOADED", raising=False)
    assert parse([str(root), *NO_DATA, "--rerun", "a", "--debug"]).debug is True
    assert os.environ["GEN2_DEBUG_LOADED"] == "yes"
    monkeypatch.delitem(sys.modules, "debug", raising=False)


def test_profile_writes_cprofile_statistics(root, tmp_path, caplog):
    stats = tmp_path / "imdiff.prof"
    with caplog.at_level(logging.INFO):
        ImageDifferenceCmdLineTask.parseAndRun([str(root), "--id", "visit=10", "ccd=0", "--rerun",
                                                "a", "-c", "doSubtract=False", "--profile",
                                                str(stats), "--noExit"])
    assert pstats.Stats(str(stats)).total_calls > 0
    messages = [record.getMessage() for record in caplog.records]
    assert "Enabling cProfile profiling" in messages
    assert f"cProfile stats written to {stats}" in messages


def test_winter2013_command(root, capsys, gen2_logging):
    scripts = {entry.name: entry.value
               for entry in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts["imageDifferenceWinter2013.py"] == (
        "compat.gen2.commands:image_difference_winter2013_main")
    assert image_difference_winter2013_main([str(root), *NO_DATA, "--rerun", "w", "--show",
                                             "config=winter2013*"]) == 0
    assert "config.winter2013WcsRms=0.0" in capsys.readouterr().out
