#!/usr/bin/env bash
# Create .venv and install DareU with the given extras (default: none), e.g. `bash scripts/setup.sh
# test,hub`; `hub` (pip install 'dareu[hub]', the `datasets` package) reads TOFU from the hub
# id locuslab/TOFU, which the tofu_forget*_tiny recipes use unless data.path is a local folder.
# Without a GPU, torch is installed first from PyTorch's CPU wheel index, so pip does not pull the
# multi-GB CUDA build that a standard Linux index serves. If that index cannot be reached, torch
# comes from pip's configured index instead, and the script says so (on a standard index that is
# the CUDA build). With a GPU, pip's default (CUDA) build is used. Override with DAREU_TORCH_SPEC
# (a pip requirement) and DAREU_TORCH_INDEX (the CPU index URL; empty to skip it).
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
  cpu_index="${DAREU_TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    spec="${DAREU_TORCH_SPEC:-torch>=2.4}"
    cpu_index=""   # a GPU machine takes the default (CUDA) build
  else
    spec="${DAREU_TORCH_SPEC:-torch==2.13.0}"
  fi
  if [ -n "$cpu_index" ] && echo "[setup] installing $spec (CPU build, from $cpu_index)" &&
     python -m pip install -q --retries 0 --timeout 20 --index-url "$cpu_index" "$spec"; then
    :
  else
    [ -n "$cpu_index" ] && echo "[setup] $cpu_index could not be reached or has no $spec;" \
      "installing it from pip's configured index (on a standard Linux index: the CUDA build)"
    echo "[setup] installing $spec"
    python -m pip install -q "$spec"
  fi
fi
target="."
[ -n "$extras" ] && target=".[$extras]"
stamp=".venv/.dareu-installed-$(cat pyproject.toml | sha1sum | cut -c1-12)-${extras:-base}"
if [ ! -f "$stamp" ]; then
  echo "[setup] installing DareU ($target)"
  python -m pip install -q -e "$target"
  touch "$stamp"
fi
