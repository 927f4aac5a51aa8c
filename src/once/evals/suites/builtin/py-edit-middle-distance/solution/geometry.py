"""Plane geometry helpers for the map viewer. Points are (x, y) tuples."""

import math


def circle_area(radius):
    """Area of a circle."""
    return math.pi * radius**2


def rectangle_area(width, height):
    """Area of a rectangle."""
    return width * height


def triangle_area(a, b, c):
    """Area of the triangle with corners a, b, c (shoelace formula)."""
    return abs((b[0] - a[0]) * (c[1] - a[1]) - (c[0] - a[0]) * (b[1] - a[1])) / 2


def midpoint(p, q):
    """The point halfway between p and q."""
    return ((p[0] + q[0]) / 2, (p[1] + q[1]) / 2)


def distance(p, q):
    """Euclidean distance between two points of the same dimension (2-D or 3-D)."""
    if len(p) != len(q):
        raise ValueError("points must have the same number of coordinates")
    return math.sqrt(sum((b - a) ** 2 for a, b in zip(p, q)))


def path_length(points):
    """Total length of the polyline through `points`."""
    return sum(distance(a, b) for a, b in zip(points, points[1:]))


def bounding_box(points):
    """(min_x, min_y, max_x, max_y) of a non-empty list of points."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    return (min(xs), min(ys), max(xs), max(ys))


def centroid(points):
    """Mean position of a non-empty list of points."""
    n = len(points)
    return (sum(x for x, _ in points) / n, sum(y for _, y in points) / n)


def translate(points, dx, dy):
    """Every point moved by (dx, dy)."""
    return [(x + dx, y + dy) for x, y in points]
