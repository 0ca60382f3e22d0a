#!/usr/bin/env bash
# Create .venv and install DareU with the given extras (default: none).
# Without a GPU, torch is installed first as the CPU build, so pip never pulls a multi-GB CUDA
# build; with a GPU, pip's default (CUDA) build is used. Override with DAREU_TORCH_SPEC.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if ! python -c "import torch" >/dev/null 2>&1; then
  if [ -n "${DAREU_TORCH_SPEC:-}" ]; then
    spec="$DAREU_TORCH_SPEC"
  elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    spec="torch>=2.4"
  else
    spec="torch==2.13.0"   # the CPU build on CPU-only machines
  fi
  echo "[setup] installing $spec"
  python -m pip install -q "$spec"
fi
target="."
[ -n "$extras" ] && target=".[$extras]"
stamp=".venv/.dareu-installed-$(cat pyproject.toml | sha1sum | cut -c1-12)-${extras:-base}"
if [ ! -f "$stamp" ]; then
  echo "[setup] installing DareU ($target)"
  python -m pip install -q -e "$target"
  touch "$stamp"
fi
