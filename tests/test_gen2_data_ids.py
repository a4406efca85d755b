"""gen2's ``--id`` syntax: ranges, strides, ``^``, product order, errors, casting, missing data."""
import argparse
import logging

import pytest

from _gen2_data import FILTER, SCIENCE_VISIT, TEMPLATE_VISIT, files, make_repo  # noqa: F401
from compat.gen2 import Butler
from compat.gen2.data_ids import DataIdContainer, IdValueAction, parse_id_tokens
from compat.gen2.errors import DataIdSyntaxError


def test_ranges_strides_and_alternatives():
    assert parse_id_tokens(["visit=1..5:2^7", "ccd=0"]) == [
        {"visit": "1", "ccd": "0"}, {"visit": "3", "ccd": "0"}, {"visit": "5", "ccd": "0"},
        {"visit": "7", "ccd": "0"}]
    assert parse_id_tokens(["visit=3..3"]) == [{"visit": "3"}]
    assert parse_id_tokens(["visit=5..1"]) == []
    assert parse_id_tokens(["filter=r_sim^g..h"]) == [{"filter": "r_sim"}, {"filter": "g..h"}]


def test_product_follows_command_line_order():
    assert [tuple(d.items()) for d in parse_id_tokens(["ccd=0^1", "visit=10^11"])] == [
        (("ccd", "0"), ("visit", "10")), (("ccd", "0"), ("visit", "11")),
        (("ccd", "1"), ("visit", "10")), (("ccd", "1"), ("visit", "11"))]


@pytest.mark.parametrize("tokens, message", [
    (["visit=1", "ccd=0", "visit=2"], "visit appears multiple times in one ID argument: --id"),
    (["visit"], "--id: 'visit' is not key=value"),
    (["=3"], "--id: '=3' is not key=value"),
    (["visit=1^"], "--id: empty value for key 'visit'"),
    (["visit=1..5:0"], "--id: stride 0 in visit=1..5:0"),
])
def test_syntax_errors(tokens, message):
    with pytest.raises(DataIdSyntaxError) as error:
        parse_id_tokens(tokens)
    assert str(error.value) == message


def _parser():
    parser = argparse.ArgumentParser(prog="task", exit_on_error=False)
    parser.add_argument("--id", nargs="+", action=IdValueAction)
    return parser


def test_several_id_options_append_and_errors_are_usage_errors(capsys):
    namespace = argparse.Namespace(id=DataIdContainer("calexp"))
    _parser().parse_args(["--id", "visit=1", "ccd=0^1", "--id", "visit=10", "ccd=1"], namespace)
    assert namespace.id.idList == [{"visit": "1", "ccd": "0"}, {"visit": "1", "ccd": "1"},
                                   {"visit": "10", "ccd": "1"}]
    with pytest.raises(SystemExit) as exit_info:
        _parser().parse_args(["--id", "ccd=0", "ccd=1"], argparse.Namespace(id=DataIdContainer()))
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "task: error: ccd appears multiple times in one ID argument: --id")


@pytest.fixture(scope="module")
def butler(files, tmp_path_factory):
    base = tmp_path_factory.mktemp("gen2")
    return Butler(make_repo(files, base / "pristine", base / "repo"))


def test_cast_and_make_refs_with_warnings(butler, caplog):
    container = DataIdContainer("calexp")
    container.idList = (parse_id_tokens([f"visit={TEMPLATE_VISIT}^{SCIENCE_VISIT}^3"])
                        + parse_id_tokens(["ccd=1", "date=2024-03-31^2024-04-01"]))
    with caplog.at_level(logging.WARNING, logger="compat.gen2.data_ids"):
        container.castDataIds(butler)
        container.makeDataRefList(butler)
    assert container.idList[:3] == [{"visit": 1}, {"visit": 10}, {"visit": 3}]
    assert [ref.dataId for ref in container.refList] == [
        {"visit": 1, "ccd": 0, "filter": FILTER}, {"visit": 1, "ccd": 1, "filter": FILTER},
        {"visit": 10, "ccd": 0, "filter": FILTER}, {"visit": 10, "ccd": 1, "filter": FILTER},
        # A registry column that is no key of calexp still selects rows, with a warning.
        {"ccd": 1, "date": "2024-03-31", "visit": 10, "filter": FILTER},
        {"ccd": 1, "date": "2024-04-01", "visit": 11, "filter": FILTER}]
    assert [record.getMessage() for record in caplog.records] == [
        'Unexpected ID date; guessing type is "str"', "No data found for dataId={'visit': 3}"]


def test_unknown_key_is_a_one_line_error(butler):
    container = DataIdContainer("calexp")
    container.idList = parse_id_tokens(["visitt=10"])
    with pytest.raises(DataIdSyntaxError) as error:
        container.castDataIds(butler)
    assert str(error.value) == ("ID key 'visitt' is neither a key of 'calexp' "
                                "['ccd', 'filter', 'visit'] nor a registry column")


def test_uncastable_value_is_an_error(butler):
    container = DataIdContainer("calexp")
    container.idList = parse_id_tokens(["visit=ten"])
    with pytest.raises(DataIdSyntaxError, match="^Cannot cast value 'ten' to int for ID key "
                                                "'visit'$"):
        container.castDataIds(butler)
