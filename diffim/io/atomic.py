"""Files written whole or not at all: under a temporary name beside them, then renamed.

A crash or an error while writing never leaves a half file under the final
name, and a reader never sees one. `write_atomically` takes any writer of a
path; `write_text`, `write_parquet` and `write_fits` are the writers every
package here needs (reports, catalogues, repositories, exposures).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically", "write_fits", "write_parquet", "write_text"]


def write_atomically(path, write):
    """Call ``write(temporary_path)``, then rename the result to ``path``; return ``path``.

    The temporary file is in the same directory (so the rename is atomic),
    gets the mode a plain ``open`` would give, and is removed if ``write``
    fails. Missing parent directories are created. An `OSError` that names
    no file (astropy's short write on a full disk) is raised again naming
    ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        write(temporary)
        # mkstemp makes the file private; give it the mode a plain open() would.
        os.chmod(temporary, 0o666 & ~_current_umask())
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        if error.filename is None:
            raise OSError(error.errno, f"cannot write it ({error})", str(path)) from error
        raise
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_text(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    return write_atomically(path, lambda temporary: Path(temporary).write_text(
        text, encoding="utf-8"))


def write_parquet(path, frame):
    """Write a `pandas.DataFrame` as Parquet, without its index, atomically; return the path."""
    return write_atomically(path, lambda temporary: frame.to_parquet(temporary, index=False))


def write_fits(path, hdus, checksum=False):
    """Write an `astropy.io.fits.HDUList` atomically; return the path.

    ``checksum=True`` has astropy add CHECKSUM/DATASUM cards with its time
    stamp; writers whose bytes must be reproducible add their own checksums
    first (``hdu.add_checksum(when=...)``) and leave it False.
    """
    return write_atomically(path, lambda temporary: hdus.writeto(temporary, overwrite=True,
                                                                 checksum=checksum))


def _current_umask():
    """The process umask (reading it means setting it, so it is set back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
