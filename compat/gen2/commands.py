"""The gen2 command ``imageDifference.py``, and its in-process form.

``imageDifference.py REPO --id visit=10 ccd=0^1 [--templateId visit=1] (--rerun OUT | --output DIR)
[-c name=value ...] [-C file ...] [--show ...] [-j N] [--doraise] [--noExit] ...``,
and ``imageDifferenceWinter2013.py`` (the same with the Winter 2013 task).
The console scripts log to stdout in gen2's format (`compat.gen2.log_format`).

The exit status is the number of data references that failed (0 with
``--noExit``), 2 for a usage error, 0 after ``--show`` without ``run``.
"""
from __future__ import annotations

import logging
import sys

from diffim.cli.main import keep_freed_memory

from .image_difference import ImageDifferenceCmdLineTask, Winter2013ImageDifferenceCmdLineTask
from .log_format import install_gen2_log_handler

__all__ = ["image_difference_main", "image_difference_winter2013_main", "run_image_difference"]


def run_image_difference(argv, taskClass=ImageDifferenceCmdLineTask):
    """Run ``imageDifference.py`` with arguments ``argv`` in this process.

    Parameters
    ----------
    argv : `list` [`str`]
        The arguments after the command name.
    taskClass : `type`
        `compat.gen2.image_difference.ImageDifferenceCmdLineTask` or
        `compat.gen2.image_difference.Winter2013ImageDifferenceCmdLineTask`.

    Returns
    -------
    status : `int`
        What the command would exit with; never calls `sys.exit`, so a
        caller may run it many times.

    Notes
    -----
    ``-j N`` starts worker processes with ``spawn``, which re-imports the
    calling script: a script calling this with ``-j`` needs the usual
    ``if __name__ == "__main__":`` guard.
    """
    try:
        result = taskClass.parseAndRun(args=list(argv))
    except SystemExit as exit_info:
        code = exit_info.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0 if result.parsedCmd.noExit else result.nFailed


def image_difference_main(argv=None, taskClass=ImageDifferenceCmdLineTask):
    """The ``imageDifference.py`` console script: log as gen2 did, run, return the exit status.

    Freed image-sized blocks are reused (`diffim.cli.main.keep_freed_memory`), as in the
    ``diffim`` command.
    """
    logging.getLogger().setLevel(logging.INFO)
    install_gen2_log_handler()
    keep_freed_memory()
    return run_image_difference(sys.argv[1:] if argv is None else argv, taskClass=taskClass)


def image_difference_winter2013_main(argv=None):
    """The ``imageDifferenceWinter2013.py`` console script."""
    return image_difference_main(argv, taskClass=Winter2013ImageDifferenceCmdLineTask)
