"""diffim.io.parsed_kept: each parse once per key, handed out as copies or shared."""
import pytest

from diffim.io.parsed_kept import ParsedKept


class _Counting:
    def __init__(self):
        self.calls = []

    def parse(self, value):
        def parse():
            self.calls.append(value)
            return {"value": value}
        return parse


def test_a_key_is_parsed_once_and_handed_out_as_copies():
    kept, counting = ParsedKept(4, copied=True), _Counting()
    first = kept.get(b"a", counting.parse(1))
    second = kept.get(b"a", counting.parse(2))
    assert counting.calls == [1]
    assert first == second == {"value": 1} and first is not second
    first["value"] = 9
    assert kept.get(b"a", counting.parse(3)) == {"value": 1}


def test_shared_parses_are_the_kept_object():
    kept, counting = ParsedKept(4, copied=False), _Counting()
    assert kept.get(b"a", counting.parse(1)) is kept.get(b"a", counting.parse(2))
    assert counting.calls == [1]


def test_no_key_is_parsed_every_time_and_not_kept():
    kept, counting = ParsedKept(4, copied=True), _Counting()
    assert kept.get(None, counting.parse(1)) == {"value": 1}
    assert kept.get(None, counting.parse(2)) == {"value": 2}
    assert counting.calls == [1, 2]


def test_the_least_recently_used_is_dropped():
    kept, counting = ParsedKept(2, copied=False), _Counting()
    kept.get(b"a", counting.parse("a"))
    kept.get(b"b", counting.parse("b"))
    kept.get(b"a", counting.parse("a again"))  # a is now the most recent
    kept.get(b"c", counting.parse("c"))  # drops b
    kept.get(b"a", counting.parse("a third"))
    kept.get(b"b", counting.parse("b again"))
    assert counting.calls == ["a", "b", "c", "b again"]


def test_a_failed_parse_is_not_kept():
    kept, counting = ParsedKept(2, copied=True), _Counting()

    def failing():
        raise ValueError("bad cards")

    with pytest.raises(ValueError, match="^bad cards$"):
        kept.get(b"a", failing)
    assert kept.get(b"a", counting.parse(1)) == {"value": 1}
    assert counting.calls == [1]


def test_the_budget_is_the_sources_bytes():
    kept, counting = ParsedKept(10, copied=False), _Counting()
    kept.get(b"a" * 6, counting.parse("a"))
    kept.get(b"b" * 4, counting.parse("b"))  # 10 bytes: both kept
    kept.get(b"a" * 6, counting.parse("a again"))
    kept.get(b"c" * 3, counting.parse("c"))  # 13 bytes: b, the least recent, dropped
    kept.get(b"a" * 6, counting.parse("a third"))
    kept.get(b"b" * 4, counting.parse("b again"))
    assert counting.calls == ["a", "b", "c", "b again"]
    kept.get(b"d" * 11, counting.parse("d"))  # larger than the budget: parsed, not kept
    kept.get(b"d" * 11, counting.parse("d again"))
    kept.get(b"b" * 4, counting.parse("b third"))  # and the others stay
    assert counting.calls[-2:] == ["d", "d again"]
