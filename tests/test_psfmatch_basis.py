"""The Alard-Lupton and delta-function bases, their separable forms and sizes."""
import numpy as np
import pytest

from diffim.psfmatch import (PsfMatchConfig, PsfMatchConfigError, alard_lupton_widths,
                             make_alard_lupton_basis, make_basis, make_delta_function_basis,
                             regularization_matrix)
from diffim.psfmatch.basis import FWHM_PER_SIGMA, SUPPORT_TOLERANCE


@pytest.fixture(scope="module")
def basis():
    return make_alard_lupton_basis(21, [0.7, 1.5, 3.0], [4, 2, 2])


def test_alard_lupton_has_27_renormalised_bases(basis):
    assert len(basis) == 27 and basis.size == 21
    sums = basis.images.sum(axis=(1, 2))
    assert sums[0] == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(sums[1:], 0.0, atol=1e-12)
    norms = np.sqrt((basis.images[1:] ** 2).sum(axis=(1, 2)))
    np.testing.assert_allclose(norms, 1.0, rtol=1e-12)
    assert basis.constant_first_term


def test_first_basis_is_the_narrowest_gaussian(basis):
    """Within its support: exp(-0.5 (3 / 0.7)^2) = 1.0e-4 is kept, (4 / 0.7) = 8e-8 is not."""
    offsets = np.arange(-10, 11)
    gaussian = np.exp(-0.5 * (offsets / 0.7) ** 2) * (np.abs(offsets) <= 3)
    expected = np.outer(gaussian, gaussian)
    np.testing.assert_allclose(basis.images[0], expected / expected.sum(), atol=1e-15)


def test_vectors_are_trimmed_to_their_own_support():
    """Taps below SUPPORT_TOLERANCE of a vector's peak are zero: a narrow Gaussian
    of a wide kernel spans a few sigma, the widest the whole kernel; what is
    dropped is below 1e-5 of each vector's L1 norm."""
    basis = make_alard_lupton_basis(35, [0.76, 1.5, 3.0, 6.1], [4, 2, 2, 0])
    offsets = np.arange(-17, 18)
    widths = [np.count_nonzero(vector) for vector in basis.x_vectors]
    assert widths[0] == 7 and widths[5] == 15 and widths[-1] == 35
    for vector, sigma, power in zip(basis.x_vectors, [0.76] * 5 + [1.5] * 3 + [3.0] * 3 + [6.1],
                                    [0, 1, 2, 3, 4, 0, 1, 2, 0, 1, 2, 0]):
        full = np.exp(-0.5 * (offsets / sigma) ** 2) * (offsets / 17) ** power
        kept = vector != 0
        np.testing.assert_array_equal(vector[kept], full[kept])
        assert np.abs(full[~kept]).max(initial=0) < SUPPORT_TOLERANCE * np.abs(full).max()
        assert np.abs(full[~kept]).sum() < 1e-5 * np.abs(full).sum()


def test_separable_terms_reproduce_the_images(basis):
    rebuilt = np.tensordot(basis.transform, basis.pair_images(), axes=1)
    np.testing.assert_allclose(rebuilt, basis.images, rtol=0, atol=1e-12)
    assert len(basis.pairs) == 27
    # Each basis is one raw separable term plus a multiple of B0.
    assert (np.count_nonzero(basis.transform, axis=1) <= 2).all()


def test_delta_function_basis():
    delta = make_delta_function_basis(5)
    assert len(delta) == 25 and not delta.constant_first_term
    assert delta.images[7][1, 2] == 1.0 and delta.images[7].sum() == 1.0
    np.testing.assert_array_equal(np.tensordot(delta.transform, delta.pair_images(), axes=1),
                                  delta.images)


@pytest.mark.parametrize("kind", ["centralDifference", "forwardDifference"])
def test_regularization_matrix_is_symmetric_and_kills_nothing_smooth_inside(kind):
    matrix = regularization_matrix(7, PsfMatchConfig(regularizationType=kind))
    assert matrix.shape == (49, 49)
    np.testing.assert_allclose(matrix, matrix.T)
    assert np.linalg.eigvalsh(matrix).min() > -1e-10
    smooth = np.zeros((7, 7))
    smooth[2:5, 2:5] = 1.0
    rough = smooth.copy()
    rough[3, 3] = -1.0
    assert rough.ravel() @ matrix @ rough.ravel() > smooth.ravel() @ matrix @ smooth.ravel()


def test_widths_default_when_psfs_unknown():
    assert alard_lupton_widths(None, 3.0) == ([0.7, 1.5, 3.0], 21)


def test_widths_from_fwhm_convolution():
    template_sigma, science_sigma = 1.5, 2.5
    sigmas, size = alard_lupton_widths(template_sigma * FWHM_PER_SIGMA,
                                       science_sigma * FWHM_PER_SIGMA)
    kernel_sigma = np.sqrt(science_sigma**2 - template_sigma**2)    # 2.0
    np.testing.assert_allclose(sigmas, [kernel_sigma / 2, kernel_sigma, 2 * kernel_sigma])
    assert size == 25          # int(6 * 4.0) = 24, made odd


def test_widths_floor_and_clamp():
    # Nearly equal PSFs: kernel width floored at alardMinSig, size clamped to 21.
    sigmas, size = alard_lupton_widths(3.0, 3.01)
    np.testing.assert_allclose(sigmas, [0.7, 1.4, 2.8])
    assert size == 21
    # A very wide kernel is clamped at kernelSizeMax.
    assert alard_lupton_widths(2.0, 30.0)[1] == 35


def test_widths_follow_the_config():
    config = PsfMatchConfig(alardNGauss=2, alardSigGauss=[1.0, 2.0], alardDegGauss=[2, 2],
                            alardGaussBeta=2.5, kernelSizeFwhmScaling=4.0, kernelSizeMin=11)
    template_sigma, science_sigma = 1.5, 2.5
    sigmas, size = alard_lupton_widths(template_sigma * FWHM_PER_SIGMA,
                                       science_sigma * FWHM_PER_SIGMA, config)
    np.testing.assert_allclose(sigmas, [0.8, 2.0])
    assert size == 11          # int(4 * 2.0) = 8, made odd (9), raised to kernelSizeMin
    assert alard_lupton_widths(2.0, 3.0, config.replace(scaleByFwhm=False)) == ([1.0, 2.0], 21)


def test_widths_bounded_by_the_image():
    """With the task's basis (four Gaussians, a kernel of 4 sigmas of the widest): on
    images smaller than 12 kernels the kernel is the largest odd size within 1/12 of
    the shorter side, at least kernelSizeMin, and Gaussians it cuts inside 4 sigmas
    are left out; explicit sizes (no FWHMs) are not bounded."""
    from diffim.psfmatch.make_kernel import MakeKernelConfig, to_psf_match_config

    config = to_psf_match_config(MakeKernelConfig().kernel.active)
    fwhms = (1.5 * FWHM_PER_SIGMA, 2.5 * FWHM_PER_SIGMA)         # kernel sigma 2.0
    assert alard_lupton_widths(*fwhms, config) == ([1.0, 2.0, 4.0, 8.0], 33)
    assert alard_lupton_widths(*fwhms, config, 1024) == ([1.0, 2.0, 4.0, 8.0], 33)
    assert alard_lupton_widths(*fwhms, config, 384) == ([1.0, 2.0, 4.0], 31)
    assert alard_lupton_widths(*fwhms, config, 256) == ([1.0, 2.0, 4.0], 21)
    assert alard_lupton_widths(*fwhms, config, 63) == ([1.0, 2.0, 4.0], 21)
    assert alard_lupton_widths(None, 3.0, config, 63) == (config.alardSigGauss, 21)
    basis = make_basis(config, *fwhms, image_size=256)
    assert (basis.size, len(basis)) == (21, 27)
    assert len(make_basis(config, *fwhms, image_size=1024)) == 28


def test_pex_config_fields_take_default_and_doc_from_the_dataclass():
    from dataclasses import fields

    from diffim.psfmatch.make_kernel import PsfMatchConfigAL

    for field in fields(PsfMatchConfig):
        pex_field = PsfMatchConfigAL._fields[field.name]
        assert pex_field.doc == field.metadata["doc"]
        if field.name != "kernelBasisSet":
            assert pex_field.default == getattr(PsfMatchConfig(), field.name), field.name


def test_widths_deconvolution_uses_deconvolution_floor():
    sigmas, _ = alard_lupton_widths(3.0, 2.99)
    assert sigmas[0] == pytest.approx(0.4)


def test_even_kernel_size_is_refused():
    with pytest.raises(PsfMatchConfigError, match="odd"):
        make_alard_lupton_basis(20, [1.0], [2])
