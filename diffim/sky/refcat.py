"""HTM-sharded reference catalogues, as the stack stores them.

A catalogue is a directory of shards, one file per HTM level-7 trixel
(``<trixel id>.parquet`` or ``.fits``), plus ``config.json`` recording the
level, format and columns. Every shard holds ``id``, ``coord_ra``,
``coord_dec`` (degrees) and, per band, ``<band>_flux`` and ``<band>_fluxErr``
(nJy, as the stack's reference catalogues do). `ReferenceCatalogLoader` returns
the sources inside a sky region, reading only the shards the region touches.
"""
from __future__ import annotations

import json
from pathlib import Path

import lsst.sphgeom as sphgeom
import numpy as np
import pandas as pd
from astropy.table import Table

from ..errors import DiffimError
from ..io.atomic import write_atomically, write_parquet, write_text
from .matching import unit_vectors

__all__ = ["HTM_LEVEL", "ReferenceCatalogError", "ReferenceCatalogLoader", "box_sky_polygon",
           "htm_index",
           "sky_circle", "sky_polygon", "write_reference_catalog"]

HTM_LEVEL = 7
_FORMATS = ("parquet", "fits")
_REQUIRED = ("id", "coord_ra", "coord_dec")
_CONFIG_FILE = "config.json"


class ReferenceCatalogError(DiffimError):
    """A reference catalogue is missing, malformed, or asked for the impossible."""


def htm_index(ra, dec, level=HTM_LEVEL):
    """HTM trixel ids of positions in degrees (`lsst.sphgeom`)."""
    pixelization = sphgeom.HtmPixelization(level)
    return np.array([pixelization.index(sphgeom.UnitVector3d(sphgeom.LonLat.fromDegrees(a, d)))
                     for a, d in zip(np.atleast_1d(ra), np.atleast_1d(dec))], dtype=np.int64)


def sky_circle(ra, dec, radius_deg):
    """A `lsst.sphgeom.Circle` around (ra, dec), radius in degrees."""
    centre = sphgeom.UnitVector3d(sphgeom.LonLat.fromDegrees(ra, dec))
    return sphgeom.Circle(centre, sphgeom.Angle.fromDegrees(radius_deg))


def sky_polygon(ra, dec):
    """A convex `lsst.sphgeom.ConvexPolygon` through vertices in degrees."""
    return sphgeom.ConvexPolygon([sphgeom.UnitVector3d(sphgeom.LonLat.fromDegrees(a, d))
                                  for a, d in zip(ra, dec)])


def box_sky_polygon(wcs, box):
    """The sky polygon through the outer pixel-edge corners of ``box`` under ``wcs``."""
    x = np.array([box.x0, box.x_end, box.x_end, box.x0], dtype=float) - 0.5
    y = np.array([box.y0, box.y0, box.y_end, box.y_end], dtype=float) - 0.5
    ra, dec = wcs.pixel_to_world_values(x, y)
    return sky_polygon(ra, dec)


def write_reference_catalog(catalog, directory, file_format="parquet", level=HTM_LEVEL):
    """Shard a catalogue by HTM trixel into ``directory`` (created; must be new or empty).

    Parameters
    ----------
    catalog : `pandas.DataFrame`
        Columns ``id``, ``coord_ra``, ``coord_dec`` (degrees) and any fluxes.
    directory : `str` or `pathlib.Path`
    file_format : `str`
        ``"parquet"`` or ``"fits"``.

    Returns
    -------
    shards : `list` [`int`]
        The trixel ids written.
    """
    if file_format not in _FORMATS:
        raise ReferenceCatalogError(f"reference catalogue format must be one of {_FORMATS}, "
                                    f"got {file_format!r}")
    missing = [name for name in _REQUIRED if name not in catalog.columns]
    if missing:
        raise ReferenceCatalogError(f"reference catalogue lacks columns {missing}")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    if any(directory.iterdir()):
        raise ReferenceCatalogError(f"{directory}: not empty; a reference catalogue needs a new "
                                    "directory")
    trixels = htm_index(catalog["coord_ra"], catalog["coord_dec"], level)
    for trixel in np.unique(trixels):
        shard = catalog[trixels == trixel].reset_index(drop=True)
        path = directory / f"{trixel}.{file_format}"
        if file_format == "parquet":
            write_parquet(path, shard)
        else:
            write_atomically(path, lambda temporary, shard=shard: Table.from_pandas(shard).write(
                temporary, format="fits", overwrite=True))
    config = {"level": level, "format": file_format, "columns": list(catalog.columns),
              "n_sources": len(catalog)}
    write_text(directory / _CONFIG_FILE, json.dumps(config, indent=1))
    return sorted(int(t) for t in np.unique(trixels))


class ReferenceCatalogLoader:
    """Load sources of a sharded reference catalogue inside a sky region.

    Parameters
    ----------
    directory : `str` or `pathlib.Path`
        A directory written by `write_reference_catalog`.
    """

    def __init__(self, directory):
        self.directory = Path(directory)
        config_path = self.directory / _CONFIG_FILE
        if not config_path.is_file():
            raise ReferenceCatalogError(f"{self.directory}: not a reference catalogue "
                                        f"(no {_CONFIG_FILE})")
        try:
            config = json.loads(config_path.read_text())
            self.level, self.format = int(config["level"]), config["format"]
            self.columns = list(config["columns"])
        except (ValueError, KeyError, TypeError) as error:
            raise ReferenceCatalogError(f"{config_path}: malformed ({error})") from None
        self.pixelization = sphgeom.HtmPixelization(self.level)

    def shards_for(self, region):
        """Trixel ids whose shards may hold sources inside ``region`` (a sphgeom region)."""
        return [trixel for begin, end in self.pixelization.envelope(region)
                for trixel in range(begin, end)]

    def load_region(self, region):
        """Sources inside ``region``, ordered by ``id``.

        Returns
        -------
        sources : `pandas.DataFrame`
            The catalogue's columns (empty frame with them when nothing is inside).
        """
        frames = []
        for trixel in self.shards_for(region):
            path = self.directory / f"{trixel}.{self.format}"
            if path.is_file():
                frames.append(self._read_shard(path))
        if not frames:
            return pd.DataFrame({name: [] for name in self.columns})
        sources = pd.concat(frames, ignore_index=True)
        inside = region.contains(*unit_vectors(sources["coord_ra"], sources["coord_dec"]).T)
        return sources[np.asarray(inside, bool)].sort_values("id").reset_index(drop=True)

    def load_exposure_region(self, exposure, padding_pixels=0):
        """Sources inside an exposure's footprint on the sky (its WCS), padded."""
        return self.load_region(box_sky_polygon(exposure.wcs, exposure.bbox.grown(padding_pixels)))

    def _read_shard(self, path):
        try:
            if self.format == "parquet":
                return pd.read_parquet(path)
            return Table.read(path, format="fits").to_pandas()
        except Exception as error:
            raise ReferenceCatalogError(f"{path}: unreadable shard ({error})") from None
