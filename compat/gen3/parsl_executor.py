"""A quantum graph's quanta as Parsl apps, on the Parsl configuration the caller loaded.

What ``pipetask run -j N`` does with worker processes on one machine
(`lsst.pipe.base.mp_graph_executor.MPGraphExecutor`), done with Parsl: each
quantum is one app running the middleware's own `SingleQuantumExecutor` on a
quantum-backed butler (no registry in the workers: `compat.gen3.quantum_butler`),
and an app waits for the apps of the quanta it depends on. Unlike BPS
(`compat.gen3.bps`), no ``pipetask`` process is started per quantum: a
worker imports the middleware once and runs many quanta, with the executor
and the graph's task nodes unpickled once per graph and
worker (`compat.pickled`), not once per quantum: a task node holds its task's
config, which pex_config pickles as its saved text and executes again on
loading (0.14 CPU s for the image-difference task).
"""
from __future__ import annotations

import parsl

from ..pickled import Pickled
from .runner import execute_quantum

__all__ = ["execute_on_parsl"]


def execute_on_parsl(predicted, shared, on_result, on_error):
    """Run every quantum of ``predicted`` as a Parsl app; wait for all of them, handing over
    what each returned or raised.

    Parameters
    ----------
    predicted : `lsst.pipe.base.quantum_graph.PredictedQuantumGraph`
        The graph, its init outputs already written.
    shared : `compat.pickled.Pickled`
        The `SingleQuantumExecutor` and its quantum-backed butlers' factory,
        run in the workers (`compat.gen3.runner.execute_quantum`).
    on_result : callable
        Called with what each quantum that ran returned
        (`compat.gen3.runner.execute_quantum`), in the graph's order.
    on_error : callable
        Called with the error of each quantum that failed, in the graph's order.

    Raises
    ------
    Exception
        The error of the first failed quantum in the graph's order (its
        dependents are not run), after every app has finished.
    """
    predicted.build_execution_quanta()
    xgraph = predicted.quantum_only_xgraph
    app = parsl.python_app(execute_quantum)
    tasks = Pickled(dict(predicted.pipeline_graph.tasks))
    futures = {}
    for quantum_id in predicted:
        node = xgraph.nodes[quantum_id]
        upstream = [futures[before] for before in xgraph.predecessors(quantum_id)]
        futures[quantum_id] = app(shared, tasks, node["pipeline_node"].label, node["quantum"],
                                  quantum_id, *upstream)
    # A quantum comes after those it depends on, so the first error in graph order is a
    # task's own, not Parsl's report that an app's dependency failed.
    errors = [future.exception() for future in futures.values()]
    for future, error in zip(futures.values(), errors):
        if error is None:
            on_result(future.result())
        else:
            on_error(error)
    first = next((error for error in errors if error is not None), None)
    if first is not None:
        raise first
