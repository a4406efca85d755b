"""FITS I/O of an LSST-detector-sized exposure (4k x 4k) with a pixel PSF, as a calexp or a
difference image: write and read back (checksums written and verified)."""
import numpy as np
import pytest

from diffim import Exposure
from diffim.io.exposure_fits import read_exposure, write_exposure
from diffim.psf import GaussianPsf, PixelPsf

SIZE = 4096


@pytest.fixture(scope="module")
def detector_exposure():
    rng = np.random.default_rng(0)
    image = rng.normal(0.0, 10.0, (SIZE, SIZE)).astype(np.float32)
    psf = PixelPsf(GaussianPsf(2.0, size=41).computeKernelImage(0.0, 0.0))
    return Exposure(image, np.full((SIZE, SIZE), 100.0, np.float32), psf=psf)


def test_write_4k(benchmark, detector_exposure, tmp_path):
    benchmark.pedantic(write_exposure, args=(detector_exposure, tmp_path / "w.fits"), rounds=3)


def test_read_4k(benchmark, detector_exposure, tmp_path):
    path = tmp_path / "r.fits"
    write_exposure(detector_exposure, path)
    back = benchmark.pedantic(read_exposure, args=(path,), rounds=3)
    assert np.array_equal(back.image, detector_exposure.image)


def test_read_plain_4k(benchmark, detector_exposure, tmp_path):
    """A plain survey image (one float32 primary HDU, no WCS) with its variance image, read
    as `diffim subtract` reads its inputs: without astropy (`diffim.io.simple_fits`)."""
    from astropy.io import fits

    from diffim.io.plain_fits import read_plain_image

    image, variance = tmp_path / "image.fits", tmp_path / "variance.fits"
    fits.PrimaryHDU(detector_exposure.image, header=fits.Header({"GAIN": 1.0})).writeto(image)
    fits.PrimaryHDU(detector_exposure.variance).writeto(variance)
    back = benchmark.pedantic(lambda: read_exposure(image, variance=read_plain_image(variance)),
                              rounds=3)
    assert np.array_equal(back.image, detector_exposure.image)
