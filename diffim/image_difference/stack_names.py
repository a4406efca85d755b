"""The stack's module names that real override files import, and what they name here.

``from lsst.ip.diffim.getTemplate import GetCalexpAsTemplateTask`` in a 2018
file means this package's `GetCalexpAsTemplateTask`; the table below is
what `diffim.config.stack_imports.stack_modules` serves while such a file
runs. Only names with a counterpart here are offered: importing another one
fails on its line, as it would have with a stack that lacked it.
"""
from __future__ import annotations

__all__ = ["stack_module_table"]


def stack_module_table():
    """Stack module name -> {name: object} (built on demand: the tasks import this module)."""
    from ..measure.detection import SourceDetectionTask
    from ..subtract.scale_variance import ScaleVarianceTask
    from ..template.get_template import GetCalexpAsTemplateTask, GetCoaddAsTemplateTask
    from . import stack_astrometry, stack_measurement, subtract_registry
    from .task import ImageDifferenceConfig, ImageDifferenceTask
    from .winter2013 import Winter2013ImageDifferenceConfig, Winter2013ImageDifferenceTask

    templates = {"GetCoaddAsTemplateTask": GetCoaddAsTemplateTask,
                 "GetCalexpAsTemplateTask": GetCalexpAsTemplateTask}
    subtraction = {name: getattr(subtract_registry, name) for name in subtract_registry.__all__}
    measurement = {name: getattr(stack_measurement, name)
                   for name in ("DipoleFitTask", "DecorrelateALKernelSpatialTask")}
    return {
        "lsst.ip.diffim": {**templates, **subtraction, **measurement},
        "lsst.ip.diffim.getTemplate": templates,
        "lsst.ip.diffim.imagePsfMatch": subtraction,
        "lsst.ip.diffim.zogy": subtraction,
        "lsst.ip.diffim.dipoleFitTask": {"DipoleFitTask": stack_measurement.DipoleFitTask},
        "lsst.ip.diffim.imageDecorrelation": {
            "DecorrelateALKernelSpatialTask": stack_measurement.DecorrelateALKernelSpatialTask},
        "lsst.pipe.tasks.imageDifference": {
            "ImageDifferenceConfig": ImageDifferenceConfig,
            "ImageDifferenceTask": ImageDifferenceTask,
            "Winter2013ImageDifferenceConfig": Winter2013ImageDifferenceConfig,
            "Winter2013ImageDifferenceTask": Winter2013ImageDifferenceTask},
        "lsst.pipe.tasks.registerImage": {"RegisterTask": stack_astrometry.RegisterTask},
        "lsst.pipe.tasks.scaleVariance": {"ScaleVarianceTask": ScaleVarianceTask},
        "lsst.meas.algorithms": {
            "LoadIndexedReferenceObjectsTask": stack_astrometry.LoadIndexedReferenceObjectsTask,
            "ObjectSizeStarSelectorTask": stack_astrometry.ObjectSizeStarSelectorTask,
            "SourceDetectionTask": SourceDetectionTask, "ScaleVarianceTask": ScaleVarianceTask,
            "SkyObjectsTask": stack_measurement.SkyObjectsTask},
        "lsst.meas.astrom": {"AstrometryTask": stack_astrometry.AstrometryTask},
        "lsst.meas.base": {"ForcedMeasurementTask": stack_measurement.ForcedMeasurementTask,
                           "ApplyApCorrTask": stack_measurement.ApplyApCorrTask},
    }
