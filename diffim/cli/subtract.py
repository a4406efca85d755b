"""``diffim subtract``: Alard-Lupton subtraction of two exposures on one pixel grid."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import DiffimError
from ..subtract.modes import MODES
from .config_overrides import add_override_options, apply_overrides
from .outputs import check_output

# The subtraction, detection and file modules are imported inside the
# functions that use them, so that `diffim --help`, `diffim subtract --help`
# and the other subcommands do not load them, and --catalog alone loads
# detection.


def add_parser(commands):
    """Register the ``subtract`` subcommand."""
    parser = commands.add_parser(
        "subtract", help="PSF-match and subtract a template from a science image",
        description="Alard-Lupton subtraction of a template from a science image (diffim "
                    "exposures or plain FITS images); a template on another WCS is warped onto "
                    "the science grid first. Writes IMAGE, MASK and VARIANCE; the primary "
                    "header records KERNSUM, NKSRC and DIFMODE.")
    parser.add_argument("--science", required=True, type=Path, help="science image (FITS)")
    parser.add_argument("--template", required=True, type=Path, help="template image (FITS)")
    parser.add_argument("--output", required=True, type=Path, help="difference image to write")
    parser.add_argument("--algorithm", choices=["al", "zogy"], default="al",
                        help="al: Alard-Lupton (default); zogy: ZOGY proper subtraction "
                             "(-c/-C then take ZogyConfig fields, --catalog detects on its "
                             "score image)")
    parser.add_argument("--mode", choices=list(MODES),
                        help="which image to convolve, or preconvolve for a score image "
                             "(config field 'mode')")
    for role in ("science", "template"):
        parser.add_argument(f"--{role}-variance", metavar="V",
                            help=f"{role} variance: a FITS image or a constant (plain images)")
        parser.add_argument(f"--{role}-fwhm", type=float, metavar="PX",
                            help=f"{role} PSF FWHM in pixels (a Gaussian PSF) when the file has "
                                 "no PSF; otherwise it is measured from stars")
    add_override_options(parser, "doDecorrelation=False")
    parser.add_argument("--catalog", type=Path, metavar="CAT",
                        help="also detect and measure DIA sources, writing them to CAT "
                             "(.fits or .parquet); configure with --detect-config")
    parser.add_argument("--detect-config", dest="detect_overrides", action="append", default=[],
                        metavar="NAME=VALUE",
                        help="DetectAndMeasureConfig override for --catalog (repeatable)")
    parser.set_defaults(run=run)


def run(args):
    """Read, subtract, write; print one summary line."""
    inputs = (args.science, args.template, *(Path(value) for value in (
        args.science_variance, args.template_variance) if value is not None))
    check_output(args.output, inputs)
    if args.catalog is not None:
        check_output(args.catalog, (*inputs, args.output), "--catalog")
    if args.algorithm == "zogy":
        return _run_zogy(args)
    from ..io.exposure_fits import write_exposure
    from ..subtract.task import AlardLuptonSubtractConfig, AlardLuptonSubtractTask

    config = AlardLuptonSubtractConfig()
    overrides = list(args.overrides)
    if args.mode:
        overrides.append(("set", f"mode={args.mode}"))
    apply_overrides(config, overrides)
    science = _read(args.science, args.science_variance, args.science_fwhm)
    template = _on_science_grid(_read(args.template, args.template_variance, args.template_fwhm),
                                science)
    detect_config = None
    if args.catalog is not None:
        from ..measure import DetectAndMeasureTask, write_catalog
        from ..measure.schema import catalog_format
        from .detect import detection_config
        from .detect import summary_line as detection_summary

        catalog_format(args.catalog)  # a bad extension fails before the work
        detect_config = detection_config([("set", item) for item in args.detect_overrides])
    task = AlardLuptonSubtractTask(config=config)
    result = task.run(template, science)
    metadata = task.metadata
    cards = {"KERNSUM": (metadata["kernelSum"], "PSF-matching kernel sum at the image centre"),
             "NKSRC": (metadata["nKernelSources"], "kernel candidates used in the solution"),
             "DIFMODE": (metadata["mode"], "which image was convolved")}
    write_exposure(result.difference, args.output, header_cards=cards)
    print(summary_line(args.output, result.difference, metadata))
    if detect_config is not None:
        detect = DetectAndMeasureTask(config=detect_config)
        detected = detect.run(science, result.matchedTemplate, result.difference)
        write_catalog(detected.diaSources, args.catalog)
        print(detection_summary(args.catalog, detect.metadata))


def summary_line(path, difference, metadata):
    """One line: the output and the numbers that say whether the subtraction worked."""
    from ..image.stats import robust_median_sigma

    good = ~difference.mask.get([p for p in ("NO_DATA", "EDGE", "SAT", "BAD", "SAT_TEMPLATE")
                                 if p in difference.mask.planes])
    normalised = difference.image[good] / np.sqrt(difference.variance[good])
    # In float32 as computed: a float64 copy of a 4k image would double the cost.
    robust_std = robust_median_sigma(normalised, np.float32)[1]
    scale = metadata.get("varianceScaleFactor")
    return (f"{path}: mode={metadata['mode']} kernel_sum={metadata['kernelSum']:.5f} "
            f"kernel_sources={metadata['nKernelSources']} "
            f"variance_scale={'off' if scale is None else f'{scale:.4f}'} "
            f"robust_std(diff/sigma)={robust_std:.4f}")


def _read(path, variance, fwhm):
    from ..io.exposure_fits import read_exposure
    from ..psf import GaussianPsf
    from ..psf.base import SIGMA_TO_FWHM

    options = {}
    if variance is not None:
        options["variance"] = _variance(variance)
    exposure = read_exposure(path, **options)
    if fwhm is not None:
        if fwhm <= 0:
            raise DiffimError(f"{path}: FWHM must be > 0 px, got {fwhm}")
        exposure.psf = GaussianPsf(fwhm / SIGMA_TO_FWHM)
    return exposure


def _on_science_grid(template, science):
    """The template itself when it is on the science pixel grid, else warped onto it.

    Grids agree when the boxes match and the WCSs put the box corners at the
    same sky positions (to 1 milli-pixel); without WCSs the boxes must match.
    """
    if template.bbox == science.bbox and _same_wcs(template, science):
        return template
    if template.wcs is None or science.wcs is None:
        raise DiffimError(f"template {template.bbox} and science {science.bbox} are not on the "
                          "same pixel grid and lack the WCSs needed to warp one onto the other")
    from ..template.get_template import GetCalexpAsTemplateTask

    return GetCalexpAsTemplateTask().run(template, None, science.bbox, science.wcs).exposure


def _same_wcs(template, science):
    if template.wcs is None or science.wcs is None:
        return template.wcs is None and science.wcs is None
    bbox = science.bbox
    xs = np.array([bbox.x0, bbox.x_end - 1, bbox.x0, bbox.x_end - 1], float)
    ys = np.array([bbox.y0, bbox.y0, bbox.y_end - 1, bbox.y_end - 1], float)
    tx, ty = template.sky_to_pixel(*science.pixel_to_sky(xs, ys))
    return bool(np.all(np.hypot(tx - xs, ty - ys) < 1e-3))


def _variance(value):
    from ..io.plain_fits import read_plain_image

    try:
        return float(value)
    except ValueError:
        return read_plain_image(value)


def _run_zogy(args):
    """``--algorithm zogy``: ZOGY difference; with ``--catalog``, detection on its score image.

    The output's primary header has DIFMODE = zogy and ZOGYFR, the template
    counts per science count.
    """
    from ..image.stats import robust_median_sigma
    from ..io.exposure_fits import write_exposure
    from ..zogy import ZogyConfig, ZogyTask

    if args.mode:
        raise DiffimError(f"--mode {args.mode} is an Alard-Lupton option; ZOGY convolves both "
                          "images")
    config = ZogyConfig()
    apply_overrides(config, list(args.overrides))
    science = _read(args.science, args.science_variance, args.science_fwhm)
    template = _on_science_grid(_read(args.template, args.template_variance, args.template_fwhm),
                                science)
    detect_config = None
    if args.catalog is not None:
        from ..measure import DetectAndMeasureTask, write_catalog
        from ..measure.schema import catalog_format
        from .detect import detection_config
        from .detect import summary_line as detection_summary

        catalog_format(args.catalog)
        # The score is matched-filtered already: thresholded as it is (the
        # stack's useScoreImageDetection).
        detect_config = detection_config([("set", "detection.doSmooth=False")]
                                         + [("set", item) for item in args.detect_overrides])
    task = ZogyTask(config=config)
    result = task.run(template, science)
    metadata = task.metadata
    cards = {"DIFMODE": ("zogy", "ZOGY proper subtraction"),
             "ZOGYFR": (metadata["fluxScale"], "template counts per science count")}
    write_exposure(result.difference, args.output, header_cards=cards)
    difference = result.difference
    good = difference.mask.array == 0
    normalised = difference.image[good] / np.sqrt(difference.variance[good])
    score = result.score.image[good] / np.sqrt(result.score.variance[good])
    print(f"{args.output}: algorithm=zogy flux_scale={metadata['fluxScale']:.5f} "
          f"cells={metadata['nCells']} "
          f"robust_std(diff/sigma)={robust_median_sigma(normalised, np.float32)[1]:.4f} "
          f"robust_std(S_corr)={robust_median_sigma(score, np.float32)[1]:.4f}")
    if detect_config is not None:
        detect = DetectAndMeasureTask(config=detect_config)
        detected = detect.run(science, result.matchedTemplate, difference, score=result.score)
        write_catalog(detected.diaSources, args.catalog)
        print(detection_summary(args.catalog, detect.metadata))
