"""A data reference run in another process logs there; its records come back and are logged here.

Whether a target runs in this process, in gen2's ``-j`` pool or as a Parsl
app, the command's log handlers (gen2's stdout lines, a caller collecting
ERROR lines) see the same records: a worker collects what the task logs and
returns it with the result, and the command logs it again, target by
target, in target order (not interleaved as they happened).
"""
from __future__ import annotations

import logging

from .config_overrides import LOG_LEVELS
from .log_format import data_id_label

__all__ = ["log_again", "run_pickled_target", "run_target_logged", "set_log_levels"]


class _RecordCollector(logging.Handler):
    """Keeps every record it is given, made picklable: the message formatted, with the
    traceback (if any) as text after it."""

    def __init__(self):
        super().__init__()
        self.records = []

    def emit(self, record):
        record.msg, record.args = record.getMessage(), None
        if record.exc_info:
            record.msg += "\n" + logging.Formatter().formatException(record.exc_info)
            record.exc_info = record.exc_text = None
        self.records.append(record)


def run_target_logged(runner, target, root_level):
    """Run one target in a worker: ``(runner(target), the log records it emitted)``.

    A worker process serves many targets, maybe of several commands, so the
    levels are set for each: the root level of the command's process, then
    the command's ``-L`` levels.

    Parameters
    ----------
    runner : `compat.gen2.task_runner.TaskRunner`
    target : `tuple`
        ``(dataRef, kwargs)``.
    root_level : `int`
        The command's effective root log level.
    """
    set_log_levels(root_level, runner.logLevels)
    collector = _RecordCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        return runner(target), collector.records
    finally:
        root.removeHandler(collector)


def run_pickled_target(runner, target, root_level):
    """`run_target_logged` with a `compat.pickled.Pickled` runner, unpickled once per worker."""
    return run_target_logged(runner.load(), target, root_level)


def log_again(target, outcome):
    """Log a worker's records here (with the target's data ID as ``LABEL``); its result."""
    result, records = outcome
    label = data_id_label.set(str(target[0].dataId))
    try:
        for record in records:
            logging.getLogger(record.name).handle(record)
    finally:
        data_id_label.reset(label)
    return result


def set_log_levels(root_level, log_levels):
    """The root logger's level, then each ``-L [COMPONENT=]LEVEL``, in this process."""
    logging.getLogger().setLevel(root_level)
    for component, level in log_levels:
        logging.getLogger(component or None).setLevel(LOG_LEVELS[level])
