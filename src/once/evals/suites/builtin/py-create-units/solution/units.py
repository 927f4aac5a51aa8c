"""Length conversions."""

METERS = {"mm": 0.001, "cm": 0.01, "m": 1.0, "km": 1000.0, "in": 0.0254, "ft": 0.3048}


def to_meters(value: float, unit: str) -> float:
    """`value` in `unit`, converted to meters."""
    if unit not in METERS:
        raise ValueError(f"unknown unit: {unit}")
    return value * METERS[unit]


def convert(value: float, from_unit: str, to_unit: str) -> float:
    """`value` in `from_unit`, converted to `to_unit`."""
    if to_unit not in METERS:
        raise ValueError(f"unknown unit: {to_unit}")
    return to_meters(value, from_unit) / METERS[to_unit]
