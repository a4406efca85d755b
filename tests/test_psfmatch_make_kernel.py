"""Tests of diffim/psfmatch/make_kernel.py: the delta-function trial's kernel sources."""
import numpy as np
import pandas as pd
import pytest

from diffim.psfmatch.make_kernel import MAX_TRIAL_SOURCES, TRIAL_MATRIX_BYTES, trial_sources


@pytest.mark.parametrize("kind", ["frame", "records"])
def test_the_trial_fits_every_kth_source_of_more_than_its_cap(kind):
    """A 21 px kernel (1.6 MB a stamp): 250 sources give every third (84, spread over the
    list as given), NIRCam's 97 all of them; a 25 px kernel (3.1 MB) every fifth of 250."""
    def table(n):
        frame = pd.DataFrame({"x": np.arange(n, dtype=float), "y": np.zeros(n),
                              "flux": np.ones(n)})
        return frame if kind == "frame" else frame.to_records(index=False)

    assert (MAX_TRIAL_SOURCES, TRIAL_MATRIX_BYTES) == (100, 160 * 2**20)
    many = trial_sources(table(250), 21)
    assert np.array_equal(np.asarray(many["x"]), np.arange(0, 250, 3))
    few = table(97)
    assert trial_sources(few, 21) is few
    wide = trial_sources(table(250), 25)
    assert np.array_equal(np.asarray(wide["x"]), np.arange(0, 250, 5))
