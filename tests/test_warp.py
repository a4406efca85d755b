"""Tests of `diffim.warp`: resampling onto another WCS, with variance, mask and PSF."""
import math

import numpy as np
import pytest

from diffim import Exposure, PhotoCalib, VisitInfo
from diffim.geom import Box
from diffim.psf import GaussianPsf, VaryingPsf
from diffim.sim import offset_wcs, pointing_wcs, render_sources
from diffim.warp.warper import (
    Warper,
    WarperConfig,
    WarpError,
    kernel_half_width,
    source_positions,
    warp_exposure,
)

SKY_VARIANCE = 100.0
GAIN = 2.0
SATURATION = 4.0e4
OFFSET = (7.3, -4.1)
ROTATION = 0.5


def star_field(size=384, distortion=0.0, pixel_scale=0.2, noise=True, seed=1, psf=None,
               spacing=48):
    """Isolated Gaussian stars on a grid with sub-pixel jitter; the two brightest saturate."""
    rng = np.random.default_rng(seed)
    bbox = Box(0, 0, size, size)
    wcs = pointing_wcs(150.0, 2.0, bbox.center, pixel_scale, distortion=distortion,
                       half_diagonal=math.hypot(size - 1, size - 1) / 2.0)
    psf = psf if psf is not None else GaussianPsf(2.0, 1.6, 0.4)
    centres = np.arange(40, size - 39, spacing, dtype=float)
    x, y = (c.ravel() + rng.uniform(-0.5, 0.5, c.size) for c in np.meshgrid(centres, centres))
    flux = rng.uniform(2.0e4, 2.0e5, x.size)
    flux[:2] = 2.0e6
    model = render_sources(bbox, psf, x, y, flux).model
    variance = SKY_VARIANCE + model / GAIN
    image = model + (rng.normal(size=model.shape) * np.sqrt(variance) if noise else 0.0)
    exposure = Exposure(image, variance, wcs=wcs, psf=psf, photo_calib=PhotoCalib(27.5),
                        visit_info=VisitInfo(exposure_time=30.0, band="r"),
                        metadata={"visit": 7})
    exposure.mask.set("SAT", model > SATURATION)
    return exposure, x, y, flux


def aperture_sums(exposure, x, y, radius=12.0):
    yy, xx = np.mgrid[exposure.bbox.y0:exposure.bbox.y_end, exposure.bbox.x0:exposure.bbox.x_end]
    return np.array([exposure.image[(xx - xi) ** 2 + (yy - yi) ** 2 <= radius ** 2].sum()
                     for xi, yi in zip(x, y)])


def exact_source_positions(source_wcs, target_wcs, bbox):
    yy, xx = np.mgrid[bbox.y0:bbox.y_end, bbox.x0:bbox.x_end].astype(float)
    ra, dec = target_wcs.pixel_to_world_values(xx, yy)
    return source_wcs.world_to_pixel_values(ra, dec)


@pytest.fixture(scope="module")
def field():
    return star_field()


@pytest.fixture(scope="module")
def rotated(field):
    exposure = field[0]
    target_wcs = offset_wcs(exposure.wcs, OFFSET, ROTATION)
    return warp_exposure(exposure, target_wcs, exposure.bbox)


def test_round_trip_residual_within_noise(field, rotated):
    exposure = field[0]
    back = warp_exposure(rotated, exposure.wcs, exposure.bbox)
    good = ~back.mask.get("NO_DATA")
    interior = np.zeros_like(good)
    interior[20:-20, 20:-20] = True
    residual = (back.image - exposure.image) / np.sqrt(exposure.variance)
    chi = residual[good & interior & ~back.mask.get("SAT")]
    # Two Lanczos-3 passes smooth the noise (the residual is mostly the
    # removed noise, well below 1 sigma) and leave no structure at the stars.
    assert chi.size > 0.8 * interior.sum()
    assert np.std(chi) < 0.6
    assert np.abs(np.mean(chi)) < 0.01


def test_noiseless_round_trip_is_accurate():
    exposure, *_ = star_field(noise=False)
    target_wcs = offset_wcs(exposure.wcs, OFFSET, ROTATION)
    back = warp_exposure(warp_exposure(exposure, target_wcs, exposure.bbox), exposure.wcs,
                         exposure.bbox)
    good = ~back.mask.get("NO_DATA")
    good[:20], good[-20:], good[:, :20], good[:, -20:] = False, False, False, False
    # Lanczos-3 misses ~0.6 % of the peak of a sigma = 1.6 px star per pass;
    # below the noise except at the cores of the brightest stars.
    error = np.abs(back.image - exposure.image)[good]
    assert error.max() < 0.015 * exposure.image.max()
    assert np.percentile(error / np.sqrt(exposure.variance[good]), 99) < 0.6


@pytest.mark.parametrize("pixel_scale, tolerance",
                         [(0.2, 1e-3), (0.15, 1e-3), (0.18, 1e-2), (0.25, 1e-2)])
def test_flux_of_isolated_stars_conserved(pixel_scale, tolerance):
    """Equal scales (any rotation) conserve star fluxes to 0.1 %.

    Scale ratios near 1 alias the source grid's spectral replica into the sum
    of the samples (see `warp_exposure`, Notes): 0.3-0.9 % there.
    """
    exposure, x, y, flux = star_field(noise=False)
    target_wcs = pointing_wcs(150.0, 2.0, (190.0, 195.0), pixel_scale, rotation=ROTATION)
    target_bbox = Box(-10, 0, 400, 400)
    warped = warp_exposure(exposure, target_wcs, target_bbox)
    ra, dec = exposure.pixel_to_sky(x, y)
    target_x, target_y = warped.sky_to_pixel(ra, dec)
    scale = 0.2 / pixel_scale
    before = aperture_sums(exposure, x, y)
    after = aperture_sums(warped, target_x, target_y, radius=12.0 * scale)
    inside = ((target_x > target_bbox.x0 + 20) & (target_x < target_bbox.x_end - 20)
              & (target_y > target_bbox.y0 + 20) & (target_y < target_bbox.y_end - 20)
              & (x > 20) & (x < 364) & (y > 20) & (y < 364))
    assert inside.sum() >= 25
    np.testing.assert_allclose(after[inside], before[inside], rtol=tolerance)


def test_no_data_exactly_where_kernel_leaves_input(field, rotated):
    exposure = field[0]
    u, v = exact_source_positions(exposure.wcs, rotated.wcs, rotated.bbox)
    half = kernel_half_width("lanczos3")[0]
    first_x, first_y = np.floor(u) - half + 1, np.floor(v) - half + 1
    off = ((first_x < 0) | (first_y < 0) | (first_x + 2 * half > exposure.bbox.width)
           | (first_y + 2 * half > exposure.bbox.height))
    no_data = rotated.mask.get("NO_DATA")
    assert off.sum() > 1000
    np.testing.assert_array_equal(no_data, off)
    assert np.all(np.isnan(rotated.image[no_data]))
    assert np.all(np.isinf(rotated.variance[no_data]))
    assert np.all(rotated.mask.array[no_data] == rotated.mask.bitmask("NO_DATA"))
    assert np.all(np.isfinite(rotated.image[~no_data]))


def _distance_to_nearest(mask, x, y):
    rows, cols = np.nonzero(mask)
    return np.min(np.hypot(cols[:, None] - x[None, :], rows[:, None] - y[None, :]), axis=1)


def test_saturation_follows_its_star(field, rotated):
    exposure, x, y, flux = field
    # Only the two brightest stars saturate.
    input_reach = _distance_to_nearest(exposure.mask.get("SAT"), x[:2], y[:2]).max()
    assert 1.0 < input_reach < 10.0
    ra, dec = exposure.pixel_to_sky(x[:2], y[:2])
    target_x, target_y = rotated.sky_to_pixel(ra, dec)
    sat = rotated.mask.get("SAT")
    # Bilinear mask spreading takes the 2 x 2 input pixels around a position
    # (< sqrt(2) px away): it grows a region a little and never moves it.
    assert _distance_to_nearest(sat, target_x, target_y).max() <= input_reach + math.sqrt(2)
    assert sat.sum() >= exposure.mask.count("SAT")
    for xi, yi in zip(target_x, target_y):
        assert sat[round(yi), round(xi)]


def test_variance_of_flat_noise_keeps_its_level():
    size = 256
    rng = np.random.default_rng(5)
    wcs = pointing_wcs(150.0, 2.0, (127.5, 127.5))
    exposure = Exposure(rng.normal(0.0, 1.0, (size, size)) * 3.0,
                        np.full((size, size), 9.0), wcs=wcs)
    warped = warp_exposure(exposure, offset_wcs(wcs, (3.5, 0.25), 0.0), exposure.bbox)
    good = ~warped.mask.get("NO_DATA")
    # Half a pixel in x and a quarter in y: (sum w^2) per axis from the weights.
    factor = np.prod([np.sum(_lanczos3(fraction) ** 2) for fraction in (0.5, 0.25)])
    assert 0.617 < factor < 1.0
    np.testing.assert_allclose(warped.variance[good], 9.0 * factor, rtol=1e-5)
    # The per-pixel variance is right; only the covariance is dropped.
    assert np.var(warped.image[good]) == pytest.approx(9.0 * factor, rel=0.03)


def _lanczos3(fraction):
    distance = fraction + 2 - np.arange(6)
    weights = np.sinc(distance) * np.sinc(distance / 3.0)
    return weights / weights.sum()


def test_integer_translation_is_exact():
    psf = VaryingPsf(GaussianPsf, {"sigma_x": [[2.0, 0.2], [0.3, 0.0]]}, Box(0, 0, 384, 384))
    exposure, *_ = star_field(psf=psf)
    exposure.mask.set("EDGE", (slice(0, 384), slice(0, 3)))
    target_wcs = offset_wcs(exposure.wcs, (7, -3), 0.0)
    warped = warp_exposure(exposure, target_wcs, exposure.bbox)
    assert np.array_equal(warped.image[:-3, 7:], exposure.image[3:, :-7])
    assert np.array_equal(warped.variance[:-3, 7:], exposure.variance[3:, :-7])
    assert np.array_equal(warped.mask.array[:-3, 7:], exposure.mask.array[3:, :-7])
    assert warped.mask.get("NO_DATA").sum() == 384 * 384 - 381 * 377
    for x, y in ((7.0, 0.0), (100.3, 200.7), (383.0, 380.0)):
        np.testing.assert_array_equal(warped.psf.computeKernelImage(x, y),
                                      exposure.psf.computeKernelImage(x - 7, y + 3))


def test_constant_psf_unchanged_by_translation(field):
    exposure = field[0]
    warped = warp_exposure(exposure, offset_wcs(exposure.wcs, (2.4, 5.7)), exposure.bbox)
    assert warped.psf is exposure.psf


def test_psf_rotates_with_the_frame(field):
    exposure = field[0]
    # An elliptical PSF warped by a large rotation: its moments rotate with it.
    target_wcs = offset_wcs(exposure.wcs, (0.0, 0.0), 30.0)
    warped = warp_exposure(exposure, target_wcs, exposure.bbox, psf_grid=2)
    ixx, iyy, ixy = _moments(warped.psf.computeKernelImage(*exposure.bbox.center))
    angle = math.radians(30.0)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    source = np.array(_moments(exposure.psf.computeKernelImage(0, 0)))
    expected = rotation @ np.array([[source[0], source[2]], [source[2], source[1]]]) @ rotation.T
    np.testing.assert_allclose([ixx, iyy, ixy], [expected[0, 0], expected[1, 1], expected[0, 1]],
                               rtol=0.02, atol=0.02)


def _moments(image):
    half = image.shape[0] // 2
    dy, dx = np.mgrid[-half:half + 1, -half:half + 1]
    total = image.sum()
    return ((image * dx * dx).sum() / total, (image * dy * dy).sum() / total,
            (image * dx * dy).sum() / total)


def test_descriptors_carried(field, rotated):
    exposure = field[0]
    assert rotated.photo_calib == exposure.photo_calib
    assert rotated.visit_info == exposure.visit_info
    assert rotated.metadata == exposure.metadata
    assert rotated.metadata is not exposure.metadata
    assert rotated.bbox == exposure.bbox
    assert rotated.image.dtype == np.float32


def test_interpolated_positions_within_a_hundredth_of_a_pixel():
    """A bilinear warp of a ramp returns the interpolated source x, to compare with the exact.

    The source has 3 px of radial SIP distortion at the corners of 512 px (the
    curvature of ~25 px at the corners of a 4k detector), the target is a
    plain TAN grid, shifted and rotated: the distortion does not cancel.
    """
    size = 512
    wcs = pointing_wcs(150.0, 2.0, (255.5, 255.5), distortion=3.0,
                       half_diagonal=math.hypot(511, 511) / 2.0)
    ramp = np.tile(np.arange(size, dtype=np.float32), (size, 1))
    exposure = Exposure(ramp, np.ones_like(ramp), wcs=wcs)
    target_wcs = pointing_wcs(150.0, 2.0, (275.5, 244.5), rotation=5.0)
    exact_x, _ = exact_source_positions(wcs, target_wcs, exposure.bbox)
    errors = {}
    for step in (16, 64):
        warped = warp_exposure(exposure, target_wcs, exposure.bbox, kernel="bilinear",
                               conserve_flux=False, interp_length=step, psf_grid=1)
        good = ~warped.mask.get("NO_DATA")
        errors[step] = np.abs(warped.image[good] - exact_x[good]).max()
    assert errors[16] < 0.01
    # The check can see interpolation errors: 16 times more at 4 times the spacing.
    assert errors[64] > 5 * errors[16]


def test_source_position_grid_covers_the_box():
    wcs = pointing_wcs(150.0, 2.0, (100.0, 100.0))
    grid_x, grid_y = source_positions(wcs, wcs, Box(5, 7, 33, 32), 16)
    assert grid_x.shape == (3, 4)
    np.testing.assert_allclose(grid_x[0], [5, 21, 37, 53], atol=1e-8)
    np.testing.assert_allclose(grid_y[:, 0], [7, 23, 39], atol=1e-8)


def test_lanczos_orders_and_bilinear_run(field):
    exposure = field[0]
    target_wcs = offset_wcs(exposure.wcs, OFFSET, ROTATION)
    bbox = Box(100, 100, 64, 64)
    images = [warp_exposure(exposure, target_wcs, bbox, kernel=name).image
              for name in ("bilinear", "lanczos2", "lanczos5")]
    for image in images[1:]:
        assert np.abs(image - images[0]).max() < 0.2 * np.abs(images[0]).max()


@pytest.mark.parametrize("kernel", ["lanczos", "cubic", "lanczos0", "lanczos17"])
def test_unknown_kernel_is_a_clear_error(field, kernel):
    exposure = field[0]
    with pytest.raises(WarpError, match=f"unknown warping kernel '{kernel}'"):
        warp_exposure(exposure, exposure.wcs, exposure.bbox, kernel=kernel)


def test_missing_wcs_is_a_clear_error(field):
    exposure = field[0]
    bare = Exposure(exposure.image, exposure.variance)
    with pytest.raises(WarpError, match="input exposure has no WCS"):
        warp_exposure(bare, exposure.wcs, exposure.bbox)
    with pytest.raises(WarpError, match="no target WCS"):
        warp_exposure(exposure, None, exposure.bbox)


def test_non_overlapping_target_is_a_clear_error(field):
    exposure = field[0]
    far = pointing_wcs(151.0, 2.0, (100.0, 100.0))
    with pytest.raises(WarpError, match="does not overlap the input"):
        warp_exposure(exposure, far, Box(0, 0, 200, 200))
    with pytest.raises(WarpError, match="does not overlap the input"):
        warp_exposure(exposure, exposure.wcs, Box(1000, 1000, 50, 50))


def test_warper_uses_its_config(field):
    exposure = field[0]
    target_wcs = offset_wcs(exposure.wcs, OFFSET, ROTATION)
    bbox = Box(50, 60, 100, 90)
    config = WarperConfig()
    config.warpingKernelName = "lanczos4"
    config.interpLength = 8
    warped = Warper(config).warpExposure(target_wcs, exposure, bbox)
    direct = warp_exposure(exposure, target_wcs, bbox, kernel="lanczos4", interp_length=8)
    np.testing.assert_array_equal(warped.image, direct.image)
    config.maskWarpingKernelName = "nearest"
    with pytest.raises(WarpError, match="unknown warping kernel 'nearest'"):
        Warper(config)


def test_edge_bits_stay_at_the_input_edge(field):
    exposure = field[0].copy()
    border = 4
    edge = np.ones(exposure.shape, bool)
    edge[border:-border, border:-border] = False
    exposure.mask.set("EDGE", edge)
    target_wcs = offset_wcs(exposure.wcs, OFFSET, ROTATION)
    warped = warp_exposure(exposure, target_wcs, exposure.bbox)
    u, v = exact_source_positions(exposure.wcs, target_wcs, exposure.bbox)
    distance_to_edge = np.minimum.reduce([u, v, exposure.bbox.width - 1 - u,
                                          exposure.bbox.height - 1 - v])
    flagged = warped.mask.get("EDGE")
    no_data = warped.mask.get("NO_DATA")
    assert not (flagged & no_data).any()
    # Bilinear spreading: EDGE within one pixel of the input's EDGE band, and
    # every pixel whose data comes from inside that band carries it.
    assert distance_to_edge[flagged].max() < border + 1
    assert flagged[~no_data & (distance_to_edge < border - 1)].all()


def test_target_larger_than_input_keeps_psf_valid():
    """A patch-sized target: PSF nodes off the input use the PSF at the nearest input pixel."""
    bbox = Box(0, 0, 128, 128)
    # sigma = 2 + 0.9 u goes negative beyond u = -2.2, i.e. ~80 px left of the input.
    psf = VaryingPsf(GaussianPsf, {"sigma_x": [[2.0], [0.9]]}, bbox)
    wcs = pointing_wcs(150.0, 2.0, bbox.center)
    exposure = Exposure(np.ones(bbox.shape), np.ones(bbox.shape), wcs=wcs, psf=psf)
    target_wcs = offset_wcs(wcs, (200.0, 150.0), 1.0)
    warped = warp_exposure(exposure, target_wcs, Box(0, 0, 512, 512), psf_grid=3)
    assert warped.mask.get("NO_DATA").mean() > 0.9
    corner = warped.psf.computeKernelImage(0.0, 0.0)
    source_corner = psf.computeKernelImage(0.0, 0.0)
    assert _moments(corner)[0] == pytest.approx(_moments(source_corner)[0], rel=0.02)


def test_large_target_matches_a_warp_of_its_overlap(field):
    exposure = field[0]
    target_wcs = offset_wcs(exposure.wcs, (300.0, -200.0), 2.0)
    large = warp_exposure(exposure, target_wcs, Box(-500, -900, 1800, 1600), psf_grid=2)
    overlap = Box(310, -190, 360, 360)
    direct = warp_exposure(exposure, target_wcs, overlap, psf_grid=2)
    cut = large[overlap]
    np.testing.assert_array_equal(cut.mask.array, direct.mask.array)
    good = ~direct.mask.get("NO_DATA")
    np.testing.assert_allclose(cut.image[good], direct.image[good], rtol=1e-5, atol=1e-2)
    assert large.mask.get("NO_DATA").sum() > 1800 * 1600 - 384 * 384
