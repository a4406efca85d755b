"""Dipole fitting and classification (the stack's known answer: +-2 px offsets)."""
import numpy as np
import pytest

from _measure_data import add_point, match, noise_exposure
from diffim.measure import DetectAndMeasureConfig, DetectAndMeasureTask
from diffim.geom import Box
from diffim.measure.dipole import classify_dipoles, fit_dipole

P = "ip_diffim_DipoleFit_"
SIZE = 512
FLUX = 3000.0
SEPARATIONS = [2.0, 3.0, 4.0]
ANGLES = [0.0, 0.7, 2.0, -2.5]


@pytest.fixture(scope="module")
def dipoles():
    """Dipoles of separation 2-4 px at several orientations, on a 4x3 grid of positions."""
    difference = noise_exposure(SIZE, seed=11)
    truth = []
    for i, separation in enumerate(SEPARATIONS):
        for j, angle in enumerate(ANGLES):
            cx, cy = 80.0 + 110 * j + 0.3 * i, 100.0 + 140 * i + 0.17 * j
            dx, dy = 0.5 * separation * np.cos(angle), 0.5 * separation * np.sin(angle)
            add_point(difference, cx + dx, cy + dy, FLUX)
            add_point(difference, cx - dx, cy - dy, -FLUX)
            truth.append((cx, cy, separation, angle))
    task = DetectAndMeasureTask()
    result = task.run(difference, noise_exposure(SIZE, seed=12), difference)
    return np.array(truth), task, result


def rows_of(dipoles):
    truth, _, result = dipoles
    catalog = result.diaSources
    found = match(catalog, truth[:, 0], truth[:, 1], radius=1.0)
    assert (found >= 0).all()
    return truth, catalog.iloc[found]


def test_each_dipole_is_one_classified_source(dipoles):
    truth, task, result = dipoles
    _, rows = rows_of(dipoles)
    assert rows["id"].nunique() == len(truth)
    assert rows[f"{P}classification"].all()
    # Anything else is a noise peak (~1 per Mpx at 5 sigma), not a split dipole.
    others = result.diaSources[~result.diaSources["id"].isin(rows["id"])]
    assert len(others) <= 1 and (others["base_FootprintArea_value"] < 50).all()
    assert task.metadata["nDipoles"] == len(truth)


def test_separation_within_10_percent(dipoles):
    truth, rows = rows_of(dipoles)
    error = rows[f"{P}separation"].to_numpy() / truth[:, 2] - 1
    print("separation errors (%):", np.round(100 * error, 2))
    assert np.abs(error).max() < 0.10


def test_fluxes_within_10_percent(dipoles):
    _, rows = rows_of(dipoles)
    for lobe in ("pos", "neg"):
        error = rows[f"{P}{lobe}_instFlux"].to_numpy() / FLUX - 1
        print(f"{lobe} flux errors (%):", np.round(100 * error, 2))
        assert np.abs(error).max() < 0.10
        # The quoted errors include the flux-separation degeneracy.
        assert (np.abs(rows[f"{P}{lobe}_instFlux"] - FLUX) < 4 * rows[f"{P}{lobe}_instFluxErr"]).all()


def test_orientation_and_lobe_positions(dipoles):
    truth, rows = rows_of(dipoles)
    angle_error = np.angle(np.exp(1j * (rows[f"{P}orientation"].to_numpy() - truth[:, 3])))
    assert np.abs(angle_error).max() < 0.1
    mid_x = 0.5 * (rows[f"{P}pos_centroid_x"] + rows[f"{P}neg_centroid_x"])
    mid_y = 0.5 * (rows[f"{P}pos_centroid_y"] + rows[f"{P}neg_centroid_y"])
    assert np.hypot(mid_x - truth[:, 0], mid_y - truth[:, 1]).max() < 0.2
    assert np.allclose(rows["slot_Centroid_x"], mid_x) and np.allclose(rows["slot_Centroid_y"], mid_y)


def test_chi2_per_dof_near_one(dipoles):
    _, rows = rows_of(dipoles)
    assert rows[f"{P}chi2dof"].between(0.7, 1.4).all()


def test_point_sources_are_not_fitted():
    difference = noise_exposure(256, seed=13)
    add_point(difference, 100.0, 120.0, FLUX)
    add_point(difference, 180.0, 60.0, -FLUX)
    result = DetectAndMeasureTask().run(difference, noise_exposure(256, seed=14), difference)
    catalog = result.diaSources
    assert len(catalog) == 2
    assert not catalog[f"{P}classification"].any()
    assert catalog[f"{P}pos_instFlux"].isna().all()


def test_unbalanced_pair_is_not_a_dipole():
    """A bright source with a faint negative neighbour: fitted, but one lobe dominates."""
    difference = noise_exposure(256, seed=15)
    add_point(difference, 128.0, 128.0, 20000.0)
    add_point(difference, 125.0, 128.0, -1500.0)
    result = DetectAndMeasureTask().run(difference, noise_exposure(256, seed=16), difference)
    row = result.diaSources.iloc[0]
    assert np.isfinite(row[f"{P}pos_instFlux"])
    assert not row[f"{P}classification"]


def test_dipole_fitting_switch():
    difference = noise_exposure(256, seed=17)
    add_point(difference, 128.0, 128.0, FLUX)
    add_point(difference, 125.0, 128.0, -FLUX)
    config = DetectAndMeasureConfig()
    config.doDipoleFitting = False
    task = DetectAndMeasureTask(config=config)
    catalog = task.run(difference, noise_exposure(256, seed=18), difference).diaSources
    assert len(catalog) == 1 and catalog[f"{P}pos_instFlux"].isna().all()
    assert task.metadata["nDipoleFits"] == 0


def test_classification_rules():
    pos = np.array([1000.0, 1000.0, 1000.0, 30.0])
    neg = np.array([900.0, 100.0, 1000.0, 30.0])
    err = np.array([10.0, 10.0, 10.0, 10.0])
    assert classify_dipoles(pos, err, neg, err, 7.07, 0.65).tolist() == [True, False, True, False]


def test_fit_does_not_depend_on_where_the_image_lies():
    """The same pixels at parent origin (0, 0) and (4000, 3000) give the same fit, shifted.

    scipy's finite-difference step is relative to the parameters: on parent
    positions it was 1e-3 of the coordinate (4 px at x = 4000), on the lobes'
    offsets from their starts it is 1e-3 px wherever the image lies.
    """
    exposure = noise_exposure(64, seed=5)
    add_point(exposure, 31.5, 30.2, FLUX)
    add_point(exposure, 28.7, 31.9, -FLUX)
    usable = np.ones(exposure.shape, bool)
    fits = []
    for x0, y0 in ((0, 0), (4000, 3000)):
        bbox = Box(x0, y0, 64, 64)
        fits.append(fit_dipole(exposure.image, exposure.variance, usable, bbox, exposure.psf,
                               Box(x0 + 24, y0 + 25, 12, 12), (x0 + 31.0, y0 + 30.0),
                               (x0 + 29.0, y0 + 32.0), 5))
    near, far = fits
    assert far.pos_flux == pytest.approx(near.pos_flux, rel=1e-6)
    assert far.neg_flux == pytest.approx(near.neg_flux, rel=1e-6)
    assert far.pos_x - 4000 == pytest.approx(near.pos_x, abs=1e-6)
    assert far.neg_y - 3000 == pytest.approx(near.neg_y, abs=1e-6)
    assert near.separation == pytest.approx(np.hypot(2.8, 1.7), abs=0.2)
