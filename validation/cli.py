"""``diffim-validate``: one command, a subcommand per job of the harness.

Each subcommand lives in its own module, which provides
``add_parser(subparsers)``: it adds its parser and sets ``handler`` (a
function of the parsed arguments returning the exit code) as a default.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from diffim.errors import DiffimError

from .errors import ValidationError
from .termination import exit_status, terminate_as_interrupt

__all__ = ["main"]

SUBCOMMAND_MODULES = (
    "validation.campaign.cli",
    "validation.campaign.status",
    "validation.compare.cli",
    "validation.audit.cli",
    "validation.report.cli",
)


def build_parser():
    """The ``diffim-validate`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="diffim-validate",
        description="Validate a gen2 -> gen3 image-differencing migration: run scenarios through "
                    "both middlewares, compare outputs, audit configs, write reports.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).add_parser(subparsers)
    return parser


def main(argv=None):
    """Run ``diffim-validate``; returns the exit code.

    2 for bad input or a file that cannot be read or written (one line on
    stderr), 130 after Ctrl-C and 143 after SIGTERM (one line, with the
    interrupt's notes: a campaign records its run as interrupted, or, stopped
    after recording it complete, says how to write its report), else the
    subcommand's status.
    """
    args = build_parser().parse_args(argv)
    prefix = f"diffim-validate {args.command}"
    try:
        with terminate_as_interrupt():
            return args.handler(args)
    except (ValidationError, DiffimError) as error:
        print(f"{prefix}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        print(f"{prefix}: error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        notes = "".join(f"; {note}" for note in getattr(interrupt, "__notes__", ()))
        print(f"{prefix}: interrupted ({str(interrupt) or 'SIGINT'}){notes}", file=sys.stderr)
        return exit_status(interrupt)


if __name__ == "__main__":
    sys.exit(main())
