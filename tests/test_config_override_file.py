"""Override files loaded while other threads import or load: each records only its own imports."""
import importlib
import sys
import threading
import time

import lsst.pex.config as pexConfig
import pytest

from diffim.config.override_file import run_override_file


class _Config(pexConfig.Config):
    value = pexConfig.Field(dtype=int, default=0, doc="set by the files")


@pytest.fixture
def fresh_modules(tmp_path, monkeypatch):
    """Three modules nothing has imported yet, removed again afterwards."""
    names = ("slow_file_module", "quick_file_module", "lane_module")
    for name in names:
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield names
    for name in names:
        sys.modules.pop(name, None)


def _while_a_slow_file_runs(other):
    """The slow file's recorded imports; ``other()`` runs while its recording is on."""
    slow = "import time\ntime.sleep(0.5)\nimport slow_file_module\nconfig.value = 1\n"
    imports = {}
    thread = threading.Thread(target=lambda: imports.update(
        slow=run_override_file(_Config(), slow, "slow.py")))
    thread.start()
    time.sleep(0.1)
    other()
    thread.join()
    return imports["slow"]


def test_two_threads_loading_files_record_only_their_own_imports(fresh_modules):
    quick = {}
    slow = _while_a_slow_file_runs(lambda: quick.update(imports=run_override_file(
        _Config(), "import quick_file_module\nconfig.value = 2\n", "quick.py")))
    assert "slow_file_module" in slow and "quick_file_module" not in slow
    assert "quick_file_module" in quick["imports"]


def test_another_threads_import_is_not_the_files(fresh_modules):
    # A lane's lazy import while the other lane loads a file: not saved with the file's config.
    slow = _while_a_slow_file_runs(lambda: importlib.import_module("lane_module"))
    assert "slow_file_module" in slow and "lane_module" not in slow
