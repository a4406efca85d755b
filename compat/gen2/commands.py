"""The gen2 command ``imageDifference.py``, and its in-process form.

``imageDifference.py REPO --id visit=10 ccd=0^1 [--templateId visit=1] [--rerun OUT]
[-c name=value ...] [-C file ...] [--show ...] [-j N] [--doraise] [--noExit] ...``

The exit status is the number of data references that failed (0 with
``--noExit``), 2 for a usage error, 0 after ``--show`` without ``run``.
"""
from __future__ import annotations

import logging
import sys

from .image_difference import ImageDifferenceCmdLineTask

__all__ = ["image_difference_main", "run_image_difference"]


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


def image_difference_main(argv=None):
    """The ``imageDifference.py`` console script: log to stderr, run, return the exit status."""
    logging.basicConfig(level=logging.INFO, format="%(name)s %(levelname)s: %(message)s")
    return run_image_difference(sys.argv[1:] if argv is None else argv)
