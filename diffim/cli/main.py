"""Entry point of the ``diffim`` command: one subcommand per module.

Each subcommand module imports at its top only what its parser needs and
imports its work inside ``run``, so that ``diffim --help``, any
``diffim COMMAND --help`` and each command load no more than they use.
"""
from __future__ import annotations

import argparse
import ctypes
import signal
import sys

from ..errors import DiffimError
from . import detect, field, info, main_job, sim, subtract

SUBCOMMANDS = (sim, field, info, subtract, detect, main_job)


def build_parser():
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="diffim", description="Alard-Lupton image differencing tools.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.add_parser(commands)
    return parser


# glibc's mallopt parameters (malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_PR_SET_THP_DISABLE = 41  # linux/prctl.h


def keep_freed_memory():
    """Let this process reuse the memory of freed image-sized arrays (glibc), on 4 kB pages.

    By default glibc maps every block over 32 MB (a 4k float32 plane is 64 MB)
    with its own ``mmap`` and unmaps it when freed, and returns the top of the
    heap to the system beyond 2x that: each new temporary then costs a page
    fault per 4 kB page while the kernel zeroes it. At 4k that was a third of
    the subtract command's CPU time (sys time). With these settings blocks up
    to 1 GB come from the heap and freed ones are reused; memory is returned
    when the process ends, which for a command is soon. The peak resident
    memory is unchanged (the freed blocks are reused, not added).

    Transparent huge pages are switched off for the process (Linux's
    ``prctl(PR_SET_THP_DISABLE)``; the processes it starts inherit it): numpy
    advises them for every array of 4 MB and more, and where the kernel
    compacts memory to find each 2 MB page (``defrag=madvise``, this machine's
    and a common default) the faults cost more than the 4 kB ones they save. A
    4k ``diffim subtract``: 0.8 s more system time and 30-45 MB more peak
    memory with them (load 6-7, 3 runs each).
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt, prctl = libc.mallopt, libc.prctl
    except (OSError, AttributeError):  # not glibc (nor Linux): its own policies
        return
    # Every argument a full word (the kernel rejects non-zero unused ones); fails
    # harmlessly before Linux 3.15.
    prctl(_PR_SET_THP_DISABLE, *(ctypes.c_ulong(value) for value in (1, 0, 0, 0)))
    mallopt(_M_MMAP_THRESHOLD, 1 << 30)
    mallopt(_M_TRIM_THRESHOLD, (1 << 31) - 1)


def main(argv=None):
    """Run the command line; returns the process exit code.

    Errors on bad input (`DiffimError`) and files that cannot be read or
    written (`OSError`: no permission, a full disk) print one line on
    stderr and exit 1; Ctrl-C prints one line and exits 130, as a shell
    reports a process ended by SIGINT. Files are written under a temporary
    name, so none is left half-written under its own.
    """
    args = build_parser().parse_args(argv)
    keep_freed_memory()
    try:
        return args.run(args) or 0
    except DiffimError as error:
        print(f"diffim {args.command}: error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"diffim {args.command}: error: {where}{error.strerror or error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"diffim {args.command}: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


if __name__ == "__main__":
    sys.exit(main())
