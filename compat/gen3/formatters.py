"""Butler formatters for the ``diffim`` data model.

Each formatter delegates to the persistence ``diffim`` already has, so a
file the butler writes holds the same bytes our own writers produce (and
the gen2 adapter writes):

- `ExposureFormatter`: `diffim.Exposure` as our multi-extension FITS
  (`diffim.io.exposure_fits`);
- `SkyMapFormatter`: `diffim.sky.skymap.SkyMap` as its JSON description;
- `MatchingKernelFormatter`: `diffim.psfmatch.SpatialKernel` as a FITS
  binary table (`SpatialKernel.to_hdu`).

Catalogues use the butler's built-in ``DataFrame`` storage class (Parquet);
`ParquetFileFormatter` only lets the ingest copy the ``.parquet`` files of a
field directory as they are (the built-in formatter insists on ``.parq``).
"""
from __future__ import annotations

from astropy.io import fits
from lsst.daf.butler import FormatterV2
from lsst.daf.butler.formatters.parquet import ParquetFormatter

from diffim.io.atomic import write_fits
from diffim.io.exposure_fits import read_exposure, write_exposure
from diffim.io.header import open_fits
from diffim.psfmatch import SpatialKernel
from diffim.sky.skymap import SkyMap

__all__ = ["ExposureFormatter", "MatchingKernelFormatter", "ParquetFileFormatter",
           "SkyMapFormatter"]


class _LocalFileFormatter(FormatterV2):
    """A formatter that reads whole local files and ignores read parameters.

    The butler downloads remote files to a local cache before calling
    `read_from_local_file`, so our path-based readers serve any datastore.
    """

    can_read_from_local_file = True
    # Our readers return whole objects: no read parameter (e.g. a bbox) may
    # reach them, where it would be silently ignored.
    unsupported_parameters = None


class ExposureFormatter(_LocalFileFormatter):
    """`diffim.Exposure` <-> our multi-extension FITS file."""

    default_extension = ".fits"
    supported_extensions = frozenset({".fits"})

    def read_from_local_file(self, path, component=None, expected_size=-1):
        """Read the exposure with `diffim.io.exposure_fits.read_exposure`."""
        return read_exposure(path)

    def write_local_file(self, in_memory_dataset, uri):
        """Write the exposure with `diffim.io.exposure_fits.write_exposure`."""
        write_exposure(in_memory_dataset, uri.ospath)


class SkyMapFormatter(_LocalFileFormatter):
    """`diffim.sky.skymap.SkyMap` <-> its JSON description (`SkyMap.to_json`)."""

    default_extension = ".json"
    supported_extensions = frozenset({".json"})

    def read_from_local_file(self, path, component=None, expected_size=-1):
        """Read the skymap with `diffim.sky.skymap.SkyMap.read`."""
        return SkyMap.read(path)

    def to_bytes(self, in_memory_dataset):
        """The skymap's JSON text, UTF-8 encoded."""
        return in_memory_dataset.to_json().encode()


class MatchingKernelFormatter(_LocalFileFormatter):
    """`diffim.psfmatch.SpatialKernel` <-> a FITS file with one binary table."""

    default_extension = ".fits"
    supported_extensions = frozenset({".fits"})

    def read_from_local_file(self, path, component=None, expected_size=-1):
        """Read the kernel table written by `write_local_file`."""
        with open_fits(path) as hdus:
            return SpatialKernel.from_hdu(hdus[1])

    def write_local_file(self, in_memory_dataset, uri):
        """Write the kernel's `SpatialKernel.to_hdu` table after an empty primary HDU."""
        hdus = fits.HDUList([fits.PrimaryHDU(), in_memory_dataset.to_hdu()])
        # Our own checksum comment, not astropy's time stamp: the same kernel, the same bytes.
        for hdu in hdus:
            hdu.add_checksum(when="diffim matching kernel checksum")
        write_fits(uri.ospath, hdus)


class ParquetFileFormatter(ParquetFormatter):
    """The butler's Parquet formatter, accepting ``.parquet`` files too (ingest)."""

    supported_extensions = frozenset({".parq", ".parquet"})
