"""The legacy monolithic ``ImageDifferenceTask`` and its parts.

Modules:

- `task`: `ImageDifferenceTask`, every historical switch, composing the split
  tasks (template, subtraction, detection);
- `config`: `ImageDifferenceConfig`, the stack's fields and ``validate()``
  rules, and what is accepted but not applied here (`config.NOT_APPLIED`);
- `subtract_registry`: ``subtract``, the registry of algorithms (``al``, ``zogy``);
- `stack_astrometry`, `stack_measurement`: the stack's sub-configs this package
  accepts for override files but does not run (``refObjLoader``, ``astrometer``,
  ``measurement``, ...);
- `stack_names`: the stack's module names override files import;
- `winter2013`: `Winter2013ImageDifferenceTask`, the perturbed-template variant;
- `data_flow`: what a configuration reads and writes, the one rule both
  middleware adapters follow;
- `kernel_source_inputs`: which catalogue the kernel sources come from;
- `source_selection`: ``doSelectSources``, matched sources and a control sample;
- `kernel_metrics`, `subtraction_qa`: ``doAddMetrics`` (the ``kernelSrc``
  catalogue, false-positive counts);
- `dia_matching`: ``doMatchSources`` (``srcMatchId``, ``refMatchId``).
"""
from .data_flow import DataFlow, data_flow
from .task import ImageDifferenceConfig, ImageDifferenceTask
from .winter2013 import Winter2013ImageDifferenceConfig, Winter2013ImageDifferenceTask

__all__ = [
    "DataFlow",
    "ImageDifferenceConfig",
    "ImageDifferenceTask",
    "Winter2013ImageDifferenceConfig",
    "Winter2013ImageDifferenceTask",
    "data_flow",
]
