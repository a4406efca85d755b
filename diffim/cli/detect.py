"""``diffim detect``: detect and measure DIA sources on a persisted difference image.

This is the stack's ``doSubtract = False``: the difference, science and
matched template are read from FITS, `DetectAndMeasureTask` runs, and the
DIA-source catalogue is written (atomically) as FITS or Parquet according
to the output's extension.
"""
from __future__ import annotations

from pathlib import Path

from .config_overrides import add_override_options, apply_overrides
from .outputs import check_output


def add_parser(commands):
    """Register the ``detect`` subcommand."""
    parser = commands.add_parser(
        "detect", help="detect and measure DIA sources on a difference image",
        description="Detection (both polarities), merging, measurement, dipole fitting and "
                    "forced photometry on an existing difference image; writes the DIA-source "
                    "catalogue (schema: diffim.measure.schema) as .fits or .parquet.")
    parser.add_argument("--difference", required=True, type=Path, help="difference image (FITS)")
    parser.add_argument("--science", required=True, type=Path, help="science image (FITS)")
    parser.add_argument("--matched", required=True, type=Path,
                        help="PSF-matched template (FITS)")
    parser.add_argument("--output", required=True, type=Path,
                        help="catalogue to write (.fits or .parquet)")
    add_override_options(parser, "doSkySources=True")
    parser.set_defaults(run=run)


def run(args):
    """Read, detect and measure, write; print one summary line."""
    # Imported here so that building the command line loads no detection code.
    from ..io.exposure_fits import read_exposure
    from ..measure import DetectAndMeasureTask, write_catalog
    from ..measure.schema import catalog_format

    catalog_format(args.output)  # fail on a bad extension before the work, not after
    check_output(args.output, (args.difference, args.science, args.matched))
    config = detection_config(args.overrides)
    difference = read_exposure(args.difference)
    science = read_exposure(args.science)
    matched = read_exposure(args.matched)
    task = DetectAndMeasureTask(config=config)
    result = task.run(science, matched, difference, asRecords=True)  # no pandas for FITS
    write_catalog(result.diaSources, args.output)
    print(summary_line(args.output, task.metadata))


def detection_config(overrides):
    """A `DetectAndMeasureConfig` with ``("set"|"file", text)`` overrides applied."""
    from ..measure import DetectAndMeasureConfig

    config = DetectAndMeasureConfig()
    apply_overrides(config, overrides)
    return config


def summary_line(path, metadata):
    """One line: the output and its source counts."""
    return (f"{path}: dia_sources={metadata['nDiaSources']} positive={metadata['nPositive']} "
            f"negative={metadata['nNegative']} dipoles={metadata['nDipoles']} "
            f"sky_sources={metadata['nSkySources']}")
