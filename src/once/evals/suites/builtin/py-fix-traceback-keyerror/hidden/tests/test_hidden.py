import subprocess
import sys
from pathlib import Path

import settings

ROOT = Path(__file__).resolve().parents[1]


def test_missing_keys_fall_back_to_defaults():
    assert settings.server_address({"host": "0.0.0.0"}) == "0.0.0.0:8080"
    assert settings.server_address({}) == "127.0.0.1:8080"


def test_overrides_win():
    assert settings.load_settings({"port": 9000, "debug": True}) == {"host": "127.0.0.1", "port": 9000, "debug": True}


def test_defaults_are_not_modified():
    settings.load_settings({"host": "changed", "port": 1})
    assert settings.DEFAULTS == {"host": "127.0.0.1", "port": 8080, "debug": False}


def test_command_from_the_report():
    result = subprocess.run([sys.executable, "app.py", "host=0.0.0.0"], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0.0.0.0:8080"
