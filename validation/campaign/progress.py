"""Progress of a long campaign: scenarios and data IDs done, time spent, time left.

The estimate assumes the scenarios still to run cost what the finished ones
cost on average, which holds for a campaign's same-sized scenarios; it is
what ``run`` prints after each scenario and ``status`` shows for a running
run.
"""
from __future__ import annotations

import time

__all__ = ["CampaignProgress", "format_duration", "remaining_seconds"]


def remaining_seconds(elapsed, done, total):
    """Seconds left when ``done`` of ``total`` equal parts took ``elapsed``; `None` before one."""
    if done <= 0:
        return None
    return elapsed * (total - done) / done


def format_duration(seconds):
    """``45s``, ``3m05s``, ``2h07m``; ``?`` for `None`."""
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class CampaignProgress:
    """One line after each scenario: its verdict, the counts so far and an ETA.

    Parameters
    ----------
    scenarios : `int`
        Scenarios in the campaign.
    data_ids : `int`
        Data IDs of each scenario.
    clock : callable, optional
        Seconds, monotonic (for tests).
    """

    def __init__(self, scenarios, data_ids, clock=time.monotonic):
        self.scenarios = scenarios
        self.data_ids = data_ids
        self.done = 0
        self._clock = clock
        self._started = clock()

    def scenario_done(self, name, verdict):
        """Count scenario ``name`` as done with ``verdict``; the progress line.

        Examples
        --------
        ``[3/21] detect_only: identical | 24/168 data IDs, 1m12s elapsed, ETA 5m36s``
        """
        self.done += 1
        elapsed = self._clock() - self._started
        left = remaining_seconds(elapsed, self.done, self.scenarios)
        return (f"[{self.done}/{self.scenarios}] {name}: {verdict} | "
                f"{self.done * self.data_ids}/{self.scenarios * self.data_ids} data IDs, "
                f"{format_duration(elapsed)} elapsed, ETA {format_duration(left)}")
