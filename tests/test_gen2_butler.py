"""A gen2 repository made by the ingest: registry, paths, get/put round trips, derived types."""
import gzip
import sqlite3

import numpy as np
import pytest

# field, files, pristine and root are the shared fixtures.
from _gen2_data import (  # noqa: F401
    FILTER,
    SCIENCE_VISIT,
    TEMPLATE_VISIT,
    assert_same_exposure,
    field,
    files,
    pristine,
    root,
)

from compat.gen2 import (
    MAPPER_NAME,
    Butler,
    ButlerDataRef,
    Gen2Error,
    NoResults,
    PolicyError,
    ReadProxy,
    RegistryLookupError,
    RepositoryError,
    ingest_field_files,
)
from diffim.geom import Box
from diffim.io.exposure_fits import write_exposure


def test_ingest_makes_an_old_style_repository(root, files):
    names = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    calexps = [f"calexp/v{v}-f{FILTER}/c{c:02d}.fits" for v in (1, 2, 10, 11) for c in (0, 1)]
    sources = [name.replace("calexp/", "src/").replace(".fits", ".parquet") for name in calexps]
    skymap = files.read_skymap()
    coadds = [f"deepCoadd/{FILTER}/{tract}/%d,%d.fits" % skymap[tract].patch(patch).index
              for tract, patch in files.coadds]
    shards = [f"ref_cats/sim_ref/{path.name}" for path in files.refcat.iterdir()]
    assert names == sorted(["_mapper", "registry.sqlite3", *calexps, *sources, *coadds, *shards,
                            "deepCoadd/skyMap.json"])
    assert len(coadds) >= 4 and len(shards) >= 2
    assert (root / "_mapper").read_text() == "compat.gen2.mapper.SimCamMapper\n"
    assert MAPPER_NAME == "compat.gen2.mapper.SimCamMapper"
    with sqlite3.connect(root / "registry.sqlite3") as connection:
        raw = connection.execute("SELECT id, visit, ccd, filter, date, expTime FROM raw "
                                 "ORDER BY id").fetchall()
        visits = connection.execute("SELECT * FROM raw_visit ORDER BY visit").fetchall()
    # MJD 60000.0 TAI is 2023-02-24T23:59:23 UTC: visit 1 (60000.1) is on the 25th.
    dates = {1: "2023-02-25", 2: "2023-02-26", 10: "2024-03-31", 11: "2024-04-01"}
    assert raw == [(n + 1, visit, ccd, FILTER, dates[visit], 30.0)
                   for n, (visit, ccd) in enumerate((v, c) for v in dates for c in (0, 1))]
    assert visits == [(visit, FILTER, date) for visit, date in dates.items()]


def test_ingest_copies_the_source_files_byte_for_byte(root, files):
    butler = Butler(root)
    for (visit, ccd), path in files.calexps.items():
        assert (root / f"calexp/v{visit}-f{FILTER}/c{ccd:02d}.fits").read_bytes() == \
            path.read_bytes()
        assert butler.get("src_filename", visit=visit, ccd=ccd) == [
            str(root / f"src/v{visit}-f{FILTER}/c{ccd:02d}.parquet")]
        assert open(butler.get("src_filename", visit=visit, ccd=ccd)[0], "rb").read() == \
            files.sources[(visit, ccd)].read_bytes()
    skymap = files.read_skymap()
    for (tract, patch), path in files.coadds.items():
        patch_name = "%d,%d" % skymap[tract].patch(patch).index
        copied = butler.get("deepCoadd_filename", filter=FILTER, tract=tract, patch=patch_name)
        assert open(copied[0], "rb").read() == path.read_bytes()
    assert butler.get("deepCoadd_skyMap") == skymap
    for shard in files.refcat.glob("*.parquet"):
        copied = butler.get("ref_cat_filename", htm7=int(shard.stem))[0]
        assert open(copied, "rb").read() == shard.read_bytes()
    assert open(butler.get("ref_cat_config_filename")[0], "rb").read() == \
        (files.refcat / "config.json").read_bytes()


def test_ingest_refuses_an_existing_repository(files, root):
    with pytest.raises(RepositoryError, match=f"^{root}: is a repository already "
                                              r"\(has _mapper\)$"):
        ingest_field_files(files, root)


def test_get_calexp_is_bit_identical_to_the_ingested_exposure(root, field, tmp_path):
    butler = Butler(root)
    read = butler.get("calexp", visit=SCIENCE_VISIT, ccd=1)
    assert_same_exposure(read, field.calexps[(SCIENCE_VISIT, 1)])
    # Written again, the exposure read gives the very bytes of the repository file.
    write_exposure(read, tmp_path / "again.fits")
    path = root / f"calexp/v{SCIENCE_VISIT}-f{FILTER}/c01.fits"
    assert (tmp_path / "again.fits").read_bytes() == path.read_bytes()


def test_src_round_trips_with_dtypes_and_ids(root, files):
    src = Butler(root).get("src", {"visit": TEMPLATE_VISIT}, ccd=0)
    assert src.equals(files.read_source((TEMPLATE_VISIT, 0)))
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
    assert butler.queryMetadata("raw", ["visit"], ccd=0) == [1, 2, 10, 11]
    assert butler.queryMetadata("calexp", "ccd", {"visit": SCIENCE_VISIT}) == [0, 1]
    assert butler.queryMetadata("raw", ["visit", "ccd"], date="2024-03-31") == [(10, 0), (10, 1)]
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
    butler.put(butler.get("src", visit=SCIENCE_VISIT, ccd=0), "deepDiff_diaSrc",
               visit=SCIENCE_VISIT, ccd=0)
    assert butler.get("deepDiff_diaSrc_md", visit=SCIENCE_VISIT, ccd=0)["NAXIS2"] == butler.get(
        "deepDiff_diaSrc_len", visit=SCIENCE_VISIT, ccd=0) == butler.get(
        "src_len", visit=SCIENCE_VISIT, ccd=0)
    schema = butler.get("src_schema", visit=SCIENCE_VISIT, ccd=0)
    assert len(schema) == 0
    assert schema.dtypes.equals(butler.get("src", visit=SCIENCE_VISIT, ccd=0).dtypes)
    # deepDiff_diaSrc_schema is a dataset of its own (the task writes it), not derived.
    assert not butler.datasetExists("deepDiff_diaSrc_schema")
    with pytest.raises(PolicyError, match="^dataset type 'calexp_schema': 'calexp' is stored as "
                                          "Fits, which has no _schema form$"):
        butler.get("calexp_schema", visit=SCIENCE_VISIT, ccd=0)
    with pytest.raises(PolicyError, match="^dataset type 'src_bbox': 'src' is stored as "
                                          "ParquetCatalog, which has no _bbox form$"):
        butler.get("src_bbox", visit=SCIENCE_VISIT, ccd=0)
    with pytest.raises(PolicyError, match="^dataset type 'src_md': 'src' is stored as "
                                          "ParquetCatalog, which has no _md form$"):
        butler.get("src_md", visit=SCIENCE_VISIT, ccd=0)
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
    butler = Butler(root)
    butler.put(butler.get("src", visit=SCIENCE_VISIT, ccd=1), "deepDiff_diaSrc",
               visit=SCIENCE_VISIT, ccd=1)
    path = root / f"deepDiff/v{SCIENCE_VISIT}-f{FILTER}/diaSrc-01.fits"
    data = bytearray(path.read_bytes())
    data[-100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(Gen2Error, match=f"^{path}: checksum mismatch: catalogue file is corrupt$"):
        butler.get("deepDiff_diaSrc", visit=SCIENCE_VISIT, ccd=1)
    path = root / f"src/v{SCIENCE_VISIT}-f{FILTER}/c01.parquet"
    path.write_bytes(path.read_bytes()[:-50])
    with pytest.raises(Gen2Error, match=f"^{path}: cannot read as ParquetCatalog "):
        butler.get("src", visit=SCIENCE_VISIT, ccd=1)
