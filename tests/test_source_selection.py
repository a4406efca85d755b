import numpy as np
import pandas as pd
import pytest

from diffim.errors import DiffimError
from diffim.image_difference.source_selection import (
    select_matched_sources,
    split_control_sample,
)
from diffim.sim import PairConfig, simulate_pair
from diffim.sources.catalog import SOURCE_COLUMNS, make_source_catalog


@pytest.fixture(scope="module")
def pair():
    return simulate_pair(PairConfig(size=768, seed=6, star_density=800))


def test_source_catalog_positions_and_fluxes(pair):
    catalog = make_source_catalog(pair.science, id_offset=1000)
    assert list(catalog.columns) == list(SOURCE_COLUMNS)
    assert catalog["id"].min() == 1000 and catalog["id"].is_unique
    truth = pair.truth
    stars = truth[(truth["kind"] == "star") & ~truth["saturated"] & (truth["science_snr"] > 50)]
    from diffim.sky.matching import match_sky
    i, j, separation = match_sky(catalog["coord_ra"], catalog["coord_dec"],
                                 stars["ra"], stars["dec"], 0.5)
    assert len(j) > 0.8 * len(stars)
    assert np.median(separation) < 0.05  # arcsec
    ratio = catalog["psfFlux"].to_numpy()[i] / stars["science_flux"].to_numpy()[j]
    assert np.median(ratio) == pytest.approx(1.0, abs=0.03)


def test_matched_selection_keeps_unflagged_point_sources(pair):
    science = make_source_catalog(pair.science)
    truth = pair.truth
    reference = pd.DataFrame({"id": truth["id"], "coord_ra": truth["ra"],
                              "coord_dec": truth["dec"]})[truth["kind"] == "star"]
    selected = select_matched_sources(science, reference)
    assert len(selected) > 20
    assert (selected["match_distance"] < 1.0).all()
    kinds = truth.set_index("id").loc[selected["ref_id"], "kind"]
    assert (kinds == "star").all()
    assert not selected["saturated_flag"].any() and not selected["blended_flag"].any()
    assert selected["snr"].between(10, 500).all()


def test_control_sample_is_every_fifth_and_reproducible():
    sources = pd.DataFrame({"id": np.arange(23)})
    first = split_control_sample(sources, 5, seed=10)
    again = split_control_sample(sources, 5, seed=10)
    other = split_control_sample(sources, 5, seed=11)
    assert len(first.controlSources) == 5 and len(first.kernelSources) == 18
    assert first.controlSources.equals(again.controlSources)
    assert not first.controlSources.equals(other.controlSources)
    assert set(first.controlSources["id"]).isdisjoint(first.kernelSources["id"])
    with pytest.raises(DiffimError, match="controlStepSize must be >= 2"):
        split_control_sample(sources, 1, seed=10)
