import diffim.image_difference
assert type(config) is diffim.image_difference.ImageDifferenceConfig, f"config is of type {type(config).__module__}.{type(config).__name__} instead of diffim.image_difference.ImageDifferenceConfig"

import diffim.get_template
import diffim.make_kernel
import diffim.measure.task
import diffim.scale_variance
import diffim.subtract
import diffim.warp
# Select kernel sources by matching catalogues?
config.doSelectSources=False

# Match to the reference catalogue (True) or to the template's sources (False)?
config.kernelSourcesFromRef=False

# Compute the difference image?
config.doSubtract=True

# Detect DIA sources?
config.doDetection=True

# Add kernel-candidate QA metrics (needs doSelectSources)?
config.doAddMetrics=False

# Match DIA sources to the science and reference sources?
config.doMatchSources=True

# Convolve the template (else the science image)?
config.convolveTemplate=False

# Decorrelate the difference?
config.doDecorrelation=True

# Merge positive and negative footprints?
config.doMerge=True

# Grow footprints by this (pixels).
config.growFootprint=2

# Measure DIA sources?
config.doMeasurement=True

# Fit dipoles?
config.doDipoleFitting=True

# Forced photometry on difference and template?
config.doForcedMeasurement=True

# Add sky sources?
config.doSkySources=True

# Persist diaSrc?
config.doWriteSources=True

# Persist differenceExp?
config.doWriteSubtractedExp=True

# Persist warpedExp?
config.doWriteWarpedExp=False

# Persist matchedExp?
config.doWriteMatchedExp=False

# Rescale the template variance first?
config.doScaleTemplateVariance=False

# Rescale the difference variance?
config.doScaleDiffimVariance=True

# Fail if the template covers less of the science image.
config.requiredTemplateFraction=0.1

# Coadd flavour of the outputs.
config.coaddName='deep'

# doMatchSources radius, arcsec.
config.diaSourceMatchRadius=0.5

# doSelectSources match radius, arcsec.
config.selectMatchRadius=1.0

# Every n-th selected source is a control source.
config.controlStepSize=5

# Seed of the shuffle before the control split.
config.controlRandomSeed=10

# Which image to convolve.
config.subtract.mode='convolveTemplate'

# Basis: 'alard-lupton' (Gaussians x polynomials) or 'delta-function'.
config.subtract.makeKernel.kernel['AL'].kernelBasisSet='alard-lupton'

# Kernel width in pixels when the PSFs are unknown (odd).
config.subtract.makeKernel.kernel['AL'].kernelSize=21

# Scale the kernel size and the AL Gaussian widths by the PSF FWHMs?
config.subtract.makeKernel.kernel['AL'].scaleByFwhm=True

# Kernel size = this x the widest AL Gaussian sigma.
config.subtract.makeKernel.kernel['AL'].kernelSizeFwhmScaling=6.0

# Smallest kernel size when scaling by FWHM (odd).
config.subtract.makeKernel.kernel['AL'].kernelSizeMin=21

# Largest kernel size when scaling by FWHM (odd).
config.subtract.makeKernel.kernel['AL'].kernelSizeMax=35

# Number of AL Gaussians.
config.subtract.makeKernel.kernel['AL'].alardNGauss=3

# AL Gaussian sigmas (pixels) when not scaling by FWHM.
config.subtract.makeKernel.kernel['AL'].alardSigGauss=[0.7, 1.5, 3.0]

# Polynomial degree multiplying each AL Gaussian.
config.subtract.makeKernel.kernel['AL'].alardDegGauss=[4, 2, 2]

# Ratio of successive AL Gaussian sigmas when scaling by FWHM.
config.subtract.makeKernel.kernel['AL'].alardGaussBeta=2.0

# Smallest AL Gaussian sigma when convolving the narrower image.
config.subtract.makeKernel.kernel['AL'].alardMinSig=0.7

# Smallest AL Gaussian sigma when deconvolving.
config.subtract.makeKernel.kernel['AL'].alardMinSigDeconv=0.4

# Regularise the delta-function basis?
config.subtract.makeKernel.kernel['AL'].useRegularization=True

# centralDifference or forwardDifference.
config.subtract.makeKernel.kernel['AL'].regularizationType='centralDifference'

# 5- or 9-point Laplacian stencil.
config.subtract.makeKernel.kernel['AL'].centralRegularizationStencil=9

# Orders of the forward differences.
config.subtract.makeKernel.kernel['AL'].forwardRegularizationOrders=[1, 2]

# absolute or relative (to the trace of the normal matrix).
config.subtract.makeKernel.kernel['AL'].lambdaType='absolute'

# Regularisation strength.
config.subtract.makeKernel.kernel['AL'].lambdaValue=0.2

# Fit a differential background with the kernel?
config.subtract.makeKernel.kernel['AL'].fitForBackground=True

# Spatial functions: chebyshev1 or polynomial.
config.subtract.makeKernel.kernel['AL'].spatialModelType='chebyshev1'

# Order of the spatial variation of the kernel.
config.subtract.makeKernel.kernel['AL'].spatialKernelOrder=1

# Order of the spatial variation of the background.
config.subtract.makeKernel.kernel['AL'].spatialBgOrder=2

# Weight stamps by the median inverse variance?
config.subtract.makeKernel.kernel['AL'].constantVarianceWeighting=True

# Reject candidates with bad single-kernel residuals?
config.subtract.makeKernel.kernel['AL'].singleKernelClipping=True

# Reject candidates with outlying kernel sums?
config.subtract.makeKernel.kernel['AL'].kernelSumClipping=True

# Reject candidates with bad spatial-kernel residuals?
config.subtract.makeKernel.kernel['AL'].spatialKernelClipping=True

# Largest |mean| of residual/sigma in a stamp.
config.subtract.makeKernel.kernel['AL'].candidateResidualMeanMax=0.25

# Largest rms of residual/sigma in a stamp.
config.subtract.makeKernel.kernel['AL'].candidateResidualStdMax=1.5

# Kernel-sum clip, in clipped standard deviations.
config.subtract.makeKernel.kernel['AL'].maxKsumSigma=3.0

# Rejection iterations of the spatial fit.
config.subtract.makeKernel.kernel['AL'].maxSpatialIterations=3

# Fit the spatial model on a PCA basis of single kernels?
config.subtract.makeKernel.kernel['AL'].usePcaForSpatialKernel=False

# Number of PCA components (plus the mean kernel).
config.subtract.makeKernel.kernel['AL'].numPrincipalComponents=5

# Candidates used per spatial cell.
config.subtract.makeKernel.kernel['AL'].nStarPerCell=5

# Spatial cell width (pixels).
config.subtract.makeKernel.kernel['AL'].sizeCellX=128

# Spatial cell height (pixels).
config.subtract.makeKernel.kernel['AL'].sizeCellY=128

# Candidates touching these planes in either image are rejected.
config.subtract.makeKernel.kernel['AL'].badMaskPlanes=['NO_DATA', 'EDGE', 'SAT']

# Basis: 'alard-lupton' (Gaussians x polynomials) or 'delta-function'.
config.subtract.makeKernel.kernel['DF'].kernelBasisSet='delta-function'

# Kernel width in pixels when the PSFs are unknown (odd).
config.subtract.makeKernel.kernel['DF'].kernelSize=21

# Scale the kernel size and the AL Gaussian widths by the PSF FWHMs?
config.subtract.makeKernel.kernel['DF'].scaleByFwhm=True

# Kernel size = this x the widest AL Gaussian sigma.
config.subtract.makeKernel.kernel['DF'].kernelSizeFwhmScaling=6.0

# Smallest kernel size when scaling by FWHM (odd).
config.subtract.makeKernel.kernel['DF'].kernelSizeMin=21

# Largest kernel size when scaling by FWHM (odd).
config.subtract.makeKernel.kernel['DF'].kernelSizeMax=35

# Number of AL Gaussians.
config.subtract.makeKernel.kernel['DF'].alardNGauss=3

# AL Gaussian sigmas (pixels) when not scaling by FWHM.
config.subtract.makeKernel.kernel['DF'].alardSigGauss=[0.7, 1.5, 3.0]

# Polynomial degree multiplying each AL Gaussian.
config.subtract.makeKernel.kernel['DF'].alardDegGauss=[4, 2, 2]

# Ratio of successive AL Gaussian sigmas when scaling by FWHM.
config.subtract.makeKernel.kernel['DF'].alardGaussBeta=2.0

# Smallest AL Gaussian sigma when convolving the narrower image.
config.subtract.makeKernel.kernel['DF'].alardMinSig=0.7

# Smallest AL Gaussian sigma when deconvolving.
config.subtract.makeKernel.kernel['DF'].alardMinSigDeconv=0.4

# Regularise the delta-function basis?
config.subtract.makeKernel.kernel['DF'].useRegularization=True

# centralDifference or forwardDifference.
config.subtract.makeKernel.kernel['DF'].regularizationType='centralDifference'

# 5- or 9-point Laplacian stencil.
config.subtract.makeKernel.kernel['DF'].centralRegularizationStencil=9

# Orders of the forward differences.
config.subtract.makeKernel.kernel['DF'].forwardRegularizationOrders=[1, 2]

# absolute or relative (to the trace of the normal matrix).
config.subtract.makeKernel.kernel['DF'].lambdaType='absolute'

# Regularisation strength.
config.subtract.makeKernel.kernel['DF'].lambdaValue=0.2

# Fit a differential background with the kernel?
config.subtract.makeKernel.kernel['DF'].fitForBackground=True

# Spatial functions: chebyshev1 or polynomial.
config.subtract.makeKernel.kernel['DF'].spatialModelType='chebyshev1'

# Order of the spatial variation of the kernel.
config.subtract.makeKernel.kernel['DF'].spatialKernelOrder=2

# Order of the spatial variation of the background.
config.subtract.makeKernel.kernel['DF'].spatialBgOrder=1

# Weight stamps by the median inverse variance?
config.subtract.makeKernel.kernel['DF'].constantVarianceWeighting=True

# Reject candidates with bad single-kernel residuals?
config.subtract.makeKernel.kernel['DF'].singleKernelClipping=True

# Reject candidates with outlying kernel sums?
config.subtract.makeKernel.kernel['DF'].kernelSumClipping=True

# Reject candidates with bad spatial-kernel residuals?
config.subtract.makeKernel.kernel['DF'].spatialKernelClipping=True

# Largest |mean| of residual/sigma in a stamp.
config.subtract.makeKernel.kernel['DF'].candidateResidualMeanMax=0.25

# Largest rms of residual/sigma in a stamp.
config.subtract.makeKernel.kernel['DF'].candidateResidualStdMax=1.5

# Kernel-sum clip, in clipped standard deviations.
config.subtract.makeKernel.kernel['DF'].maxKsumSigma=3.0

# Rejection iterations of the spatial fit.
config.subtract.makeKernel.kernel['DF'].maxSpatialIterations=3

# Fit the spatial model on a PCA basis of single kernels?
config.subtract.makeKernel.kernel['DF'].usePcaForSpatialKernel=False

# Number of PCA components (plus the mean kernel).
config.subtract.makeKernel.kernel['DF'].numPrincipalComponents=5

# Candidates used per spatial cell.
config.subtract.makeKernel.kernel['DF'].nStarPerCell=5

# Spatial cell width (pixels).
config.subtract.makeKernel.kernel['DF'].sizeCellX=128

# Spatial cell height (pixels).
config.subtract.makeKernel.kernel['DF'].sizeCellY=128

# Candidates touching these planes in either image are rejected.
config.subtract.makeKernel.kernel['DF'].badMaskPlanes=['NO_DATA', 'EDGE', 'SAT']

config.subtract.makeKernel.kernel.name='AL'
# Undo the noise correlation of the convolution (and update the difference PSF)?
config.subtract.doDecorrelation=True

# Fail if the template covers less than this fraction of the science image.
config.subtract.requiredTemplateFraction=0.1

# Rescale the difference variance to its pixel noise?
config.subtract.doScaleVariance=True

# Pixels with any of these planes are not background.
config.subtract.scaleVariance.maskPlanes=['DETECTED', 'DETECTED_NEGATIVE', 'BAD', 'SAT', 'NO_DATA', 'INTRP', 'EDGE', 'CR']

# Refuse factors above this (or below its inverse): something else is wrong.
config.subtract.scaleVariance.limit=10.0

# Fewest background pixels to trust.
config.subtract.scaleVariance.minPixels=100

# Subtract the differential background fitted with the kernel?
config.subtract.doSubtractBackground=False

# Lowest S/N of a kernel source.
config.subtract.sourceSelector.signalToNoise.minimum=10.0

# Highest S/N of a kernel source.
config.subtract.sourceSelector.signalToNoise.maximum=500.0

# No other detection within this radius (pixels); 3 science FWHMs if None.
config.subtract.sourceSelector.isolationRadius=None

# Most kernel sources used (highest S/N first).
config.subtract.maxKernelSources=1000

# Fewest kernel sources; fewer is an error.
config.subtract.minKernelSources=3

# Kernel sources near these planes (either image) are not used.
config.subtract.excludeMaskPlanes=['NO_DATA', 'BAD', 'SAT', 'EDGE', 'FAKE', 'HIGH_VARIANCE']

# Pixels zeroed before convolution; their mask bits spread to the output.
config.subtract.badMaskPlanes=['NO_DATA', 'BAD', 'SAT', 'EDGE']

# Template mask planes copied to the difference.
config.subtract.preserveTemplateMask=['NO_DATA', 'BAD']

# Template mask planes copied to the difference as <NAME>_TEMPLATE.
config.subtract.renameTemplateMask=['SAT', 'INJECTED', 'INJECTED_CORE']

# Fit and subtract a smooth background from the difference before detection? Off as in the stack (detection.reEstimateBackground=False): the subtraction already fits the differential background.
config.detectAndMeasure.doSubtractBackground=False

# Detection threshold, in units of the PSF-smoothed image's noise.
config.detectAndMeasure.detection.thresholdValue=5.5

# Which polarities to detect.
config.detectAndMeasure.detection.thresholdPolarity='both'

# Pixels with these planes are not used for detection.
config.detectAndMeasure.detection.excludeMaskPlanes=['EDGE', 'NO_DATA', 'BAD']

# Grow detections by this many pixels.
config.detectAndMeasure.growFootprint=2

# Merge overlapping positive and negative footprints?
config.detectAndMeasure.doMerge=True

# Measure fluxes, shapes and flags of the DIA sources?
config.detectAndMeasure.doMeasurement=True

# Fit dipoles to footprints with both polarities (needs doMeasurement)?
config.detectAndMeasure.doDipoleFitting=True

# Quadrature sum of the lobes' S/N needed to call a fit a dipole.
config.detectAndMeasure.dipoleFit.minSn=7.0710678118654755

# Largest share of the total |flux| one lobe may carry in a dipole.
config.detectAndMeasure.dipoleFit.maxFluxRatio=0.65

# Forced PSF photometry at the DIA source positions on the difference and the matched template?
config.detectAndMeasure.doForcedMeasurement=True

# Add sky sources in empty sky?
config.detectAndMeasure.doSkySources=False

# Number of sky sources to place.
config.detectAndMeasure.skySources.nSources=100

# Half the side of the placement cells; sky sources stay 3x this from avoided pixels.
config.detectAndMeasure.skySources.sourceRadius=12

# Seed of the placement.
config.detectAndMeasure.skySources.seed=0

# Mask planes sky sources avoid.
config.detectAndMeasure.skySources.avoidMask=['DETECTED', 'DETECTED_NEGATIVE', 'BAD', 'NO_DATA', 'EDGE', 'SAT']

# Radius of the aperture flux, pixels.
config.detectAndMeasure.apertureRadius=12.0

# Pixels with these planes are left out of the photometry and moments.
config.detectAndMeasure.measurementExcludeMaskPlanes=['NO_DATA']

# DIA sources with any of these catalogue flags set are removed.
config.detectAndMeasure.badSourceFlags=['base_PixelFlags_flag_nodataCenter']

# Pixels with any of these planes are not background.
config.scaleVariance.maskPlanes=['DETECTED', 'DETECTED_NEGATIVE', 'BAD', 'SAT', 'NO_DATA', 'INTRP', 'EDGE', 'CR']

# Refuse factors above this (or below its inverse): something else is wrong.
config.scaleVariance.limit=10.0

# Fewest background pixels to trust.
config.scaleVariance.minPixels=100

# Coadd flavour used as template (deep, goodSeeing, ...).
config.getTemplate.coaddName='deep'

# Grow the science box by this (pixels) to find patches.
config.getTemplate.templateBorderSize=20

# Image kernel: 'lanczosN' (N = 1..16) or 'bilinear'.
config.getTemplate.warp.warpingKernelName='lanczos3'

# Kernel whose footprint spreads mask bits.
config.getTemplate.warp.maskWarpingKernelName='bilinear'

# Target pixels between exact evaluations of the pixel mapping.
config.getTemplate.warp.interpLength=16

# Scale by the pixel-area ratio so source counts are kept.
config.getTemplate.warp.conserveFlux=True

# Nodes per axis of the warped PSF.
config.getTemplate.warp.psfGridSize=5

# Fail if the template covers less than this fraction of the science image.
config.getTemplate.requiredTemplateFraction=0.1

# HIGH_VARIANCE where smoothed variance > this x median.
config.getTemplate.highVarianceThreshold=4.0

# Cell (pixels) of the clipped-median smoothing of the variance: large enough that stars (whose Poisson variance is high) vanish, small enough for chip gaps.
config.getTemplate.highVarianceCell=32

