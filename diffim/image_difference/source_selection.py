"""``doSelectSources``: kernel sources from matched catalogues, with a control sample.

The legacy ``ImageDifferenceTask`` chose kernel candidates by matching the
science ``src`` catalogue (1 arcsec) to a reference: the external reference
catalogue (``kernelSourcesFromRef = True``) or the template's own ``src``
catalogue. A star selector keeps unflagged, point-like sources in an S/N
range, then, after a seeded shuffle, every ``controlStepSize``-th source is
held back as a control sample: it does not constrain the kernel, so the
quality of the subtraction can be judged on it.
"""
from __future__ import annotations

import numpy as np

from ..errors import DiffimError
from ..sky.matching import match_sky
from ..task import Struct

__all__ = ["select_matched_sources", "split_control_sample"]


def select_matched_sources(science_sources, reference, *, match_radius_arcsec=1.0,
                           min_snr=10.0, max_snr=500.0):
    """Science sources matched to a reference catalogue, passed through a star selector.

    Parameters
    ----------
    science_sources : `pandas.DataFrame`
        ``src`` catalogue (`diffim.sources.catalog.SOURCE_COLUMNS`).
    reference : `pandas.DataFrame`
        ``coord_ra``, ``coord_dec`` (degrees) and an ``id``.
    match_radius_arcsec : `float`

    Returns
    -------
    selected : `pandas.DataFrame`
        The matched science sources that pass, with ``ref_id``,
        ``ref_coord_ra``, ``ref_coord_dec`` (the counterpart's position) and
        ``match_distance`` (arcsec) added, in science-catalogue order.
    """
    for name, catalog, columns in (("science source", science_sources,
                                    ("id", "x", "y", "coord_ra", "coord_dec", "snr")),
                                   ("reference", reference, ("id", "coord_ra", "coord_dec"))):
        missing = [column for column in columns if column not in catalog.columns]
        if missing:
            raise DiffimError(f"{name} catalogue lacks columns {missing}")
    science_index, reference_index, distance = match_sky(
        science_sources["coord_ra"], science_sources["coord_dec"],
        reference["coord_ra"], reference["coord_dec"], match_radius_arcsec)
    matched = science_sources.iloc[science_index].assign(
        ref_id=reference["id"].to_numpy()[reference_index],
        ref_coord_ra=reference["coord_ra"].to_numpy()[reference_index],
        ref_coord_dec=reference["coord_dec"].to_numpy()[reference_index],
        match_distance=distance)
    flags = [column for column in matched.columns if column.endswith("_flag")]
    good = ~matched[flags].to_numpy(bool).any(axis=1) if flags else np.ones(len(matched), bool)
    if "extendedness" in matched:
        good &= matched["extendedness"].to_numpy() < 0.5
    good &= matched["snr"].between(min_snr, max_snr).to_numpy()
    return matched[good].sort_index().reset_index(drop=True)


def split_control_sample(sources, step, seed):
    """Shuffle with ``seed`` and hold back every ``step``-th source as a control sample.

    Returns
    -------
    result : `Struct`
        ``kernelSources`` and ``controlSources`` (`pandas.DataFrame`), each
        in the shuffled order, so that the split is reproducible from the seed.
    """
    if step < 2:
        raise DiffimError(f"controlStepSize must be >= 2 (1 would leave no kernel source), "
                          f"got {step}")
    order = np.random.default_rng(seed).permutation(len(sources))
    shuffled = sources.iloc[order].reset_index(drop=True)
    is_control = np.zeros(len(shuffled), bool)
    is_control[::step] = True
    return Struct(kernelSources=shuffled[~is_control].reset_index(drop=True),
                  controlSources=shuffled[is_control].reset_index(drop=True))
