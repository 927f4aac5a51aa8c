"""Server settings: defaults overridden by values given on the command line."""

DEFAULTS = {"host": "127.0.0.1", "port": 8080, "debug": False}


def load_settings(overrides):
    """The settings to use: DEFAULTS, with the keys in `overrides` replaced."""
    settings = dict(DEFAULTS)
    settings.update(overrides)
    return settings


def server_address(overrides):
    """'host:port' for the given overrides."""
    settings = load_settings(overrides)
    return f"{settings['host']}:{settings['port']}"
