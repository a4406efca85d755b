"""The dataset of a campaign: field files on disk, made once and reused.

A campaign's ``dataset`` is either ``{simulated_field: {size, seed, detectors,
<PairConfig fields>...}}`` (simulated here, with coadds of its template
visits) or ``{field_files: DIR}`` (a directory written earlier, e.g. real data
arranged by `diffim.sim.field_files`). Simulation is the slow part of a campaign,
so a simulated field is kept in the work directory next to a record of what
was asked, and reused while the request is the same.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from diffim.sim import FieldConfig, PairConfig, simulate_field
from diffim.sim.field_files import read_field_files, write_field_files

from ..errors import ValidationError

__all__ = ["prepare_dataset"]

_REQUEST_FILE = "dataset-request.json"
_PAIR_FIELDS = {f.name for f in dataclasses.fields(PairConfig)}


def prepare_dataset(dataset, directory):
    """Field files for a campaign's ``dataset`` entry.

    Parameters
    ----------
    dataset : `dict`
        The campaign's ``dataset`` mapping.
    directory : `pathlib.Path`
        Where a simulated field is written (and found again).

    Returns
    -------
    files : `diffim.sim.field_files.FieldFiles`
    """
    if set(dataset) == {"field_files"}:
        return read_field_files(dataset["field_files"])
    if set(dataset) != {"simulated_field"}:
        raise ValidationError(f"dataset must be {{simulated_field: ...}} or {{field_files: DIR}}, "
                              f"got keys {sorted(dataset)}")
    request = dict(dataset["simulated_field"])
    directory = Path(directory)
    request_path = directory / _REQUEST_FILE
    if request_path.is_file() and json.loads(request_path.read_text()) == request:
        return read_field_files(directory)
    if directory.exists():
        shutil.rmtree(directory)
    files = write_field_files(simulate_field(_field_config(request)), directory)
    request_path.write_text(json.dumps(request))
    return files


def _field_config(request):
    sky = dict(request)
    detectors = tuple(sky.pop("detectors", (2, 2)))
    unknown = sorted(set(sky) - _PAIR_FIELDS)
    if unknown:
        raise ValidationError(f"dataset.simulated_field: unknown parameters {unknown}")
    return FieldConfig(sky=PairConfig(**sky), detectors=detectors)
