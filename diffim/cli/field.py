"""``diffim field``: write a simulated SimCam field as the source files both middlewares ingest."""
from __future__ import annotations

from pathlib import Path

from .sim import pair_config


def add_parser(commands):
    """Register the ``field`` subcommand."""
    parser = commands.add_parser(
        "field", help="simulate a multi-detector field and write its source files",
        description="Simulate visits x detectors, build coadds of the template visits, and "
                    "write calexps, src catalogues, skymap, coadds, reference shards and the "
                    "truth with a manifest (see diffim.sim.field_files).")
    parser.add_argument("--output-dir", required=True, type=Path, help="new directory")
    parser.add_argument("--size", type=int, help="detector side in pixels")
    parser.add_argument("--seed", type=int, help="random seed (same seed, same field)")
    parser.add_argument("--detectors", type=int, nargs=2, default=(2, 2), metavar=("NX", "NY"),
                        help="detectors in x and y (default 2 2)")
    parser.add_argument("-c", "--config", action="append", default=[], metavar="NAME=VALUE",
                        help="override a sky parameter (a PairConfig field); repeatable")
    parser.set_defaults(run=run)


def run(args):
    """Simulate, write, and print a summary of what was written."""
    # Imported here so that building the command line loads no simulator.
    from ..sim import FieldConfig, simulate_field
    from ..sim.field_files import write_field_files

    sky = pair_config(args.config, size=args.size, seed=args.seed)
    field = simulate_field(FieldConfig(sky=sky, detectors=tuple(args.detectors)))
    files = write_field_files(field, args.output_dir)
    print(f"{files.root}: {len(files.visits)} visits x {len(files.detectors)} detectors, "
          f"{len(files.coadds)} coadd patches")
