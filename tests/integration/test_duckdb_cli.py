"""Planners' DuckDB command-line clients open the published file and run every documented query.

The clients are the pinned one (.venv/bin/duckdb) and the oldest on PyPI (installed by
scripts/setup.sh), so the storage compatibility of the published file is checked with the
oldest DuckDB planners may still use. Queries: every ```sql block of docs/planner-guide.md,
docs/data-dictionary.md and README.md, statement by statement, each of which must return at least one row (unless it says
``-- no rows offline``).
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "docs" / "planner-guide.md", ROOT / "docs" / "data-dictionary.md", ROOT / "README.md"]
CLIENTS = {  # version: executable
    "1.5.5": ROOT / ".venv" / "bin" / "duckdb",
    "1.4.4": ROOT / ".venv" / "opt" / "duckdb-cli-1.4.4" / "bin" / "duckdb",
}
EMPTY_ALLOWED = "-- no rows offline"  # a documented query whose text says so may return nothing on the snapshot
SQL_BLOCK = re.compile(r"^```sql[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def documented_statements() -> list[tuple[str, str]]:
    """(where, statement) for every statement of every ```sql block of the documents that exist."""
    statements = []
    for document in DOCUMENTS:
        if not document.exists():
            continue
        text = document.read_text(encoding="utf-8")
        for match in SQL_BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            for statement in duckdb.extract_statements(match.group(1)):
                statements.append((f"{document.relative_to(ROOT)}:{line}", statement.query.strip()))
    return statements


def run_client(client: Path, published: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(client), "-readonly", str(published), *args], capture_output=True, text=True,
                          timeout=120)


def test_documented_queries_exist():
    found = documented_statements()
    assert found, f"no ```sql block in {', '.join(str(d.relative_to(ROOT)) for d in DOCUMENTS)}: nothing to check"


@pytest.mark.parametrize("version", list(CLIENTS))
def test_client_runs_every_documented_query_read_only(version, snapshot_warehouse):
    client = CLIENTS[version]
    if not client.exists():
        pytest.fail(f"DuckDB command-line client {version} not found at {client}: run scripts/setup.sh")
    shown = subprocess.run([str(client), "--version"], capture_output=True, text=True, timeout=60).stdout
    assert shown.startswith(f"v{version} "), f"{client} is {shown.strip()!r}, expected v{version}"
    statements = documented_statements()
    assert statements, "no documented ```sql statements found"
    before = hashlib.sha256(snapshot_warehouse.read_bytes()).hexdigest()
    problems = []
    for where, statement in statements:
        # CSV without header: an empty result prints nothing, so "no output" means "no rows"
        result = run_client(client, snapshot_warehouse, "-csv", "-noheader", "-c", statement)
        if result.returncode != 0 or result.stderr.strip():
            problems.append(f"{where}: failed (exit {result.returncode}): {result.stderr.strip()}\n  {statement}")
        elif not result.stdout.strip() and EMPTY_ALLOWED not in statement:
            problems.append(f"{where}: returned no rows\n  {statement}")
    assert not problems, f"DuckDB {version} on {snapshot_warehouse}:\n" + "\n".join(problems)
    assert hashlib.sha256(snapshot_warehouse.read_bytes()).hexdigest() == before, "a read-only client changed the file"
