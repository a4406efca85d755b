"""Kernel images on a grid of detector positions, interpolated bilinearly."""
from __future__ import annotations

import numpy as np

from ..errors import PsfError
from .base import check_position
from .pixel import PixelModelPsf, check_kernel_image

__all__ = ["InterpolatedPsf"]


def _check_nodes(nodes, name, count):
    nodes = np.array(nodes, dtype=np.float64).reshape(-1)
    if len(nodes) != count:
        raise PsfError(f"InterpolatedPsf needs {count} {name}, got {len(nodes)}")
    if not np.all(np.isfinite(nodes)) or np.any(np.diff(nodes) <= 0.0):
        raise PsfError(f"InterpolatedPsf {name} must be finite and strictly increasing")
    nodes.flags.writeable = False
    return nodes


def _bilinear_terms(nodes, value):
    """``[(index, weight), ...]`` interpolating at ``value``, clamped to the end nodes."""
    if len(nodes) == 1:
        return [(0, 1.0)]
    # Python's min/max: np.clip on a scalar costs ~10 us, and a catalogue asks thousands of times.
    index = min(max(int(np.searchsorted(nodes, value, side="right")) - 1, 0), len(nodes) - 2)
    fraction = min(max(float((value - nodes[index]) / (nodes[index + 1] - nodes[index])), 0.0), 1.0)
    return [(index, 1.0 - fraction), (index + 1, fraction)]


class InterpolatedPsf(PixelModelPsf):
    """Kernel images sampled at grid nodes, interpolated bilinearly between them.

    Parameters
    ----------
    kernel_images : array-like
        Shape ``(len(y_nodes), len(x_nodes), size, size)``: the kernel image
        at ``(x_nodes[i], y_nodes[j])`` is ``kernel_images[j, i]``. Each must
        be a valid PSF image (see `PixelPsf`); they are kept as given and
        normalised to sum 1 before interpolating.
    x_nodes, y_nodes : array-like
        Strictly increasing parent coordinates of the grid columns and rows.

    Notes
    -----
    Outside the grid the nearest edge value is used (clamped, no
    extrapolation). The interpolated image is renormalised to sum 1.

    Raises
    ------
    PsfError
        If the shapes disagree, a node list is not strictly increasing, or an
        image is not a usable PSF image.
    """

    def __init__(self, kernel_images, x_nodes, y_nodes):
        super().__init__()
        try:
            images = np.array(kernel_images, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise PsfError("InterpolatedPsf kernel_images must be a numeric 4-D array") from exc
        if images.ndim != 4:
            raise PsfError(f"InterpolatedPsf kernel_images must be 4-D (ny, nx, size, size), "
                           f"got shape {images.shape}")
        n_y, n_x = images.shape[:2]
        self.x_nodes = _check_nodes(x_nodes, "x_nodes", n_x)
        self.y_nodes = _check_nodes(y_nodes, "y_nodes", n_y)
        for j in range(n_y):
            for i in range(n_x):
                check_kernel_image(images[j, i], f"kernel_images[{j}, {i}]")
        images.flags.writeable = False
        self.kernel_images = images
        self.size = images.shape[2]
        self._unit_images = images / images.sum(axis=(2, 3), keepdims=True)

    @classmethod
    def from_model(cls, model_at, bbox, n_x, n_y):
        """Sample a PSF model on an ``n_x`` by ``n_y`` grid over ``bbox``.

        Parameters
        ----------
        model_at : callable
            ``model_at(x, y)`` returns a `Psf` valid at parent ``(x, y)``, e.g.
            ``VaryingPsf.at`` or ``lambda x, y: psf``.
        bbox : `diffim.geom.Box`
            Region to cover; nodes run from its first to its last pixel
            centre (a single node sits at the centre).
        n_x, n_y : `int`
            Nodes per axis (>= 1).

        Returns
        -------
        psf : `InterpolatedPsf`
            Kernel images of differing sizes are zero-padded to the largest.
        """
        if int(n_x) != n_x or int(n_y) != n_y or n_x < 1 or n_y < 1:
            raise PsfError(f"InterpolatedPsf.from_model needs n_x, n_y >= 1, got {n_x}, {n_y}")
        if bbox.is_empty():
            raise PsfError(f"InterpolatedPsf.from_model got an empty bbox {bbox}")
        x_nodes = (np.linspace(bbox.x0, bbox.x_end - 1, int(n_x)) if n_x > 1
                   else np.array([bbox.center[0]]))
        y_nodes = (np.linspace(bbox.y0, bbox.y_end - 1, int(n_y)) if n_y > 1
                   else np.array([bbox.center[1]]))
        samples = [[model_at(x, y).computeKernelImage(x, y) for x in x_nodes] for y in y_nodes]
        size = max(image.shape[0] for row in samples for image in row)
        images = np.zeros((len(y_nodes), len(x_nodes), size, size))
        for j, row in enumerate(samples):
            for i, image in enumerate(row):
                border = (size - image.shape[0]) // 2
                images[j, i, border:size - border, border:size - border] = image
        return cls(images, x_nodes, y_nodes)

    def computeKernelImage(self, x, y):
        x, y = check_position(x, y)
        image = np.zeros((self.size, self.size))
        for j, weight_y in _bilinear_terms(self.y_nodes, y):
            for i, weight_x in _bilinear_terms(self.x_nodes, x):
                if weight_x * weight_y != 0.0:
                    image += weight_x * weight_y * self._unit_images[j, i]
        return image / image.sum()

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        return (np.array_equal(self.x_nodes, other.x_nodes)
                and np.array_equal(self.y_nodes, other.y_nodes)
                and np.array_equal(self.kernel_images, other.kernel_images))

    def __repr__(self):
        return (f"InterpolatedPsf(<{len(self.y_nodes)}x{len(self.x_nodes)} nodes over "
                f"x [{self.x_nodes[0]:g}, {self.x_nodes[-1]:g}], "
                f"y [{self.y_nodes[0]:g}, {self.y_nodes[-1]:g}], size {self.size}>)")
