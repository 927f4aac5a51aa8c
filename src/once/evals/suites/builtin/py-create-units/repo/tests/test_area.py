from area import rectangle, room


def test_rectangle():
    assert rectangle(2, 3) == 6


def test_room():
    assert room([(2, 3), (1, 1)]) == 7
