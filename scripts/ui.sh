#!/usr/bin/env bash
# Start the Dagster UI on http://127.0.0.1:3000 with the project's local instance.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/dagster ] || bash scripts/setup.sh
export DAGSTER_HOME="$PWD/.dagster_home"
mkdir -p "$DAGSTER_HOME" && ln -sf ../dagster.yaml "$DAGSTER_HOME/dagster.yaml"
exec .venv/bin/dagster dev -h 127.0.0.1 -p "${PORT:-3000}"
