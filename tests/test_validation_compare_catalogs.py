"""Catalogue comparison on real DIA-source catalogues: known alterations, known answers."""
import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from diffim.measure import DetectAndMeasureTask
from diffim.measure.schema import empty_catalog
from diffim.sim import PairConfig, simulate_pair
from diffim.subtract import AlardLuptonSubtractTask
from validation.compare import Tolerances, compare_catalogs
from validation.errors import ValidationError
from validation.model import Verdict


@pytest.fixture(scope="module")
def dia_sources():
    """The DIA sources of a small simulated pair (about 30 rows, every schema column)."""
    pair = simulate_pair(PairConfig(size=384, seed=3, n_transients=15, star_density=600))
    subtraction = AlardLuptonSubtractTask().run(pair.template, pair.science)
    catalog = DetectAndMeasureTask().run(pair.science, subtraction.matchedTemplate,
                                         subtraction.difference).diaSources
    assert len(catalog) >= 10 and catalog["ip_diffim_DipoleFit_chi2dof"].isna().any()
    return catalog


@pytest.fixture
def pair(dia_sources):
    return dia_sources.copy(), dia_sources.copy()


def differing_columns(comparison):
    return {name for name, column in comparison.details["columns"].items() if column["n_differing"]}


def test_identical_catalogues_are_identical(pair, tmp_path):
    a, b = pair
    comparison = compare_catalogs(a, b, artifact_dir=tmp_path)
    assert comparison.verdict is Verdict.IDENTICAL
    assert comparison.kind == "catalog" and comparison.product == "diaSrc"
    assert comparison.metrics["n_matched"] == len(a) and comparison.metrics["matched_fraction"] == 1
    assert differing_columns(comparison) == set()
    assert comparison.artifacts == {}
    assert comparison.summary.startswith("identical")


def test_empty_catalogues_are_identical():
    comparison = compare_catalogs(empty_catalog(), empty_catalog())
    assert comparison.verdict is Verdict.IDENTICAL
    assert comparison.metrics["n_a"] == comparison.metrics["n_b"] == 0


def test_flux_changed_by_ten_sigma_is_different(pair):
    a, b = pair
    b.loc[4, "base_PsfFlux_instFlux"] += 10.0 * b.loc[4, "base_PsfFlux_instFluxErr"]
    comparison = compare_catalogs(a, b)
    assert comparison.verdict is Verdict.DIFFERENT
    flux = comparison.details["columns"]["base_PsfFlux_instFlux"]
    assert flux["class"] == "flux" and flux["unit"] == "sigma"
    assert flux["measure"] == pytest.approx(10.0, rel=1e-9)
    assert flux["n_differing"] == 1 and flux["outside"]
    assert differing_columns(comparison) == {"base_PsfFlux_instFlux"}
    assert "base_PsfFlux_instFlux 10 sigma" in comparison.summary


def test_flux_changed_by_a_tenth_of_sigma_is_within_tolerance(pair, tmp_path):
    a, b = pair
    b.loc[4, "base_CircularApertureFlux_12_0_instFlux"] -= 0.1 * b.loc[4, "base_CircularApertureFlux_12_0_instFluxErr"]
    comparison = compare_catalogs(a, b, artifact_dir=tmp_path)
    assert comparison.verdict is Verdict.WITHIN_TOLERANCE
    assert comparison.metrics["column.base_CircularApertureFlux_12_0_instFlux.measure"] == pytest.approx(0.1, rel=1e-9)
    matched = pd.read_parquet(comparison.artifacts["matched"])
    assert len(matched) == len(a)
    row = matched.index[matched["id_a"] == a.loc[4, "id"]][0]
    assert matched.loc[row, "base_CircularApertureFlux_12_0_instFlux_diff"] == pytest.approx(0.1, rel=1e-9)
    assert (matched["base_CircularApertureFlux_12_0_instFlux_diff"].drop(index=row) == 0).all()
    x, y = comparison.details["match"]["columns"]  # a's position of each pair, to find it
    assert (matched.loc[row, f"{x}_a"], matched.loc[row, f"{y}_a"]) == (a.loc[4, x], a.loc[4, y])


def test_dropped_source_is_unmatched_with_its_id(pair):
    a, b = pair
    dropped_id = int(a.loc[7, "id"])
    b = b.drop(index=7).reset_index(drop=True)
    comparison = compare_catalogs(a, b)
    assert comparison.verdict is Verdict.DIFFERENT
    assert comparison.metrics["n_unmatched_a"] == 1 and comparison.metrics["n_unmatched_b"] == 0
    position = [float(a.loc[7, name]) for name in comparison.details["match"]["columns"]]
    assert comparison.details["match"]["unmatched_a"] == {"count": 1, "ids": [dropped_id],
                                                          "by": "id", "positions": [position]}
    assert comparison.metrics["n_matched"] == len(a) - 1
    assert differing_columns(comparison) == set()
    allowed = compare_catalogs(a, b, tolerances=Tolerances(unmatched_max=1))
    assert allowed.verdict is Verdict.WITHIN_TOLERANCE


def test_dtype_change_is_reported(pair):
    a, b = pair
    b["base_PsfFlux_instFlux"] = b["base_PsfFlux_instFlux"].astype(np.float32)
    comparison = compare_catalogs(a, b)
    assert comparison.verdict is Verdict.DIFFERENT
    assert comparison.details["schema"]["dtypes"] == {"base_PsfFlux_instFlux": ["float64", "float32"]}
    assert "base_PsfFlux_instFlux float64/float32" in comparison.summary
    lenient = compare_catalogs(a, b, tolerances=Tolerances(allow_schema_differences=True))
    assert lenient.verdict is Verdict.WITHIN_TOLERANCE
    assert lenient.metrics["column.base_PsfFlux_instFlux.measure"] < 1e-3


def test_columns_on_one_side_only(pair):
    a, b = pair
    b["srcMatchId"] = np.arange(len(b), dtype=np.int64)
    comparison = compare_catalogs(a.drop(columns=["snr"]), b)
    assert comparison.details["schema"]["only_in_a"] == []
    assert comparison.details["schema"]["only_in_b"] == ["snr", "srcMatchId"]
    assert comparison.verdict is Verdict.DIFFERENT


def test_flag_flip_is_counted(pair):
    a, b = pair
    b.loc[2, "base_PixelFlags_flag_edge"] = not b.loc[2, "base_PixelFlags_flag_edge"]
    comparison = compare_catalogs(a, b)
    assert comparison.verdict is Verdict.DIFFERENT
    edge = comparison.details["columns"]["base_PixelFlags_flag_edge"]
    assert edge["class"] == "flag" and edge["n_differing"] == 1
    assert edge["measure"] == pytest.approx(1 / len(a))
    lenient = compare_catalogs(a, b, tolerances=Tolerances(flag_max_fraction=0.1))
    assert lenient.verdict is Verdict.WITHIN_TOLERANCE


def test_centroid_shift_in_pixels_and_ids(pair):
    a, b = pair
    b.loc[3, "slot_Centroid_x"] += 0.2
    b["id"] = b["id"] + 1000
    comparison = compare_catalogs(a, b)
    assert comparison.verdict is Verdict.DIFFERENT
    columns = comparison.details["columns"]
    assert columns["slot_Centroid_x"]["class"] == "centroid" and columns["slot_Centroid_x"]["measure"] == pytest.approx(0.2)
    assert columns["id"]["class"] == "id" and columns["id"]["measure"] == 1.0
    assert comparison.metrics["max_separation"] == pytest.approx(0.2)
    only_centroid = compare_catalogs(a, b, tolerances=Tolerances(id_max_fraction=1.0,
                                                                 centroid_max_pixels=0.25))
    assert only_centroid.verdict is Verdict.WITHIN_TOLERANCE


def test_reordered_rows_match_but_are_not_identical(pair):
    a, b = pair
    b = b.iloc[::-1].reset_index(drop=True)
    comparison = compare_catalogs(a, b)
    assert comparison.verdict is Verdict.WITHIN_TOLERANCE
    assert differing_columns(comparison) == set()
    assert "rows in another order" in comparison.summary


def test_nan_against_a_number_is_outside_tolerance(pair):
    a, b = pair
    b.loc[1, "slot_Shape_xx"] = np.nan
    b.loc[5, "base_PsfFlux_instFlux"] = np.nan
    comparison = compare_catalogs(a, b)
    columns = comparison.details["columns"]
    assert columns["slot_Shape_xx"]["n_nonfinite"] == 1 and not columns["slot_Shape_xx"]["outside"]  # not judged
    assert columns["base_PsfFlux_instFlux"]["n_nonfinite"] == 1 and columns["base_PsfFlux_instFlux"]["outside"]
    assert comparison.verdict is Verdict.DIFFERENT
    judged = compare_catalogs(a, b.assign(base_PsfFlux_instFlux=a["base_PsfFlux_instFlux"]),
                              tolerances=Tolerances(other_max_rel=1.0))
    assert judged.verdict is Verdict.DIFFERENT and judged.details["columns"]["slot_Shape_xx"]["outside"]
    json.dumps(dataclasses.asdict(comparison), allow_nan=False)


def sky_catalog(ra, dec, ids):
    return pd.DataFrame({"id": np.asarray(ids, np.int64), "coord_ra": np.asarray(ra, float),
                         "coord_dec": np.asarray(dec, float)})


def test_sky_match_across_ra_zero():
    arcsec = 1 / 3600
    a = sky_catalog([359.99995, 10.0, 20.0], [0.0, 60.0, -30.0], [1, 2, 3])
    b = sky_catalog([0.00005 - 0.02 * arcsec, 10.0, 20.0 + 5 * arcsec], [0.0, 60.0, -30.0],
                    [1, 2, 3])
    comparison = compare_catalogs(a, b, tolerances=Tolerances(match_radius_arcsec=0.5))
    assert comparison.details["match"]["unit"] == "arcsec"
    assert comparison.metrics["n_matched"] == 2
    assert comparison.details["match"]["unmatched_a"]["ids"] == [3]  # 5 arcsec * cos(30) away
    assert comparison.metrics["max_separation"] == pytest.approx(0.34, abs=1e-3)
    ra = comparison.details["columns"]["coord_ra"]
    assert ra["class"] == "sky" and ra["measure"] == pytest.approx(0.34, abs=1e-3)


def test_match_is_one_to_one():
    a = pd.DataFrame({"x": [10.0], "y": [10.0]})
    b = pd.DataFrame({"x": [10.3, 9.6], "y": [10.0, 10.0]})
    comparison = compare_catalogs(a, b)
    assert comparison.metrics["n_matched"] == 1
    assert comparison.metrics["max_separation"] == pytest.approx(0.3)
    assert comparison.details["match"]["unmatched_b"] == {"count": 1, "ids": [1], "by": "row",
                                                          "positions": [[9.6, 10.0]]}


def test_catalogues_without_positions_are_refused():
    with pytest.raises(ValidationError, match="coord_ra"):
        compare_catalogs(pd.DataFrame({"flux": [1.0]}), pd.DataFrame({"flux": [2.0]}))


def test_columns_of_arrays_and_strings_are_not_compared_but_count_for_identity():
    a = pd.DataFrame({"x": [1.0, 5.0], "y": [1.0, 5.0],
                      "RegisterRefPosition": [np.array([np.nan, np.nan]), np.array([1.0, 2.0])],
                      "band": pd.array(["r", "g"], dtype="string")})
    comparison = compare_catalogs(a, a.copy())
    assert comparison.verdict is Verdict.IDENTICAL
    assert comparison.details["not_compared"] == ["RegisterRefPosition", "band"]
    b = a.copy()
    b.loc[1, "band"] = "i"
    assert compare_catalogs(a, b).verdict is Verdict.WITHIN_TOLERANCE
    assert "not compared: RegisterRefPosition, band" in compare_catalogs(a, b).summary
