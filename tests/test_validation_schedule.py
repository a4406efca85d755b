"""The lanes a campaign's backends run their scenarios in (`validation.campaign.schedule`): the
next scenario runs beside the previous one, one built on another waits for it, results come
back in order and a failure at its own scenario."""
import threading
from concurrent.futures import CancelledError
from types import SimpleNamespace

import pytest

from validation.campaign.schedule import LOOKAHEAD, _builds_on, _Lane

WAIT = 30
"""Seconds a test waits for a thread before it fails (never reached when the lane works)."""


class Calls:
    """Calls of a lane that each wait for their own release, recording starts and ends."""

    def __init__(self, count):
        self.started = [threading.Event() for _ in range(count)]
        self.release = [threading.Event() for _ in range(count)]
        self.order = []
        self._lock = threading.Lock()

    def __call__(self, index, error=None):
        self._note("start", index)
        self.started[index].set()
        assert self.release[index].wait(WAIT)
        self._note("end", index)
        if error is not None:
            raise error
        return f"result {index}"

    def _note(self, what, index):
        with self._lock:
            self.order.append((what, index))


def lane(calls, arguments, after=None):
    return _Lane(calls, arguments, after or [None] * len(arguments), "test-lane")


def test_the_next_call_starts_while_the_one_before_runs():
    calls = Calls(2)
    running = lane(calls, [(0,), (1,)])
    assert calls.started[1].wait(WAIT)  # call 0 is not released yet
    calls.release[1].set()
    assert running.result(1) == "result 1"
    assert ("end", 0) not in calls.order
    calls.release[0].set()
    assert running.result(0) == "result 0"


def test_no_more_than_one_plus_the_lookahead_run_at_once():
    count = LOOKAHEAD + 2
    calls = Calls(count)
    running = lane(calls, [(index,) for index in range(count)])
    for index in range(LOOKAHEAD + 1):
        assert calls.started[index].wait(WAIT)
    assert not calls.started[LOOKAHEAD + 1].wait(0.5)
    calls.release[0].set()
    assert calls.started[LOOKAHEAD + 1].wait(WAIT)
    for release in calls.release:
        release.set()
    assert [running.result(index) for index in range(count)] == [
        f"result {index}" for index in range(count)]


def test_a_call_built_on_another_starts_once_that_one_is_done():
    calls = Calls(3)
    running = lane(calls, [(0,), (1,), (2,)], after=[None, None, 0])
    assert calls.started[1].wait(WAIT)
    calls.release[1].set()
    assert running.result(1) == "result 1"  # a free place in the lane, but call 2 waits for 0
    assert not calls.started[2].wait(0.5)
    calls.release[0].set()
    calls.release[2].set()
    assert running.result(2) == "result 2"
    assert calls.order.index(("end", 0)) < calls.order.index(("start", 2))


def test_a_failure_ahead_is_raised_at_its_call_after_the_earlier_results():
    calls = Calls(3)
    running = lane(calls, [(0,), (1, ValueError("graph of call 1")), (2,)])
    assert calls.started[1].wait(WAIT)
    calls.release[1].set()  # call 1 fails while call 0 still runs
    with pytest.raises(ValueError, match="graph of call 1"):
        running.result(1)
    calls.release[0].set()
    assert running.result(0) == "result 0"
    with pytest.raises(CancelledError):  # nothing starts after a failure
        running.result(2)
    assert not calls.started[2].is_set()


def test_a_stopped_lane_starts_no_further_call():
    calls = Calls(3)
    running = lane(calls, [(0,), (1,), (2,)])
    assert calls.started[1].wait(WAIT)
    running.stop()
    calls.release[0].set()
    calls.release[1].set()
    assert [running.result(0), running.result(1)] == ["result 0", "result 1"]
    with pytest.raises(CancelledError):
        running.result(2)


def test_each_scenario_waits_for_the_one_it_builds_on():
    scenarios = [SimpleNamespace(name=name, builds_on=builds_on) for name, builds_on in
                 [("coadd", None), ("calexp", None), ("detect", "coadd"), ("again", "detect")]]
    assert _builds_on(scenarios) == [None, None, 0, 2]
