"""Where results go and the small things an animator meets: Generate/Blend at the current frame with the scene range
left alone (or at the scene start, fitting the range), Blend as long as its source, the worker checked by its first
job, Export following the format picked."""
from __future__ import annotations

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="needs Blender's bpy module (run with .venv-bpy)")

from .support import DATA, addon_module  # noqa: E402


@pytest.fixture
def model_prefs(prefs, tiny_model):
    prefs.model_folder = str(tiny_model.parent)
    prefs.check_ok, prefs.check_report = False, ""
    return prefs


@pytest.mark.timeout(180)
def test_generate_and_blend_go_in_at_the_current_frame(model_prefs):
    pref = addon_module("preferences")
    assert (False, pref.NOT_CHECKED) in [(ok, what) for ok, what, _ in pref.checklist(model_prefs)]
    scene = bpy.context.scene
    scene.render.fps = 24  # not the model's 30 fps: Blend used to come back one frame short
    scene.frame_start, scene.frame_end, scene.frame_current = 1, 250, 50
    s = bpy.context.window_manager.mrgen_new
    s.seconds, s.seed = 2.0, 3
    assert s.place_at == "CURRENT" and not s.fit_scene_range
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    obj = bpy.context.active_object
    kf = addon_module("keyframes")
    src = obj.animation_data.action
    lo, hi = kf.frame_range(obj, src)
    assert lo == 50 and hi - lo + 1 >= 47  # about 2 s at 24 fps
    assert (scene.frame_start, scene.frame_end, scene.frame_current) == (1, 250, 50)
    assert model_prefs.check_ok and "ran Generate" in model_prefs.check_report  # checked by its first use

    obj.data.mrgen.keep_levels = 2
    assert bpy.ops.mrgen.blend(blocking=True) == {"FINISHED"}
    new = obj.animation_data.action
    assert new != src and kf.frame_range(obj, new) == (50, hi)  # as long as its source

    obj.data.mrgen.place_at, obj.data.mrgen.fit_scene_range = "START", True
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    n = hi - lo + 1
    assert kf.frame_range(obj, obj.animation_data.action) == (1, n)
    assert (scene.frame_start, scene.frame_end, scene.frame_current) == (1, n, 50)


@pytest.mark.timeout(60)
def test_export_follows_the_format_picked(prefs, tmp_path):
    io = addon_module("operators.io")
    assert io.export_path("a.npz", "BVH") == "a.bvh" and io.export_path("a.BVH", "BVH") == "a.BVH"
    assert io.export_path("a", "NPZ") == "a.npz" and io.export_path("a.bvh", None) == "a.bvh"
    assert io.export_path("a.txt", None) == "a.txt.npz"
    bpy.context.scene.render.fps = 30
    assert bpy.ops.mrgen.import_motion(filepath=str(DATA / "cmu_mocap/cgspeed_motionbuilder/02_01.bvh")) == {
        "FINISHED"}
    assert bpy.ops.mrgen.export_motion(filepath=str(tmp_path / "walk.npz"), file_format="BVH") == {"FINISHED"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["walk.bvh"]
    assert (tmp_path / "walk.bvh").read_text().startswith("HIERARCHY")


def test_missing_worker_suggests_the_setup_command(prefs):
    pref = addon_module("preferences")
    prefs.worker_python = "/nonexistent/python"
    fixes = [fix for ok, _, fix in pref.checklist(prefs) if not ok]
    assert any("build.py --worker-venv" in f for f in fixes)
    assert not any("pip install torch" in f for f in fixes)
