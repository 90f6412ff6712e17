"""The `readiness` command line (placeholder until the CLI lands)."""


def main() -> None:
    raise SystemExit("readiness: not implemented yet")
