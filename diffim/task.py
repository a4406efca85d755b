"""The Task pattern of the Rubin stack, without its middleware.

A task is a pex_config ``Config`` plus a class whose ``run(...)`` takes
in-memory objects and returns a `Struct` of named results. Sub-tasks are
``ConfigurableField``s built with `Task.makeSubtask`, so a config file can
``retarget`` them exactly as in the stack. ``lsst.pipe.base`` is deliberately
not used here: ``diffim`` must run without any middleware, and the gen2/gen3
adapters in ``compat`` wrap these tasks.
"""
from __future__ import annotations

import functools
import logging
import sys

import lsst.pex.config as pexConfig
from threadpoolctl import ThreadpoolController

__all__ = ["Struct", "Task", "single_threaded_blas"]


def single_threaded_blas():
    """Context manager running BLAS/LAPACK on one thread.

    Dense linear algebra on many threads may round differently from one run
    to another with a different thread count; results that must be
    bit-identical whatever runs them (gen2, gen3, a test) use this around
    their solves. The matrices involved are small, so nothing is lost.

    The libraries are looked up again only when modules were imported since
    the last call (`_thread_pools`): a look-up walks every loaded shared
    library (about 3 ms, and the campaign's tasks enter this a few hundred times).
    """
    return _thread_pools(frozenset(sys.modules)).limit(limits=1, user_api="blas")


@functools.lru_cache(maxsize=1)
def _thread_pools(modules):
    """The thread pools of the shared libraries loaded while ``modules`` were imported: a BLAS
    is loaded by importing the extension module linked to it."""
    return ThreadpoolController()


class Struct:
    """Named results of a task's ``run``: attributes set from keyword arguments.

    Parameters
    ----------
    **fields
        The results, e.g. ``Struct(difference=exposure, kernel=kernel)``.
    """

    def __init__(self, **fields):
        self.__dict__.update(fields)

    def getDict(self):
        """The results as a `dict` (a copy)."""
        return dict(self.__dict__)

    def __eq__(self, other):
        return isinstance(other, Struct) and self.__dict__ == other.__dict__

    def __repr__(self):
        return f"Struct({', '.join(sorted(self.__dict__))})"


class Task:
    """Base class of ``diffim`` tasks.

    Subclasses set ``ConfigClass`` (a `lsst.pex.config.Config` subclass) and
    ``_DefaultName``.

    Parameters
    ----------
    config : `lsst.pex.config.Config`, optional
        Validated and frozen here; a default config when omitted.
    name : `str`, optional
        Task name; ``_DefaultName`` when omitted.
    parentTask : `Task`, optional
        The task that made this one as a sub-task.

    Attributes
    ----------
    metadata : `dict`
        Run-time numbers a run records (counts, timings); sub-task metadata
        is nested under the sub-task's name.
    log : `logging.Logger`
        Named ``diffim.<full task name>``.
    """

    ConfigClass = pexConfig.Config
    _DefaultName = "task"

    def __init__(self, config=None, name=None, parentTask=None):
        if config is None:
            config = self.ConfigClass()
        if not isinstance(config, self.ConfigClass):
            raise TypeError(f"{type(self).__name__} needs a {self.ConfigClass.__name__}, "
                            f"got {type(config).__name__}")
        config.validate()
        config.freeze()
        self.config = config
        self.name = name or self._DefaultName
        self.parentTask = parentTask
        self.fullName = f"{parentTask.fullName}.{self.name}" if parentTask else self.name
        self.log = logging.getLogger(f"diffim.{self.fullName}")
        self.metadata = {}
        self._subtasks = {}

    def makeSubtask(self, name, config=None, **kwargs):
        """Build the sub-task configured by ``self.config.<name>`` as ``self.<name>``.

        The target is the field's (a ``ConfigurableField``'s, retargets included,
        or a ``RegistryField``'s selection); ``config`` replaces the field's
        config, for a parent that writes its own switches over a copy.
        """
        field = getattr(self.config, name)
        if config is None:
            subtask = field.apply(name=name, parentTask=self, **kwargs)
        else:
            subtask = field.target(config=config, name=name, parentTask=self, **kwargs)
        setattr(self, name, subtask)
        self._subtasks[name] = subtask
        return subtask

    def getFullMetadata(self):
        """This task's metadata with every sub-task's nested under its name."""
        metadata = dict(self.metadata)
        for name, subtask in self._subtasks.items():
            metadata[name] = subtask.getFullMetadata()
        return metadata
