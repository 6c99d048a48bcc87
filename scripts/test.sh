#!/usr/bin/env bash
# Set up everything the tests need on a fresh machine, then run the whole suite:
#   1. the library, CLI, model and worker tests (.venv, torch CPU);
#   2. the add-on tests inside real Blender 4.5 (bpy module in .venv-bpy, no torch) against a real worker process;
#   3. the interactive smoke test in a real Blender 3.4 window under Xvfb (a real click on Generate).
set -uo pipefail
cd "$(dirname "$0")/.."
tree_state() {  # what git sees changed, each path with its content's hash (empty on a clean clone, or without git)
    git status --porcelain --untracked-files=all 2>/dev/null | while IFS= read -r line; do
        echo "$line $(git hash-object -- "${line:3}" 2>/dev/null || echo gone)"
    done
}
before=$(tree_state)
bash scripts/setup.sh || exit 1
bash scripts/setup_blender.sh || exit 1
# the optional WavLM loader is tested too (on a tiny random model the test saves), also through the add-on's worker
.venv/bin/python -m pip install -q -e ".[wavlm]" || exit 1
export MRGEN_DATA=${MRGEN_DATA:-$(cd .. && pwd)/shared/data/raw}
status=0
.venv/bin/python -m pytest -q -ra --timeout=900 tests --ignore=tests/blender || status=1
timeout 1200 .venv-bpy/bin/python -m pytest -q -ra --timeout=600 tests/blender || status=1
timeout 600 bash scripts/gui_smoke.sh || status=1
# tests leave the working tree as they found it (a clean clone stays clean; git-ignored outputs such as out/ are fine)
after=$(tree_state)
if [ "$after" != "$before" ]; then
    echo "the test run changed the working tree (git status --porcelain; < before, > after):"
    diff <(echo "$before") <(echo "$after") | grep '^[<>]'
    status=1
fi
if [ $status -ne 0 ]; then echo "SOME TESTS FAILED"; else echo "ALL TESTS PASSED"; fi
exit $status
