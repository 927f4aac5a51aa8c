import math

import pytest

import geometry as g


@pytest.mark.parametrize(
    ("p", "q", "expected"),
    [((0, 0), (3, 4), 5), ((1, 1), (1, 1), 0), ((0, 0, 0), (1, 2, 2), 3), ((1, 2, 3), (4, 6, 15), 13),
     ((-1, -1, -1), (1, 1, 1), math.sqrt(12))],
)
def test_distance(p, q, expected):
    assert g.distance(p, q) == pytest.approx(expected)


def test_distance_mismatched_dimensions():
    with pytest.raises(ValueError):
        g.distance((0, 0), (1, 1, 1))
    with pytest.raises(ValueError):
        g.distance((0, 0, 0), (1, 1))


def test_every_other_function_is_still_there():
    assert g.circle_area(1) == pytest.approx(math.pi)
    assert g.rectangle_area(2, 5) == 10
    assert g.triangle_area((0, 0), (4, 0), (0, 3)) == 6
    assert g.midpoint((0, 0), (2, 4)) == (1, 2)
    assert g.path_length([(0, 0), (3, 4), (3, 0)]) == pytest.approx(9)
    assert g.bounding_box([(1, 5), (-2, 3)]) == (-2, 3, 1, 5)
    assert g.centroid([(0, 0), (2, 0), (1, 3)]) == (1, 1)
    assert g.translate([(1, 1)], 2, -1) == [(3, 0)]
