"""Coadd templates end to end on a SimCam field: template visits -> coadd patches ->
template on a science detector -> difference, with the transients found."""
import numpy as np
import pytest

from diffim.coadd import MakeCalexpCoaddTask, MakeCoaddTask
from diffim.image.stats import robust_median_sigma
from diffim.measure import DetectAndMeasureTask
from diffim.psf import measure_psf
from diffim.sim import FieldConfig, PairConfig, simulate_field
from diffim.sim.field_files import make_coadds
from diffim.sky.matching import match_pixels
from diffim.sky.skymap import simulated_skymap
from diffim.subtract import AlardLuptonSubtractTask
from diffim.template import GetCoaddAsTemplateTask


@pytest.fixture(scope="module")
def field():
    sky = PairConfig(size=384, seed=12, star_density=700.0, n_transients=25)
    return simulate_field(FieldConfig(sky=sky))


@pytest.fixture(scope="module")
def skymap():
    return simulated_skymap(patch_size=400, patch_border=25)


def coadd_patches(field, skymap, task):
    template_visits = {spec.visit for spec in field.config.visits if spec.role == "template"}
    templates = [exposure for (visit, _), exposure in field.calexps.items()
                 if visit in template_visits]
    return make_coadds(templates, skymap, task)


def test_coadd_template_subtracts_a_science_detector(field, skymap):
    coadds = coadd_patches(field, skymap, MakeCoaddTask())
    assert len(coadds) >= 2
    science = field.calexps[(10, 0)]
    template = GetCoaddAsTemplateTask().run(coadds, skymap, science.bbox, science.wcs,
                                            science.visit_info).exposure
    # The coadd PSF carried to the science frame matches the stars of the template.
    bad = template.mask.get(["NO_DATA", "SAT", "BAD", "EDGE"])
    measured = measure_psf(np.nan_to_num(template.image), np.nan_to_num(template.variance, posinf=0),
                           bad, template.xy0)
    x, y = science.bbox.center
    assert measured.fwhm == pytest.approx(template.psf.computeFwhm(x, y), rel=0.03)
    subtracted = AlardLuptonSubtractTask().run(template, science)
    difference = subtracted.difference
    good = ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "SAT_TEMPLATE", "BAD"])
    assert good.mean() > 0.8
    assert 0.9 < robust_median_sigma(difference.image[good]
                                     / np.sqrt(difference.variance[good]))[1] < 1.1
    dia = DetectAndMeasureTask().run(science, subtracted.matchedTemplate, difference).diaSources
    truth = field.truth[(field.truth["kind"] == "transient")]
    tx, ty = science.sky_to_pixel(truth["ra"].to_numpy(), truth["dec"].to_numpy())
    inside = (tx > 25) & (tx < 359) & (ty > 25) & (ty < 359) & (truth["host_id"].to_numpy() < 0)
    bright = inside & (truth["mag_science"].to_numpy() < 21.0)
    assert bright.sum() >= 1
    found, _, _ = match_pixels(tx[bright], ty[bright], dia["slot_Centroid_x"], dia["slot_Centroid_y"], 1.0)
    assert len(found) == bright.sum()


def test_one_calexp_coadd_as_template(field, skymap):
    """The thread's proposal: a calexp turned into a one-input coadd, used as a template."""
    template_calexp = field.calexps[(1, 0)]
    coadds = MakeCalexpCoaddTask().run(template_calexp, skymap).coadds
    science = field.calexps[(10, 0)]
    template = GetCoaddAsTemplateTask().run(coadds, skymap, science.bbox, science.wcs).exposure
    difference = AlardLuptonSubtractTask().run(template, science).difference
    good = ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "SAT_TEMPLATE", "BAD"])
    assert good.mean() > 0.5
    assert 0.9 < robust_median_sigma(difference.image[good]
                                     / np.sqrt(difference.variance[good]))[1] < 1.1


def empty_sky_std(field, science, difference):
    """std of difference/sigma more than 15 px from every simulated source."""
    from scipy import ndimage

    x, y = science.sky_to_pixel(field.truth["ra"].to_numpy(), field.truth["dec"].to_numpy())
    seeds = np.ones(science.shape, bool)
    inside = (x > -0.5) & (x < science.shape[1] - 0.5) & (y > -0.5) & (y < science.shape[0] - 0.5)
    seeds[np.rint(y[inside]).astype(int), np.rint(x[inside]).astype(int)] = False
    far = ndimage.distance_transform_edt(seeds) > 15
    good = far & ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "SAT_TEMPLATE", "BAD", "CR",
                                       "INTRP"])
    return float(np.std(difference.image[good] / np.sqrt(difference.variance[good])))


def test_three_kinds_of_template_agree(field, skymap):
    """Coadd, calexp and one-calexp-coadd templates against one science detector."""
    from diffim.template import GetCalexpAsTemplateTask

    science = field.calexps[(10, 0)]
    template_calexp = field.calexps[(1, 0)]
    templates = {
        "coadd": GetCoaddAsTemplateTask().run(
            coadd_patches(field, skymap, MakeCoaddTask()), skymap, science.bbox,
            science.wcs).exposure,
        "calexp": GetCalexpAsTemplateTask().run(template_calexp, None, science.bbox,
                                                science.wcs).exposure,
        "one-calexp coadd": GetCoaddAsTemplateTask().run(
            MakeCalexpCoaddTask().run(template_calexp, skymap).coadds, skymap, science.bbox,
            science.wcs).exposure,
    }
    for name, template in templates.items():
        difference = AlardLuptonSubtractTask().run(template, science).difference
        assert 0.97 <= empty_sky_std(field, science, difference) <= 1.05, name
    # The calexp template and the one-calexp coadd (warped twice) agree pixel by pixel:
    # the same photons, resampled once more, on the coadd's zero point.
    calexp, one_coadd = templates["calexp"], templates["one-calexp coadd"]
    both = ~(calexp.mask.get(["NO_DATA", "EDGE"]) | one_coadd.mask.get(["NO_DATA", "EDGE"]))
    scale = 10 ** ((27.0 - template_calexp.photo_calib.zero_point) / 2.5)
    residual = one_coadd.image[both] / scale - calexp.image[both]
    assert robust_median_sigma(residual / np.sqrt(calexp.variance[both]))[1] < 0.5
