"""The catalogue of historical image-differencing features the audit looks for.

One entry per row of the feature table in ``DESIGN.md`` (its last row, "the
usual switches", split into one entry per switch). The ids are the names the
rest of the harness uses for a feature (scenario files, the database, the
reports); `check_feature_ids` refuses any other.

A file *uses* a feature when it departs from the default of our
`diffim.image_difference.ImageDifferenceConfig` in the feature's way: a
``switches`` alternative holds on its values, or it names a task or config
class that ``classes`` matches (a ``retarget``, a config type, a gen3 pipeline
task). For a switch that is on by default (decorrelation, dipole fitting,
forced photometry) that departure is turning it off: ``decorrelation`` is
used by a config that sets ``doDecorrelation = False``, the setting that
gen3 must keep offering if the switch stays. ``coadd_template`` is the
default template source; a file uses it when it chooses it by name.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ValidationError

__all__ = ["FEATURES", "FEATURE_IDS", "Feature", "check_feature_ids"]


@dataclass(frozen=True)
class Feature:
    """One historical feature and what replaces it in gen3.

    Attributes
    ----------
    id : `str`
        Stable snake_case name.
    title : `str`
        A few words for tables.
    description : `str`
        What the feature does.
    gen2_setting : `str`
        The gen2 config that means the feature is used.
    gen3_replacement : `str`
        What gen3 offers instead.
    switches : `tuple` [`tuple` [`tuple` [`str`, `object`], ...], ...]
        Alternatives, each a tuple of ``(field, value)`` pairs that must all
        hold on the effective config; field names are relative to the task's
        config (the monolith's, or a split task's, which keep its names).
    classes : `str` or `None`
        Regular expression matched in full against the short name of task and
        config classes a file names.
    """

    id: str
    title: str
    description: str
    gen2_setting: str
    gen3_replacement: str
    switches: tuple = ()
    classes: str | None = None


_CATALOGUE = (
    Feature("coadd_template", "coadd template",
            "template assembled from the skymap's coadd patches overlapping the science "
            "detector, warped to its WCS",
            "getTemplate.retarget(GetCoaddAsTemplateTask) (the default)",
            "GetTemplateTask: patches found by the registry's spatial join",
            classes=r"GetCoaddAsTemplateTask|GetTemplateTask"),
    Feature("calexp_template", "calexp template",
            "calexp - calexp subtraction; --templateId gives the template's data ID",
            "getTemplate.retarget(GetCalexpAsTemplateTask)",
            "a task pairing two explicit data IDs, or MakeCalexpCoaddTask (a one-input coadd) "
            "then coadd-template differencing",
            classes=r"GetCalexpAsTemplateTask|MakeCalexpCoaddTask|\w*Calexp\w*Template\w*Task"),
    Feature("select_sources_ref", "kernel sources from refcat",
            "kernel candidates = science sources cross-matched to an external reference catalog",
            "doSelectSources = True, kernelSourcesFromRef = True",
            "reference catalog shards (HTM level 7) as a prerequisite input",
            switches=((("doSelectSources", True), ("kernelSourcesFromRef", True)),)),
    Feature("select_sources_template", "kernel sources from template src",
            "kernel candidates = science sources matched to the template's own source catalog",
            "doSelectSources = True, kernelSourcesFromRef = False",
            "the template src catalog as an input",
            switches=((("doSelectSources", True), ("kernelSourcesFromRef", False)),)),
    Feature("detect_only", "detect only",
            "detection and measurement only, on a persisted difference image",
            "doSubtract = False",
            "DetectAndMeasureTask run alone on an existing collection",
            switches=((("doSubtract", False),),)),
    Feature("add_metrics", "kernel metrics",
            "kernel-candidate QA columns in a kernelSrc catalog, metadata counts",
            "doAddMetrics = True", "the same kernelSrc output dataset",
            switches=((("doAddMetrics", True),),)),
    Feature("match_sources", "match DIA sources",
            "srcMatchId, refMatchId columns on DIA sources",
            "doMatchSources = True", "the same columns",
            switches=((("doMatchSources", True),),)),
    Feature("winter2013", "Winter2013 task",
            "subclass: calexp template, WCS shift / rms jitter of template centroids",
            "Winter2013ImageDifferenceTask", "the same subclass",
            classes=r"Winter2013ImageDifference(Task|Config)"),
    Feature("split_tasks", "split tasks",
            "subtraction and detect+measure as two tasks",
            "doDetection = False (subtraction alone)",
            "the gen3 pipeline is the split: AlardLuptonSubtractTask, then DetectAndMeasureTask",
            switches=((("doDetection", False),),),
            classes=r"AlardLuptonSubtractTask|DetectAndMeasureTask"),
    Feature("convolve_science", "convolve science",
            "convolve the science image instead of the template",
            "convolveTemplate = False (split task: mode = 'convolveScience')",
            "the same switch (mode = 'convolveScience')",
            switches=((("convolveTemplate", False),), (("mode", "convolveScience"),))),
    Feature("auto_mode", "auto convolution",
            "choose which image to convolve from the PSF widths at run time",
            "mode = 'auto' (split task; the monolith's convolveTemplate overrides it)",
            "the same switch", switches=((("mode", "auto"),),)),
    Feature("decorrelation", "decorrelation off",
            "the decorrelation afterburner switched off",
            "doDecorrelation = False", "the same switch",
            switches=((("doDecorrelation", False),),)),
    Feature("score_image", "score image",
            "pre-convolution of the science image by its PSF (a score image), detected "
            "without smoothing",
            "useScoreImageDetection = True (doPreConvolve = True until 2021)",
            "split tasks: mode = 'preconvolve' and detection.doSmooth = False",
            switches=((("useScoreImageDetection", True),), (("doPreConvolve", True),),
                      (("mode", "preconvolve"),))),
    Feature("zogy", "ZOGY subtraction",
            "ZOGY proper image subtraction (Zackay, Ofek & Gal-Yam 2016) instead of "
            "Alard-Lupton, detection on its score with useScoreImageDetection",
            "subtract.name = 'zogy'",
            "the monolith's subtract registry only: the split pipelines subtract with "
            "Alard-Lupton",
            switches=((("subtract.name", "zogy"),), (("subtract", "zogy"),))),
    Feature("dipole_fit", "dipole fitting off",
            "dipole fitting of two-lobed footprints switched off",
            "doDipoleFitting = False", "the same switch",
            switches=((("doDipoleFitting", False),),)),
    Feature("sky_sources", "sky sources",
            "sky sources placed in empty sky among the DIA sources",
            "doSkySources = True", "the same switch",
            switches=((("doSkySources", True),),)),
    Feature("forced_phot", "forced photometry off",
            "forced PSF photometry on the difference and the template switched off",
            "doForcedMeasurement = False", "the same switch",
            switches=((("doForcedMeasurement", False),),)),
)

FEATURES = {feature.id: feature for feature in _CATALOGUE}
"""`dict` [`str`, `Feature`]: the catalogue by id, in table order."""

FEATURE_IDS = tuple(FEATURES)
"""The feature ids, in table order."""


def check_feature_ids(feature_ids, where):
    """Refuse feature ids that are not in the catalogue.

    Parameters
    ----------
    feature_ids : iterable of `str`
        Ids to check, e.g. the features a scenario file names.
    where : `str`
        What named them, for the message (a file, a mapping).

    Raises
    ------
    ValidationError
        One of ``feature_ids`` is not a catalogued feature.
    """
    for feature_id in feature_ids:
        if feature_id not in FEATURES:
            raise ValidationError(f"{where}: unknown feature {feature_id!r} "
                                  f"(known: {', '.join(FEATURE_IDS)})")
