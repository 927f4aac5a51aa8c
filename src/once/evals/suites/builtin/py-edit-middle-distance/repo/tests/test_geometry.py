import geometry


def test_distance_2d():
    assert geometry.distance((0, 0), (3, 4)) == 5


def test_bounding_box():
    assert geometry.bounding_box([(1, 5), (-2, 3), (4, 0)]) == (-2, 0, 4, 5)
