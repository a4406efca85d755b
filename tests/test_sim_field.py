"""The multi-detector, multi-visit field simulator."""
import numpy as np
import pytest

from diffim.errors import SimulationError
from diffim.image.stats import robust_median_sigma
from diffim.sim import PairConfig
from diffim.sim.field import FieldConfig, VisitSpec, simulate_field
from diffim.sources.kernel_sources import psf_photometry
from diffim.subtract import AlardLuptonSubtractTask
from diffim.template import GetCalexpAsTemplateTask


@pytest.fixture(scope="module")
def field():
    return simulate_field(FieldConfig(sky=PairConfig(size=384, seed=4, star_density=600.0,
                                                     n_transients=12)))


def test_every_visit_and_detector_is_observed(field):
    config = field.config
    assert set(field.calexps) == {(visit.visit, detector) for visit in config.visits
                                  for detector in config.detector_ids}
    again = simulate_field(field.config)
    assert all(np.array_equal(field.calexps[key].image, again.calexps[key].image)
               for key in field.calexps)


def test_stars_have_their_flux_in_every_visit(field):
    stars = field.truth[(field.truth["kind"] == "star") & (field.truth["mag_template"] < 20.5)]
    for (visit, detector), exposure in field.calexps.items():
        x, y = exposure.sky_to_pixel(stars["ra"].to_numpy(), stars["dec"].to_numpy())
        inside = (x > 20) & (x < exposure.shape[1] - 20) & (y > 20) & (y < exposure.shape[0] - 20)
        if inside.sum() < 3:
            continue
        measured = psf_photometry(exposure.image, exposure.variance, exposure.psf, exposure.bbox,
                                  x[inside], y[inside])["flux"]
        expected = exposure.photo_calib.magnitude_to_instflux(
            stars["mag_template"].to_numpy()[inside])
        saturated = exposure.mask.get("SAT")[np.rint(y[inside]).astype(int),
                                             np.rint(x[inside]).astype(int)]
        ratio = np.median(measured[~saturated] / expected[~saturated])
        # Nearest-pixel PSF photometry loses a little flux to the sub-pixel offset.
        assert 0.9 < ratio < 1.02, (visit, detector, ratio)


def test_transients_only_in_science_visits(field):
    transients = field.truth[field.truth["kind"] == "transient"]
    assert np.isinf(transients["mag_template"]).all()
    assert np.isfinite(transients["mag_science"]).all()
    assert len(field.reference) == (field.truth["kind"] == "star").sum()


def test_calexp_calexp_subtraction_across_visits(field):
    science = field.calexps[(10, 0)]
    template = field.calexps[(1, 0)]
    warped = GetCalexpAsTemplateTask().run(template, None, science.bbox, science.wcs).exposure
    difference = AlardLuptonSubtractTask().run(warped, science).difference
    good = ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "SAT_TEMPLATE", "BAD"])
    assert good.mean() > 0.6
    normalised = difference.image[good] / np.sqrt(difference.variance[good])
    assert 0.9 < robust_median_sigma(normalised)[1] < 1.1


def test_bad_field_configs():
    with pytest.raises(SimulationError, match="unique visit ids"):
        FieldConfig(visits=(VisitSpec(1, "template"), VisitSpec(1, "science")))
    with pytest.raises(SimulationError, match="role must be"):
        FieldConfig(visits=(VisitSpec(1, "reference"),))
    with pytest.raises(SimulationError, match="detectors must be"):
        FieldConfig(detectors=(0, 2))
