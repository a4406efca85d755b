"""The differential background's refit on the whole residual (`diffim.subtract.background`)."""
import numpy as np
import pytest

from diffim.geom import Box
from diffim.psfmatch import SpatialBackground, SpatialFunction
from diffim.subtract import background as background_module
from diffim.subtract.background import refine_background

SIZE = 256
BBOX = Box(10, 20, SIZE, SIZE)
MASK_BIT = 1 << 3


def _plane(coefficients):
    """The true background (float32) and a first guess of its spatial form (all zero)."""
    spatial = SpatialFunction("polynomial", 1, BBOX)
    truth = SpatialBackground(spatial, np.asarray(coefficients, dtype=float))
    return truth.image(BBOX), SpatialBackground(spatial, np.zeros(spatial.n_terms))


def _residual(seed=3):
    """Reference minus matched: a tilted plane (+40 ADU across) plus unit noise."""
    plane, guess = _plane([5.0, 20.0, -15.0])
    noise = np.random.default_rng(seed).normal(size=plane.shape).astype(np.float32)
    return plane, guess, plane + noise


def test_refit_recovers_the_plane():
    plane, guess, reference = _residual()
    matched = np.zeros_like(reference)
    fitted = refine_background(guess, reference, matched, [], BBOX)
    # 64 cells of 1024 pixels: each median to ~0.04 sigma, the plane to ~0.01.
    assert np.abs(fitted.image(BBOX) - plane).max() < 0.05


def test_masked_pixels_are_left_out():
    plane, guess, reference = _residual()
    mask = np.zeros(reference.shape, dtype=np.uint32)
    mask[:, SIZE // 2:] = MASK_BIT
    reference[:, SIZE // 2:] += 1000.0  # a masked half far off the plane
    fitted = refine_background(guess, reference, np.zeros_like(reference),
                               [(mask, MASK_BIT)], BBOX)
    left = np.s_[:, :SIZE // 2]
    assert np.abs(fitted.image(BBOX)[left] - plane[left]).max() < 0.1


def test_large_images_are_read_every_other_row_and_column(monkeypatch):
    """Beyond _MAX_SAMPLES pixels only every step-th row and column is read: the others
    here hold a huge value that would be the median of every cell if they were read."""
    monkeypatch.setattr(background_module, "_MAX_SAMPLES", SIZE * SIZE // 4)
    plane, guess, reference = _residual()
    unread = np.ones(reference.shape, dtype=bool)
    unread[::2, ::2] = False
    reference[unread] = 1e6
    fitted = refine_background(guess, reference, np.zeros_like(reference), [], BBOX)
    # 256 sampled pixels per cell: medians to ~0.08 sigma.
    assert np.abs(fitted.image(BBOX) - plane).max() < 0.1


@pytest.mark.parametrize("pixels, step", [(1, 1), (1 << 22, 1), ((1 << 22) + 1, 2),
                                          (4096 * 4096, 2), (8192 * 8192, 4)])
def test_sampling_step(pixels, step):
    assert background_module._sampling_step(pixels) == step


def test_background_added_in_place_is_the_background_image_added():
    """``add_to`` gives the bits of ``plane + image(bbox)``, and the image is the spatial
    function to float32 precision (a zero coefficient included)."""
    spatial = SpatialFunction("chebyshev1", 2, BBOX)
    background = SpatialBackground(spatial, np.array([3.0, 0.5, 0.0, -1.25, 2.0, 0.75]))
    box = Box(BBOX.x0 + 7, BBOX.y0 + 3, 100, 60)
    image = background.image(box)
    y, x = np.mgrid[box.y0:box.y_end, box.x0:box.x_end]
    assert image.dtype == np.float32
    assert image == pytest.approx(background(x.astype(float), y.astype(float)), abs=1e-5)
    plane = np.random.default_rng(2).normal(size=box.shape).astype(np.float32)
    expected = plane + image
    background.add_to(plane, box)
    assert np.array_equal(plane, expected)
