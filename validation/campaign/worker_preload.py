"""What every Parsl worker of a campaign starts with, imported once by the pool's fork server.

`validation.campaign.worker_pool` has its fork server import this module;
the workers forked from it inherit the modules that the apps of a campaign
run (gen2's data references, gen3's quanta with the middleware's executor,
the comparison of each data ID) and the memory policy of the ``diffim``
command: freed image-sized blocks are kept for reuse
(`diffim.cli.main.keep_freed_memory`), since a worker runs many data IDs.
"""
import lsst.pipe.base.single_quantum_executor  # noqa: F401

import compat.gen2.parsl_runner  # noqa: F401
import compat.gen3.parsl_executor  # noqa: F401
import compat.gen3.tasks  # noqa: F401
import validation.campaign.compare_backends  # noqa: F401
from diffim.cli.main import keep_freed_memory

keep_freed_memory()
