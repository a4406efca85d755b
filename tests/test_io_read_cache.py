"""Exposure files read again in a process that keeps them (`diffim.io.read_cache`)."""
import threading

import numpy as np
import pytest
from conftest import random_exposure

from diffim.io import exposure_fits, read_cache
from diffim.io.exposure_fits import read_exposure, write_exposure


@pytest.fixture
def keeping(monkeypatch):
    """Files kept from their second read, however recently written (the tests' files are)."""
    monkeypatch.setattr(read_cache, "_SETTLED_NS", 0)
    with read_cache.read_exposures_kept(64 * 2**20):
        yield


def counted(reads):
    """A reader of the file itself that counts its calls."""
    def read(path):
        reads.append(path)
        return exposure_fits._read_exposure(path, {})
    return read


def test_a_file_is_read_twice_then_copied_and_each_copy_is_its_own(tmp_path, keeping):
    path = tmp_path / "calexp.fits"
    write_exposure(random_exposure(seed=3), path)
    reads = []
    first, second, third = (read_cache.cached(path, counted(reads)) for _ in range(3))
    assert reads == [path, path]  # kept at its second read, not read a third time
    for exposure in (second, third):
        np.testing.assert_array_equal(exposure.image, first.image)
        np.testing.assert_array_equal(exposure.variance, first.variance)
        np.testing.assert_array_equal(exposure.mask.array, first.mask.array)
    third.image[0, 0] += 1.0  # a caller's change is not what the next read gives
    fourth = read_cache.cached(path, counted(reads))
    assert fourth.image[0, 0] == first.image[0, 0] and fourth.image is not third.image


def test_a_rewritten_file_is_read_anew(tmp_path, keeping):
    path = tmp_path / "calexp.fits"
    write_exposure(random_exposure(seed=3), path)
    read_exposure(path), read_exposure(path)
    write_exposure(random_exposure(seed=4), path)
    np.testing.assert_array_equal(read_exposure(path).image, random_exposure(seed=4).image)


def test_nothing_is_kept_by_default(tmp_path):
    path = tmp_path / "calexp.fits"
    write_exposure(random_exposure(seed=3), path)
    reads = []
    for _ in range(3):
        read_cache.cached(path, counted(reads))
    assert len(reads) == 3


def test_a_file_changed_in_the_last_second_is_not_kept(tmp_path):
    path = tmp_path / "calexp.fits"
    write_exposure(random_exposure(seed=3), path)
    reads = []
    with read_cache.read_exposures_kept(64 * 2**20):
        for _ in range(3):
            read_cache.cached(path, counted(reads))
    assert len(reads) == 3


def test_the_budget_is_restored_after_the_block():
    with read_cache.read_exposures_kept(2**20):
        assert read_cache.keep_read_exposures(2**20) == 2**20
    assert read_cache.keep_read_exposures(0) == 0


def test_two_threads_reading_one_file_keep_it_once(tmp_path, keeping):
    """A read that ends after another thread kept the file does not keep (and count) it again."""
    path = tmp_path / "calexp.fits"
    write_exposure(random_exposure(seed=5), path)
    reads = []
    read_cache.cached(path, counted(reads))  # its first read
    slow_started, other_done = threading.Event(), threading.Event()

    def slow(path):
        slow_started.set()  # past the look-up: the file was not kept yet
        other_done.wait(10)  # this read ends only after the other thread kept the file
        return counted(reads)(path)

    slow_thread = threading.Thread(target=read_cache.cached, args=(path, slow))
    slow_thread.start()
    assert slow_started.wait(10)
    read_cache.cached(path, counted(reads))  # the second read: kept
    other_done.set()
    slow_thread.join(10)
    kept = list(read_cache._KEPT.values())
    assert len(reads) == 3 and len(kept) == 1
    assert read_cache._budget["used"] == read_cache._plane_bytes(kept[0])
