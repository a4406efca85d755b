"""gen2 on a workflow engine: each data reference of a command is a Parsl app.

gen2 never had a workflow engine: ``-j N`` ran the data references in a pool
of processes on one machine (`compat.gen2.task_runner.TaskRunner`), and that
stays. `ParslTaskRunner` sends the same targets to whatever Parsl
configuration the caller has loaded (``parsl.load``): worker processes here,
or blocks on a cluster. As before, the config, schemas and package versions
are written once, in this process, before any target runs, and each target
gets a fresh task. An app brings back its result and the log records the
task emitted, logged again here in target order (`compat.gen2.worker_logs`),
as with gen2's own pool. The runner (with the command's config) is pickled
once per command and unpickled once per worker (`compat.pickled`), not once
per target.

The command classes here are gen2's with this runner; their outputs are
the same files as the plain commands'.
"""
from __future__ import annotations

import logging

import parsl

from ..pickled import Pickled
from .image_difference import (
    ImageDifferenceCmdLineTask,
    ImageDifferenceTaskRunner,
    Winter2013ImageDifferenceCmdLineTask,
)
from .task_runner import TaskRunner
from .worker_logs import log_again, run_pickled_target

__all__ = ["PARSL_COMMANDS", "ParslImageDifferenceCmdLineTask", "ParslImageDifferenceTaskRunner",
           "ParslTaskRunner", "ParslWinter2013ImageDifferenceCmdLineTask"]


class ParslTaskRunner(TaskRunner):
    """A `TaskRunner` whose targets run as Parsl apps on the loaded Parsl configuration.

    ``-j`` is ignored: how many targets run at once is the configuration's
    number of workers.
    """

    def mapTargets(self, targetList):
        """``self(target)`` for each target as a Parsl app; results in target order."""
        app = parsl.python_app(run_pickled_target)
        runner, root_level = Pickled(self), logging.getLogger().getEffectiveLevel()
        futures = [app(runner, target, root_level) for target in targetList]
        return [log_again(target, future.result()) for target, future in zip(targetList, futures)]


class ParslImageDifferenceTaskRunner(ParslTaskRunner, ImageDifferenceTaskRunner):
    """`ImageDifferenceTaskRunner`'s targets (with the ``--templateId`` list) as Parsl apps."""


class ParslImageDifferenceCmdLineTask(ImageDifferenceCmdLineTask):
    """``imageDifference.py`` with its data references as Parsl apps."""

    RunnerClass = ParslImageDifferenceTaskRunner


class ParslWinter2013ImageDifferenceCmdLineTask(Winter2013ImageDifferenceCmdLineTask):
    """``imageDifferenceWinter2013.py`` with its data references as Parsl apps."""

    RunnerClass = ParslImageDifferenceTaskRunner


PARSL_COMMANDS = {command.__bases__[0]: command for command in
                  (ParslImageDifferenceCmdLineTask, ParslWinter2013ImageDifferenceCmdLineTask)}
"""gen2's command class -> the same command with its data references as Parsl apps."""
