#!/usr/bin/env bash
# Set up, start the demo Moodle, materialise every asset into data/warehouse.duckdb, open the Dagster UI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export DAGSTER_HOME="${DAGSTER_HOME:-$PWD/.dagster_home}"
exec .venv/bin/moodle-assets demo "$@"
