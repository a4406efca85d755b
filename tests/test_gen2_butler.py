"""A gen2 repository made by the ingest: registry, paths, get/put round trips, derived types."""
import gzip
import sqlite3

import numpy as np
import pytest

# field, pristine and root are the shared fixtures.
from _gen2_data import (FILTER, SCIENCE_VISIT, TEMPLATE_VISIT, assert_same_exposure,  # noqa: F401
                        field, pristine, root)
from compat.gen2 import (MAPPER_NAME, Butler, ButlerDataRef, Gen2Error, NoResults, PolicyError,
                         ReadProxy, RegistryLookupError, RepositoryError, ingest_field)
from diffim.exposure_io import write_exposure
from diffim.geom import Box
from diffim.source_catalog import make_source_catalog, source_id_offset


def test_ingest_makes_an_old_style_repository(root):
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    calexps = [f"calexp/v{v}-f{FILTER}/c{c:02d}.fits" for v in (SCIENCE_VISIT, TEMPLATE_VISIT)
               for c in (0, 1)]
    sources = [name.replace("calexp/", "src/") for name in calexps]
    assert names == sorted(["_mapper", "registry.sqlite3", *calexps, *sources])
    assert (root / "_mapper").read_text() == "compat.gen2.mapper.SimCamMapper\n"
    assert MAPPER_NAME == "compat.gen2.mapper.SimCamMapper"
    with sqlite3.connect(root / "registry.sqlite3") as connection:
        raw = connection.execute("SELECT id, visit, ccd, filter, date, expTime FROM raw "
                                 "ORDER BY id").fetchall()
        visits = connection.execute("SELECT * FROM raw_visit ORDER BY visit").fetchall()
    assert raw == [(1, 1, 0, FILTER, "2023-02-24", 30.0), (2, 1, 1, FILTER, "2023-02-24", 30.0),
                   (3, 10, 0, FILTER, "2023-02-24", 30.0), (4, 10, 1, FILTER, "2023-02-24", 30.0)]
    # MJD 60000.0 TAI is 2023-02-24T23:59:23 UTC.
    assert visits == [(1, FILTER, "2023-02-24"), (10, FILTER, "2023-02-24")]


def test_ingest_refuses_an_existing_repository(field, root):
    with pytest.raises(RepositoryError, match=f"^{root}: is a repository already "
                                              r"\(has _mapper\)$"):
        ingest_field(field, root)


def test_get_calexp_is_bit_identical_to_the_ingested_exposure(root, field, tmp_path):
    butler = Butler(root)
    read = butler.get("calexp", visit=SCIENCE_VISIT, ccd=1)
    assert_same_exposure(read, field.calexps[(SCIENCE_VISIT, 1)])
    # Written again, the exposure read gives the very bytes of the repository file.
    write_exposure(read, tmp_path / "again.fits")
    path = root / f"calexp/v{SCIENCE_VISIT}-f{FILTER}/c01.fits"
    assert (tmp_path / "again.fits").read_bytes() == path.read_bytes()


def test_src_round_trips_with_dtypes_and_ids(root, field):
    src = Butler(root).get("src", {"visit": TEMPLATE_VISIT}, ccd=0)
    expected = make_source_catalog(field.calexps[(TEMPLATE_VISIT, 0)],
                                   id_offset=source_id_offset(TEMPLATE_VISIT, 0))
    assert src.equals(expected)
    assert src["id"].iloc[0] == 1_000_000


def test_filename_follows_the_template_and_the_registry_fills_filter(root):
    butler = Butler(root)
    assert butler.get("calexp_filename", visit=SCIENCE_VISIT, ccd=1) == [
        str(root / f"calexp/v{SCIENCE_VISIT}-f{FILTER}/c01.fits")]
    # Explicit and looked-up filter give the same path; a string visit is cast by the template.
    assert butler.get("calexp_filename", visit="10", ccd=1, filter=FILTER) == \
        butler.get("calexp_filename", visit=10, ccd=1)


def test_dataset_exists(root):
    butler = Butler(root)
    assert butler.datasetExists("calexp", {"visit": SCIENCE_VISIT, "ccd": 0})
    assert butler.datasetExists("src", visit=TEMPLATE_VISIT, ccd=1, write=True)
    assert not butler.datasetExists("deepDiff_differenceExp", visit=SCIENCE_VISIT, ccd=0)
    (root / f"calexp/v{SCIENCE_VISIT}-f{FILTER}/c00.fits").unlink()
    assert not butler.datasetExists("calexp", visit=SCIENCE_VISIT, ccd=0)


def test_query_metadata_and_keys(root):
    butler = Butler(root)
    assert butler.queryMetadata("raw", ["visit"], ccd=0) == [TEMPLATE_VISIT, SCIENCE_VISIT]
    assert butler.queryMetadata("calexp", "ccd", {"visit": SCIENCE_VISIT}) == [0, 1]
    assert butler.queryMetadata("raw", ["visit", "ccd"], filter=FILTER) == [
        (1, 0), (1, 1), (10, 0), (10, 1)]
    assert butler.getKeys("calexp") == {"visit": int, "filter": str, "ccd": int}
    assert butler.getKeys("deepCoadd") == {"filter": str, "tract": int, "patch": str}
    assert butler.getKeys("calexp_md") == butler.getKeys("calexp")


def test_subset_gives_one_data_ref_per_ccd(root, field):
    subset = Butler(root).subset("calexp", visit=SCIENCE_VISIT)
    refs = list(subset)
    assert [ref.dataId for ref in refs] == [
        {"visit": SCIENCE_VISIT, "ccd": ccd, "filter": FILTER} for ccd in (0, 1)]
    assert all(isinstance(ref, ButlerDataRef) for ref in refs)
    for ref in refs:
        assert ref.datasetExists()
        assert ref.getButler() is subset.butler
        assert_same_exposure(ref.get(), field.calexps[(SCIENCE_VISIT, ref.dataId["ccd"])])
        assert len(ref.get("src")) == ref.get("src_len") > 0
    assert len(Butler(root).subset("calexp", visit=99)) == 0


def test_data_ref_needs_exactly_one_match(root):
    butler = Butler(root)
    ref = butler.dataRef("calexp", visit=SCIENCE_VISIT, ccd=1)
    assert ref.dataId == {"visit": SCIENCE_VISIT, "ccd": 1, "filter": FILTER}
    with pytest.raises(NoResults) as error:
        butler.dataRef("calexp", visit=SCIENCE_VISIT)
    assert str(error.value) == ("dataRef needs exactly one match, got 2: datasetType:calexp "
                                "dataId:{'visit': 10}")
    with pytest.raises(NoResults, match=r"got 0: datasetType:calexp dataId:\{'ccd': 7\}$"):
        butler.dataRef("calexp", ccd=7)


def test_missing_dataset_error_names_type_and_data_id(root):
    butler = Butler(root)
    with pytest.raises(NoResults) as error:
        butler.get("deepDiff_differenceExp", visit=SCIENCE_VISIT, ccd=1)
    assert str(error.value) == ("No locations for get: datasetType:deepDiff_differenceExp "
                                "dataId:{'ccd': 1, 'filter': 'r_sim', 'visit': 10}")
    assert error.value.dataset_type == "deepDiff_differenceExp"


def test_registry_lookup_needs_exactly_one_row(root):
    butler = Butler(root)
    with pytest.raises(RegistryLookupError) as error:
        butler.get("calexp", visit=SCIENCE_VISIT)
    assert str(error.value) == ("No unique lookup for ['filter', 'ccd'] of 'calexp' from dataId "
                                "{'visit': 10}: 2 matches in registry table 'raw'")
    with pytest.raises(RegistryLookupError, match=r"^No unique lookup for \['filter'\] of "
                                                  r"'calexp' from dataId \{'ccd': 0, 'visit': 3\}"
                                                  r": 0 matches in registry table 'raw'$"):
        butler.get("calexp", visit=3, ccd=0)
    with pytest.raises(RegistryLookupError, match=r"keys \['tract', 'patch'\] are not in dataId "
                                                  r"\{'filter': 'r_sim'\} nor in registry tables "
                                                  r"\['raw'\]"):
        butler.get("deepCoadd", filter=FILTER)
    with pytest.raises(RegistryLookupError, match=r"^dataset type 'calexp': visit='ten' is not "
                                                  r"int$"):
        butler.get("calexp", visit="ten", ccd=0)


def test_derived_dataset_types(root, field):
    butler = Butler(root)
    expected = field.calexps[(SCIENCE_VISIT, 0)]
    header = butler.get("calexp_md", visit=SCIENCE_VISIT, ccd=0)
    assert header["FILTER"] == FILTER and header["EXPTIME"] == 30.0
    assert butler.get("calexp_bbox", visit=SCIENCE_VISIT, ccd=0) == expected.bbox
    box = Box(10, 20, 30, 40)
    sub = butler.get("calexp_sub", visit=SCIENCE_VISIT, ccd=0, bbox=box)
    assert sub.bbox == box
    assert sub.image.tobytes() == expected[box].image.tobytes()
    assert butler.get("src_len", visit=SCIENCE_VISIT, ccd=0) == len(
        butler.get("src", visit=SCIENCE_VISIT, ccd=0))
    assert butler.get("src_md", visit=SCIENCE_VISIT, ccd=0)["NAXIS2"] == butler.get(
        "src_len", visit=SCIENCE_VISIT, ccd=0)
    with pytest.raises(PolicyError, match="^dataset type 'src_bbox': 'src' is stored as "
                                          "FitsCatalog, which has no _bbox form$"):
        butler.get("src_bbox", visit=SCIENCE_VISIT, ccd=0)
    with pytest.raises(PolicyError, match="^unknown dataset type 'calexq' "):
        butler.get("calexq", visit=SCIENCE_VISIT, ccd=0)


def test_lazy_get_reads_on_first_use(root, field):
    butler = Butler(root)
    proxy = butler.get("calexp", visit=SCIENCE_VISIT, ccd=0, immediate=False)
    assert isinstance(proxy, ReadProxy)
    assert proxy.bbox == field.calexps[(SCIENCE_VISIT, 0)].bbox
    assert np.array_equal(proxy.image, field.calexps[(SCIENCE_VISIT, 0)].image)


def test_compressed_files_are_found(root):
    path = root / f"calexp/v{SCIENCE_VISIT}-f{FILTER}/c00.fits"
    data = path.read_bytes()
    path.with_name("c00.fits.gz").write_bytes(gzip.compress(data))
    path.unlink()
    butler = Butler(root)
    assert butler.get("calexp_filename", visit=SCIENCE_VISIT, ccd=0) == [str(path) + ".gz"]
    assert butler.get("calexp", visit=SCIENCE_VISIT, ccd=0).bbox == Box(0, 0, 256, 256)


def test_corrupt_file_error_names_it(root):
    path = root / f"src/v{SCIENCE_VISIT}-f{FILTER}/c01.fits"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(Gen2Error, match=f"^{path}: checksum mismatch: catalogue file is corrupt$"):
        Butler(root).get("src", visit=SCIENCE_VISIT, ccd=1)
