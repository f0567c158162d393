#!/usr/bin/env bash
# Quick start: set up, then run the webhook, the scheduler and the Zalo simulator together.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m bot run-local "$@"
