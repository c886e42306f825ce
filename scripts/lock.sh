#!/usr/bin/env bash
# Re-resolve the newest versions pyproject.toml allows in a scratch venv, run nothing, and write
# them to constraints.txt (the versions scripts/setup.sh installs). Run the tests after it.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
"$PYTHON" -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install --quiet --upgrade pip
"$scratch/venv/bin/python" -m pip install --quiet '.[dev]'
{
  echo "# The versions the project is tested with; scripts/setup.sh installs from this file."
  echo "# Made by scripts/lock.sh from the ranges in pyproject.toml."
  "$scratch/venv/bin/python" -m pip freeze --exclude moodle-assets --exclude pip --exclude setuptools --exclude wheel
} > constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) packages"
