"""Validation campaigns: scenarios (YAML) run through gen2 and gen3 on one field, compared.

`load_campaign` reads a campaign file, `run_campaign` runs it and records
the results; ``diffim-validate run`` (`validation.campaign.cli`) does both
and writes the reports.

The names below are imported on first use: scenarios bring the science's
configs and `run_campaign` the middlewares (together about 2 s), which the
harness's other commands (``status``, ``--help``) do not need.
"""
from diffim._lazy import lazy_exports

__all__ = ["Campaign", "Scenario", "load_campaign", "run_campaign"]

_EXPORTS = {
    "Campaign": "validation.campaign.scenarios",
    "Scenario": "validation.campaign.scenarios",
    "load_campaign": "validation.campaign.scenarios",
    "run_campaign": "validation.campaign.run",
}
"""Public name -> the module that defines it."""

__getattr__ = lazy_exports(globals(), _EXPORTS)
