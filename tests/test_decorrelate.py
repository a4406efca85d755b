import numpy as np
import pytest
import scipy.fft
import scipy.signal

from diffim._core import _planes
from diffim.errors import DiffimError
from diffim.psf import GaussianPsf
from diffim.subtract.decorrelate import correction_spectrum, decorrelate, mean_variance

SIZE = 256


def periodic_convolve(image, kernel):
    padded = np.zeros_like(image)
    half = kernel.shape[0] // 2
    padded[:kernel.shape[0], :kernel.shape[1]] = kernel
    padded = np.roll(padded, (-half, -half), axis=(0, 1))
    return scipy.fft.irfft2(scipy.fft.rfft2(image) * scipy.fft.rfft2(padded), s=image.shape)


def neighbour_correlation(image):
    centred = image - image.mean()
    return float((centred[:, 1:] * centred[:, :-1]).mean() / centred.var())


def matching_kernel(science_sigma=3.3, template_sigma=2.2):
    sigma = np.sqrt(science_sigma ** 2 - template_sigma ** 2)
    return GaussianPsf(sigma, size=31).computeKernelImage(0, 0)


@pytest.mark.parametrize("science_variance, template_variance", [(1.0, 1.0), (1.0, 100.0)])
def test_decorrelation_whitens_the_difference(science_variance, template_variance):
    rng = np.random.default_rng(4)
    kernel = matching_kernel()
    science = rng.normal(0.0, np.sqrt(science_variance), (SIZE, SIZE))
    template = rng.normal(0.0, np.sqrt(template_variance), (SIZE, SIZE))
    difference = science - periodic_convolve(template, kernel)
    plane = np.full((SIZE, SIZE), science_variance + template_variance * (kernel ** 2).sum())
    before = neighbour_correlation(difference)

    result = decorrelate(difference, plane, kernel, science_variance, template_variance)

    expected = science_variance + template_variance
    assert result.image.var() == pytest.approx(expected, rel=0.05)
    assert result.variance.mean() == pytest.approx(expected, rel=0.02)
    after = neighbour_correlation(result.image)
    assert abs(after) < 0.1
    if template_variance > science_variance:
        assert before > 0.5  # the test is not trivially passing


def test_correction_is_one_without_template_noise_and_sharpens_otherwise():
    kernel = matching_kernel()
    assert np.allclose(correction_spectrum(kernel, 1.0, 0.0, (64, 64)), 1.0)
    identity = decorrelate(np.zeros((128, 128)), np.ones((128, 128)), kernel, 1.0, 0.0)
    centre = identity.correction_kernel.shape[0] // 2
    assert identity.correction_kernel[centre, centre] == pytest.approx(1.0)
    correction = decorrelate(np.zeros((128, 128)), np.ones((128, 128)), kernel, 1.0, 100.0)
    assert correction.correction_kernel.sum() == pytest.approx(1.0)
    # Applied to a PSF, the correction sharpens it: it undoes the smoothing that
    # template noise leaves in the difference.
    psf = GaussianPsf(3.3, size=31).computeKernelImage(0, 0)
    corrected = scipy.signal.fftconvolve(psf, correction.correction_kernel, mode="same")
    assert corrected.sum() == pytest.approx(1.0, rel=1e-3)
    assert corrected.max() > psf.max()


def test_bad_inputs_raise():
    kernel = matching_kernel()
    with pytest.raises(DiffimError, match="positive variances"):
        correction_spectrum(kernel, 0.0, 1.0, (64, 64))
    bad = np.zeros((64, 64))
    bad[3, 3] = np.nan
    with pytest.raises(DiffimError, match="non-finite"):
        decorrelate(bad, np.ones((64, 64)), kernel, 1.0, 1.0)
    with pytest.raises(DiffimError, match="no unmasked pixel"):
        mean_variance(np.ones((4, 4)), np.zeros((4, 4), bool))


@pytest.mark.parametrize("shape", [(96, 130), (128, 128)])
def test_in_place_decorrelation_gives_the_same_bits(shape):
    rng = np.random.default_rng(7)
    kernel = matching_kernel()
    difference = rng.normal(size=shape).astype(np.float32)
    variance = np.full(shape, 2.0, np.float32)
    new = decorrelate(difference, variance, kernel, 1.0, 1.5)
    # scipy's own irfft2 of the same spectrum, for reference bits
    phi = correction_spectrum(kernel, 1.0, 1.5, shape)
    expected = scipy.fft.irfft2(scipy.fft.rfft2(difference) * phi, s=shape)
    assert np.array_equal(new.image, expected)
    image, plane = difference.copy(), variance.copy()
    in_place = decorrelate(image, plane, kernel, 1.0, 1.5, overwrite=True)
    assert in_place.image is image and in_place.variance is plane
    assert np.array_equal(image, new.image) and np.array_equal(plane, new.variance)
    assert np.array_equal(in_place.correction_kernel, new.correction_kernel)


@pytest.mark.parametrize("max_samples", [1, 7, 10 ** 6])
def test_variance_samples_are_every_step_th_good_pixel(max_samples):
    rng = np.random.default_rng(3)
    variance = rng.uniform(1.0, 2.0, size=(257, 129)).astype(np.float32)
    good = rng.random(variance.shape) < 0.7
    values = variance[good]
    expected = values[::max(1, values.size // max_samples)]
    sampled = _planes.strided_good_values(variance, good.view(np.uint8), max_samples)
    np.testing.assert_array_equal(sampled, expected)
