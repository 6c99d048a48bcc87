"""build.py's two zips install and enable in real Blender: the extension (4.2+) and the legacy add-on (bl_info)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import zipfile

import pytest

bpy = pytest.importorskip("bpy", reason="needs Blender's bpy module (run with .venv-bpy)")

from .support import REPO, addon_module  # noqa: E402

OPERATORS = ("generate", "blend", "retarget", "cancel", "import_motion", "export_motion")


def test_zip_layouts(zips):
    with zipfile.ZipFile(zips["extension"]) as z:
        names = z.namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names  # flat, manifest at the root
    assert "vendor/mrgen_core/skeleton.py" in names and "vendor/mrgen_core/worker.py" in names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    with zipfile.ZipFile(zips["legacy"]) as z:
        legacy = z.namelist()
    assert all(n.startswith("mrgen/") for n in legacy) and "mrgen/__init__.py" in legacy
    assert "mrgen/blender_manifest.toml" not in legacy
    assert "mrgen/vendor/mrgen_core/retarget/target.py" in legacy
    assert "blender_ext.py" in zips["log"]  # built and validated by Blender's own tool


def test_addon_never_imports_torch():
    for root, _, files in os.walk(REPO / "blender_addon"):
        for f in files:
            if f.endswith(".py"):
                text = open(os.path.join(root, f), encoding="utf-8").read()
                assert "import torch" not in text, f"{f} imports torch"


def test_extension_is_enabled_with_its_operators_and_panel(prefs, addon):
    for op in OPERATORS:
        assert hasattr(bpy.ops.mrgen, op)
        props = getattr(bpy.ops.mrgen, op).get_rna_type().properties
        assert "blocking" in props.keys(), f"mrgen.{op} has no blocking property"
    assert bpy.types.MRGEN_PT_main.bl_category == "MRGen"
    assert bpy.types.MRGEN_PT_main.bl_space_type == "VIEW_3D"
    assert prefs.bl_rna.identifier == "MRGEN_AddonPreferences"
    init = sys.modules[addon]
    assert init.CORE_PATH.endswith("vendor") and "extensions" in init.CORE_PATH  # the bundled mrgen_core ...
    assert f"{addon}.vendor.mrgen_core.retarget.target" in sys.modules  # ... imported as a sub-module
    assert init.CORE_PATH not in sys.path
    assert "torch" not in sys.modules
    checklist = addon_module("preferences").checklist(prefs)
    assert checklist[0][0] and checklist[1][0]  # numpy in Blender, mrgen_core bundled


@pytest.mark.timeout(120)
def test_legacy_zip_installs_in_a_fresh_blender(zips, tmp_path):
    script = textwrap.dedent(f"""
        import os, sys
        os.environ["BLENDER_USER_RESOURCES"] = {str(tmp_path)!r}
        import bpy, addon_utils
        r = bpy.ops.preferences.addon_install(filepath={str(zips['legacy'])!r}, overwrite=True)
        assert r == {{'FINISHED'}}, r
        assert bpy.ops.preferences.addon_enable(module="mrgen") == {{'FINISHED'}}
        assert addon_utils.check("mrgen") == (True, True)
        mod = sys.modules["mrgen"]
        assert mod.bl_info["blender"] == (3, 4, 0) and mod.bl_info["version"] == (0, 1, 0)
        assert mod.CORE_PATH.endswith(os.path.join("mrgen", "vendor")), mod.CORE_PATH
        assert "mrgen.vendor.mrgen_core.io.amass" in sys.modules and mod.CORE_PATH not in sys.path
        assert hasattr(bpy.ops.mrgen, "generate") and hasattr(bpy.types, "MRGEN_PT_generate")
        bpy.ops.preferences.addon_disable(module="mrgen")
        assert not hasattr(bpy.types, "MRGEN_PT_generate")
        print("LEGACY OK")
        sys.stdout.flush()
        os._exit(0)
    """)
    cp = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=100)
    assert "LEGACY OK" in cp.stdout, cp.stdout[-2000:] + cp.stderr[-2000:]


def test_build_without_blender_ext_makes_a_plain_extension_zip(tmp_path):
    cp = subprocess.run([sys.executable, str(REPO / "build.py"), "--out", str(tmp_path), "--no-legacy",
                         "--blender-ext", str(tmp_path / "missing_blender_ext.py")], capture_output=True, text=True,
                        timeout=120)
    assert cp.returncode == 0, cp.stderr
    line = next(ln for ln in cp.stdout.splitlines() if ln.startswith("extension"))
    assert "NOT validated" in line and ".venv-bpy" in line  # said plainly, with the way to validate
    (zip_path,) = tmp_path.glob("mrgen-*-extension.zip")
    with zipfile.ZipFile(zip_path) as z:
        names = z.namelist()
        manifest = z.read("blender_manifest.toml").decode()
    assert "__init__.py" in names and "vendor/__init__.py" in names
    assert 'version = "0.1.0"' in manifest and 'blender_version_min = "4.2.0"' in manifest


def test_worker_venv_dry_run(tmp_path):
    venv = tmp_path / "worker venv"
    cp = subprocess.run([sys.executable, str(REPO / "build.py"), "--worker-venv", str(venv), "--dry-run"],
                        capture_output=True, text=True, timeout=60)
    assert cp.returncode == 0, cp.stderr
    lines = cp.stdout.splitlines()
    assert any(ln.startswith("+ ") and "-m venv" in ln and str(venv) in ln for ln in lines)
    assert any("pip install torch==2.13.0" in ln for ln in lines)
    assert any(ln.endswith(f"pip install {REPO}") for ln in lines)
    assert lines[-1] == str(venv / "bin" / "python")  # the path to enter in the preferences
    assert not venv.exists()


@pytest.mark.timeout(120)
def test_worker_python_detection_and_check(prefs, monkeypatch, tmp_path):
    pm = addon_module("preferences")
    assert pm.worker_python(prefs)[1] == "preferences"
    prefs.worker_python = ""
    monkeypatch.setenv("MRGEN_WORKER_PYTHON", "/opt/somewhere/python")
    assert pm.worker_python(prefs) == ("/opt/somewhere/python", "MRGEN_WORKER_PYTHON")
    monkeypatch.delenv("MRGEN_WORKER_PYTHON")
    monkeypatch.setattr(pm, "DEFAULT_WORKER_VENV", str(tmp_path / "venv"))
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").write_text("")
    assert pm.worker_python(prefs) == (str(tmp_path / "venv" / "bin" / "python"),
                                       f"build.py venv ({tmp_path / 'venv'})")
    (tmp_path / "venv" / "bin" / "python").unlink()
    assert pm.worker_python(prefs)[1] in ("python3 on PATH", "python on PATH", "not found")
    # Check: runs the worker Python once and reports versions (the torch venv here)
    from .support import WORKER_PYTHON

    prefs.worker_python = WORKER_PYTHON
    assert bpy.ops.mrgen.check_worker() == {"FINISHED"}
    assert prefs.check_ok and "torch 2." in prefs.check_report and "mrgen 0.1.0" in prefs.check_report
    items = pm.checklist(prefs)
    assert [ok for ok, _, _ in items][:4] == [True, True, True, True]
    prefs.worker_python = sys.executable  # the bpy venv: no torch
    with pytest.raises(RuntimeError):
        bpy.ops.mrgen.check_worker()
    assert not prefs.check_ok and "torch MISSING" in prefs.check_report
