#!/usr/bin/env bash
# Create .venv with Python 3.11 and install the project with pinned dependencies.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, found " + sys.version)'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c requirements.lock -e ".[dev,deploy,lake]"
# The oldest DuckDB command-line client on PyPI, to check that planners on DuckDB 1.4 can open the
# published file (warehouse storage compatibility v1.4.0; the pinned 1.5 client comes with the dev extras)
OLD_CLI=.venv/opt/duckdb-cli-1.4.4
if [ ! -x "$OLD_CLI/bin/duckdb" ]; then
    .venv/bin/python -m pip install --quiet --no-deps --target "$OLD_CLI" duckdb-cli==1.4.4
    chmod +x "$OLD_CLI/bin/duckdb"
fi
# Dagster's local instance: SQLite storage and the run queue from dagster.yaml
mkdir -p .dagster_home
ln -sf ../dagster.yaml .dagster_home/dagster.yaml
