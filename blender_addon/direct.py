"""Loops, NLA strips and kept frames in Blender (bpy; the motion side is mrgen_core's numpy code).

- A loop result is keyed with one more frame, the next cycle's first (its pelvis moved on by the cycle's offset), and
  every F-curve gets a Cycles modifier (rotations repeat, the pelvis location repeats with that offset), so it plays
  on past its end; the Action's manual frame range marks it cyclic, one cycle long, for the NLA.
- Every result can also go into an NLA track of its own (one per request), its strips named after their settings and
  placed one after another from the current frame.
- Blend's "Keep keyed frames": the frames of the source Action that hold keys (or a frame range) become the frames
  the result keeps exactly.
- Generate's "Follow curve": a curve object's evaluated points on the floor, in metres, in the armature's space (or
  an object keyed along a path, frame by frame): the ``path`` of a generate request (``mrgen_core.paths``).
"""
from __future__ import annotations

import bpy

from . import keyframes
from .core import sub

_loops = sub("loops")


def loop_for_scene(motion, fps: float):
    """A loop ``motion`` closed with the next cycle's first frame, at ``fps`` with a whole number of frames per
    cycle (a different rate stretches the cycle by under half a frame so that it stays whole)."""
    closed = _loops.close_loop(motion)
    t = motion.num_frames
    cycle = max(1, int(round(t * fps / motion.fps)))
    if abs(motion.fps - fps) < 1e-6:
        return closed
    return closed.copy(fps=t * fps / cycle).resample(fps)


def make_cyclic(obj, action) -> int:
    """Cycles modifiers on every F-curve of ``action`` (the pelvis location repeats with its offset) and the Action's
    frame range set to one cycle (first key to the closing key), flagged cyclic. Returns the F-curves changed."""
    fcs = keyframes.fcurves_of(obj, action)
    n = 0
    for fc in fcs or ():
        mod = fc.modifiers.new("CYCLES")
        if fc.data_path.endswith(".location"):
            mod.mode_before = mod.mode_after = "REPEAT_OFFSET"
        n += 1
    lo, hi = action.frame_range
    if hasattr(action, "use_frame_range"):
        action.use_frame_range = True
        action.frame_start, action.frame_end = lo, hi
        if hasattr(action, "use_cyclic"):
            action.use_cyclic = True
    return n


def add_strips(obj, actions, name: str, frame: int):
    """A new NLA track ``name`` on ``obj`` with one strip per Action, named after it, one after another from
    ``frame``. The active Action stays assigned (it plays over the NLA until unassigned)."""
    if obj.animation_data is None:
        obj.animation_data_create()
    tracks = obj.animation_data.nla_tracks
    track = tracks.new()
    track.name = name
    at = float(frame)
    for action in actions:
        strip = track.strips.new(action.name, int(round(at)), action)
        if hasattr(strip, "action_slot") and strip.action_slot is None and len(getattr(action, "slots", ())):
            strip.action_slot = action.slots[0]
        strip.name = action.name
        at = strip.frame_end + 1
    return track


def keyed_frames(obj, action) -> list[int]:
    """The frames (whole numbers) where any F-curve of ``action`` has a key."""
    frames = set()
    for fc in keyframes.fcurves_of(obj, action) or ():
        frames.update(int(round(k.co[0])) for k in fc.keyframe_points)
    return sorted(frames)


def ranges_text(frames: list[int], offset: int = 0) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3,7-7"`` (each frame less ``offset``)."""
    out, start, prev = [], None, None
    for f in frames:
        if start is None:
            start = prev = f
        elif f == prev + 1:
            prev = f
        else:
            out.append((start, prev))
            start = prev = f
    if start is not None:
        out.append((start, prev))
    return ",".join(f"{a - offset}-{b - offset}" for a, b in out)


def parse_frames(text: str) -> list[int]:
    """Blender frames from ``"1-30,200-240"`` (ValueError with a short reason)."""
    frames = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        a, sep, b = item.partition("-")
        lo, hi = int(a), int(b if sep else a)
        if hi < lo:
            raise ValueError(f"frame range {item!r} runs backwards")
        frames.extend(range(lo, hi + 1))
    if not frames:
        raise ValueError("no frames given")
    return sorted(set(frames))


def track_name(kind: str, base: str) -> str:
    return f"MRGen {kind}: {base}"[:63]


def _to_floor(context, pts, target) -> list[list[float]]:
    """World points in ``target``'s object space (when given), Blender units scaled to metres, as ``[[x, y], ...]``."""
    if target is not None:
        inv = target.matrix_world.inverted()
        pts = [inv @ p for p in pts]
    scale = float(context.scene.unit_settings.scale_length or 1.0)
    return [[float(p.x) * scale, float(p.y) * scale] for p in pts]


def keyed_waypoints(context, obj, fps: float, target=None) -> tuple[list[list[float]], list[float], int]:
    """A timed floor path from an object keyed along a path (e.g. an empty): its world position at every frame from
    its first location key to its last (so the keys' interpolation, Bezier easing included, is followed as the
    viewport plays it), in metres (as :func:`curve_points`), the times in seconds from the first key, and that
    first frame. ValueError naming the object when it has fewer than two location keys."""
    action = obj.animation_data.action if obj.animation_data else None
    keyed = sorted({int(round(k.co[0])) for fc in (keyframes.fcurves_of(obj, action) or () if action else ())
                    if fc.data_path == "location" for k in fc.keyframe_points})
    if len(keyed) < 2:
        raise ValueError(f"Follow: {obj.name} is {'an' if obj.type == 'EMPTY' else 'a'} {obj.type.lower()} with "
                         f"{'no' if not keyed else 'one'} location key; pick a curve, or key its location at two "
                         "or more frames (the waypoints)")
    frames = list(range(keyed[0], keyed[-1] + 1))
    scene = context.scene
    here, pts = scene.frame_current, []
    try:
        for f in frames:
            scene.frame_set(f)
            pts.append(obj.matrix_world.translation.copy())
    finally:
        scene.frame_set(here)
    return _to_floor(context, pts, target), [(f - frames[0]) / fps for f in frames], frames[0]


def curve_points(context, name: str, target=None) -> list[list[float]]:
    """The floor points ``[[x, y], ...]`` in metres of the curve object ``name``: its evaluated shape (modifiers,
    resolution) in world space, then in ``target``'s object space when given (the armature the result is keyed
    on), Blender units scaled to metres by the scene's unit scale; a cyclic first spline is closed. ValueError
    naming the curve when it is missing, not a curve, or has fewer than two points."""
    obj = bpy.data.objects.get(name) if name else None
    if obj is None:
        raise ValueError(f"Follow curve: no curve object {name!r}" if name else "Follow curve: pick a curve object")
    if obj.type != "CURVE":
        raise ValueError(f"Follow curve: {name} is a {obj.type.lower()}, not a curve")
    ev = obj.evaluated_get(context.evaluated_depsgraph_get())
    mesh = ev.to_mesh()
    try:
        pts = [ev.matrix_world @ v.co for v in mesh.vertices] if mesh is not None else []
    finally:
        ev.to_mesh_clear()
    splines = obj.data.splines
    if pts and len(splines) and splines[0].use_cyclic_u:
        pts.append(pts[0].copy())
    if len(pts) < 2:
        raise ValueError(f"Follow curve: {name} has {'no points' if not pts else 'only one point'}")
    return _to_floor(context, pts, target)
