"""Override files loaded from two threads at once: each records only its own imports."""
import sys
import threading
import time

import lsst.pex.config as pexConfig

from diffim.config.override_file import run_override_file


class _Config(pexConfig.Config):
    value = pexConfig.Field(dtype=int, default=0, doc="set by the files")


def test_two_threads_loading_files_record_only_their_own_imports(tmp_path, monkeypatch):
    # Two modules nothing has imported yet; the slow file is still running (its recorder on)
    # when the quick one imports its module.
    for name in ("slow_file_module", "quick_file_module"):
        (tmp_path / f"{name}.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    sources = {"slow": "import time\ntime.sleep(0.5)\nimport slow_file_module\nconfig.value = 1\n",
               "quick": "import quick_file_module\nconfig.value = 2\n"}
    imports = {}

    def load(name):
        imports[name] = run_override_file(_Config(), sources[name], f"{name}.py")

    slow = threading.Thread(target=load, args=("slow",))
    slow.start()
    time.sleep(0.1)
    load("quick")
    slow.join()
    assert "quick_file_module" not in imports["slow"]
    assert "slow_file_module" in imports["slow"]
    assert "quick_file_module" in imports["quick"]
    for name in ("slow_file_module", "quick_file_module"):
        sys.modules.pop(name, None)
