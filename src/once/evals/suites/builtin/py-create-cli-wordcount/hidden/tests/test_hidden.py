import subprocess
import sys
from pathlib import Path

import wc

ROOT = Path(__file__).resolve().parents[1]


def test_main_prints_counts(tmp_path, capsys):
    sample = tmp_path / "notes.txt"
    sample.write_text("hello world\nsecond line here\n", encoding="utf-8")
    assert wc.main([str(sample)]) == 0
    assert capsys.readouterr().out.strip() == "lines=2 words=5 chars=29"


def test_main_reads_utf8(tmp_path, capsys):
    sample = tmp_path / "cafe.txt"
    sample.write_bytes("café au lait".encode("utf-8"))
    assert wc.main([str(sample)]) == 0
    assert capsys.readouterr().out.strip() == "lines=1 words=3 chars=12"


def test_missing_file(tmp_path, capsys):
    missing = tmp_path / "nope.txt"
    assert wc.main([str(missing)]) == 1
    captured = capsys.readouterr()
    assert f"error: file not found: {missing}" in captured.err
    assert "lines=" not in captured.out


def test_runs_as_a_script(tmp_path):
    sample = tmp_path / "a.txt"
    sample.write_text("x y z\n", encoding="utf-8")
    result = subprocess.run([sys.executable, "wc.py", str(sample)], cwd=ROOT, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "lines=1 words=3 chars=6"
