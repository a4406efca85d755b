import pytest

from diffim import Box, GeometryError


def test_box_edges_and_center():
    box = Box(10, 20, 5, 4)
    assert (box.x_end, box.y_end) == (15, 24)
    assert box.shape == (4, 5)
    assert box.center == (12.0, 21.5)
    assert Box.from_corners(10, 20, 14, 23) == box


def test_intersection_union_and_slices():
    parent = Box(100, 200, 50, 40)
    child = Box(110, 205, 10, 5)
    rows, cols = child.slices_in(parent)
    assert (rows.start, rows.stop, cols.start, cols.stop) == (5, 10, 10, 20)
    assert parent.intersection(Box(140, 230, 100, 100)) == Box(140, 230, 10, 10)
    assert parent.intersection(Box(0, 0, 10, 10)).is_empty()
    assert parent.union(Box(90, 250, 5, 5)) == Box(90, 200, 60, 55)
    assert parent.grown(2) == Box(98, 198, 54, 44)


def test_bad_boxes_raise():
    with pytest.raises(GeometryError, match="size must be >= 0"):
        Box(0, 0, -1, 3)
    with pytest.raises(GeometryError, match="not contained"):
        Box(0, 0, 10, 10).slices_in(Box(1, 1, 10, 10))
    with pytest.raises(GeometryError, match="integer"):
        Box(0.5, 0, 1, 1)
