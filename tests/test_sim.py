"""Tests of `diffim.sim`: simulated science/template pairs and their truth."""
import math

import numpy as np
import pandas as pd
import pytest

from diffim import SimulationError
from diffim.sim import PairConfig, simulate_pair
from diffim.sim.noise import sky_plane
from diffim.sim.render import galaxy_forms, galaxy_half_size, render_sources

SMALL = dict(size=384, n_stars=60, n_transients=30, n_variables=6, isolation_radius=15.0)


@pytest.fixture(scope="module")
def pair():
    return simulate_pair(PairConfig(seed=11, **SMALL))


@pytest.fixture(scope="module")
def bright_pair():
    """Bright, unsaturated, well separated stars; a strong PSF gradient; no defects."""
    return simulate_pair(PairConfig(
        size=384, seed=5, n_stars=100, star_flux_min=3.0e4, star_flux_max=6.0e4,
        galaxy_fraction=0.0, n_transients=0, n_variables=0, n_cosmic_rays=0, n_bad_columns=0,
        science_fwhm_variation=0.3, template_fwhm_variation=0.2, isolation_radius=24.0))


def _role_columns(role):
    return ("x", "y", "science_flux") if role == "science" else (
        "template_x", "template_y", "template_flux")


def _truth_model(pair, role):
    """Render the truth table into ``role``'s image with its PSF and WCS."""
    exposure = getattr(pair, role)
    x_name, y_name, flux_name = _role_columns(role)
    truth = pair.truth
    x, y = truth[x_name].to_numpy(), truth[y_name].to_numpy()
    forms = np.full((len(truth), 3), np.nan)
    half_sizes = np.zeros(len(truth), dtype=int)
    galaxy = truth["half_light_radius"].to_numpy() > 0
    if galaxy.any():
        forms[galaxy], major = galaxy_forms(
            exposure.wcs, x[galaxy], y[galaxy], truth["half_light_radius"].to_numpy()[galaxy],
            truth["axis_ratio"].to_numpy()[galaxy], truth["position_angle"].to_numpy()[galaxy])
        half_sizes[galaxy] = galaxy_half_size(major, exposure.psf.size)
    return render_sources(exposure.bbox, exposure.psf, x, y, truth[flux_name].to_numpy(),
                          forms, half_sizes).model


def _aperture(exposure, x, y, radius):
    """Sum and variance of the image within ``radius`` of (x, y)."""
    rows, columns = np.indices(exposure.shape)
    inside = (columns - x) ** 2 + (rows - y) ** 2 <= radius ** 2
    return exposure.image[inside].sum(dtype=np.float64), \
        exposure.variance[inside].sum(dtype=np.float64), inside


def _psf_fraction(exposure, x, y, radius):
    """Fraction of the PSF at (x, y) within ``radius`` (the aperture-loss correction)."""
    stamp, box = exposure.psf.computeImage(x, y)
    rows, columns = np.indices(stamp.shape)
    inside = (columns + box.x0 - x) ** 2 + (rows + box.y0 - y) ** 2 <= radius ** 2
    return stamp[inside].sum()


def _clean(truth):
    """Isolated sources away from defects and saturation, in both images."""
    return truth[truth.is_isolated & ~truth.near_defect & ~truth.saturated]


# --- determinism -------------------------------------------------------------------------

def test_same_seed_gives_identical_pair_whatever_the_threads(pair):
    again = simulate_pair(PairConfig(seed=11, threads=1, **SMALL))
    for role in ("science", "template"):
        first, second = getattr(pair, role), getattr(again, role)
        assert np.array_equal(first.image, second.image)
        assert np.array_equal(first.variance, second.variance)
        assert first.mask == second.mask
        assert first.metadata == second.metadata
    pd.testing.assert_frame_equal(pair.truth, again.truth)
    pd.testing.assert_frame_equal(pair.cosmic_rays, again.cosmic_rays)


def test_different_seed_gives_different_pair(pair):
    other = simulate_pair(PairConfig(seed=12, **SMALL))
    assert not np.array_equal(pair.science.image, other.science.image)
    assert not np.allclose(pair.truth["ra"], other.truth["ra"])


# --- truth and pixels ---------------------------------------------------------------------

def test_truth_table_columns_and_kinds(pair):
    truth = pair.truth
    assert truth["id"].is_unique
    counts = truth["kind"].value_counts()
    assert counts["star"] == 60 and counts["transient"] == 30 and counts["variable"] == 6
    assert counts["galaxy"] == round(0.3 * 60)
    transients = truth[truth.kind == "transient"]
    assert (transients.template_flux == 0).all()
    assert np.allclose(transients.difference_flux, transients.science_flux)
    static = truth[truth.kind.isin(["star", "galaxy"])]
    assert (static.difference_flux == 0).all()
    assert np.allclose(static.science_flux, pair.flux_ratio * static.template_flux, rtol=1e-12)
    variables = truth[truth.kind == "variable"]
    ratio = variables.science_flux / (pair.flux_ratio * variables.template_flux)
    magnitude_change = np.abs(2.5 * np.log10(ratio))
    assert ((magnitude_change >= 0.2 - 1e-9) & (magnitude_change <= 1.0 + 1e-9)).all()


def test_isolated_transient_flux_is_in_the_pixels(pair):
    science = pair.science
    transients = _clean(pair.truth)
    transients = transients[(transients.kind == "transient") & transients.in_science]
    assert len(transients) >= 4
    radius = 2.5 * science.psf.computeFwhm(*science.bbox.center)
    pulls = []
    for row in transients.itertuples():
        total, variance, _ = _aperture(science, row.x, row.y, radius)
        expected = row.science_flux * _psf_fraction(science, row.x, row.y, radius)
        pulls.append((total - expected) / math.sqrt(variance))
    pulls = np.array(pulls)
    assert np.all(np.abs(pulls) < 4.0), pulls
    assert abs(pulls.mean()) < 3.0 / math.sqrt(len(pulls))


@pytest.mark.parametrize("role", ["science", "template"])
def test_image_minus_truth_model_is_noise(pair, role):
    """Every injected photon is accounted for by the truth table, and nothing else is there."""
    exposure = getattr(pair, role)
    residual = exposure.image - _truth_model(pair, role)
    good = exposure.mask.array == 0
    pulls = residual[good] / np.sqrt(exposure.variance[good])
    assert abs(pulls.mean()) < 0.01
    assert abs(pulls.std() - 1.0) < 0.01


# --- noise and photometry ----------------------------------------------------------------

@pytest.mark.parametrize("role", ["science", "template"])
def test_empty_sky_noise_matches_variance_plane(pair, role):
    exposure = getattr(pair, role)
    model = _truth_model(pair, role)
    empty = (exposure.mask.array == 0) & (model < 0.01 * np.sqrt(exposure.variance))
    assert empty.sum() > 0.3 * empty.size
    pulls = exposure.image[empty] / np.sqrt(exposure.variance[empty])
    assert abs(pulls.std() - 1.0) < 0.03
    assert abs(pulls.mean()) < 0.01
    level = exposure.metadata["sim_sky_level"]
    gradient = exposure.metadata["sim_sky_gradient"]
    gain, read_noise = exposure.metadata["sim_gain"], exposure.metadata["sim_read_noise"]
    expected = (sky_plane(exposure.bbox, level, gradient) + model) / gain \
        + (read_noise / gain) ** 2
    assert np.allclose(exposure.variance, expected, rtol=1e-6)


def test_star_flux_ratio_is_the_configured_transparency():
    pair = simulate_pair(PairConfig(
        size=384, seed=8, n_stars=55, star_flux_min=5.0e4, star_flux_max=1.0e5,
        galaxy_fraction=0.0, n_transients=0, n_variables=0, flux_ratio=0.85,
        isolation_radius=26.0))
    truth = _clean(pair.truth)
    stars = truth[(truth.kind == "star") & truth.in_science & truth.in_template]
    assert len(stars) >= 8
    flux, variance = {}, {}
    for role in ("science", "template"):
        exposure = getattr(pair, role)
        x_name, y_name, _ = _role_columns(role)
        radius = 2.5 * exposure.psf.computeFwhm(*exposure.bbox.center)
        flux[role] = variance[role] = 0.0
        for x, y in zip(stars[x_name], stars[y_name]):
            total, total_variance, _ = _aperture(exposure, x, y, radius)
            fraction = _psf_fraction(exposure, x, y, radius)
            flux[role] += total / fraction
            variance[role] += total_variance / fraction ** 2
    ratio = flux["science"] / flux["template"]
    sigma = ratio * math.sqrt(sum(variance[role] / flux[role] ** 2 for role in flux))
    assert sigma < 0.004 * ratio
    assert abs(ratio - 0.85) < 4.0 * sigma
    zero_points = pair.science.photo_calib.zero_point - pair.template.photo_calib.zero_point
    assert zero_points == pytest.approx(2.5 * math.log10(0.85), abs=1e-12)
    assert pair.science.metadata["sim_flux_ratio"] == pair.flux_ratio == 0.85


# --- masks -------------------------------------------------------------------------------

def test_saturation_sets_sat_with_bleed_trails():
    config = PairConfig(size=256, seed=3, n_stars=30, star_flux_min=1e5, star_flux_max=1e7,
                        saturation=30000.0, n_cosmic_rays=0, n_bad_columns=0)
    pair = simulate_pair(config)
    science = pair.science
    sky = sky_plane(science.bbox, 800.0, (0.05, -0.03))
    raw = science.image.astype(np.float64) + sky
    saturated = science.mask.get("SAT")
    assert saturated.any()
    assert np.allclose(raw[saturated], 30000.0, rtol=1e-6)
    assert np.all(raw[~saturated] < 30000.0)
    # Bleed trails: SAT pixels whose own expected level is far below saturation,
    # each in a column that also holds a saturated core.
    expected = _truth_model(pair, "science") + sky
    core = saturated & (expected > 30000.0)
    trail = saturated & (expected < 0.5 * 30000.0)
    assert trail.sum() > 10
    assert np.all(core.any(axis=0)[np.nonzero(trail)[1]])


def test_saturated_truth_flag(pair):
    config = PairConfig(size=256, seed=3, n_stars=40, star_flux_min=1e5, star_flux_max=3e6,
                        saturation=30000.0)
    truth = simulate_pair(config).truth
    assert truth.saturated.any()
    assert (truth.saturated == (truth.science_saturated | truth.template_saturated)).all()
    brightest = truth[truth.in_science].sort_values("science_flux").iloc[-1]
    assert brightest.science_saturated


def test_bad_columns_and_cosmic_rays_are_masked(pair):
    science = pair.science
    columns = science.metadata["sim_bad_columns"]
    assert len(columns) == 2
    expected = np.zeros(science.shape, dtype=bool)
    for x, y_start, y_stop in columns:
        expected[y_start:y_stop, x] = True
    assert np.array_equal(science.mask.get("BAD"), expected)
    tracks = pair.cosmic_rays[pair.cosmic_rays.image == "science"]
    assert len(tracks) == science.metadata["sim_n_cosmic_rays"] == round(30 * 384 ** 2 / 1e6)
    cosmic = science.mask.get("CR")
    assert 0 < cosmic.sum() <= tracks.n_pixels.sum()
    for row in tracks.itertuples():
        assert cosmic[round(row.y_start), round(row.x_start)]
        assert cosmic[round(row.y_end), round(row.x_end)]
    # Repaired like a calexp: interpolated and flagged INTRP.
    assert np.all(science.mask.get("INTRP")[cosmic & ~science.mask.get("SAT")])
    assert not pair.template.mask.get("CR").any()


def test_unrepaired_cosmic_rays_stand_out():
    exposure = simulate_pair(PairConfig(size=256, seed=4, n_stars=10, n_cosmic_rays=20,
                                        repair_defects=False)).science
    cosmic = exposure.mask.get("CR") & ~exposure.mask.get("SAT")
    pulls = exposure.image[cosmic] / np.sqrt(exposure.variance[cosmic])
    assert np.median(pulls) > 10.0
    assert not exposure.mask.get("INTRP").any()


# --- PSF ---------------------------------------------------------------------------------

def _sigma(exposure, x, y, radius):
    """Determinant radius of the image within ``radius`` of (x, y) (unweighted moments)."""
    _, _, inside = _aperture(exposure, x, y, radius)
    rows, columns = np.nonzero(inside)
    weights = exposure.image[rows, columns].astype(np.float64)
    total = weights.sum()
    cx, cy = (weights @ columns) / total, (weights @ rows) / total
    ixx = (weights @ (columns - cx) ** 2) / total
    iyy = (weights @ (rows - cy) ** 2) / total
    ixy = (weights @ ((columns - cx) * (rows - cy))) / total
    return (ixx * iyy - ixy ** 2) ** 0.25


def test_psf_width_varies_across_the_detector_as_prescribed(bright_pair):
    science = bright_pair.science
    size = bright_pair.config.size
    truth = _clean(bright_pair.truth)
    uv_sum = (truth.x + truth.y) / ((size - 1) / 2.0) - 2.0
    assert np.allclose(truth.science_fwhm, 5.0 * (1.0 + 0.3 * uv_sum / 2.0), rtol=1e-9)
    low = truth[uv_sum < -0.7]
    high = truth[uv_sum > 0.7]
    assert len(low) >= 3 and len(high) >= 3
    radius = 10.0

    def median_ratio(stars):
        # Measured moments over those of the noise-free PSF in the same aperture:
        # 1 when the stars have the width the PSF model prescribes there.
        ratios = []
        for row in stars.itertuples():
            stamp, box = science.psf.computeImage(row.x, row.y)
            model = science.copy()
            model.image[...] = 0.0
            overlap = box.intersection(science.bbox)
            model.image[overlap.slices_in(science.bbox)] = stamp[overlap.slices_in(box)]
            ratios.append(_sigma(science, row.x, row.y, radius)
                          / _sigma(model, row.x, row.y, radius))
        return np.median(ratios)

    def median_sigma(stars):
        return np.median([_sigma(science, row.x, row.y, radius) for row in stars.itertuples()])

    assert median_ratio(low) == pytest.approx(1.0, abs=0.03)
    assert median_ratio(high) == pytest.approx(1.0, abs=0.03)
    prescribed = np.median(high.science_fwhm) / np.median(low.science_fwhm)
    assert prescribed > 1.3
    # Aperture-truncated moments grow less than the FWHM does, but clearly.
    assert median_sigma(high) / median_sigma(low) > 1.0 + 0.5 * (prescribed - 1.0)


def test_galaxies_are_extended():
    pair = simulate_pair(PairConfig(
        size=256, seed=6, n_stars=30, galaxy_fraction=1.0, galaxy_half_light_radius=1.0,
        star_flux_min=2.0e4, star_flux_max=4.0e4, n_transients=0, n_variables=0,
        isolation_radius=20.0))
    truth = _clean(pair.truth)
    truth = truth[truth.in_template]

    def sigmas(kind):
        return [_sigma(pair.template, row.template_x, row.template_y, 8.0)
                for row in truth[truth.kind == kind].itertuples()]

    galaxies, stars = sigmas("galaxy"), sigmas("star")
    assert len(galaxies) >= 3 and len(stars) >= 3
    assert np.median(galaxies) > 1.3 * np.median(stars)


# --- WCS ---------------------------------------------------------------------------------

def test_truth_sky_positions_map_to_pixels(pair):
    truth = pair.truth
    for role, (x_name, y_name) in (("science", ("x", "y")),
                                   ("template", ("template_x", "template_y"))):
        x, y = getattr(pair, role).sky_to_pixel(truth.ra.to_numpy(), truth.dec.to_numpy())
        assert np.allclose(x, truth[x_name], atol=1e-6)
        assert np.allclose(y, truth[y_name], atol=1e-6)
    # Default template: the science pixel grid.
    assert np.allclose(truth.template_x, truth.x, atol=1e-6)
    scale = np.sqrt(abs(np.linalg.det(pair.science.wcs.pixel_scale_matrix))) * 3600.0
    assert scale == pytest.approx(0.2, rel=1e-9)


def test_template_offset_and_rotation_move_the_template_grid():
    config = PairConfig(size=256, seed=9, n_stars=60, star_flux_min=2e4, star_flux_max=5e4,
                        template_offset=(12.5, -7.25), template_rotation=4.0)
    pair = simulate_pair(config)
    truth = pair.truth
    centre = np.array(pair.science.bbox.center)
    angle = math.radians(4.0)
    rotation = np.array([[math.cos(angle), -math.sin(angle)],
                         [math.sin(angle), math.cos(angle)]])
    expected = centre + np.array([12.5, -7.25]) + (
        np.column_stack([truth.x, truth.y]) - centre) @ rotation.T
    assert np.allclose(expected, truth[["template_x", "template_y"]], atol=1e-6)
    # The stars are drawn where the template WCS puts them.
    stars = _clean(truth)
    stars = stars[(stars.kind == "star") & stars.in_template]
    assert len(stars) >= 5
    template = pair.template
    for row in stars.itertuples():
        _, _, inside = _aperture(template, row.template_x, row.template_y, 6.0)
        rows, columns = np.nonzero(inside)
        weights = template.image[rows, columns].astype(np.float64)
        assert weights @ columns / weights.sum() == pytest.approx(row.template_x, abs=0.1)
        assert weights @ rows / weights.sum() == pytest.approx(row.template_y, abs=0.1)


def test_distortion_displaces_the_corners():
    flat = simulate_pair(PairConfig(size=128, seed=2, n_stars=5, n_transients=0, n_variables=0))
    bent = simulate_pair(PairConfig(size=128, seed=2, n_stars=5, n_transients=0, n_variables=0,
                                    distortion=1.5))
    ra, dec = flat.science.pixel_to_sky(127.0, 127.0)
    x, y = bent.science.sky_to_pixel(ra, dec)
    assert math.hypot(x - 127.0, y - 127.0) == pytest.approx(1.5, rel=0.05)
    centre_ra, centre_dec = flat.science.pixel_to_sky(63.5, 63.5)
    assert np.allclose(bent.science.sky_to_pixel(centre_ra, centre_dec), (63.5, 63.5))


# --- descriptors and bad configs -----------------------------------------------------------

def test_exposures_carry_calexp_descriptors(pair):
    science, template = pair.science, pair.template
    assert science.visit_info.exposure_time == 30.0 and science.visit_info.band == "r"
    assert science.visit_info.mjd > template.visit_info.mjd
    assert science.metadata["sim_background_subtracted"] is True
    assert science.psf.computeFwhm(*science.bbox.center) == pytest.approx(5.0)
    assert template.psf.computeFwhm(*template.bbox.center) == pytest.approx(3.5)
    assert science.image.dtype == np.float32 and science.variance.dtype == np.float32


@pytest.mark.parametrize("changes, field", [
    (dict(size=0), "size"),
    (dict(size=-5), "size"),
    (dict(n_stars=-1), "n_stars"),
    (dict(n_transients=2.5), "n_transients"),
    (dict(gain=0.0), "gain"),
    (dict(flux_ratio=-1.0), "flux_ratio"),
    (dict(star_flux_min=100.0, star_flux_max=10.0), "star_flux_max"),
    (dict(psf_model="airy"), "psf_model"),
    (dict(template_offset=(1.0,)), "template_offset"),
    (dict(science_sky=float("nan")), "science_sky"),
    (dict(read_noise=-1.0), "read_noise"),
    (dict(seed="x"), "seed"),
])
def test_bad_config_names_the_field(changes, field):
    with pytest.raises(SimulationError, match=f"PairConfig.{field} "):
        PairConfig(**changes)


def test_simulate_pair_rejects_a_non_config():
    with pytest.raises(SimulationError, match="PairConfig"):
        simulate_pair({"size": 64})
