"""The legacy ImageDifferenceTask: each historical switch on simulated data with truth."""
import lsst.pex.config as pexConfig
import numpy as np
import pandas as pd
import pytest

from diffim.errors import DiffimError
from diffim.image.stats import robust_median_sigma
from diffim.image_difference import (ImageDifferenceConfig, ImageDifferenceTask,
                                     Winter2013ImageDifferenceConfig, Winter2013ImageDifferenceTask)
from diffim.image_difference.dia_matching import NO_MATCH_ID
from diffim.image_difference.kernel_metrics import METRIC_COLUMNS
from diffim.image_difference.subtraction_qa import SUMMARISED_METRICS
from diffim.measure.quality import kernel_source_ratios
from diffim.measure.task import DetectAndMeasureTask
from diffim.sim import PairConfig, simulate_pair
from diffim.sky.matching import match_pixels
from diffim.sources.catalog import make_source_catalog
from diffim.subtract import AlardLuptonSubtractTask


@pytest.fixture(scope="module")
def scene():
    pair = simulate_pair(PairConfig(size=768, seed=3, star_density=800, n_transients=30))
    truth = pair.truth
    stars = truth[truth["kind"] == "star"]
    reference = pd.DataFrame({"id": stars["id"].to_numpy(), "coord_ra": stars["ra"].to_numpy(),
                              "coord_dec": stars["dec"].to_numpy()})
    return dict(pair=pair, science_sources=make_source_catalog(pair.science),
                template_sources=make_source_catalog(pair.template), reference=reference)


def run(scene, **switches):
    config = ImageDifferenceConfig()
    for name, value in switches.items():
        setattr(config, name, value)
    task = ImageDifferenceTask(config=config)
    pair = scene["pair"]
    result = task.run(pair.science, pair.template, scienceSources=scene["science_sources"],
                      templateSources=scene["template_sources"],
                      referenceSources=scene["reference"])
    return task, result


def sky_noise(difference):
    good = ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "BAD", "SAT_TEMPLATE", "DETECTED",
                                 "DETECTED_NEGATIVE"])
    return robust_median_sigma(difference.image[good] / np.sqrt(difference.variance[good]))[1]


@pytest.fixture(scope="module")
def default_run(scene):
    return run(scene)


def test_default_finds_the_transients(scene, default_run):
    task, result = default_run
    truth = scene["pair"].truth
    # Clean ones: no host, no close neighbour or defect, off the kernel-wide edge.
    transients = truth[(truth["kind"] == "transient") & (truth["difference_snr"] > 10)
                       & (truth["host_id"] < 0) & (truth["nearest_neighbour"] > 10)
                       & ~truth["near_defect"] & truth["x"].between(20, 747)
                       & truth["y"].between(20, 747)]
    assert len(transients) >= 8
    found, _, _ = match_pixels(transients["x"], transients["y"], result.diaSources["slot_Centroid_x"],
                               result.diaSources["slot_Centroid_y"], 1.0)
    assert len(found) >= 0.9 * len(transients)
    assert result.kernelSources is not None and "KCDiffimMean_LOCAL" not in result.kernelSources
    assert result.controlSources is None
    assert set(task.outputsToWrite(result)) == {"differenceExp", "diaSrc"}
    # The legacy defaults of the kernel.
    assert task.subtract.config.makeKernel.kernel.active.spatialKernelOrder == 1
    assert task.subtract.config.makeKernel.kernel.active.spatialBgOrder == 2


@pytest.mark.parametrize("from_ref", [True, False])
def test_select_sources_from_reference_or_template(scene, from_ref):
    task, result = run(scene, doSelectSources=True, kernelSourcesFromRef=from_ref)
    assert 0.95 < sky_noise(result.subtractedExposure) < 1.1
    assert task.metadata["nControlSources"] == len(result.controlSources) > 0
    # The candidates come from the non-control selected sources (the subtraction's
    # own cuts - isolation, masks, template S/N - may drop a few more).
    assert 10 <= len(result.kernelSources) <= \
        task.metadata["nSelectedSources"] - len(result.controlSources)
    control_xy = result.controlSources[["x", "y"]].to_numpy()
    candidates_xy = result.kernelSources[["x", "y"]].to_numpy()
    assert len(match_pixels(*control_xy.T, *candidates_xy.T, 0.1)[0]) == 0


def test_add_metrics_writes_kernel_src_and_counts(scene):
    task, result = run(scene, doSelectSources=True, kernelSourcesFromRef=True, doAddMetrics=True)
    kernel_src = result.kernelSources
    # As the stack's: the science src catalogue, every row and column, with the QA columns.
    science_sources = scene["science_sources"]
    assert list(kernel_src.columns[:len(science_sources.columns)]) == list(science_sources.columns)
    assert kernel_src["id"].tolist() == science_sources["id"].tolist()
    assert set(METRIC_COLUMNS) <= set(kernel_src.columns)
    candidates = kernel_src[kernel_src["KCDiffimMean_LOCAL"].notna()]
    assert 10 <= len(candidates) < len(kernel_src)
    assert not candidates["isControl"].any()
    assert kernel_src["isControl"].sum() == len(result.controlSources)
    control = kernel_src[kernel_src["isControl"]]
    assert control["KCDiffimMean_LOCAL"].isna().all()
    assert control["KCDiffimStDev_SPATIAL"].notna().mean() > 0.8
    distance = control["RegisterResidualDistance"].dropna()  # arcsec; 0.2"/px
    assert distance.median() < 0.1 and (distance < 0.3).mean() > 0.9
    metadata = task.metadata
    total = metadata["NFalsePositivesTotal"]
    assert total == (~result.diaSources["sky_source"]).sum()
    assert metadata["NFalsePositivesUnassociated"] <= total
    # The stack's aggregates: mean, median and stdev of each metric over kernelSrc.
    for name in SUMMARISED_METRICS:
        values = kernel_src[name].dropna()
        assert metadata[f"{name}_MEAN"] == pytest.approx(values.mean())
        assert metadata[f"{name}_MEDIAN"] == pytest.approx(values.median())
        assert metadata[f"{name}_STDEV"] == pytest.approx(values.std(ddof=0))
    assert len(SUMMARISED_METRICS) == 17
    assert "kernelSrc" in task.outputsToWrite(result)
    # The bad-subtraction ratio is taken at the stars the kernel was fitted on, not at
    # every kernelSrc row (variables and faint sources keep their residuals).
    ratio = task.detectAndMeasure.metadata["residualFootprintRatioMean"]
    everywhere = kernel_source_ratios(scene["pair"].science, result.subtractedExposure,
                                      kernel_src, ["EDGE", "NO_DATA", "BAD"])
    assert ratio < 0.1 < np.nanmean(everywhere)


def test_match_sources_adds_ids(scene):
    _, result = run(scene, doMatchSources=True)
    dia = result.diaSources
    assert dia["srcMatchId"].dtype == np.int64 and dia["refMatchId"].dtype == np.int64
    truth = scene["pair"].truth
    variables = truth[truth["kind"] == "variable"]
    index, _, _ = match_pixels(dia["slot_Centroid_x"], dia["slot_Centroid_y"], variables["x"], variables["y"], 1.0)
    # Variable stars are in the science src catalogue: their DIA sources match it.
    assert (dia["srcMatchId"].to_numpy()[index] != NO_MATCH_ID).mean() > 0.7
    assert set(dia["refMatchId"]) - {NO_MATCH_ID} <= set(scene["reference"]["id"])


def test_no_subtraction_detects_on_the_persisted_difference(scene, default_run):
    _, full = default_run
    pair = scene["pair"]
    config = ImageDifferenceConfig()
    config.doSubtract = False
    task = ImageDifferenceTask(config=config)
    detected = task.run(pair.science, subtractedExposure=full.subtractedExposure)
    # As the stack's task, no matched template is read: everything but the template's forced
    # photometry is the full run's.
    template_columns = ["ip_diffim_forced_template_PsfFlux_instFlux", "ip_diffim_forced_template_PsfFlux_instFluxErr"]
    assert detected.diaSources[template_columns].isna().all().all()
    assert full.diaSources[template_columns].notna().any().all()
    pd.testing.assert_frame_equal(detected.diaSources.drop(columns=template_columns),
                                  full.diaSources.drop(columns=template_columns))
    assert set(task.outputsToWrite(detected)) == {"diaSrc"}
    with pytest.raises(DiffimError, match="doSubtract=False needs a persisted subtractedExposure"):
        task.run(pair.science)


def test_monolith_equals_the_split_tasks(scene, default_run):
    task, full = default_run
    pair = scene["pair"]
    subtract = AlardLuptonSubtractTask(config=task.subtract.config)
    detect = DetectAndMeasureTask(config=task.detectAndMeasure.config)
    # The split subtraction reads the src catalogue as it is (flags included).
    subtracted = subtract.run(pair.template, pair.science, scene["science_sources"])
    assert np.array_equal(subtracted.difference.image, full.subtractedExposure.image)
    split = detect.run(pair.science, subtracted.matchedTemplate, subtracted.difference)
    pd.testing.assert_frame_equal(split.diaSources, full.diaSources)


@pytest.mark.parametrize("switches, message", [
    ({"doScaleTemplateVariance": True}, "variance are both set: choose one"),
    ({"doSubtract": False, "doDetection": False, "doMeasurement": False, "doMerge": False},
     "either doSubtract or doDetection"),
    ({"doDetection": False}, "cannot measure sources without doDetection"),
    ({"doUseRegister": True}, "needs doSelectSources=True"),
    ({"useScoreImageDetection": True}, "either the difference image or the score image"),
    ({"useScoreImageDetection": True, "doWriteSubtractedExp": False, "convolveTemplate": False},
     "useScoreImageDetection=True needs convolveTemplate=True"),
])
def test_config_validation(switches, message):
    config = ImageDifferenceConfig()
    for name, value in switches.items():
        setattr(config, name, value)
    with pytest.raises(pexConfig.FieldValidationError, match=message):
        config.validate()


def test_select_sources_needs_its_catalogue(scene):
    config = ImageDifferenceConfig()
    config.doSelectSources = True
    config.kernelSourcesFromRef = True
    pair = scene["pair"]
    with pytest.raises(DiffimError, match=r"needs the reference catalogue \(kernelSourcesFromRef"):
        ImageDifferenceTask(config=config).run(pair.science, pair.template,
                                               scienceSources=scene["science_sources"])


def test_winter2013_jitter_is_reproducible(scene):
    pair = scene["pair"]

    def winter(**fields):
        config = Winter2013ImageDifferenceConfig()
        for name, value in fields.items():
            setattr(config, name, value)
        task = Winter2013ImageDifferenceTask(config=config)
        result = task.run(pair.science, pair.template, scienceSources=scene["science_sources"],
                          templateSources=scene["template_sources"])
        result.nSelected = task.metadata["nSelectedSources"]
        return result

    first = winter(winter2013WcsRms=3.0, winter2013Seed=3)
    again = winter(winter2013WcsRms=3.0, winter2013Seed=3)
    other = winter(winter2013WcsRms=3.0, winter2013Seed=4)
    assert first.kernelSources.equals(again.kernelSources)
    def positions(result):
        return set(map(tuple, result.kernelSources[["x", "y"]].to_numpy()))

    assert positions(first) != positions(other)
    plain = winter()
    # A 3 px rms (0.6" per axis) jitter loses matches at the 1" radius, never gains any.
    assert len(first.kernelSources) < len(plain.kernelSources)
    # A 10 px (2.8") shift moves the template sources out of the 1" match radius:
    # only chance neighbours still match.
    assert winter(winter2013WcsShift=10.0).nSelected < 0.2 * plain.nSelected


def test_false_detections_in_a_clean_pair_are_few():
    """No transients or variables: what is detected is noise or bright-star residue.

    Pure noise gives ~1 detection per Mpx at 5 sigma; unflagged detections stay
    within a few per Mpx, and the rest carry saturation (or other pixel) flags.
    """
    pair = simulate_pair(PairConfig(size=1024, seed=1, star_density=800, n_transients=0,
                                    n_variables=0))
    task = ImageDifferenceTask()
    dia = task.run(pair.science, pair.template).diaSources
    dia = dia[~dia["sky_source"]]
    flags = [name for name in dia.columns
             if name.startswith("base_PixelFlags_flag_") and not name.endswith("Center")]
    unflagged = dia[~dia[flags].any(axis=1)]
    megapixels = 1024 ** 2 / 1e6
    assert len(unflagged) / megapixels <= 6.0
    assert len(dia) / megapixels <= 30.0


_DIGEST_SCRIPT = """
import hashlib
from diffim.image_difference import ImageDifferenceTask
from diffim.measure.quality import kernel_source_ratios
from diffim.sim import PairConfig, simulate_pair
pair = simulate_pair(PairConfig(size=512, seed=5, star_density=1000))
result = ImageDifferenceTask().run(pair.science, pair.template)
difference = result.subtractedExposure
digest = hashlib.sha256(difference.image.tobytes() + difference.variance.tobytes()
                        + difference.mask.array.tobytes() + result.diaSources.to_csv().encode())
print(digest.hexdigest())
"""


def test_results_are_bit_identical_whatever_the_thread_count():
    """gen2 and gen3 runs must be comparable bit for bit: no thread-order effects."""
    import os
    import subprocess
    import sys

    digests = set()
    for threads in ("1", "2"):
        environment = dict(os.environ, OMP_NUM_THREADS=threads)
        digests.add(subprocess.run([sys.executable, "-c", _DIGEST_SCRIPT], env=environment,
                                   check=True, capture_output=True, text=True).stdout.strip())
    assert len(digests) == 1


def test_get_template_is_retargetable(tmp_path):
    from diffim.template import (
        GetCalexpAsTemplateTask,
        GetCoaddAsTemplateTask,
    )

    assert isinstance(ImageDifferenceTask().getTemplate, GetCoaddAsTemplateTask)
    override = tmp_path / "calexpTemplate.py"
    override.write_text("from diffim.get_template import GetCalexpAsTemplateTask\n"
                        "config.getTemplate.retarget(GetCalexpAsTemplateTask)\n")
    config = ImageDifferenceConfig()
    config.load(str(override))
    assert isinstance(ImageDifferenceTask(config=config).getTemplate, GetCalexpAsTemplateTask)
    assert isinstance(Winter2013ImageDifferenceTask().getTemplate, GetCalexpAsTemplateTask)
