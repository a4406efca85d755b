"""DetectAndMeasureTask detection: injected transients, pure noise, merging, polarity."""
import math

import numpy as np
import pytest
from scipy.stats import norm

from _measure_data import (PSF_SIGMA, add_point, make_task, match, noise_exposure,
                           random_positions)
from diffim.errors import DiffimError
from diffim.measure import DetectAndMeasureConfig, DetectAndMeasureTask
from diffim.measure.quality import BadSubtractionError
from diffim.psf import GaussianPsf

SIZE = 512
FLUX = 1000.0


def run_task(difference, template=None, **fields):
    task = make_task(**fields)
    if template is None:
        template = noise_exposure(difference.shape[0], seed=99)
    return task, task.run(difference, template, difference)


@pytest.fixture(scope="module")
def transients():
    """10 positive and 5 negative point transients of |flux| 1000 on unit noise."""
    difference = noise_exposure(SIZE, seed=1)
    positions = random_positions(15, SIZE, seed=2)
    fluxes = np.array([FLUX] * 10 + [-FLUX] * 5)
    for (x, y), flux in zip(positions, fluxes):
        add_point(difference, x, y, flux)
    task, result = run_task(difference)
    return positions, fluxes, task, result


def test_transients_recovered_within_1px_and_2p5_percent(transients):
    positions, fluxes, _, result = transients
    catalog = result.diaSources
    found = match(catalog, positions[:, 0], positions[:, 1])
    assert (found >= 0).all()
    rows = catalog.iloc[found]
    offsets = np.hypot(rows["slot_Centroid_x"] - positions[:, 0], rows["slot_Centroid_y"] - positions[:, 1])
    assert offsets.max() < 1.0
    flux_error = rows["base_PsfFlux_instFlux"].to_numpy() / fluxes - 1
    assert np.abs(flux_error).max() < 0.025
    # The quoted errors describe the scatter: |error| within 4 sigma.
    assert (np.abs(rows["base_PsfFlux_instFlux"] - fluxes) < 4 * rows["base_PsfFlux_instFluxErr"]).all()


def test_negative_transients_flagged(transients):
    positions, fluxes, _, result = transients
    catalog = result.diaSources
    rows = catalog.iloc[match(catalog, positions[:, 0], positions[:, 1])]
    assert (rows["is_negative"].to_numpy() == (fluxes < 0)).all()
    assert (np.sign(rows["detection_significance"]) == np.sign(fluxes)).all()


def test_only_the_injected_sources_are_found(transients):
    _, _, task, result = transients
    assert len(result.diaSources) == 15
    assert task.metadata["nPositive"] == 10 and task.metadata["nNegative"] == 5
    assert result.diaSources["id"].tolist() == list(range(1, 16))


def test_detection_mask_planes(transients):
    positions, fluxes, _, result = transients
    mask = result.subtractedMeasuredExposure.mask
    for (x, y), flux in zip(positions, fluxes):
        plane = "DETECTED" if flux > 0 else "DETECTED_NEGATIVE"
        other = "DETECTED_NEGATIVE" if flux > 0 else "DETECTED"
        assert mask.get(plane)[round(y), round(x)]
        assert not mask.get(other)[round(y), round(x)]


def test_input_difference_is_not_modified(transients):
    _, _, _, result = transients
    assert result.subtractedMeasuredExposure.mask.count("DETECTED") > 0


def gaussian_false_detections_per_pixel(threshold, sigma):
    """Expected peaks per pixel per polarity of white noise smoothed by a Gaussian of ``sigma``.

    Euler-characteristic density of a 2-D Gaussian field above ``u`` (Adler):
    ``lambda u exp(-u^2/2) / (2 pi)^(3/2)`` with ``lambda = 1 / (2 sigma^2)``,
    plus the single-pixel tail ``Q(u)``.
    """
    lam = 1.0 / (2.0 * sigma ** 2)
    return (lam * threshold * math.exp(-threshold ** 2 / 2) / (2 * math.pi) ** 1.5
            + norm.sf(threshold))


def test_pure_noise_false_detections_near_gaussian_expectation():
    n_images, size = 4, 1024
    count = 0
    for seed in range(n_images):
        _, result = run_task(noise_exposure(size, seed=100 + seed),
                             template=noise_exposure(size, seed=200 + seed))
        count += len(result.diaSources)
    megapixels = n_images * size * size / 1e6
    expected = 2 * gaussian_false_detections_per_pixel(5.0, PSF_SIGMA) * megapixels * 1e6
    print(f"false detections: {count} in {megapixels:.2f} Mpx = {count / megapixels:.2f}/Mpx, "
          f"Gaussian expectation {expected / megapixels:.2f}/Mpx")
    assert count <= expected + 4 * math.sqrt(expected) + 2


def test_lower_threshold_finds_more_noise():
    difference = noise_exposure(SIZE, seed=5)
    _, low = run_task(difference, detection__thresholdValue=3.5)
    _, high = run_task(difference)
    assert len(low.diaSources) > len(high.diaSources)


def test_polarity_positive_only(transients):
    positions, fluxes, _, _ = transients
    difference = noise_exposure(SIZE, seed=1)
    for (x, y), flux in zip(positions, fluxes):
        add_point(difference, x, y, flux)
    _, result = run_task(difference, detection__thresholdPolarity="positive")
    assert len(result.diaSources) == 10
    assert not result.diaSources["is_negative"].any()
    assert result.subtractedMeasuredExposure.mask.count("DETECTED_NEGATIVE") == 0


def test_merge_joins_opposite_polarities():
    difference = noise_exposure(256, seed=3)
    add_point(difference, 128.0, 128.0, 3000.0)
    add_point(difference, 131.0, 128.0, -3000.0)
    _, merged = run_task(difference)
    _, separate = run_task(difference, doMerge=False)
    assert len(merged.diaSources) == 1
    assert len(separate.diaSources) == 2
    assert sorted(separate.diaSources["is_negative"]) == [False, True]


def test_background_subtraction_removes_an_offset():
    difference = noise_exposure(SIZE, seed=4)
    difference.image += np.float32(0.5)
    add_point(difference, 200.0, 300.0, FLUX)
    _, plain = run_task(difference, doSubtractBackground=False, raiseOnBadSubtractionRatio=False)
    _, subtracted = run_task(difference)  # the default, as the stack's
    assert len(plain.diaSources) > 50  # a 0.5 sigma offset is a sea of detections
    assert len(subtracted.diaSources) == 1
    assert abs(subtracted.diaSources["base_PsfFlux_instFlux"][0] / FLUX - 1) < 0.025


def test_a_sea_of_detections_is_a_bad_subtraction():
    """A 1-sigma pedestal left in the difference: one line naming the detected fraction."""
    difference = noise_exposure(SIZE, seed=4)
    difference.image += np.float32(1.0)
    with pytest.raises(BadSubtractionError, match=r"bad subtraction: \d+\.\d% of the usable "
                                                  r"pixels are in detections"):
        run_task(difference, doSubtractBackground=False)


def test_grid_mismatch_and_missing_psf_are_errors():
    difference = noise_exposure(128, seed=1)
    other = noise_exposure(64, seed=1)
    task = DetectAndMeasureTask()
    with pytest.raises(DiffimError, match="same pixel grid"):
        task.run(other, difference, difference)
    difference.psf = None
    with pytest.raises(DiffimError, match="no PSF"):
        task.run(difference, difference, difference)


def test_bad_source_flags_must_be_columns():
    config = DetectAndMeasureConfig()
    config.badSourceFlags = ["no_such_flag"]
    with pytest.raises(Exception, match="no_such_flag"):
        config.validate()


def test_wcs_gives_sky_coordinates(transients):
    from conftest import sip_wcs

    difference = noise_exposure(256, seed=8)
    difference.wcs = sip_wcs()
    add_point(difference, 100.0, 150.0, FLUX)
    _, result = run_task(difference, template=noise_exposure(256, seed=9))
    row = result.diaSources.iloc[0]
    ra, dec = difference.wcs.pixel_to_world_values(row["slot_Centroid_x"], row["slot_Centroid_y"])
    assert row["coord_ra"] == pytest.approx(float(ra)) and row["coord_dec"] == pytest.approx(float(dec))


def test_wider_psf_still_recovers_flux():
    difference = noise_exposure(256, seed=6, sigma=2.5)
    add_point(difference, 120.3, 130.7, 3000.0)
    _, result = run_task(difference, template=noise_exposure(256, seed=7, sigma=2.5))
    assert len(result.diaSources) == 1
    assert abs(result.diaSources["base_PsfFlux_instFlux"][0] / 3000.0 - 1) < 0.025
    assert isinstance(difference.psf, GaussianPsf)


def test_detections_on_saturated_centres_are_removed():
    # The stack's saturatedCenterAll: a residual whose 3x3 centre is all saturated,
    # in the science (SAT) or the template (SAT_TEMPLATE), measures nothing. One
    # saturated pixel of the nine is not enough.
    difference = noise_exposure(256, seed=12)
    positions = [(60.0, 60.0), (190.0, 70.0), (70.0, 190.0), (180.0, 180.0)]
    for x, y in positions:
        add_point(difference, x, y, FLUX)
    shape = difference.shape
    for plane, (x, y), half in (("SAT", positions[1], 1), ("SAT_TEMPLATE", positions[2], 2),
                                ("SAT", positions[3], 0)):
        flagged = np.zeros(shape, bool)
        flagged[int(y) - half:int(y) + half + 1, int(x) - half:int(x) + half + 1] = True
        difference.mask.set(plane, flagged | (difference.mask.get(plane)
                                              if plane in difference.mask.planes else False))
    task, result = run_task(difference)
    found = result.diaSources[["slot_Centroid_x", "slot_Centroid_y"]].to_numpy()
    kept = [np.hypot(*(found - position).T).min() < 1.5 for position in positions]
    assert kept == [True, False, False, True]
    assert task.metadata["nRemovedSaturatedCentres"] == 2
    task, result = run_task(difference, saturatedCentrePlanes=[])
    assert len(result.diaSources) == 4
