#!/usr/bin/env bash
# GUI smoke test of the add-on in a real Blender window: Debian's Blender 3.4 under Xvfb, the legacy zip, a real
# xdotool click on Generate (modal operator + timer + worker process), progress checked, keys checked, and a
# screenshot of the panel saved to $MRGEN_GUI_SHOT (default out/gui_smoke/screenshot_panel.png, git-ignored, and the
# sidebar alone at its default ~230 px width next to it, *_sidebar.png; placement at the playhead is checked; the
# README's picture docs/screenshot_panel.png is refreshed only by scripts/update_screenshot.sh).
#
# Needs: apt-get install -y --no-install-recommends blender xvfb xauth xdotool imagemagick x11-apps python3-numpy
#        the torch venv .venv (or MRGEN_WORKER_PYTHON) for the worker and to train the tiny model.
# Usage: bash scripts/gui_smoke.sh [MODEL.pt]     (default: the shipped default model, else a tiny one trained now)
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)
for tool in blender xvfb-run xdotool import convert; do
    command -v "$tool" >/dev/null || { echo "gui_smoke: error: $tool not found (apt-get install blender xvfb xauth xdotool imagemagick x11-apps python3-numpy)" >&2; exit 2; }
done
WORK=$(mktemp -d /tmp/mrgen-gui-XXXXXX)
trap 'rm -rf "$WORK/user" "$WORK/dist"' EXIT
export MRGEN_WORKER_PYTHON=${MRGEN_WORKER_PYTHON:-$REPO/.venv/bin/python}
[ -x "$MRGEN_WORKER_PYTHON" ] || { echo "gui_smoke: error: worker Python $MRGEN_WORKER_PYTHON not found" >&2; exit 2; }

python3 build.py --out "$WORK/dist" --no-extension >/dev/null
export MRGEN_GUI_ZIP=$(ls "$WORK"/dist/mrgen-*-legacy.zip)

MODEL=${1:-}
if [ -z "$MODEL" ]; then
    MODEL=$(ls mrgen_core/models/default*.pt 2>/dev/null | head -n1 || true)
fi
if [ -z "$MODEL" ]; then
    mkdir -p "$WORK/model"
    MODEL="$WORK/model/tiny.pt"
    echo "gui_smoke: no shipped default model; training a tiny one ($MODEL)"
    env -u PYTHONPATH "$MRGEN_WORKER_PYTHON" tests/blender/tiny_model.py "$MODEL" >/dev/null
fi
export MRGEN_GUI_MODEL=$(readlink -f "$MODEL")
export MRGEN_GUI_OUT="$WORK/out"
export MRGEN_GUI_SHOT=${MRGEN_GUI_SHOT:-$REPO/out/gui_smoke/screenshot_panel.png}
export BLENDER_USER_RESOURCES="$WORK/user"
mkdir -p "$MRGEN_GUI_OUT"

# a start file on the command line keeps the splash screen away
blender -b --factory-startup --python-expr "import bpy; bpy.ops.wm.save_as_mainfile(filepath='$WORK/start.blend')" >/dev/null
set +e
timeout 300 xvfb-run -a -s "-screen 0 1600x1500x24" \
    blender --factory-startup "$WORK/start.blend" --python scripts/gui_driver.py > "$WORK/blender.log" 2>&1
rc=$?
grep '^\[gui' "$WORK/blender.log"
python3 - "$MRGEN_GUI_OUT/result.json" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except OSError:
    sys.exit("gui_smoke: FAILED: the driver wrote no result (Blender crashed or hung?)")
print(f"gui_smoke: progress seen {r['progress']}")
print(f"gui_smoke: action {r.get('action')!r}: {r.get('fcurves')} F-curves, {r.get('keys')} keys; "
      f"{len(r.get('actions', []))} actions; modal poll steps: {r.get('step_times_ms')}")
if not r.get("ok"):
    sys.exit(f"gui_smoke: FAILED: {r.get('why')}")
print(f"gui_smoke: placement {r.get('placement')}; sidebar {r.get('sidebar_width')} px wide")
print(f"gui_smoke: OK in {r['elapsed']:.1f} s; screenshots {r['screenshot']}, {r.get('sidebar_screenshot')}")
EOF
status=$?
[ $status -eq 0 ] && [ $rc -ne 0 ] && { echo "gui_smoke: FAILED: Blender exited with $rc" >&2; status=1; }
if [ $status -ne 0 ]; then
    tail -n 40 "$WORK/blender.log" >&2
    echo "gui_smoke: logs and screenshots kept in $WORK" >&2
elif [ -z "${MRGEN_GUI_KEEP:-}" ]; then   # MRGEN_GUI_KEEP=1 keeps the logs and screenshots of a passing run
    rm -rf "$WORK"
else
    echo "gui_smoke: logs and screenshots kept in $WORK"
fi
exit $status
