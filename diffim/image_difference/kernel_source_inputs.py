"""Kernel sources as the legacy ``ImageDifferenceTask`` hands them to the subtraction.

`matching_reference` picks the catalogue ``doSelectSources`` matches the
science ``src`` to (the reference catalogue or the template's sources, by
``kernelSourcesFromRef``); the selection itself is `diffim.image_difference.source_selection`.
`subtraction_sources` turns a ``src``-like catalogue into the table
`diffim.subtract.AlardLuptonSubtractTask.run` reads.
"""
from __future__ import annotations

import pandas as pd

from ..errors import DiffimError

__all__ = ["matching_reference", "subtraction_sources"]


def matching_reference(science_sources, template_sources, reference_sources, from_reference):
    """The catalogue ``doSelectSources`` matches the science sources to, and its name.

    Parameters
    ----------
    science_sources : `pandas.DataFrame` or None
        The science ``src`` catalogue.
    template_sources, reference_sources : `pandas.DataFrame` or None
        The template's ``src`` and the reference catalogue.
    from_reference : `bool`
        ``kernelSourcesFromRef``: match to the reference catalogue, else to
        the template's sources.

    Returns
    -------
    reference : `pandas.DataFrame`
        The chosen catalogue.
    label : `str`
        How messages name it.

    Raises
    ------
    DiffimError
        The science catalogue or the chosen one is missing.
    """
    if science_sources is None:
        raise DiffimError("doSelectSources needs the science source catalogue (src)")
    if from_reference:
        reference, label = reference_sources, "reference catalogue (kernelSourcesFromRef=True)"
    else:
        reference, label = template_sources, "template sources (kernelSourcesFromRef=False)"
    if reference is None:
        raise DiffimError(f"doSelectSources needs the {label}")
    return reference, label


def subtraction_sources(kernel_sources):
    """The kernel sources as the subtraction reads them: position, flux, S/N and flags.

    The flags go along, so that blended or saturated sources are rejected
    there exactly as when the subtraction reads ``src`` itself.

    Parameters
    ----------
    kernel_sources : `pandas.DataFrame` or None
        A ``src``-like catalogue (``x``, ``y``, ``psfFlux``, ``snr``,
        ``*_flag``).

    Returns
    -------
    sources : `pandas.DataFrame` or None
        Columns ``x``, ``y``, ``flux``, ``snr`` and the flags; None for None.
    """
    if kernel_sources is None:
        return None
    flags = [column for column in kernel_sources.columns if column.endswith("_flag")]
    return pd.DataFrame({"x": kernel_sources["x"], "y": kernel_sources["y"],
                         "flux": kernel_sources["psfFlux"], "snr": kernel_sources["snr"],
                         **{flag: kernel_sources[flag] for flag in flags}})
