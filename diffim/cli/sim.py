"""``diffim sim``: write a simulated science/template pair and its truth table."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..config.paths import literal_or_text
from ..errors import SimulationError

SCIENCE_FILE = "science.fits"
TEMPLATE_FILE = "template.fits"
TRUTH_FILE = "truth.parquet"


def add_parser(commands):
    """Register the ``sim`` subcommand."""
    parser = commands.add_parser(
        "sim", help="simulate a science/template pair with a truth table",
        description=f"Write {SCIENCE_FILE}, {TEMPLATE_FILE} and {TRUTH_FILE} into a directory.")
    parser.add_argument("--output-dir", required=True, type=Path, help="directory to write into")
    parser.add_argument("--size", type=int, help="image side in pixels")
    parser.add_argument("--seed", type=int, help="random seed (same seed, same images)")
    parser.add_argument("-c", "--config", action="append", default=[], metavar="NAME=VALUE",
                        help="override a simulation parameter (a PairConfig field); repeatable")
    parser.set_defaults(run=run)


def run(args):
    """Simulate, write, and print one line per file."""
    config = pair_config(args.config, size=args.size, seed=args.seed)
    for path in write_pair(config, args.output_dir):
        print(path)


def pair_config(overrides, **options):
    """A `PairConfig` from ``NAME=VALUE`` strings and keyword options (None = default).

    Raises
    ------
    SimulationError
        If a name is not a `PairConfig` field or a value is not a Python literal.
    """
    # Imported here (as in `write_pair`) so that building the command line loads no simulator.
    from ..sim import PairConfig

    fields = {field.name for field in dataclasses.fields(PairConfig)}
    values = {name: value for name, value in options.items() if value is not None}
    for override in overrides:
        name, sep, text = override.partition("=")
        name = name.strip()
        if not sep or name not in fields:
            raise SimulationError(f"unknown simulation parameter {override!r}; "
                                  f"known: {', '.join(sorted(fields))}")
        values[name] = literal_or_text(text)
    return PairConfig(**values)


def write_pair(config, output_dir):
    """Simulate a pair and write it; returns the paths written."""
    from ..io.atomic import write_parquet
    from ..io.exposure_fits import write_exposure
    from ..sim import simulate_pair

    pair = simulate_pair(config)
    output_dir = Path(output_dir)
    paths = (output_dir / SCIENCE_FILE, output_dir / TEMPLATE_FILE, output_dir / TRUTH_FILE)
    write_exposure(pair.science, paths[0])
    write_exposure(pair.template, paths[1])
    write_parquet(paths[2], pair.truth)
    return paths
