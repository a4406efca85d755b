"""gen2's `TaskRunner`: run a command-line task once per data reference, maybe in a pool.

Once per command (`TaskRunner.precall`) the task writes its config, schemas
and package versions to the output repository, checking them against what
is there already. Then each target ``(dataRef, kwargs)`` gets a fresh task
and ``task.runDataRef(dataRef, **kwargs)``. A failure is logged in one line
with its data ID and counted (or raised, with ``--doraise``), and the
task's metadata is written for every data reference, failed or not.
With ``-j N`` the targets run in a pool of N processes, forked from a
server that imported the task's module once (`compat.worker_server`: the
process's kept pool of N if it has one, else one for the command), with
the runner (and the command's config) unpickled once per worker
(`compat.pickled`); results come back in target order, each with the log
records its task emitted, logged again here (`compat.gen2.worker_logs`). ``--profile FILE`` runs the targets under cProfile (in
this process: with ``-j`` that is the pool's dispatching, as in gen2).
"""
from __future__ import annotations

import contextlib
import cProfile
import functools
import logging

from diffim.cli.main import keep_freed_memory
from diffim.task import Struct

from ..pickled import Pickled
from ..worker_server import worker_context, worker_pool
from .config_overrides import first_line
from .errors import format_data_id
from .log_format import data_id_label
from .worker_logs import log_again, run_pickled_target

__all__ = ["TaskRunner"]


class TaskRunner:
    """Run a `compat.gen2.cmd_line_task.CmdLineTask` over the data references of a command.

    Parameters
    ----------
    TaskClass : `type`
        A `compat.gen2.cmd_line_task.CmdLineTask` subclass.
    parsedCmd : `argparse.Namespace`
        From `compat.gen2.argument_parser.ArgumentParser.parse_args`.
    doReturnResults : `bool`
        Return each ``runDataRef`` result, data reference and metadata (not
        only the exit status). Results must pickle when ``-j`` > 1.
    """

    TIMEOUT = 3600 * 24 * 30
    """Default time limit of a multiprocessing run, in seconds (gen2's 30 days)."""

    def __init__(self, TaskClass, parsedCmd, doReturnResults=False):
        self.TaskClass = TaskClass
        self.doReturnResults = bool(doReturnResults)
        self.config = parsedCmd.config
        self.log = parsedCmd.log
        self.doRaise = bool(parsedCmd.doraise)
        self.clobberConfig = bool(parsedCmd.clobberConfig)
        self.doBackup = not bool(parsedCmd.noBackupConfig)
        self.numProcesses = max(1, int(getattr(parsedCmd, "processes", 1)))
        self.timeout = getattr(parsedCmd, "timeout", None) or self.TIMEOUT
        self.logLevels = list(getattr(parsedCmd, "loglevel", []))
        self.profile = getattr(parsedCmd, "profile", None)

    @staticmethod
    def getTargetList(parsedCmd, **kwargs):
        """``[(dataRef, kwargs)]``: one target per data reference of ``--id``."""
        return [(ref, kwargs) for ref in parsedCmd.id.refList]

    def makeTask(self, parsedCmd=None, args=None):
        """A new task with the command's config."""
        return self.TaskClass(config=self.config)

    def run(self, parsedCmd):
        """Run the task on every target.

        Returns
        -------
        resultList : `list` [`diffim.task.Struct`]
            One per target, in target order, each with ``exitStatus`` (0 or
            1). If writing the config, schemas or versions failed (and
            ``--doraise`` is off) no target runs and each is reported failed:
            gen2 returned no results then, and so exited with status 0.
        """
        targetList = self.getTargetList(parsedCmd)
        if not self.precall(parsedCmd):
            return [Struct(exitStatus=1) for _ in targetList]
        if not targetList:
            self.log.warning('Not running the task because there is no data to process; '
                             'you may preview data using "--show data"')
            return []
        with _profiling(self.profile, self.log):
            return self.mapTargets(targetList)

    def mapTargets(self, targetList):
        """``self(target)`` for each target, in target order: here, or in a pool of ``-j``."""
        if self.numProcesses == 1:
            return [self(target) for target in targetList]
        run = functools.partial(run_pickled_target, Pickled(self),
                                root_level=logging.getLogger().getEffectiveLevel())
        # Forked from a server, not from here: a fork of a process that has used OpenMP can
        # hang. Each worker reuses its freed image-sized blocks, as the diffim command does.
        context = worker_context([self.TaskClass.__module__, __name__])
        with worker_pool(self.numProcesses, context, initializer=keep_freed_memory) as pool:
            outcomes = list(pool.map(run, targetList, timeout=self.timeout))
        return [log_again(target, outcome) for target, outcome in zip(targetList, outcomes)]

    def precall(self, parsedCmd):
        """Write the config, schemas and package versions once; `False` if that failed."""
        task = self.makeTask(parsedCmd=parsedCmd)
        try:
            task.writeConfig(parsedCmd.butler, clobber=self.clobberConfig, doBackup=self.doBackup)
            task.writeSchemas(parsedCmd.butler, clobber=self.clobberConfig, doBackup=self.doBackup)
            if not parsedCmd.noVersions:
                task.writePackageVersions(parsedCmd.butler, clobber=parsedCmd.clobberVersions)
        except Exception as error:
            if self.doRaise:
                raise
            task.log.critical("Failed in task initialization: %s", first_line(error))
            return False
        return True

    def __call__(self, args):
        """Run the task on one target ``(dataRef, kwargs)``; what the pool maps."""
        dataRef, kwargs = args
        label = data_id_label.set(str(dataRef.dataId))
        task = self.makeTask(args=args)
        result, exitStatus = None, 0
        try:
            result = self.runTask(task, dataRef, kwargs)
        except Exception as error:
            if self.doRaise:
                raise
            task.log.critical("Failed on dataId=%s: %s: %s", format_data_id(dataRef.dataId),
                              type(error).__name__, first_line(error))
            task.log.debug("Traceback of the failure on dataId=%s",
                           format_data_id(dataRef.dataId), exc_info=True)
            exitStatus = 1
        finally:
            task.writeMetadata(dataRef)
            data_id_label.reset(label)
        if self.doReturnResults:
            return Struct(exitStatus=exitStatus, dataRef=dataRef, metadata=task.metadata,
                          result=result)
        return Struct(exitStatus=exitStatus)

    def runTask(self, task, dataRef, kwargs):
        """``task.runDataRef(dataRef, **kwargs)``."""
        return task.runDataRef(dataRef, **kwargs)


@contextlib.contextmanager
def _profiling(filename, log):
    """Profile the block with cProfile into ``filename`` (gen2's ``--profile``), if given."""
    if not filename:
        yield
        return
    profile = cProfile.Profile()
    log.info("Enabling cProfile profiling")
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(filename)
        log.info("cProfile stats written to %s", filename)
