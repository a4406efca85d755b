"""Private Cython kernels of ``diffim`` (OpenMP); never imported by users.

OpenMP threads that finish a parallel region sleep instead of spinning
(``OMP_WAIT_POLICY=passive``, unless the environment sets the policy): GNU
OpenMP's default keeps each idle thread busy-waiting for a while after each
region, and between regions this package runs Python (stamp gathering,
numpy), so on two cores shared with other processes a 4k ``diffim subtract``
spent 8.7 instead of 6.0 CPU s (load 6-7, 3 runs each). libgomp reads the
setting once, when it is loaded: this ``__init__`` loads it (through
`_checksum`, a small OpenMP module) with the setting in the environment and
takes the setting out again, so the user's environment, and that of the
processes they start, stays as it was. Where another package loaded the
OpenMP runtime first, its settings stand.
"""
from .._loading import settings_while_loading

with settings_while_loading(OMP_WAIT_POLICY="passive"):
    from . import _checksum  # noqa: F401  (loads the OpenMP runtime)
