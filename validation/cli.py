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

__all__ = ["main"]

SUBCOMMAND_MODULES = (
    "validation.campaign.cli",
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
    """Run ``diffim-validate``; returns the exit code (2 for bad input)."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ValidationError, DiffimError) as error:
        print(f"diffim-validate {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
