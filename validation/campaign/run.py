"""Run a campaign: the same field into both repos, every scenario through both, compared.

Order of work: field files (cached), the engine started (`engine`), a fresh
gen2 repo and a fresh gen3 repo ingested from the field files, then per
scenario: write its gen2 override file, run gen2's ``imageDifference.py`` and
gen3's pipeline (their data IDs where the engine puts them; on Parsl, or on
more than one local worker, without a barrier between scenarios: `schedule`), read back and compare per data ID
(there too), record the scenario in the database in one transaction (a
scenario is either stored whole or not at all) and print a progress line. The campaign's own override files and gen3
pipelines are then audited, and the run is closed.
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import itertools
import os
import platform
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from threadpoolctl import threadpool_limits

from diffim.io.read_cache import read_exposures_kept
from diffim.io.simple_fits import read_header
from diffim.template.kept import templates_kept

from ..audit import audit_paths
from ..db import ResultsDB
from ..errors import ValidationError
from ..model import RunInfo, RunStatus, now_iso
from .dataset import prepare_dataset
from .engine import KEPT_EXPOSURE_BYTES, KEPT_TEMPLATE_BYTES, start_engine
from .gen2_backend import Gen2Backend
from .gen3_backend import Gen3Backend
from .progress import CampaignProgress
from .run_dir import fresh_run_dir
from .schedule import scenario_results

__all__ = ["KEPT_EXPOSURE_BYTES", "KEPT_TEMPLATE_BYTES", "ONE_THREAD_PIXELS", "CampaignRun",
           "campaign_data_ids", "openmp_threads_for", "run_campaign", "workdir_lock"]

_LOCK_FILE = ".campaign.lock"
ONE_THREAD_PIXELS = 2**20
"""Detectors below this many pixels run on one OpenMP thread in the campaign's process
(`openmp_threads_for`): 2 scenarios of the default campaign (384 x 384, 2 cores) took 29.8 CPU
s with two spinning threads, 20.5 with one (load 3-4); with threads that sleep between
regions (`diffim._core`), 22.1 and 19.9 (medians of 4, load 1-3); the same bytes."""
_PACKAGES = ("diffim-migration", "numpy", "scipy", "astropy", "lsst-daf-butler", "lsst-pipe-base",
             "lsst-pex-config", "SQLAlchemy")


@dataclass
class CampaignRun:
    """What `run_campaign` did: the database run id and the files it audited."""

    run_id: int
    audited_paths: list


def campaign_data_ids(campaign, files):
    """Science data IDs: the campaign's visits x detectors, or every science calexp."""
    visits = campaign.visits or tuple(files.visits_with_role("science"))
    detectors = campaign.detectors or tuple(files.detectors)
    missing = [(v, d) for v, d in itertools.product(visits, detectors) if (v, d) not in files.calexps]
    if missing:
        raise ValidationError(f"{campaign.source}: data IDs without a calexp: {missing}")
    return [{"visit": v, "detector": d} for v, d in itertools.product(visits, detectors)]


def run_campaign(campaign, workdir, db_url, engine="local", workers=1, progress=None,
                 registry_db=None, on_complete=None):
    """Run every scenario of ``campaign`` through both backends and record the results.

    Parameters
    ----------
    campaign : `validation.campaign.scenarios.Campaign`
    workdir : `pathlib.Path`
        Holds the field files (kept between runs), both repos and the
        comparison artifacts (made anew each run).
    db_url : `str`
        Results database (a path is a SQLite file).
    engine : `str`
        ``local`` or ``parsl`` (`validation.campaign.engine`).
    workers : `int`
        Data IDs running at once.
    progress : callable, optional
        Called with one line of text per step.
    registry_db : `str`, optional
        URL of the gen3 registry's database (PostgreSQL); SQLite in the
        repository when omitted.
    on_complete : callable, optional
        Called with the run's id once the database holds the run as
        complete (before the engine stops).

    Returns
    -------
    run : `CampaignRun`
    """
    progress = progress or (lambda line: None)
    workdir = Path(workdir)
    with workdir_lock(workdir):
        return _run_campaign(campaign, workdir, db_url, (engine, workers), progress,
                             registry_db, on_complete or (lambda run_id: None))


@contextmanager
def workdir_lock(workdir):
    """Hold ``workdir`` for one campaign; a second one there is a one-line error.

    The run directory is rebuilt by every campaign, so two at once in one
    work directory would destroy each other's repositories (two campaigns
    in two work directories may share a database). The lock is an advisory
    ``flock``, released by the system even when the process dies.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    with open(workdir / _LOCK_FILE, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValidationError(f"{workdir}: another campaign is running in this work "
                                  "directory; use another --workdir") from None
        yield


def _run_campaign(campaign, workdir, db_url, engine_workers, progress, registry_db,
                  on_complete):
    started = time.monotonic()
    with read_exposures_kept(KEPT_EXPOSURE_BYTES), templates_kept(KEPT_TEMPLATE_BYTES), \
            ResultsDB(db_url) as db:
        files = prepare_dataset(campaign.dataset, workdir / "field")
        data_ids = campaign_data_ids(campaign, files)
        progress(f"field: {len(files.visits)} visits x {len(files.detectors)} detectors, "
                 f"{len(files.coadds)} coadd patches ({time.monotonic() - started:.0f} s)")
        # The engine started before the ingest, so that Parsl's workers start while it
        # runs; the previous run's files are deleted meanwhile.
        with fresh_run_dir(workdir) as run_dir, openmp_threads_for(files), \
                start_engine(*engine_workers, run_dir) as engine:
            backends = (Gen2Backend(run_dir / "gen2"),
                        Gen3Backend(run_dir / "gen3", registry_db))
            for backend in backends:
                backend.ingest(files)
            progress(f"ingested into gen2 and gen3 ({time.monotonic() - started:.0f} s); "
                     f"{len(campaign.scenarios)} scenarios x {len(data_ids)} data IDs on "
                     f"{engine.workers} {engine.name} worker(s)")
            run_id = db.start_run(run_info(campaign))
            try:
                audited = _run_scenarios(campaign, data_ids, backends, run_dir, engine,
                                         db, run_id, progress)
            except BaseException as error:
                _record_end(db, run_id, RunStatus.INTERRUPTED
                            if isinstance(error, KeyboardInterrupt) else RunStatus.FAILED)
                raise
            db.finish_run(run_id, now_iso(), RunStatus.COMPLETE.value)
            on_complete(run_id)
    return CampaignRun(run_id, audited)


@contextmanager
def openmp_threads_for(files):
    """The compiled loops of this process on one OpenMP thread while a small field runs.

    Below `ONE_THREAD_PIXELS` per detector each parallel region is a fraction of
    a millisecond of work, and waking the second thread (or waiting for it on a
    busy machine) costs more than it saves. The thread count does not change
    any output: threads share whole rows, and the only sums across threads are
    integer counts and checksums (the default campaign's files and rows are the
    same bytes). Only this process is limited: Parsl's workers run with
    ``OMP_NUM_THREADS=1`` already, the local pools' workers keep two threads.
    The size is read from the first calexp's image header, not its planes
    (without astropy: an exposure file's primary header has no data, the image's
    header follows it).
    """
    path = files.calexps[min(files.calexps)]
    with open(path, "rb") as stream:
        primary = read_header(stream)
        image = read_header(stream) if primary is not None and primary.get("NAXIS") == 0 else None
    if image is None or image.get("EXTNAME") != "IMAGE":
        raise ValidationError(f"{path}: not an exposure file (no IMAGE header after a primary "
                              "header without data)")
    if image["NAXIS1"] * image["NAXIS2"] >= ONE_THREAD_PIXELS:
        yield
        return
    with threadpool_limits(limits=1, user_api="openmp"):
        yield


def _run_scenarios(campaign, data_ids, backends, run_dir, engine, db, run_id, progress):
    """Every scenario, recorded as it ends, then the audit; the audited paths."""
    counts = CampaignProgress(len(campaign.scenarios), len(data_ids))
    for result in scenario_results(campaign.scenarios, data_ids, backends, run_dir, engine):
        db.record_scenario(run_id, result)
        progress(counts.scenario_done(result.name, result.verdict.value))
    users = sorted({s.override_file for s in campaign.scenarios if s.override_file})
    audited = [run_dir / "overrides", *users, *backends[1].pipeline_files(campaign.scenarios)]
    db.record_audit(run_id, audit_paths(audited))
    return audited


def _record_end(db, run_id, status):
    """Record how a run stopped, keeping the error that stopped it if this fails too.

    The database may be what failed (a full disk); the run then stays
    ``running`` and is found ``abandoned`` at the next opening.
    """
    try:
        db.finish_run(run_id, now_iso(), status.value)
    except ValidationError:
        pass


def run_info(campaign):
    """`validation.model.RunInfo` for a campaign starting now."""
    packages = {}
    for name in _PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return RunInfo(campaign=campaign.name, code_version=code_version(),
                   config_hash=hashlib.sha256(campaign.source.read_bytes()).hexdigest()[:16],
                   machine=f"{platform.node()} ({os.cpu_count()} cpu, {platform.machine()})",
                   started=now_iso(), python=platform.python_version(), packages=packages,
                   planned_scenarios=[scenario.name for scenario in campaign.scenarios])


def code_version():
    """``git describe`` of the checkout this code runs from, else the package version."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=Path(__file__).parent,
            capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        described = ""
    return described or importlib.metadata.version("diffim-migration")

