"""Tests of diffim/psfmatch/make_kernel.py: the delta-function trial's kernel sources."""
import numpy as np
import pandas as pd
import pytest

from diffim.psfmatch.make_kernel import MAX_TRIAL_SOURCES, _trial_sources


@pytest.mark.parametrize("kind", ["frame", "records"])
def test_the_trial_fits_every_kth_source_of_more_than_its_cap(kind):
    """250 sources: every third (84, spread over the list as given); 100 or fewer: all."""
    def table(n):
        frame = pd.DataFrame({"x": np.arange(n, dtype=float), "y": np.zeros(n),
                              "flux": np.ones(n)})
        return frame if kind == "frame" else frame.to_records(index=False)

    assert MAX_TRIAL_SOURCES == 100
    many = _trial_sources(table(250))
    assert len(many) == 84
    assert np.array_equal(np.asarray(many["x"]), np.arange(0, 250, 3))
    few = table(100)
    assert _trial_sources(few) is few
