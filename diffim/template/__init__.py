"""Templates on the science frame.

Modules:

- `get_template`: `GetCoaddAsTemplateTask` (coadd patches warped and merged)
  and `GetCalexpAsTemplateTask` (another calexp warped). Stored configs and
  override files name it ``diffim.get_template``, which still imports.
"""
from .get_template import (
                           GetCalexpAsTemplateConfig,
                           GetCalexpAsTemplateTask,
                           GetCoaddAsTemplateConfig,
                           GetCoaddAsTemplateTask,
                           NoTemplateError,
)

__all__ = [
    "GetCalexpAsTemplateConfig",
    "GetCalexpAsTemplateTask",
    "GetCoaddAsTemplateConfig",
    "GetCoaddAsTemplateTask",
    "NoTemplateError",
]
