"""One convolution, either role: the kernel that maps DECam OBS18 onto OBS04 does not depend
on which of the two is called the science image (tests/data/README.md, eighth pass)."""
import numpy as np
import pytest
from conftest import DECAM_DIR

from diffim.io.exposure_fits import read_exposure
from diffim.measure.quality import kernel_source_ratios
from diffim.subtract import AlardLuptonSubtractConfig, AlardLuptonSubtractTask


def convolve_obs18(epoch, obs18_role):
    """Subtract OBS04 and OBS18 of ``epoch``, OBS18 (the sharper) convolved, as ``obs18_role``."""
    obs18 = read_exposure(DECAM_DIR / f"DEC-OBS18{epoch}.mini.fits")
    obs04 = read_exposure(DECAM_DIR / f"DEC-OBS04{epoch}.mini.fits")
    config = AlardLuptonSubtractConfig()
    if obs18_role == "science":
        config.mode = "convolveScience"
        science, template = obs18, obs04
    else:
        science, template = obs04, obs18
    task = AlardLuptonSubtractTask(config=config)
    result = task.run(template, science)
    ratios = kernel_source_ratios(science, result.difference, result.kernelSources,
                                  ["NO_DATA", "BAD", "SAT", "EDGE"])
    kernel = result.psfMatchingKernel.image(127.5, 127.5)
    return task.metadata["kernelSum"], float(np.mean(ratios)), np.abs(kernel).sum() / kernel.sum()


@pytest.mark.parametrize("epoch", ["b", "e"])
def test_the_sharper_image_convolved_subtracts_in_either_role(epoch):
    """As the science image, OBS18b and OBS18e have 6 kernel sources (9-10 detected on the
    sharper image) where as the template they have 4-5 (detected on OBS04): two of the six
    are 12 px apart, and a quadratic kernel through six stars (Akaike's criterion kept it)
    had negative lobes of 0.82 and 0.98 of its positive sum at the image centre, the
    difference keeping 0.51 and 0.67 of the stars' signal (a bad subtraction). Now the
    spatial order is one the stars constrain everywhere (a plane), and both roles give the
    same matching kernel: sums 1.0006 and 1.0039 (b), 1.0647 and 1.0364 (e), residual
    ratios 0.04-0.07."""
    as_science = convolve_obs18(epoch, "science")
    as_template = convolve_obs18(epoch, "template")
    for kernel_sum, ratio, absolute in (as_science, as_template):
        assert ratio < 0.1
        assert absolute < 1.3
    assert as_science[0] == pytest.approx(as_template[0], rel=0.03)


@pytest.mark.parametrize("template_sigmas, science_sigmas, convolve_template", [
    ((1.9,), (2.0,), True),        # the template narrower by 5 %: it is convolved
    ((2.0,), (2.0,), True),        # equal: the stack's convolveTemplate
    ((2.1,), (2.0,), False),       # the template wider by 5 %: the science is convolved
    ((2.1, 1.9), (2.0,), True),    # narrower along one axis: convolving it sharpens none
])
def test_auto_convolves_the_image_with_the_narrower_psf_without_a_margin(
        template_sigmas, science_sigmas, convolve_template):
    """No margin: convolving the wider image is a deconvolution, worse on the pairs measured
    (tests/data/README.md, eighth pass): simulated 1024 px pairs with sky, science FWHM
    3.5 px against templates 5.7-20 % wider, bright-star std 1.00-1.08 with the science
    convolved against 1.05-1.16 with the template; the ten DECam pairs (PSFs 10-60 % apart)
    closer to the noise near their bright stars by the std or its robust value on all ten,
    by both on six, when the narrower is convolved."""
    from diffim.exposure import Exposure
    from diffim.psf import GaussianPsf

    def exposure(sigmas):
        return Exposure(np.zeros((64, 64), np.float32), np.ones((64, 64), np.float32),
                        psf=GaussianPsf(*sigmas))

    task = AlardLuptonSubtractTask(config=AlardLuptonSubtractConfig(mode="auto"))
    assert task._convolve_template(exposure(template_sigmas),
                                   exposure(science_sigmas)) is convolve_template
