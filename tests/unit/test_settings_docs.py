"""docs/settings.md lists every READINESS_* environment variable the project's code reads, and no other.

Scans the Python and shell sources of the project's packages, scripts and benchmarks as text (no import, so no
Dagster): a name the code reads but the table lacks fails, naming it, and so does a row whose variable no code
reads any more. Names ending in "_" are prefixes in comments (READINESS_LAKE_*), not variables. The tests' own
variables (tests/netguard) are not settings of the project.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "docs" / "settings.md"
CODE_DIRS = ("pipelines", "indicators", "staging", "sources", "warehouse", "reports", "cli", "scripts", "benchmarks")
NAME = re.compile(r"\bREADINESS_[A-Z0-9_]*[A-Z0-9]\b")
ROW = re.compile(r"^\| `(READINESS_[A-Z0-9_]+)` \|", re.MULTILINE)


def names_in_code() -> dict[str, set[str]]:
    """Every READINESS_* name in the project's .py and .sh files, with the files that hold it."""
    found: dict[str, set[str]] = {}
    for folder in CODE_DIRS:
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".py", ".sh") or not path.is_file():
                continue
            for name in NAME.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def names_in_table(text: str) -> list[str]:
    return ROW.findall(text)


def test_the_scan_finds_the_code_and_the_table():
    code, table = names_in_code(), names_in_table(SETTINGS.read_text(encoding="utf-8"))
    assert "READINESS_WAREHOUSE" in code and "warehouse/paths.py" in code["READINESS_WAREHOUSE"]
    assert "READINESS_WAREHOUSE" in table and len(table) >= 20


def test_every_variable_the_code_reads_is_in_the_table_and_no_other():
    code = names_in_code()
    table = names_in_table(SETTINGS.read_text(encoding="utf-8"))
    twice = sorted({name for name in table if table.count(name) > 1})
    assert not twice, f"listed twice in docs/settings.md: {twice}"
    missing = {name: sorted(files) for name, files in code.items() if name not in table}
    assert not missing, f"read by the code but not in docs/settings.md's table: {missing}"
    stale = sorted(set(table) - set(code))
    assert not stale, f"in docs/settings.md's table but read by no code any more: {stale}"


def test_a_missing_row_is_named(tmp_path):
    """The check can fail: the table without one row names that variable."""
    text = SETTINGS.read_text(encoding="utf-8")
    without = re.sub(r"^\| `READINESS_REAPER_SECONDS` \|.*\n", "", text, flags=re.MULTILINE)
    assert without != text
    table = names_in_table(without)
    assert sorted(set(names_in_code()) - set(table)) == ["READINESS_REAPER_SECONDS"]
