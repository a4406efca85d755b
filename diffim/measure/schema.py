"""The DIA-source catalogue schema, and its FITS and Parquet persistence.

Every column of the catalogue `DetectAndMeasureTask` writes is declared once
here, as data: name, numpy dtype, unit and description. Names are the
stack's ``deepDiff_diaSrc`` field names (meas_base and ip_diffim plugins:
``slot_Centroid_x``, ``base_PsfFlux_instFlux``,
``base_PixelFlags_flag_edge``, ``ip_diffim_forced_PsfFlux_instFlux``,
``ip_diffim_DipoleFit_*``, ...), so that code written for the stack's
catalogues reads these; ``snr`` and ``detection_significance`` are this
package's own.

Rows and ids: one row per merged footprint, then one per sky source. Ids are
``1..N`` in the order ``scipy.ndimage.label`` numbers the footprints (raster
order of each footprint's first pixel: increasing ``y``, then ``x``), so the
same image and config always give the same ids; sky sources follow, in the
order of their grid cells (raster order). Positions are 0-based PARENT pixel
coordinates (pixel centres are integers).

Persistence: `write_catalog` picks FITS (binary table, units in ``TUNITn``)
or Parquet by the file extension, writes to a temporary file and renames it;
`read_catalog` returns a DataFrame that ``equals`` the one written, dtypes
and NaNs included. Columns not in the schema (added by callers, e.g.
``srcMatchId``) are kept with their own numeric or boolean dtype.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import DiffimError

# pandas and astropy (fits, table) are imported by the functions that need
# them: the subtraction reads the column names here (DetectAndMeasureConfig
# checks its flags against them) without their 0.5 s, and a FITS catalogue of
# schema columns is written without either.
from ..io.atomic import write_atomically, write_fits, write_parquet
from ..io.checksum import checksum_cards, table_datasum
from ..io.fits_cards import card, header_bytes
from ..io.hdu_writer import catalog_table_hdu, primary_cards, write_hdus
from ..table import column_names

__all__ = ["CENTROID_X", "CENTROID_Y", "COLUMNS", "Column", "DIPOLE_COLUMNS", "DIPOLE_PREFIX", "PIXEL_FLAGS", "PIXEL_FLAG_PREFIX",
           "RECORD_DTYPE", "TEMPLATE_PIXEL_FLAGS",
           "CatalogFormatError", "as_dataframe", "catalog_format", "empty_catalog", "empty_records", "read_catalog", "read_fits", "read_parquet",
           "to_fits", "to_parquet", "write_catalog"]


class CatalogFormatError(DiffimError):
    """A catalogue file is missing, unreadable, or lacks schema columns."""


@dataclass(frozen=True)
class Column:
    """One catalogue column: ``name``, numpy ``dtype`` string, ``unit``, ``doc``."""

    name: str
    dtype: str
    unit: str
    doc: str


DIPOLE_PREFIX = "ip_diffim_DipoleFit_"

CENTROID_X, CENTROID_Y = "slot_Centroid_x", "slot_Centroid_y"
"""The centroid columns (the stack's slot names)."""

PIXEL_FLAG_PREFIX = "base_PixelFlags_flag_"

PIXEL_FLAGS = {
    "edge": "EDGE", "saturated": "SAT", "interpolated": "INTRP", "cr": "CR", "bad": "BAD",
    "suspect": "SUSPECT", "nodata": "NO_DATA",
}
"""Flag stem -> mask plane; each gives ``base_PixelFlags_flag_<stem>`` and ``..._<stem>Center``."""

TEMPLATE_PIXEL_FLAGS = {plane.lower(): plane for plane in
                        ("SAT_TEMPLATE", "INJECTED_TEMPLATE", "INJECTED_CORE_TEMPLATE")}
"""Flag stem -> template plane renamed by the subtraction (``renameTemplateMask``); the stem
is the plane's name in lower case, as meas_base names ``masksFpAnywhere`` flags."""


def _flag_columns():
    columns = []
    for stem, plane in PIXEL_FLAGS.items():
        columns.append(Column(f"{PIXEL_FLAG_PREFIX}{stem}", "bool", "",
                              f"{plane} set on a pixel of the footprint"))
        columns.append(Column(f"{PIXEL_FLAG_PREFIX}{stem}Center", "bool", "",
                              f"{plane} set in the 3x3 pixels around the centroid"))
    for stem, plane in TEMPLATE_PIXEL_FLAGS.items():
        columns.append(Column(f"{PIXEL_FLAG_PREFIX}{stem}", "bool", "",
                              f"{plane} set on a pixel of the footprint (False if the plane "
                              "is absent)"))
    return columns


def _dipole_columns():
    p = DIPOLE_PREFIX
    columns = [
        Column(f"{p}pos_instFlux", "float64", "count", "Flux of the positive lobe"),
        Column(f"{p}pos_instFluxErr", "float64", "count", "1-sigma error of pos_instFlux"),
        Column(f"{p}neg_instFlux", "float64", "count",
               "Flux of the negative lobe, a positive number (the lobe is -neg_instFlux * PSF)"),
        Column(f"{p}neg_instFluxErr", "float64", "count", "1-sigma error of neg_instFlux"),
        Column(f"{p}pos_centroid_x", "float64", "pixel", "x of the positive lobe"),
        Column(f"{p}pos_centroid_y", "float64", "pixel", "y of the positive lobe"),
        Column(f"{p}neg_centroid_x", "float64", "pixel", "x of the negative lobe"),
        Column(f"{p}neg_centroid_y", "float64", "pixel", "y of the negative lobe"),
        Column(f"{p}orientation", "float64", "rad",
               "Angle of the negative-to-positive lobe vector from the +x axis, (-pi, pi]"),
        Column(f"{p}separation", "float64", "pixel", "Distance between the two lobes"),
        Column(f"{p}chi2dof", "float64", "", "Chi^2 per degree of freedom of the fit"),
        Column(f"{p}classification", "bool", "",
               "True when the fit says dipole: both lobes significant and of comparable flux"),
        Column(f"{p}flag", "bool", "",
               "The footprint has both polarities but the fit failed"),
    ]
    return columns


COLUMNS = (
    Column("id", "int64", "", "Source id, 1..N in footprint label order, sky sources last"),
    Column("slot_Centroid_x", "float64", "pixel",
           "Centroid x (parent frame); the lobe midpoint for dipoles"),
    Column("slot_Centroid_y", "float64", "pixel",
           "Centroid y (parent frame); the lobe midpoint for dipoles"),
    Column("slot_Centroid_xErr", "float64", "pixel",
           "Approximate 1-sigma error of x: sqrt(2) sigma_psf / |snr|"),
    Column("slot_Centroid_yErr", "float64", "pixel", "Approximate 1-sigma error of y"),
    Column("coord_ra", "float64", "deg", "Right ascension of (x, y); NaN without a WCS"),
    Column("coord_dec", "float64", "deg", "Declination of (x, y); NaN without a WCS"),
    Column("is_negative", "bool", "", "The most significant peak of the footprint is negative"),
    Column("sky_source", "bool", "", "A sky source placed in empty sky, not a detection"),
    Column("detection_significance", "float64", "",
           "Signed S/N of the dominant peak of the PSF-smoothed difference (NaN for sky sources)"),
    Column("base_FootprintArea_value", "int64", "pixel", "Pixels in the grown, merged footprint"),
    Column("base_PsfFlux_instFlux", "float64", "count", "PSF flux on the difference at (x, y)"),
    Column("base_PsfFlux_instFluxErr", "float64", "count", "1-sigma error of base_PsfFlux_instFlux"),
    Column("snr", "float64", "", "base_PsfFlux_instFlux / base_PsfFlux_instFluxErr (signed)"),
    Column("base_CircularApertureFlux_12_0_instFlux", "float64", "count",
           "Sum of the difference in a circular aperture: the stack's 12-pixel aperture, whose "
           "radius is apertureRadius (12 by default)"),
    Column("base_CircularApertureFlux_12_0_instFluxErr", "float64", "count",
           "1-sigma error of the aperture flux"),
    Column("slot_Shape_xx", "float64", "pixel^2",
           "Second moment xx, Gaussian-weight corrected (sign-flipped for negative sources)"),
    Column("slot_Shape_yy", "float64", "pixel^2", "Second moment yy"),
    Column("slot_Shape_xy", "float64", "pixel^2", "Second moment xy"),
    Column("slot_Shape_flag", "bool", "", "The moments could not be measured (slot_Shape_* NaN)"),
    Column("ip_diffim_forced_PsfFlux_instFlux", "float64", "count",
           "Forced PSF flux on the science (direct) image at (x, y)"),
    Column("ip_diffim_forced_PsfFlux_instFluxErr", "float64", "count", "1-sigma error"),
    Column("ip_diffim_forced_template_PsfFlux_instFlux", "float64", "count",
           "Forced PSF flux on the matched template at (x, y); NaN without one"),
    Column("ip_diffim_forced_template_PsfFlux_instFluxErr", "float64", "count", "1-sigma error"),
    *_dipole_columns(),
    *_flag_columns(),
)
"""Every catalogue column, in catalogue order."""

_BY_NAME = {column.name: column for column in COLUMNS}

DIPOLE_COLUMNS = {column.name[len(DIPOLE_PREFIX):]: column.name for column in COLUMNS
                  if column.name.startswith(DIPOLE_PREFIX)}
"""Dipole column stem (e.g. ``"pos_instFlux"``) -> full column name."""


RECORD_DTYPE = np.dtype([(column.name, column.dtype) for column in COLUMNS])
"""The catalogue as a numpy record: every column, in catalogue order."""


def empty_records(n_rows=0):
    """A catalogue of ``n_rows`` rows as a record array: NaN floats, False flags, zero integers.

    `DetectAndMeasureTask` fills one of these (no pandas needed to measure nor
    to write FITS); `empty_catalog` is its `pandas.DataFrame`.
    """
    records = np.zeros(n_rows, RECORD_DTYPE)
    for column in COLUMNS:
        if column.dtype.startswith("float"):
            records[column.name] = np.nan
    return records


def empty_catalog(n_rows=0):
    """A catalogue of ``n_rows`` rows: NaN floats, False flags, zero integers."""
    return as_dataframe(empty_records(n_rows))


def as_dataframe(records):
    """The `pandas.DataFrame` of a catalogue record array (columns in order, index 0..n-1)."""
    import pandas as pd

    return pd.DataFrame(records)


_FITS_UNITS = {"pixel": "pix", "pixel^2": "pix2"}
"""Schema units as astropy writes them in ``TUNITn`` (others unchanged)."""
_CHECKSUM_COMMENT = "DIA-source catalogue checksum"


def to_fits(catalog, path):
    """Write ``catalog`` as a FITS binary table (atomically), units in the header.

    ``catalog`` is a `pandas.DataFrame` or a record array (`empty_records`).
    Columns of bool, int16/32/64 and float32/64 (every schema column) are
    written here, with the cards astropy writes for a `Table` of them and
    CHECKSUM/DATASUM; a catalogue with a column of another type goes through
    astropy.
    """
    names = column_names(catalog)
    columns = {name: _plain_array(catalog[name], name) for name in names}
    try:
        cards, data = catalog_table_hdu(columns, "DIASOURCES")
    except TypeError:
        _to_fits_astropy(columns, path)
        return
    units = {f"TFORM{index}": _BY_NAME[name].unit for index, name in enumerate(names, start=1)
             if name in _BY_NAME and _BY_NAME[name].unit}
    header = []
    for image in cards:  # each TUNITn follows its TFORMn, as astropy writes them
        header.append(image)
        unit = units.get(image[:8].rstrip())
        if unit:
            header.append(card(f"TUNIT{image[5:8].rstrip()}", _FITS_UNITS.get(unit, unit)))
    header.append(card("NSOURCES", len(catalog), "rows in the catalogue"))
    hdus = [(header_bytes(checksum_cards(primary_cards(), 0, _CHECKSUM_COMMENT)), None),
            (header_bytes(checksum_cards(header, table_datasum(data), _CHECKSUM_COMMENT)), data)]
    write_atomically(path, lambda temporary: write_hdus(temporary, hdus))


def _to_fits_astropy(columns, path):
    """`to_fits` through astropy, for column types `catalog_table_hdu` does not write."""
    from astropy.io import fits
    from astropy.table import Table

    table = Table(columns)
    for name in columns:
        if name in _BY_NAME and _BY_NAME[name].unit:
            table[name].unit = _BY_NAME[name].unit
    hdu = fits.BinTableHDU(table, name="DIASOURCES")
    hdu.header["NSOURCES"] = (len(table), "rows in the catalogue")
    write_fits(path, fits.HDUList([fits.PrimaryHDU(), hdu]), checksum=True)


def read_fits(path):
    """Read a catalogue written by `to_fits`."""
    from astropy.io import fits
    import pandas as pd

    try:
        with fits.open(path, memmap=False) as hdus:
            table = hdus["DIASOURCES"].data
            names = list(table.columns.names)
            data = {name: np.asarray(table[name]) for name in names}
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise CatalogFormatError(f"{path}: not a readable DIA-source FITS catalogue ({error})") from None
    return _conform(pd.DataFrame({name: _native(data[name], name) for name in names}), path)


def to_parquet(catalog, path):
    """Write ``catalog`` (a `pandas.DataFrame` or a record array) as Parquet (atomically),
    without the index."""
    write_parquet(path, as_dataframe(catalog) if isinstance(catalog, np.ndarray) else catalog)


def read_parquet(path):
    """Read a catalogue written by `to_parquet`."""
    import pandas as pd

    try:
        catalog = pd.read_parquet(path)
    except (OSError, ValueError) as error:
        raise CatalogFormatError(f"{path}: not a readable Parquet catalogue ({error})") from None
    return _conform(catalog.reset_index(drop=True), path)


_FORMATS = {".fits": "fits", ".fit": "fits", ".parquet": "parquet", ".pq": "parquet"}


def catalog_format(path):
    """``"fits"`` or ``"parquet"``, from the extension of ``path``.

    Raises
    ------
    CatalogFormatError
        If the extension is neither (``.fits``/``.fit``, ``.parquet``/``.pq``).
    """
    suffix = Path(path).suffix.lower()
    if suffix not in _FORMATS:
        raise CatalogFormatError(f"{path}: unknown catalogue format {suffix!r} "
                                 "(use .fits or .parquet)")
    return _FORMATS[suffix]


def write_catalog(catalog, path):
    """Write ``catalog`` as FITS or Parquet according to the extension of ``path``."""
    writer = to_fits if catalog_format(path) == "fits" else to_parquet
    writer(catalog, path)


def read_catalog(path):
    """Read a FITS or Parquet catalogue according to the extension of ``path``."""
    reader = read_fits if catalog_format(path) == "fits" else read_parquet
    if not Path(path).is_file():
        raise CatalogFormatError(f"{path}: no such catalogue file")
    return reader(path)


def _plain_array(column, name):
    values = np.ascontiguousarray(column)
    if values.dtype == object:
        raise CatalogFormatError(f"column {name!r} is not numeric or boolean")
    return values


def _native(values, name):
    dtype = _BY_NAME[name].dtype if name in _BY_NAME else values.dtype.newbyteorder("=")
    return values.astype(dtype)


def _conform(catalog, path):
    """Check the schema columns are present and give them their schema dtypes."""
    missing = [column.name for column in COLUMNS if column.name not in catalog.columns]
    if missing:
        raise CatalogFormatError(f"{path}: missing catalogue columns {', '.join(missing[:5])}"
                                 + (" ..." if len(missing) > 5 else ""))
    for column in COLUMNS:
        if catalog[column.name].dtype != np.dtype(column.dtype):
            catalog[column.name] = catalog[column.name].astype(column.dtype)
    return catalog
