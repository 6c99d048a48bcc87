"""``mrgen.blend``: keep the coarse levels of the active SMPL armature's Action and generate the finer ones."""
from __future__ import annotations

import os

import bpy

from .. import direct, jobs, keyframes, props, rig
from ..core import write_npz
from .common import JobOperator, UserError, blocking_prop, require_prefs, scene_fps, temp_dir
from .generate import _short, chosen_model, make_apply


def kept_frames(obj, action, s) -> str | None:
    """The ``keep_frames`` of a Blend request (source frames, from 0 at the Action's first frame): the frames given in
    the panel, else the Action's keyed frames; None when Keep keyed frames is off."""
    if not s.keep_keyed:
        return None
    lo, hi = keyframes.frame_range(obj, action)
    if s.keep_range.strip():
        try:
            frames = direct.parse_frames(s.keep_range)
        except ValueError as e:
            raise UserError(f"Frames {s.keep_range!r}: {e} (e.g. 1-30,200-240)") from None
    else:
        frames = direct.keyed_frames(obj, action)
        if len(frames) >= hi - lo + 1:
            raise UserError(f"every frame of {action.name} is keyed: give the Frames to keep (e.g. "
                            f"{lo}-{lo + 10},{max(lo, hi - 10)}-{hi})")
    outside = [f for f in frames if not lo <= f <= hi]
    if outside:
        raise UserError(f"frame {outside[0]} is outside {action.name} (frames {lo}-{hi})")
    return direct.ranges_text(frames, offset=lo)


class MRGEN_OT_blend(JobOperator, bpy.types.Operator):
    """Blend: keep the coarse structure of the current Action and generate new detail (a new Action)"""

    bl_idname = "mrgen.blend"
    bl_label = "Blend"
    bl_options = {"UNDO"}

    blocking: blocking_prop()

    def make_job(self, context):
        prefs = require_prefs(context)
        obj = context.active_object
        if not rig.is_smpl_armature(obj):
            raise UserError("select an SMPL armature (made by Generate or Import) as the blend source")
        action = obj.animation_data.action if obj.animation_data else None
        if action is None:
            raise UserError(f"{obj.name} has no Action to blend from")
        s = obj.data.mrgen
        model = chosen_model(context, s, prefs)
        fps = scene_fps(context.scene)
        source = rig.motion_from_action(obj, action, fps=float(action.get("mrgen_fps", 0) or fps))
        path = os.path.join(temp_dir(), f"blend_source_{abs(hash(action.name)) % 10**8}.npz")
        write_npz(source, path)
        keep = kept_frames(obj, action, s)
        params = {"model": model, "device": prefs.device, "source": path, "keep_levels": int(s.keep_levels),
                  "seed": int(s.blend_seed), "num": int(s.num), "coarse_labels": s.coarse_labels.strip() or None,
                  "fine_labels": s.fine_labels.strip() or None,
                  "switch_level": int(s.switch_level) or None, "name": "blend", "out_dir": temp_dir(),
                  "keep_frames": keep, "root": s.root_mode}
        base = (f"{_short(action.name, 28)} blend k{s.keep_levels} s{s.blend_seed}" + (" keys" if keep else "")
                + (" inplace" if s.root_mode == "in-place" else ""))
        meta = {"model": model, "source_action": action.name, "keep_levels": int(s.keep_levels),
                "coarse_labels": s.coarse_labels, "fine_labels": s.fine_labels, "switch_level": int(s.switch_level),
                "seed": int(s.blend_seed), "num": int(s.num), "fps": float(fps), "keep_frames": keep or "",
                "root": s.root_mode}
        # the result keeps the source's length in seconds and in frames (at the scene's fps); kept frames stay
        # where they are in the source Action
        frames = int(round((source.num_frames - 1) * fps / source.fps)) + 1
        lo = keyframes.frame_range(obj, action)[0]
        apply = make_apply("blend", obj.name, fps, lo if keep else props.start_frame(s, context.scene), base, meta,
                           lambda ctx: ctx.window_manager.mrgen_new,
                           nla_frame=context.scene.frame_current if s.use_nla else None,
                           fit_range=s.fit_scene_range, num_frames=frames)
        return jobs.Job("blend", "blend", params, apply, label="Blend")


CLASSES = (MRGEN_OT_blend,)
