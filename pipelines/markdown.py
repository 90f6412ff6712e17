"""Markdown for Dagster metadata: text from the data (town names) is shown as text, never read as markup.

The UI renders ``MetadataValue.md`` as GitHub-flavoured markdown, and ``DataFrame.to_markdown`` copies cells
as they are: a ``|`` in a name ends its cell and shifts the table, ``[x](https://…)`` becomes a link and
``<…>`` an autolink or tag. Names come from publishers' files (and in directory or live mode from whatever
those files say), so every text cell is escaped before it becomes a table.
"""

import re

import pandas as pd

# The backslash too: a name ending in "\" would escape the "|" that closes its cell.
MARKDOWN_SPECIAL = re.compile(r"([\\|\[\]<>`])")
LINE_BREAK = re.compile(r"[\r\n]+")  # a table row is one line


def escape_markdown(text: str) -> str:
    """``text`` with ``\\ | [ ] < > ` `` backslash-escaped and line breaks as spaces: literal in a table cell."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", LINE_BREAK.sub(" ", text))


def markdown_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are escaped (``escape_markdown``), for ``to_markdown``.

    Only str values change: numbers stay numbers (``to_markdown`` and the score chart format them), missing
    values stay missing.
    """
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]) \
                or isinstance(safe[column].dtype, pd.CategoricalDtype):
            safe[column] = safe[column].map(lambda value: escape_markdown(value) if isinstance(value, str) else value)
    return safe


def markdown_table(frame: pd.DataFrame) -> str:
    """``frame`` as a markdown table for ``MetadataValue.md``, its text cells escaped (``markdown_safe``): the one
    way assets render a table, so a new one cannot forget the escaping."""
    return markdown_safe(frame).to_markdown(index=False)
