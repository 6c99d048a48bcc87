"""``mrgen.train``: train a model from the selected SMPL armatures' Actions (one clip each) in the worker."""
from __future__ import annotations

import os

import bpy

from .. import jobs, props, rig
from ..core import write_npz
from .common import JobOperator, UserError, blocking_prop, require_prefs, temp_dir


class MRGEN_OT_train(JobOperator, bpy.types.Operator):
    """Train a model on the current Actions of the selected SMPL armatures (Cancel stops and keeps a checkpoint)"""

    bl_idname = "mrgen.train"
    bl_label = "Train"

    blocking: blocking_prop()

    def make_job(self, context):
        prefs = require_prefs(context)
        sources = [o for o in context.selected_objects if rig.is_smpl_armature(o) and o.animation_data
                   and o.animation_data.action]
        active = context.active_object
        if rig.is_smpl_armature(active) and active not in sources and active.animation_data and \
                active.animation_data.action:
            sources.insert(0, active)
        if not sources:
            raise UserError("select one or more SMPL armatures whose Actions are the training clips")
        s = props.settings_for(context)
        out = bpy.path.abspath(s.train_output.strip() or "//mrgen_model.pt")
        if out.startswith("//") or not os.path.isabs(out):
            raise UserError("save the .blend file first, or give an absolute path for the trained model")
        if not out.lower().endswith(".pt"):
            out += ".pt"
        clips = []
        for o in sources:
            motion = rig.motion_from_action(o)
            path = os.path.join(temp_dir(), f"train_{len(clips):02d}_{bpy.path.clean_name(o.name)}.npz")
            write_npz(motion, path)
            clips.append(path)
        labels = [x.strip() for x in s.train_labels.split(",") if x.strip()]
        if labels and len(labels) not in (1, len(clips)):
            raise UserError(f"give one label for all clips or one per clip ({len(clips)} selected), got "
                            f"{len(labels)}")
        per_clip = None if not labels else labels[0] if len(labels) == 1 else labels
        owner = active.name if rig.is_smpl_armature(active) else None

        def apply(ctx, result):
            target = bpy.data.objects.get(owner).data.mrgen if owner and owner in bpy.data.objects else \
                ctx.window_manager.mrgen_new
            target.model = props.CUSTOM_MODEL
            target.model_file = result["model"]
            yield "model selected"
            note = " (stopped early: checkpoint saved)" if result.get("stopped_early") else ""
            return f"trained {os.path.basename(result['model'])}{note}"

        params = {"clips": clips, "out_path": out, "preset": s.train_preset, "label_per_clip": per_clip,
                  "device": prefs.device, "procs": int(prefs.train_procs),  # 0: one per physical core
                  "path_control": bool(s.train_path_control), "mirror": bool(s.train_mirror)}
        return jobs.Job("train", "train", params, apply, label="Train")


CLASSES = (MRGEN_OT_train,)
