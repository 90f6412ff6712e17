"""No code decides anything by searching note text: decisions use typed columns (indicators/flags.py).

The test parses every module of the packages that parse, stage, compute, publish and present the index and
fails on a string search (contains, startswith, regex search, split, ``in``, SQL LIKE ...) whose
subject is a note (a name, attribute or column key with 'note' or 'evidence' in it: the crosswalk's step
evidence is text too; which kind of step it is, is ``territorial_changes.basis``). Rendering notes is fine;
reading them back to decide is what it forbids ("territorial change" in quality_note once sent
English text to German report rows and decided which values the index used).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["sources", "staging", "indicators", "pipelines", "reports", "cli", "warehouse"]
SEARCH_METHODS = {"contains", "startswith", "endswith", "search", "match", "fullmatch", "find", "rfind", "index",
                  "count", "split", "rsplit", "partition", "findall", "extract"}
SQL_NOTE_SEARCH = re.compile(
    r"\b\w*(notes?|evidence)\w*\s+(NOT\s+)?(I?LIKE|SIMILAR\s+TO|GLOB|~~)|"
    r"\b(coalesce|ifnull|lower|upper|trim)\s*\(\s*[\w.]*(notes?|evidence)\b[^)]*\)\s+(NOT\s+)?(I?LIKE|SIMILAR\s+TO|GLOB|~~)|"
    r"\b(contains|starts_with|ends_with|regexp_matches|regexp_extract|strpos|instr|position)\s*\(\s*[\w.]*(notes?|evidence)\b",
    re.IGNORECASE)


NOTE_WORDS = ("note", "evidence")


def _is_note(name: str) -> bool:
    return any(word in name.lower() for word in NOTE_WORDS)


def _mentions_note(node: ast.AST) -> bool:
    """Whether an expression reads a note: a name, attribute or subscript key with 'note' or 'evidence'."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and _is_note(sub.id):
            return True
        if isinstance(sub, ast.Attribute) and _is_note(sub.attr):
            return True
        if isinstance(sub, ast.Subscript) and isinstance(sub.slice, ast.Constant) \
                and isinstance(sub.slice.value, str) and _is_note(sub.slice.value):
            return True
    return False


def note_searches(source: str) -> list[tuple[int, str]]:
    """(line, what) of every place in Python source that searches note text."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in SEARCH_METHODS:
            subject = [node.func.value, *node.args]
            if any(_mentions_note(s) for s in subject):
                found.append((node.lineno, f".{node.func.attr}() on a note"))
        elif isinstance(node, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in node.ops):
            asks_column = isinstance(node.left, ast.Constant) and _is_column_name(node.left.value)
            if any(_mentions_note(c) for c in node.comparators) and not asks_column:
                found.append((node.lineno, "'in' on a note"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and SQL_NOTE_SEARCH.search(node.value):
            found.append((node.lineno, "SQL search on a note"))
    return found


def _is_column_name(value) -> bool:
    """``"quality_note" in frame`` asks for a column, it does not search text."""
    return isinstance(value, str) and re.fullmatch(r"\w+", value) is not None and _is_note(value)


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_decides_by_searching_note_text(path: Path):
    found = note_searches(path.read_text(encoding="utf-8"))
    assert not found, f"{path.relative_to(ROOT)} searches note text (use typed columns, indicators/flags.py): {found}"


def test_no_sql_file_searches_note_text():
    for path in sorted((ROOT / "warehouse").glob("*.sql")):
        hits = [line for line in path.read_text(encoding="utf-8").splitlines() if SQL_NOTE_SEARCH.search(line)]
        assert not hits, f"{path.name} searches note text: {hits}"


@pytest.mark.parametrize("code", [
    'values["quality_note"].str.contains("territorial change")',
    'frame.loc[frame["note"].fillna("").str.startswith("from Gemeindeverband"), "ags"]',
    '"territorial change" in row.quality_note',
    'for part in (notes or "").split(";"): pass',
    '_NOT_SCORED.search(note)',
    'con.execute("SELECT * FROM yearly t WHERE t.note LIKE \'%territorial change:%\'")',
    'con.execute("SELECT contains(quality_note, \'km2\') FROM v")',
    'SQL = "SELECT * FROM observations WHERE coalesce(note, \'\') NOT LIKE \'from Gemeindeverband%\'"',
    # how the crosswalk once told official and geographic steps apart (territorial_changes.basis since)
    'steps["evidence"].str.startswith(OFFICIAL)',
    'tested["evidence"].str.startswith("geography").map({True: "geo", False: "area"})',
])
def test_the_detector_finds_note_searches(code: str):
    assert note_searches(code), code


@pytest.mark.parametrize("code", [
    'values["excluded_reason"].notna()',
    '"quality_note" in values',
    'notes = [render(c) for c in codes]',
    'label(code, lang="de")',
    'observations["note"] = ""',
])
def test_the_detector_leaves_typed_decisions_alone(code: str):
    assert not note_searches(code), code
