"""build.py says plainly when the extension zip could not be validated by Blender's own tool."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_unvalidated_extension_is_said_plainly(tmp_path):
    cp = subprocess.run([sys.executable, str(REPO / "build.py"), "--out", str(tmp_path), "--no-legacy",
                         "--blender-ext", str(tmp_path / "no_blender_ext.py")], capture_output=True, text=True,
                        timeout=120)
    assert cp.returncode == 0, cp.stderr
    line = next(ln for ln in cp.stdout.splitlines() if ln.startswith("extension"))
    assert "NOT validated" in line and ".venv-bpy" in line
    zips = list(tmp_path.glob("mrgen-*-extension.zip"))
    assert len(zips) == 1 and "blender_manifest.toml" in zipfile.ZipFile(zips[0]).namelist()
