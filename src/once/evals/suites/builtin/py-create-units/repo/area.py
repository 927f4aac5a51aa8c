"""Areas of simple shapes, in square meters."""


def rectangle(width_m: float, height_m: float) -> float:
    """Area of a width x height rectangle."""
    return width_m * height_m


def room(walls: list[tuple[float, float]]) -> float:
    """Total area of several rectangular parts of a room."""
    return sum(rectangle(w, h) for w, h in walls)
