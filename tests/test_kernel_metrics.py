import numpy as np
import pandas as pd
import pytest

from diffim.image_difference.kernel_metrics import (
    METRIC_COLUMNS,
    kernel_candidate_metrics,
)
from diffim.sim import PairConfig, simulate_pair
from diffim.sky.matching import match_pixels
from diffim.subtract import AlardLuptonSubtractTask


@pytest.fixture(scope="module")
def fitted():
    pair = simulate_pair(PairConfig(size=768, seed=2, star_density=800, psf_model="gaussian",
                                    science_fwhm_variation=0.0, template_fwhm_variation=0.0,
                                    science_ellipticity=0.0, template_ellipticity=0.0,
                                    science_ellipticity_variation=0.0,
                                    template_ellipticity_variation=0.0))
    task = AlardLuptonSubtractTask()
    return pair, task.run(pair.template, pair.science), task


def test_metrics_of_good_candidates_describe_a_good_fit(fitted):
    pair, result, task = fitted
    candidates = pd.DataFrame(result.kernelSources)
    truth = pair.truth
    i, j, _ = match_pixels(candidates["x"], candidates["y"], truth["x"], truth["y"], 1.5)
    positions = pd.DataFrame({"ra": np.nan, "dec": np.nan}, index=range(len(candidates)))
    positions.loc[i, "ra"] = truth["ra"].to_numpy()[j]
    positions.loc[i, "dec"] = truth["dec"].to_numpy()[j]
    metrics = kernel_candidate_metrics(candidates, result.localKernelCoefficients,
                                       result.psfMatchingKernel, result.backgroundModel,
                                       pair.template, pair.science, fit_background=True,
                                       reference_positions=positions)
    assert list(metrics.columns) == ["x", "y", *METRIC_COLUMNS]
    used = metrics[candidates["used"].to_numpy()]
    assert len(used) >= 20
    assert (used["KCKernelStatus_LOCAL"] == 1).all()
    # As in the stack, residuals are normalised by sqrt(var_S + var_T), but the
    # template noise left in K (x) T is only var_T * sum(K^2): the expected width
    # is sqrt((var_S + var_T sum K^2) / (var_S + var_T)), less than one.
    var_s, var_t = np.median(pair.science.variance), np.median(pair.template.variance)
    k_squared = (result.psfMatchingKernel.image(384, 384) ** 2).sum()
    expected_std = np.sqrt((var_s + var_t * k_squared) / (var_s + var_t))
    assert used["KCDiffimStDev_SPATIAL"].median() == pytest.approx(expected_std, rel=0.08)
    # Single kernels also fit some noise: a little narrower still.
    assert used["KCDiffimStDev_LOCAL"].median() <= used["KCDiffimStDev_SPATIAL"].median()
    assert abs(used["KCDiffimMean_SPATIAL"].median()) < 0.1
    # Against N(0, 1) the narrower residuals give a small but clear KS distance.
    assert 0.0 < used["KCDiffimKSD_SPATIAL"].median() < 0.15
    assert used["KCDiffimKSProb_SPATIAL"].between(0.0, 1.0).all()
    # The residuals are Gaussian in shape: A^2 mostly below its 5 % critical value.
    assert (used["KCDiffimADA2_SPATIAL"] < used["KCDiffimADCrit_SPATIAL"]).mean() > 0.7
    # The matching kernel of Gaussian PSFs is a centred Gaussian of
    # sigma sqrt(sigma_sci^2 - sigma_tmpl^2) = 1.515 px.
    expected_sigma = np.sqrt((5.0 / 2.3548) ** 2 - (3.5 / 2.3548) ** 2)
    assert used["KCKernelStdX_SPATIAL"].median() == pytest.approx(expected_sigma, rel=0.1)
    assert abs(used["KCKernelCentX_SPATIAL"].median()) < 0.05
    assert used["KCDiffimMseKernel_SPATIAL"].median() < 1e-4
    assert len(used["KernelCoeffValues_LOCAL"].iloc[0]) == len(result.psfMatchingKernel.basis.images)
    registered = used["RegisterResidualDistance"].dropna()
    assert len(registered) >= 20 and registered.median() < 0.05  # arcsec, 0.2"/px


def test_candidates_without_stamps_have_empty_statistics(fitted):
    pair, result, _ = fitted
    candidates = pd.DataFrame(result.kernelSources)
    no_stamp = np.isnan(result.localKernelCoefficients).all(axis=1)
    metrics = kernel_candidate_metrics(candidates, result.localKernelCoefficients,
                                       result.psfMatchingKernel, result.backgroundModel,
                                       pair.template, pair.science, fit_background=True)
    if no_stamp.any():
        assert metrics.loc[no_stamp, "KCDiffimMean_LOCAL"].isna().all()
    assert metrics["RegisterResidualDistance"].isna().all()


def test_anderson_darling_matches_scipy():
    from scipy import stats

    from diffim.image_difference.kernel_metrics import _anderson_darling

    values = np.random.default_rng(1).normal(size=400)
    a2, critical = _anderson_darling(values)
    assert a2 == pytest.approx(stats.anderson(values, "norm", method="interpolate").statistic,
                               rel=1e-10)
    assert critical == pytest.approx(0.7506, abs=1e-4)
