"""Loop, Root, Keep keyed frames and NLA strips through the operators, against a real worker on the tiny model."""
from __future__ import annotations

import types

import numpy as np
import pytest

bpy = pytest.importorskip("bpy", reason="needs Blender's bpy module (run with .venv-bpy)")

from .support import addon_module  # noqa: E402
from .test_generate import _Layout  # noqa: E402
from .test_rig_keys import blender_joints  # noqa: E402


@pytest.fixture
def model_prefs(prefs, tiny_model):
    prefs.model_folder = str(tiny_model.parent)
    return prefs


def _fcurves(obj, action):
    return list(addon_module("keyframes").fcurves_of(obj, action))


@pytest.mark.timeout(180)
def test_loop_is_a_cyclic_action_that_plays_on_past_its_end(model_prefs):
    s = bpy.context.window_manager.mrgen_new
    s.seconds, s.seed, s.num, s.label, s.loop = 2.0, 3, 1, "walk", True
    scene = bpy.context.scene
    scene.render.fps = 24  # the model runs at 30 fps: the cycle stays a whole number of frames (48)
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    obj = bpy.context.active_object
    action = obj.animation_data.action
    assert action["mrgen"]["loop"] and action["mrgen"]["frames"] == 48 and "loop" in action.name
    fcs = _fcurves(obj, action)
    assert len(fcs) == 99 and all(len(fc.keyframe_points) == 49 for fc in fcs)  # the cycle + its closing key
    assert all(fc.modifiers and fc.modifiers[0].type == "CYCLES" for fc in fcs)
    assert {fc.modifiers[0].mode_after for fc in fcs if fc.data_path.endswith("location")} == {"REPEAT_OFFSET"}
    assert tuple(action.frame_range) == (1.0, 49.0) and action.use_cyclic
    # the closing key is the first pose, moved on by the cycle's offset; past the end the cycle plays on
    j = blender_joints(obj, [1, 2, 6, 49, 50, 54])
    offset = j[3, 0] - j[0, 0]
    assert abs(offset[2]) < 1e-4
    np.testing.assert_allclose(j[3], j[0] + offset, atol=2e-3)
    np.testing.assert_allclose(j[4:], j[1:3] + offset, atol=2e-3)
    step = np.linalg.norm(j[4] - j[3], axis=-1).mean()  # the seam is a step like the others
    assert step < 2 * np.linalg.norm(j[1] - j[0], axis=-1).mean() + 0.01


@pytest.mark.timeout(180)
def test_root_in_place_and_nla_strips(model_prefs):
    s = bpy.context.window_manager.mrgen_new
    s.seconds, s.seed, s.num, s.label, s.root_mode = 2.0, 1, 2, "walk", "in-place"
    scene = bpy.context.scene
    scene.render.fps, scene.frame_current = 30, 12
    assert s.use_nla  # on by default
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    obj = bpy.context.active_object
    actions = sorted((a for a in bpy.data.actions if a.get("mrgen")), key=lambda a: a["mrgen"]["variation"])
    assert len(actions) == 2 and obj.animation_data.action == actions[0]  # the Action stays available
    assert actions[0]["mrgen"]["root"] == "in-place" and "inplace" in actions[0].name
    pelvis = blender_joints(obj, np.arange(1, 61, 3))[:, 0]
    assert np.abs(pelvis[:, :2] - pelvis[0, :2]).max() < 1e-3  # no horizontal travel
    assert np.ptp(pelvis[:, 2]) > 1e-3  # the vertical motion stays
    tracks = obj.animation_data.nla_tracks
    assert len(tracks) == 1 and tracks[0].name.startswith("MRGen generate: ")
    strips = list(tracks[0].strips)
    assert [st.name for st in strips] == [a.name for a in actions] and [st.action for st in strips] == actions
    assert strips[0].frame_start == 12 and strips[1].frame_start > strips[0].frame_end  # one after another
    # one track per request; none when the option is off
    obj.data.mrgen.num = 1
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    assert len(tracks) == 2
    obj.data.mrgen.use_nla = False
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    assert len(tracks) == 2


@pytest.mark.timeout(240)
def test_blend_keeps_the_keyed_frames(model_prefs):
    rig, keyframes = addon_module("rig"), addon_module("keyframes")
    s = bpy.context.window_manager.mrgen_new
    s.seconds, s.seed, s.num, s.label, s.use_nla = 3.0, 2, 1, "walk", False
    bpy.context.scene.render.fps = 30
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    obj = bpy.context.active_object
    full = obj.animation_data.action
    st = obj.data.mrgen
    st.keep_keyed, st.keep_levels = True, 0
    with pytest.raises(RuntimeError, match="every frame of .* is keyed: give the Frames"):
        bpy.ops.mrgen.blend(blocking=True)
    # an animator's blocking: poses keyed on three frames only
    motion = rig.motion_from_action(obj, full)
    quats, loc = rig.motion_to_smpl_rig(motion)
    rows, frames = [0, 39, 89], np.array([1, 40, 90])
    names = list(addon_module("core").JOINT_NAMES)
    blocking = bpy.data.actions.new("blocking")
    keyframes.write_keys(obj, blocking, frames, {n: quats[rows, i] for i, n in enumerate(names)},
                         {"pelvis": loc[rows]})
    want = blender_joints(obj, frames)
    assert bpy.ops.mrgen.blend(blocking=True) == {"FINISHED"}
    new = obj.animation_data.action
    assert new != blocking and new["mrgen"]["keep_frames"] == "0-0,39-39,89-89"
    assert np.abs(blender_joints(obj, frames) - want).max() < 2e-3  # the keyed poses, exactly
    between = blender_joints(obj, [20, 65])
    assert keyframes.frame_range(obj, new) == (1, 90) and np.isfinite(between).all()
    # a frame range of a fully keyed Action
    obj.animation_data.action = full
    want = blender_joints(obj, np.arange(1, 11))
    st.keep_range = "1-10"
    assert bpy.ops.mrgen.blend(blocking=True) == {"FINISHED"}
    assert np.abs(blender_joints(obj, np.arange(1, 11)) - want).max() < 2e-3
    obj.animation_data.action = full
    st.keep_range = "80-200"
    with pytest.raises(RuntimeError, match="frame 91 is outside"):
        bpy.ops.mrgen.blend(blocking=True)


def test_panels_draw_the_new_rows(prefs):
    s = bpy.context.window_manager.mrgen_new

    def drawn(panel, obj=None):
        fake = types.SimpleNamespace(layout=_Layout())
        panel.draw(fake, bpy.context)
        return dict(fake.layout.drawn)

    gen = drawn(addon_module("ui.generate").MRGEN_PT_generate)
    assert gen["loop"] is True and gen["cycles"] is False and gen["root_mode"] and gen["use_nla"]
    s.loop, s.cycles = True, 3
    gen = drawn(addon_module("ui.generate").MRGEN_PT_generate)
    assert gen["cycles"] is True and gen["seconds"] is False  # the cycles set the length
    rows = []
    addon_module("ui.direct").draw_blend_options(_Layout(rows), s)
    assert [r for r, _ in rows] == ["keep_keyed", "root_mode", "use_nla"]
    s.keep_keyed = True
    rows.clear()
    addon_module("ui.direct").draw_blend_options(_Layout(rows), s)
    assert [r for r, _ in rows] == ["keep_keyed", "keep_range", "root_mode", "use_nla"]


@pytest.mark.timeout(180)
def test_follow_curve_walks_the_circle_in_the_scene_frames(model_prefs):
    """A Bezier circle of radius 2 m walked from the scene's first to its last frame: the pelvis stays near the
    curve and the Action spans the frame range; a curve without points is refused before any job starts."""
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start, scene.frame_end = 30, 1, 301  # 10 s
    bpy.ops.curve.primitive_bezier_circle_add(radius=2.0, location=(0, 0, 0))
    curve = bpy.context.active_object
    curve.data.resolution_u = 8
    bpy.ops.object.select_all(action="DESELECT")
    bpy.context.view_layer.objects.active = None
    s = bpy.context.window_manager.mrgen_new
    s.seed, s.num, s.label, s.follow_curve, s.path_curve, s.path_timing = 0, 1, "walk", True, curve.name, "scene"
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    obj = bpy.context.active_object
    action = obj.animation_data.action
    assert action["mrgen"]["path_method"] == "warp" and "path" in action.name
    assert tuple(action.frame_range) == (1.0, 301.0)
    pelvis = blender_joints(obj, range(1, 302, 10))[:, 0]
    radius = np.linalg.norm(pelvis[:, :2], axis=1)
    assert np.abs(radius - 2.0).mean() < 0.15 and np.abs(radius - 2.0).max() < 0.4
    angle = np.unwrap(np.arctan2(pelvis[:, 1], pelvis[:, 0]))
    assert abs(angle[-1] - angle[0]) > 1.8 * np.pi  # once round

    empty = bpy.data.objects.new("NoPoints", bpy.data.curves.new("NoPoints", "CURVE"))
    bpy.context.scene.collection.objects.link(empty)
    s.path_curve = empty.name
    bpy.ops.object.select_all(action="DESELECT")
    bpy.context.view_layer.objects.active = None
    with pytest.raises(RuntimeError, match="NoPoints has no points"):
        bpy.ops.mrgen.generate(blocking=True)


@pytest.mark.timeout(180)
def test_follow_an_empty_keyed_at_waypoints(model_prefs):
    """An empty keyed at three frames is a timed path, sampled at every frame between its first and last key (the
    keys' Bezier easing kept, not straight lines between the keys): the result starts at its first key and the
    pelvis is near each waypoint at its frame; an object with one location key is refused before any job starts."""
    scene = bpy.context.scene
    scene.render.fps, scene.frame_start, scene.frame_end, scene.frame_current = 30, 1, 250, 40
    marker = bpy.data.objects.new("Waypoints", None)
    scene.collection.objects.link(marker)
    keys = {10: (0.0, 0.0), 100: (3.0, 0.0), 190: (3.0, 3.0)}  # 1 m/s, a right-angle turn
    for frame, (x, y) in keys.items():
        marker.location = (x, y, 0.0)
        marker.keyframe_insert("location", frame=frame)
    points, times, first = addon_module("direct").keyed_waypoints(bpy.context, marker, 30.0)
    assert first == 10 and len(points) == len(times) == 181 and times[-1] == pytest.approx(6.0)
    scene.frame_set(25)
    eased_x = marker.matrix_world.translation.x  # Bezier keys ease in: behind the straight line's 0.5 m
    scene.frame_set(40)
    assert points[15][0] == pytest.approx(eased_x, abs=1e-5) and eased_x < 0.5 - 0.1
    bpy.ops.object.select_all(action="DESELECT")
    bpy.context.view_layer.objects.active = None
    s = bpy.context.window_manager.mrgen_new
    s.seed, s.num, s.label, s.follow_curve, s.path_curve = 0, 1, "walk", True, marker.name
    assert bpy.ops.mrgen.generate(blocking=True) == {"FINISHED"}
    assert scene.frame_current == 40  # the playhead is left where it was
    obj = bpy.context.active_object
    action = obj.animation_data.action
    assert action["mrgen"]["path_timing"] == "keys" and action["mrgen"]["path_method"] == "warp"
    lo, hi = action.frame_range
    assert lo == 10.0 and abs(hi - 190.0) <= 1.0
    pelvis = blender_joints(obj, list(keys))[:, 0, :2]
    err = np.linalg.norm(pelvis - np.array(list(keys.values())), axis=1)
    assert err.max() < 0.35, err

    one = bpy.data.objects.new("OneKey", None)
    scene.collection.objects.link(one)
    one.keyframe_insert("location", frame=1)
    s.path_curve = one.name
    bpy.ops.object.select_all(action="DESELECT")
    bpy.context.view_layer.objects.active = None
    with pytest.raises(RuntimeError, match="OneKey is an empty with one location key"):
        bpy.ops.mrgen.generate(blocking=True)
