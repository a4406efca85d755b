"""Every shipped gen3 pipeline on a small SimCam field ingested from its files.

In-process runs (`compat.gen3.runner.run_pipeline`) share one repository;
``pipetask`` and ``butler`` run as users type them in a few tests only.
"""
import contextlib
import subprocess
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import parsl
import pytest
from _gen3_data import (
    SCIENCE_VISIT,
    SECOND_TEMPLATE_VISIT,
    TEMPLATE_VISIT,
    VENV_BIN,
    small_field,
)
from lsst.daf.butler import Butler, FileIntegrityError
from lsst.utils.packages import Packages

from compat.gen3 import (
    INPUT_RUN,
    INSTRUMENT,
    Gen3Error,
    ingest_field_files,
    pipeline_path,
)
from compat.gen3.bps import bps_submit, write_submit_file
from compat.gen3.ingest_command import main as ingest_main
from compat.gen3.runner import load_pipeline, run_pipeline
from compat.gen3.tasks.reference import reference_sources
from diffim.image_difference import (
    ImageDifferenceConfig as DirectImageDifferenceConfig,
)
from diffim.image_difference import (
    ImageDifferenceTask as DirectImageDifferenceTask,
)
from diffim.sim.field_files import write_field_files
from diffim.sky.refcat import ReferenceCatalogLoader
from validation.campaign.engine import parsl_config

DETECTOR = 0
WHERE = f"instrument='{INSTRUMENT}' AND visit={SCIENCE_VISIT} AND detector={DETECTOR}"
SCIENCE = {"instrument": INSTRUMENT, "visit": SCIENCE_VISIT, "detector": DETECTOR}
# The monolith's kernel settings (pipe_tasks imageDifference.py), given to the split.
MONOLITH_KERNEL = {"makeKernel.kernel.active.spatialKernelOrder": 1,
                   "makeKernel.kernel.active.spatialBgOrder": 2}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return write_field_files(small_field(), tmp_path_factory.mktemp("gen3files") / "field")


@pytest.fixture(scope="module")
def repo(tmp_path_factory, files):
    root = tmp_path_factory.mktemp("gen3pipes") / "repo"
    ingest_field_files(root, files)
    return root


def run(repo, pipeline, output, config=None, inputs=(INPUT_RUN,), where=WHERE):
    quanta = run_pipeline(repo, pipeline, list(inputs), output, where, config=config)
    return quanta, Butler.from_config(str(repo), collections=[output])


@pytest.fixture(scope="module")
def split(repo):
    return run(repo, "coadd_template", "SimCam/split",
               config={"subtractImages": MONOLITH_KERNEL})


@pytest.fixture(scope="module")
def monolith(repo):
    return run(repo, "image_difference", "SimCam/monolith",
               config={"imageDifference": {"doWriteWarpedExp": True}})


def _bits(array):
    return np.ascontiguousarray(array, "=f4").view(np.uint32)


def assert_same_pixels(a, b):
    for plane in ("image", "variance"):
        np.testing.assert_array_equal(_bits(getattr(a, plane)), _bits(getattr(b, plane)))


def pipetask(*args):
    return subprocess.run([str(VENV_BIN / "pipetask"), *args], capture_output=True, text=True,
                          timeout=300)


def test_ingest_command_copies_the_files(files, tmp_path, capsys):
    root = tmp_path / "repo"
    assert ingest_main([str(files.root), str(root)]) == 0
    assert "ingested 6 calexps" in capsys.readouterr().out
    butler = Butler.from_config(str(root), collections=[INPUT_RUN])
    uri = butler.getURI("calexp", SCIENCE)
    assert uri.read() == files.calexps[(SCIENCE_VISIT, DETECTOR)].read_bytes()
    counts = {name: len(list(butler.registry.queryDatasets(name, collections=INPUT_RUN)))
              for name in ("calexp", "src", "deepCoadd", "ref_cat", "skyMap")}
    shards = len(list(files.refcat.glob("*.parquet")))
    assert counts == {"calexp": 6, "src": 6, "deepCoadd": len(files.coadds), "ref_cat": shards,
                      "skyMap": 1}
    pd.testing.assert_frame_equal(butler.get("src", SCIENCE),
                                  files.read_source((SCIENCE_VISIT, DETECTOR)))
    assert ingest_main([str(tmp_path / "nowhere"), str(root)]) == 1


def test_coadd_template_uses_the_patches_of_the_spatial_join(repo, split):
    quanta, butler = split
    assert len(quanta) == 3
    joined = list(butler.registry.queryDataIds(["patch", "visit", "detector"], dataId=SCIENCE,
                                               skymap="simSkyMap"))
    metadata = butler.get("getTemplate_metadata", SCIENCE).to_dict()["getTemplate"]
    assert 0 < metadata["nPatches"] <= len(joined)
    dia = butler.get("deepDiff_diaSrc", SCIENCE)
    assert len(dia) > 0 and {"coord_ra", "coord_dec"} <= set(dia.columns)
    final = butler.get("deepDiff_differenceExp", SCIENCE)
    assert_same_pixels(final, butler.get("deepDiff_differenceTempExp", SCIENCE))
    assert final.mask.get("DETECTED").any()


def test_pipetask_as_users_type_it_equals_in_process(repo, split):
    # -j 2: spawned workers read the storage classes from the repo config.
    output = ["-b", str(repo), "-i", INPUT_RUN, "-o", "SimCam/shell", "-d", WHERE,
              "-p", pipeline_path("coadd_template"),
              "-c", "subtractImages:makeKernel.kernel.active.spatialKernelOrder=1",
              "-c", "subtractImages:makeKernel.kernel.active.spatialBgOrder=2"]
    first = pipetask("run", *output, "--output-run", "SimCam/shell/run", "-j", "2",
                     "--register-dataset-types")
    assert first.returncode == 0, first.stderr[-3000:]
    shell = Butler.from_config(str(repo), collections=["SimCam/shell"])
    _, butler = split
    for name in ("deepDiff_differenceExp", "deepDiff_matchedExp", "deepDiff_templateExp"):
        assert_same_pixels(shell.get(name, SCIENCE), butler.get(name, SCIENCE))
    pd.testing.assert_frame_equal(shell.get("deepDiff_diaSrc", SCIENCE),
                                  butler.get("deepDiff_diaSrc", SCIENCE))
    # Re-running into the same RUN is refused unless told to extend it.
    again = pipetask("run", *output, "--output-run", "SimCam/shell/run")
    assert again.returncode != 0 and "--extend-run" in again.stderr
    # Extending it with the other detector runs that one and skips what exists.
    output[output.index(WHERE)] = f"instrument='{INSTRUMENT}' AND visit={SCIENCE_VISIT}"
    extended = pipetask("run", *output, "--extend-run", "--skip-existing")
    assert extended.returncode == 0, extended.stderr[-3000:]
    assert "previously succeeded" in extended.stderr
    runs = {ref.run for ref in Butler.from_config(str(repo)).registry.queryDatasets(
        "deepDiff_diaSrc", collections="SimCam/shell")}
    assert runs == {"SimCam/shell/run"}
    assert len(list(shell.registry.queryDatasets("deepDiff_diaSrc",
                                                 collections="SimCam/shell"))) == 2


def test_butler_command_lists_the_outputs(repo, split):
    result = subprocess.run([str(VENV_BIN / "butler"), "query-datasets", str(repo),
                             "--collections", "SimCam/split", "deepDiff_*"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    types = {line.split()[0] for line in result.stdout.splitlines()
             if line.split() and line.split()[0].startswith("deepDiff_")}
    assert types == {"deepDiff_templateExp", "deepDiff_differenceTempExp", "deepDiff_matchedExp",
                     "deepDiff_psfMatchKernel", "deepDiff_psfMatchSources", "deepDiff_diaSrc",
                     "deepDiff_differenceExp"}


@pytest.mark.parametrize("jobs, parsl_workers", [(1, 0), (2, 0), (1, 2)],
                         ids=["one-process", "two-processes", "parsl"])
def test_a_failed_quantum_leaves_the_outputs_of_those_before_it_registered(files, tmp_path,
                                                                           jobs, parsl_workers):
    # The quanta run without the registry; what they wrote is registered afterwards, also
    # when another one failed. The run stops at the failure: detector 0's template is made
    # (before it, or beside it in a second process or Parsl worker), detector 1's fails on
    # its calexp (its log, which says so, is registered: from the worker with its error),
    # nothing of detector 1 is subtracted.
    root = tmp_path / "repo"
    ingest_field_files(root, files)
    broken = {**SCIENCE, "detector": 1}
    path = Butler.from_config(str(root), collections=[INPUT_RUN]).getURI("calexp", broken)
    Path(path.ospath).write_bytes(b"SIMPLE  = T")
    engine = (parsl.load(parsl_config(parsl_workers, tmp_path / "parsl")) if parsl_workers
              else contextlib.nullcontext())
    with engine, pytest.raises(FileIntegrityError,
                               match="calexp_SimCam_r_r_sim_10_D01.*does not match"):
        run_pipeline(root, "coadd_template", [INPUT_RUN], "SimCam/broken",
                     f"instrument='{INSTRUMENT}' AND visit={SCIENCE_VISIT}",
                     config={"subtractImages": MONOLITH_KERNEL}, jobs=jobs,
                     parsl=bool(parsl_workers))
    butler = Butler.from_config(str(root), collections=["SimCam/broken"])
    made = {name: [ref.dataId["detector"] for ref in butler.query_datasets(name, explain=False)]
            for name in ("getTemplate_metadata", "deepDiff_templateExp", "getTemplate_log",
                         "subtractImages_metadata")}
    assert made["getTemplate_metadata"] == made["deepDiff_templateExp"] == [0]
    assert made["getTemplate_log"] == [0, 1]
    # In two processes detector 0's subtraction may start before detector 1 has failed.
    assert set(made["subtractImages_metadata"]) <= ({0} if jobs > 1 or parsl_workers else set())
    template = butler.get("deepDiff_templateExp", SCIENCE)
    assert np.isfinite(template.image).mean() > 0.5
    log = butler.get("getTemplate_log", broken)
    assert any("does not match size" in record.message for record in log)


def test_runner_extend_run_skips_what_exists(repo, split):
    # The other detector runs; the one already there is skipped.
    quanta = run_pipeline(repo, "coadd_template", [INPUT_RUN], "SimCam/split",
                          f"instrument='{INSTRUMENT}' AND visit={SCIENCE_VISIT}",
                          config={"subtractImages": MONOLITH_KERNEL}, extend_run=True)
    assert sorted({quantum.dataId["detector"] for quantum in quanta}) == [1]


def test_runs_record_this_process_package_versions(repo, split, monolith):
    # Each new RUN holds the versions of the packages imported when it ran, as pipetask's do.
    now = Packages.fromSystem()
    for _, butler in (split, monolith):
        stored = butler.get("packages")
        assert {"python", "numpy", "astropy", "daf_butler", "pipe_base", "diffim"} <= set(stored)
        assert {name: now[name] for name in stored} == dict(stored)


def test_monolith_equals_split(split, monolith):
    """Same template, same kernel settings, same kernel sources: the same outputs, bit for bit.

    The monolith hands its subtraction the sources' ``*_flag`` columns, so
    blended and saturated sources are rejected as when the split's
    subtraction reads ``src`` itself.
    """
    _, split_butler = split
    _, butler = monolith
    template = split_butler.get("deepDiff_templateExp", SCIENCE)
    assert_same_pixels(butler.get("deepDiff_warpedExp", SCIENCE), template)
    split_meta = split_butler.get("subtractImages_metadata", SCIENCE).to_dict()["subtractImages"]
    mono_meta = butler.get("imageDifference_metadata", SCIENCE).to_dict()["imageDifference"]
    assert mono_meta["subtract"]["nKernelCandidates"] == split_meta["nKernelCandidates"]
    monolith_difference = butler.get("deepDiff_differenceExp", SCIENCE)
    split_difference = split_butler.get("deepDiff_differenceExp", SCIENCE)
    assert_same_pixels(monolith_difference, split_difference)
    assert monolith_difference.mask == split_difference.mask
    assert monolith_difference.mask.count("DETECTED") > 0
    pd.testing.assert_frame_equal(butler.get("deepDiff_diaSrc", SCIENCE),
                                  split_butler.get("deepDiff_diaSrc", SCIENCE))


def test_kernel_sources_come_from_the_reference_shards(repo, files):
    switches = {"doSelectSources": True, "kernelSourcesFromRef": True, "doAddMetrics": True,
                "doMatchSources": True, "doWriteWarpedExp": True}
    _, butler = run(repo, "image_difference", "SimCam/refcat",
                    config={"imageDifference": switches})
    science = butler.get("calexp", SCIENCE)
    # What gen2 reads from the shard directory is what the htm7 prerequisite gave.
    expected = ReferenceCatalogLoader(files.refcat).load_exposure_region(science)
    shards = [butler.get(ref) for ref in butler.registry.queryDatasets(
        "ref_cat", collections=INPUT_RUN)]
    pd.testing.assert_frame_equal(reference_sources(shards, science), expected)
    # The diffim monolith given those reference sources selects the same kernel sources.
    config = DirectImageDifferenceConfig()
    for name, value in switches.items():
        setattr(config, name, value)
    direct_task = DirectImageDifferenceTask(config=config)
    direct = direct_task.run(science, butler.get("deepDiff_warpedExp", SCIENCE),
                             scienceSources=butler.get("src", SCIENCE),
                             referenceSources=expected)
    pd.testing.assert_frame_equal(butler.get("deepDiff_kernelSrc", SCIENCE),
                                  direct.kernelSources)
    metadata = butler.get("imageDifference_metadata", SCIENCE).to_dict()["imageDifference"]
    selected = direct_task.metadata["nSelectedSources"]
    assert metadata["nSelectedSources"] == selected and 10 <= selected <= len(expected)
    dia = butler.get("deepDiff_diaSrc", SCIENCE)
    assert set(dia.loc[dia["refMatchId"] >= 0, "refMatchId"]) <= set(expected["id"])


def test_calexp_pairing_two_templates_two_outputs(repo):
    pairs = [f"{SCIENCE_VISIT}:{TEMPLATE_VISIT}", f"{SCIENCE_VISIT}:{SECOND_TEMPLATE_VISIT}"]
    quanta, butler = run(repo, "calexp_template", "SimCam/pairs",
                         config={"getCalexpTemplate": {"templatePairs": pairs}})
    assert len(quanta) == 6
    groups = sorted(ref.dataId["group"] for ref in butler.registry.queryDatasets(
        "pairDiff_differenceExp", collections="SimCam/pairs"))
    assert groups == [str(TEMPLATE_VISIT), str(SECOND_TEMPLATE_VISIT)]
    first, second = (butler.get("pairDiff_differenceExp", SCIENCE, group=group)
                     for group in groups)
    assert not np.array_equal(first.image, second.image)
    template_src = butler.get("pairDiff_templateSrc", SCIENCE, group=str(TEMPLATE_VISIT))
    assert template_src["id"].min() // 10 ** 6 == TEMPLATE_VISIT


def test_one_calexp_coadd_then_differencing(repo):
    template = f"instrument='{INSTRUMENT}' AND visit={TEMPLATE_VISIT} AND detector={DETECTOR}"
    _, coadd_butler = run(repo, "one_calexp_coadd#makeTemplate", "SimCam/onecoadd",
                          where=template)
    patches = list(coadd_butler.registry.queryDatasets("calexpCoadd",
                                                       collections="SimCam/onecoadd"))
    joined = list(coadd_butler.registry.queryDataIds(
        ["patch"], visit=TEMPLATE_VISIT, detector=DETECTOR, instrument=INSTRUMENT,
        skymap="simSkyMap"))
    assert 0 < len(patches) <= len(joined)
    quanta, butler = run(repo, "one_calexp_coadd#difference", "SimCam/onediff",
                         inputs=["SimCam/onecoadd"])
    assert len(quanta) == 3
    assert len(butler.get("calexpDiff_diaSrc", SCIENCE)) > 0


def test_detect_only_on_an_existing_difference(repo, split):
    quanta, butler = run(repo, "detect_only", "SimCam/detectonly", inputs=["SimCam/split"])
    assert len(quanta) == 1
    run_of = {ref.datasetType.name: ref.run for ref in butler.registry.queryDatasets(
        ..., collections="SimCam/detectonly", dataId=SCIENCE, findFirst=True)
        if ref.datasetType.name.startswith("deepDiff")}
    # Only diaSrc is new; the difference is the earlier run's.
    assert run_of["deepDiff_diaSrc"].startswith("SimCam/detectonly/")
    assert run_of["deepDiff_differenceExp"].startswith("SimCam/split/")
    _, split_butler = split
    pd.testing.assert_frame_equal(butler.get("deepDiff_diaSrc", SCIENCE),
                                  split_butler.get("deepDiff_diaSrc", SCIENCE))


def test_winter2013_runs_calexp_templates(repo):
    quanta, butler = run(repo, "winter2013", "SimCam/winter2013", config={
        "imageDifference": {"templatePairs": [f"{SCIENCE_VISIT}:{TEMPLATE_VISIT}"],
                            "winter2013WcsShift": 0.3}})
    assert len(quanta) == 1
    assert butler.get("deepDiff_differenceExp", SCIENCE).bbox == \
        butler.get("calexp", SCIENCE).bbox


def test_ingest_into_an_existing_repository_is_one_line(repo, files, tmp_path, capsys):
    assert ingest_main([str(files.root), str(repo)]) == 1
    assert capsys.readouterr().err == (
        f"diffim-gen3-ingest: {repo}: already holds collection '{INPUT_RUN}' (ingested "
        "before?); ingest into a new repository, or with another --run\n")
    assert ingest_main([str(files.root), str(repo), "--run", "again"]) == 1
    assert capsys.readouterr().err.startswith(
        f"diffim-gen3-ingest: {repo}: already holds {INSTRUMENT} visits [")
    assert ingest_main([str(files.root), str(tmp_path / "new"), "--run", "../escape"]) == 1
    assert "RUN collection name '../escape' must be parts" in capsys.readouterr().err
    assert not (tmp_path / "escape").exists()


def test_template_pairs_naming_an_unknown_visit_is_one_line(repo):
    with pytest.raises(Gen3Error) as error:
        run(repo, "calexp_template", "SimCam/unknownPair",
            config={"getCalexpTemplate": {"templatePairs": [f"{SCIENCE_VISIT}:99"]}})
    assert str(error.value) == (
        f"pipeline calexp_template: nothing to run for {WHERE!r}: templatePairs: template "
        f"visit(s) [99] of science visit {SCIENCE_VISIT} are not visits of {INSTRUMENT} in this "
        "repository")


def test_an_output_collection_leading_out_of_the_repository_is_refused(repo):
    with pytest.raises(Gen3Error, match="output collection name '../escape' must be parts"):
        run(repo, "coadd_template", "../escape")
    assert not (repo.parent / "escape").exists()


def test_pipeline_names_and_overrides_are_checked():
    assert pipeline_path("coadd_template").endswith("coadd_template.yaml")
    assert pipeline_path("one_calexp_coadd#makeTemplate").endswith(".yaml#makeTemplate")
    with pytest.raises(Gen3Error, match="no pipeline 'nonesuch'"):
        pipeline_path("nonesuch")
    with pytest.raises(Gen3Error, match="no task labelled 'subtract'"):
        load_pipeline("coadd_template", {"subtract": {"doDecorrelation": False}})


def test_bps_submit_with_parsl_equals_in_process(repo, split, tmp_path):
    """The shipped BPS site file runs the pipeline with two Parsl workers, same bits."""
    submit_file = write_submit_file(tmp_path / "submit.yaml", repo, "coadd_template",
                                    [INPUT_RUN], "SimCam/bps", WHERE, workers=2,
                                    config={"subtractImages": MONOLITH_KERNEL})
    assert "lsst.ctrl.bps.parsl.sites.Local" in submit_file.read_text()
    completed = bps_submit(submit_file, tmp_path)
    assert list((tmp_path / "submit").glob("SimCam/bps/*/*.qg"))
    assert "Tasks in state States.failed: 0" in completed.stdout + completed.stderr
    bps = Butler.from_config(str(repo), collections=["SimCam/bps"])
    _, butler = split
    for name in ("deepDiff_differenceExp", "deepDiff_matchedExp", "deepDiff_templateExp"):
        assert_same_pixels(bps.get(name, SCIENCE), butler.get(name, SCIENCE))
    pd.testing.assert_frame_equal(bps.get("deepDiff_diaSrc", SCIENCE),
                                  butler.get("deepDiff_diaSrc", SCIENCE))
    with pytest.raises(Gen3Error, match="unknown BPS site 'moon'"):
        write_submit_file(tmp_path / "x.yaml", repo, "coadd_template", [INPUT_RUN], "o", WHERE,
                          site="moon")


def test_quanta_run_in_a_thread_after_another_thread_of_the_same_id(files, tmp_path):
    # A campaign's lanes are threads, and a later thread may get an ended one's id: the
    # quantum-backed butlers' in-memory records are per thread object (an id-keyed cache
    # handed the later thread a database whose tables its own connection lacks).
    root = tmp_path / "repo"
    ingest_field_files(root, files)
    where = f"instrument='{INSTRUMENT}' AND visit={TEMPLATE_VISIT} AND detector=0"
    runs = []

    def make_template(number):
        try:
            run_pipeline(root, "one_calexp_coadd#makeTemplate", [INPUT_RUN], f"threads/{number}",
                         where)
            runs.append((threading.get_ident(), None))
        except Exception as error:  # handed to the test's thread
            runs.append((threading.get_ident(), error))

    for number in range(6):
        thread = threading.Thread(target=make_template, args=(number,))
        thread.start()
        thread.join()
        if len({ident for ident, _ in runs}) < len(runs):
            break
    assert len({ident for ident, _ in runs}) < len(runs), "no thread id was reused"
    assert [error for _, error in runs] == [None] * len(runs)
