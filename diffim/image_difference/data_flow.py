"""What the legacy ``ImageDifferenceTask`` reads and writes for a configuration: one rule.

Both middleware adapters ask `data_flow`: gen2's ``runDataRef`` reads and
writes what it lists, gen3's connections declare it. The rule follows the
last gen2 ``ImageDifferenceTask`` (pipe_tasks, 2022):

- the template (``getTemplate``'s inputs: coadd patches and the skymap, or
  the paired calexp and its ``src``) is always read -- the real
  ``runDataRef`` fetched it before looking at ``doSubtract``, so a
  detection-only run also needed a template;
- ``doSubtract=False`` reads the persisted ``<coaddName>Diff_differenceExp``
  and nothing else of the earlier run: the real task never read
  ``_matchedExp`` (its dipole fit then used the difference and the science
  image only);
- the reference catalogue is required for kernel sources matched to it
  (``doSelectSources`` with ``kernelSourcesFromRef``), and read when it
  exists for ``doMatchSources`` (``refMatchId``) and the metrics
  (`adds_metrics`: the false positives at reference stars) -- whatever the
  kernel sources are matched to;
- outputs (suffixes of ``<coaddName>Diff_``): ``differenceExp``,
  ``matchedExp``, ``warpedExp``, ``scoreExp`` as the ``doWrite*`` switches
  say when subtracting (``scoreExp``: Alard-Lupton's with
  ``useScoreImageDetection``, ZOGY's always), ``diaSrc`` when detecting and
  ``doWriteSources``, ``kernelSrc`` when subtracting with metrics.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..template.get_template import GetCalexpAsTemplateTask

__all__ = ["DataFlow", "OPTIONAL", "REQUIRED", "UNUSED", "adds_metrics", "data_flow"]

REQUIRED, OPTIONAL, UNUSED = "required", "optional", "unused"
"""How a configuration uses an input that may be absent (the reference catalogue)."""


@dataclass(frozen=True)
class DataFlow:
    """The inputs and outputs of one legacy configuration.

    Attributes
    ----------
    template : `bool`
        Read ``getTemplate``'s inputs.
    calexpTemplate : `bool`
        They are another visit's calexp and ``src`` (``getTemplate``
        retargeted to `GetCalexpAsTemplateTask`), else coadd patches and
        the skymap.
    differenceExp : `bool`
        Read the persisted difference (``doSubtract=False``).
    referenceCatalog : `str`
        `REQUIRED`, `OPTIONAL` (used when the repository has one) or `UNUSED`.
    outputs : `tuple` [`str`]
        Dataset-type suffixes written, after ``<coaddName>Diff_``.
    """

    template: bool
    calexpTemplate: bool
    differenceExp: bool
    referenceCatalog: str
    outputs: tuple


def adds_metrics(config):
    """Whether ``doAddMetrics`` takes effect: metrics describe selected kernel sources.

    The stack's task computed and wrote them only ``if doAddMetrics and
    doSelectSources``.
    """
    return config.doAddMetrics and config.doSelectSources


def data_flow(config):
    """What a legacy ``ImageDifferenceConfig`` reads and writes (see the module docstring).

    Parameters
    ----------
    config : `diffim.image_difference.ImageDifferenceConfig`

    Returns
    -------
    flow : `DataFlow`
    """
    if config.doSubtract and config.doSelectSources and config.kernelSourcesFromRef:
        reference = REQUIRED
    elif config.doDetection and (config.doMatchSources or adds_metrics(config)):
        reference = OPTIONAL
    else:
        reference = UNUSED
    wanted = {
        "differenceExp": config.doSubtract and config.doWriteSubtractedExp,
        "matchedExp": config.doSubtract and config.doWriteMatchedExp,
        "warpedExp": config.doSubtract and config.doWriteWarpedExp,
        "scoreExp": config.doSubtract and config.doWriteScoreExp,
        "diaSrc": config.doDetection and config.doWriteSources,
        "kernelSrc": config.doSubtract and adds_metrics(config),
    }
    return DataFlow(template=True,
                    calexpTemplate=issubclass(config.getTemplate.target, GetCalexpAsTemplateTask),
                    differenceExp=not config.doSubtract, referenceCatalog=reference,
                    outputs=tuple(name for name, written in wanted.items() if written))
