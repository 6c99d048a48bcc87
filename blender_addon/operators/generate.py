"""``mrgen.generate``: new motion from the model (following a label, a schedule or speech) onto an SMPL armature
(a new Action per variation);
``mrgen.load_model``: read the model's labels and levels into the panel."""
from __future__ import annotations

import os

import bpy

from .. import direct, jobs, keyframes, preferences, props, rig
from ..core import read_npz
from .common import JobOperator, UserError, blocking_prop, require_prefs, scene_fps, temp_dir


def chosen_model(context, settings, prefs) -> str:
    path = props.model_path(settings, prefs)
    if not path:
        raise UserError("no model chosen: pick one in the MRGen panel (or set the model folder in the add-on "
                        "preferences)")
    if not os.path.isfile(path):
        raise UserError(f"model file not found: {path}")
    return path


def store_model_info(settings, info: dict | None) -> None:
    """Remember what the worker said about the model (labels for the label search, number of levels)."""
    if not info:
        return
    settings.labels_available.clear()
    for name in info.get("labels") or ():
        settings.labels_available.add().name = str(name)
    settings.num_levels = int(info.get("num_levels") or 0)
    settings.model_audio = str(info.get("audio") or "")
    labels = ", ".join(info.get("labels") or ()) or "none"
    if info.get("clip_codes"):
        labels = f"its clips ({labels}; leave Label empty to visit them all)"
    speech = ", follows speech" if settings.model_audio else ""
    settings.model_info = f"{settings.num_levels} levels, {info.get('fps', 0):g} fps, labels: {labels}{speech}"


def chosen_audio(settings) -> str | None:
    """Absolute path of the speech WAV to follow (None when there is none)."""
    if not settings.audio_file.strip():
        return None
    path = bpy.path.abspath(settings.audio_file)
    if not os.path.isfile(path):
        raise UserError(f"speech file not found: {path}")
    return path


def chosen_wavlm(settings, prefs, audio: str | None) -> str | None:
    """The WavLM checkpoint folder to send with ``audio``: required (UserError when the preference is empty or its
    folder is missing) for a model known to follow WavLM features, sent when set for a model not loaded yet (the
    worker uses it only if the model needs it), never for an MFCC model or without speech."""
    if not audio or settings.model_audio == "mfcc":
        return None
    folder = preferences.wavlm_checkpoint(prefs)
    if settings.model_audio != "wavlm":
        return folder if folder and os.path.isdir(folder) else None
    if not folder:
        raise UserError(f"this model follows WavLM speech features: {preferences.WAVLM_FIX} (the local folder of "
                        "a WavLM model)")
    if not os.path.isdir(folder):
        raise UserError(f"WavLM checkpoint folder not found: {folder} ({preferences.WAVLM_FIX})")
    return folder


def direction_params(s) -> dict:
    """The loop / cycles / root fields of a generate request."""
    params = {"root": s.root_mode}
    if s.loop:
        params["loop"] = True
        if s.cycles and not s.audio_file:
            params["cycles"] = int(s.cycles)
    return params


def path_params(context, s, fps: float, target_name: str | None) -> tuple[dict, int | None]:
    """The ``path`` and ``seconds`` of a Follow request (empty without it) and the frame the result starts at (None:
    where Generate puts it). A curve object: its points in metres, timed by the scene's frame range (from its
    first frame), the Seconds field or the gait's own speed. Any other object keyed along a path (e.g. an empty):
    its animated location from its first key to its last is the timed path, the result starting at its first
    key."""
    if not s.follow_curve:
        return {}, None
    if s.loop:
        raise UserError("Follow curve cannot be combined with Loop")
    target = bpy.data.objects.get(target_name) if target_name else None
    name = s.path_curve.strip()
    obj = bpy.data.objects.get(name) if name else None
    if obj is not None and obj.type != "CURVE":
        points, times, first = direct.keyed_waypoints(context, obj, fps, target)
        return {"path": {"points": points, "times": times}, "seconds": None, "root": "keep"}, first
    points = direct.curve_points(context, name, target)
    scene = context.scene
    seconds = {"scene": (scene.frame_end - scene.frame_start) / fps, "seconds": float(s.seconds)}.get(s.path_timing)
    if seconds is not None and seconds <= 0:
        raise UserError("Follow curve: the scene's frame range is a single frame (set its end, or time the curve "
                        "by Seconds)")
    start = scene.frame_start if s.path_timing == "scene" else None
    return {"path": {"points": points}, "seconds": seconds, "root": "keep"}, start


def direction_meta(s) -> dict:
    return {"loop": bool(s.loop), "cycles": int(s.cycles) if s.loop else 0, "root": s.root_mode}


def direction_suffix(s) -> str:
    """What loop / root mode adds to a result's name."""
    return (" loop" if s.loop else "") + (" inplace" if s.root_mode == "in-place" else "")


def _short(text: str, n: int = 20) -> str:
    return text if len(text) <= n else text[: n - 1] + "~"


def smpl_target(context):
    """Name of the SMPL armature to key: the active one, or None (one is created when the result arrives)."""
    obj = context.active_object
    return obj.name if rig.is_smpl_armature(obj) else None


def make_apply(kind: str, target_name: str | None, fps: float, frame_start: int, base_name: str, meta: dict,
               settings_src_ptr, loop: bool = False, nla_frame: int | None = None, fit_range: bool = False,
               num_frames: int | None = None):
    """The generator that keys the worker's result files as Actions (one per step), from ``frame_start``.
    ``loop``: each a cyclic Action (:func:`..direct.make_cyclic`); ``nla_frame``: also NLA strips on a new track
    from that frame. ``fit_range``: set the scene's frame range to the first Action (the playhead stays where it
    is). ``num_frames``: resample each result to exactly this many frames (a Blend keeps its source's length)."""

    def apply(context, result):
        prefs = require_prefs(context)
        obj = bpy.data.objects.get(target_name) if target_name else None
        if obj is None:
            obj = rig.build_smpl_armature(context, "SMPL", body=prefs.stand_in_body)
            props.copy_settings(settings_src_ptr(context), obj.data.mrgen)
            yield f"created {obj.name}"
        store_model_info(obj.data.mrgen, result.get("model_info"))
        files = list(result.get("files") or ())
        actions = []
        for i, path in enumerate(files):
            motion = read_npz(path)
            if loop:
                motion = direct.loop_for_scene(motion, fps)  # one more key: the next cycle's first
            elif abs(motion.fps - fps) > 1e-6 or (num_frames and motion.num_frames != num_frames):
                motion = motion.resample(fps, num_frames=num_frames)
            name = base_name + (f" v{i + 1}" if len(files) > 1 else "")
            made = {k: motion.meta[k] for k in ("path_method",) if k in (motion.meta or {})}  # how it was made
            action = rig.apply_motion(obj, motion, name, frame_start,
                                      {"mrgen": dict(meta, **made, kind=kind, variation=i,
                                                     frames=motion.num_frames - int(loop))})
            if loop:
                direct.make_cyclic(obj, action)
            actions.append(action)
            try:
                os.remove(path)
            except OSError:
                pass
            yield f"keyed {action.name}"
        if not actions:
            return "the worker returned no motion"
        warnings = result.get("warnings") or ()
        if nla_frame is not None:
            direct.add_strips(obj, actions, direct.track_name(kind, base_name), nla_frame)
        keyframes.assign_action(obj, actions[0])
        scene = context.scene
        lo, hi = keyframes.frame_range(obj, actions[0])
        if fit_range:
            scene.frame_start, scene.frame_end = lo, hi
        scene.frame_set(scene.frame_current)  # show the new pose without moving the playhead
        done = f"{len(actions)} action(s) on {obj.name}, frames {lo}-{hi}"
        return done + "".join(f"; warning: {w}" for w in warnings)

    return apply


class MRGEN_OT_generate(JobOperator, bpy.types.Operator):
    """Generate new motion with the chosen model onto an SMPL armature (a new Action per variation)"""

    bl_idname = "mrgen.generate"
    bl_label = "Generate"
    bl_options = {"UNDO"}  # no redo panel: redoing would run the whole job again

    blocking: blocking_prop()

    def make_job(self, context):
        prefs = require_prefs(context)
        s = props.settings_for(context)
        model = chosen_model(context, s, prefs)
        fps = scene_fps(context.scene) if s.use_scene_fps else s.fps
        labels = props.label_request(s)
        audio = chosen_audio(s)
        wavlm = chosen_wavlm(s, prefs, audio)
        stem = os.path.splitext(os.path.basename(model))[0]
        length = _short(os.path.basename(audio), 16) if audio else f"{s.seconds:g}s"
        cycles = int(s.cycles) if s.loop and not audio else 0
        if cycles:
            length = f"{cycles}x"
        base = f"{_short(stem)} {_short(labels, 24) or 'mix'} {length} s{s.seed}{direction_suffix(s)}"
        meta = {"model": model, "labels": labels, "seconds": float(s.seconds), "fps": float(fps),
                "seed": int(s.seed), "num": int(s.num), "audio": audio or "", "wavlm": wavlm or "",
                **direction_meta(s)}
        # the speech sets the length (the panel greys Seconds out); so do a loop's cycles
        seconds = None if audio or cycles else float(s.seconds)
        params = {"model": model, "device": prefs.device, "seconds": seconds, "seed": int(s.seed),
                  "labels": labels or None, "num": int(s.num), "name": f"{stem}_seed{s.seed}", "out_dir": temp_dir(),
                  "audio": audio, "wavlm": wavlm, **direction_params(s)}
        path, path_start = path_params(context, s, fps, smpl_target(context))
        if path:
            params.update(path)
            base = f"{_short(stem)} {_short(labels, 24) or 'mix'} path {_short(s.path_curve, 16)} s{s.seed}"
            meta.update(path_curve=s.path_curve,  # path_method ("control" or "warp") comes with each result
                        path_timing="keys" if path["path"].get("times") else s.path_timing)
        start = path_start if path_start is not None else props.start_frame(s, context.scene)
        apply = make_apply("generate", smpl_target(context), fps, start, base, meta,
                           lambda ctx: ctx.window_manager.mrgen_new, loop=bool(s.loop),
                           nla_frame=context.scene.frame_current if s.use_nla else None,
                           fit_range=s.fit_scene_range)
        return jobs.Job("generate", "generate", params, apply, label="Generate")


class MRGEN_OT_load_model(JobOperator, bpy.types.Operator):
    """Ask the worker for the chosen model's labels and number of levels"""

    bl_idname = "mrgen.load_model"
    bl_label = "Load Model Info"

    blocking: blocking_prop()

    def make_job(self, context):
        prefs = require_prefs(context)
        s = props.settings_for(context)
        model = chosen_model(context, s, prefs)
        owner = context.active_object.name if rig.is_smpl_armature(context.active_object) else None

        def apply(ctx, result):
            obj = bpy.data.objects.get(owner) if owner else None
            target = obj.data.mrgen if obj is not None else ctx.window_manager.mrgen_new
            store_model_info(target, result)
            yield "labels read"
            return target.model_info

        return jobs.Job("load_model", "load_model", {"model": model, "device": prefs.device}, apply,
                        label="Model")


CLASSES = (MRGEN_OT_generate, MRGEN_OT_load_model)
