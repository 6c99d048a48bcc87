#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export MRGEN_DATA=${MRGEN_DATA:-$(cd .. && pwd)/shared/data/raw}
.venv/bin/python -m pytest -q --timeout=900 tests
