"""The small campaigns of the harness tests: one simulated 256 px field and the scenarios they share.

Each test file picks the scenarios it needs and changes what it tests; the field and each shared
scenario are written here once, so that a change of the campaign format touches one file.
"""
import copy

import yaml

SMALL_FIELD = {"size": 256, "seed": 11, "detectors": [1, 1], "star_density": 500.0,
               "n_transients": 8}

_SPLIT_KERNEL = {"makeKernel.kernel.active.spatialKernelOrder": 1,
                 "makeKernel.kernel.active.spatialBgOrder": 2}

SCENARIOS = {
    "coadd_template": {"features": ["coadd_template"]},
    "calexp_template": {
        "features": ["calexp_template", "select_sources_template"],
        "template": "calexp", "template_visit": 1,
        "config": {"doSelectSources": True, "kernelSourcesFromRef": False}},
    "detect_only": {
        "features": ["detect_only"], "builds_on": "coadd_template",
        "config": {"doSubtract": False}, "gen3_pipeline": "detect_only",
        "products": ["diaSrc"],
        "expected_reason": "gen2's doSubtract=False reads no matched template"},
    "split_coadd": {
        "features": ["split_tasks"], "gen3_pipeline": "coadd_template",
        "gen3_config": {"subtractImages": dict(_SPLIT_KERNEL)}},
    "split_undecorrelated": {
        "features": ["split_tasks"],
        "description": "A gen3 split configured unlike the monolith (no decorrelation).",
        "gen3_pipeline": "coadd_template",
        "gen3_config": {"subtractImages": {**_SPLIT_KERNEL, "doDecorrelation": False}},
        "expected_reason": "the split was run without decorrelation"},
}


def scenario(name, **fields):
    """One shared scenario, with ``fields`` replacing its own (None removes a field).

    Parameters
    ----------
    name : `str`
        A key of `SCENARIOS`, also the scenario's name.
    **fields
        Scenario fields to set or, given as None, to leave out.

    Returns
    -------
    scenario : `dict`
        The scenario as a campaign file holds it.
    """
    merged = {"name": name, **copy.deepcopy(SCENARIOS[name]), **fields}
    return {key: value for key, value in merged.items() if value is not None}


def write_campaign(path, campaign, scenarios, visits=(10, 11), field_files=None):
    """Write a campaign file on the small simulated field, or on field files written before.

    Parameters
    ----------
    path : `pathlib.Path`
        The YAML file to write.
    campaign : `str`
        The campaign's name.
    scenarios : `list` [`dict`]
        The scenarios, e.g. from `scenario`.
    visits : `tuple` [`int`]
        The science visits (detector 0 of each).
    field_files : `pathlib.Path`, optional
        A field prepared beforehand; by default the campaign simulates `SMALL_FIELD` itself.

    Returns
    -------
    path : `pathlib.Path`
        ``path``, written.
    """
    dataset = ({"field_files": str(field_files)} if field_files is not None
               else {"simulated_field": dict(SMALL_FIELD)})
    document = {"campaign": campaign, "dataset": dataset,
                "data_ids": {"visit": list(visits), "detector": [0]}, "scenarios": scenarios}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
