"""SIGTERM handled as Ctrl-C: the harness stops the same way whoever stops it.

A batch system, ``timeout`` or ``kill`` ends a process with SIGTERM, whose
default action kills it on the spot: a campaign's run would stay
``running`` in the database. Inside `terminate_as_interrupt`, SIGTERM
raises `Terminated`, a `KeyboardInterrupt`, so every ``except
KeyboardInterrupt`` and ``finally`` of the harness runs as for Ctrl-C (the
run is recorded as interrupted) and the command exits with 128 + the
signal's number, as a shell reports a process ended by it.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from contextlib import contextmanager

__all__ = ["Terminated", "exit_status", "terminate_as_interrupt"]

_RESEND_DELAY_SECONDS = 0.05


class Terminated(KeyboardInterrupt):
    """SIGTERM received; ``signal_number`` says which signal."""

    def __init__(self, signal_number):
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = signal_number


def exit_status(interrupt):
    """128 + the signal number of a `KeyboardInterrupt` (SIGINT's unless `Terminated`)."""
    return 128 + getattr(interrupt, "signal_number", signal.SIGINT)


@contextmanager
def terminate_as_interrupt():
    """Within the block, SIGTERM to this process raises `Terminated` in its main thread.

    Worker processes forked inside the block inherit the handler; there it
    ends the worker as SIGTERM's default action would, so that a pool can
    still stop its workers. Outside the main thread the block changes
    nothing (Python lets only the main thread set handlers).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = os.getpid()

    def handler(signal_number, frame):
        if os.getpid() != owner:
            signal.signal(signal_number, signal.SIG_DFL)
            os.kill(os.getpid(), signal_number)
            return
        raise Terminated(signal_number)

    def unraisable(info):
        # A signal arriving inside a weakref callback or __del__ (the garbage
        # collector's) raises there, where Python swallows the exception and
        # prints it: send the signal again, a moment later from another thread
        # (sent from here it would be raised inside this hook), so that it is
        # raised in ordinary code.
        if isinstance(info.exc_value, Terminated) and os.getpid() == owner:
            threading.Timer(_RESEND_DELAY_SECONDS, os.kill,
                            (owner, info.exc_value.signal_number)).start()
            return
        previous_hook(info)

    previous = signal.signal(signal.SIGTERM, handler)
    previous_hook = sys.unraisablehook
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = previous_hook
