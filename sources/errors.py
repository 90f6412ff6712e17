"""One error type for bad publisher input, so every failure names source, file and problem."""

import re

# the user info of a URL (scheme://user:password@host): READINESS_LIVE_ORIGIN may carry a mirror's account
# (up to the authority's last "@": requests takes "u:p@ss@host" as user "u", password "p@ss")
USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s'\"<>]*@")  # a quote or space ends the URL


def without_userinfo(text: str) -> str:
    """``text`` with the user info of every URL in it left out (``http://u:p@host/`` → ``http://host/``)."""
    return USERINFO.sub(r"\1", str(text))


class SourceError(Exception):
    """A publisher file or response cannot be used.

    The message always reads ``[source] file: problem`` so that an analyst sees in
    the Dagster UI which source, which file and what is wrong. URLs in it lose their user info: the message
    reaches the event log.
    """

    def __init__(self, source_id: str, file: str, problem: str):
        self.source_id = source_id
        self.file = without_userinfo(file)
        self.problem = without_userinfo(problem)
        super().__init__(f"[{source_id}] {self.file}: {self.problem}")


def column_letter(index: int) -> str:
    """Excel's name of a 0-based column, for messages that name a cell: 0 -> 'A', 27 -> 'AB'."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
