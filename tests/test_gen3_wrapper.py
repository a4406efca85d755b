"""The gen3 wrapper base: every wrapper gets, calls its diffim task, and puts."""
import inspect

import lsst.pipe.base as pipeBase
import numpy as np
import pytest

import compat.gen3.tasks as gen3_tasks
from compat.gen3.tasks import AlardLuptonSubtractConfig, AlardLuptonSubtractTask
from compat.gen3.tasks.wrapper import DiffimPipelineTask
from diffim.sim import PairConfig, simulate_pair
from diffim.subtract import AlardLuptonSubtractTask as DirectSubtractTask

WRAPPERS = [cls for _, cls in inspect.getmembers(gen3_tasks, inspect.isclass)
            if issubclass(cls, pipeBase.PipelineTask)]


def test_every_wrapper_only_maps_its_connections():
    assert len(WRAPPERS) == 7
    for cls in WRAPPERS:
        assert issubclass(cls, DiffimPipelineTask), cls
        assert cls._DiffimTask is not None, cls
        # The three steps are the base's; a wrapper may only reshape what they carry.
        assert cls.runQuantum is DiffimPipelineTask.runQuantum, cls
        assert cls.run is DiffimPipelineTask.run, cls
        assert cls.__init__ is DiffimPipelineTask.__init__, cls


@pytest.fixture(scope="module")
def pair():
    return simulate_pair(PairConfig(size=256, seed=4, star_density=800))


def test_run_is_the_diffim_tasks_with_its_metadata(pair):
    config = AlardLuptonSubtractConfig()
    config.makeKernel.kernel.active.spatialKernelOrder = 0
    wrapper = AlardLuptonSubtractTask(config=config)
    assert isinstance(wrapper.diffimTask, DirectSubtractTask)
    assert wrapper.diffimTask.name == "subtractImages"
    result = wrapper.run(template=pair.template, science=pair.science)
    direct = DirectSubtractTask(config=config).run(pair.template, pair.science)
    assert isinstance(result, pipeBase.Struct)
    assert set(result.getDict()) == set(direct.getDict())
    np.testing.assert_array_equal(result.difference.image, direct.difference.image)
    assert wrapper.metadata["kernelSum"] == direct.kernelSum
    assert wrapper.metadata["mode"] == "convolveTemplate"
