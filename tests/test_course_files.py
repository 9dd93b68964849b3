"""The files generated for the course are up to date (lesson headers, README table)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_lesson_headers_and_readme_table_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "lessons.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
