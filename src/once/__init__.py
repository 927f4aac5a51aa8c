"""once: a terminal coding agent that learns, so a mistake happens once."""

__version__ = "0.1.0"
