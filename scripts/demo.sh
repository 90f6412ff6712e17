#!/usr/bin/env bash
# Install, then refresh the warehouse from the embedded offline snapshot: builds warehouse/readiness.duckdb
# and records the run in .dagster_home (see it with scripts/ui.sh). The refresh is incremental
# (pipelines/incremental.py): the first run builds everything, a re-run only what changed (none when nothing did).
# `readiness demo` follows the same rules as a run from the UI or the schedule: it fails runs whose
# process died, waits for a run in progress and for the warehouse's writer lock, then runs and prints
# the summary (cli/demo.py). No daemon is needed: the run executes in this process.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="$PWD/.dagster_home"
exec .venv/bin/readiness demo
