#!/usr/bin/env bash
# Set up .venv (if needed) and run every stage of the quickstart recipe on CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
. .venv/bin/activate
exec dareu run recipes/quickstart.yaml "$@"
