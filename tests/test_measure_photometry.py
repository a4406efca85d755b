"""Aperture, PSF and forced photometry, moments, pixel flags and sky sources."""
import numpy as np
import pytest

from _measure_data import PSF_SIGMA, add_point, make_task, match, noise_exposure
from diffim.measure.stamps import psf_models

SIZE = 256


def test_aperture_flux_of_isolated_point_source():
    difference = noise_exposure(SIZE, seed=21)
    add_point(difference, 128.4, 101.7, 20000.0)
    row = make_task().run(difference, noise_exposure(SIZE, seed=22), difference).diaSources.iloc[0]
    # A Gaussian of sigma 1.5 px puts all but exp(-32) of its flux inside r = 12 px:
    # the aperture correction is 1, so the aperture flux equals the flux within its noise.
    aperture = "base_CircularApertureFlux_12_0_instFlux"
    assert row[f"{aperture}Err"] == pytest.approx(np.sqrt(np.pi * 144), rel=0.05)
    assert abs(row[aperture] - 20000.0) < 4 * row[f"{aperture}Err"]
    assert abs(row["base_PsfFlux_instFlux"] / 20000.0 - 1) < 0.01


def test_second_moments_of_a_point_source():
    difference = noise_exposure(SIZE, seed=23)
    add_point(difference, 90.0, 150.0, 50000.0)
    row = make_task().run(difference, noise_exposure(SIZE, seed=24), difference).diaSources.iloc[0]
    # Pixelisation adds 1/12 px^2 to the continuous PSF's sigma^2.
    expected = PSF_SIGMA ** 2 + 1.0 / 12
    assert row["slot_Shape_xx"] == pytest.approx(expected, rel=0.05)
    assert row["slot_Shape_yy"] == pytest.approx(expected, rel=0.05)
    assert abs(row["slot_Shape_xy"]) < 0.05
    assert not row["slot_Shape_flag"]


def test_forced_photometry_on_science_and_template():
    # As the stack's: ip_diffim_forced_PsfFlux on the science (direct) image,
    # ip_diffim_forced_template_PsfFlux on the matched template.
    difference = noise_exposure(SIZE, seed=25)
    template = noise_exposure(SIZE, seed=26)
    science = noise_exposure(SIZE, seed=29)
    positions = [(60.0, 70.0), (190.0, 80.0), (120.0, 190.0)]
    template_fluxes = [5000.0, 0.0, 12000.0]
    for (x, y), flux in zip(positions, template_fluxes):
        add_point(difference, x, y, 2000.0)
        add_point(template, x, y, flux)
        add_point(science, x, y, flux + 2000.0)
    catalog = make_task().run(science, template, difference).diaSources
    rows = catalog.iloc[match(catalog, *np.array(positions).T)]
    for prefix, expected in (("ip_diffim_forced_template", template_fluxes),
                             ("ip_diffim_forced", np.add(template_fluxes, 2000.0))):
        error = rows[f"{prefix}_PsfFlux_instFlux"].to_numpy() - expected
        assert (np.abs(error) < 4 * rows[f"{prefix}_PsfFlux_instFluxErr"]).all()
    assert (np.abs(rows["base_PsfFlux_instFlux"] - 2000.0)
            < 4 * rows["base_PsfFlux_instFluxErr"]).all()


def test_forced_photometry_leaves_out_excluded_template_pixels():
    """A template whose source core is NO_DATA and set to 1e6: the forced flux is that of
    the pixels around it, within its errors; without the plane, the core dominates it."""
    difference = noise_exposure(SIZE, seed=25)
    template = noise_exposure(SIZE, seed=26)
    add_point(difference, 100.0, 120.0, 2000.0)
    add_point(template, 100.0, 120.0, 5000.0)
    template.image[119:122, 99:102] = np.float32(1e6)
    core = np.zeros(template.shape, bool)
    core[119:122, 99:102] = True
    plain = make_task().run(template, template, difference).diaSources
    template.mask.set("NO_DATA", core)
    masked = make_task().run(template, template, difference).diaSources
    assert len(plain) == len(masked) == 1
    assert plain["ip_diffim_forced_template_PsfFlux_instFlux"][0] > 1e5
    flux = masked["ip_diffim_forced_template_PsfFlux_instFlux"][0]
    error = masked["ip_diffim_forced_template_PsfFlux_instFluxErr"][0]
    assert abs(flux - 5000.0) < 4 * error


def test_forced_photometry_draws_each_distinct_psf_once(monkeypatch):
    from diffim.measure import measurement
    from diffim.psf import GaussianPsf

    difference = noise_exposure(SIZE, seed=30)
    add_point(difference, 100.0, 120.0, 3000.0)
    science = noise_exposure(SIZE, seed=31)
    template = noise_exposure(SIZE, seed=32, sigma=2.5)
    drawn = []
    monkeypatch.setattr(measurement, "psf_models",
                        lambda psf, x, y: drawn.append(psf) or psf_models(psf, x, y))
    # The science PSF equals the difference's, another object: no stamps drawn for it.
    assert science.psf == difference.psf and science.psf is not difference.psf
    make_task().run(science, template, difference)
    assert drawn == [template.psf]
    # The template PSF equals the science one: drawn once, measured the same as one object.
    drawn.clear()
    science.psf = GaussianPsf(2.5)
    equal = make_task().run(science, template, difference).diaSources
    assert drawn == [science.psf]
    science.psf = template.psf
    same = make_task().run(science, template, difference).diaSources
    for prefix in ("ip_diffim_forced", "ip_diffim_forced_template"):
        for column in (f"{prefix}_PsfFlux_instFlux", f"{prefix}_PsfFlux_instFluxErr"):
            assert np.array_equal(equal[column], same[column])
    assert equal["ip_diffim_forced_PsfFlux_instFlux"].notna().all()


def test_forced_measurement_switch():
    difference = noise_exposure(SIZE, seed=27)
    add_point(difference, 128.0, 128.0, 2000.0)
    catalog = make_task(doForcedMeasurement=False).run(
        difference, noise_exposure(SIZE, seed=28), difference).diaSources
    assert catalog["ip_diffim_forced_template_PsfFlux_instFlux"].isna().all()
    assert np.isfinite(catalog["base_PsfFlux_instFlux"]).all()


def test_measurement_switch_keeps_positions_only():
    difference = noise_exposure(SIZE, seed=27)
    add_point(difference, 128.0, 128.0, 2000.0)
    catalog = make_task(doMeasurement=False, doDipoleFitting=False).run(
        difference, noise_exposure(SIZE, seed=28), difference).diaSources
    assert len(catalog) == 1 and catalog["base_PsfFlux_instFlux"].isna().all()
    assert abs(catalog["slot_Centroid_x"][0] - 128.0) < 0.5


def test_pixel_flags_follow_the_masks():
    difference = noise_exposure(SIZE, seed=29)
    sources = {"cr": (60.0, 60.0), "interpolated": (190.0, 60.0), "suspect": (60.0, 190.0),
               "sat_template": (190.0, 190.0), "clean": (128.0, 128.0), "edge": (3.0, 128.0)}
    for x, y in sources.values():
        add_point(difference, x, y, 5000.0)
    mask = difference.mask
    mask.set("CR", (slice(60, 61), slice(60, 61)))
    mask.set("INTRP", (slice(62, 63), slice(193, 194)))  # in the footprint, off the centre
    mask.set("SUSPECT", (slice(189, 192), slice(59, 62)))
    mask.set("SAT_TEMPLATE", (slice(188, 193), slice(188, 193)))
    mask.set("EDGE", (slice(None), slice(0, 2)))
    # The sat_template source's centre is all SAT_TEMPLATE: kept here to read its flags
    # (by default such a detection is removed, test_measure_detection).
    catalog = make_task(saturatedCentrePlanes=[]).run(
        difference, noise_exposure(SIZE, seed=30), difference).diaSources
    rows = catalog.iloc[match(catalog, *np.array(list(sources.values())).T)]
    rows.index = list(sources)
    assert rows.loc["cr", "base_PixelFlags_flag_cr"] and rows.loc["cr", "base_PixelFlags_flag_crCenter"]
    assert rows.loc["interpolated", "base_PixelFlags_flag_interpolated"]
    assert not rows.loc["interpolated", "base_PixelFlags_flag_interpolatedCenter"]
    assert rows.loc["suspect", "base_PixelFlags_flag_suspectCenter"]
    assert rows.loc["sat_template", "base_PixelFlags_flag_sat_template"]
    assert rows.loc["edge", "base_PixelFlags_flag_edge"]
    flag_columns = [c for c in catalog.columns if c.startswith("base_PixelFlags_flag_")]
    assert not rows.loc["clean", flag_columns].any()
    expected = {"cr": {"base_PixelFlags_flag_cr", "base_PixelFlags_flag_crCenter"},
                "interpolated": {"base_PixelFlags_flag_interpolated"},
                "suspect": {"base_PixelFlags_flag_suspect", "base_PixelFlags_flag_suspectCenter"},
                "sat_template": {"base_PixelFlags_flag_sat_template"}}
    for name, flags in expected.items():
        assert {c for c in flag_columns if rows.loc[name, c]} == flags, name


def test_sources_centred_on_no_data_are_removed():
    difference = noise_exposure(SIZE, seed=31)
    add_point(difference, 100.0, 100.0, 5000.0)
    add_point(difference, 180.0, 180.0, 5000.0)
    difference.mask.set("NO_DATA", (slice(178, 183), slice(178, 183)))
    task = make_task()
    catalog = task.run(difference, noise_exposure(SIZE, seed=32), difference).diaSources
    assert len(catalog) == 1 and abs(catalog["slot_Centroid_x"][0] - 100.0) < 1
    assert task.metadata["nRemovedBadFlags"] == 1


@pytest.fixture(scope="module")
def sky_run():
    difference = noise_exposure(512, seed=33)
    for x, y in [(100.0, 100.0), (300.0, 250.0), (400.0, 420.0)]:
        add_point(difference, x, y, 5000.0)
    template = noise_exposure(512, seed=34)
    task = make_task(doSkySources=True, skySources__nSources=20, skySources__seed=5)
    return difference, template, task, task.run(difference, template, difference)


def test_sky_sources_are_in_empty_sky(sky_run):
    difference, _, task, result = sky_run
    catalog = result.diaSources
    sky = catalog[catalog["sky_source"]]
    assert len(sky) == 20 and task.metadata["nSkySources"] == 20
    detected = result.subtractedMeasuredExposure.mask.get(["DETECTED", "DETECTED_NEGATIVE"])
    rows, cols = np.nonzero(detected)
    for x, y in zip(sky["slot_Centroid_x"], sky["slot_Centroid_y"]):
        assert np.hypot(cols - x, rows - y).min() >= 3 * 12 - 1
    # Sky photometry is noise: PSF fluxes scatter around zero by their errors.
    assert (np.abs(sky["base_PsfFlux_instFlux"] / sky["base_PsfFlux_instFluxErr"]) < 5).all()
    assert catalog["id"].tolist() == list(range(1, len(catalog) + 1))
    assert not catalog.loc[~catalog["sky_source"], "id"].isin(sky["id"]).any()


def test_sky_sources_reproducible_from_seed(sky_run):
    difference, template, task, result = sky_run
    again = task.run(difference, template, difference).diaSources
    assert again.equals(result.diaSources)
    other = make_task(doSkySources=True, skySources__nSources=20, skySources__seed=6).run(
        difference, template, difference).diaSources
    sky, other_sky = result.diaSources["sky_source"], other["sky_source"]
    assert not np.array_equal(result.diaSources.loc[sky, ["slot_Centroid_x", "slot_Centroid_y"]].to_numpy(),
                              other.loc[other_sky, ["slot_Centroid_x", "slot_Centroid_y"]].to_numpy())
