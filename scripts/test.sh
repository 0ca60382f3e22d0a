#!/usr/bin/env bash
# Set up .venv with the test extra (if needed) and run the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
. .venv/bin/activate
exec python -m pytest -q "$@"
