"""Make a gen2 repository from a simulated SimCam field: registry, calexps and ``src``.

As gen2 users did by hand, the new repository is marked old style: a
``_mapper`` file naming `compat.gen2.mapper.SimCamMapper`. Reruns made on
top of it by a `compat.gen2.butler.Butler` get a ``repositoryCfg.yaml``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from astropy.time import Time

from diffim.sim.config import PairConfig
from diffim.sim.field import FieldConfig, simulate_field
from diffim.source_catalog import make_source_catalog, source_id_offset

from .butler import Butler
from .errors import Gen2Error, RepositoryError
from .mapper import SimCamMapper
from .registry import REGISTRY_FILE, Registry
from .repository import CFG_FILE, MAPPER_FILE

__all__ = ["MAPPER_NAME", "ingest_field", "main"]

MAPPER_NAME = f"{SimCamMapper.__module__}.{SimCamMapper.__qualname__}"
"""What the ``_mapper`` file of an ingested repository says."""


def ingest_field(field, root, sources=None):
    """Create a gen2 repository at ``root`` holding a simulated field.

    The registry gets one ``raw`` row per (visit, ccd) and one ``raw_visit``
    row per visit (``filter`` is the physical filter, ``date`` the UTC date
    of the visit's MJD); ``calexp`` and ``src`` are put for each.

    Parameters
    ----------
    field : `diffim.sim.field.SimulatedField`
    root : `str` or `pathlib.Path`
        A new or empty directory.
    sources : `dict` [`tuple` [`int`, `int`], `pandas.DataFrame`], optional
        ``src`` catalogues by ``(visit, ccd)``; made with
        `diffim.source_catalog.make_source_catalog` (ids from
        `source_id_offset`) when omitted.

    Returns
    -------
    butler : `compat.gen2.butler.Butler`
        An old-style butler on the new repository.

    Raises
    ------
    RepositoryError
        If ``root`` is a repository already, or ``sources`` lacks a calexp's
        catalogue.
    """
    root = Path(root)
    for marker in (MAPPER_FILE, CFG_FILE, REGISTRY_FILE):
        if (root / marker).exists():
            raise RepositoryError(f"{root}: is a repository already (has {marker})")
    if sources is not None:
        missing = sorted(set(field.calexps) - set(sources))
        if missing:
            raise RepositoryError(f"no src catalogue for (visit, ccd) {missing}")
    root.mkdir(parents=True, exist_ok=True)
    registry = Registry.create(root / REGISTRY_FILE)
    registry.add_exposures(
        {"visit": visit, "ccd": ccd, "filter": exposure.visit_info.physical_filter,
         "date": Time(exposure.visit_info.mjd, format="mjd", scale="tai").utc.isot[:10],
         "expTime": exposure.visit_info.exposure_time}
        for (visit, ccd), exposure in sorted(field.calexps.items()))
    (root / MAPPER_FILE).write_text(MAPPER_NAME + "\n")
    butler = Butler(root)
    for (visit, ccd), exposure in sorted(field.calexps.items()):
        catalog = (sources[(visit, ccd)] if sources is not None else
                   make_source_catalog(exposure, id_offset=source_id_offset(visit, ccd)))
        butler.put(exposure, "calexp", visit=visit, ccd=ccd)
        butler.put(catalog, "src", visit=visit, ccd=ccd)
    return butler


def main(argv=None):
    """``python -m compat.gen2.ingest ROOT [--size N] [--seed S] [--detectors NX NY]``.

    Simulates a field (the default visits of `diffim.sim.field.FieldConfig`)
    and ingests it; prints the repository root. Returns the exit code.
    """
    parser = argparse.ArgumentParser(prog="python -m compat.gen2.ingest",
                                     description="Ingest a simulated SimCam field into a new "
                                                 "gen2 repository.")
    parser.add_argument("root", help="new repository directory")
    parser.add_argument("--size", type=int, default=512, help="detector side in pixels")
    parser.add_argument("--seed", type=int, default=1, help="field seed")
    parser.add_argument("--detectors", type=int, nargs=2, default=(2, 2), metavar=("NX", "NY"),
                        help="detectors in x and y")
    args = parser.parse_args(argv)
    try:
        config = FieldConfig(sky=PairConfig(size=args.size, seed=args.seed),
                             detectors=tuple(args.detectors))
        ingest_field(simulate_field(config), args.root)
    except Gen2Error as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(args.root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
