"""Process settings made for the native libraries (OpenMP, numpy's OpenBLAS) and the command's memory."""
import os
import subprocess
import sys

import numpy as np
from threadpoolctl import threadpool_limits

from diffim._core._threads import default_threads
from diffim.coadd import combine
from diffim.io import checksum
from diffim.warp import warper

# What libgomp itself took: omp_display_env(verbose) prints its settings on stderr. Its
# OMP_WAIT_POLICY line says PASSIVE when unset too; the spin count tells them apart
# (300000 by default, 0 when passive, the maximum when active).
_OPENMP_SPIN_COUNT = (
    "import ctypes, diffim._core._al_solve; "
    "ctypes.CDLL('libgomp.so.1').omp_display_env(1)")


# What numpy's OpenBLAS took from OPENBLAS_THREAD_TIMEOUT (0: unset, its default 2^28 cycles).
_OPENBLAS_THREAD_TIMEOUT = (
    "import ctypes, glob, os, {first}; import numpy; "
    "library = glob.glob(os.path.join(os.path.dirname(numpy.__file__) + '.libs', '*openblas*'))[0]; "
    "print(ctypes.CDLL(library).openblas_thread_timeout(), "
    "os.environ.get('OPENBLAS_THREAD_TIMEOUT'))")


def _run(code, **environment):
    env = {key: value for key, value in os.environ.items()
           if key not in ("OMP_WAIT_POLICY", "OPENBLAS_THREAD_TIMEOUT", "OMP_NUM_THREADS")}
    env.update(environment)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True)


def _spin_count(**environment):
    lines = _run(_OPENMP_SPIN_COUNT, **environment).stderr.splitlines()
    return [int(line.split("=")[1].strip().strip("'")) for line in lines
            if "GOMP_SPINCOUNT" in line]


def test_openmp_threads_sleep_between_regions_unless_the_user_says_otherwise():
    assert _spin_count() == [0]
    assert _spin_count(OMP_WAIT_POLICY="active")[0] > 300000


def test_the_users_environment_is_left_as_it_was():
    code = "import os, diffim._core; print(os.environ.get('OMP_WAIT_POLICY'))"
    assert _run(code).stdout.split() == ["None"]
    assert _run(code, OMP_WAIT_POLICY="active").stdout.split() == ["active"]


def test_openblas_threads_sleep_at_once_unless_the_user_says_otherwise():
    assert _run(_OPENBLAS_THREAD_TIMEOUT.format(first="diffim")).stdout.split() == ["4", "None"]
    assert _run(_OPENBLAS_THREAD_TIMEOUT.format(first="diffim"),
                OPENBLAS_THREAD_TIMEOUT="10").stdout.split() == ["10", "10"]
    # numpy loaded before diffim keeps what it took.
    assert _run(_OPENBLAS_THREAD_TIMEOUT.format(first="numpy, diffim")).stdout.split() == [
        "0", "None"]


def test_the_command_backs_arrays_with_small_pages():
    # The kernel's own word for the process (Linux >= 3.15): THP_enabled 0 once disabled.
    # Enabled first: a test process that called keep_freed_memory passed the setting on.
    code = ("import ctypes\n"
            "ctypes.CDLL('libc.so.6').prctl(41, *(ctypes.c_ulong(v) for v in (0, 0, 0, 0)))\n"
            "def thp(): return [line.split()[1] for line in open('/proc/self/status') "
            "if line.startswith('THP_enabled')]\n"
            "before = thp()\n"
            "from diffim.cli.main import keep_freed_memory; keep_freed_memory()\n"
            "print(*before, *thp())")
    assert _run(code).stdout.split() == ["1", "0"]


_CALLERS_DEFAULTS = (
    "import numpy as np; from diffim.warp.warper import _resolve_threads; "
    "from diffim.coadd.combine import _threads; from diffim.io import checksum; "
    "print(_resolve_threads(None), _threads(None), "
    "checksum._threads(np.zeros(checksum._PARALLEL_WORDS, np.uint32)))")


def test_the_warp_the_coadd_and_the_checksums_take_every_usable_cpu_by_default():
    cpus = str(len(os.sched_getaffinity(0)))
    assert _run(_CALLERS_DEFAULTS).stdout.split() == [cpus] * 3


def test_they_keep_omp_num_threads():
    # A Parsl worker is started with OMP_NUM_THREADS=1: its warps used every CPU before.
    assert _run(_CALLERS_DEFAULTS, OMP_NUM_THREADS="1").stdout.split() == ["1"] * 3


def test_they_keep_a_threadpoolctl_limit_in_its_thread():
    outside = default_threads()
    large_plane = np.zeros(checksum._PARALLEL_WORDS, np.uint32)
    with threadpool_limits(limits=1, user_api="openmp"):
        assert default_threads() == 1
        assert {warper._resolve_threads(None), combine._threads(None),
                checksum._threads(large_plane)} == {1}
    assert default_threads() == outside
