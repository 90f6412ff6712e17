#!/usr/bin/env bash
# Install, then run the test suite (uses ../shared/data too when it is there).
# The browser test of the Dagster UI needs Debian's Chromium: installed here when missing and apt is usable
# (otherwise that test fails and says how to install it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install_chromium.sh || echo "test.sh: Chromium could not be installed; tests/integration/test_ui.py will fail" >&2
# Two pytest-xdist workers by default (PYTEST_WORKERS=0: one process): the tests of one file stay in one worker
# (--dist loadfile), so a module's own runs (a good publish, a live baseline) are built once, and the session's
# snapshot and example warehouses are built once for both workers (tests/conftest.py). Measured on the idle
# 2-core machine, 2026-12-02 13:08 UTC: 1,201 passed in 391 s, against 621 s in one process (10:42 UTC).
# At load 5-6.5 (other engineers' benchmarks beside), 19:14-19:29 UTC: 1,270 tests in 896 s, CPU 665 s user +
# 87 s sys; with LONG_FILES reordered, 19:31-19:41 UTC (load 1.9 at the start, ~5 during): 571 s, 589 + 76 s. Not a pair with the run before that day's last test changes (18:30-18:50, load 5-7: 1,215 s, 841 + 107 s):
# that one also built a venv for scripts/ui.sh (tests/README.md) and had no Chromium (8 browser tests failed at once).
# --no-loadscope-reorder: files are handed out in collection order, where tests/conftest.py puts the longest
# first (LONG_FILES), not xdist's default of most tests first (which handed out the 150-s queue test late).
.venv/bin/python -m pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder "$@"
