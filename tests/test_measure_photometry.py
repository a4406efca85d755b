"""Aperture, PSF and forced photometry, moments, pixel flags and sky sources."""
import numpy as np
import pytest

from _measure_data import PSF_SIGMA, add_point, make_task, match, noise_exposure

SIZE = 256


def test_aperture_flux_of_isolated_point_source():
    difference = noise_exposure(SIZE, seed=21)
    add_point(difference, 128.4, 101.7, 20000.0)
    row = make_task().run(difference, noise_exposure(SIZE, seed=22), difference).diaSources.iloc[0]
    # A Gaussian of sigma 1.5 px puts all but exp(-32) of its flux inside r = 12 px:
    # the aperture correction is 1, so apFlux equals the flux within its noise.
    assert row["apFluxErr"] == pytest.approx(np.sqrt(np.pi * 144), rel=0.05)
    assert abs(row["apFlux"] - 20000.0) < 4 * row["apFluxErr"]
    assert abs(row["psfFlux"] / 20000.0 - 1) < 0.01


def test_second_moments_of_a_point_source():
    difference = noise_exposure(SIZE, seed=23)
    add_point(difference, 90.0, 150.0, 50000.0)
    row = make_task().run(difference, noise_exposure(SIZE, seed=24), difference).diaSources.iloc[0]
    # Pixelisation adds 1/12 px^2 to the continuous PSF's sigma^2.
    expected = PSF_SIGMA ** 2 + 1.0 / 12
    assert row["ixx"] == pytest.approx(expected, rel=0.05)
    assert row["iyy"] == pytest.approx(expected, rel=0.05)
    assert abs(row["ixy"]) < 0.05
    assert not row["shape_flag"]


def test_forced_photometry_on_template_and_difference():
    difference = noise_exposure(SIZE, seed=25)
    template = noise_exposure(SIZE, seed=26)
    positions = [(60.0, 70.0), (190.0, 80.0), (120.0, 190.0)]
    template_fluxes = [5000.0, 0.0, 12000.0]
    for (x, y), flux in zip(positions, template_fluxes):
        add_point(difference, x, y, 2000.0)
        add_point(template, x, y, flux)
    catalog = make_task().run(difference, template, difference).diaSources
    rows = catalog.iloc[match(catalog, *np.array(positions).T)]
    error = rows["template_PsfFlux_instFlux"].to_numpy() - template_fluxes
    assert (np.abs(error) < 4 * rows["template_PsfFlux_instFluxErr"]).all()
    assert np.allclose(rows["forced_PsfFlux_instFlux"], rows["psfFlux"])
    assert (np.abs(rows["forced_PsfFlux_instFlux"] - 2000.0)
            < 4 * rows["forced_PsfFlux_instFluxErr"]).all()


def test_forced_measurement_switch():
    difference = noise_exposure(SIZE, seed=27)
    add_point(difference, 128.0, 128.0, 2000.0)
    catalog = make_task(doForcedMeasurement=False).run(
        difference, noise_exposure(SIZE, seed=28), difference).diaSources
    assert catalog["template_PsfFlux_instFlux"].isna().all()
    assert np.isfinite(catalog["psfFlux"]).all()


def test_measurement_switch_keeps_positions_only():
    difference = noise_exposure(SIZE, seed=27)
    add_point(difference, 128.0, 128.0, 2000.0)
    catalog = make_task(doMeasurement=False, doDipoleFitting=False).run(
        difference, noise_exposure(SIZE, seed=28), difference).diaSources
    assert len(catalog) == 1 and catalog["psfFlux"].isna().all()
    assert abs(catalog["x"][0] - 128.0) < 0.5


def test_pixel_flags_follow_the_masks():
    difference = noise_exposure(SIZE, seed=29)
    sources = {"cr": (60.0, 60.0), "interpolated": (190.0, 60.0), "suspect": (60.0, 190.0),
               "saturatedTemplate": (190.0, 190.0), "clean": (128.0, 128.0), "edge": (3.0, 128.0)}
    for x, y in sources.values():
        add_point(difference, x, y, 5000.0)
    mask = difference.mask
    mask.set("CR", (slice(60, 61), slice(60, 61)))
    mask.set("INTRP", (slice(62, 63), slice(193, 194)))  # in the footprint, off the centre
    mask.set("SUSPECT", (slice(189, 192), slice(59, 62)))
    mask.set("SAT_TEMPLATE", (slice(188, 193), slice(188, 193)))
    mask.set("EDGE", (slice(None), slice(0, 2)))
    catalog = make_task().run(difference, noise_exposure(SIZE, seed=30), difference).diaSources
    rows = catalog.iloc[match(catalog, *np.array(list(sources.values())).T)]
    rows.index = list(sources)
    assert rows.loc["cr", "pixelFlags_cr"] and rows.loc["cr", "pixelFlags_crCenter"]
    assert rows.loc["interpolated", "pixelFlags_interpolated"]
    assert not rows.loc["interpolated", "pixelFlags_interpolatedCenter"]
    assert rows.loc["suspect", "pixelFlags_suspectCenter"]
    assert rows.loc["saturatedTemplate", "pixelFlags_saturatedTemplate"]
    assert rows.loc["edge", "pixelFlags_edge"]
    flag_columns = [c for c in catalog.columns if c.startswith("pixelFlags_")]
    assert not rows.loc["clean", flag_columns].any()
    expected = {"cr": {"pixelFlags_cr", "pixelFlags_crCenter"},
                "interpolated": {"pixelFlags_interpolated"},
                "suspect": {"pixelFlags_suspect", "pixelFlags_suspectCenter"},
                "saturatedTemplate": {"pixelFlags_saturatedTemplate"}}
    for name, flags in expected.items():
        assert {c for c in flag_columns if rows.loc[name, c]} == flags, name


def test_sources_centred_on_no_data_are_removed():
    difference = noise_exposure(SIZE, seed=31)
    add_point(difference, 100.0, 100.0, 5000.0)
    add_point(difference, 180.0, 180.0, 5000.0)
    difference.mask.set("NO_DATA", (slice(178, 183), slice(178, 183)))
    task = make_task()
    catalog = task.run(difference, noise_exposure(SIZE, seed=32), difference).diaSources
    assert len(catalog) == 1 and abs(catalog["x"][0] - 100.0) < 1
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
    for x, y in zip(sky["x"], sky["y"]):
        assert np.hypot(cols - x, rows - y).min() >= 3 * 12 - 1
    # Sky photometry is noise: PSF fluxes scatter around zero by their errors.
    assert (np.abs(sky["psfFlux"] / sky["psfFluxErr"]) < 5).all()
    assert catalog["id"].tolist() == list(range(1, len(catalog) + 1))
    assert not catalog.loc[~catalog["sky_source"], "id"].isin(sky["id"]).any()


def test_sky_sources_reproducible_from_seed(sky_run):
    difference, template, task, result = sky_run
    again = task.run(difference, template, difference).diaSources
    assert again.equals(result.diaSources)
    other = make_task(doSkySources=True, skySources__nSources=20, skySources__seed=6).run(
        difference, template, difference).diaSources
    sky, other_sky = result.diaSources["sky_source"], other["sky_source"]
    assert not np.array_equal(result.diaSources.loc[sky, ["x", "y"]].to_numpy(),
                              other.loc[other_sky, ["x", "y"]].to_numpy())
