"""``diffim-gen3-ingest SOURCE_DIR REPO``: a field directory into a gen3 repository."""
from __future__ import annotations

import argparse
import sys

from diffim.sim.field_files import FieldFilesError, read_field_files

from .errors import Gen3Error
from .repo import INPUT_RUN

__all__ = ["main"]


def main(argv=None):
    """Parse, ingest, print one line; return the exit status.

    Parameters
    ----------
    argv : `list` [`str`], optional
        Arguments after the program name; ``sys.argv[1:]`` when omitted.
    """
    parser = argparse.ArgumentParser(
        prog="diffim-gen3-ingest",
        description="Ingest a field directory (diffim.sim.field_files) into a gen3 repository, "
                    "created if missing.")
    parser.add_argument("source", help="field directory (with manifest.json)")
    parser.add_argument("repo", help="gen3 repository root")
    parser.add_argument("--run", default=INPUT_RUN, help=f"RUN collection (default {INPUT_RUN})")
    parser.add_argument("--transfer", default="copy",
                        help="butler ingest transfer mode (default copy)")
    args = parser.parse_args(argv)
    from .ingest import ingest_field_files  # the butler import is slow: not for --help

    try:
        files = read_field_files(args.source)
        ingest_field_files(args.repo, files, run=args.run, transfer=args.transfer)
    except (FieldFilesError, Gen3Error) as error:
        print(f"diffim-gen3-ingest: {error}", file=sys.stderr)
        return 1
    print(f"{args.repo}: ingested {len(files.calexps)} calexps, {len(files.coadds)} coadd "
          f"patches and the reference shards of {args.source} into {args.run}")
    return 0
