"""Template assembly from coadd patches across patch and tract boundaries; calexp templates."""
import numpy as np
import pytest

from diffim import DEFAULT_MASK_PLANES, Exposure, Mask, MaskPlanes
from diffim.geom import Box
from diffim.image.stats import robust_median_sigma
from diffim.sim import PairConfig, simulate_pair
from diffim.sky.skymap import simulated_skymap
from diffim.subtract import AlardLuptonSubtractTask
from diffim.template import (
    GetCalexpAsTemplateTask,
    GetCoaddAsTemplateTask,
    NoTemplateError,
)
from diffim.template.get_template import _merge
from diffim.warp.warper import WarpError, warp_exposure


@pytest.fixture(scope="module")
def field():
    # A 512 px image at (150, 2): the simulated skymap's tract boundary runs through it,
    # and with 400 px patches (450 outer) it also crosses patch boundaries.
    pair = simulate_pair(PairConfig(size=512, seed=8, star_density=1000))
    skymap = simulated_skymap(patch_size=400, patch_border=25)
    return pair, skymap


def patch_coadds(template, skymap, bbox, wcs):
    """One-input 'coadds': the template warped onto every overlapping patch."""
    task = GetCoaddAsTemplateTask()
    coadds = {}
    for tract, patches in task.overlapping_patches(skymap, bbox, wcs):
        for patch in patches:
            try:
                coadd = warp_exposure(template, tract.wcs, patch.outer_bbox)
            except WarpError:
                continue  # the border reaches a patch the template itself does not

            # Coadds hold finite values in NO_DATA pixels.
            no_data = coadd.mask.get("NO_DATA")
            coadd.image[no_data] = 0.0
            coadd.variance[no_data] = 0.0
            coadds[(tract.tract_id, patch.sequential_index)] = coadd
    return coadds


def test_template_from_patches_of_two_tracts_is_seamless(field):
    pair, skymap = field
    science = pair.science
    task = GetCoaddAsTemplateTask()
    overlaps = task.overlapping_patches(skymap, science.bbox, science.wcs)
    assert len(overlaps) == 2  # both tracts
    assert sum(len(patches) for _, patches in overlaps) >= 4
    coadds = patch_coadds(pair.template, skymap, science.bbox, science.wcs)
    template = task.run(coadds, skymap, science.bbox, science.wcs, science.visit_info).exposure
    assert template.bbox == science.bbox
    interior = (slice(8, -8), slice(8, -8))
    assert not template.mask.get("NO_DATA")[interior].any()
    assert np.isfinite(template.image).all() and np.isfinite(template.variance).all()
    # Two resamplings (to the patches and back) keep the pixels of the original template.
    residual = (template.image - pair.template.image)[interior]
    assert robust_median_sigma(residual / np.sqrt(pair.template.variance[interior]))[1] < 0.5
    # The subtraction shows no seam: the residual is the same on both sides of the tract
    # boundary (RA = 150, the image's middle column).
    difference = AlardLuptonSubtractTask().run(template, science).difference
    good = ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "SAT_TEMPLATE", "BAD"])
    normalised = np.where(good, difference.image / np.sqrt(difference.variance), np.nan)
    left = normalised[:, 60:250][np.isfinite(normalised[:, 60:250])]
    right = normalised[:, 262:452][np.isfinite(normalised[:, 262:452])]
    seam = normalised[:, 246:266][np.isfinite(normalised[:, 246:266])]
    for values in (left, right, seam):
        assert 0.9 < robust_median_sigma(values)[1] < 1.1


def test_template_psf_is_the_coadd_psf(field):
    pair, skymap = field
    science = pair.science
    coadds = patch_coadds(pair.template, skymap, science.bbox, science.wcs)
    template = GetCoaddAsTemplateTask().run(coadds, skymap, science.bbox, science.wcs).exposure
    x, y = science.bbox.center
    assert template.psf.computeFwhm(x, y) == pytest.approx(pair.template.psf.computeFwhm(x, y),
                                                           rel=0.03)


def test_missing_patches_and_low_coverage(field):
    pair, skymap = field
    science = pair.science
    task = GetCoaddAsTemplateTask()
    with pytest.raises(NoTemplateError, match="no deepCoadd patch overlaps"):
        task.run({}, skymap, science.bbox, science.wcs)
    coadds = patch_coadds(pair.template, skymap, science.bbox, science.wcs)
    one = dict([next(iter(coadds.items()))])
    def task_requiring(fraction):
        config = GetCoaddAsTemplateTask.ConfigClass()
        config.requiredTemplateFraction = fraction
        return GetCoaddAsTemplateTask(config=config)

    with pytest.raises(NoTemplateError, match="requiredTemplateFraction=0.99"):
        task_requiring(0.99).run(one, skymap, science.bbox, science.wcs)
    partial = task_requiring(0.0).run(one, skymap, science.bbox, science.wcs).exposure
    assert partial.mask.get("NO_DATA").any()
    assert (partial.image[partial.mask.get("NO_DATA")] == 0).all()


def test_high_variance_flagged():
    pair = simulate_pair(PairConfig(size=256, seed=9, star_density=500))
    skymap = simulated_skymap(patch_size=400, patch_border=25)
    template = pair.template.copy()
    template.variance[96:160, 96:160] *= 10.0  # a region with few coadd inputs
    coadds = patch_coadds(template, skymap, pair.science.bbox, pair.science.wcs)
    result = GetCoaddAsTemplateTask().run(coadds, skymap, pair.science.bbox, pair.science.wcs)
    high = result.exposure.mask.get("HIGH_VARIANCE")
    assert high[112:144, 112:144].all()
    assert not high[:60, :60].any()


def test_calexp_template_is_warped_with_its_sources():
    shifted = simulate_pair(PairConfig(size=512, seed=8, star_density=1000,
                                       template_offset=(7.3, -4.1), template_rotation=0.5))
    science = shifted.science
    truth = shifted.truth
    # Sources measured on the template calexp: their template-frame pixels and sky positions.
    ra, dec = shifted.template.pixel_to_sky(truth["template_x"].to_numpy(),
                                            truth["template_y"].to_numpy())
    sources = truth[["id"]].assign(x=truth["template_x"], y=truth["template_y"],
                                   coord_ra=ra, coord_dec=dec)
    result = GetCalexpAsTemplateTask().run(shifted.template, sources, science.bbox, science.wcs)
    assert result.exposure.bbox == science.bbox
    # Moved to the science frame: exactly where the truth puts them there.
    assert np.allclose(result.sources["x"], truth["x"], atol=1e-3)
    assert np.allclose(result.sources["y"], truth["y"], atol=1e-3)
    difference = AlardLuptonSubtractTask().run(result.exposure, science).difference
    good = ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "SAT_TEMPLATE", "BAD"])
    normalised = difference.image[good] / np.sqrt(difference.variance[good])
    assert 0.9 < robust_median_sigma(normalised)[1] < 1.1


def test_merge_reencodes_each_inputs_planes_where_it_is_usable():
    # Two inputs on one frame with different plane tables; the second is 4 px to the right.
    left = Exposure(np.ones((6, 8), np.float32), np.ones((6, 8), np.float32))
    right_planes = MaskPlanes({"SAT": 0, "BAD": 1, "NO_DATA": 2, "STREAK": 3})
    right = Exposure(np.ones((6, 8), np.float32), np.ones((6, 8), np.float32),
                     Mask.zeros((6, 8), right_planes), xy0=(4, 0))
    left.mask.set("SAT", np.s_[1, 5])
    right.mask.set("SAT", np.s_[2, 2])           # frame x = 6
    right.mask.set("STREAK", np.s_[3, 0:8])      # frame x = 4..11
    right.mask.set("NO_DATA", np.s_[3, 0:6])     # unusable there: its STREAK is not carried
    right.mask.set("BAD", np.s_[0, 7])           # frame x = 11
    merged = _merge([left, right], Box(0, 0, 12, 6)).mask
    expected = {name: np.zeros((6, 12), bool) for name in ("SAT", "BAD", "STREAK", "NO_DATA")}
    expected["SAT"][1, 5] = expected["SAT"][2, 6] = True
    expected["STREAK"][3, 10:12] = True
    expected["BAD"][0, 11] = True
    expected["NO_DATA"][3, 8:10] = True          # nothing else covers those two pixels
    for name, where in expected.items():
        assert np.array_equal(merged.get(name), where), name
    assert merged.planes.bit("STREAK") == len(DEFAULT_MASK_PLANES)
