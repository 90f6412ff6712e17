#!/usr/bin/env bash
# Install, then run the test suite (uses ../shared/data too when it is there).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m pytest "$@"
