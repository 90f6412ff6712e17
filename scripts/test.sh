#!/usr/bin/env bash
# Install, then run the test suite (uses ../shared/data too when it is there).
# The browser test of the Dagster UI needs Debian's Chromium: installed here when missing and apt is usable
# (otherwise that test fails and says how to install it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install_chromium.sh || echo "test.sh: Chromium could not be installed; tests/test_ui_browser.py will fail" >&2
.venv/bin/python -m pytest "$@"
