from readings import average


def test_average():
    assert average([1.0, 2.0, 4.0]) == 2.33
