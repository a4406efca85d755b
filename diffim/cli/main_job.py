"""``diffim main``: the project's main job, run by ``make run``.

For now: simulate a science/template pair on built-in settings, subtract it
with the default `AlardLuptonSubtractTask`, write everything, and print what
the files hold and how the subtraction compares with the simulation's truth.
It becomes the default validation campaign as the harness lands.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..exposure_io import read_exposure, write_exposure
from ..stats import robust_median_sigma
from ..subtract import AlardLuptonSubtractTask
from .info import describe
from .sim import pair_config, write_pair
from .subtract import summary_line

MAIN_JOB_SIZE = 1024
MAIN_JOB_SEED = 1
MAIN_JOB_STAR_DENSITY = 1000.0
DIFFERENCE_FILE = "difference.fits"


def add_parser(commands):
    """Register the ``main`` subcommand."""
    parser = commands.add_parser("main", help="run the main job (what `make run` does)",
                                 description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("runs/main"),
                        help="directory for the job's outputs (default: runs/main)")
    parser.set_defaults(run=run)


def run(args):
    """Simulate, subtract, write, and report against the truth."""
    config = pair_config([f"star_density={MAIN_JOB_STAR_DENSITY}"], size=MAIN_JOB_SIZE,
                         seed=MAIN_JOB_SEED)
    science_path, template_path, truth_path = write_pair(config, args.output_dir)
    science, template = read_exposure(science_path), read_exposure(template_path)
    for path, exposure in ((science_path, science), (template_path, template)):
        print(f"{path}:")
        print(describe(exposure))

    task = AlardLuptonSubtractTask()
    difference = task.run(template, science).difference
    difference_path = Path(args.output_dir) / DIFFERENCE_FILE
    write_exposure(difference, difference_path)
    print(summary_line(difference_path, difference, task.metadata))
    true_ratio = science.metadata["sim_flux_ratio"]
    good = ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "BAD", "SAT_TEMPLATE"])
    residual = robust_median_sigma(difference.image[good] / np.sqrt(difference.variance[good]))[1]
    print(f"truth: flux ratio {true_ratio:.5f}, kernel sum error "
          f"{100 * (task.metadata['kernelSum'] / true_ratio - 1):+.3f} %, "
          f"robust std of difference/sigma {residual:.4f}")
