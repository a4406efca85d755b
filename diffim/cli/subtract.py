"""``diffim subtract``: Alard-Lupton subtraction of two exposures on one pixel grid."""
from __future__ import annotations

import os
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

_SUMMARY_EXCLUDED = ("NO_DATA", "EDGE", "SAT", "BAD", "SAT_TEMPLATE")

BACKGROUND_RULE = (
    "Background: inputs may carry sky (plain images from any instrument, not "
    "background-subtracted). The differential background (a plane of order "
    "spatialBgOrder fitted with the kernel) is always subtracted "
    "(doSubtractBackground=True), and detection removes whatever smooth background is left "
    "(DetectAndMeasureConfig.doSubtractBackground=True); the summary line warns when the "
    "difference still has a pedestal or a gradient.")


def add_parser(commands):
    """Register the ``subtract`` subcommand."""
    parser = commands.add_parser(
        "subtract", help="PSF-match and subtract a template from a science image",
        description="Alard-Lupton subtraction of a template from a science image (diffim "
                    "exposures or plain FITS images); a template on another WCS is warped onto "
                    "the science grid first. Writes IMAGE, MASK and VARIANCE; the primary "
                    "header records KERNSUM, NKSRC, KSOURCE and DIFMODE. " + BACKGROUND_RULE
                    + " Unusable input pixels (non-finite or blank (|value| >= 1e30) values, "
                    "non-finite or <= 0 variance, saturation, --*-mask) are masked and counted, "
                    "not fatal. With too few kernel stars (a cutout) the kernel comes from the "
                    "two PSF models (KSOURCE=psf-model). The kernel's basis is the one that "
                    "predicts the bright sources no fit used better: Gaussians (AL), or free "
                    "pixels (DF) where nearly equal PSFs differ by a structure the Gaussians "
                    "miss (KBASIS; -c \"makeKernel.kernel['AL'].doChooseBasis=False\" keeps "
                    "AL). A bad subtraction is an error.")
    parser.add_argument("--science", required=True, type=Path, help="science image (FITS)")
    parser.add_argument("--template", required=True, type=Path, help="template image (FITS)")
    parser.add_argument("--output", required=True, type=Path, help="difference image to write")
    parser.add_argument("--algorithm", choices=["al", "zogy"], default="al",
                        help="al: Alard-Lupton (default); zogy: ZOGY proper subtraction "
                             "(-c/-C then take ZogyConfig fields, --catalog detects on its "
                             "score image)")
    parser.add_argument("--mode", choices=list(MODES),
                        help="which image to convolve, or preconvolve for a score image "
                             "(config field 'mode'; default auto: the image with the narrower "
                             "PSF is convolved, as HOTPANTS chooses, where the task's config "
                             "keeps the stack's convolveTemplate)")
    for role in ("science", "template"):
        variance = parser.add_mutually_exclusive_group()
        variance.add_argument(f"--{role}-variance", metavar="V",
                              help=f"{role} variance (sigma^2): a FITS image or a constant "
                                   "(plain images)")
        variance.add_argument(f"--{role}-noise", metavar="SIGMA",
                              help=f"{role} noise (1-sigma, as HOTPANTS's noise images and "
                                   "JWST's ERR maps): a FITS image or a constant, squared into "
                                   "the variance; pixels with sigma <= 0 are masked")
        parser.add_argument(f"--{role}-fwhm", type=float, metavar="PX",
                            help=f"{role} PSF FWHM in pixels (a Gaussian PSF) when the file has "
                                 "no PSF; otherwise it is measured from stars")
        parser.add_argument(f"--{role}-gain", type=float, metavar="E_PER_ADU",
                            help=f"{role} gain in e-/ADU for the variance of a plain image "
                                 "(default: header GAIN, EGAIN, ...)")
        parser.add_argument(f"--{role}-read-noise", type=float, metavar="E",
                            help=f"{role} read noise in e- (default: header RDNOISE, ...)")
        parser.add_argument(f"--{role}-saturation", type=float, metavar="ADU",
                            help=f"{role} saturation level: pixels at or above it are masked "
                                 "SAT (default: header SATURATE, ...)")
        parser.add_argument(f"--{role}-mask", type=Path, metavar="FITS",
                            help=f"{role} bad-pixel mask: a FITS image of the same shape, "
                                 "non-zero pixels are masked BAD")
    add_override_options(parser, "doDecorrelation=False")
    parser.add_argument("--catalog", type=Path, metavar="CAT",
                        help="also detect and measure DIA sources, writing them to CAT "
                             "(.fits or .parquet); configure with --detect-config")
    parser.add_argument("--detect-config", dest="detect_overrides", action="append", default=[],
                        metavar="NAME=VALUE",
                        help="DetectAndMeasureConfig override (repeatable); its "
                             "bad-subtraction thresholds apply with or without --catalog")
    parser.set_defaults(run=run)


def run(args):
    """Read, subtract, write; print one summary line; fail on a bad subtraction."""
    inputs = (args.science, args.template, *(Path(value) for value in (
        args.science_variance, args.template_variance, args.science_noise, args.template_noise,
        args.science_mask, args.template_mask) if value is not None))
    check_output(args.output, inputs)
    _check_distinct_images(args.science, args.template)
    if args.catalog is not None:
        check_output(args.catalog, (*inputs, args.output), "--catalog")
    if args.algorithm == "zogy":
        return _run_zogy(args)
    from ..io.exposure_fits import write_exposure
    from ..subtract.task import AlardLuptonSubtractConfig, AlardLuptonSubtractTask
    from .detect import detection_config

    config = AlardLuptonSubtractConfig()
    # auto first, so that -c/-C mode=... still chooses: convolving the template of a sharper
    # science image is a deconvolution that can pass every check (DECam OBS18c against OBS04c:
    # kernel sum 0.47, robust std 1.0).
    # The basis chosen by held-out bright sources (diffim.psfmatch.held_out): the Gaussians
    # cannot span nearly equal, structured PSFs (NIRCam: near-bright std 2.85 -> 1.16).
    overrides = [("set", "mode=auto"), ("set", "makeKernel.kernel['AL'].doChooseBasis=True"),
                 *args.overrides]
    if args.mode:
        overrides.append(("set", f"mode={args.mode}"))
    apply_overrides(config, overrides)
    if args.catalog is not None:
        from ..measure.schema import catalog_format

        catalog_format(args.catalog)  # a bad extension fails before the work
    detect_config = detection_config([("set", item) for item in args.detect_overrides])
    science = _read(args, "science")
    template = _on_science_grid(_read(args, "template"), science)
    task = AlardLuptonSubtractTask(config=config)
    # The template is not read again: its planes may hold the difference.
    result = task.run(template, science, consumeTemplate=True)
    metadata = task.metadata
    cards = {"KERNSUM": (metadata["kernelSum"], "PSF-matching kernel sum at the image centre"),
             "NKSRC": (metadata["nKernelSources"], "kernel candidates used in the solution"),
             "KSOURCE": (metadata["kernelSource"], "kernel from: stars or psf-model"),
             "KBASIS": (metadata["kernelBasis"], "kernel basis (doChooseBasis)"),
             "DIFMODE": (metadata["mode"], "which image was convolved")}
    write_exposure(result.difference, args.output, header_cards=cards)
    print(summary_line(args.output, result.difference, metadata))
    if args.catalog is None:
        _check_kernel_footprints(detect_config, science, result)
        return
    from ..measure import DetectAndMeasureTask, write_catalog
    from .detect import summary_line as detection_summary

    detect = DetectAndMeasureTask(config=detect_config)
    # A record array: a FITS catalogue is written without pandas (0.65 CPU s to import).
    detected = detect.run(science, result.matchedTemplate, result.difference,
                          kernelSources=result.kernelSources, asRecords=True)
    write_catalog(detected.diaSources, args.catalog)
    print(detection_summary(args.catalog, detect.metadata))


def summary_line(path, difference, metadata):
    """One line: the output and the numbers that say whether the subtraction worked.

    Beside the robust width of difference/sigma (blind to a pedestal) it gives
    the median and the clipped mean, the masked pixels (of the difference, and
    newly masked input pixels), for a kernel from the PSF models where its flux
    scale came from (``flux_scale=calibration|objects|assumed``), and ends with
    a warning for a pedestal, a gradient or an assumed flux scale.
    """
    from ..measure.quality import residual_summary

    summary = residual_summary(difference, _SUMMARY_EXCLUDED)
    scale = metadata.get("varianceScaleFactor")
    inputs = " ".join(_newly_masked(metadata, label) for label in ("science", "template")
                      if _newly_masked(metadata, label))
    flux_scale = metadata.get("psfModelScaleSource")
    line = (f"{path}: mode={metadata['mode']} kernel_sum={metadata['kernelSum']:.5f} "
            f"kernel_sources={metadata['nKernelSources']} "
            f"kernel_source={metadata['kernelSource']} "
            f"kernel_basis={metadata['kernelBasis']} "
            + (f"flux_scale={flux_scale} " if flux_scale else "") +
            f"variance_scale={'off' if scale is None else f'{scale:.4f}'} "
            f"median(diff/sigma)={summary['median']:+.4f} "
            f"mean(diff/sigma)={summary['mean']:+.4f} "
            f"robust_std(diff/sigma)={summary['robust_std']:.4f} "
            f"masked={summary['masked']}" + (f" {inputs}" if inputs else ""))
    warnings = list(summary["warnings"])
    if flux_scale == "assumed":
        warnings.append("flux scale assumed 1: no zero points and too few objects on the image "
                        "to measure it (give MAGZERO headers)")
    if warnings:
        line += " WARNING: " + "; ".join(warnings)
    return line


def _newly_masked(metadata, label):
    """``science_masked=NO_DATA:1,BAD:3``: the input pixels the task masked, or ''."""
    counts = [f"{plane}:{metadata[f'{label}Masked{name}']}"
              for plane, name in (("NO_DATA", "NoData"), ("BAD", "Bad"), ("SAT", "Sat"))
              if metadata.get(f"{label}Masked{name}")]
    return f"{label}_masked={','.join(counts)}" if counts else ""


def _check_kernel_footprints(detect_config, science, result):
    """The bad-subtraction check without detection: the kernel-source footprints only."""
    if not detect_config.raiseOnBadSubtractionRatio:
        return
    from ..measure.quality import check_subtraction, kernel_source_ratios

    ratios = kernel_source_ratios(science, result.difference, result.kernelSources,
                                  detect_config.detection.excludeMaskPlanes)
    check_subtraction(ratios, None, ratio_threshold=detect_config.badSubtractionRatioThreshold,
                      variation_threshold=detect_config.badSubtractionVariationThreshold,
                      detected_fraction_threshold=1.0)


def _read(args, role):
    """The ``role`` exposure with the options given for it."""
    from ..io.exposure_fits import read_exposure
    from ..io.plain_fits import read_bad_pixel_mask
    from ..psf import GaussianPsf
    from ..psf.base import SIGMA_TO_FWHM

    path = getattr(args, role)
    options = {name: getattr(args, f"{role}_{name}") for name in ("gain", "read_noise", "saturation")
               if getattr(args, f"{role}_{name}", None) is not None}
    variance, noise = getattr(args, f"{role}_variance"), getattr(args, f"{role}_noise")
    if variance is not None:
        options["variance"] = _variance(variance)
    elif noise is not None:
        options["variance"] = _squared_noise(_variance(noise), f"--{role}-noise")
    exposure = read_exposure(path, **options)
    mask_path = getattr(args, f"{role}_mask", None)
    if mask_path is not None:
        exposure.mask.set("BAD", read_bad_pixel_mask(mask_path, exposure.shape))
    fwhm = getattr(args, f"{role}_fwhm")
    if fwhm is not None:
        if fwhm <= 0:
            raise DiffimError(f"{path}: FWHM must be > 0 px, got {fwhm}")
        exposure.psf = GaussianPsf(fwhm / SIGMA_TO_FWHM)
    return exposure


def _check_distinct_images(science, template):
    """Raise `DiffimError` if ``science`` and ``template`` name the same file.

    An image minus itself is zero everywhere: the variance check would then
    fail with a factor that points nowhere near the cause.
    """
    science, template = Path(science), Path(template)
    if science.exists() and template.exists() and os.path.samefile(science, template):
        raise DiffimError(f"--science {science} and --template {template} are the same file; "
                          "give two epochs")


def _on_science_grid(template, science):
    """The template itself when it is on the science pixel grid, else warped onto it.

    Grids agree when the boxes match and the WCSs put the box corners at the
    same sky positions (to 1 milli-pixel); without WCSs the boxes must match.
    """
    if template.bbox == science.bbox and _same_wcs(template, science):
        return template
    if template.bbox == science.bbox and (template.wcs is None) != (science.wcs is None):
        has, lacks = ("science", "template") if template.wcs is None else ("template", "science")
        raise DiffimError(f"the {lacks} has no WCS and the {has} has one: whether they share a "
                          "pixel grid cannot be checked (give both a WCS, or neither)")
    if template.wcs is None or science.wcs is None:
        raise DiffimError(f"template {template.bbox} and science {science.bbox} are not on the "
                          "same pixel grid and lack the WCSs needed to warp one onto the other")
    from ..template.get_template import GetCalexpAsTemplateTask

    return GetCalexpAsTemplateTask().run(template, None, science.bbox, science.wcs).exposure


def _same_wcs(template, science):
    if template.wcs is None or science.wcs is None:
        return template.wcs is None and science.wcs is None
    from ..io.wcs_cards import CardWcs, same_grid

    if isinstance(template.wcs, CardWcs) and isinstance(science.wcs, CardWcs):
        # Equal card values are one mapping: no WCS evaluation (nor astropy) needed.
        same = same_grid(template.wcs, science.wcs)
        if same is not None:
            return same
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


def _squared_noise(sigma, option):
    """The variance of a noise (sigma) map or constant; sigma <= 0 gives 0 (masked BAD)."""
    if isinstance(sigma, float):
        if not sigma > 0:
            raise DiffimError(f"{option} must be > 0, got {sigma}")
        return sigma * sigma
    return np.where(sigma > 0, sigma * sigma, np.float32(0.0))


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
    science = _read(args, "science")
    template = _on_science_grid(_read(args, "template"), science)
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
        detected = detect.run(science, result.matchedTemplate, difference, score=result.score,
                              asRecords=True)
        write_catalog(detected.diaSources, args.catalog)
        print(detection_summary(args.catalog, detect.metadata))
