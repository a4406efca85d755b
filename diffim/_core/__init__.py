"""Private Cython kernels of ``diffim`` (OpenMP); never imported by users.

OpenMP threads that finish a parallel region sleep instead of spinning
(``OMP_WAIT_POLICY=passive``, unless the environment already sets it): GNU
OpenMP's default keeps each idle thread busy-waiting for the next region, and
between regions this package runs Python (stamp gathering, numpy), so on two
cores shared with other processes the spinning cost a ``diffim subtract`` at
4k about a fifth of its CPU time. libgomp reads the setting when it is loaded,
which is when the first kernel module that uses OpenMP is imported: after
this package's ``__init__``.
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
