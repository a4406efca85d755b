"""``imageDifference.py`` end to end on an ingested SimCam field: coadd and calexp templates,
historical switches, reruns, failures, ``-j 2`` and the console script."""
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# field, files, pristine and root are the shared fixtures.
from _gen2_data import (  # noqa: F401
    CCDS,
    FILTER,
    SCIENCE_VISIT,
    SCIENCE_VISITS,
    assert_same_exposure,
    field,
    files,
    make_repo,
    pristine,
    root,
)

from compat.gen2 import Butler
from compat.gen2.commands import run_image_difference
from compat.gen2.image_difference import (
    ImageDifferenceCmdLineTask,
    Winter2013ImageDifferenceCmdLineTask,
)
from diffim.errors import FitsFormatError
from diffim.image.stats import robust_median_sigma
from diffim.image_difference import ImageDifferenceTask
from diffim.sky.matching import match_pixels

SCRIPT = Path(sys.executable).with_name("imageDifference.py")
ALL = ["--id", "visit=10^11", "ccd=0^1"]
NOT_RESIDUALS = ("NO_DATA", "EDGE", "SAT", "SAT_TEMPLATE", "BAD", "DETECTED", "DETECTED_NEGATIVE")


@pytest.fixture(scope="module")
def repo(files, pristine, tmp_path_factory):
    """One repository for the module; every scenario writes its own rerun."""
    return make_repo(files, pristine, tmp_path_factory.mktemp("imdiff") / "repo")


@pytest.fixture(scope="module")
def calexp_override(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "calexp_template.py"
    path.write_text("from diffim.get_template import GetCalexpAsTemplateTask\n"
                    "config.getTemplate.retarget(GetCalexpAsTemplateTask)\n")
    return str(path)


@pytest.fixture(scope="module")
def coadd_run(repo):
    """The default coadd-template run over 2 visits x 2 detectors, templates kept."""
    status = run_image_difference([str(repo), *ALL, "--rerun", "coadd", "-c",
                                   "doWriteMatchedExp=True", "doWriteWarpedExp=True"])
    return status, Butler(repo / "rerun" / "coadd")


def refs():
    return [{"visit": visit, "ccd": ccd} for visit in SCIENCE_VISITS for ccd in CCDS]


def clean_transients(truth, exposure):
    """Pixel positions of bright transients on ``exposure`` that no other source confuses.

    Left out: faint ones, those near the edge, in a host, within 20 px of a
    source brighter than 16 mag (saturated residual footprints swallow them)
    or within 5 px of a variable (whose own difference blends with them).
    """
    x, y = exposure.sky_to_pixel(truth["ra"].to_numpy(), truth["dec"].to_numpy())
    kind = truth["kind"].to_numpy()
    brightest = np.fmin(truth["mag_template"].to_numpy(), truth["mag_science"].to_numpy())
    keep = ((kind == "transient") & (x > 25) & (x < 231) & (y > 25) & (y < 231)
            & (truth["host_id"].to_numpy() < 0) & (truth["mag_science"].to_numpy() < 20.0))
    clean = []
    for index in np.flatnonzero(keep):
        distance = np.hypot(x - x[index], y - y[index])
        distance[index] = np.inf
        if (distance[brightest < 16.0] > 20.0).all() and (distance[kind == "variable"] > 5.0).all():
            clean.append((x[index], y[index]))
    return np.array(clean).reshape(-1, 2)


def assert_good_difference(butler, field, data_id):
    """Noise-like residuals; returns ``(found, present)`` clean transients on the detector."""
    difference = butler.get("deepDiff_differenceExp", data_id)
    excluded = difference.mask.get([p for p in NOT_RESIDUALS if p in difference.mask.planes])
    good = ~excluded
    assert good.mean() > 0.5
    sigma = robust_median_sigma(difference.image[good] / np.sqrt(difference.variance[good]))[1]
    assert 0.9 < sigma < 1.1
    transients = clean_transients(field.truth, difference)
    no_data = difference.mask.get("NO_DATA")
    covered = [(x, y) for x, y in transients if not no_data[int(round(y)), int(round(x))]]
    dia = butler.get("deepDiff_diaSrc", data_id)
    found, _, _ = match_pixels([x for x, _ in covered], [y for _, y in covered], dia["slot_Centroid_x"],
                               dia["slot_Centroid_y"], 1.5)
    return len(found), len(covered)


def assert_transients_found(counts):
    """Most clean transients over several detectors found (1.5 px); enough of them checked."""
    found, present = np.sum(counts, axis=0)
    assert present >= 6 and found >= 0.75 * present


def test_coadd_templates_end_to_end(coadd_run, repo, field):
    status, butler = coadd_run
    assert status == 0
    rerun = repo / "rerun" / "coadd"
    counts = []
    for data_id in refs():
        stem = f"deepDiff/v{data_id['visit']}-f{FILTER}"
        for name in (f"diffexp-{data_id['ccd']:02d}.fits", f"diaSrc-{data_id['ccd']:02d}.fits",
                     f"matchexp-{data_id['ccd']:02d}.fits", f"warpexp-{data_id['ccd']:02d}.fits"):
            assert (rerun / stem / name).is_file()
        assert not (rerun / stem / f"kernelSrc-{data_id['ccd']:02d}.parquet").exists()
        metadata = butler.get("deepDiff_metadata", data_id)
        assert metadata["getTemplate"]["nPatches"] >= 1
        assert metadata["detectAndMeasure"]["nDiaSources"] == len(
            butler.get("deepDiff_diaSrc", data_id))
        counts.append(assert_good_difference(butler, field, data_id))
    assert_transients_found(counts)
    for name in ("config/deepDiff.py", "config/packages.yaml", "schema/deepDiff_diaSrc.fits",
                 "repositoryCfg.yaml"):
        assert (rerun / name).is_file()
    # Inputs stay where they were: the rerun holds outputs only.
    assert not (rerun / "calexp").exists()


def test_gen2_writes_what_the_task_computes_from_the_field_files(coadd_run, files):
    """The adapter only reads, runs and writes: the direct task on the source files agrees."""
    _, butler = coadd_run
    task = ImageDifferenceTask()
    science = files.read_calexp((SCIENCE_VISIT, 1))
    template = task.getTemplate.run({key: files.read_coadd(key) for key in files.coadds},
                                    files.read_skymap(), science.bbox, science.wcs,
                                    science.visit_info)
    expected = task.run(science, template.exposure,
                        scienceSources=files.read_source((SCIENCE_VISIT, 1)))
    data_id = {"visit": SCIENCE_VISIT, "ccd": 1}
    assert_same_exposure(butler.get("deepDiff_differenceExp", data_id),
                         expected.subtractedExposure)
    assert_same_exposure(butler.get("deepDiff_warpedExp", data_id), template.exposure)
    assert butler.get("deepDiff_diaSrc", data_id).equals(expected.diaSources)
    assert butler.get("deepDiff_metadata", data_id)["getTemplate"]["nPatches"] == \
        len(template.patches)


def test_calexp_templates_with_template_sources(repo, field, calexp_override):
    status = run_image_difference([str(repo), *ALL, "--templateId", "visit=1", "--rerun",
                                   "calexp", "-C", calexp_override, "-c", "doSelectSources=True",
                                   "kernelSourcesFromRef=False"])
    assert status == 0
    butler = Butler(repo / "rerun" / "calexp")
    counts = []
    for data_id in refs():
        counts.append(assert_good_difference(butler, field, data_id))
        assert butler.get("deepDiff_metadata", data_id)["nSelectedSources"] >= 10
    assert_transients_found(counts)


def test_calexp_mode_needs_a_template_id(repo, calexp_override, caplog):
    with caplog.at_level(logging.ERROR):
        status = run_image_difference([str(repo), "--id", "visit=10", "--rerun", "noTemplate",
                                       "-C", calexp_override])
    assert status == 2
    assert [record.getMessage() for record in caplog.records] == [
        f"Failed on dataId={{'ccd': {ccd}, 'filter': 'r_sim', 'visit': 10}}: NoTemplateIdError: "
        "No template data reference supplied." for ccd in CCDS]


def test_reference_kernel_sources_metrics_and_matching(repo):
    status = run_image_difference([str(repo), "--id", "visit=10", "ccd=0^1", "--rerun", "ref",
                                   "-c", "doSelectSources=True", "kernelSourcesFromRef=True",
                                   "doAddMetrics=True", "doMatchSources=True"])
    assert status == 0
    butler = Butler(repo / "rerun" / "ref")
    for ccd in CCDS:
        kernel_sources = butler.get("deepDiff_kernelSrc", visit=SCIENCE_VISIT, ccd=ccd)
        assert set(kernel_sources["isControl"]) == {False, True}
        assert any(column.startswith("KC") for column in kernel_sources.columns)
        dia = butler.get("deepDiff_diaSrc", visit=SCIENCE_VISIT, ccd=ccd)
        assert dia["srcMatchId"].dtype == dia["refMatchId"].dtype == np.int64
        metadata = butler.get("deepDiff_metadata", visit=SCIENCE_VISIT, ccd=ccd)
        assert metadata["NFalsePositivesTotal"] == (~dia["sky_source"]).sum()
        assert metadata["nSelectedSources"] >= 10
    # The schema dataset written once per rerun is the catalogues' own.
    schema = butler.get("deepDiff_diaSrc_schema")
    assert len(schema) == 0 and list(schema.columns) == list(dia.columns)
    assert {"srcMatchId", "refMatchId"} <= set(schema.columns)
    derived = butler.get("deepDiff_kernelSrc_schema", visit=SCIENCE_VISIT, ccd=1)
    assert len(derived) == 0 and list(derived.columns) == list(kernel_sources.columns)


def test_detection_only_on_an_existing_rerun(coadd_run, repo, caplog):
    _, coadd = coadd_run
    status = run_image_difference([str(repo), *ALL, "--rerun", "coadd:detect", "-c",
                                   "doSubtract=False"])
    assert status == 0
    detect = Butler(repo / "rerun" / "detect")
    assert detect.read_roots[:2] == [repo / "rerun" / "detect", repo / "rerun" / "coadd"]
    template_columns = ["ip_diffim_forced_template_PsfFlux_instFlux", "ip_diffim_forced_template_PsfFlux_instFluxErr"]
    for data_id in refs():
        # Same difference, same detection config: the same catalogue, but for the template's
        # forced photometry -- as in the stack, the matched template is not read.
        detected = detect.get("deepDiff_diaSrc", data_id)
        assert detected[template_columns].isna().all().all()
        assert detected.drop(columns=template_columns).equals(
            coadd.get("deepDiff_diaSrc", data_id).drop(columns=template_columns))
        assert detect.get("deepDiff_differenceExp_filename", data_id) == \
            coadd.get("deepDiff_differenceExp_filename", data_id)
    # Without a persisted difference the missing dataset is named.
    with caplog.at_level(logging.ERROR):
        status = run_image_difference([str(repo), "--id", "visit=11", "ccd=1", "--rerun",
                                       "nothing", "-c", "doSubtract=False"])
    assert status == 1
    assert [record.getMessage() for record in caplog.records] == [
        "Failed on dataId={'ccd': 1, 'filter': 'r_sim', 'visit': 11}: NoResults: No locations "
        "for get: datasetType:deepDiff_differenceExp dataId:{'ccd': 1, 'filter': 'r_sim', "
        "'visit': 11}"]


def test_winter2013_and_legacy_switches(repo, field):
    status = run_image_difference([str(repo), "--id", "visit=11", "ccd=1", "--templateId",
                                   "visit=1", "--rerun", "w13", "-c", "winter2013WcsShift=0.3"],
                                  taskClass=Winter2013ImageDifferenceCmdLineTask)
    assert status == 0
    butler = Butler(repo / "rerun" / "w13")
    assert "winter2013WcsShift=0.3" in (repo / "rerun/w13/config/deepDiff.py").read_text()
    found, present = assert_good_difference(butler, field, {"visit": 11, "ccd": 1})
    assert found >= present - 1
    # A Winter 2013 config in a plain imageDifference rerun is refused, naming the dataset.
    assert run_image_difference([str(repo), "--id", "visit=11", "ccd=1", "--templateId",
                                 "visit=1", "--rerun", "w13"]) == 1
    status = run_image_difference([str(repo), "--id", "visit=11", "ccd=1", "--rerun", "switches",
                                   "-c", "convolveTemplate=False", "doDecorrelation=False",
                                   "doScaleTemplateVariance=True", "doScaleDiffimVariance=False",
                                   # Cells of 16 px: with the stack's 24 px ones, the 24
                                   # detections of this 256 px difference leave no empty 3x3.
                                   "doSkySources=True", "detectAndMeasure.skySources.sourceRadius=8"])
    assert status == 0
    butler = Butler(repo / "rerun" / "switches")
    metadata = butler.get("deepDiff_metadata", visit=11, ccd=1)
    assert metadata["subtract"]["mode"] == "convolveScience"
    assert "templateVarianceFactor" in metadata
    assert butler.get("deepDiff_diaSrc", visit=11, ccd=1)["sky_source"].any()


def test_a_failing_data_ref_is_logged_counted_and_the_others_run(root, caplog):
    path = root / f"calexp/v{SCIENCE_VISIT}-f{FILTER}/c01.fits"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR):
        result = ImageDifferenceCmdLineTask.parseAndRun(
            [str(root), "--id", "visit=10", "--rerun", "x", "--noExit"])
    assert [r.exitStatus for r in result.resultList] == [0, 1] and result.nFailed == 1
    [failure] = [record.getMessage() for record in caplog.records
                 if record.getMessage().startswith("Failed on")]
    assert failure.startswith("Failed on dataId={'ccd': 1, 'filter': 'r_sim', 'visit': 10}: ")
    assert str(path) in failure and "\n" not in failure
    rerun = Butler(root / "rerun" / "x")
    assert rerun.datasetExists("deepDiff_differenceExp", visit=10, ccd=0)
    assert not rerun.datasetExists("deepDiff_differenceExp", visit=10, ccd=1)
    # The metadata of the failed data reference is written all the same.
    assert rerun.datasetExists("deepDiff_metadata", visit=10, ccd=1)
    assert run_image_difference([str(root), "--id", "visit=10", "--rerun", "x"]) == 1
    assert run_image_difference([str(root), "--id", "visit=10", "--rerun", "x", "--noExit"]) == 0
    with pytest.raises(FitsFormatError, match=f"^{path}: checksum mismatch "):
        run_image_difference([str(root), "--id", "visit=10", "ccd=1", "--rerun", "x",
                              "--doraise"])


def test_two_processes_give_the_same_bytes(coadd_run, repo):
    status = run_image_difference([str(repo), *ALL, "--rerun", "parallel", "-j", "2"])
    assert status == 0
    _, coadd = coadd_run
    parallel = Butler(repo / "rerun" / "parallel")
    for data_id in refs():
        for dataset in ("deepDiff_differenceExp", "deepDiff_diaSrc"):
            [serial_path] = coadd.get(f"{dataset}_filename", data_id)
            [parallel_path] = parallel.get(f"{dataset}_filename", data_id)
            assert serial_path != parallel_path
            assert Path(serial_path).read_bytes() == Path(parallel_path).read_bytes()


def test_console_script(coadd_run, repo):
    completed = subprocess.run([str(SCRIPT), str(repo), "--id", "visit=10", "ccd=0", "--rerun",
                                "script"], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    # gen2's log lines, on stdout
    assert "root INFO: Running: imageDifference" in completed.stdout
    assert "imageDifference INFO: Processing {'visit': 10, 'ccd': 0, 'filter': 'r_sim'}" in \
        completed.stdout
    _, coadd = coadd_run
    [expected] = coadd.get("deepDiff_differenceExp_filename", visit=10, ccd=0)
    assert (repo / f"rerun/script/deepDiff/v10-f{FILTER}/diffexp-00.fits").read_bytes() == \
        Path(expected).read_bytes()
