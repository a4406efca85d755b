"""Coadd templates kept per process: the same bytes as a new build, a new build for any changed input."""
import numpy as np
import pytest
from lsst.pex.config import Field

from diffim.sim import PairConfig, simulate_pair
from diffim.sky.skymap import simulated_skymap
from diffim.template import GetCoaddAsTemplateTask
from diffim.template.kept import template_key, templates_kept
from diffim.warp.warper import WarpError, warp_exposure


class ScaledConfig(GetCoaddAsTemplateTask.ConfigClass):
    """A field of a subclass's own, which its build reads."""

    scale = Field(dtype=float, default=1.0, doc="Multiplies the template.")


class ScaledTask(GetCoaddAsTemplateTask):
    """Builds otherwise: its config's ``scale`` times the template, twice it with the base
    config (its declared config class stays the base one, as after
    ``retarget(ScaledTask, ConfigClass=ScaledConfig)``)."""

    def _build(self, *args):
        built = super()._build(*args)
        built.exposure.image *= getattr(self.config, "scale", 2.0)
        return built


@pytest.fixture(scope="module")
def field():
    pair = simulate_pair(PairConfig(size=256, seed=3, star_density=1000))
    skymap = simulated_skymap(patch_size=200, patch_border=20)
    science = pair.science
    coadds = {}
    for tract, patches in GetCoaddAsTemplateTask().overlapping_patches(skymap, science.bbox,
                                                                        science.wcs):
        for patch in patches:
            try:
                coadds[(tract.tract_id, patch.sequential_index)] = warp_exposure(
                    pair.template, tract.wcs, patch.outer_bbox)
            except WarpError:
                continue
    assert len(coadds) >= 2
    return science, skymap, coadds


@pytest.fixture
def builds(monkeypatch):
    """Counts the templates actually built."""
    count = {"builds": 0}
    build = GetCoaddAsTemplateTask._build

    def counted(self, *args):
        count["builds"] += 1
        return build(self, *args)
    monkeypatch.setattr(GetCoaddAsTemplateTask, "_build", counted)
    return count


def patch_pixel_at(science, skymap, coadds):
    """A patch and its array indices (column, row) at the science image's centre."""
    ra, dec = science.wcs.pixel_to_world_values(*science.bbox.center)
    for key, patch in sorted(coadds.items()):
        x, y = (int(round(float(value))) for value in
                skymap[key[0]].wcs.world_to_pixel_values(ra, dec))
        if patch.bbox.contains_point(x, y):
            return key, x - patch.bbox.x0, y - patch.bbox.y0
    raise AssertionError("no patch covers the science centre")


def run(task, science, skymap, coadds):
    return task.run(coadds, skymap, science.bbox, science.wcs, science.visit_info)


def assert_same_template(a, b):
    for name in ("image", "variance"):
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes()
    assert a.mask.array.tobytes() == b.mask.array.tobytes()
    assert a.mask.planes.as_dict() == b.mask.planes.as_dict()
    assert a.bbox == b.bbox and a.visit_info == b.visit_info
    assert a.photo_calib == b.photo_calib and a.metadata == b.metadata
    x, y = a.bbox.center
    assert a.psf.computeKernelImage(x, y).tobytes() == b.psf.computeKernelImage(x, y).tobytes()


def test_off_by_default_every_run_builds(field, builds):
    science, skymap, coadds = field
    assert template_key(GetCoaddAsTemplateTask, GetCoaddAsTemplateTask().config, coadds, skymap, science.bbox,
                        science.wcs) is None
    run(GetCoaddAsTemplateTask(), science, skymap, coadds)
    run(GetCoaddAsTemplateTask(), science, skymap, coadds)
    assert builds["builds"] == 2


def test_kept_template_is_the_same_bytes_as_a_new_build(field, builds):
    science, skymap, coadds = field
    fresh_task = GetCoaddAsTemplateTask()
    fresh = run(fresh_task, science, skymap, coadds)
    with templates_kept(2**26):
        first = run(GetCoaddAsTemplateTask(), science, skymap, coadds)
        first.exposure.image[:] = -1.0  # the caller's copy: the kept one is untouched
        first.exposure.mask.array[:] = 0
        task = GetCoaddAsTemplateTask()
        again = run(task, science, skymap, coadds)
    assert builds["builds"] == 2
    assert_same_template(again.exposure, fresh.exposure)
    assert again.exposure.wcs is science.wcs
    assert again.patches == fresh.patches
    assert task.metadata == fresh_task.metadata
    # The block restored the budget: nothing is kept any more.
    assert template_key(GetCoaddAsTemplateTask, task.config, coadds, skymap, science.bbox, science.wcs) is None


def test_changed_pixel_or_config_field_is_built_again(field, builds):
    science, skymap, coadds = field
    with templates_kept(2**26):
        base = run(GetCoaddAsTemplateTask(), science, skymap, coadds).exposure
        changed = dict(coadds)
        key, column, row = patch_pixel_at(science, skymap, coadds)
        patch = changed[key].copy()
        patch.image[row, column] += 100.0
        changed[key] = patch
        one_pixel = run(GetCoaddAsTemplateTask(), science, skymap, changed).exposure
        assert builds["builds"] == 2
        config = GetCoaddAsTemplateTask.ConfigClass()
        config.highVarianceThreshold = 3.0
        run(GetCoaddAsTemplateTask(config=config), science, skymap, coadds)
        assert builds["builds"] == 3
        config = GetCoaddAsTemplateTask.ConfigClass()
        config.warp.interpLength = 4
        run(GetCoaddAsTemplateTask(config=config), science, skymap, coadds)
        assert builds["builds"] == 4
        run(GetCoaddAsTemplateTask(), science, skymap, coadds)
        assert builds["builds"] == 4
    assert one_pixel.image.tobytes() != base.image.tobytes()


def test_budget_keeps_the_most_recent(field, builds):
    science, skymap, coadds = field
    one = science.bbox.area * 12  # image, variance (float32) and mask (uint32)
    config = GetCoaddAsTemplateTask.ConfigClass()
    config.highVarianceThreshold = 3.0
    with templates_kept(one):
        run(GetCoaddAsTemplateTask(), science, skymap, coadds)
        run(GetCoaddAsTemplateTask(config=config), science, skymap, coadds)  # drops the first
        run(GetCoaddAsTemplateTask(config=config), science, skymap, coadds)
        assert builds["builds"] == 2
        run(GetCoaddAsTemplateTask(), science, skymap, coadds)
        assert builds["builds"] == 3


def test_a_patch_psf_that_does_not_pickle_is_built_every_time(field, builds):
    science, skymap, coadds = field
    key, _, _ = patch_pixel_at(science, skymap, coadds)
    odd = dict(coadds)
    odd[key] = coadds[key].copy()
    odd[key].psf.unpicklable = lambda: None  # a copy shares the PSF: only this test's
    try:
        with templates_kept(2**26):
            assert template_key(GetCoaddAsTemplateTask, GetCoaddAsTemplateTask().config, odd, skymap, science.bbox,
                                science.wcs) is None
            run(GetCoaddAsTemplateTask(), science, skymap, odd)
            run(GetCoaddAsTemplateTask(), science, skymap, odd)
        assert builds["builds"] == 2
    finally:
        del odd[key].psf.unpicklable


def test_a_subclass_config_field_or_a_subclass_task_is_built_again(field, builds):
    # A retargeted task's config has fields its declared config class lacks; a subclass task
    # may build otherwise from the same config: neither may take another's template.
    science, skymap, coadds = field
    scaled = {}
    with templates_kept(2**26):
        base = run(GetCoaddAsTemplateTask(), science, skymap, coadds).exposure
        for scale in (1.0, 2.0, 3.0):
            config = ScaledConfig()
            config.scale = scale
            scaled[scale] = run(ScaledTask(config=config), science, skymap, coadds).exposure
        assert builds["builds"] == 4
        doubled = run(ScaledTask(), science, skymap, coadds).exposure
        assert builds["builds"] == 5
    assert np.array_equal(doubled.image, 2 * base.image, equal_nan=True)
    assert scaled[1.0].image.tobytes() == base.image.tobytes()
    assert np.array_equal(scaled[2.0].image, 2 * base.image, equal_nan=True)
    assert np.array_equal(scaled[3.0].image, 3 * base.image, equal_nan=True)
