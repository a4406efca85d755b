"""PSF models to and from a FITS binary table (EXTNAME ``PSF``).

The table has one row. The header keyword ``PSFCLASS`` names the class;
parameters and arrays are float64 (``D``) columns, so values round-trip
bit for bit:

- analytic PSFs: one scalar column per constructor parameter, ``PSFSIZE``;
- `PixelPsf`: ``KERNEL_IMAGE``;
- `InterpolatedPsf`: ``KERNEL_IMAGES``, ``X_NODES``, ``Y_NODES``;
- `VaryingPsf`: ``MODEL`` (analytic class name), ``PSFSIZE``, ``BBOX_X0``,
  ``BBOX_Y0``, ``BBOX_W``, ``BBOX_H`` and one coefficient column per field.

Each column is stored flat, its shape in the header card ``SHAPE<n>`` (``n``
the column number, e.g. ``"3,3"``; empty for a scalar), so shapes such as a
1 x 1 coefficient array come back exactly. `psf_table` gives the columns and
cards, which our exposure writer renders as the table's bytes
(`diffim.io.hdu_writer.psf_table_hdu`, without astropy).
"""
from __future__ import annotations

import numpy as np

from ..errors import GeometryError, PsfError
from ..geom import Box
from .analytic import AnalyticPsf, DoubleGaussianPsf, GaussianPsf, MoffatPsf
from .interpolated import InterpolatedPsf
from .pixel import PixelPsf
from .varying import VaryingPsf

__all__ = ["EXTNAME", "psf_from_hdu", "psf_table"]

EXTNAME = "PSF"
_ANALYTIC = {cls.__name__: cls for cls in (GaussianPsf, DoubleGaussianPsf, MoffatPsf)}
_BBOX_KEYS = ("BBOX_X0", "BBOX_Y0", "BBOX_W", "BBOX_H")


def _columns_and_cards(psf):
    """``(arrays, cards)``: named float64 arrays and extra header cards for ``psf``."""
    if isinstance(psf, AnalyticPsf):
        return dict(psf.parameters), {"PSFSIZE": psf.size}
    if isinstance(psf, PixelPsf):
        return {"KERNEL_IMAGE": psf.kernel_image}, {}
    if isinstance(psf, InterpolatedPsf):
        return {"KERNEL_IMAGES": psf.kernel_images, "X_NODES": psf.x_nodes,
                "Y_NODES": psf.y_nodes}, {}
    if isinstance(psf, VaryingPsf):
        box = psf.bbox
        cards = {"MODEL": psf.model.__name__, "PSFSIZE": psf.size,
                 **dict(zip(_BBOX_KEYS, (box.x0, box.y0, box.width, box.height)))}
        return dict(psf.fields), cards
    raise PsfError(f"cannot persist a PSF of class {type(psf).__name__}")


def psf_table(psf):
    """The columns and header cards of the table that persists ``psf``.

    Parameters
    ----------
    psf : `Psf`
        A `GaussianPsf`, `DoubleGaussianPsf`, `MoffatPsf`, `PixelPsf`,
        `InterpolatedPsf` or `VaryingPsf`.

    Returns
    -------
    columns : `list` [`tuple` [`str`, `numpy.ndarray`]]
        Column name and its one cell, flat float64 (at least one value).
    cards : `list` [`tuple` [`str`, `object`, `str` or `None`]]
        Keyword, value and comment of each header card after ``EXTNAME``.

    Raises
    ------
    PsfError
        If the class cannot be persisted.
    """
    arrays, extra = _columns_and_cards(psf)
    columns, cards = [], [("PSFCLASS", type(psf).__name__, "diffim.psf class")]
    for index, (name, value) in enumerate(arrays.items(), start=1):
        array = np.asarray(value, dtype=np.float64)
        columns.append((name, array.reshape(-1) if array.size else np.zeros(1)))
        cards.append((f"SHAPE{index}", ",".join(str(n) for n in array.shape),
                      f"shape of column {index}"))
    cards.extend((key, value, None) for key, value in extra.items())
    return columns, cards


def _read_arrays(hdu, class_name):
    data = hdu.data
    if data is None or len(data) != 1:
        raise PsfError(f"{class_name} PSF table must have exactly one row")
    arrays = {}
    for index, name in enumerate(data.columns.names, start=1):
        shape_card = hdu.header.get(f"SHAPE{index}")
        if shape_card is None:
            raise PsfError(f"{class_name} PSF table lacks the SHAPE{index} keyword "
                           f"of column {name}")
        try:
            shape = tuple(int(n) for n in str(shape_card).split(",") if n != "")
            cell = np.asarray(data[name][0], dtype=np.float64).reshape(-1)
            arrays[name] = cell[:int(np.prod(shape))].reshape(shape) if shape else float(cell[0])
        except ValueError as exc:
            raise PsfError(f"{class_name} PSF table column {name} does not match its "
                           f"shape {shape_card!r}") from exc
    return arrays


def _card(hdu, key, class_name):
    if key not in hdu.header:
        raise PsfError(f"{class_name} PSF table lacks the {key} keyword")
    return hdu.header[key]


def _need(arrays, names, class_name):
    missing = [name for name in names if name not in arrays]
    if missing:
        raise PsfError(f"{class_name} PSF table lacks columns {', '.join(missing)}")
    return [arrays[name] for name in names]


def psf_from_hdu(hdu):
    """Rebuild a PSF model from its table (`psf_table`) as astropy reads it.

    Parameters
    ----------
    hdu : `astropy.io.fits.BinTableHDU`
        The ``PSF`` extension.

    Returns
    -------
    psf : `Psf`
        Equal (``==``) to the PSF that was written.

    Raises
    ------
    PsfError
        If the class is unknown or the table is malformed.
    """
    from astropy.io import fits

    if not isinstance(hdu, fits.BinTableHDU):
        raise PsfError(f"PSF must be stored in a binary table, got {type(hdu).__name__}")
    class_name = hdu.header.get("PSFCLASS")
    if class_name is None:
        raise PsfError(f"PSF table {hdu.name!r} lacks the PSFCLASS keyword")
    known = (*_ANALYTIC, "PixelPsf", "InterpolatedPsf", "VaryingPsf")
    if class_name not in known:
        raise PsfError(f"unknown PSF class {class_name!r} in table {hdu.name!r}")
    arrays = _read_arrays(hdu, class_name)
    try:
        if class_name in _ANALYTIC:
            cls = _ANALYTIC[class_name]
            values = _need(arrays, cls.parameter_names, class_name)
            return cls(**dict(zip(cls.parameter_names, values)),
                       size=int(_card(hdu, "PSFSIZE", class_name)))
        if class_name == "PixelPsf":
            return PixelPsf(*_need(arrays, ["KERNEL_IMAGE"], class_name))
        if class_name == "InterpolatedPsf":
            return InterpolatedPsf(*_need(arrays, ["KERNEL_IMAGES", "X_NODES", "Y_NODES"],
                                          class_name))
        model_name = _card(hdu, "MODEL", class_name)
        if model_name not in _ANALYTIC:
            raise PsfError(f"unknown VaryingPsf model {model_name!r} in table {hdu.name!r}")
        bbox = Box(*(int(_card(hdu, key, class_name)) for key in _BBOX_KEYS))
        return VaryingPsf(_ANALYTIC[model_name], arrays, bbox,
                          size=int(_card(hdu, "PSFSIZE", class_name)))
    except (PsfError, GeometryError, TypeError, ValueError) as exc:
        raise PsfError(f"PSF table {hdu.name!r} holds an invalid {class_name}: {exc}") from exc
