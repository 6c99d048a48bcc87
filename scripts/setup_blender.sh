#!/usr/bin/env bash
# What the Blender tests need on a fresh machine: Blender 4.5 LTS as a Python module in .venv-bpy (no torch in it),
# and Debian's Blender 3.4 with Xvfb for the real-window smoke test; plus espeak-ng, whose speech drives the audio
# test. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-bpy/bin/python ]; then
  python3 -m venv .venv-bpy
fi
.venv-bpy/bin/python -m pip install -q "bpy==4.5.*" pytest pytest-timeout
if ! command -v blender >/dev/null || ! command -v xvfb-run >/dev/null || ! command -v xdotool >/dev/null \
   || ! command -v espeak-ng >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    blender xvfb xauth xdotool imagemagick x11-apps python3-numpy espeak-ng >/dev/null
fi
echo "Blender test environment ready ($(.venv-bpy/bin/python -c 'import bpy; print("bpy", bpy.app.version_string)' 2>/dev/null | tail -n1))"
