"""Run a pipeline in this process, as ``pipetask run`` would, for the harness.

One process serves every data ID: the middleware and our tasks are imported
once, the quantum graph is built once, and each quantum runs through the
same ``SingleQuantumExecutor`` that ``pipetask run`` uses, so outputs are
bit-identical to the command's. The quanta run on quantum-backed butlers,
as ``pipetask run-qbb`` runs them, and their outputs are registered in bulk
once they have run (`compat.gen3.quantum_butler`): the registry is written
by this process alone. With ``jobs > 1`` the quanta run in a pool of that
many processes, as with ``pipetask run -j``; unlike the middleware's
multiprocess executor, which starts a spawned interpreter per quantum and
sends it the executor and the task's config (executed again), the pool's
workers are forked from a server
that imported the middleware and the tasks once (`compat.worker_server`),
run many quanta each, and unpickle the executor and the graph's task nodes
once per run (`compat.pickled`).
"""
from __future__ import annotations

import contextlib
import functools
import logging
import sys

from lsst.daf.butler import Butler, CollectionType
from lsst.pipe.base import Instrument, Pipeline, TaskFactory
from lsst.pipe.base.all_dimensions_quantum_graph_builder import AllDimensionsQuantumGraphBuilder
from lsst.pipe.base.simple_pipeline_executor import SimplePipelineExecutor
from lsst.pipe.base.single_quantum_executor import SingleQuantumExecutor
from lsst.utils.packages import Packages

from diffim.cli.main import keep_freed_memory

from ..error_log import ErrorLines
from ..names import path_name_problem
from ..pickled import Pickled
from ..worker_server import worker_context
from .errors import Gen3Error
from .pipelines import pipeline_path
from .quantum_butler import QuantumButlerFactory, register_outputs
from .quantum_pool import run_in_pool

__all__ = ["WORKER_MODULES", "execute_quantum", "load_pipeline", "run_pipeline"]

# Installed from PyPI, the stack has no EUPS: the middleware records package versions
# from Python's metadata and says "Unable to import eups" on every run, which a user
# reads as a problem. It is none here.
logging.getLogger("lsst.utils.packages").setLevel(logging.ERROR)

WORKER_MODULES = ("compat.gen3.runner", "compat.gen3.tasks")
"""What the workers of ``jobs > 1`` run: this module's `execute_quantum` and the shipped
pipelines' tasks."""


def load_pipeline(pipeline, config=None, config_files=None):
    """A `lsst.pipe.base.Pipeline` from a shipped name or YAML path, with overrides.

    Parameters
    ----------
    pipeline : `str` or `pathlib.Path`
        A name of `compat.gen3.pipelines.PIPELINES` or a YAML path, with an
        optional ``#subset``.
    config : `dict` [`str`, `dict` [`str`, object]], optional
        Task label -> {dotted config field: value}, as ``pipetask -c
        label:field=value`` would set.
    config_files : `dict` [`str`, `list` [`str`]], optional
        Task label -> pex_config override files, as ``pipetask -C
        label:file`` would load (before ``config``; retargets need a file).

    Raises
    ------
    Gen3Error
        An unknown pipeline, or an override for a label it does not have.
    """
    loaded = Pipeline.from_uri(pipeline_path(pipeline))
    labels = set(loaded.task_labels)
    for label in {*(config or {}), *(config_files or {})}:
        if label not in labels:
            raise Gen3Error(f"pipeline {pipeline}: no task labelled {label!r} "
                            f"(labels: {', '.join(sorted(labels))})")
    for label, paths in (config_files or {}).items():
        for path in paths:
            loaded.addConfigFile(label, str(path))
    for label, overrides in (config or {}).items():
        for field, value in overrides.items():
            loaded.addConfigOverride(label, field, value)
    return loaded


def run_pipeline(repo, pipeline, inputs, output, where, config=None, config_files=None,
                 register_dataset_types=True, extend_run=False, jobs=1, parsl=False,
                 butler=None, timeout=None, building=None):
    """Build the quantum graph of a pipeline and execute it here.

    Parameters
    ----------
    repo : `str` or `pathlib.Path`
        Repository root.
    pipeline, config, config_files
        As for `load_pipeline`.
    inputs : `list` [`str`]
        Input collections, in search order.
    output : `str`
        Output CHAINED collection: a new one holds a new timestamped RUN
        followed by ``inputs``, as ``pipetask run -o`` makes it.
    where : `str`
        Data query (``pipetask -d``).
    register_dataset_types : `bool`
        Register the output dataset types first (``--register-dataset-types``).
    extend_run : `bool`
        Write into the RUN already at the head of ``output`` and skip the
        quanta whose outputs are there (``--extend-run --skip-existing``).
    jobs : `int`
        Processes for the quanta (``pipetask run -j``): more than one runs
        them in a pool of worker processes forked from a server that
        imported `WORKER_MODULES` and the tasks' modules
        (`compat.worker_server`).
    parsl : `bool`
        Run the quanta as Parsl apps on the Parsl configuration the caller
        loaded (`compat.gen3.parsl_executor`); ``jobs`` is then ignored.
    butler : `lsst.daf.butler.Butler`, optional
        A writeable butler already open on ``repo``: the run's butler is a
        clone of it (sharing its registry connection and caches) instead of
        a new client of the repository (0.07 CPU s per run, more on
        PostgreSQL). Not for ``extend_run``.
    timeout : `float`, optional
        With ``jobs > 1``, the seconds a quantum may run before its process
        is killed and the run fails with the middleware's ``MPTimeoutError``
        (``pipetask run --timeout``); no limit when omitted.
    building : context manager, optional
        Held from the output collections' making to the init outputs written
        (the registry writes that make collections, dataset types and their
        tables), not while the quanta run: pipelines run on one repository
        from several threads (each on its own clones of ``butler``) then build
        their graphs one at a time, beside another's quanta and registration.

    Returns
    -------
    quanta : `list` [`lsst.daf.butler.Quantum`]
        The quanta executed: in the graph's order, in the order they ended with
        ``jobs > 1``.

    Raises
    ------
    Gen3Error
        ``output`` is not a plain collection name (`compat.names`: it names
        a datastore directory), ``extend_run`` on an output collection that
        does not exist, or a graph left empty by errors its tasks logged
        while it was built (the least of them, in sort order, is the message).
    """
    problem = path_name_problem(output, "output collection name")
    if problem:
        raise Gen3Error(problem)
    graph = load_pipeline(pipeline, config, config_files).to_graph()
    with building or contextlib.nullcontext():
        if extend_run:
            butler, skip_existing_in = _extended_butler(str(repo), output), [output]
        elif butler is None:
            butler, skip_existing_in = SimplePipelineExecutor.prep_butler(
                str(repo), inputs=list(inputs), output=output), []
        else:
            butler, skip_existing_in = _output_butler(butler, inputs, output), []
        builder = AllDimensionsQuantumGraphBuilder(graph, butler, where=where,
                                                   output_run=butler.run,
                                                   skip_existing_in=skip_existing_in)
        with ErrorLines() as errors:
            predicted = builder.finish(output=output, metadata={
                "skip_existing_in": skip_existing_in, "skip_existing": bool(skip_existing_in),
                "data_query": where}).assemble()
        if errors.lines and not predicted.quantum_only_xgraph.nodes:
            # The least line, not the first: the builder visits data IDs in an order that
            # follows string hashes, new in each process, and a campaign records the message.
            raise Gen3Error(f"pipeline {pipeline}: nothing to run for {where!r}: "
                            f"{min(errors.lines)}")
        _write_init_outputs(predicted, butler, register_dataset_types, extend_run)
    return _execute(repo, predicted, butler, extend_run, jobs, parsl, timeout)


def _write_init_outputs(predicted, butler, register_dataset_types, extend_run):
    """The graph's dataset types (if asked), configs, init outputs and package versions.

    As `SimplePipelineExecutor.run` writes them, except that an extended run
    compares the configs and package versions already in the RUN (refusing
    different ones) instead of refusing any, as ``pipetask --extend-run``
    does, and that a new RUN's package versions are looked up again only when
    modules were imported since the last run (`_packages`).
    """
    if register_dataset_types:
        predicted.pipeline_graph.register_dataset_types(butler)
    predicted.write_configs(butler, compare_existing=extend_run)
    predicted.write_init_outputs(butler, skip_existing=extend_run)
    if extend_run:
        predicted.write_packages(butler, compare_existing=True)
    else:  # a new RUN: the dataset is not there yet (put refuses it if it is)
        (packages_ref,) = predicted.get_init_outputs("").values()
        butler.put(_packages(frozenset(sys.modules)), packages_ref)


def _execute(repo, predicted, butler, extend_run, jobs, parsl, timeout):
    """Run every quantum in order, register what they wrote (the init outputs are written).

    This is `SimplePipelineExecutor.run`, except that:

    - the quanta run on quantum-backed butlers, without the registry, and
      their outputs are registered in bulk once they have run (as
      ``pipetask run-qbb`` then ``butler transfer-from-graph``:
      `compat.gen3.quantum_butler`), also those of the quanta that succeeded
      when another failed;
    - a new RUN's quanta are executed without looking for outputs already
      there.
    """
    factory = QuantumButlerFactory(
        str(repo),
        predicted.pipeline_graph.universe,
        {node.name: node.dataset_type for node in predicted.pipeline_graph.dataset_types.values()})
    # A new RUN holds no outputs: the executor does not look for them (as
    # ``pipetask run-qbb --no-existing-outputs``).
    executor = SingleQuantumExecutor(limited_butler_factory=factory, task_factory=TaskFactory(),
                                     assume_no_existing_outputs=not extend_run,
                                     raise_on_partial_outputs=True)
    keep = _Executed()
    try:
        if parsl:
            from .parsl_executor import execute_on_parsl  # Parsl only when asked for

            execute_on_parsl(predicted, Pickled((executor, factory)), keep.result, keep.error)
        else:
            predicted.build_execution_quanta()
            if jobs > 1:
                _execute_in_pool(predicted, Pickled((executor, factory)), jobs, timeout, keep)
            else:
                nodes = predicted.quantum_only_xgraph.nodes
                tasks = dict(predicted.pipeline_graph.tasks)
                for quantum_id in predicted:
                    node = nodes[quantum_id]
                    keep.result(_execute_quantum(executor, factory, tasks,
                                                 node["pipeline_node"].label, node["quantum"],
                                                 quantum_id))
    except BaseException as error:
        keep.error(error)
        try:
            register_outputs(butler, keep.executed)
        except Exception as failure:  # the quantum's error is the one to see
            error.add_note(f"the outputs of the quanta that ran were not registered: {failure}")
        raise
    register_outputs(butler, keep.executed)
    return [quantum for quantum, _ in keep.executed]


class _Executed:
    """Collects what the quanta of a graph wrote (``executed``): ``(quantum, provenance)`` of
    each that ran (`execute_quantum`), and of each that failed after writing something
    (`_failed_outputs`)."""

    def __init__(self):
        self.executed = []

    def result(self, outputs):
        """Keep what a quantum that ran returned."""
        self.executed.append(outputs)

    def error(self, error):
        """Keep what the quantum that raised ``error`` wrote, if it was a quantum's error
        (taken from it: kept once)."""
        outputs = _failed_outputs(error)
        if outputs is not None:
            self.executed.append(outputs)


def _execute_in_pool(predicted, shared, jobs, timeout, keep):
    """Every quantum of ``predicted`` in a pool of ``jobs`` processes, each once the quanta it
    depends on are done (`compat.gen3.quantum_pool`); ``keep`` (`_Executed`) gets what each wrote.

    The pool's processes are forked from the server of `compat.worker_server`,
    which imports the modules asked for by the first caller in the process
    only: a campaign's engine starts it with the shipped tasks' modules, a
    pipeline of other tasks has its workers import them at their first quantum.
    """
    if not predicted:
        return
    nodes = predicted.quantum_only_xgraph.nodes
    tasks = Pickled(dict(predicted.pipeline_graph.tasks))
    calls = {quantum_id: (execute_quantum, shared, tasks,
                          nodes[quantum_id]["pipeline_node"].label, nodes[quantum_id]["quantum"],
                          quantum_id)
             for quantum_id in predicted}
    predecessors = {quantum_id: set(predicted.quantum_only_xgraph.predecessors(quantum_id))
                    for quantum_id in predicted}
    # Forked from a server, not from here: a fork of a process that has used OpenMP can hang.
    context = worker_context({*WORKER_MODULES, *(node.task_class.__module__ for node in
                                                 predicted.pipeline_graph.tasks.values())})
    run_in_pool(calls, predecessors, jobs, context, initializer=keep_freed_memory,
                timeout=timeout, describe=lambda quantum_id: _describe(nodes[quantum_id]),
                on_result=keep.result, on_error=keep.error)


def _describe(node):
    """A quantum as a message names it: its task label and data ID."""
    return f"quantum {node['pipeline_node'].label} {node['quantum'].dataId}"


def execute_quantum(shared, tasks, label, quantum, quantum_id, *upstream):
    """One quantum of task ``label`` in a worker process; ``upstream`` are its predecessors'
    results (only waited for, by Parsl).

    ``shared`` is a `compat.pickled.Pickled` of the `SingleQuantumExecutor` and its
    `compat.gen3.quantum_butler.QuantumButlerFactory`, ``tasks`` one of the graph's task nodes
    by label: each unpickled once per worker.

    Returns
    -------
    executed : `tuple`
        The `lsst.daf.butler.Quantum` run and the
        `lsst.daf.butler.QuantumProvenanceData` of its outputs.
    """
    executor, factory = shared.load()
    return _execute_quantum(executor, factory, tasks.load(), label, quantum, quantum_id)


def _execute_quantum(executor, factory, tasks, label, quantum, quantum_id):
    """`execute_quantum` on loaded objects: the quantum and what it wrote.

    A quantum that fails may have written some outputs (its log at least, which says why):
    they go with its error (`_failed_outputs`), to be registered as well, as ``pipetask run``
    registers them. They ride on the task's own exception, as an attribute (pickled with
    it from a worker), so that the caller still sees the task's error type.
    """
    try:
        executed = executor.execute(tasks[label], quantum, quantum_id)[0]
    except Exception as error:
        error.quantum_outputs = (quantum, factory.last_outputs())
        raise
    return executed, factory.last_outputs()


def _failed_outputs(error):
    """``(quantum, provenance)`` of what a failed quantum wrote, taken from its ``error``;
    `None` when the error is not a quantum's (or was taken already)."""
    outputs = getattr(error, "__dict__", {}).pop("quantum_outputs", None)
    return outputs if outputs is not None and outputs[1] is not None else None


@functools.lru_cache(maxsize=1)
def _packages(modules):
    """`Packages.fromSystem` while the imported ``modules`` stay the same.

    What it records depends only on the imported modules (and on what is
    installed); looking it up walks every one of them (0.1-0.15 CPU s per
    run, a campaign makes dozens of runs in one process).
    """
    return Packages.fromSystem()


def _output_butler(butler, inputs, output):
    """``SimplePipelineExecutor.prep_butler`` on clones of ``butler``: a new timestamped RUN
    and the CHAINED ``output`` of it and ``inputs``, the defaults of the butler returned.

    ``butler`` itself is only cloned (a clone has its own database session and copies of
    the caches), so that threads may each make a run from it. The clone returned is made
    once the chain exists, so that its defaults are inferred from the chain.
    """
    run = f"{output}/{Instrument.makeCollectionTimestamp()}"
    writer = butler.clone()
    writer.registry.registerCollection(run, CollectionType.RUN)
    writer.registry.registerCollection(output, CollectionType.CHAINED)
    writer.registry.setCollectionChain(output, [run, *inputs])
    return writer.clone(collections=[output], run=run)


def _extended_butler(root, output):
    """A writeable butler whose run is the RUN at the head of the ``output`` chain."""
    butler = Butler.from_config(root, writeable=True)
    if not butler.registry.queryCollections(output, collectionTypes={CollectionType.CHAINED}):
        raise Gen3Error(f"extend_run: no output collection {output!r} in {root}")
    run = butler.registry.getCollectionChain(output)[0]
    return Butler.from_config(root, writeable=True, collections=[output], run=run)
