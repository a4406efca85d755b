import numpy as np
import pytest

from diffim import DEFAULT_MASK_PLANES, Mask, MaskPlaneError, MaskPlanes
from diffim.mask import move_bits, plane_moves


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


def test_count_matches_numpy_on_a_whole_and_a_strided_mask():
    rng = np.random.default_rng(7)
    mask = Mask.zeros((61, 47))
    mask.set("SAT", rng.random(mask.shape) < 0.3)
    mask.set("BAD", rng.random(mask.shape) < 0.2)
    sat = (mask.array & mask.bitmask("SAT")) != 0
    assert mask.count("SAT") == np.count_nonzero(sat) > 0
    assert mask[::3, 1::2].count("SAT") == np.count_nonzero(sat[::3, 1::2])
    assert mask.count(["SAT", "BAD"]) == np.count_nonzero(
        mask.array & mask.bitmask(["SAT", "BAD"]))


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


def test_plane_moves_reencode_a_mask_in_another_table():
    source = MaskPlanes({"BAD": 0, "SAT": 1, "CR": 3, "EDGE": 5, "NO_DATA": 8, "FOO": 31})
    target = MaskPlanes({"SAT": 0, "BAD": 1, "NO_DATA": 2, "EDGE": 5})
    array = np.random.default_rng(3).integers(0, 2 ** 32, (20, 30), dtype=np.uint32)
    moves = plane_moves(source, target, exclude=("NO_DATA",))
    # New planes land on the lowest free bits, in the source's bit order.
    assert target.as_dict() == {"SAT": 0, "BAD": 1, "NO_DATA": 2, "CR": 3, "FOO": 4, "EDGE": 5}
    # One move per shift: BAD up 1, SAT down 1, CR and EDGE stay, FOO down 27.
    assert sorted((shift, int(bits)) for shift, bits in moves) == [
        (-27, 1 << 31), (-1, 0b10), (0, 0b101000), (1, 0b1)]
    moved = Mask(move_bits(array, moves), target)
    for name in ("BAD", "SAT", "CR", "EDGE", "FOO"):
        assert np.array_equal(moved.get(name), Mask(array, source).get(name))
    assert not moved.get("NO_DATA").any()
    assert not (moved.array >> 6).any()  # bits no plane names are not carried


def test_unmasked_pixels_are_those_without_the_planes():
    mask = Mask.zeros((16, 16))
    bad = np.zeros(mask.shape, bool)
    bad[3:5, 7] = True
    mask.set("BAD", bad)
    mask.set("SAT", np.eye(16, dtype=bool))
    usable = mask.unmasked(["BAD", "SAT", "NOT_A_PLANE"])
    np.testing.assert_array_equal(usable, ~bad & ~np.eye(16, dtype=bool))
    np.testing.assert_array_equal(mask.unmasked("BAD"), ~bad)
    assert mask.unmasked(["NOT_A_PLANE"]).all() and mask.unmasked([]).all()
