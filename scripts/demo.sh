#!/usr/bin/env bash
# Install, then run the whole refresh job on the embedded offline snapshot:
# builds warehouse/readiness.duckdb and records the run in .dagster_home (see it with scripts/ui.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="$PWD/.dagster_home"
.venv/bin/dagster job execute -m pipelines.definitions -j refresh_warehouse
.venv/bin/python scripts/summary.py
