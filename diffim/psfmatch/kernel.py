"""The solved PSF-matching kernel and differential background.

A `SpatialKernel` is ``K(x, y) = sum_k a_k(x, y) B_k`` with ``a_k`` spatial
functions of parent position; it is evaluable anywhere and round-trips
through one FITS binary table HDU.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._core._planes import add_outer_sum
from ..errors import FitsFormatError
from ..geom import Box
from .basis import KernelBasis
from .spatial import SpatialFunction

__all__ = ["SpatialBackground", "SpatialKernel"]

_EXTNAME = "PSFMATCH_KERNEL"


@dataclass
class SpatialKernel:
    """A spatially varying kernel on a separable basis.

    Parameters
    ----------
    basis : `KernelBasis`
        The basis functions ``B_k``.
    spatial : `SpatialFunction`
        Spatial terms ``F_s(x, y)``.
    coefficients : `numpy.ndarray`
        ``(n_basis, n_terms)``: ``a_k(x, y) = sum_s coefficients[k, s] F_s(x, y)``.
    """

    basis: KernelBasis
    spatial: SpatialFunction
    coefficients: np.ndarray

    @property
    def size(self):
        """Kernel width in pixels (odd)."""
        return self.basis.size

    def basis_coefficients(self, x, y):
        """``a_k`` at one position ``(n_basis,)`` or at arrays of positions ``(n, n_basis)``."""
        values = self.spatial.evaluate(self.coefficients, x, y).T
        return values[0] if np.ndim(x) == 0 else values

    def image(self, x, y):
        """The ``(size, size)`` kernel image at parent position ``(x, y)``."""
        return np.tensordot(self.basis_coefficients(x, y), self.basis.images, axes=1)

    def kernel_sum(self, x, y):
        """Sum of the kernel image at ``(x, y)`` (scalar or array like ``x``)."""
        sums = self.basis.images.sum(axis=(1, 2))
        return self.basis_coefficients(x, y) @ sums

    def pair_coefficients(self):
        """``(n_pairs, n_terms)`` spatial coefficients of each separable pair."""
        return self.basis.transform.T @ self.coefficients

    def sum_squares_form(self):
        """``Q`` with ``sum(K(x, y)**2) = F^T Q F`` (``F`` the spatial terms)."""
        flat = self.basis.images.reshape(len(self.basis), -1)
        gram = flat @ flat.T
        return self.coefficients.T @ gram @ self.coefficients

    def to_hdu(self):
        """A `astropy.io.fits.BinTableHDU` holding the whole kernel."""
        # Imported here: a subtraction that does not persist its kernel never loads astropy.
        from astropy.io import fits

        basis = self.basis
        n_basis, n_pairs = len(basis), len(basis.pairs)
        n_x, n_y = len(basis.x_vectors), len(basis.y_vectors)
        n_rows = max(n_basis, n_pairs, n_x, n_y)
        size = basis.size

        def padded(array, rows):
            array = np.asarray(array)
            out = np.zeros((n_rows,) + array.shape[1:], dtype=array.dtype)
            out[:rows] = array
            return out

        n_terms = self.spatial.n_terms
        columns = [
            fits.Column("IMAGE", f"{size * size}D",
                        array=padded(basis.images.reshape(n_basis, -1), n_basis)),
            fits.Column("COEFF", f"{n_terms}D", array=padded(self.coefficients, n_basis)),
            fits.Column("TRANSFORM", f"{n_pairs}D", array=padded(basis.transform, n_basis)),
            fits.Column("PAIR", "2K", array=padded(basis.pairs.astype(np.int64), n_pairs)),
            fits.Column("XVEC", f"{size}D", array=padded(basis.x_vectors, n_x)),
            fits.Column("YVEC", f"{size}D", array=padded(basis.y_vectors, n_y)),
        ]
        hdu = fits.BinTableHDU.from_columns(columns, name=_EXTNAME)
        domain = self.spatial.domain
        for key, value, comment in (
                ("KSIZE", size, "kernel width [pixels]"),
                ("NBASIS", n_basis, "number of basis functions"),
                ("NPAIRS", n_pairs, "number of separable terms"),
                ("NXVEC", n_x, "number of x vectors"),
                ("NYVEC", n_y, "number of y vectors"),
                ("BASIS", basis.name, "basis set"),
                ("CONSTB0", bool(basis.constant_first_term), "first basis spatially constant"),
                ("SPMODEL", self.spatial.model_type, "spatialModelType"),
                ("SPORDER", self.spatial.order, "spatialKernelOrder"),
                ("DOMX0", domain.x0, "spatial domain x0"),
                ("DOMY0", domain.y0, "spatial domain y0"),
                ("DOMW", domain.width, "spatial domain width"),
                ("DOMH", domain.height, "spatial domain height")):
            hdu.header[key] = (value, comment)
        return hdu

    @classmethod
    def from_hdu(cls, hdu):
        """Rebuild a kernel written by `to_hdu`.

        Raises
        ------
        FitsFormatError
            If the HDU lacks a keyword or column of the format.
        """
        header, data = hdu.header, hdu.data
        try:
            size, n_basis, n_pairs = header["KSIZE"], header["NBASIS"], header["NPAIRS"]
            n_x, n_y = header["NXVEC"], header["NYVEC"]
            basis = KernelBasis(
                images=np.array(data["IMAGE"][:n_basis], dtype=float).reshape(n_basis, size, size),
                x_vectors=np.array(data["XVEC"][:n_x], dtype=float),
                y_vectors=np.array(data["YVEC"][:n_y], dtype=float),
                pairs=np.array(data["PAIR"][:n_pairs], dtype=np.intp).reshape(n_pairs, 2),
                transform=np.array(data["TRANSFORM"][:n_basis], dtype=float).reshape(n_basis, -1),
                constant_first_term=bool(header["CONSTB0"]), name=header["BASIS"])
            spatial = SpatialFunction(header["SPMODEL"], header["SPORDER"],
                                      Box(header["DOMX0"], header["DOMY0"], header["DOMW"],
                                          header["DOMH"]))
            coefficients = np.array(data["COEFF"][:n_basis], dtype=float).reshape(n_basis, -1)
        except (KeyError, ValueError) as error:
            raise FitsFormatError(
                f"HDU {header.get('EXTNAME', '?')!r} is not a PSF-matching kernel: {error}"
            ) from None
        return cls(basis, spatial, coefficients)


@dataclass
class SpatialBackground:
    """A smooth differential background ``sum_s coefficients[s] F_s(x, y)``."""

    spatial: SpatialFunction
    coefficients: np.ndarray

    def __call__(self, x, y):
        """Background at parent positions (scalar or array like ``x``)."""
        values = self.spatial.evaluate(self.coefficients, x, y)
        return float(values[0]) if np.ndim(x) == 0 else values.reshape(np.shape(x))

    def image(self, bbox):
        """The background over a `Box`, as a float32 array of its shape."""
        out = np.empty(bbox.shape, dtype=np.float32)
        self._sum_into(out, bbox, accumulate=False)
        return out

    def add_to(self, plane, bbox):
        """Add the background over a `Box` to ``plane`` (float32, C-contiguous, of its shape)
        in place: ``plane += self.image(bbox)``, the same bits without the background plane."""
        self._sum_into(plane, bbox, accumulate=True)

    def _sum_into(self, out, bbox, accumulate):
        x_offset, x_scale, y_offset, y_scale = self.spatial.scaling
        x_values = self.spatial.one_dimensional((np.arange(bbox.x0, bbox.x_end) - x_offset)
                                                * x_scale)
        y_values = self.spatial.one_dimensional((np.arange(bbox.y0, bbox.y_end) - y_offset)
                                                * y_scale)
        # Terms with a zero coefficient add nothing: skipped.
        terms = [index for index, coefficient in enumerate(self.coefficients) if coefficient != 0]
        powers = self.spatial.powers[terms]
        add_outer_sum(out, np.asarray(self.coefficients[terms], dtype=np.float32),
                      np.ascontiguousarray(y_values[powers[:, 1]]),
                      np.ascontiguousarray(x_values[powers[:, 0]]), accumulate)
