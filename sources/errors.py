"""One error type for bad publisher input, so every failure names source, file and problem."""


class SourceError(Exception):
    """A publisher file or response cannot be used.

    The message always reads ``[source] file: problem`` so that an analyst sees in
    the Dagster UI which source, which file and what is wrong.
    """

    def __init__(self, source_id: str, file: str, problem: str):
        self.source_id = source_id
        self.file = file
        self.problem = problem
        super().__init__(f"[{source_id}] {file}: {problem}")
