#!/usr/bin/env bash
# Refresh the README's picture of the add-on panel, docs/screenshot_panel.png: runs the GUI smoke test
# (scripts/gui_smoke.sh: Debian's Blender 3.4 under Xvfb, a real click on Generate) and, only when it passes, puts
# its panel screenshot in docs/. The test suite never writes into docs/ (tests leave the working tree clean).
# Usage: bash scripts/update_screenshot.sh [MODEL.pt]      (the model as for gui_smoke.sh; default the shipped one)
set -euo pipefail
cd "$(dirname "$0")/.."
SHOT_DIR=$(mktemp -d /tmp/mrgen-shot-XXXXXX)
trap 'rm -rf "$SHOT_DIR"' EXIT
MRGEN_GUI_SHOT="$SHOT_DIR/screenshot_panel.png" timeout 600 bash scripts/gui_smoke.sh "$@"
cp "$SHOT_DIR/screenshot_panel.png" docs/.screenshot_panel.png.part
mv docs/.screenshot_panel.png.part docs/screenshot_panel.png
echo "update_screenshot: docs/screenshot_panel.png updated (commit it with the change it shows)"
