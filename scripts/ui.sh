#!/usr/bin/env bash
# Start the Dagster UI on http://127.0.0.1:3000 (PORT=3100 for another port) with the project's local
# instance (DAGSTER_HOME, default .dagster_home): `dagster dev` (webserver, daemon, code server) with the
# webserver behind the UI guard (pipelines/ui_guard.py), which refuses foreign Host and Origin headers
# (DNS rebinding, cross-origin GraphQL). READINESS_UI_ALLOWED_HOSTS adds host names, e.g. behind a
# reverse proxy (docs/ui.md).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
[ -x .venv/bin/dagster ] || bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$ROOT/.dagster_home}"
mkdir -p "$DAGSTER_HOME" && ln -sf "$ROOT/dagster.yaml" "$DAGSTER_HOME/dagster.yaml"
# Started from DAGSTER_HOME, not the repository root: Dagster warns that a dagster.yaml in the current
# folder "will not be used" whenever the current folder is not DAGSTER_HOME, although it is used (linked).
# Relative READINESS_* paths mean the repository root, as before the change of directory.
for var in READINESS_WAREHOUSE READINESS_RAW_DIR READINESS_LIVE_DIR READINESS_EXPORTS_DIR READINESS_REPORTS_DIR \
           READINESS_SOURCE_DIR; do
    value="${!var:-}"
    if [ -n "$value" ] && [ "${value#/}" = "$value" ] && [ "${value#\~}" = "$value" ]; then
        export "$var=$ROOT/$value"
    fi
done
cd "$DAGSTER_HOME"
exec "$ROOT/.venv/bin/python" -m pipelines.ui_guard dev -w "$ROOT/workspace.yaml" \
    -h 127.0.0.1 -p "${PORT:-3000}"
