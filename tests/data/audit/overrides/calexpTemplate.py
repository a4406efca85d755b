"""imageDifference.py -C override: calexp - calexp differencing, kernel sources from the refcat."""
import os.path

from diffim.get_template import GetCalexpAsTemplateTask

config.getTemplate.retarget(GetCalexpAsTemplateTask)
config.getTemplate.warp.warpingKernelName = "lanczos4"

# Kernel candidates: science sources with a reference-catalogue counterpart.
config.doSelectSources = True
config.kernelSourcesFromRef = True
config.doAddMetrics = True
config.selectMatchRadius = config.diaSourceMatchRadius

# Stated explicitly, but the default: this file does subtract.
config.doSubtract = True

config.subtract.makeKernel.kernel['AL'].kernelSize = 25
config.subtract.sourceSelector.signalToNoise.minimum = 20.0
config.detectAndMeasure.detection.thresholdValue = 5.5

config.load(os.path.join(os.path.dirname(__file__), "skySources.py"))
