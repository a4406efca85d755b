"""The AlardLuptonSubtract PipelineTask on the real middleware equals the diffim task itself."""
import subprocess

import numpy as np
import pandas as pd
import pytest
from _gen3_data import (
    SCIENCE_VISIT,
    TEMPLATE_DATASET,
    VENV_BIN,
    put_calexp_template,
    small_field,
)
from lsst.daf.butler import Butler
from lsst.pipe.base.simple_pipeline_executor import SimplePipelineExecutor

from compat.gen3 import INPUT_RUN, INSTRUMENT, PIPELINE_DIR, ingest_field, make_repo
from compat.gen3.tasks import AlardLuptonSubtractConfig, AlardLuptonSubtractTask
from diffim.subtract import AlardLuptonSubtractTask as DirectSubtractTask

DETECTOR = 0


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen3") / "repo"
    butler = make_repo(root)
    ingest_field(butler, small_field())
    put_calexp_template(butler, DETECTOR, INPUT_RUN)
    return root, butler


@pytest.fixture(scope="module")
def direct(repo):
    """The diffim task run on the same inputs, read back from the repo."""
    _, butler = repo
    data_id = {"instrument": INSTRUMENT, "visit": SCIENCE_VISIT, "detector": DETECTOR}
    inputs = [butler.get(name, data_id, collections=INPUT_RUN)
              for name in (TEMPLATE_DATASET, "calexp", "src")]
    return DirectSubtractTask().run(*inputs)


@pytest.fixture(scope="module")
def in_process(repo):
    root, _ = repo
    butler = SimplePipelineExecutor.prep_butler(str(root), inputs=[INPUT_RUN],
                                                output="SimCam/diff/inprocess")
    executor = SimplePipelineExecutor.from_task_class(
        AlardLuptonSubtractTask, config=AlardLuptonSubtractConfig(), butler=butler,
        where=f"instrument='{INSTRUMENT}' AND visit={SCIENCE_VISIT} AND detector={DETECTOR}")
    quanta = executor.run(register_dataset_types=True)
    assert len(quanta) == 1
    return butler


def _get(butler, name):
    return butler.get(name, instrument=INSTRUMENT, visit=SCIENCE_VISIT, detector=DETECTOR)


def _bits(array):
    return np.ascontiguousarray(array, "=f4").view(np.uint32)


def assert_same_exposure(a, b):
    for plane in ("image", "variance"):
        np.testing.assert_array_equal(_bits(getattr(a, plane)), _bits(getattr(b, plane)))
    np.testing.assert_array_equal(a.mask.array, b.mask.array)
    assert a.mask.planes.as_dict() == b.mask.planes.as_dict()
    assert a.xy0 == b.xy0


def test_in_process_difference_is_bit_identical(in_process, direct):
    assert_same_exposure(_get(in_process, "deepDiff_differenceTempExp"), direct.difference)
    assert_same_exposure(_get(in_process, "deepDiff_matchedExp"), direct.matchedTemplate)


def test_in_process_kernel_sources_and_metadata(in_process, direct):
    kernel = _get(in_process, "deepDiff_psfMatchKernel")
    np.testing.assert_array_equal(kernel.coefficients, direct.psfMatchingKernel.coefficients)
    np.testing.assert_array_equal(kernel.basis.images, direct.psfMatchingKernel.basis.images)
    pd.testing.assert_frame_equal(_get(in_process, "deepDiff_psfMatchSources"),
                                  pd.DataFrame(direct.kernelSources), check_dtype=False)
    metadata = _get(in_process, "subtractImages_metadata").to_dict()["subtractImages"]
    assert metadata["kernelSum"] == direct.kernelSum
    assert metadata["mode"] == "convolveTemplate"


def test_pipetask_run_from_the_shell(repo, in_process):
    # pipetask runs BLAS on one thread by default; diffim's solves do too
    # (diffim.task.single_threaded_blas), so the bits agree with this process.
    root, _ = repo
    command = [str(VENV_BIN / "pipetask"), "run", "-b", str(root), "-i", INPUT_RUN,
               "-o", "SimCam/diff/shell", "-p", str(PIPELINE_DIR / "subtract.yaml"),
               "-d", f"instrument='{INSTRUMENT}' AND visit={SCIENCE_VISIT} AND detector={DETECTOR}",
               "--register-dataset-types"]
    result = subprocess.run(command, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    shell = Butler.from_config(str(root), collections=["SimCam/diff/shell"])
    assert_same_exposure(_get(shell, "deepDiff_differenceTempExp"),
                         _get(in_process, "deepDiff_differenceTempExp"))
