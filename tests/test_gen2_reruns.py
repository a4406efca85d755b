"""Reruns and parent chains: read order, outputs that hide inputs, backups, parent consistency."""
import os

import numpy as np
import pytest
import yaml

# field, pristine and root are the shared fixtures.
from _gen2_data import FILTER, SCIENCE_VISIT, field, files, pristine, root  # noqa: F401
from compat.gen2 import (Butler, NoResults, ParentsMismatch, RepositoryArgs, RepositoryError,
                         ingest_field_files)


CALEXP = f"calexp/v{SCIENCE_VISIT}-f{FILTER}/c01.fits"
DATA_ID = {"visit": SCIENCE_VISIT, "ccd": 1}


def _brighter(exposure, amount):
    exposure = exposure.copy()
    exposure.image += np.float32(amount)
    return exposure


def test_a_new_output_records_its_inputs_as_parents(root):
    rerun = root / "rerun" / "a"
    butler = Butler(inputs=str(root), outputs=str(rerun))
    assert yaml.safe_load((rerun / "repositoryCfg.yaml").read_text()) == {
        "_mapper": "compat.gen2.mapper.SimCamMapper", "_mapperArgs": {}, "_parents": ["../.."],
        "_policy": None, "_root": None}
    assert butler.read_roots == [root.resolve()]
    assert butler.write_roots == [rerun.resolve()]


def test_rerun_reads_inputs_and_writes_only_to_the_output(root, field):
    before = (root / CALEXP).read_bytes()
    rerun = root / "rerun" / "a"
    butler = Butler(inputs=root, outputs=rerun)
    calexp = butler.get("calexp", DATA_ID)
    butler.put(_brighter(calexp, 1.0), "calexp", DATA_ID)
    assert (root / CALEXP).read_bytes() == before
    assert (rerun / CALEXP).is_file()
    assert butler.datasetExists("calexp", DATA_ID, write=True)
    assert not butler.datasetExists("src", DATA_ID, write=True)
    # A write-only output is not read: the input's calexp still answers.
    assert butler.get("calexp", DATA_ID).image.tobytes() == calexp.image.tobytes()

    # Read as a repository of its own, the rerun hides the input's calexp
    # and shows the input's other datasets through its parent.
    rerun_butler = Butler(rerun)
    assert rerun_butler.read_roots == [rerun.resolve(), root.resolve()]
    assert np.array_equal(rerun_butler.get("calexp", DATA_ID).image, calexp.image + 1.0)
    assert rerun_butler.get("calexp_filename", DATA_ID) == [str((rerun / CALEXP).resolve())]
    assert rerun_butler.get("src_filename", DATA_ID) == [
        str((root / f"src/v{SCIENCE_VISIT}-f{FILTER}/c01.parquet").resolve())]
    assert Butler(inputs=rerun).get("calexp", DATA_ID).image.tobytes() == \
        rerun_butler.get("calexp", DATA_ID).image.tobytes()


def test_readable_output_is_searched_first(root, field):
    rerun = root / "rerun" / "rw"
    butler = Butler(inputs=root, outputs={"root": rerun, "mode": "rw"})
    calexp = butler.get("calexp", DATA_ID)
    butler.put(_brighter(calexp, 2.0), "calexp", DATA_ID)
    assert np.array_equal(butler.get("calexp", DATA_ID).image, calexp.image + 2.0)
    assert butler.read_roots == [rerun.resolve(), root.resolve()]


def test_chained_reruns_search_depth_first(root):
    first, second = root / "rerun" / "a", root / "rerun" / "b"
    Butler(inputs=root, outputs=first).put({"n": 1}, "packages")
    butler = Butler(inputs=first, outputs=RepositoryArgs(second, "rw"))
    assert butler.read_roots == [second.resolve(), first.resolve(), root.resolve()]
    assert butler.get("packages") == {"n": 1}
    butler.put({"n": 2}, "packages")
    assert butler.get("packages") == {"n": 2}
    assert Butler(first).get("packages") == {"n": 1}


def test_do_backup_shifts_older_files(root):
    rerun = root / "rerun" / "a"
    butler = Butler(inputs=root, outputs=rerun)
    path = rerun / "config" / "packages.yaml"
    for n in range(1, 4):
        butler.put({"n": n}, "packages", doBackup=True)
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "packages.yaml", "packages.yaml~1", "packages.yaml~2"]
    assert [yaml.safe_load(p.read_text()) for p in
            (path, path.with_name("packages.yaml~1"), path.with_name("packages.yaml~2"))] == [
        {"n": 3}, {"n": 2}, {"n": 1}]
    butler.put({"n": 4}, "packages")
    assert yaml.safe_load(path.read_text()) == {"n": 4}
    assert not path.with_name("packages.yaml~3").exists()


def test_existing_output_with_other_parents_is_an_error(root, files, tmp_path):
    rerun = root / "rerun" / "a"
    Butler(inputs=root, outputs=rerun)
    other = tmp_path / "other"
    ingest_field_files(files, other)
    with pytest.raises(ParentsMismatch) as error:
        Butler(inputs=other, outputs=rerun)
    assert str(error.value) == (f"Inputs of this Butler ['{other.resolve()}'] do not match the "
                                f"parents ['{root.resolve()}'] of existing output "
                                f"{rerun.resolve()}")


def test_inputs_may_extend_the_recorded_parents(root, files, tmp_path):
    rerun = root / "rerun" / "a"
    Butler(inputs=root, outputs=rerun)
    other = tmp_path / "other"
    ingest_field_files(files, other)
    Butler(inputs=[root, other], outputs=rerun)
    assert yaml.safe_load((rerun / "repositoryCfg.yaml").read_text())["_parents"] == [
        "../..", os.path.relpath(other.resolve(), rerun.resolve())]
    with pytest.raises(ParentsMismatch):
        Butler(inputs=root, outputs=rerun)
    # With no inputs, the recorded parents are what is read.
    assert Butler(outputs=rerun).read_roots == [root.resolve(), other.resolve()]


def test_old_and_new_styles_cannot_mix(root):
    with pytest.raises(RepositoryError, match=r"^Butler: root, mapper and mapperArgs \(old style\) "
                                              r"cannot be combined with inputs and outputs "
                                              r"\(new style\)$"):
        Butler(root, inputs=root)
    with pytest.raises(RepositoryError, match="old style"):
        Butler(mapper="compat.gen2.mapper.SimCamMapper", outputs=root / "rerun" / "x")


def test_repository_argument_errors(root, tmp_path):
    with pytest.raises(RepositoryError, match=f"^{tmp_path / 'nowhere'}: input repository does "
                                              "not exist"):
        Butler(inputs=tmp_path / "nowhere", outputs=tmp_path / "out")
    with pytest.raises(RepositoryError, match="^Butler: a readable output must be the only "
                                              "output"):
        Butler(inputs=root, outputs=[{"root": tmp_path / "a", "mode": "rw"}, tmp_path / "b"])
    with pytest.raises(RepositoryError, match=f"^{tmp_path / 'lonely'}: a new output needs a "
                                              "mapper, and no input names one$"):
        Butler(outputs=tmp_path / "lonely")
    assert not (tmp_path / "lonely").exists()
    with pytest.raises(RepositoryError, match="^Butler: no writable output to put 'packages'$"):
        Butler(inputs=root).put({}, "packages")


def test_old_style_parent_symlink(root, tmp_path):
    child = tmp_path / "child"
    child.mkdir()
    (child / "_mapper").write_text("compat.gen2.mapper.SimCamMapper\n")
    (child / "_parent").symlink_to(root)
    butler = Butler(child)
    assert butler.read_roots == [child.resolve(), root.resolve()]
    assert butler.get("calexp_filename", DATA_ID) == [str((root / CALEXP).resolve())]
    with pytest.raises(NoResults, match="^No locations for get: datasetType:deepDiff_metadata "):
        butler.get("deepDiff_metadata", DATA_ID)


def test_old_style_butler_creates_a_new_repository_with_a_mapper(tmp_path):
    root = tmp_path / "fresh"
    butler = Butler(root, mapper="compat.gen2.mapper.SimCamMapper")
    assert yaml.safe_load((root / "repositoryCfg.yaml").read_text())["_parents"] == []
    butler.put({"diffim": "0.1"}, "packages")
    assert Butler(root).get("packages") == {"diffim": "0.1"}
    assert butler.read_roots == butler.write_roots == [root.resolve()]
