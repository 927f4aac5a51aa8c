import subprocess
import sys
from pathlib import Path

from scores import report, summary_line

ROOT = Path(__file__).resolve().parents[1]


def test_summary_line_from_the_report():
    assert report([("ana", [90, 85, 77])]) == "ana: 90, 85, 77 (avg 84.0)"


def test_several_rows_and_floats():
    rows = [("ana", [90, 85, 77]), ("ben", [60, 70]), ("cy", [7.5, 8])]
    assert report(rows) == "ana: 90, 85, 77 (avg 84.0)\nben: 60, 70 (avg 65.0)\ncy: 7.5, 8 (avg 7.8)"


def test_single_score():
    assert summary_line("dee", [100]) == "dee: 100 (avg 100.0)"


def test_script_runs():
    result = subprocess.run([sys.executable, "make_report.py"], cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ana: 90, 85, 77 (avg 84.0)\nben: 60, 70 (avg 65.0)\n"
