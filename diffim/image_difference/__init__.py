"""The legacy monolithic ``ImageDifferenceTask`` and its parts.

Modules:

- `task`: `ImageDifferenceTask` and `ImageDifferenceConfig`, every historical
  switch, composing the split tasks (template, subtraction, detection);
- `winter2013`: `Winter2013ImageDifferenceTask`, the perturbed-template variant;
- `kernel_source_inputs`: which catalogue the kernel sources come from;
- `source_selection`: ``doSelectSources``, matched sources and a control sample;
- `kernel_metrics`, `subtraction_qa`: ``doAddMetrics`` (the ``kernelSrc``
  catalogue, false-positive counts);
- `dia_matching`: ``doMatchSources`` (``srcMatchId``, ``refMatchId``).
"""
from .task import ImageDifferenceConfig, ImageDifferenceTask
from .winter2013 import Winter2013ImageDifferenceConfig, Winter2013ImageDifferenceTask

__all__ = [
    "ImageDifferenceConfig",
    "ImageDifferenceTask",
    "Winter2013ImageDifferenceConfig",
    "Winter2013ImageDifferenceTask",
]
