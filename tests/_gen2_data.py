"""A small SimCam field ingested into a gen2 repository, shared by the gen2 tests."""
import shutil

import numpy as np
import pytest

from compat.gen2 import ingest_field
from diffim.sim.config import PairConfig
from diffim.sim.field import FieldConfig, VisitSpec, simulate_field

TEMPLATE_VISIT = 1
SCIENCE_VISIT = 10
FILTER = "r_sim"


def small_field():
    """Two 256 px detectors (ccd 0 and 1), one template and one science visit."""
    return simulate_field(FieldConfig(
        sky=PairConfig(size=256, seed=3, star_density=2500.0), detectors=(2, 1),
        visits=(VisitSpec(TEMPLATE_VISIT, "template"), VisitSpec(SCIENCE_VISIT, "science",
                                                                 fwhm=4.8))))


def make_repo(field, pristine, root):
    """A fresh copy of the repository ingested once at ``pristine`` (made on first use)."""
    if not pristine.exists():
        ingest_field(field, pristine)
    shutil.copytree(pristine, root)
    return root


@pytest.fixture(scope="module")
def field():
    """The small field, simulated once per test module."""
    return small_field()


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """Where the field is ingested once; tests work on copies."""
    return tmp_path_factory.mktemp("gen2") / "pristine"


@pytest.fixture
def root(field, pristine, tmp_path):
    """A fresh repository holding the field, for one test."""
    return make_repo(field, pristine, tmp_path / "repo")


def assert_same_exposure(actual, expected):
    """Every plane bit for bit, and every descriptor, equal."""
    for plane in ("image", "variance"):
        assert getattr(actual, plane).dtype == getattr(expected, plane).dtype
        assert getattr(actual, plane).tobytes() == getattr(expected, plane).tobytes()
    assert np.array_equal(actual.mask.array, expected.mask.array)
    assert actual.mask.planes.as_dict() == expected.mask.planes.as_dict()
    assert actual.xy0 == expected.xy0
    assert actual.visit_info == expected.visit_info
    assert actual.photo_calib == expected.photo_calib
    assert actual.metadata == expected.metadata
    assert actual.wcs.to_header_string() == expected.wcs.to_header_string()
