"""The legacy monolithic ``ImageDifferenceTask`` and its parts.

Modules:

- `task`: `ImageDifferenceTask` and `ImageDifferenceConfig`, every historical
  switch, composing the split tasks (template, subtraction, detection);
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
