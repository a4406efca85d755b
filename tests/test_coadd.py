"""Tests of `diffim.coadd`: coadds of simulated calexps of one sky on skymap patches."""
import math

import numpy as np
import pytest

from diffim import DEFAULT_MASK_PLANES, Exposure, Mask, MaskPlanes, PhotoCalib, VisitInfo
from diffim.coadd import (
    CoaddError,
    CoaddInputError,
    MakeCalexpCoaddTask,
    MakeCoaddConfig,
    MakeCoaddTask,
    NoCoaddInputsError,
)
from diffim.coadd.patch import _translated_mask
from diffim.geom import Box
from diffim.io.wcs_cards import CardWcs, wcs_card_images
from diffim.mask import MASK_DTYPE
from diffim.psf import GaussianPsf, measure_psf
from diffim.sim import pointing_wcs, render_sources
from diffim.sky.skymap import SkyMap, SkyMapConfig, simulated_skymap
from diffim.warp.warper import warp_exposure

RA, DEC = 150.0, 2.0
SIZE = 480
PIXEL_SCALE = 0.2
SKY_VARIANCE = 60.0
GAIN = 2.0
COADD_ZERO_POINT = 27.0
# Per input: pointing offset (arcsec), rotation (deg), PSF sigma (px), zero point.
POINTINGS = [((0.0, 0.0), 0.0, 1.1, 28.0),
             ((5.3, -3.7), 0.4, 1.3, 27.6),
             ((-4.1, 6.2), -0.3, 1.9, 28.3),
             ((2.9, 4.4), 0.2, 2.2, 27.8)]
FULL_PATCH = (2, 2)      # inside every calexp
EDGE_PATCH = (1, 3)      # partly covered
EMPTY_PATCH = (0, 0)     # no calexp reaches it


def sky_stars(seed=5, spacing=36.0, half_width=300.0):
    """Isolated stars on a jittered grid (arcsec offsets from the field centre), AB mags."""
    rng = np.random.default_rng(seed)
    centres = np.arange(-half_width, half_width + 1.0, spacing) * PIXEL_SCALE
    dx, dy = (c.ravel() + rng.uniform(-1.0, 1.0, c.size) for c in np.meshgrid(centres, centres))
    ra = RA - dx / 3600.0 / math.cos(math.radians(DEC))
    dec = DEC + dy / 3600.0
    mag = rng.uniform(16.5, 19.0, ra.size)
    return ra, dec, mag


def make_calexp(stars, pointing, index, seed):
    """One calexp of the star field through its own pointing, seeing and zero point."""
    (offset_x, offset_y), rotation, sigma, zero_point = pointing
    bbox = Box(0, 0, SIZE, SIZE)
    centre_ra = RA + offset_x / 3600.0 / math.cos(math.radians(DEC))
    wcs = pointing_wcs(centre_ra, DEC + offset_y / 3600.0, bbox.center, PIXEL_SCALE, rotation)
    psf = GaussianPsf(sigma)
    ra, dec, mag = stars
    x, y = wcs.world_to_pixel_values(ra, dec)
    model = render_sources(bbox, psf, x, y, 10.0 ** ((zero_point - mag) / 2.5)).model
    variance = SKY_VARIANCE + model / GAIN
    rng = np.random.default_rng(seed)
    image = model + rng.normal(size=model.shape) * np.sqrt(variance)
    return Exposure(image, variance, wcs=wcs, psf=psf, photo_calib=PhotoCalib(zero_point),
                    visit_info=VisitInfo(exposure_time=30.0, band="r", physical_filter="r_sim"),
                    metadata={"visit": 100 + index, "detector": 1})


def small_skymap():
    config = SkyMapConfig()
    config.raList, config.decList, config.radiusList = [RA], [DEC], [0.02]
    config.pixelScale = PIXEL_SCALE
    config.patchInnerDimensions = [250, 250]
    config.patchBorder = 25
    return SkyMap(config)


@pytest.fixture(scope="module")
def stars():
    return sky_stars()


@pytest.fixture(scope="module")
def calexps(stars):
    return [make_calexp(stars, pointing, index, seed=10 + index)
            for index, pointing in enumerate(POINTINGS)]


@pytest.fixture(scope="module")
def skymap():
    return small_skymap()


@pytest.fixture(scope="module")
def deep(calexps, skymap):
    task = MakeCoaddTask(threads=2)
    return task.run(calexps, skymap, 0, [FULL_PATCH, EDGE_PATCH])


def patch_key(skymap, index):
    return (0, skymap[0].patch(index).sequential_index)


def star_pixels(coadd, stars):
    ra, dec, mag = stars
    x, y = coadd.wcs.world_to_pixel_values(ra, dec)
    return np.asarray(x), np.asarray(y), mag


def aperture(coadd, x, y, radius):
    yy, xx = np.mgrid[coadd.bbox.y0:coadd.bbox.y_end, coadd.bbox.x0:coadd.bbox.x_end]
    inside = [(xx - xi) ** 2 + (yy - yi) ** 2 <= radius ** 2 for xi, yi in zip(x, y)]
    return (np.array([coadd.image[a].sum() for a in inside]),
            np.array([coadd.variance[a].sum() for a in inside]))


def test_star_fluxes_match_truth_at_coadd_zero_point(deep, skymap, stars):
    coadd = deep.coadds[patch_key(skymap, FULL_PATCH)]
    assert coadd.photo_calib.zero_point == COADD_ZERO_POINT
    x, y, mag = star_pixels(coadd, stars)
    inner = coadd.bbox.grown(-15)
    keep = np.array([inner.contains_point(xi, yi) for xi, yi in zip(x, y)])
    flux, variance = aperture(coadd, x[keep], y[keep], radius=12.0)
    truth = 10.0 ** ((COADD_ZERO_POINT - mag[keep]) / 2.5)
    # The plane omits the warp's covariance: up to 1 / 0.617 more variance in a sum.
    chi = (flux - truth) / np.sqrt(variance / 0.617)
    assert keep.sum() > 30
    assert abs(np.median(flux / truth) - 1.0) < 2e-3
    assert np.all(np.abs(chi) < 5.0)
    assert 0.5 < np.std(chi) < 1.3


def test_noise_agrees_with_variance_plane(deep, skymap, stars, calexps):
    coadd = deep.coadds[patch_key(skymap, FULL_PATCH)]
    x, y, _ = star_pixels(coadd, stars)
    yy, xx = np.mgrid[coadd.bbox.y0:coadd.bbox.y_end, coadd.bbox.x0:coadd.bbox.x_end]
    distance = np.min([np.hypot(xx - xi, yy - yi) for xi, yi in zip(x, y)], axis=0)
    sky = distance > 12.0
    normalised = coadd.image[sky] / np.sqrt(coadd.variance[sky])
    assert 0.97 < np.std(normalised) < 1.03
    # Variance of the weighted mean: 1 / sum(w) times the warp's per-pixel loss (0.617..1).
    weight_sum = deep.inputs.query(f"patch == {patch_key(skymap, FULL_PATCH)[1]}").weight.sum()
    ratio = np.median(coadd.variance[sky]) * weight_sum
    assert 0.6 < ratio < 1.0
    # Sums over 4 x 4 blocks see the covariance the plane leaves out.
    rows, cols = (s // 4 * 4 for s in coadd.shape)
    blocks = coadd.image[:rows, :cols].reshape(rows // 4, 4, cols // 4, 4)
    block_variance = coadd.variance[:rows, :cols].reshape(rows // 4, 4, cols // 4, 4)
    clean = sky[:rows, :cols].reshape(rows // 4, 4, cols // 4, 4).all(axis=(1, 3))
    block_chi = blocks.sum(axis=(1, 3))[clean] / np.sqrt(block_variance.sum(axis=(1, 3))[clean])
    assert 1.0 < np.std(block_chi) < 1.0 / math.sqrt(0.617)


def test_coadd_psf_matches_measured_stars(deep, skymap):
    coadd = deep.coadds[patch_key(skymap, FULL_PATCH)]
    measured = measure_psf(coadd.image, coadd.variance, coadd.mask.get("NO_DATA"),
                           xy0=coadd.xy0)
    model = np.array([coadd.psf.computeFwhm(x, y)
                      for x, y in zip(measured.star_x, measured.star_y)])
    assert measured.n_stars >= 10
    assert abs(np.median(measured.star_fwhm / model) - 1.0) < 0.03


def test_no_data_exactly_where_no_input_covers(deep, skymap, calexps):
    tract = skymap[0]
    patch = tract.patch(EDGE_PATCH)
    coadd = deep.coadds[patch_key(skymap, EDGE_PATCH)]
    covered = np.zeros(patch.outer_bbox.shape, bool)
    counts = {}
    for index, calexp in enumerate(calexps):
        warp = warp_exposure(calexp, tract.wcs, patch.outer_bbox)
        usable = ~warp.mask.get("NO_DATA")
        counts[index] = int(usable.sum())
        covered |= usable
    no_data = coadd.mask.get("NO_DATA")
    assert 0 < no_data.sum() < no_data.size
    np.testing.assert_array_equal(no_data, ~covered)
    assert np.all(np.isnan(coadd.image[no_data])) and np.all(np.isinf(coadd.variance[no_data]))
    assert np.all(np.isfinite(coadd.image[covered])) and np.all(coadd.variance[covered] > 0)
    rows = deep.inputs[deep.inputs.patch == patch.sequential_index]
    assert dict(zip(rows.input, rows.n_pixels)) == {i: n for i, n in counts.items() if n}
    assert rows.weight_fraction.sum() == pytest.approx(1.0)


def test_input_record(deep, calexps, skymap):
    rows = deep.inputs[deep.inputs.patch == patch_key(skymap, FULL_PATCH)[1]]
    assert list(rows.input) == [0, 1, 2, 3] and list(rows.visit) == [100, 101, 102, 103]
    scale = 10.0 ** ((COADD_ZERO_POINT - np.array([p[3] for p in POINTINGS])) / 2.5)
    np.testing.assert_allclose(rows.scale, scale)
    np.testing.assert_allclose(rows.weight, 1.0 / (np.array([np.median(c.variance)
                                                             for c in calexps]) * scale ** 2))
    sigma = np.array([p[2] for p in POINTINGS])
    np.testing.assert_allclose(rows.psf_fwhm, 2.3548 * sigma * PIXEL_SCALE, rtol=2e-3)
    coadd = deep.coadds[patch_key(skymap, FULL_PATCH)]
    assert [entry["visit"] for entry in coadd.metadata["inputs"]] == [100, 101, 102, 103]
    assert coadd.metadata["coaddName"] == "deep" and coadd.visit_info.band == "r"


def test_good_seeing_selects_sharp_inputs(calexps, skymap):
    by_fwhm = MakeCoaddConfig()
    by_fwhm.coaddName = "goodSeeing"
    by_fwhm.maxPsfFwhm = 0.7
    by_fraction = MakeCoaddConfig()
    by_fraction.coaddName = "goodSeeing"
    by_fraction.goodSeeingFraction = 0.5
    for config in (by_fwhm, by_fraction):
        result = MakeCoaddTask(config, threads=2).run(calexps, skymap, 0, FULL_PATCH)
        assert result.selected == [0, 1]
        assert sorted(result.inputs.input) == [0, 1]
        assert result.coadds[patch_key(skymap, FULL_PATCH)].metadata["coaddName"] == \
            "goodSeeing"


def test_meanclip_rejects_an_outlier_and_keeps_stars(calexps, skymap, stars, deep):
    hit = calexps[1].copy()
    tract = skymap[0]
    patch = tract.patch(FULL_PATCH)
    x_hit, y_hit = (int(round(float(v))) for v in
                    hit.wcs.world_to_pixel_values(*tract.wcs.pixel_to_world_values(640.0, 628.0)))
    hit.image[y_hit - 1:y_hit + 2, x_hit - 1:x_hit + 2] += 5000.0
    inputs = [calexps[0], hit, calexps[2], calexps[3]]
    config = MakeCoaddConfig()
    config.statistic = "MEANCLIP"
    clipped = MakeCoaddTask(config, threads=2).run(inputs, skymap, 0, FULL_PATCH)
    plain = MakeCoaddTask(threads=2).run(inputs, skymap, 0, FULL_PATCH)
    key = patch_key(skymap, FULL_PATCH)
    around = Box(635, 623, 11, 11)
    assert plain.coadds[key][around].image.max() > 300.0
    assert clipped.coadds[key][around].image.max() < 20.0
    assert clipped.coadds[key][around].mask.get("CLIPPED").any()
    x, y, _ = star_pixels(clipped.coadds[key], stars)
    keep = np.array([patch.outer_bbox.grown(-15).contains_point(a, b) for a, b in zip(x, y)])
    flux_clipped, _ = aperture(clipped.coadds[key], x[keep], y[keep], 12.0)
    flux_mean, _ = aperture(deep.coadds[key], x[keep], y[keep], 12.0)
    assert np.median(np.abs(flux_clipped / flux_mean - 1.0)) < 2e-3


def test_calexp_coadd_is_the_scaled_warp(calexps):
    skymap = simulated_skymap(patch_size=300, patch_border=20)
    calexp = calexps[1]
    result = MakeCalexpCoaddTask(threads=2).run(calexp, skymap)
    assert {tract for tract, _ in result.coadds} == {0, 1}
    scale = 10.0 ** ((COADD_ZERO_POINT - calexp.photo_calib.zero_point) / 2.5)
    for (tract_id, patch_id), coadd in result.coadds.items():
        tract = skymap[tract_id]
        warp = warp_exposure(calexp, tract.wcs, tract.patch(patch_id).outer_bbox)
        usable = ~warp.mask.get("NO_DATA")
        np.testing.assert_array_equal(coadd.mask.get("NO_DATA"), ~usable)
        np.testing.assert_allclose(coadd.image[usable], warp.image[usable] * scale,
                                   rtol=1e-6, atol=1e-6 * scale)
        np.testing.assert_allclose(coadd.variance[usable], warp.variance[usable] * scale ** 2,
                                   rtol=1e-6)
        x, y = coadd.bbox.center
        np.testing.assert_allclose(coadd.psf.computeKernelImage(x, y),
                                   warp.psf.computeKernelImage(x, y), atol=1e-6)
        assert coadd.metadata["coaddName"] == "calexp"
    assert set(result.inputs.input) == {0} and set(result.inputs.visit) == {101}


def one_line(error):
    return "\n" not in str(error.value)


def test_errors(calexps, skymap):
    task = MakeCoaddTask(threads=2)
    with pytest.raises(NoCoaddInputsError, match="patch") as error:
        task.run(calexps, skymap, 0, EMPTY_PATCH)
    assert one_line(error)
    for attribute, name in (("psf", "PSF"), ("wcs", "WCS"), ("photo_calib", "PhotoCalib")):
        broken = calexps[2].copy()
        setattr(broken, attribute, None)
        with pytest.raises(CoaddInputError, match=f"calexp 1 .*visit=102.* no {name}") as error:
            task.run([calexps[0], broken], skymap, 0, FULL_PATCH)
        assert one_line(error)
    for field, value in (("coaddName", "dcr"), ("statistic", "MEDIAN")):
        config = MakeCoaddConfig()
        setattr(config, field, value)
        with pytest.raises(CoaddError, match=f"unknown {field} '{value}'") as error:
            MakeCoaddTask(config)
        assert one_line(error)


def test_inputs_with_the_cards_of_a_wcs_coadd_as_with_its_astropy_wcs(calexps, skymap):
    # A plain image's WCS is its cards (CardWcs): the same coadd as with the WCS they make.
    def with_wcs(calexp, wcs):
        copy = calexp.copy()
        copy.wcs = wcs
        return copy

    cards = [CardWcs(wcs_card_images(calexp.wcs.to_header()), (0, 0), f"calexp {index}")
             for index, calexp in enumerate(calexps)]
    task = MakeCoaddTask(threads=2)
    expected = task.run([with_wcs(c, w.astropy) for c, w in zip(calexps, cards)], skymap, 0,
                        FULL_PATCH).coadds[patch_key(skymap, FULL_PATCH)]
    found = task.run([with_wcs(c, w) for c, w in zip(calexps, cards)], skymap, 0,
                     FULL_PATCH).coadds[patch_key(skymap, FULL_PATCH)]
    for plane in ("image", "variance"):
        assert np.array_equal(getattr(found, plane), getattr(expected, plane), equal_nan=True)
    assert np.array_equal(found.mask.array, expected.mask.array)
    with pytest.raises(CoaddInputError, match="calexp 0 .*: WCS must be an astropy WCS or a "
                                              "CardWcs, not str$"):
        task.run([with_wcs(calexps[0], "TAN"), *calexps[1:]], skymap, 0, FULL_PATCH)


def test_input_masks_are_reencoded_in_the_coadd_planes():
    # An input whose plane table is not the coadd's: each plane keeps its pixels.
    source = MaskPlanes({"SAT": 0, "BAD": 1, "NO_DATA": 2, "CR": 4, "STREAK": 9})
    array = np.random.default_rng(1).integers(0, 2 ** 10, (16, 24), dtype=np.uint32)
    planes = MaskPlanes()
    translated = Mask(_translated_mask(Mask(array, source), planes), planes)
    assert planes.bit("STREAK") == len(DEFAULT_MASK_PLANES)
    for name in source:
        assert np.array_equal(translated.get(name), Mask(array, source).get(name))
    assert not (translated.array & ~MASK_DTYPE(planes.bitmask(list(source)))).any()
    same = Mask(array, planes)
    assert _translated_mask(same, planes) is array


def test_one_thread_gives_the_bits_of_two(calexps, skymap, deep):
    # A Parsl worker warps and combines on one thread (its OpenMP default), the campaign's
    # process on two: the threads share whole rows, so the coadds are the same bits.
    alone = MakeCoaddTask(threads=1).run(calexps, skymap, 0, [FULL_PATCH, EDGE_PATCH])
    assert alone.coadds.keys() == deep.coadds.keys()
    for key, coadd in deep.coadds.items():
        assert np.array_equal(alone.coadds[key].image, coadd.image, equal_nan=True)
        assert np.array_equal(alone.coadds[key].variance, coadd.variance, equal_nan=True)
        assert np.array_equal(alone.coadds[key].mask.array, coadd.mask.array)
