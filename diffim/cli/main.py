"""Entry point of the ``diffim`` command: one subcommand per module.

Each subcommand module imports at its top only what its parser needs and
imports its work inside ``run``, so that ``diffim --help``, any
``diffim COMMAND --help`` and each command load no more than they use.
"""
from __future__ import annotations

import argparse
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


def main(argv=None):
    """Run the command line; returns the process exit code.

    Errors on bad input (`DiffimError`) print one line on stderr and exit 1.
    """
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except DiffimError as error:
        print(f"diffim {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
