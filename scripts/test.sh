#!/usr/bin/env bash
# Set up (with test dependencies), lint, and run every test on BOT_TEST_WORKERS (2) workers.
# Extra arguments go to pytest.
# The browser tests need Debian's Chromium: it is installed here as .ci/run does (apt-get, as
# root), or the script stops naming the package; browser tests are never skipped silently.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium for the browser tests (apt-get install chromium)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
  else
    echo "The browser tests need the Debian package 'chromium' (/usr/bin/chromium):" >&2
    echo "  sudo apt-get install chromium" >&2
    exit 1
  fi
fi
.venv/bin/ruff check bot tests bench webhooks.py scheduler.py
.venv/bin/ruff format --check bot tests bench webhooks.py scheduler.py
BOT_REQUIRE_BROWSER=1 .venv/bin/python -m pytest -n "${BOT_TEST_WORKERS:-2}" "$@"
