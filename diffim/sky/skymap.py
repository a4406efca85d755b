"""A sky tessellation into tracts and patches, like the stack's ``DiscreteSkyMap``.

A tract is a TAN projection centred on one of a list of sky positions, with
a pixel frame starting at (0, 0) that holds a whole number of patches. A
patch is a piece of a tract: its inner box tiles the tract without overlap,
its outer box is the inner one grown by ``patchBorder`` (clipped to the
tract), so neighbouring outer boxes overlap by ``2 * patchBorder``. An
exposure of a patch has ``xy0`` at the outer box origin and the tract's WCS.

A point belongs to the tract whose centre is nearest (as in the stack);
tracts extend ``tractOverlap / 2`` beyond their nominal ``radius`` so that
neighbours overlap. The skymap is fully defined by its config, which is
what `SkyMap.to_json` writes.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import lsst.pex.config as pexConfig
import lsst.sphgeom as sphgeom
import numpy as np

from ..errors import DiffimError
from ..geom import Box
from ..io.atomic import write_text
from .matching import unit_vectors
from .refcat import box_sky_polygon, sky_polygon
from .wcs import tan_wcs

__all__ = ["PatchInfo", "SkyMap", "SkyMapConfig", "SkyMapError", "TractInfo",
           "simulated_skymap"]

_FORMAT = "diffim-skymap"
_FORMAT_VERSION = 1


class SkyMapError(DiffimError):
    """A skymap config is invalid, a lookup finds nothing, or a skymap file is malformed."""


class SkyMapConfig(pexConfig.Config):
    """Tract centres and the pixel layout of tracts and patches (stack field names)."""

    raList = pexConfig.ListField(dtype=float, default=[], doc="Tract centre RAs (degrees).")
    decList = pexConfig.ListField(dtype=float, default=[], doc="Tract centre Decs (degrees).")
    radiusList = pexConfig.ListField(
        dtype=float, default=[],
        doc="Tract radii (degrees): each tract's pixel box covers this radius plus "
            "tractOverlap / 2 around its centre.")
    pixelScale = pexConfig.Field(dtype=float, default=0.2, doc="Arcseconds per pixel.")
    patchInnerDimensions = pexConfig.ListField(
        dtype=int, default=[4000, 4000], length=2,
        doc="Width and height of a patch's inner region (pixels).")
    patchBorder = pexConfig.Field(
        dtype=int, default=100, doc="Pixels by which a patch's outer box exceeds its inner one.")
    tractOverlap = pexConfig.Field(
        dtype=float, default=1.0 / 60.0,
        doc="Minimum overlap (degrees) of neighbouring tracts' boxes.")
    rotation = pexConfig.Field(
        dtype=float, default=0.0,
        doc="Rotation (degrees) of every tract's pixel grid from north-up.")

    def validate(self):
        super().validate()
        if not (len(self.raList) == len(self.decList) == len(self.radiusList)):
            raise SkyMapError("SkyMapConfig raList, decList and radiusList must have one entry "
                              "per tract")
        if not self.raList:
            raise SkyMapError("SkyMapConfig needs at least one tract (raList is empty)")
        if any(abs(dec) > 89.0 for dec in self.decList):
            raise SkyMapError("SkyMapConfig decList: tract centres must be within 89 degrees of "
                              "the equator")
        if any(not radius > 0.0 for radius in self.radiusList):
            raise SkyMapError("SkyMapConfig radiusList: radii must be > 0")
        if not self.pixelScale > 0.0:
            raise SkyMapError(f"SkyMapConfig pixelScale must be > 0, got {self.pixelScale}")
        if min(self.patchInnerDimensions) < 1:
            raise SkyMapError("SkyMapConfig patchInnerDimensions must be >= 1")
        if self.patchBorder < 0 or self.tractOverlap < 0.0:
            raise SkyMapError("SkyMapConfig patchBorder and tractOverlap must be >= 0")


@dataclass(frozen=True)
class PatchInfo:
    """One patch of a tract.

    Attributes
    ----------
    tract_id : `int`
    index : `tuple` [`int`, `int`]
        ``(x, y)`` position in the tract's grid of patches.
    sequential_index : `int`
        ``x + y * n_patches_x``, the gen3 ``patch`` value.
    inner_bbox, outer_bbox : `diffim.geom.Box`
        In the tract's pixel frame.
    """

    tract_id: int
    index: tuple
    sequential_index: int
    inner_bbox: Box
    outer_bbox: Box


class TractInfo:
    """One tract: a TAN projection, its pixel box and its grid of patches.

    Parameters
    ----------
    tract_id : `int`
    ra, dec : `float`
        Centre (degrees), the WCS reference point, at the middle of the box.
    radius : `float`
        Nominal radius (degrees) before the overlap margin.
    config : `SkyMapConfig`
    """

    def __init__(self, tract_id, ra, dec, radius, config):
        self.tract_id = int(tract_id)
        self.ra, self.dec, self.radius = float(ra), float(dec), float(radius)
        self.patch_inner_dimensions = tuple(int(n) for n in config.patchInnerDimensions)
        self.patch_border = int(config.patchBorder)
        half_extent = (self.radius + config.tractOverlap / 2.0) * 3600.0 / config.pixelScale
        # A whole number of patches, so that every inner box is full size.
        self.num_patches = tuple(max(1, math.ceil(2.0 * half_extent / size))
                                 for size in self.patch_inner_dimensions)
        self.bbox = Box(0, 0, self.num_patches[0] * self.patch_inner_dimensions[0],
                        self.num_patches[1] * self.patch_inner_dimensions[1])
        self.wcs = tan_wcs(self.ra, self.dec, self.bbox.center, config.pixelScale,
                              config.rotation)

    def __len__(self):
        return self.num_patches[0] * self.num_patches[1]

    def __repr__(self):
        return (f"TractInfo(id={self.tract_id}, centre=({self.ra}, {self.dec}), {self.bbox}, "
                f"{self.num_patches[0]}x{self.num_patches[1]} patches)")

    def patch(self, index):
        """The patch with grid index ``(x, y)`` or sequential index ``n``.

        Raises
        ------
        SkyMapError
            If the index is outside the tract.
        """
        if isinstance(index, (int, np.integer)):
            if not 0 <= index < len(self):
                raise SkyMapError(f"tract {self.tract_id} has no patch {index} "
                                  f"(0..{len(self) - 1})")
            index = (int(index) % self.num_patches[0], int(index) // self.num_patches[0])
        x, y = (int(i) for i in index)
        if not (0 <= x < self.num_patches[0] and 0 <= y < self.num_patches[1]):
            raise SkyMapError(f"tract {self.tract_id} has no patch ({x}, {y}); grid is "
                              f"{self.num_patches[0]}x{self.num_patches[1]}")
        width, height = self.patch_inner_dimensions
        inner = Box(x * width, y * height, width, height)
        outer = inner.grown(self.patch_border).intersection(self.bbox)
        return PatchInfo(self.tract_id, (x, y), x + y * self.num_patches[0], inner, outer)

    def patches(self):
        """Every patch, in sequential order."""
        return [self.patch(n) for n in range(len(self))]

    def find_patch(self, ra, dec):
        """The patch whose inner box holds the sky position.

        Raises
        ------
        SkyMapError
            If the position is outside the tract's box.
        """
        x, y = self.wcs.world_to_pixel_values(ra, dec)
        if not self.bbox.contains_point(float(x), float(y)):
            raise SkyMapError(f"({ra}, {dec}) is outside tract {self.tract_id}")
        width, height = self.patch_inner_dimensions
        return self.patch((int(round(float(x))) // width, int(round(float(y))) // height))

    def outer_sky_polygon(self):
        """`lsst.sphgeom.ConvexPolygon` of the tract's whole pixel box."""
        return box_sky_polygon(self.wcs, self.bbox)

    def inner_sky_region(self):
        """`lsst.sphgeom.Circle` of the nominal radius around the centre."""
        centre = sphgeom.UnitVector3d(sphgeom.LonLat.fromDegrees(self.ra, self.dec))
        return sphgeom.Circle(centre, sphgeom.Angle.fromDegrees(self.radius))

    def patch_sky_polygon(self, patch, outer=True):
        """`lsst.sphgeom.ConvexPolygon` of a patch's outer (or inner) box."""
        return box_sky_polygon(self.wcs, patch.outer_bbox if outer else patch.inner_bbox)


class SkyMap:
    """Tracts around a list of sky positions, each cut into overlapping patches.

    Parameters
    ----------
    config : `SkyMapConfig`
        Validated here; a copy is kept, frozen.

    Raises
    ------
    SkyMapError
        If the config is invalid.
    """

    def __init__(self, config):
        if not isinstance(config, SkyMapConfig):
            raise SkyMapError(f"SkyMap needs a SkyMapConfig, got {type(config).__name__}")
        copied = SkyMapConfig()
        copied.update(**config.toDict())
        copied.validate()
        copied.freeze()
        self.config = copied
        self._tracts = [TractInfo(n, ra, dec, radius, copied) for n, (ra, dec, radius)
                        in enumerate(zip(copied.raList, copied.decList, copied.radiusList))]
        self._centres = unit_vectors([t.ra for t in self._tracts], [t.dec for t in self._tracts])

    def __len__(self):
        return len(self._tracts)

    def __iter__(self):
        return iter(self._tracts)

    def __getitem__(self, tract_id):
        try:
            return self._tracts[int(tract_id)]
        except (IndexError, ValueError, TypeError):
            raise SkyMapError(f"skymap has no tract {tract_id!r} (0..{len(self) - 1})") from None

    def __eq__(self, other):
        return isinstance(other, SkyMap) and self.config.toDict() == other.config.toDict()

    def __repr__(self):
        return f"SkyMap({len(self)} tracts, {sum(len(t) for t in self)} patches)"

    def find_tract(self, ra, dec):
        """The tract whose centre is nearest the sky position (degrees).

        Raises
        ------
        SkyMapError
            If the position falls outside that tract's pixel box.
        """
        nearest = self._tracts[int(np.argmax(self._centres @ unit_vectors(ra, dec)[0]))]
        x, y = nearest.wcs.world_to_pixel_values(ra, dec)
        if not nearest.bbox.contains_point(float(x), float(y)):
            raise SkyMapError(f"({ra}, {dec}) is not covered by the skymap (nearest tract "
                              f"{nearest.tract_id} ends before it)")
        return nearest

    def find_tract_patch_list(self, region):
        """Tracts and patches whose outer boxes overlap a sky region.

        Parameters
        ----------
        region : `lsst.sphgeom.Region` or sequence of ``(ra, dec)``
            A region, or the vertices (degrees) of a convex polygon.

        Returns
        -------
        overlaps : `list` [`tuple` [`TractInfo`, `list` [`PatchInfo`]]]
            Every tract with at least one overlapping patch, by tract id;
            patches in sequential order.
        """
        if not isinstance(region, sphgeom.Region):
            vertices = np.asarray(region, dtype=float)
            if vertices.ndim != 2 or vertices.shape[1] != 2 or len(vertices) < 3:
                raise SkyMapError("find_tract_patch_list needs a sphgeom region or at least "
                                  "three (ra, dec) vertices")
            region = sky_polygon(vertices[:, 0], vertices[:, 1])
        overlaps = []
        for tract in self._tracts:
            if tract.outer_sky_polygon().isDisjointFrom(region):
                continue
            patches = [patch for patch in tract.patches()
                       if not tract.patch_sky_polygon(patch).isDisjointFrom(region)]
            if patches:
                overlaps.append((tract, patches))
        return overlaps

    def to_dict(self):
        """A JSON-ready description: format name, version and the config."""
        return {"format": _FORMAT, "version": _FORMAT_VERSION,
                "config": {name: (list(value) if isinstance(value, (list, tuple)) else value)
                           for name, value in self.config.toDict().items()}}

    def to_json(self):
        """The skymap as deterministic JSON text (sorted keys)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=1)

    @classmethod
    def from_json(cls, text, source="skymap JSON"):
        """Rebuild a skymap from `to_json` text.

        Raises
        ------
        SkyMapError
            If the text is not a skymap description, naming ``source``.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SkyMapError(f"{source}: not JSON ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            raise SkyMapError(f"{source}: not a {_FORMAT} description")
        if data.get("version") != _FORMAT_VERSION:
            raise SkyMapError(f"{source}: unsupported {_FORMAT} version {data.get('version')!r}")
        if not isinstance(data.get("config"), dict):
            raise SkyMapError(f"{source}: no skymap config")
        config = SkyMapConfig()
        for name, value in data["config"].items():
            try:
                setattr(config, name, value)
            except AttributeError:
                raise SkyMapError(f"{source}: unknown skymap config field {name!r}") from None
            except (TypeError, ValueError, pexConfig.FieldValidationError) as exc:
                # pex_config messages run over several lines; the first names the problem.
                first_line = str(exc).splitlines()[0]
                raise SkyMapError(f"{source}: skymap config field {name!r}: {first_line}") \
                    from None
        return cls(config)

    def write(self, path):
        """Write `to_json` to ``path`` atomically."""
        text = self.to_json()
        write_text(path, text)

    @classmethod
    def read(cls, path):
        """Read a skymap written by `write`."""
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as exc:
            raise SkyMapError(f"{path}: cannot read skymap ({exc.strerror})") from None
        return cls.from_json(text, source=str(path))


def simulated_skymap(ra=150.0, dec=2.0, separation=0.1, patch_size=1000, patch_border=50,
                     pixel_scale=0.2):
    """A two-tract skymap for tests, the tracts side by side in RA around ``(ra, dec)``.

    With the defaults each tract is 3 x 3 patches of 1000 px (1100 px outer)
    at 0.2 arcsec, and the tract boundary (equal distance to both centres)
    runs through ``ra``, so a 512 px image at ``(ra, dec)`` straddles two
    tracts.
    """
    half = separation / 2.0 / math.cos(math.radians(dec))
    config = SkyMapConfig()
    config.raList = [ra - half, ra + half]
    config.decList = [dec, dec]
    config.radiusList = [0.6 * separation, 0.6 * separation]
    config.pixelScale = pixel_scale
    config.patchInnerDimensions = [patch_size, patch_size]
    config.patchBorder = patch_border
    config.tractOverlap = 0.2 * separation
    return SkyMap(config)
