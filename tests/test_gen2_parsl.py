"""gen2's data references as Parsl apps (2 workers), and in gen2's own ``-j 2`` pool: the same
files as in one process, and the same log records here, failures included."""
import logging
from pathlib import Path

import parsl
import pytest
# field, files and pristine are the shared fixtures.
from _gen2_data import FILTER, files, make_repo, pristine  # noqa: F401

from compat.gen2 import Butler
from compat.gen2.commands import run_image_difference
from compat.gen2.parsl_runner import ParslImageDifferenceCmdLineTask
from validation.campaign.engine import parsl_config

ALL = ["--id", "visit=10^11", "ccd=0^1"]
PRODUCTS = ("deepDiff_differenceExp", "deepDiff_diaSrc")


@pytest.fixture(scope="module")
def repo(files, pristine, tmp_path_factory):  # noqa: F811
    """The field with one calexp corrupted (visit 10, ccd 1): that data reference fails."""
    root = make_repo(files, pristine, tmp_path_factory.mktemp("parsl") / "repo")
    path = root / f"calexp/v10-f{FILTER}/c01.fits"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return root


@pytest.fixture(scope="module")
def runs(repo, tmp_path_factory):
    """The command in this process, in a pool of 2 and on 2 Parsl workers: status, records."""
    done = {}
    for name, extra, command in (("serial", [], None), ("pool", ["-j", "2"], None),
                                 ("parsl", [], ParslImageDifferenceCmdLineTask)):
        handler, root = _Keep(), logging.getLogger()
        level = root.level
        root.setLevel(logging.INFO)
        root.addHandler(handler)
        try:
            arguments = [str(repo), *ALL, "--rerun", name, *extra]
            if command is None:
                status = run_image_difference(arguments)
            else:
                with parsl.load(parsl_config(2, tmp_path_factory.mktemp("parsl-run"))):
                    status = run_image_difference(arguments, taskClass=command)
        finally:
            root.removeHandler(handler)
            root.setLevel(level)
        done[name] = status, [(r.name, r.levelname, r.getMessage()) for r in handler.records]
    return done


class _Keep(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.INFO)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@pytest.mark.parametrize("name", ["pool", "parsl"])
def test_the_same_files(repo, runs, name):
    assert runs[name][0] == runs["serial"][0] == 1  # one data reference failed
    serial, other = Butler(repo / "rerun" / "serial"), Butler(repo / "rerun" / name)
    compared = 0
    for visit in (10, 11):
        for ccd in (0, 1):
            for dataset in PRODUCTS:
                if (visit, ccd) == (10, 1):
                    assert not other.datasetExists(dataset, visit=visit, ccd=ccd)
                    continue
                [expected] = serial.get(f"{dataset}_filename", visit=visit, ccd=ccd)
                [found] = other.get(f"{dataset}_filename", visit=visit, ccd=ccd)
                assert Path(found).read_bytes() == Path(expected).read_bytes()
                compared += 1
    assert compared == 6


@pytest.mark.parametrize("name", ["pool", "parsl"])
def test_the_same_log_records_here(runs, name):
    def task_records(records):
        return [record for record in records if record[0].startswith("diffim.imageDifference")]

    serial = task_records(runs["serial"][1])
    assert any(record[1] == "CRITICAL" and record[2].startswith(
        "Failed on dataId={'ccd': 1, 'filter': 'r_sim', 'visit': 10}: ") for record in serial)
    assert ("diffim.imageDifference", "INFO",
            "Processing {'visit': 11, 'ccd': 1, 'filter': 'r_sim'}") in serial
    assert task_records(runs[name][1]) == serial
