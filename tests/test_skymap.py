"""Tests of `diffim.sky.skymap`: tracts, patches, lookups and persistence."""
import json

import numpy as np
import pytest

from diffim.geom import Box
from diffim.sky.refcat import sky_circle, sky_polygon
from diffim.sky.skymap import SkyMap, SkyMapConfig, SkyMapError, simulated_skymap


@pytest.fixture(scope="module")
def skymap():
    return simulated_skymap()


def patch_centre_sky(tract, index):
    patch = tract.patch(index)
    return tract.wcs.pixel_to_world_values(*patch.inner_bbox.center)


def test_simulated_skymap_layout(skymap):
    assert len(skymap) == 2
    for tract in skymap:
        assert tract.num_patches == (3, 3)
        assert tract.bbox == Box(0, 0, 3000, 3000)
        ra, dec = tract.wcs.pixel_to_world_values(*tract.bbox.center)
        assert (ra, dec) == pytest.approx((tract.ra, tract.dec), abs=1e-10)
    # Neighbouring tracts overlap, and the boundary between them is ra = 150.
    assert skymap.find_tract(149.999, 2.0).tract_id == 0
    assert skymap.find_tract(150.001, 2.0).tract_id == 1
    assert not skymap[0].outer_sky_polygon().isDisjointFrom(skymap[1].outer_sky_polygon())


def test_patches_tile_inner_and_overlap_by_twice_the_border(skymap):
    tract = skymap[0]
    border = skymap.config.patchBorder
    covered = np.zeros(tract.bbox.shape, dtype=int)
    for patch in tract.patches():
        covered[patch.inner_bbox.slices_in(tract.bbox)] += 1
        assert tract.bbox.contains(patch.outer_bbox)
        assert patch.outer_bbox.contains(patch.inner_bbox)
    assert np.all(covered == 1)
    left, right = tract.patch((0, 1)), tract.patch((1, 1))
    overlap = left.outer_bbox.intersection(right.outer_bbox)
    assert overlap.width == 2 * border
    assert overlap.height == right.outer_bbox.height
    below, above = tract.patch((1, 0)), tract.patch((1, 1))
    assert below.outer_bbox.intersection(above.outer_bbox).height == 2 * border
    # Middle patch: inner grown by the border on every side.
    assert tract.patch((1, 1)).outer_bbox == tract.patch((1, 1)).inner_bbox.grown(border)


def test_patch_indices(skymap):
    tract = skymap[1]
    patch = tract.patch((2, 1))
    assert patch.sequential_index == 5
    assert tract.patch(5) == patch
    assert patch.tract_id == 1
    assert [p.sequential_index for p in tract.patches()] == list(range(9))
    with pytest.raises(SkyMapError, match=r"tract 1 has no patch \(3, 0\)"):
        tract.patch((3, 0))
    with pytest.raises(SkyMapError, match="tract 1 has no patch 9"):
        tract.patch(9)


def test_points_find_their_tract_and_patch(skymap):
    for tract in skymap:
        for patch in tract.patches():
            ra, dec = patch_centre_sky(tract, patch.index)
            found = skymap.find_tract(ra, dec)
            if found.tract_id == tract.tract_id:
                assert found.find_patch(ra, dec) == patch
    ra, dec = 150.01, 2.0
    tract = skymap.find_tract(ra, dec)
    patch = tract.find_patch(ra, dec)
    x, y = tract.wcs.world_to_pixel_values(ra, dec)
    assert patch.inner_bbox.contains_point(float(x), float(y))
    with pytest.raises(SkyMapError, match=r"\(151.0, 2.0\) is not covered by the skymap"):
        skymap.find_tract(151.0, 2.0)


def _square(ra, dec, half):
    return [(ra - half, dec - half), (ra + half, dec - half), (ra + half, dec + half),
            (ra - half, dec + half)]


def test_small_polygon_inside_one_patch(skymap):
    tract = skymap[0]
    ra, dec = patch_centre_sky(tract, (1, 1))
    found = skymap.find_tract_patch_list(_square(ra, dec, 0.001))
    assert [(t.tract_id, [p.index for p in patches]) for t, patches in found] == [(0, [(1, 1)])]


def test_polygon_straddling_two_patches(skymap):
    tract = skymap[0]
    # On the boundary between inner boxes (2, 0) and (2, 1), on the west side
    # of tract 0, away from tract 1 and from other patches.
    ra, dec = tract.wcs.pixel_to_world_values(2700.0, 999.5)
    found = skymap.find_tract_patch_list(_square(float(ra), float(dec), 0.002))
    assert [(t.tract_id, [p.index for p in patches]) for t, patches in found] == [
        (0, [(2, 0), (2, 1)])]


def test_polygon_straddling_two_tracts(skymap):
    # A 512 px detector at (150, 2) sits across the tract boundary.
    found = skymap.find_tract_patch_list(sky_polygon(*np.transpose(_square(150.0, 2.0, 0.014))))
    summary = [(t.tract_id, [p.index for p in patches]) for t, patches in found]
    # 0.014 deg = 252 px either side of x = 600 (tract 0) and x = 2400 (tract 1):
    # east (larger RA) is towards -x.
    assert summary == [(0, [(0, 1)]), (1, [(2, 1)])]
    for tract, patches in found:
        assert patches[0] == tract.find_patch(150.0, 2.0)


def test_circle_region_and_patch_polygons(skymap):
    tract = skymap[1]
    ra, dec = patch_centre_sky(tract, (1, 1))
    found = skymap.find_tract_patch_list(sky_circle(ra, dec, 0.07))
    tract_ids = [t.tract_id for t, _ in found]
    assert 1 in tract_ids
    patches = dict((t.tract_id, [p.index for p in ps]) for t, ps in found)[1]
    assert len(patches) == 9
    outer = tract.patch_sky_polygon(tract.patch((1, 1)))
    inner = tract.patch_sky_polygon(tract.patch((1, 1)), outer=False)
    assert outer.contains(inner)


def test_json_round_trip(tmp_path, skymap):
    text = skymap.to_json()
    assert SkyMap.from_json(text) == skymap
    assert SkyMap.from_json(text).to_json() == text
    assert simulated_skymap().to_json() == text
    path = tmp_path / "skymap.json"
    skymap.write(path)
    again = SkyMap.read(path)
    assert again == skymap
    for tract, other in zip(skymap, again):
        assert tract.bbox == other.bbox
        assert tract.wcs.to_header_string() == other.wcs.to_header_string()
        assert tract.patches() == other.patches()


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(SkyMapError, match="one entry per tract"):
        config = SkyMapConfig()
        config.raList, config.decList, config.radiusList = [1.0], [2.0, 3.0], [0.1]
        SkyMap(config)
    with pytest.raises(SkyMapError, match="raList is empty"):
        SkyMap(SkyMapConfig())
    with pytest.raises(SkyMapError, match="not a diffim-skymap"):
        SkyMap.from_json('{"format": "other"}')
    description = simulated_skymap().to_dict()
    description["config"]["patchSize"] = 7
    with pytest.raises(SkyMapError, match="unknown skymap config field 'patchSize'"):
        SkyMap.from_json(json.dumps(description))
    description["config"].pop("patchSize")
    description["config"]["patchBorder"] = "wide"
    with pytest.raises(SkyMapError, match="skymap config field 'patchBorder'") as error:
        SkyMap.from_json(json.dumps(description))
    assert "\n" not in str(error.value)
    bad = tmp_path / "bad.json"
    bad.write_text("{ truncated")
    with pytest.raises(SkyMapError, match="bad.json: not JSON"):
        SkyMap.read(bad)
    with pytest.raises(SkyMapError, match="cannot read skymap"):
        SkyMap.read(tmp_path / "missing.json")
    with pytest.raises(SkyMapError, match="skymap has no tract 5"):
        simulated_skymap()[5]
