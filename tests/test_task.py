"""`diffim.task.single_threaded_blas`: BLAS on one thread inside, as before after."""
import sys
import types

from threadpoolctl import threadpool_info

from diffim import task


def _blas_threads():
    return [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]


def test_blas_runs_on_one_thread_inside_and_as_before_after():
    outside = _blas_threads()
    assert outside
    with task.single_threaded_blas():
        assert set(_blas_threads()) == {1}
    assert _blas_threads() == outside


def test_libraries_are_looked_up_again_only_after_an_import():
    with task.single_threaded_blas():
        pass
    looked_up = task._thread_pools.cache_info().misses
    with task.single_threaded_blas():
        pass
    assert task._thread_pools.cache_info().misses == looked_up
    sys.modules["_diffim_test_imported_later"] = types.ModuleType("_diffim_test_imported_later")
    try:
        with task.single_threaded_blas():
            assert set(_blas_threads()) == {1}
    finally:
        del sys.modules["_diffim_test_imported_later"]
    assert task._thread_pools.cache_info().misses == looked_up + 1
