"""Temperature conversions."""


def c_to_f(celsius: float) -> float:
    """Celsius to Fahrenheit, rounded to 2 decimals."""
    return round(celsius * 9 / 5 + 32, 2)


def f_to_c(fahrenheit: float) -> float:
    """Fahrenheit to Celsius, rounded to 2 decimals."""
    return round((fahrenheit - 32) * 5 / 9, 2)
