"""A small SimCam field as source files, ingested into a gen2 repository, shared by the gen2 tests.

The field (two 256 px detectors, two template and two science visits, coadd
patches, reference shards) is simulated and written once per test session;
each module ingests it once (``pristine``) and tests work on copies.
"""
import shutil

import numpy as np
import pytest

from compat.gen2 import ingest_field_files
from diffim.sim.config import PairConfig
from diffim.sim.field import FieldConfig, VisitSpec, simulate_field
from diffim.sim.field_files import write_field_files

TEMPLATE_VISIT = 1
SCIENCE_VISIT = 10
SCIENCE_VISITS = (10, 11)
CCDS = (0, 1)
FILTER = "r_sim"

_SESSION = {}


def small_field():
    """Two 256 px detectors (ccd 0 and 1); template visits 1 and 2, science visits 10 and 11."""
    return simulate_field(FieldConfig(
        sky=PairConfig(size=256, seed=3, star_density=2500.0, n_transients=20),
        detectors=(2, 1),
        visits=(VisitSpec(TEMPLATE_VISIT, "template", fwhm=3.4, mjd=60000.1),
                VisitSpec(2, "template", (9.0, -6.0), 0.3, 3.8, 0.97, 60001.1),
                VisitSpec(SCIENCE_VISIT, "science", (4.0, 3.0), 0.1, 4.8, 0.9, 60400.2),
                VisitSpec(11, "science", (-3.0, -8.0), -0.3, 5.2, 0.93, 60401.2))))


def _session_field(tmp_path_factory):
    """``(field, files)``: simulated and written once for the whole session."""
    if not _SESSION:
        field = small_field()
        files = write_field_files(field, tmp_path_factory.mktemp("gen2-field") / "files")
        _SESSION.update(field=field, files=files)
    return _SESSION["field"], _SESSION["files"]


def make_repo(files, pristine, root):
    """A fresh copy of the repository ingested once at ``pristine`` (made on first use)."""
    if not pristine.exists():
        ingest_field_files(files, pristine)
    shutil.copytree(pristine, root, symlinks=True)
    return root


@pytest.fixture(scope="module")
def field(tmp_path_factory):
    """The simulated field (`diffim.sim.field.SimulatedField`)."""
    return _session_field(tmp_path_factory)[0]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The field's source files (`diffim.sim.field_files.FieldFiles`)."""
    return _session_field(tmp_path_factory)[1]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """Where the field is ingested once per module; tests work on copies."""
    return tmp_path_factory.mktemp("gen2") / "pristine"


@pytest.fixture
def root(files, pristine, tmp_path):
    """A fresh repository holding the field, for one test."""
    return make_repo(files, pristine, tmp_path / "repo")


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
