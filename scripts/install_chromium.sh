#!/usr/bin/env bash
# Install Debian's Chromium for the browser test of the Dagster UI (tests/integration/test_ui.py), when missing.
# Playwright drives this browser; it never downloads one of its own. Uses sudo when not root,
# runs `apt-get update` only when the install fails, never asks questions.
# Exit status: 0 when /usr/bin/chromium is there afterwards.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
if ! command -v apt-get >/dev/null; then
    echo "install_chromium: /usr/bin/chromium is missing and apt-get is not available; install Chromium by hand" >&2
    exit 1
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if ! command -v sudo >/dev/null; then
        echo "install_chromium: not root and no sudo: run 'apt-get install chromium' as root" >&2
        exit 1
    fi
    SUDO="sudo -n"
fi
export DEBIAN_FRONTEND=noninteractive
install() { $SUDO apt-get install -y -q --no-install-recommends chromium; }
install || { $SUDO apt-get update -q && install; }
[ -x /usr/bin/chromium ]
