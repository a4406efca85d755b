"""The gen2 side of a campaign: ``imageDifference.py`` on our gen2 repository, in process.

On the ``parsl`` engine the command's data references are Parsl apps
(`compat.gen2.parsl_runner`); on the ``local`` one, gen2's ``-j`` pool.
What the command wrote is read back per data ID by `Gen2Outputs`, wherever
the comparison runs.
"""
from __future__ import annotations

import time
from pathlib import Path

from compat.error_log import ErrorLines
from compat.gen2 import Butler
from compat.gen2.commands import run_image_difference
from compat.gen2.errors import Gen2Error
from compat.gen2.image_difference import (
    ImageDifferenceCmdLineTask,
    Winter2013ImageDifferenceCmdLineTask,
)
from compat.gen2.ingest import ingest_field_files

from .outputs import BackendOutput, data_id_key

__all__ = ["Gen2Backend", "Gen2Outputs", "gen2_arguments"]

_COMMAND_TASKS = {"ImageDifferenceTask": ImageDifferenceCmdLineTask,
                  "Winter2013ImageDifferenceTask": Winter2013ImageDifferenceCmdLineTask}


def gen2_arguments(root, scenario, data_ids, override_file, jobs=1):
    """The ``imageDifference.py`` arguments a gen2 user would type for ``scenario``."""
    visits = "^".join(str(v) for v in sorted({d["visit"] for d in data_ids}))
    ccds = "^".join(str(d) for d in sorted({d["detector"] for d in data_ids}))
    rerun = f"{scenario.builds_on}:{scenario.name}" if scenario.builds_on else scenario.name
    arguments = [str(root), "--id", f"visit={visits}", f"ccd={ccds}", "--rerun", rerun,
                 "-C", str(override_file), "-j", str(jobs)]
    if scenario.template_visit is not None:
        arguments += ["--templateId", f"visit={scenario.template_visit}"]
    return arguments


class Gen2Backend:
    """A gen2 repository made from the campaign's field files, and the command run on it."""

    name = "gen2"

    def __init__(self, directory):
        self.root = Path(directory) / "repo"

    def ingest(self, files):
        """Make the repository from `diffim.sim.field_files.FieldFiles`."""
        ingest_field_files(files, self.root)

    def run(self, scenario, data_ids, override_file, engine):
        """Run the command for ``scenario`` and read back what it wrote per data ID.

        Parameters
        ----------
        scenario : `validation.campaign.scenarios.Scenario`
        data_ids : `list` [`dict`]
        override_file : `pathlib.Path`
            The scenario as a ``-C`` file.
        engine : `validation.campaign.engine.Engine`

        Returns
        -------
        outputs : `Gen2Outputs`
        """
        arguments = gen2_arguments(self.root, scenario, data_ids, override_file, engine.jobs)
        with ErrorLines() as errors:
            started = time.monotonic()
            run_image_difference(arguments, taskClass=_command_task(scenario.task, engine))
            seconds = (time.monotonic() - started) / len(data_ids)
        return Gen2Outputs(self.root / "rerun" / scenario.name, tuple(scenario.products), seconds,
                           tuple(errors.lines))


def _command_task(task, engine):
    """The command class running ``task``: its data references as Parsl apps on that engine
    (Parsl imported only then)."""
    if not engine.parsl:
        return _COMMAND_TASKS[task]
    from compat.gen2.parsl_runner import PARSL_COMMANDS

    return PARSL_COMMANDS[_COMMAND_TASKS[task]]


class Gen2Outputs:
    """What one gen2 command wrote, read back per data ID; pickles small (paths and lines).

    Parameters
    ----------
    rerun : `pathlib.Path`
        The command's output repository.
    products : `tuple` [`str`]
        The scenario's products (``deepDiff_<product>``).
    seconds : `float`
        The command's wall time per data ID.
    error_lines : `tuple` [`str`]
        The ERROR lines the command logged (a failed data ID's reason).
    """

    def __init__(self, rerun, products, seconds, error_lines):
        self.rerun, self.products = Path(rerun), products
        self.seconds, self.error_lines = seconds, error_lines
        self._butler = None

    def __getstate__(self):
        return {**self.__dict__, "_butler": None}  # opened again where it is read

    @property
    def butler(self):
        """The output repository's butler, opened at the first read."""
        if self._butler is None:
            self._butler = Butler(self.rerun)
        return self._butler

    def read(self, data_id):
        """One data ID's `validation.campaign.outputs.BackendOutput`."""
        visit, ccd = data_id_key(data_id)
        result = BackendOutput(seconds=self.seconds)
        for product in self.products:
            if self.butler.datasetExists(f"deepDiff_{product}", visit=visit, ccd=ccd):
                result.outputs[product] = self.butler.get(f"deepDiff_{product}", visit=visit,
                                                          ccd=ccd)
        try:
            result.metadata = self.butler.get("deepDiff_metadata", visit=visit, ccd=ccd)
        except Gen2Error:
            result.metadata = {}
        if not result.outputs:
            lines, tag = self.error_lines, f"visit={visit}"
            result.error = next((line for line in lines if tag in line and f"ccd={ccd}" in line),
                                "wrote no outputs" + (f" ({lines[0]})" if lines else ""))
        return result
