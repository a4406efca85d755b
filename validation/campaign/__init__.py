"""Validation campaigns: scenarios (YAML) run through gen2 and gen3 on one field, compared.

`load_campaign` reads a campaign file, `run_campaign` runs it and records
the results; ``diffim-validate run`` (`validation.campaign.cli`) does both
and writes the reports.
"""
from .run import run_campaign
from .scenarios import Campaign, Scenario, load_campaign

__all__ = ["Campaign", "Scenario", "load_campaign", "run_campaign"]
