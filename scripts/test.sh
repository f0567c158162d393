#!/usr/bin/env bash
# Set up (with test dependencies), lint, and run every test. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --dev
.venv/bin/ruff check bot tests bench webhooks.py scheduler.py
.venv/bin/ruff format --check bot tests bench webhooks.py scheduler.py
.venv/bin/python -m pytest "$@"
