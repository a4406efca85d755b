"""The records the validation harness passes between its parts.

A campaign runs scenarios; each scenario is run by both backends on a set of
data IDs; each data ID yields one `Comparison` per output product (the
difference image, the DIA source catalogue, ...). `RunReport` gathers one
campaign's results; it is what the database stores and what the reports
render, so the comparison, database and report modules only meet here.
"""
from __future__ import annotations

import datetime
import enum
from dataclasses import dataclass, field

__all__ = ["AuditRecord", "Comparison", "DataIdResult", "RankedEnum", "RunInfo", "RunReport",
           "RunStatus", "ScenarioResult", "TrendPoint", "Verdict", "now_iso", "worst_verdict"]


class RankedEnum(str, enum.Enum):
    """A string enum whose members are declared from best to worst."""

    @property
    def rank(self):
        """0 for the best member, larger for worse ones."""
        return list(type(self)).index(self)

    @classmethod
    def worst(cls, members):
        """The worst of ``members`` (the best member when there are none)."""
        return max(members, key=lambda member: member.rank, default=next(iter(cls)))


class Verdict(RankedEnum):
    """How two outputs compare, from best to worst.

    ``IDENTICAL``: bit for bit (pixels) or value for value (catalogues).
    ``WITHIN_TOLERANCE``: they differ, but inside the scenario's tolerances.
    ``DIFFERENT``: outside tolerance; acceptable only with a named reason.
    ``FAILED``: one side produced no output (an error, a missing dataset).
    """

    IDENTICAL = "identical"
    WITHIN_TOLERANCE = "within_tolerance"
    DIFFERENT = "different"
    FAILED = "failed"


class RunStatus(str, enum.Enum):
    """How a campaign run stands: running, or how it ended.

    Only ``COMPLETE`` means every planned scenario was run and recorded;
    the other ends leave the run incomplete.
    """

    RUNNING = "running"
    COMPLETE = "complete"
    INTERRUPTED = "interrupted"
    FAILED = "failed"
    ABANDONED = "abandoned"


def worst_verdict(verdicts):
    """The worst of ``verdicts`` (`Verdict.IDENTICAL` for none)."""
    return Verdict.worst(verdicts)


@dataclass
class Comparison:
    """One output product of one data ID, compared between two sources.

    Attributes
    ----------
    product : `str`
        What was compared, e.g. ``"differenceExp"`` or ``"diaSrc"``.
    kind : `str`
        ``"image"`` or ``"catalog"``.
    verdict : `Verdict`
    summary : `str`
        One line for a human, e.g. ``"image max |Δ| 3.1e-07 (0.002 σ) in 12 px"``.
    metrics : `dict` [`str`, `float`]
        Named numbers, flat (``"image.max_abs"``, ``"matched_fraction"``, ...).
    details : `dict`
        Anything JSON-serialisable that explains the verdict (per mask plane,
        per column, where the differences sit).
    reason : `str` or `None`
        Why a difference is expected (from the scenario), or `None`.
    artifacts : `dict` [`str`, `str`]
        Files written alongside (e.g. ``"diff_of_diff"`` -> a FITS path), for plots.
    """

    product: str
    kind: str
    verdict: Verdict
    summary: str
    metrics: dict = field(default_factory=dict)
    details: dict = field(default_factory=dict)
    reason: str | None = None
    artifacts: dict = field(default_factory=dict)


@dataclass
class DataIdResult:
    """All comparisons of one data ID in one scenario, plus per-backend metrics.

    ``backend_metrics`` maps backend (``"gen2"``, ``"gen3"``) to named numbers
    such as ``"kernel_sum"``, ``"n_dia_sources"``, ``"residual_std"``,
    ``"seconds"``.
    """

    data_id: dict
    comparisons: list = field(default_factory=list)
    backend_metrics: dict = field(default_factory=dict)
    error: str | None = None

    @property
    def verdict(self):
        """The worst verdict of the comparisons (`Verdict.FAILED` on error)."""
        if self.error:
            return Verdict.FAILED
        return worst_verdict(c.verdict for c in self.comparisons)


@dataclass
class ScenarioResult:
    """One scenario of a campaign and the results of its data IDs."""

    name: str
    features: list
    description: str = ""
    template_mode: str = ""
    definition: dict = field(default_factory=dict)
    data_ids: list = field(default_factory=list)
    expected_reason: str | None = None

    @property
    def verdict(self):
        """The worst verdict over the scenario's data IDs."""
        return worst_verdict(d.verdict for d in self.data_ids)


@dataclass
class RunInfo:
    """Where and how a campaign ran.

    ``status`` is a `RunStatus` value: ``"running"`` until the run ends
    ``"complete"``, ``"interrupted"`` (Ctrl-C, SIGTERM), ``"failed"`` (an
    error stopped it) or is found ``"abandoned"`` (its process died without
    a word); `None` in files written before runs had a status. ``planned_scenarios`` names the
    scenarios the run set out to run (empty when not recorded).
    """

    campaign: str
    code_version: str
    config_hash: str
    machine: str
    started: str
    finished: str | None = None
    run_id: int | None = None
    python: str = ""
    packages: dict = field(default_factory=dict)
    status: str | None = None
    planned_scenarios: list = field(default_factory=list)


def now_iso():
    """The time now as `RunInfo` records times: ISO 8601, UTC, whole seconds."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


@dataclass
class AuditRecord:
    """One historical feature found (or not) in one audited file.

    ``kind`` is ``"config"`` (a pex_config override or persisted ``*_config``)
    or ``"pipeline"`` (a gen3 pipeline YAML); ``evidence`` quotes the line(s)
    that show the feature; ``problems`` lists what could not be parsed or
    was refused (e.g. a statement the audit would not evaluate);
    ``references`` lists what the file names but the audit does not run
    (imports, loaded config files, imported pipelines). ``era`` is the
    date of the stack an override file was written for and what says so
    (``"2016-11-13 (PROVENANCE.md:14)"``), empty when unknown; ``findings``
    says what the file relied on in that era and what changes today, as
    ``{"kind", "path", "message"}`` (`validation.audit.era_findings`).
    """

    path: str
    kind: str
    features: list
    evidence: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    references: list = field(default_factory=list)
    era: str = ""
    findings: list = field(default_factory=list)


@dataclass
class RunReport:
    """Everything one campaign produced, as stored and as reported."""

    run: RunInfo
    scenarios: list = field(default_factory=list)
    audits: list = field(default_factory=list)

    @property
    def verdict(self):
        """The worst verdict over all scenarios."""
        return worst_verdict(s.verdict for s in self.scenarios)

    def recorded_of_planned(self, separator=" of "):
        """``3 of 20``: scenarios recorded, ``separator``, scenarios planned; ``3`` alone for a
        run recorded before runs kept their plan (``planned_json`` NULL, schema < 6)."""
        recorded, planned = len(self.scenarios), len(self.run.planned_scenarios)
        return f"{recorded}{separator}{planned}" if planned else str(recorded)


@dataclass
class TrendPoint:
    """Scenario outcome counts of one stored run, for trend plots across runs."""

    run_id: int
    started: str
    code_version: str
    counts: dict
    metrics: dict = field(default_factory=dict)
