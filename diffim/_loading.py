"""Settings that native libraries read once, when they load, given to them only then.

OpenMP and OpenBLAS take some tuning from environment variables, read when
the shared library is loaded. `settings_while_loading` puts such variables
in the environment for the duration of the import that loads the library
and takes out again those it put there: the library keeps the setting, the
user's environment (and that of the processes they start) stays as it was.
A variable the user set is left alone, and a library some other package
loaded first keeps its own settings.
"""
from __future__ import annotations

import contextlib
import os

__all__ = ["settings_while_loading"]


@contextlib.contextmanager
def settings_while_loading(**settings):
    """Set each of ``settings`` (name: value) not already in the environment, inside the block.

    Parameters
    ----------
    **settings : `str`
        Environment variables and their values, for the libraries loaded in the block.
    """
    added = [name for name in settings if name not in os.environ]
    for name in added:
        os.environ[name] = settings[name]
    try:
        yield
    finally:
        for name in added:
            os.environ.pop(name, None)
