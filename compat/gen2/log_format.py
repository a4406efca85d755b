"""gen2's log output: lines on standard output, formatted as ``lsst.log`` wrote them.

A gen2 command-line task logged through ``lsst.log`` to stdout with the
pattern ``%c %p: %m`` (``imageDifference INFO: Processing {'visit': 10,
'ccd': 0}``), or, after ``--longlog``, ``%-5p %d %c (%X{LABEL})(%F:%L)- %m``
where ``LABEL`` is the data ID being processed (the task runner sets it).
Level names are ``lsst.log``'s (``WARN``, ``FATAL``); a ``diffim`` task's
logger (``diffim.imageDifference.subtract``) shows as the stack's task
name (``imageDifference.subtract``).
"""
from __future__ import annotations

import contextvars
import logging
import sys
import time

__all__ = ["data_id_label", "gen2_log_format", "install_gen2_log_handler"]

_HANDLER_NAME = "gen2-stdout"
_LEVEL_NAMES = {logging.WARNING: "WARN", logging.CRITICAL: "FATAL", 5: "TRACE"}
_TASK_PREFIX = "diffim."

data_id_label = contextvars.ContextVar("data_id_label", default="")
"""``lsst.log``'s ``LABEL`` (MDC): the data ID the task runner is processing, or empty."""


class _Gen2Formatter(logging.Formatter):
    """``%c %p: %m`` or, long, ``%-5p %d{yyyy-MM-ddTHH:mm:ss.SSSZ} %c (%X{LABEL})(%F:%L)- %m``."""

    def __init__(self, long_format):
        super().__init__()
        self.long_format = long_format

    def format(self, record):
        name = record.name
        if name.startswith(_TASK_PREFIX):
            name = name[len(_TASK_PREFIX):]
        level = _LEVEL_NAMES.get(record.levelno, record.levelname)
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        if not self.long_format:
            return f"{name} {level}: {message}"
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return (f"{level:<5} {stamp}.{int(record.msecs):03d}Z {name} ({data_id_label.get()})"
                f"({record.filename}:{record.lineno})- {message}")


class _StdoutHandler(logging.StreamHandler):
    """A handler writing to whatever ``sys.stdout`` is when a line is logged."""

    def __init__(self):
        super().__init__(sys.stdout)

    @property
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, value):
        pass  # always the current sys.stdout


def _gen2_handler():
    return next((handler for handler in logging.getLogger().handlers
                 if handler.get_name() == _HANDLER_NAME), None)


def install_gen2_log_handler(long_format=False):
    """Log to stdout in gen2's format (the long one with ``long_format``), once.

    A second call only switches the format, as ``--longlog`` did after
    the command-line task had set the log up.
    """
    handler = _gen2_handler()
    if handler is None:
        handler = _StdoutHandler()
        handler.set_name(_HANDLER_NAME)
        logging.getLogger().addHandler(handler)
    handler.setFormatter(_Gen2Formatter(long_format))


def gen2_log_format():
    """``None`` without the gen2 handler, else whether its format is the long one."""
    handler = _gen2_handler()
    return None if handler is None else handler.formatter.long_format
