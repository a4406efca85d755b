"""gen2 on a workflow engine: each data reference of a command is a Parsl app.

gen2 never had a workflow engine: ``-j N`` ran the data references in a pool
of processes on one machine (`compat.gen2.task_runner.TaskRunner`), and that
stays. `ParslTaskRunner` sends the same targets to whatever Parsl
configuration the caller has loaded (``parsl.load``): worker processes here,
or blocks on a cluster. As before, the config, schemas and package versions
are written once, in this process, before any target runs, and each target
gets a fresh task. An app brings back its result and the log records the
task emitted; they are logged again here, in target order, so the command's
output and log handlers see what they see with ``-j 1``.

The command classes here are gen2's with this runner; their outputs are
the same files as the plain commands'.
"""
from __future__ import annotations

import logging

import parsl

from .image_difference import (
    ImageDifferenceCmdLineTask,
    ImageDifferenceTaskRunner,
    Winter2013ImageDifferenceCmdLineTask,
)
from .log_format import data_id_label
from .task_runner import TaskRunner, set_log_levels

__all__ = ["ParslImageDifferenceCmdLineTask", "ParslImageDifferenceTaskRunner", "ParslTaskRunner",
           "ParslWinter2013ImageDifferenceCmdLineTask"]


class ParslTaskRunner(TaskRunner):
    """A `TaskRunner` whose targets run as Parsl apps on the loaded Parsl configuration.

    ``-j`` is ignored: how many targets run at once is the configuration's
    number of workers.
    """

    def mapTargets(self, targetList):
        """``self(target)`` for each target as a Parsl app; results in target order."""
        app = parsl.python_app(_run_target_logged)
        root_level = logging.getLogger().getEffectiveLevel()
        futures = [app(self, target, root_level) for target in targetList]
        results = []
        for (dataRef, _), future in zip(targetList, futures):
            result, records = future.result()
            label = data_id_label.set(str(dataRef.dataId))
            try:
                for record in records:
                    logging.getLogger(record.name).handle(record)
            finally:
                data_id_label.reset(label)
            results.append(result)
        return results


class ParslImageDifferenceTaskRunner(ParslTaskRunner, ImageDifferenceTaskRunner):
    """`ImageDifferenceTaskRunner`'s targets (with the ``--templateId`` list) as Parsl apps."""


class ParslImageDifferenceCmdLineTask(ImageDifferenceCmdLineTask):
    """``imageDifference.py`` with its data references as Parsl apps."""

    RunnerClass = ParslImageDifferenceTaskRunner


class ParslWinter2013ImageDifferenceCmdLineTask(Winter2013ImageDifferenceCmdLineTask):
    """``imageDifferenceWinter2013.py`` with its data references as Parsl apps."""

    RunnerClass = ParslImageDifferenceTaskRunner


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


def _run_target_logged(runner, target, root_level):
    """Run one target in a worker: ``(runner(target), log records)``.

    A worker process serves many apps of many commands, so the log levels
    are set for each (the root level of the submitting process, then the
    command's ``-L`` levels).
    """
    set_log_levels(root_level, runner.logLevels)
    collector = _RecordCollector()
    root = logging.getLogger()
    root.addHandler(collector)
    try:
        return runner(target), collector.records
    finally:
        root.removeHandler(collector)
