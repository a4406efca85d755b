"""Process settings made for the Cython kernels (`diffim._core`) and the command's memory."""
import os
import subprocess
import sys

# What libgomp itself took: omp_display_env(verbose) prints its settings on stderr. Its
# OMP_WAIT_POLICY line says PASSIVE when unset too; the spin count tells them apart
# (300000 by default, 0 when passive, the maximum when active).
_OPENMP_SPIN_COUNT = (
    "import ctypes, diffim._core._al_solve; "
    "ctypes.CDLL('libgomp.so.1').omp_display_env(1)")


def _run(code, **environment):
    env = {key: value for key, value in os.environ.items() if key != "OMP_WAIT_POLICY"}
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


def test_the_command_backs_arrays_with_small_pages():
    # _set_madvise_hugepage returns the setting it replaces: numpy's default is on.
    code = ("from numpy._core.multiarray import _set_madvise_hugepage as advise; "
            "before = advise(True); advise(before); "
            "from diffim.cli.main import keep_freed_memory; keep_freed_memory(); "
            "print(before, advise(False))")
    assert _run(code).stdout.split() == ["True", "False"]
