"""Scenarios as data: a campaign file (YAML) lists what to run through both middlewares.

A campaign names a dataset (a simulated field, or a directory of field
files), the science data IDs, default tolerances, and its scenarios. A
scenario is one historical feature (or a combination): which task, which
template mode, which config overrides, which gen3 pipeline, what to compare,
and, when a difference between the backends is expected, why.

Every name is checked when the file is read: unknown keys, config fields the
task does not have, feature ids the audit does not know, a scenario that
builds on one not defined before it. Campaign and scenario names become
directory, file and collection names, so they must be plain names
(`compat.names.name_problem`). Nothing is executed: overrides are YAML
values, set on a config by `diffim.config.paths.set_path` (the setter
behind every ``-c``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from compat.names import name_problem
from diffim.config.fresh import fresh_config
from diffim.config.paths import ConfigValueError, UnknownConfigFieldError, set_path
from diffim.image_difference import (
    ImageDifferenceTask,
    Winter2013ImageDifferenceTask,
)
from diffim.template import GetCalexpAsTemplateTask

from ..audit.features import FEATURES
from ..compare import Tolerances
from ..errors import ValidationError

__all__ = ["BUILTIN_DIR", "Campaign", "Scenario", "TASKS", "apply_overrides", "load_campaign",
           "load_override_file"]

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "scenarios"
"""Where the shipped campaign files are (``default.yaml`` is the main job's)."""

TASKS = {"ImageDifferenceTask": ImageDifferenceTask,
         "Winter2013ImageDifferenceTask": Winter2013ImageDifferenceTask}
"""Task classes a scenario may name."""

TEMPLATE_MODES = ("coadd", "calexp")
PRODUCTS = ("differenceExp", "diaSrc", "matchedExp", "warpedExp", "scoreExp", "kernelSrc")


@dataclass(frozen=True)
class Scenario:
    """One row of the feature matrix.

    Attributes
    ----------
    name : `str`
        Unique in its campaign; also the gen2 rerun and gen3 RUN name.
    features : `tuple` [`str`]
        Feature ids (`validation.audit.features.FEATURES`).
    description : `str`
    task : `str`
        A key of `TASKS`.
    template : `str`
        ``"coadd"`` (coadd patches, the default ``getTemplate``) or
        ``"calexp"`` (``getTemplate`` retargeted to `GetCalexpAsTemplateTask`:
        ``template_visit``'s calexp of the same detector).
    template_visit : `int` or `None`
        The template visit of the calexp mode (gen2 ``--templateId``, the
        gen3 pairing).
    config : `dict`
        ``ImageDifferenceConfig`` overrides, dotted name -> value; the gen2
        ``-c`` arguments and the gen3 monolith's config.
    gen3_pipeline : `str`
        Shipped gen3 pipeline to compare with (``"image_difference"`` is the
        monolith, an exact-equivalence run).
    gen3_config : `dict`
        Extra gen3 overrides, task label -> {dotted name: value}, for the
        split pipelines whose labels differ from the monolith's.
    builds_on : `str` or `None`
        A scenario whose outputs this one reads (``doSubtract=False``).
    products : `tuple` [`str`]
        Outputs compared per data ID.
    tolerances : `validation.compare.Tolerances`
    expected_reason : `str` or `None`
        Why the backends are expected to differ, if they are.
    override_file : `str` or `None`
        A user's override file (absolute path), loaded unchanged before
        ``config``: both middlewares run it as the gen2 user did. In the
        campaign file, relative to the campaign file.
    """

    name: str
    features: tuple
    description: str = ""
    task: str = "ImageDifferenceTask"
    template: str = "coadd"
    template_visit: int | None = None
    config: dict = field(default_factory=dict)
    gen3_pipeline: str = "image_difference"
    gen3_config: dict = field(default_factory=dict)
    builds_on: str | None = None
    products: tuple = ("differenceExp", "diaSrc")
    tolerances: Tolerances = field(default_factory=Tolerances)
    expected_reason: str | None = None
    override_file: str | None = None

    def make_config(self):
        """The task config with this scenario's overrides applied (validated)."""
        config = fresh_config(TASKS[self.task].ConfigClass)
        if self.template == "calexp":
            config.getTemplate.retarget(GetCalexpAsTemplateTask)
        if self.override_file:
            load_override_file(config, self.override_file, where=f"scenario {self.name!r}")
        apply_overrides(config, self.config, where=f"scenario {self.name!r}")
        config.validate()
        return config

    def definition(self):
        """The scenario as plain data (for the database)."""
        data = dataclasses.asdict(self)
        data["tolerances"] = dataclasses.asdict(self.tolerances)
        data["features"] = list(self.features)
        data["products"] = list(self.products)
        return data


@dataclass(frozen=True)
class Campaign:
    """A campaign file, read and checked."""

    name: str
    description: str
    dataset: dict
    visits: tuple
    detectors: tuple
    scenarios: tuple
    source: Path

    def scenario(self, name):
        """The scenario called ``name``."""
        for scenario in self.scenarios:
            if scenario.name == name:
                return scenario
        raise ValidationError(f"{self.source}: no scenario {name!r}")

    def select(self, names):
        """A campaign with only ``names`` and the scenarios they build on, in file order."""
        wanted = set()
        for name in names:
            scenario = self.scenario(name)
            while scenario is not None:
                wanted.add(scenario.name)
                scenario = self.scenario(scenario.builds_on) if scenario.builds_on else None
        return dataclasses.replace(
            self, scenarios=tuple(s for s in self.scenarios if s.name in wanted))


def apply_overrides(config, overrides, where):
    """Set dotted ``overrides`` on a pex_config ``config``; a bad name or value is one line."""
    for dotted, value in overrides.items():
        try:
            set_path(config, dotted, value)
        except UnknownConfigFieldError as error:
            raise ValidationError(f"{where}: {error}") from None
        except ConfigValueError as error:
            raise ValidationError(f"{where}: bad value {value!r} for {dotted!r}: "
                                  f"{error.reason}") from None


def load_override_file(config, path, where):
    """Load the override file ``path`` into ``config`` as pex_config does; failure is one line."""
    try:
        config.load(path)
    except Exception as error:  # an override file can raise anything: report, never crash
        message = "; ".join(str(error).splitlines()) or type(error).__name__
        raise ValidationError(f"{where}: {path} does not load: {message}") from None


_CAMPAIGN_KEYS = {"campaign", "description", "dataset", "data_ids", "tolerances", "scenarios"}
_SCENARIO_KEYS = {f.name for f in dataclasses.fields(Scenario)}


def load_campaign(path):
    """Read and check a campaign file; a name without a path is a shipped one.

    Raises
    ------
    ValidationError
        Naming the file, the scenario and the bad key, field or value.
    """
    path = Path(path)
    if not path.suffix and not path.exists():
        path = BUILTIN_DIR / f"{path}.yaml"
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as error:
        raise ValidationError(f"{path}: cannot read campaign file ({error.strerror})") from None
    except yaml.YAMLError as error:
        raise ValidationError(f"{path}: not YAML ({str(error).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: a campaign file is a mapping")
    _unknown(data, _CAMPAIGN_KEYS, f"{path}")
    default_tolerances = data.get("tolerances") or {}
    data_ids = data.get("data_ids") or {}
    scenarios = []
    for entry in data.get("scenarios") or []:
        scenario = _scenario(entry, default_tolerances, path)
        known = {s.name for s in scenarios}
        if scenario.name in known:
            raise ValidationError(f"{path}: scenario {scenario.name!r} defined twice")
        if scenario.builds_on and scenario.builds_on not in known:
            raise ValidationError(f"{path}: scenario {scenario.name!r} builds on "
                                  f"{scenario.builds_on!r}, which is not defined before it")
        scenarios.append(scenario)
    if not scenarios:
        raise ValidationError(f"{path}: no scenarios")
    name = str(data.get("campaign", path.stem))
    problem = name_problem(name, "campaign name")
    if problem:
        raise ValidationError(f"{path}: {problem}")
    return Campaign(name=name,
                    description=str(data.get("description", "")),
                    dataset=dict(data.get("dataset") or {}),
                    visits=tuple(int(v) for v in data_ids.get("visit", ())),
                    detectors=tuple(int(d) for d in data_ids.get("detector", ())),
                    scenarios=tuple(scenarios), source=path)


def _scenario(entry, default_tolerances, path):
    if not isinstance(entry, dict) or "name" not in entry:
        raise ValidationError(f"{path}: each scenario is a mapping with a name, got {entry!r}")
    problem = name_problem(str(entry["name"]), "scenario name")
    if problem:
        raise ValidationError(f"{path}: {problem}")
    where = f"{path}: scenario {entry['name']!r}"
    _unknown(entry, _SCENARIO_KEYS, where)
    values = dict(entry, name=str(entry["name"]))
    values["features"] = tuple(values.get("features") or ())
    unknown_features = [f for f in values["features"] if f not in FEATURES]
    if unknown_features or not values["features"]:
        raise ValidationError(f"{where}: unknown or no feature ids {unknown_features}; known: "
                              f"{', '.join(sorted(FEATURES))}")
    values["products"] = tuple(values.get("products", Scenario.products))
    bad_products = [p for p in values["products"] if p not in PRODUCTS]
    if bad_products:
        raise ValidationError(f"{where}: unknown products {bad_products}; known: {PRODUCTS}")
    try:
        values["tolerances"] = Tolerances.from_dict({**default_tolerances,
                                                     **(values.get("tolerances") or {})})
    except ValidationError as error:
        raise ValidationError(f"{where}: {error}") from None
    values["config"] = dict(values.get("config") or {})
    if values.get("override_file"):
        override = path.parent / str(values["override_file"])
        if not override.is_file():
            raise ValidationError(f"{where}: override_file {override} is not a file")
        values["override_file"] = str(override.resolve())
    values["description"] = " ".join(str(values.get("description", "")).split())
    if values.get("expected_reason"):
        values["expected_reason"] = " ".join(str(values["expected_reason"]).split())
    scenario = Scenario(**values)
    if scenario.task not in TASKS:
        raise ValidationError(f"{where}: unknown task {scenario.task!r}; known: {sorted(TASKS)}")
    if scenario.template not in TEMPLATE_MODES:
        raise ValidationError(f"{where}: template must be one of {TEMPLATE_MODES}")
    if (scenario.template == "calexp") != (scenario.template_visit is not None):
        raise ValidationError(f"{where}: template_visit goes with template 'calexp', and only "
                              "with it")
    scenario.make_config()
    return scenario


def _unknown(mapping, known, where):
    extra = sorted(set(mapping) - known)
    if extra:
        raise ValidationError(f"{where}: unknown keys {extra}; known: {sorted(known)}")

