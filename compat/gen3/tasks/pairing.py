"""Calexp-calexp pairing: which template visit(s) each science visit is differenced against.

Gen2 took the template from ``--templateId``; gen3 finds datasets by the
quantum's data ID, and nothing in the registry relates one visit to another.
So the pairing is configuration (`TemplatePairingConfig`): a list of
``"SCIENCE:TEMPLATE"`` strings and/or a pairing-table file with one such pair
per line. A prerequisite connection with `paired_lookup` then finds the
template's ``calexp`` (or ``src``) on the same detector. With
``keyByTemplateVisit`` the quantum's ``group`` names the template visit
(`compat.gen3.tasks.base`), so several templates per science visit give one
quantum each; without it a science visit may have one template only.
"""
from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

import lsst.pex.config as pexConfig
from lsst.pipe.base import NoWorkFound

from ..errors import Gen3Error
from ..repo import TEMPLATE_VISIT_DIMENSION, template_group
from .base import TemplateVisitKeyConfig

__all__ = ["PairingError", "TemplatePairingConfig", "check_templates", "paired_lookup",
           "parse_pairs", "read_pairs", "split_pair"]

_LOG = logging.getLogger(__name__)
_PAIR = re.compile(r"^\s*(\d+)\s*[:,\s]\s*(\d+)\s*$")


class PairingError(Gen3Error):
    """A science-template pairing that cannot be parsed or read."""


class TemplatePairingConfig(TemplateVisitKeyConfig):
    """Where a calexp template comes from: explicit science/template visit pairs."""

    templatePairs = pexConfig.ListField(
        dtype=str, default=[],
        doc="'SCIENCE_VISIT:TEMPLATE_VISIT' pairs; a science visit may appear several times "
            "when keyByTemplateVisit is set.")
    templatePairsFile = pexConfig.Field(
        dtype=str, default=None, optional=True,
        doc="Pairing table: one 'SCIENCE_VISIT:TEMPLATE_VISIT' (or 'SCIENCE TEMPLATE', "
            "'SCIENCE,TEMPLATE') per line; '#' starts a comment. Added to templatePairs.")

    def validate(self):
        super().validate()
        parse_pairs(self.templatePairs, "templatePairs")


def parse_pairs(lines, source):
    """Science visit -> sorted template visits, from pair strings.

    Raises
    ------
    PairingError
        A line that is not a pair of visit ids (named by ``source`` and number).
    """
    pairs = {}
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0]
        if not text.strip():
            continue
        match = _PAIR.match(text)
        if match is None:
            raise PairingError(f"{source} line {number}: {line.strip()!r} is not "
                               "'SCIENCE_VISIT:TEMPLATE_VISIT'")
        science, template = int(match.group(1)), int(match.group(2))
        pairs.setdefault(science, set()).add(template)
    return {science: sorted(templates) for science, templates in pairs.items()}


def read_pairs(config):
    """All pairs of a `TemplatePairingConfig`: its list and its table file."""
    pairs = parse_pairs(config.templatePairs, "templatePairs")
    if config.templatePairsFile:
        path = Path(config.templatePairsFile)
        try:
            lines = path.read_text().splitlines()
        except OSError as error:
            raise PairingError(f"templatePairsFile {path}: {error.strerror}") from None
        for science, templates in parse_pairs(lines, str(path)).items():
            pairs[science] = sorted(set(pairs.get(science, [])) | set(templates))
    return pairs


def paired_lookup(config, include_science):
    """A prerequisite lookup function finding the paired visits' datasets.

    A task sees all the datasets of one dataset type that its connections
    find as one set, so a science calexp and its template calexp come
    through one connection, told apart afterwards by `split_pair`.

    Parameters
    ----------
    config : `TemplatePairingConfig`
    include_science : `bool`
        Also return the quantum's own (science) visit's dataset, first.

    Returns
    -------
    lookup : callable
        ``(dataset_type, registry, quantum_data_id, collections) -> list of refs``
        on the quantum's detector: the template visits paired with the
        quantum's science visit (only its ``group``'s, when keyed by
        template visit); none when unpaired, or paired with a visit the
        registry does not have (logged as an ERROR).
    """
    return functools.partial(_find_paired, pairs=read_pairs(config),
                             keyed=config.keyByTemplateVisit, include_science=include_science,
                             reported=set())


def _find_paired(dataset_type, registry, data_id, collections, *, pairs, keyed,
                 include_science, reported):
    visits = pairs.get(data_id["visit"], [])
    unknown = [visit for visit in visits if not any(registry.queryDimensionRecords(
        "visit", instrument=data_id["instrument"], visit=visit))]
    if unknown:
        # The science visit's quanta are pruned for want of a template; without
        # this line the graph builder's "ERROR logs above should provide
        # details" has none above. Said once per science visit, not per quantum.
        if data_id["visit"] not in reported:
            reported.add(data_id["visit"])
            _LOG.error("templatePairs: template visit(s) %s of science visit %s are not visits "
                       "of %s in this repository", unknown, data_id["visit"],
                       data_id["instrument"])
        return []
    if keyed:
        visits = [visit for visit in visits
                  if template_group(visit) == data_id[TEMPLATE_VISIT_DIMENSION]]
    if include_science:
        visits = [data_id["visit"], *visits]
    refs = (registry.findDataset(dataset_type, collections=collections,
                                 instrument=data_id["instrument"], visit=visit,
                                 detector=data_id["detector"])
            for visit in visits)
    return [ref for ref in refs if ref is not None]


def check_templates(inputs, label, name, data_id):
    """Prune a quantum without a template in ``name``; refuse one with several.

    Unpaired (science visit, group) combinations are quanta of the data-ID
    query too: they are pruned (`NoWorkFound`), not failed.

    Raises
    ------
    NoWorkFound
        No template visit's dataset was found.
    PairingError
        Several were (a science visit paired with several templates, without
        ``keyByTemplateVisit``).
    """
    connection, refs = inputs[name]
    templates = sorted(ref.dataId["visit"] for ref in refs
                       if ref.dataId["visit"] != data_id["visit"])
    if not templates:
        raise NoWorkFound(label, name, connection)
    if len(templates) > 1:
        raise PairingError(f"{label} {data_id}: science visit {data_id['visit']} is paired with "
                           f"template visits {templates}; set keyByTemplateVisit to difference "
                           "against each")


def split_pair(refs, objects, science_visit):
    """The science visit's object and the template visit's (or `None`), by their refs."""
    by_visit = {ref.dataId["visit"]: obj for ref, obj in zip(refs, objects)}
    science = by_visit.pop(science_visit, None)
    return science, next(iter(by_visit.values()), None)
