"""What the middlewares' workers share with the command's process: an argument pickled once
(`compat.pickled`), the ERROR lines of one command among two running at once
(`compat.error_log`), the server their local pools fork from and the pool a process keeps
(`compat.worker_server`), and gen3's pool of quanta (`compat.gen3.quantum_pool`)."""
import contextvars
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool

import pytest
from lsst.pipe.base.mp_graph_executor import MPTimeoutError

from compat.error_log import ErrorLines
from compat.gen3.quantum_pool import run_in_pool
from compat.pickled import Pickled
from compat.worker_server import kept_pool, worker_context, worker_pool


def test_a_pickled_value_is_unpickled_once_per_process():
    config = {"kernel": {"spatialOrder": 1}, "sizes": list(range(100))}
    pickled = Pickled(config)
    first, again = pickled.load(), pickled.load()
    assert first == config and first is not config
    assert again is first
    # The same value pickled again (another app's argument) is the same object here too.
    assert Pickled(dict(config)).load() is first
    assert Pickled({"kernel": {"spatialOrder": 2}}).load() == {"kernel": {"spatialOrder": 2}}


def test_error_lines_are_the_entering_threads_only():
    log = logging.getLogger("tests.error_lines")

    def other_command():
        log.error("gen3: nothing to run\nsecond line")

    with ErrorLines() as errors:
        log.error("gen2: Failed on dataId=visit=10 ccd=0\ntraceback")
        thread = threading.Thread(target=other_command)
        thread.start()
        thread.join()
        log.warning("not an error")
    assert errors.lines == ["gen2: Failed on dataId=visit=10 ccd=0"]


_FORKED = """
import os, sys
from compat.worker_server import worker_context

def imported(_):
    return os.getppid(), "compat.gen3.tasks" in sys.modules, "lsst.daf.butler" in sys.modules

if __name__ == "__main__":
    context = worker_context(["compat.gen3.tasks"])
    with context.Pool(2) as pool:
        found = pool.map(imported, range(4), chunksize=1)
    assert len({parent for parent, *_ in found}) == 1, found  # one server, not this process
    assert {parent for parent, *_ in found} != {os.getpid()}, found
    assert {tuple(modules) for _, *modules in found} == {(True, True)}, found
    assert "compat.gen3.tasks" not in sys.modules
    with worker_context(["json"]).Pool(1) as pool:  # started once: later pools reuse it
        assert {parent for parent, *_ in pool.map(imported, [0])} == {found[0][0]}
    print("ok")
"""


def test_local_workers_are_forked_from_one_server_with_the_modules_imported(tmp_path):
    # In a process of its own: the server is started once per process, with the modules
    # asked for first.
    script = tmp_path / "forked.py"
    script.write_text(_FORKED)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)
    assert done.stdout == "ok\n", done.stderr


def test_the_pool_runs_each_call_after_its_predecessors_in_the_order_given():
    # divmod(7, 2) would fail if its predecessor's result were needed and absent: only the
    # order of the results is checked here, and that every call ran once.
    calls = {"first": (divmod, 7, 2), "second": (abs, -3), "third": (pow, 2, 5)}
    results = run_in_pool(calls, {"third": {"first", "second"}}, 2, worker_context([]))
    assert results == [(3, 1), 3, 32]


def test_a_quantum_that_hangs_is_killed_at_the_timeout_and_named():
    calls = {"hangs": (time.sleep, 600), "after it": (abs, -1)}
    started = time.monotonic()
    with pytest.raises(MPTimeoutError, match=r"Timeout \(1\.5 sec\) for call hangs: its process"):
        run_in_pool(calls, {"after it": {"hangs"}}, 2, worker_context([]), timeout=1.5,
                    describe=lambda key: f"call {key}")
    assert time.monotonic() - started < 60  # not the 600 s of the sleep


def _slow_start():
    time.sleep(3)


def test_a_call_waiting_for_its_process_to_start_is_not_timed_out():
    # Each process takes 3 s to start (as when the fork server still imports the tasks): the
    # calls run 0.2 s each, within their 1.5 s once started, and both finish.
    calls = {"first": (time.sleep, 0.2), "second": (abs, -2)}
    results = run_in_pool(calls, {}, 2, worker_context([]), initializer=_slow_start,
                          timeout=1.5)
    assert results == [None, 2]


def test_without_a_timeout_a_failed_call_is_raised_and_its_successors_do_not_run():
    calls = {"fails": (int, "not a number"), "after it": (time.sleep, 600)}
    started = time.monotonic()
    with pytest.raises(ValueError, match="not a number"):
        run_in_pool(calls, {"after it": {"fails"}}, 2, worker_context([]))
    assert time.monotonic() - started < 60


def test_the_results_of_calls_that_succeeded_are_handed_over_when_another_fails():
    calls = {"first": (abs, -3), "fails": (int, "not a number"), "third": (abs, -5)}
    results, errors = [], []
    with pytest.raises(ValueError, match="not a number"):
        run_in_pool(calls, {"third": {"first"}}, 1, worker_context([]), on_result=results.append,
                    on_error=errors.append)
    # One process: "fails" ends the pool's submissions; "first" ran before it, "third" never.
    assert results == [3]
    assert [str(error) for error in errors] == ["invalid literal for int() with base 10: "
                                                "'not a number'"]


def test_a_call_running_beside_a_failed_one_ends_and_is_handed_over():
    calls = {"slow": (time.sleep, 1.0), "fails": (int, "x"), "never": (abs, -1)}
    results, errors = [], []
    with pytest.raises(ValueError):
        run_in_pool(calls, {"never": {"fails"}}, 2, worker_context([]), on_result=results.append,
                    on_error=errors.append)
    assert results == [None] and len(errors) == 1


def test_a_kept_pool_serves_every_caller_with_its_size_and_survives_a_failed_call():
    context = worker_context([])
    with kept_pool(2, context):
        with worker_pool(2, context) as kept:
            pids = set(kept.map(_pid, range(4)))
        with pytest.raises(ValueError, match="not a number"):
            with worker_pool(2, context) as pool:
                list(pool.map(int, ["1", "not a number", "3"]))
        # gen3's quanta without a timeout run there too.
        pids |= set(run_in_pool({index: (_pid, index) for index in range(4)}, {}, 2, context))
        with worker_pool(2, context) as pool:
            assert pool is kept
            pids |= set(pool.map(_pid, range(4)))
        with worker_pool(1, context) as pool:  # another size: a pool of its own
            own = pool.submit(_pid, 0).result()
        assert pool is not kept
    assert len(pids) <= 2 and own not in pids  # the same two processes served every block
    with worker_pool(2, context) as pool:  # the block is over: no pool kept
        assert pool is not kept



def test_a_kept_pool_whose_process_died_is_replaced_for_the_next_callers():
    # A worker killed (out of memory, a crash) breaks its executor: every later call would fail.
    context = worker_context([])
    with kept_pool(2, context):
        with worker_pool(2, context) as pool:
            victim = pool.submit(_pid, 0).result()
            os.kill(victim, signal.SIGKILL)
            with pytest.raises(BrokenProcessPool):
                pool.submit(time.sleep, 5).result()
        with worker_pool(2, context) as fresh:
            assert fresh is not pool
            assert victim not in set(fresh.map(_pid, range(4)))



def test_a_thread_of_an_ended_kept_block_gets_no_pool():
    # A stopped campaign's lane still running (building a graph) must not start a new pool.
    context = worker_context([])
    with pytest.raises(KeyboardInterrupt):
        with kept_pool(2, context):
            lane_context = contextvars.copy_context()
            raise KeyboardInterrupt
    errors = []

    def later_command():
        try:
            with worker_pool(2, context):
                pass
        except RuntimeError as error:
            errors.append(str(error))

    thread = threading.Thread(target=lane_context.run, args=(later_command,))
    thread.start()
    thread.join()
    assert errors == ["the campaign's worker pool is stopped: no new command"]
    with worker_pool(2, context) as pool:  # outside the block's context: a pool of its own
        assert pool.submit(_pid, 0).result() != os.getpid()



_KEPT_THEN_KILLED = """
import os, sys, time
from compat.worker_server import kept_pool, worker_context, worker_pool

def pid(_):
    time.sleep(0.2)
    return os.getpid()

if __name__ == "__main__":
    context = worker_context([])
    with kept_pool(2, context):
        with worker_pool(2, context) as pool:
            print(" ".join(str(p) for p in sorted(set(pool.map(pid, range(8))))), flush=True)
        time.sleep(600)
"""


def test_a_kept_pool_ends_with_the_process_that_kept_it(tmp_path):
    # A campaign killed with SIGKILL cannot stop its pool: the pool's processes end by themselves.
    script = tmp_path / "kept.py"
    script.write_text(_KEPT_THEN_KILLED)
    owner = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    workers = [int(pid) for pid in owner.stdout.readline().split()]
    assert workers and owner.pid not in workers
    owner.kill()
    owner.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid):
    """Whether process ``pid`` runs (a zombie, ended but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _pid(_):
    return os.getpid()
