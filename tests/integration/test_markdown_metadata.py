"""Town names in Dagster's markdown metadata are text: pipelines/markdown.py escapes them for a table cell."""

from __future__ import annotations

import math
import re

import pandas as pd

from pipelines.catalog import score_chart_markdown
from pipelines.markdown import escape_markdown, markdown_safe

HOSTILE = ["Bad | Town", "[click](https://evil.example)", "<img src=x onerror=alert(1)>", "Code `x`",
           "ends in \\", "two\nlines"]
CELL_BREAK = re.compile(r"(?<!\\)\|")  # a | that ends a cell: not escaped
UNESCAPED_MARKUP = re.compile(r"(?<!\\)[\[\]<>`]")  # a link, tag or code span would start here


def test_escape_markdown_escapes_every_character_that_is_markup_in_a_table_cell():
    assert escape_markdown("Bad | Town") == "Bad \\| Town"
    assert escape_markdown("[click](https://evil.example)") == "\\[click\\](https://evil.example)"
    assert escape_markdown("<b>x</b>") == "\\<b\\>x\\</b\\>"
    assert escape_markdown("Code `x`") == "Code \\`x\\`"
    assert escape_markdown("ends in \\") == "ends in \\\\"  # else it would escape the | closing the cell
    assert escape_markdown("two\r\nlines") == "two lines"  # a table row is one line
    assert escape_markdown("Mölln (Lauenburg)") == "Mölln (Lauenburg)"  # ordinary names unchanged


def test_markdown_safe_keeps_the_table_shape_and_the_numbers():
    frame = pd.DataFrame({"town": HOSTILE, "score": [51.25, math.nan, 3.0, 4.0, 5.0, 6.0],
                          "rank": pd.array([1, 2, 3, 4, 5, 6], dtype="Int64"),
                          "kind": pd.Categorical(["Stadt | x"] * 6), "note": [None, "a|b", None, "", "c", "d"]})
    safe = markdown_safe(frame)
    assert safe["score"].tolist()[0] == 51.25 and math.isnan(safe["score"][1]) and safe["rank"].dtype == "Int64"
    assert safe["note"][0] is None and frame["town"].tolist() == HOSTILE  # the input is not changed
    lines = safe.to_markdown(index=False).splitlines()
    assert len(lines) == 2 + len(frame)  # no name split a row
    assert {len(CELL_BREAK.findall(line)) for line in lines} == {len(frame.columns) + 1}
    text = "\n".join(lines)
    assert UNESCAPED_MARKUP.findall(text) == [] and "\\[click\\](https" in text and "\\<img" in text


def test_the_score_chart_shows_escaped_names_as_its_column_headers():
    scores = pd.DataFrame({"name": ["A | B", "C"] * 2, "period": [2022, 2022, 2023, 2023],
                           "score": [40.0, 50.0, 41.5, math.nan]})
    header, rule, *rows = score_chart_markdown(markdown_safe(scores)).splitlines()
    assert header == "| Jahr | A \\| B | C |" and len(rows) == 2
    assert all(len(CELL_BREAK.findall(line)) == 4 for line in [header, *rows])
    assert "41,5" in rows[1] and rows[1].endswith("| – |")
