"""gen2 names and values that would become paths: data-ID values, rerun names, huge ranges.

Each is refused in one line before anything is read or written, so nothing
lands outside the repository.
"""
import numpy as np
import pytest

# files, pristine and root are the shared fixtures.
from _gen2_data import FILTER, files, pristine, root  # noqa: F401
from compat.gen2 import Butler
from compat.gen2.commands import run_image_difference
from compat.gen2.data_ids import MAX_DATA_IDS, parse_id_tokens
from compat.gen2.errors import DataIdSyntaxError
from diffim import Exposure


def test_a_data_id_value_leading_out_of_the_repository_is_refused(root, tmp_path, capsys):
    victim = tmp_path / "victim"
    escape = "../" * (len(root.parts) + 2) + str(victim).lstrip("/")
    status = run_image_difference([str(root), "--id", "visit=10", "ccd=0", f"filter={escape}",
                                   "--rerun", "r"])
    assert status == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert ": error: --id: value of filter '../" in error
    assert error.endswith("may hold only letters, digits and _ . , : + = @ - (not starting with '.')")
    assert not victim.exists()
    assert not (root / "rerun" / "r").exists()


@pytest.mark.parametrize("rerun", ["../../escaped", "a/../../b", "/tmp/abs", "ok:.hidden"])
def test_a_rerun_name_leading_out_of_rerun_is_refused(root, rerun, capsys):
    status = run_image_difference([str(root), "--id", "visit=10", "ccd=0", "--rerun", rerun])
    assert status == 2
    assert "--rerun name" in capsys.readouterr().err.strip().splitlines()[-1]
    assert sorted(p.name for p in root.parent.iterdir()) == ["repo"]
    assert not (root / "rerun").exists()


def test_the_butler_api_refuses_such_values_too(root):
    butler = Butler(root)
    with pytest.raises(DataIdSyntaxError, match=r"dataset type 'calexp': value of filter '\.\./x'"):
        butler.put(Exposure(np.zeros((8, 8), np.float32)), "calexp", visit=10, ccd=0, filter="../x")
    with pytest.raises(DataIdSyntaxError, match="value of filter"):
        butler.datasetExists("calexp", visit=10, ccd=0, filter="a/b")
    assert butler.datasetExists("calexp", visit=10, ccd=0, filter=FILTER)


def test_ranges_are_counted_before_they_are_expanded():
    with pytest.raises(DataIdSyntaxError) as error:
        parse_id_tokens(["visit=1..100000000", "ccd=0^1"])
    assert str(error.value) == (f"--id visit=1..100000000 ccd=0^1: 200000000 data IDs, more than "
                                f"the limit of {MAX_DATA_IDS}; narrow the ranges or split the run")
    # Just over the limit is refused; at the limit it is expanded.
    with pytest.raises(DataIdSyntaxError):
        parse_id_tokens([f"visit=1..{MAX_DATA_IDS + 1}"])
    assert len(parse_id_tokens([f"visit=1..{MAX_DATA_IDS}"])) == MAX_DATA_IDS


def test_a_huge_range_on_the_command_line_is_one_line(root, capsys):
    status = run_image_difference([str(root), "--id", "visit=1..100000000", "--rerun", "r"])
    assert status == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].endswith(
        f": error: --id visit=1..100000000: 100000000 data IDs, more than the "
        f"limit of {MAX_DATA_IDS}; narrow the ranges or split the run")
