"""Calexp-calexp pairing: which template visit(s) each science visit is differenced against.

Gen2 took the template from ``--templateId``; gen3 finds datasets by the
quantum's data ID, and nothing in the registry relates one visit to another.
So the pairing is configuration (`TemplatePairingConfig`): a list of
``"SCIENCE:TEMPLATE"`` strings and/or a pairing-table file with one such pair
per line. A prerequisite connection with `paired_calexp_lookup` then finds the
template's ``calexp`` (or ``src``) on the same detector. With
``keyByTemplateVisit`` the quantum's ``group`` names the template visit
(`compat.gen3.tasks.base`), so several templates per science visit give one
quantum each; without it a science visit may have one template only.
"""
from __future__ import annotations

import functools
import re
from pathlib import Path

import lsst.pex.config as pexConfig
from lsst.pipe.base import NoWorkFound

from ..errors import Gen3Error
from ..repo import TEMPLATE_VISIT_DIMENSION, template_group
from .base import TemplateVisitKeyConfig

__all__ = ["PairingError", "TemplatePairingConfig", "parse_pairs", "paired_calexp_lookup",
           "read_pairs", "require_template"]

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


def paired_calexp_lookup(config):
    """A prerequisite lookup function finding the paired template visit's dataset.

    Returns
    -------
    lookup : callable
        ``(dataset_type, registry, quantum_data_id, collections) -> list of refs``:
        the dataset of each template visit paired with the quantum's science
        visit (only the quantum's ``group``, when keyed by template visit),
        on the quantum's detector; none when unpaired.
    """
    return functools.partial(_find_paired, pairs=read_pairs(config),
                             keyed=config.keyByTemplateVisit)


def _find_paired(dataset_type, registry, data_id, collections, *, pairs, keyed):
    templates = pairs.get(data_id["visit"], [])
    if keyed:
        templates = [visit for visit in templates
                     if template_group(visit) == data_id[TEMPLATE_VISIT_DIMENSION]]
    refs = (registry.findDataset(dataset_type, collections=collections,
                                 instrument=data_id["instrument"], visit=visit,
                                 detector=data_id["detector"])
            for visit in templates)
    return [ref for ref in refs if ref is not None]


def require_template(inputs, label, name):
    """Raise `NoWorkFound` for a quantum whose ``name`` prerequisite found no template.

    Unpaired (science visit, group) combinations are quanta of the data-ID
    query too; they are pruned, not failed.
    """
    connection, refs = inputs[name]
    if not refs:
        raise NoWorkFound(label, name, connection)
