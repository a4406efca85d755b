"""Tests of the feature-deprecation audit (`validation.audit`)."""
import argparse
import io
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from diffim.image_difference import (
    ImageDifferenceConfig,
    Winter2013ImageDifferenceConfig,
)
from diffim.measure.task import DetectAndMeasureConfig
from diffim.subtract import AlardLuptonSubtractConfig
from validation.audit import (
    FEATURE_IDS,
    FEATURES,
    NOT_RUN,
    audit_paths,
    check_feature_ids,
    find_audited_files,
    summarize,
)
from validation.audit.cli import add_parser
from validation.audit.safe_config import parse_config_source
from validation.errors import ValidationError
from validation.model import AuditRecord, Verdict

DATA = Path(__file__).parent / "data" / "audit"


def audit_one(path):
    """The record of one file, audited alone."""
    (record,) = audit_paths([str(path)])
    return record


def write(directory, name, text):
    path = directory / name
    path.write_text(text)
    return path


def test_catalogue_has_one_snake_case_entry_per_feature():
    assert len(FEATURE_IDS) == len(set(FEATURE_IDS)) == 17
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", feature_id) for feature_id in FEATURE_IDS)
    assert {"calexp_template", "select_sources_ref", "detect_only", "winter2013"} <= set(FEATURES)
    assert all(feature.switches or feature.classes for feature in FEATURES.values())


def test_check_feature_ids_names_the_unknown_one():
    check_feature_ids(["detect_only", "sky_sources"], "scenario.yaml")
    with pytest.raises(ValidationError, match=r"scenario.yaml: unknown feature 'doSubtract'"):
        check_feature_ids(["detect_only", "doSubtract"], "scenario.yaml")


@pytest.mark.parametrize("config_class", [ImageDifferenceConfig, AlardLuptonSubtractConfig,
                                          DetectAndMeasureConfig])
def test_persisted_default_configs_use_no_feature(tmp_path, config_class):
    # Every field is written out, each at its default: no switch departs from it.
    record = audit_one(write(tmp_path, "default_config.py", config_class().saveToString()))
    assert record.features == []
    assert record.problems == []


def test_persisted_config_features_found_by_value():
    record = audit_one(DATA / "deepDiff_config.py")
    assert record.kind == "config"
    assert record.features == ["match_sources", "convolve_science", "sky_sources"]
    assert record.problems == []
    assert record.evidence["convolve_science"] == [
        f"{DATA / 'deepDiff_config.py'}:29: config.convolveTemplate=False"]
    assert "import diffim.image_difference" in record.references


def test_persisted_winter2013_config_brings_its_class_defaults(tmp_path):
    config = Winter2013ImageDifferenceConfig()
    config.winter2013WcsShift = 0.5
    record = audit_one(write(tmp_path, "deepDiff_config.py", config.saveToString()))
    assert record.features == ["calexp_template", "select_sources_template", "winter2013"]
    (retarget,) = record.evidence["calexp_template"]
    assert "config.getTemplate.retarget(target=diffim.template.get_template.GetCalexpAsTemplateTask" \
        in retarget


def test_gen3_persisted_config_with_root_prefix():
    record = audit_one(DATA / "subtractImages_config.py")
    assert record.features == ["auto_mode"]
    assert record.evidence["auto_mode"] == [f"{DATA / 'subtractImages_config.py'}:9: "
                                            "root.mode='auto'"]
    assert record.problems == []


def test_stack_persisted_config_of_older_pex_config():
    # As the stack's gen2 wrote config/imageDifference.py: ``==`` in the type assertion.
    record = audit_one(DATA / "gen2-stack" / "imageDifference.py")
    assert record.problems == []
    assert record.features == ["calexp_template", "detect_only"]
    assert "import lsst.ip.diffim.getTemplate" in record.references


def test_override_file_follows_a_load_of_an_audited_file():
    records = audit_paths([str(DATA / "overrides")])
    by_name = {Path(record.path).name: record for record in records}
    override = by_name["calexpTemplate.py"]
    assert override.features == ["calexp_template", "select_sources_ref", "add_metrics",
                                 "sky_sources"]
    assert override.problems == []
    assert override.evidence["sky_sources"] == [
        f"{DATA / 'overrides' / 'skySources.py'}:2: config.doSkySources = True"]
    assert f"load {DATA / 'overrides' / 'skySources.py'} (followed)" in override.references
    assert "from diffim.get_template import GetCalexpAsTemplateTask" in override.references
    assert by_name["skySources.py"].features == ["sky_sources"]


def test_load_of_a_file_not_audited_is_recorded_not_followed():
    record = audit_one(DATA / "overrides" / "calexpTemplate.py")
    assert "sky_sources" not in record.features
    assert any(reference.endswith("skySources.py (not followed: not audited, or a load cycle)")
               for reference in record.references)


def test_load_cycle_is_not_followed_forever(tmp_path):
    write(tmp_path, "a.py", 'config.doSubtract = False\nconfig.load("b.py")\n')
    write(tmp_path, "b.py", 'config.doSkySources = True\nconfig.load("a.py")\n')
    by_name = {Path(record.path).name: record for record in audit_paths([str(tmp_path)])}
    assert by_name["a.py"].features == ["detect_only", "sky_sources"]
    assert by_name["b.py"].features == ["sky_sources"]


def test_setting_a_switch_to_its_default_uses_nothing(tmp_path):
    explicit_default = write(tmp_path, "a.py", "config.doSubtract = True\n"
                                               "config.convolveTemplate = True\n")
    assert audit_one(explicit_default).features == []
    departure = write(tmp_path, "b.py", "config.doSubtract = False\n")
    assert audit_one(departure).features == ["detect_only"]


def test_field_reference_is_resolved_against_the_defaults(tmp_path):
    # doAddMetrics is False by default, so this is doSubtract = False.
    record = audit_one(write(tmp_path, "a.py", "config.doSubtract = config.doAddMetrics\n"))
    assert record.features == ["detect_only"]
    assert record.evidence["detect_only"][0].endswith(":1: config.doSubtract = config.doAddMetrics")


def test_select_sources_needs_both_switches(tmp_path):
    ref_only = write(tmp_path, "a.py", "config.kernelSourcesFromRef = True\n")
    assert audit_one(ref_only).features == []
    template = write(tmp_path, "b.py", "config.doSelectSources = True\n")
    assert audit_one(template).features == ["select_sources_template"]


def test_config_class_inferred_from_fields(tmp_path):
    winter = write(tmp_path, "winter.py", "config.winter2013WcsRms = 0.3\n")
    record = audit_one(winter)
    assert record.features == ["calexp_template", "select_sources_template", "winter2013"]
    assert record.evidence["winter2013"] == [f"{winter}:1: config.winter2013WcsRms = 0.3"]
    detection = write(tmp_path, "detect.py", "config.detection.thresholdValue = 6.0\n"
                                             "config.doDipoleFitting = False\n")
    assert audit_one(detection).features == ["dipole_fit"]


def test_harmful_config_is_reported_not_run(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "canary").mkdir()
    write(tmp_path / "canary", "audit_canary.py", "CANARY = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path / "canary"))
    harmful = shutil.copy(DATA / "harmful_override.py", tmp_path / "override.py")
    record = audit_one(harmful)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["canary", "override.py"]
    assert "audit_canary" not in sys.modules
    assert record.features == ["match_sources"]
    assert {"import os", "import audit_canary", "from audit_canary import CANARY"} \
        <= set(record.references)
    refused = [re.fullmatch(rf"not evaluated: {re.escape(str(harmful))}:(\d+): (.*)", problem)
               for problem in record.problems]
    assert all(refused)
    assert [(int(match[1]), match[2]) for match in refused] == [
        (9, 'os.system("touch pwned")'),
        (10, 'open("pwned2", "w").write("x")'),
        (11, '__import__("os").system("touch pwned3")'),
        (12, 'config.doAddMetrics = __import__("os").system("touch pwned4") == 0'),
        (13, "exec(\"open('pwned5', 'w')\")"),
        (14, "config.coaddName = os.getcwd()"),
        (15, 'for name in ["pwned6"]: ...'),
        (17, 'config.detectAndMeasure.badSourceFlags = [open(name, "w") for name in ["pwned7"]]'),
        (18, 'config.getTemplate.apply(os.system("touch pwned8"))'),
        (19, 'with open("pwned9", "w"): ...'),
    ]


def test_syntax_error_is_a_problem(tmp_path):
    record = audit_one(write(tmp_path, "broken.py", "config.doSubtract = (False\n"))
    assert record.features == []
    assert len(record.problems) == 1
    assert record.problems[0].startswith(f"not parsed: {tmp_path / 'broken.py'}:1:")


def test_parser_reads_literals_subscripts_and_non_finite_floats():
    parsed = parse_config_source(
        "config.subtract.makeKernel.kernel['AL'].kernelSize = 25\n"
        "config.x = float('nan')\nconfig.y = -1.5\nconfig.z = ['A', 'B']\n"
        "config.subtract.makeKernel.kernel.name = 'DF'\n", "f.py")
    assert parsed.problems == []
    assert parsed.values["subtract.makeKernel.kernel['AL'].kernelSize"].value == 25
    assert parsed.values["x"].value != parsed.values["x"].value  # NaN
    assert parsed.values["y"].value == -1.5
    assert parsed.values["z"].value == ["A", "B"]
    assert parsed.values["subtract.makeKernel.kernel.name"].value == "DF"


def test_problem_quotes_the_statement_in_crlf_and_non_ascii_files(tmp_path):
    record = audit_one(write(tmp_path, "a.py", 'config.coaddName = "δeep"\r\n'
                                               'print("é", "x")\r\nconfig.doSubtract = False\r\n'))
    assert record.features == ["detect_only"]
    assert record.problems == [f'not evaluated: {tmp_path / "a.py"}:2: print("é", "x")']


def test_pipeline_tasks_and_config_blocks():
    path = DATA / "pipelines" / "DRP-diffim.yaml"
    record = audit_one(path)
    assert record.kind == "pipeline"
    assert record.features == ["coadd_template", "split_tasks", "auto_mode", "decorrelation",
                               "sky_sources"]
    assert record.problems == []
    assert record.evidence["coadd_template"] == [
        f"{path}:tasks.getTemplate.class: compat.gen3.tasks.get_template.GetTemplateTask"]
    assert record.evidence["decorrelation"] == [
        f"{path}:tasks.subtractImages.config.python:1: config.doDecorrelation = False"]
    assert record.evidence["sky_sources"] == [
        f"{path}:tasks.detectAndMeasure.config: doSkySources: True"]


def test_pipeline_that_only_detects(tmp_path):
    record = audit_one(DATA / "pipelines" / "detect-only.yaml")
    assert record.features == ["detect_only", "split_tasks"]
    assert record.references == ["imports DRP-diffim.yaml"]


def test_pipeline_calexp_template_tasks_and_python_problems(tmp_path):
    pipeline = write(tmp_path, "calexp.yaml", """
tasks:
  makeCoadd: compat.gen3.tasks.coadd.MakeCalexpCoaddTask
  pairTemplate:
    class: compat.gen3.tasks.get_template.GetCalexpTemplateTask
  imageDifference:
    class: compat.gen3.tasks.ImageDifferenceTask
    config:
      doSubtract: false
      python: "import os; os.system('touch pwned')"
""")
    record = audit_one(pipeline)
    assert record.features == ["calexp_template", "detect_only"]
    assert len(record.evidence["calexp_template"]) == 2
    assert record.problems == [f"not evaluated: {pipeline}:tasks.imageDifference.config.python:1: "
                               "os.system('touch pwned')"]
    assert not (tmp_path / "pwned").exists()


def test_pipeline_config_file_is_followed_when_audited(tmp_path):
    pipeline = write(tmp_path, "pipe.yaml", """
parameters: [not, a, mapping]
tasks:
  detectAndMeasure:
    class: DetectAndMeasureTask
    config:
      file: overrides/sky.py
""")
    (tmp_path / "overrides").mkdir()
    override = write(tmp_path / "overrides", "sky.py", "config.doSkySources = True\n")
    alone = audit_one(pipeline)
    assert alone.features == ["detect_only", "split_tasks"]
    assert alone.problems == [f"not understood: {pipeline}:parameters: ['not', 'a', 'mapping']"]
    with_override = audit_paths([str(pipeline), str(override)])[0]
    assert with_override.evidence["sky_sources"] == [f"{override}:1: config.doSkySources = True"]
    assert with_override.references == [f"load {override} (followed)"]


def test_yaml_is_read_without_building_python_objects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pipeline = write(tmp_path, "evil.yaml",
                     "tasks: !!python/object/apply:os.system ['touch pwned']\n")
    record = audit_one(pipeline)
    assert record.features == []
    assert record.problems[0].startswith(f"not parsed: {pipeline}: ")
    assert not (tmp_path / "pwned").exists()


def test_yaml_that_is_not_a_pipeline(tmp_path):
    record = audit_one(write(tmp_path, "repositoryCfg.yaml", "_mapper: SimCamMapper\n"))
    assert record.problems == [f"not a pipeline: {tmp_path / 'repositoryCfg.yaml'}: "
                               "no 'tasks' mapping"]


def test_directories_are_searched_for_config_names(tmp_path):
    for name in ("a.py", "deepDiff_config", "p.yaml", "notes.txt", "image.fits"):
        write(tmp_path, name, "")
    (tmp_path / "__pycache__").mkdir()
    write(tmp_path / "__pycache__", "a.py", "")
    explicit = write(tmp_path, "override.txt", "")
    files = find_audited_files([str(tmp_path), str(explicit), str(tmp_path / "a.py")])
    assert [Path(path).name for path in files] == ["a.py", "deepDiff_config", "p.yaml",
                                                   "override.txt"]


def test_path_objects_are_audited_as_their_strings(tmp_path):
    config = write(tmp_path, "deepDiff_config.py", "config.doDecorrelation = False\n")
    pipeline = write(tmp_path, "p.yaml", "description: empty\ntasks: {}\n")
    by_path = audit_paths([config, pipeline])
    by_string = audit_paths([str(config), str(pipeline)])
    assert [(record.path, record.kind, record.features) for record in by_path] == \
        [(record.path, record.kind, record.features) for record in by_string]
    assert [record.path for record in by_path] == [str(config), str(pipeline)]


def test_missing_path_is_one_line_error(tmp_path):
    missing = tmp_path / "nowhere.py"
    with pytest.raises(ValidationError, match=f"^audit: no such file or directory: {missing}$"):
        audit_paths([str(DATA / "deepDiff_config.py"), str(missing)])


def test_summary_counts_files_and_joins_verdicts():
    records = [AuditRecord("a.py", "config", ["detect_only", "sky_sources"]),
               AuditRecord("b.yaml", "pipeline", ["sky_sources"])]
    rows = summarize(records, {"sky_sources": Verdict.IDENTICAL, "detect_only": "different"})
    assert [row["feature"] for row in rows] == list(FEATURE_IDS)
    by_feature = {row["feature"]: row for row in rows}
    assert by_feature["sky_sources"]["n_configs"] == 2
    assert by_feature["sky_sources"]["files"] == ["a.py", "b.yaml"]
    assert by_feature["sky_sources"]["gen2_gen3_agree"] == "identical"
    assert by_feature["detect_only"]["gen2_gen3_agree"] == "different"
    assert by_feature["winter2013"]["n_configs"] == 0
    assert by_feature["winter2013"]["gen2_gen3_agree"] == NOT_RUN
    assert by_feature["detect_only"]["gen3_replacement"] == FEATURES["detect_only"].gen3_replacement
    assert all(row["gen2_gen3_agree"] == NOT_RUN for row in summarize(records))


def test_summary_refuses_unknown_equivalence_feature():
    with pytest.raises(ValidationError, match="unknown feature 'doAddMetrics'"):
        summarize([], {"doAddMetrics": "identical"})


def run_cli(argv, capsys):
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers())
    args = parser.parse_args(["audit", *argv])
    code = args.handler(args)
    return code, capsys.readouterr().out


def test_cli_prints_file_table_problems_and_feature_summary(capsys):
    code, out = run_cli([str(DATA), "--era", "2022-08-02"], capsys)
    assert code == 0
    deep_diff = next(line for line in out.splitlines() if "deepDiff_config.py" in line)
    assert deep_diff.split()[1:] == ["config", "2022-08-02", "match_sources,",
                                     "convolve_science,", "sky_sources", "0", "0"]
    assert f"not evaluated: {DATA / 'harmful_override.py'}:9: os.system" in out
    sky = next(line for line in out.splitlines() if line.startswith("sky_sources "))
    assert re.search(r"doSkySources = True\s+4\s+not run\s+the same switch$", sky)


def test_cli_json(capsys):
    code, out = run_cli([str(DATA / "pipelines"), "--json"], capsys)
    assert code == 0
    document = json.load(io.StringIO(out))
    assert [Path(entry["path"]).name for entry in document["files"]] == ["DRP-diffim.yaml",
                                                                        "detect-only.yaml"]
    rows = {row["feature"]: row for row in document["features"]}
    assert rows["split_tasks"]["n_configs"] == 2
    assert rows["detect_only"]["files"] == [str(DATA / "pipelines" / "detect-only.yaml")]


def test_cli_missing_path_raises(capsys, tmp_path):
    with pytest.raises(ValidationError, match="nowhere"):
        run_cli([str(tmp_path / "nowhere")], capsys)
