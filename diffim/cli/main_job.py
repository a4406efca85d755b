"""``diffim main``: the project's main job, run by ``make run``.

For now it simulates a science/template pair on built-in settings, writes it,
reads it back and prints what each file holds. Later it becomes the default
validation campaign.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..exposure_io import read_exposure
from .info import describe
from .sim import pair_config, write_pair

MAIN_JOB_SIZE = 1024
MAIN_JOB_SEED = 1


def add_parser(commands):
    """Register the ``main`` subcommand."""
    parser = commands.add_parser("main", help="run the main job (what `make run` does)",
                                 description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("runs/main"),
                        help="directory for the job's outputs (default: runs/main)")
    parser.set_defaults(run=run)


def run(args):
    """Simulate, write, read back and describe a pair."""
    config = pair_config([], size=MAIN_JOB_SIZE, seed=MAIN_JOB_SEED)
    science_path, template_path, truth_path = write_pair(config, args.output_dir)
    for path in (science_path, template_path):
        print(f"{path}:")
        print(describe(read_exposure(path)))
    truth = pd.read_parquet(truth_path)
    counts = ", ".join(f"{kind}: {n}" for kind, n in truth["kind"].value_counts().items())
    print(f"{truth_path}: {len(truth)} sources ({counts})")
