"""``diffim main``: the project's main job, run by ``make run``.

For now: simulate a science/template pair on built-in settings, subtract it
with the default `AlardLuptonSubtractTask`, detect and measure DIA sources,
write everything, and print what the files hold and how the results compare
with the simulation's truth. It becomes the default validation campaign as
the harness lands.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .detect import summary_line as detection_summary
from .info import describe
from .sim import pair_config, write_pair
from .subtract import summary_line

MAIN_JOB_SIZE = 1024
MAIN_JOB_SEED = 1
MAIN_JOB_STAR_DENSITY = 1000.0
DIFFERENCE_FILE = "difference.fits"
CATALOG_FILE = "diaSources.parquet"


def add_parser(commands):
    """Register the ``main`` subcommand."""
    parser = commands.add_parser("main", help="run the main job (what `make run` does)",
                                 description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("runs/main"),
                        help="directory for the job's outputs (default: runs/main)")
    parser.set_defaults(run=run)


def run(args):
    """Simulate, subtract, write, and report against the truth."""
    # Imported here so that building the command line loads none of the job.
    import pandas as pd

    from ..image.stats import robust_median_sigma
    from ..io.exposure_fits import read_exposure, write_exposure
    from ..measure import DetectAndMeasureTask, write_catalog
    from ..subtract.task import AlardLuptonSubtractTask

    config = pair_config([f"star_density={MAIN_JOB_STAR_DENSITY}"], size=MAIN_JOB_SIZE,
                         seed=MAIN_JOB_SEED)
    science_path, template_path, truth_path = write_pair(config, args.output_dir)
    science, template = read_exposure(science_path), read_exposure(template_path)
    for path, exposure in ((science_path, science), (template_path, template)):
        print(f"{path}:")
        print(describe(exposure))

    task = AlardLuptonSubtractTask()
    subtracted = task.run(template, science)
    difference = subtracted.difference
    difference_path = Path(args.output_dir) / DIFFERENCE_FILE
    write_exposure(difference, difference_path)
    print(summary_line(difference_path, difference, task.metadata))
    detect = DetectAndMeasureTask()
    dia_sources = detect.run(science, subtracted.matchedTemplate, difference).diaSources
    catalog_path = Path(args.output_dir) / CATALOG_FILE
    write_catalog(dia_sources, catalog_path)
    print(detection_summary(catalog_path, detect.metadata))
    true_ratio = science.metadata["sim_flux_ratio"]
    good = ~difference.mask.get(["NO_DATA", "EDGE", "SAT", "BAD", "SAT_TEMPLATE"])
    residual = robust_median_sigma(difference.image[good] / np.sqrt(difference.variance[good]))[1]
    print(f"truth: flux ratio {true_ratio:.5f}, kernel sum error "
          f"{100 * (task.metadata['kernelSum'] / true_ratio - 1):+.3f} %, "
          f"robust std of difference/sigma {residual:.4f}")
    print(transient_recovery(pd.read_parquet(truth_path), dia_sources))


def transient_recovery(truth, dia_sources, radius=1.0):
    """One line: injected transients (S/N >= 10, off the edges) found within ``radius`` px."""
    from ..sky.matching import match_pixels

    transients = truth[(truth["kind"] == "transient") & (truth["difference_snr"] >= 10)]
    found, dia_index, _ = match_pixels(transients["x"], transients["y"],
                                       dia_sources["slot_Centroid_x"],
                                       dia_sources["slot_Centroid_y"], radius)
    flux_ratio = (dia_sources["base_PsfFlux_instFlux"].to_numpy()[dia_index]
                  / transients["difference_flux"].to_numpy()[found])
    median = float(np.median(flux_ratio)) if len(found) else float("nan")
    return (f"truth: {len(found)}/{len(transients)} transients with S/N >= 10 found within "
            f"{radius:g} px, median PSF flux / injected {median:.4f}")
