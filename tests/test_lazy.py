"""diffim._lazy: package names imported on first use, listed by dir() before that."""
import subprocess
import sys
import types

import pytest

from diffim._lazy import lazy_exports


def test_dir_lists_names_before_their_module_is_imported():
    # A fresh interpreter: in this one other tests may have loaded the report's modules.
    code = ("import sys, validation.report as r; names = dir(r); "
            "print('write_reports' in names, 'read_results_json' in names, "
            "'validation.report.writer' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "False"]


def test_getattr_loads_once_and_dir_keeps_every_name():
    package = types.ModuleType("lazy_probe")
    package.__getattr__ = lazy_exports(vars(package), {"dumps": "json"})
    assert dir(package) == sorted({*vars(package), "dumps"})
    assert "dumps" not in vars(package)
    import json
    assert package.dumps is json.dumps and vars(package)["dumps"] is json.dumps
    assert dir(package).count("dumps") == 1
    with pytest.raises(AttributeError, match="'lazy_probe' has no attribute 'loads'"):
        package.loads  # noqa: B018
