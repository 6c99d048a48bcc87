#!/usr/bin/env bash
# Set up mrgen on a fresh machine: a virtual environment in .venv with the CPU build of torch and mrgen itself.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# Pinned: this version resolves to the local CPU wheel; an open range would pull a multi-GB CUDA build.
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[mesh,test]"
echo "mrgen is set up in .venv ($(.venv/bin/mrgen --version))"
