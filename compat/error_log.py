"""The ERROR lines logged while a middleware command runs: how it reports what failed.

gen2's ``imageDifference.py`` logs a failed data reference and carries on;
gen3's graph builder logs why it pruned a quantum. Callers that run them in
process collect those lines to say, in one line, what went wrong.
"""
from __future__ import annotations

import logging
import threading

__all__ = ["ErrorLines"]


class ErrorLines(logging.Handler):
    """A context manager collecting the first line of every ERROR record logged inside it.

    Only records logged by the thread that entered it count: a campaign may run
    the two middlewares' commands in two threads at once, each with its own.

    Attributes
    ----------
    lines : `list` [`str`]
        In the order logged.
    """

    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.lines = []
        self._thread = None

    def emit(self, record):
        # The thread logging now, not record.thread: a record a worker process sent back
        # (compat.gen2.worker_logs) carries the worker's thread.
        if threading.get_ident() == self._thread:
            self.lines.append(record.getMessage().splitlines()[0])

    def __enter__(self):
        self._thread = threading.get_ident()
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc_info):
        logging.getLogger().removeHandler(self)
