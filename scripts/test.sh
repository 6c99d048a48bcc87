#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run the whole suite:
#   1. the library, CLI, model and worker tests (.venv, torch CPU);
#   2. the add-on tests inside real Blender 4.5 (bpy module in .venv-bpy, no torch) against a real worker process;
#   3. the interactive smoke test in a real Blender 3.4 window under Xvfb (a real click on Generate).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1
bash scripts/setup_blender.sh || exit 1
# the optional WavLM loader is tested too (on a tiny random model the test saves), also through the add-on's worker
.venv/bin/python -m pip install -q -e ".[wavlm]" || exit 1
export MRGEN_DATA=${MRGEN_DATA:-$(cd .. && pwd)/shared/data/raw}
status=0
.venv/bin/python -m pytest -q -ra --timeout=900 tests --ignore=tests/blender || status=1
timeout 1200 .venv-bpy/bin/python -m pytest -q -ra --timeout=600 tests/blender || status=1
timeout 600 bash scripts/gui_smoke.sh || status=1
if [ $status -ne 0 ]; then echo "SOME TESTS FAILED"; else echo "ALL TESTS PASSED"; fi
exit $status
