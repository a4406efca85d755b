"""What every worker of a campaign starts with, imported once by the fork server of its pool.

The local engine's server (`compat.worker_server`, started by
`validation.campaign.engine`) and the fork server of each Parsl worker pool
(`validation.campaign.worker_pool`, which adds the Parsl apps' modules)
import this module: its `MODULES` are what the workers run (gen2's data
references, gen3's quanta with the middleware's executor and the shipped
tasks, the comparison of each data ID), and the workers forked from the
server inherit them and the policy set here: freed image-sized blocks are
kept for reuse (`diffim.cli.main.keep_freed_memory`), exposure files read
again are kept (`diffim.io.read_cache`) and so are the coadd templates a
worker builds (`diffim.template.kept`, as in the campaign's process), since
a worker runs many data IDs on the same inputs (``bench_engine``'s campaign
on one Parsl worker, load 8-10: the worker's CPU 20.4 -> 19.8 s, two runs each;
py-spy had put a fifth of its samples in template builds).
"""
import importlib

from diffim.cli.main import keep_freed_memory
from diffim.io.read_cache import keep_read_exposures
from diffim.template.kept import keep_templates

from .engine import KEPT_EXPOSURE_BYTES, KEPT_TEMPLATE_BYTES

MODULES = ("lsst.pipe.base.single_quantum_executor", "compat.gen2.image_difference",
           "compat.gen2.task_runner", "compat.gen3.runner", "compat.gen3.tasks",
           "validation.campaign.compare_backends")

for _module in MODULES:
    importlib.import_module(_module)
keep_freed_memory()
keep_read_exposures(KEPT_EXPOSURE_BYTES)
keep_templates(KEPT_TEMPLATE_BYTES)
