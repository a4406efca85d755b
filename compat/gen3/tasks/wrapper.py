"""`DiffimPipelineTask`: a ``PipelineTask`` whose work is one ``diffim`` task.

Every wrapper does the same three things in ``runQuantum``: get the inputs
from the butler, call the ``diffim`` task, put the outputs. This base does
them; a wrapper only says which ``diffim`` task (``_DiffimTask``), how its
inputs map onto that task's ``run`` and its result onto the outputs
(`call`), and, where the butler's form is not ``diffim``'s, how to reshape
what it gets (`readInputs`) or puts (`writeOutputs`).

The wrapper's config is also the ``diffim`` task's config (the config class
inherits from both), so the ``diffim`` task is built on it as it is, under
the wrapper's label; its metadata, sub-tasks' included, becomes the
wrapper's and lands in the ``<label>_metadata`` dataset.
"""
from __future__ import annotations

import lsst.pipe.base as pipeBase

__all__ = ["DiffimPipelineTask"]


class DiffimPipelineTask(pipeBase.PipelineTask):
    """Get, call, put: a ``diffim`` task behind the gen3 butler.

    Attributes
    ----------
    diffimTask : `diffim.task.Task`
        The ``_DiffimTask`` built on this task's config and label.
    """

    _DiffimTask = None
    """The ``diffim`` task class (set by each wrapper)."""

    _diffimTaskOptions = {}
    """Keyword arguments of the ``diffim`` task's constructor beyond config and name."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.diffimTask = self._DiffimTask(config=self.config, name=self.getName(),
                                           **self._diffimTaskOptions)

    def run(self, **inputs):
        """`call` the ``diffim`` task and take over its metadata.

        Parameters
        ----------
        **inputs
            Named as the input connections.

        Returns
        -------
        outputs : `lsst.pipe.base.Struct`
            Named as the output connections.
        """
        outputs = self.call(**inputs)
        # TaskMetadata has no update().
        for key, value in self.diffimTask.getFullMetadata().items():
            self.metadata[key] = value
        return pipeBase.Struct(**outputs)

    def call(self, **inputs):
        """The ``diffim`` task's ``run`` on ``inputs``; its result's fields are the outputs.

        A wrapper whose connections are named as the ``diffim`` task's
        arguments and results needs nothing else.

        Returns
        -------
        outputs : `dict` [`str`, `object`]
            Named as the output connections.
        """
        return self.diffimTask.run(**inputs).getDict()

    def readInputs(self, butlerQC, inputRefs):
        """The inputs as `run` takes them: as the butler gives them, by default."""
        return butlerQC.get(inputRefs)

    def writeOutputs(self, butlerQC, outputs, outputRefs):
        """Put ``outputs`` (`run`'s result): every output connection, by default."""
        butlerQC.put(outputs, outputRefs)

    def runQuantum(self, butlerQC, inputRefs, outputRefs):
        """Get the inputs, `run`, put the outputs."""
        self.writeOutputs(butlerQC, self.run(**self.readInputs(butlerQC, inputRefs)), outputRefs)
