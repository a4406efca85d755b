"""validation.report.json_text: the text of json.dumps(indent=...), character for character."""
import json

import pytest

from validation.model import Verdict
from validation.report.json_text import indented_json

DOCUMENT = {
    "floats": [0.0, -0.0, 1.5, -2.25e-308, 1e300, 0.1 + 0.2, float("nan"), float("inf"), float("-inf")],
    "integers": [0, -1, 2**70, True, False, None],
    "strings": ["", "plain", "quote \" and \\ back", "tab\tnew\nline\x00", "σ − é ✓", "\U0001f600"],
    "empty": {"list": [], "dict": {}, "tuple": ()},
    "nested": [[[1, [2, {}]]], {"a": {"b": [{"c": ()}]}}, (3, (4,))],
    "key with “quotes” and\nnewline": {"z": 1, "a": 2},
}


@pytest.mark.parametrize("indent", [1, 2, 4])
def test_same_text_as_json_dumps(indent):
    assert indented_json(DOCUMENT, indent) == json.dumps(DOCUMENT, indent=indent)


@pytest.mark.parametrize("value", [[], {}, 0.5, "x", None, [float("nan")]])
def test_same_text_for_a_bare_value(value):
    assert indented_json(value) == json.dumps(value, indent=1)


def test_keys_and_values_it_does_not_cover_are_json_dumps_own():
    # int keys become strings, str subclasses their text: as json.dumps makes them
    document = {"verdicts": [Verdict.IDENTICAL], "by_visit": {10: "a", 2.5: "b"}}
    assert indented_json(document) == json.dumps(document, indent=1)
    with pytest.raises(TypeError, match="set is not JSON serializable"):
        indented_json({"bad": {1, 2}})
