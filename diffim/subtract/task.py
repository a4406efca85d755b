"""`AlardLuptonSubtractTask`: PSF-match two exposures and subtract them.

The middleware-free counterpart of ``ip_diffim``'s task of the same name:
kernel sources are selected (from a catalogue or detected), the kernel is
fitted (`MakeKernelTask`), one image is convolved, the difference is formed
with its variance and mask, then optionally decorrelated and its variance
rescaled. Modes:

- ``convolveTemplate``: ``D = S - (K (x) T + bg)``; the difference has the
  science PSF.
- ``convolveScience``: ``K (x) S ~ T``; ``D = (K (x) S - bg) / k - T`` with
  ``k`` the kernel sum at the image centre, so D keeps the template's
  photometric scale... and the template PSF.
- ``auto``: convolve the template when its PSF is no wider than the
  science PSF along x or y (second moments at the centre).
- ``preconvolve`` (gen2's ``doPreConvolve``, the stack's
  ``AlardLuptonPreconvolveSubtractTask``): the science image is first
  convolved with its own PSF P (`diffim.subtract.preconvolve`), the template is
  matched to that, and the result ``P (x) S - (K (x) T + bg)`` is a score
  image with PSF ``P (x) P``: detect on it without smoothing
  (``DetectAndMeasureConfig.detection.doSmooth = False``). Decorrelation uses
  the score-image correction.
"""
from __future__ import annotations

import lsst.pex.config as pexConfig
import numpy as np

from .._core import _mask, _planes
from ..errors import DiffimError
from ..exposure import Exposure
from ..mask import Mask
from ..psf import measure_psf
from ..psfmatch import NoKernelCandidatesError, convolve_exposure
from ..psfmatch.make_kernel import MakeKernelTask
from ..sources.kernel_sources import (SignalToNoiseConfig, TooFewKernelSourcesError,
                                      select_kernel_sources)
from ..task import Struct, Task
from .background import refine_background
from .bad_pixels import mask_bad_pixels
from .decorrelate import decorrelate, mean_variance
from .modes import MODES
from .preconvolve import convolved_psf, preconvolve
from .scale_variance import ScaleVarianceTask

__all__ = ["AlardLuptonSubtractConfig", "AlardLuptonSubtractTask", "NoTemplateCoverageError"]


class NoTemplateCoverageError(DiffimError):
    """The template covers less of the science image than ``requiredTemplateFraction``."""


class SourceSelectorConfig(pexConfig.Config):
    """Kernel-source selection (the stack's ``sourceSelector``)."""

    signalToNoise = pexConfig.ConfigField(dtype=SignalToNoiseConfig, doc="S/N limits.")
    isolationRadius = pexConfig.Field(
        dtype=float, default=None, optional=True,
        doc="No other detection within this radius (pixels); 3 science FWHMs if None.")


class AlardLuptonSubtractConfig(pexConfig.Config):
    """Configuration of `AlardLuptonSubtractTask` (stack field names and defaults)."""

    mode = pexConfig.ChoiceField(
        dtype=str, default="convolveTemplate",
        allowed=dict(MODES),
        doc="Which image to convolve.")
    makeKernel = pexConfig.ConfigurableField(target=MakeKernelTask,
                                             doc="Fit of the PSF-matching kernel.")
    doDecorrelation = pexConfig.Field(
        dtype=bool, default=True,
        doc="Undo the noise correlation of the convolution (and update the difference PSF)?")
    requiredTemplateFraction = pexConfig.Field(
        dtype=float, default=0.1,
        doc="Fail if the template covers less than this fraction of the science image.")
    doScaleVariance = pexConfig.Field(dtype=bool, default=True,
                                      doc="Rescale the difference variance to its pixel noise?")
    scaleVariance = pexConfig.ConfigurableField(target=ScaleVarianceTask,
                                                doc="Measures the variance scale factor.")
    doSubtractBackground = pexConfig.Field(
        dtype=bool, default=True,
        doc="Subtract the differential background fitted with the kernel? On by default, as "
            "HOTPANTS: inputs that carry sky (plain images from any instrument) then subtract "
            "to zero mean, and on background-subtracted inputs the fitted background is ~0.")
    minGoodPixelFraction = pexConfig.RangeField(
        dtype=float, default=0.1, min=0.0, max=1.0,
        doc="Fail when less than this fraction of either image is usable after masking its "
            "non-finite pixels, non-finite or <= 0 variances and saturated pixels.")
    sourceSelector = pexConfig.ConfigField(dtype=SourceSelectorConfig,
                                           doc="Kernel-source selection.")
    maxKernelSources = pexConfig.Field(dtype=int, default=1000,
                                       doc="Most kernel sources used (highest S/N first).")
    minKernelSources = pexConfig.Field(
        dtype=int, default=3,
        doc="Fewest kernel sources; with fewer, the kernel comes from the PSF models "
            "(doPsfModelFallback) or the run fails.")
    doPsfModelFallback = pexConfig.Field(
        dtype=bool, default=True,
        doc="With fewer than minKernelSources usable kernel sources (a cutout, an alert "
            "stamp), build the kernel shape from the two PSF models and fit only the flux "
            "scale and the background on the whole image, instead of failing?")
    excludeMaskPlanes = pexConfig.ListField(
        dtype=str, default=["NO_DATA", "BAD", "SAT", "EDGE", "FAKE", "HIGH_VARIANCE"],
        doc="Kernel sources near these planes (either image) are not used.")
    badMaskPlanes = pexConfig.ListField(
        dtype=str, default=["NO_DATA", "BAD", "SAT", "EDGE"],
        doc="Pixels zeroed before convolution; their mask bits spread to the output.")
    preserveTemplateMask = pexConfig.ListField(
        dtype=str, default=["NO_DATA", "BAD"],
        doc="Template mask planes copied to the difference.")
    renameTemplateMask = pexConfig.ListField(
        dtype=str, default=["SAT", "INJECTED", "INJECTED_CORE"],
        doc="Template mask planes copied to the difference as <NAME>_TEMPLATE.")

    def validate(self):
        super().validate()
        if not 0.0 <= self.requiredTemplateFraction <= 1.0:
            raise pexConfig.FieldValidationError(
                type(self).requiredTemplateFraction, self, "must be within [0, 1]")
        if self.minKernelSources < 1 or self.maxKernelSources < self.minKernelSources:
            raise pexConfig.FieldValidationError(
                type(self).maxKernelSources, self, "need 1 <= minKernelSources <= maxKernelSources")


class AlardLuptonSubtractTask(Task):
    """Compute the difference of a science and a template exposure (Alard & Lupton 1998)."""

    ConfigClass = AlardLuptonSubtractConfig
    _DefaultName = "alardLuptonSubtract"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.makeSubtask("makeKernel")
        self.makeSubtask("scaleVariance")

    def run(self, template, science, sources=None, *, consumeTemplate=False):
        """PSF-match, subtract, decorrelate.

        Parameters
        ----------
        template : `diffim.Exposure`
            Template on the science pixel grid (already warped).
        science : `diffim.Exposure`
            Science exposure.
        sources : `pandas.DataFrame` or record array, optional
            Science sources to choose kernel sources from (columns ``x``,
            ``y``, ``flux`` with ``flux_err`` or ``snr``, optional ``*_flag``);
            detected on the science image when omitted. Exposures without a
            PSF get one measured from their stars. Unusable pixels of either
            input (non-finite image, non-finite or <= 0 variance) are masked
            NO_DATA or BAD, counted in the metadata; with too few kernel
            sources the kernel comes from the PSF models
            (``doPsfModelFallback``; ``metadata["kernelSource"]`` says which).
        consumeTemplate : `bool`
            The caller hands the template over and will not read it again:
            its planes are reused for the difference (convolved template) or
            scaled in place as the matched template (convolved science), which
            saves up to three image planes at the peak memory. Off by default:
            the inputs are then not modified.

        Returns
        -------
        result : `Struct`
            ``difference``, ``matchedTemplate``, ``matchedScience`` (`Exposure`),
            ``psfMatchingKernel`` (`diffim.psfmatch.SpatialKernel`, maps the
            convolved image onto the other), ``backgroundModel``,
            ``kernelSources`` (`numpy.recarray`, ``pandas.DataFrame(...)`` of
            it for the middleware's DataFrame: every candidate, its status and
            fit statistics), ``localKernelCoefficients`` (each
            candidate's single-kernel solution, for QA), ``kernelSum``. In
            ``preconvolve`` mode ``difference`` is the score image and
            ``matchedScience`` the science image convolved with its PSF.

        Raises
        ------
        DiffimError
            Different pixel grids, too little template coverage, too few
            usable pixels, unmeasurable PSFs, too few kernel sources (without
            the fallback), a failed fit.
        """
        self._check_pair(template, science)
        science, template = self._mask_bad_pixels(science, template)
        science, science_peaks = _with_psf(science, "science")
        template, _ = _with_psf(template, "template")
        convolve_template = self._convolve_template(template, science)
        kernel_sources = self._kernel_sources(science, template, sources, science_peaks)
        if self.config.mode == "preconvolve":
            preconvolved = preconvolve(science, self.config.badMaskPlanes)
            result = self._subtract(template, preconvolved.exposure, kernel_sources, True,
                                    preconvolved.kernelImage, consumeTemplate)
        else:
            result = self._subtract(template, science, kernel_sources, convolve_template,
                                    consume_template=consumeTemplate)
        self.metadata.update(
            mode=("preconvolve" if self.config.mode == "preconvolve"
                  else "convolveTemplate" if convolve_template else "convolveScience"),
            kernelSum=result.kernelSum,
            nKernelSources=int(result.kernelSources["used"].sum()),
            nKernelCandidates=len(result.kernelSources),
            kernelSource=result.kernelSource,
            kernelBasis=result.psfMatchingKernel.basis.name)
        return result

    def _mask_bad_pixels(self, science, template):
        """Both inputs with their unusable pixels flagged; counts in the metadata."""
        masked = []
        for label, exposure in (("science", science), ("template", template)):
            exposure, counts = mask_bad_pixels(
                exposure, label, min_good_fraction=self.config.minGoodPixelFraction)
            for plane, count in counts.items():
                self.metadata[f"{label}Masked{plane.title().replace('_', '')}"] = count
            masked.append(exposure)
        return masked

    def _kernel_sources(self, science, template, sources, science_peaks):
        """The selected kernel sources, or None when too few and doPsfModelFallback.

        ``science_peaks`` is the science image's peak pass from its PSF
        measurement (None when it came with a PSF), reused for detection.
        """
        try:
            return select_kernel_sources(
                science, template, sources,
                signal_to_noise=self.config.sourceSelector.signalToNoise,
                max_sources=self.config.maxKernelSources,
                min_sources=self.config.minKernelSources,
                isolation_radius=self.config.sourceSelector.isolationRadius,
                bad_mask_planes=list(self.config.excludeMaskPlanes), peaks=science_peaks)
        except TooFewKernelSourcesError as error:
            if not self.config.doPsfModelFallback:
                raise
            self.metadata["psfModelFallbackReason"] = str(error)
            return None

    def _check_pair(self, template, science):
        if template.bbox != science.bbox:
            raise DiffimError(f"template {template.bbox} and science {science.bbox} are not on "
                              "the same pixel grid (warp the template first)")
        covered = (1.0 - template.mask.count("NO_DATA") / template.mask.array.size
                   if "NO_DATA" in template.mask.planes else 1.0)
        if covered < self.config.requiredTemplateFraction:
            raise NoTemplateCoverageError(
                f"template covers {100 * covered:.1f}% of the science image, less than "
                f"requiredTemplateFraction={self.config.requiredTemplateFraction}")

    def _convolve_template(self, template, science):
        if self.config.mode != "auto":
            return self.config.mode != "convolveScience"
        centre = science.bbox.center
        t_xx, t_yy, _ = template.psf.computeShape(*centre)
        s_xx, s_yy, _ = science.psf.computeShape(*centre)
        return t_xx <= s_xx or t_yy <= s_yy

    def _subtract(self, template, science, sources, convolve_template,
                  preconvolution_kernel=None, consume_template=False):
        """Fit the kernel, convolve, and form the (decorrelated) difference.

        With ``C`` the convolved image, ``R`` the other, ``K`` the kernel
        (``K (x) C + bg ~ R``) and ``s`` the photometric scale (1 when the
        template is convolved, ``1 / kernel sum`` when the science image is):
        ``matched = s (K (x) C [+ bg])`` and the difference is science minus
        template, ``+-(s R - matched)``, with variance ``s^2 (var_R + var_matched)``.
        In ``preconvolve`` mode ``science`` is the pre-convolved science image
        and ``preconvolution_kernel`` the PSF it was convolved with. With
        ``consume_template`` the template's planes hold the difference (when
        it is the convolved image) or the scaled template (when it is not).
        """
        convolved, reference = (template, science) if convolve_template else (science, template)
        fit = None
        if sources is not None:
            try:
                fit = self.makeKernel.run(convolved, reference, sources)
            except NoKernelCandidatesError as error:
                if not self.config.doPsfModelFallback:
                    raise
                self.metadata["psfModelFallbackReason"] = str(error)
        if fit is None:
            fit = self.makeKernel.runPsfModel(convolved, reference, list(self.config.badMaskPlanes))
            self.metadata["psfModelScaleSource"] = fit.metadata["psfModelScaleSource"]
        kernel = fit.psfMatchingKernel
        bbox = science.bbox
        kernel_sum = float(kernel.kernel_sum(*bbox.center))
        scale = 1.0 if convolve_template else 1.0 / kernel_sum
        sign = 1.0 if convolve_template else -1.0

        # Once convolved, the template's planes are free: the difference goes there.
        planes = template if consume_template and convolve_template else None
        matched = convolve_exposure(convolved, kernel, bad_mask_planes=list(self.config.badMaskPlanes))
        background = fit.backgroundModel
        if self.config.doSubtractBackground:
            unusable = [(exposure.mask.array, exposure.mask.bitmask(
                [p for p in names if p in exposure.mask.planes])) for exposure, names in (
                    (matched, (*self.config.badMaskPlanes, "EDGE")),
                    (reference, self.config.badMaskPlanes))]
            background = refine_background(background, reference.image, matched.image,
                                           unusable, bbox)
            background.add_to(matched.image, bbox)
        if scale != 1.0:  # x * 1.0 is x: a pass over two planes saved
            matched.image *= scale
            matched.variance *= scale ** 2
        matched.psf = reference.psf
        other = _scaled(reference, scale, in_place=consume_template and not convolve_template)
        science_mask, template_mask = ((science.mask, matched.mask) if convolve_template
                                       else (matched.mask, template.mask))
        mask = self._difference_mask(science_mask, template_mask, matched.mask,
                                     None if planes is None else planes.mask.array)
        if self.config.doDecorrelation:
            usable = mask.unmasked(self.config.badMaskPlanes)
            levels = (mean_variance(other.variance, usable),
                      mean_variance(convolved.variance, usable))
            del usable
        image = np.subtract(other.image, matched.image,
                            out=None if planes is None else planes.image)
        if sign != 1.0:
            np.negative(image, out=image)
        variance = np.add(other.variance, matched.variance,
                          out=None if planes is None else planes.variance)
        psf = reference.psf

        if self.config.doDecorrelation:
            corrected = decorrelate(
                image, variance, scale * kernel.image(*bbox.center),
                unconvolved_variance=levels[0], convolved_variance=levels[1],
                preconvolution_kernel=preconvolution_kernel, overwrite=True)
            psf = convolved_psf(psf, corrected.correction_kernel, bbox)
            self.metadata["decorrelationVarianceFactor"] = corrected.variance_factor
        difference = Exposure(image, variance, mask, xy0=bbox.xy0, psf=psf, wcs=science.wcs,
                              photo_calib=science.photo_calib, visit_info=science.visit_info)
        if self.config.doScaleVariance:
            factor = self.scaleVariance.run(difference).factor
            difference.variance *= np.float32(factor)
            self.metadata["varianceScaleFactor"] = factor
        if not (_planes.all_finite(difference.image) and _planes.all_finite(difference.variance)):
            raise DiffimError("the difference image has non-finite pixels: an input was not "
                              "flagged in badMaskPlanes")
        matched_template, matched_science = ((matched, science) if convolve_template
                                             else (other, matched))
        return Struct(difference=difference, matchedTemplate=matched_template,
                      matchedScience=matched_science, psfMatchingKernel=kernel,
                      backgroundModel=background, kernelSources=fit.kernelCandidates,
                      localKernelCoefficients=fit.localKernelCoefficients, kernelSum=kernel_sum,
                      kernelSource=fit.metadata.get("kernelSource", "stars"))

    def _difference_mask(self, science_mask, template_mask, convolved_mask, out=None):
        """The science-side mask plus the template planes the config carries over.

        ``preserveTemplateMask`` planes keep their names, ``renameTemplateMask``
        planes get ``_TEMPLATE`` appended, and EDGE (where the kernel does not
        fit) comes from the convolved image whichever it was. ``out`` is a
        mask array to write it into, not read before.
        """
        planes = science_mask.planes.copy()
        # Planes added in the order of the per-plane set() calls this pass replaced: same bits.
        moves = [(template_mask.bitmask(name), 1 << planes.add(name))
                 for name in self.config.preserveTemplateMask if name in template_mask.planes]
        moves += [(template_mask.bitmask(name), 1 << planes.add(f"{name}_TEMPLATE"))
                  for name in self.config.renameTemplateMask if name in template_mask.planes]
        edge = [(convolved_mask.bitmask("EDGE"), 1 << planes.add("EDGE"))]
        target = (out if out is not None and out.flags.c_contiguous
                  else np.empty(science_mask.shape, dtype=science_mask.array.dtype))
        _mask.or_moved_bits(target, science_mask.array,
                            np.ascontiguousarray(template_mask.array), *_bit_table(moves),
                            np.ascontiguousarray(convolved_mask.array), *_bit_table(edge))
        if out is not None and target is not out:
            np.copyto(out, target)
            target = out
        return Mask(target, planes)


def _bit_table(moves):
    """``(from, to)``: uint32 arrays of the ``(source bits, target bit)`` pairs of ``moves``."""
    table = np.array(moves, dtype=np.uint32).reshape(-1, 2)
    return np.ascontiguousarray(table[:, 0]), np.ascontiguousarray(table[:, 1])


def _scaled(exposure, scale, in_place=False):
    """``exposure`` with image x scale and variance x scale^2 (a copy unless scale is 1 or
    ``in_place``)."""
    if scale == 1.0:
        return exposure
    scaled = exposure if in_place else exposure.copy()
    scaled.image *= np.float32(scale)
    scaled.variance *= np.float32(scale ** 2)
    return scaled


_CUTOUT_PIXELS = 128 * 128
"""Images at most this large (alert stamps are 30-63 px across) hold one or two
isolated stars: their PSF is measured from as few as one. A real ZTF alert stamp
holds 0-1 (51 of the first 60 then measure both PSFs, none did with three)."""


def _with_psf(exposure, label):
    """``exposure`` itself if it has a PSF, else a view of it with a measured one;
    and the measurement's ``(peaks, background)`` pass over the image (None if not measured).

    Raises
    ------
    PsfError
        If no PSF can be measured (too few isolated stars).
    """
    if exposure.psf is not None:
        return exposure, None
    view = exposure[exposure.bbox]
    bad = exposure.mask.get([p for p in ("SAT", "BAD", "NO_DATA", "CR", "EDGE")
                             if p in exposure.mask.planes])
    try:
        measured = measure_psf(exposure.image, exposure.variance, bad, exposure.xy0,
                               min_stars=1 if exposure.image.size <= _CUTOUT_PIXELS else 3)
    except DiffimError as error:
        raise type(error)(f"{label} has no PSF and none can be measured: {error}") from None
    view.psf = measured.psf
    return view, (measured.peaks, measured.background)
