"""The kernel from the two PSF models (cutouts without kernel stars): where its flux scale comes from."""
import pytest

from diffim.geom import Box
from diffim.psfmatch.config import PsfMatchConfig
from diffim.psfmatch.psf_model import MIN_SCALE_OBJECTS, fit_psf_model_kernel
from diffim.sim import PairConfig, simulate_pair

BAD = ["BAD", "SAT", "NO_DATA", "EDGE"]


@pytest.fixture(scope="module")
def pair():
    """A pair whose science is 0.9 times the template's flux, variables and transients included."""
    return simulate_pair(PairConfig(size=256, seed=4, star_density=2000, n_transients=5,
                                    n_variables=5))


def scale_of(template, science):
    fit = fit_psf_model_kernel(template, science, PsfMatchConfig(), BAD)
    return fit.metadata["psfModelScaleSource"], fit.metadata["kernelSumCentre"], fit.metadata


def uncalibrated(exposure):
    copy = exposure.copy()
    copy.photo_calib = None
    return copy


def test_zero_points_give_the_scale_when_both_images_have_them(pair):
    source, scale, _ = scale_of(pair.template, pair.science)
    assert source == "calibration"
    assert scale == pytest.approx(pair.config.flux_ratio, rel=1e-12)


def test_without_zero_points_the_median_object_ratio_is_the_scale(pair):
    source, scale, metadata = scale_of(uncalibrated(pair.template), uncalibrated(pair.science))
    assert source == "objects" and metadata["psfModelScaleObjects"] >= MIN_SCALE_OBJECTS
    # The variables among the objects do not move the median.
    assert scale == pytest.approx(pair.config.flux_ratio, abs=0.01)


def test_a_cutout_with_too_few_objects_assumes_one_and_says_so(pair):
    truth = pair.truth
    transient = truth[truth["kind"] == "transient"].iloc[0]
    x, y = int(transient["x"]), int(transient["y"])
    cutout = Box(min(max(x - 15, 0), 256 - 31), min(max(y - 15, 0), 256 - 31), 31, 31)
    source, scale, metadata = scale_of(uncalibrated(pair.template[cutout]),
                                       uncalibrated(pair.science[cutout]))
    assert source == "assumed" and scale == 1.0
    assert metadata["psfModelScaleObjects"] < MIN_SCALE_OBJECTS
