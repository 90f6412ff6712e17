#!/usr/bin/env bash
# Create .venv with Python 3.11 and install the project with pinned dependencies.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required, found " + sys.version)'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -c requirements.lock -e ".[dev]"
# Dagster's local instance: SQLite storage and the run queue from dagster.yaml
mkdir -p .dagster_home
ln -sf ../dagster.yaml .dagster_home/dagster.yaml
