"""A gen3 repository with our storage classes: creation, ingest, round trips, CLI queries."""
import subprocess

import numpy as np
import pandas as pd
import pytest
from _gen3_data import (
    SCIENCE_VISIT,
    SECOND_TEMPLATE_VISIT,
    TEMPLATE_VISIT,
    VENV_BIN,
    small_field,
)

from compat.gen3 import (
    INPUT_RUN,
    INSTRUMENT,
    SKYMAP_NAME,
    Gen3Error,
    IngestError,
    ingest_field,
    ingest_skymap,
    make_repo,
)
from compat.gen3.ingest import day_obs, detector_region
from diffim.io.exposure_fits import write_exposure
from diffim.sky.skymap import simulated_skymap


@pytest.fixture(scope="module")
def field():
    return small_field()


@pytest.fixture(scope="module")
def skymap():
    return simulated_skymap()


@pytest.fixture(scope="module")
def repo(tmp_path_factory, field, skymap):
    root = tmp_path_factory.mktemp("gen3") / "repo"
    butler = make_repo(root)
    ingest_field(butler, field)
    ingest_skymap(butler, skymap)
    return root, butler


def _bits(array):
    return np.ascontiguousarray(array).view(np.uint8)


def test_calexps_round_trip_bit_for_bit(repo, field):
    _, butler = repo
    for (visit, detector), original in field.calexps.items():
        read = butler.get("calexp", visit=visit, detector=detector, instrument=INSTRUMENT,
                          collections=INPUT_RUN)
        for plane in ("image", "variance"):
            np.testing.assert_array_equal(_bits(getattr(read, plane).astype("=f4")),
                                          _bits(getattr(original, plane)))
        np.testing.assert_array_equal(read.mask.array, original.mask.array)
        assert read.mask.planes.as_dict() == original.mask.planes.as_dict()
        assert read.xy0 == original.xy0
        assert read.visit_info == original.visit_info
        assert read.photo_calib == original.photo_calib
        assert read.metadata == original.metadata
        centre = original.bbox.center
        np.testing.assert_array_equal(read.psf.computeKernelImage(*centre),
                                      original.psf.computeKernelImage(*centre))
        # FITS header cards keep ~15 significant digits of the WCS: 1e-10 deg is 0.4 uas.
        np.testing.assert_allclose(read.pixel_to_sky(10.0, 20.0), original.pixel_to_sky(10.0, 20.0),
                                   rtol=0, atol=1e-10)


def test_calexp_file_has_the_bytes_of_our_writer(repo, field, tmp_path):
    _, butler = repo
    uri = butler.getURI("calexp", visit=SCIENCE_VISIT, detector=1, instrument=INSTRUMENT,
                        collections=INPUT_RUN)
    ours = tmp_path / "calexp.fits"
    write_exposure(field.calexps[(SCIENCE_VISIT, 1)], ours)
    # The same bytes as our own writer: gen2 and gen3 files compare byte for byte.
    assert uri.read() == ours.read_bytes()


def test_src_and_skymap_round_trip(repo, skymap):
    _, butler = repo
    src = butler.get("src", visit=TEMPLATE_VISIT, detector=0, instrument=INSTRUMENT,
                     collections=INPUT_RUN)
    assert len(src) > 10
    assert src["id"].min() == TEMPLATE_VISIT * 10 ** 6
    assert butler.get("skyMap", skymap=SKYMAP_NAME, collections=INPUT_RUN) == skymap


def test_dimension_records(repo, field):
    _, butler = repo
    registry = butler.registry
    visits = {r.id: r for r in registry.queryDimensionRecords("visit", instrument=INSTRUMENT)}
    assert sorted(visits) == [TEMPLATE_VISIT, SECOND_TEMPLATE_VISIT, SCIENCE_VISIT]
    science = visits[SCIENCE_VISIT]
    assert science.physical_filter == "r_sim"
    assert science.day_obs == day_obs(field.calexps[(SCIENCE_VISIT, 0)].visit_info.mjd)
    for detector in (0, 1):
        region = detector_region(field.calexps[(SCIENCE_VISIT, detector)])
        for vertex in region.getVertices():
            assert science.region.contains(vertex)
    bands = {r.band for r in registry.queryDimensionRecords("physical_filter")}
    assert bands == {"r"}


def test_spatial_join_finds_the_skymaps_own_patches(repo, field, skymap):
    _, butler = repo
    exposure = field.calexps[(SCIENCE_VISIT, 0)]
    expected = {(tract.tract_id, patch.sequential_index)
                for tract, patches in skymap.find_tract_patch_list(detector_region(exposure))
                for patch in patches}
    found = {(d["tract"], d["patch"]) for d in butler.registry.queryDataIds(
        ["patch", "visit", "detector"], instrument=INSTRUMENT, skymap=SKYMAP_NAME,
        visit=SCIENCE_VISIT, detector=0)}
    assert expected and found == expected


def test_butler_command_lists_the_datasets(repo):
    root, _ = repo
    result = subprocess.run([str(VENV_BIN / "butler"), "query-datasets", str(root)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    types = [line.split()[0] for line in result.stdout.splitlines()
             if line.strip() and line.split()[1:2] == [INPUT_RUN]]
    assert {name: types.count(name) for name in set(types)} == {"calexp": 6, "src": 6, "skyMap": 1}


def test_another_process_reads_a_calexp(repo, field):
    # Storage classes and formatters come from the repo config, not from this process.
    root, _ = repo
    code = ("from lsst.daf.butler import Butler; import sys; "
            f"e = Butler.from_config({str(root)!r}).get('calexp', visit={SCIENCE_VISIT}, "
            f"detector=0, instrument={INSTRUMENT!r}, collections={INPUT_RUN!r}); "
            "print(type(e).__name__, e.image.astype('f8').sum().hex())")
    result = subprocess.run([str(VENV_BIN / "python"), "-c", code], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    expected = field.calexps[(SCIENCE_VISIT, 0)].image.astype("f8").sum().hex()
    assert result.stdout.split() == ["Exposure", expected]


def test_make_repo_refuses_an_existing_repo(repo):
    root, _ = repo
    with pytest.raises(Gen3Error, match="already a gen3 repository"):
        make_repo(root)


def test_ingest_names_missing_source_catalogues(tmp_path, field):
    butler = make_repo(tmp_path / "repo")
    sources = {key: pd.DataFrame() for key in list(field.calexps)[1:]}
    with pytest.raises(IngestError, match=r"no src catalogue for \(visit, detector\) \[\(1, 0\)\]"):
        ingest_field(butler, field, sources=sources)
