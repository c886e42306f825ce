#!/usr/bin/env bash
# Set up and run the test suite (pass pytest options through, e.g. -k enrolled).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
