import numpy as np
import pytest

from diffim import DEFAULT_MASK_PLANES, Mask, MaskPlaneError


def test_default_planes_in_afw_order():
    mask = Mask.zeros((4, 4))
    assert list(mask.planes)[:9] == ["BAD", "SAT", "INTRP", "CR", "EDGE", "DETECTED",
                                     "DETECTED_NEGATIVE", "SUSPECT", "NO_DATA"]
    for name in DEFAULT_MASK_PLANES:
        assert name in mask.planes
    assert mask.bitmask(["BAD", "SAT"]) == 0b11


def test_set_get_clear_and_runtime_plane():
    mask = Mask.zeros((5, 6))
    where = np.zeros((5, 6), bool)
    where[1, 2] = where[3, 4] = True
    mask.set("SAT", where)
    mask.set("INJECTED", where)  # added at run time, on the lowest free bit
    assert mask.planes.bit("INJECTED") == len(DEFAULT_MASK_PLANES)
    assert mask.count("SAT") == 2
    assert np.array_equal(mask.get(["SAT", "BAD"]), where)
    mask.clear("SAT", where=(slice(0, 2), slice(None)))
    assert mask.count("SAT") == 1
    assert mask.count("INJECTED") == 2


def test_sub_mask_shares_plane_table_and_pixels():
    mask = Mask.zeros((10, 10))
    sub = mask[2:5, 3:7]
    sub.set("NEW_PLANE")
    assert "NEW_PLANE" in mask.planes
    assert mask.count("NEW_PLANE") == 12
    copied = mask.copy()
    copied.set("ONLY_IN_COPY")
    assert "ONLY_IN_COPY" not in mask.planes


def test_errors_name_the_plane():
    mask = Mask.zeros((2, 2))
    with pytest.raises(MaskPlaneError, match="unknown mask plane 'NOPE'"):
        mask.get("NOPE")
    for i in range(32 - len(DEFAULT_MASK_PLANES)):
        mask.add_plane(f"P{i}")
    with pytest.raises(MaskPlaneError, match="all 32 bits"):
        mask.add_plane("ONE_TOO_MANY")
    with pytest.raises(MaskPlaneError, match="fit in 32"):
        Mask(np.array([[-1, 0]]))
