"""Bounds on what the audit reads, so that one hostile file costs one line, not the machine.

The audit reads files it did not write, from anywhere. Each is bounded:

- only regular files are read, opened without blocking (a FIFO, a device
  such as ``/dev/zero`` or a socket is refused, never read), and at most
  `MAX_FILE_BYTES` of them;
- YAML is composed first and refused when its node tree, with every alias
  expanded, has more than `MAX_YAML_NODES` nodes or is nested deeper than
  `MAX_YAML_DEPTH` (a 600-byte "billion laughs" document expands to 10^9);
- Python nested too deeply for the parser (`RecursionError`,
  `MemoryError` from its stack) is reported, not raised;
- parsing a file may take at most `MAX_SECONDS` of the parsing thread's CPU
  time (in the main thread, where it can be interrupted; elsewhere the size
  limit bounds it). That thread's CPU time, not wall time nor the process's,
  so that neither a loaded machine nor other busy threads turn a slow but
  good file into a "not parsed" one (the verdicts must not depend on what
  else runs).

`LIMIT_ERRORS` are what a file over a bound raises; `describe` words them.
"""
from __future__ import annotations

import _thread
import os
import signal
import stat
import threading
import time
from contextlib import contextmanager

import yaml

__all__ = ["LIMIT_ERRORS", "LimitExceeded", "MAX_FILE_BYTES", "MAX_SECONDS", "MAX_YAML_DEPTH",
           "MAX_YAML_NODES", "check_yaml", "describe", "read_regular_file", "time_limit"]

MAX_FILE_BYTES = 4 * 2**20
"""Largest file read (persisted configs of the stack are well under 1 MiB)."""

MAX_YAML_NODES = 100_000
"""Most nodes of a YAML document with its aliases expanded."""

MAX_YAML_DEPTH = 100
"""Deepest nesting of YAML collections."""

MAX_SECONDS = 10.0
"""Most CPU seconds (user + system, of the parsing thread) a file's parsing may take."""


class LimitExceeded(Exception):
    """A file is over one of the audit's bounds; the message says which, in one line."""


LIMIT_ERRORS = (LimitExceeded, RecursionError, MemoryError)
"""What auditing a file over a bound raises."""


def describe(error):
    """One line saying which bound an error of `LIMIT_ERRORS` hit."""
    if isinstance(error, LimitExceeded):
        return str(error)
    return "nested too deeply to parse"


def read_regular_file(path):
    """The bytes of ``path``, if it is a regular file of at most `MAX_FILE_BYTES`.

    Raises
    ------
    LimitExceeded
        If it is not a regular file (checked on the open file, so it cannot
        be swapped in between), or is larger.
    OSError
        If it cannot be opened or read.
    """
    # O_NONBLOCK: opening a FIFO without a writer would otherwise wait forever.
    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(descriptor, "rb") as stream:
        mode = os.fstat(descriptor).st_mode
        if not stat.S_ISREG(mode):
            raise LimitExceeded(f"not a regular file ({_file_kind(mode)})")
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise LimitExceeded(f"larger than {MAX_FILE_BYTES} bytes")
    return data


def _file_kind(mode):
    kinds = {stat.S_ISDIR: "a directory", stat.S_ISFIFO: "a FIFO", stat.S_ISCHR: "a device",
             stat.S_ISBLK: "a device", stat.S_ISSOCK: "a socket"}
    return next((kind for test, kind in kinds.items() if test(mode)), "not a file")


def check_yaml(text):
    """Raise `LimitExceeded` if the YAML ``text`` expands too far or nests too deep.

    Only composes the document (no Python object is built); syntax errors
    are left to the reader, which reports them its own way.
    """
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.YAMLError:
        return
    sizes = {}
    for node in nodes:
        _expanded_size(node, sizes, depth=1)


def _expanded_size(node, sizes, depth):
    """Nodes under ``node`` counting each alias as what it stands for (memoised by node)."""
    if depth > MAX_YAML_DEPTH:
        raise LimitExceeded(f"YAML nested deeper than {MAX_YAML_DEPTH}")
    if id(node) in sizes:
        return sizes[id(node)]
    children = []
    if isinstance(node, yaml.SequenceNode):
        children = node.value
    elif isinstance(node, yaml.MappingNode):
        children = [item for pair in node.value for item in pair]
    size = 1 + sum(_expanded_size(child, sizes, depth + 1) for child in children)
    if size > MAX_YAML_NODES:
        raise LimitExceeded(f"YAML with aliases expanded has more than {MAX_YAML_NODES} nodes")
    sizes[id(node)] = size
    return size


@contextmanager
def time_limit(seconds=MAX_SECONDS):
    """Raise `LimitExceeded` in the block when the main thread uses more than ``seconds`` of CPU
    in it.

    The main thread's own CPU clock (user and system time of that thread only:
    neither waiting for the CPU on a loaded machine nor other busy threads of
    this process count) is read every `_WATCH_SECONDS` by a watcher thread,
    which then interrupts the main thread (`_thread.interrupt_main`). Only in
    the main thread, where the interrupt is delivered, and only when no
    handler of `_SIGNAL` is installed (whose owner it would disturb);
    otherwise the block runs unbounded.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(_SIGNAL) not in (signal.SIG_DFL, signal.SIG_IGN)):
        yield
        return
    clock = time.pthread_getcpuclockid(threading.get_ident())
    deadline = time.clock_gettime(clock) + seconds
    inside, finished = [True], threading.Event()

    def expired(signal_number, frame):
        if inside[0]:  # an interrupt arriving as the block ends is dropped
            raise LimitExceeded(f"parsing took more than {seconds:g} CPU s")

    def watch():
        while not finished.wait(_WATCH_SECONDS):
            if time.clock_gettime(clock) > deadline:
                _thread.interrupt_main(_SIGNAL)
                return

    previous = signal.signal(_SIGNAL, expired)
    watcher = threading.Thread(target=watch, name="audit-time-limit", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        inside[0] = False
        finished.set()
        watcher.join()
        signal.signal(_SIGNAL, previous)


_SIGNAL = signal.SIGPROF
"""The signal whose handler raises `LimitExceeded` (raised in the main thread, never sent)."""

_WATCH_SECONDS = 0.05
"""How often the watcher reads the main thread's CPU clock."""
