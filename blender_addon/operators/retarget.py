"""``mrgen.retarget`` and the bone-map tools: put the SMPL armature's motion on any rigged character."""
from __future__ import annotations

import bpy
import numpy as np
from bpy.props import StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from .. import constraint_fit, keyframes, rig, rigify
from ..core import JOINT_NAMES, MrgenError
from ..core import target as _target

detect_bone_map, load_bone_map, save_bone_map = _target.detect_bone_map, _target.load_bone_map, _target.save_bone_map
retarget_to_rig, validate_bone_map = _target.retarget_to_rig, _target.validate_bone_map
from .common import blocking_prop


def _source_and_target(context):
    src = context.active_object
    if not rig.is_smpl_armature(src):
        raise MrgenError("make the SMPL armature (the motion source) the active object")
    tgt = src.data.mrgen.retarget_target
    if tgt is None or tgt.type != "ARMATURE":
        raise MrgenError("choose the target armature (your rigged character) in the Retarget panel")
    if tgt == src:
        raise MrgenError("the target must be another armature than the SMPL source")
    return src, tgt


def current_map(tgt) -> dict[str, str]:
    return {item.name: item.bone for item in tgt.data.mrgen.bone_map if item.bone}


def fill_map(tgt, mapping: dict[str, str], preset: str = "") -> None:
    """Show ``mapping`` in the target's bone-map list (one row per SMPL joint)."""
    s = tgt.data.mrgen
    s.bone_map.clear()
    for j in JOINT_NAMES:
        item = s.bone_map.add()
        item.name = j
        item.bone = mapping.get(j, "")
    s.bone_map_preset = preset


def ensure_map(tgt) -> dict[str, str]:
    """The target's bone map, auto-detected the first time."""
    mapping = current_map(tgt)
    if not mapping:
        preset, mapping = detect_bone_map([b.name for b in tgt.data.bones])
        fill_map(tgt, mapping, preset)
    return mapping


class MRGEN_OT_retarget(bpy.types.Operator):
    """Bake the SMPL armature's current Action onto the target armature (a new Action on the target)"""

    bl_idname = "mrgen.retarget"
    bl_label = "Retarget"
    bl_options = {"REGISTER", "UNDO"}

    blocking: blocking_prop()  # retargeting is quick numpy work: it always runs to completion

    def execute(self, context):
        try:
            src, tgt = _source_and_target(context)
            action = src.animation_data.action if src.animation_data else None
            if action is None:
                raise MrgenError(f"{src.name} has no Action to retarget")
            mapping = validate_bone_map(ensure_map(tgt), [b.name for b in tgt.data.bones])
            motion = rig.motion_from_action(src, action)
            s = src.data.mrgen
            res = retarget_to_rig(motion, rig.target_rig(tgt), mapping, source_world=src.matrix_world,
                                  scale_hips=s.scale_hips, floor=s.floor_offset if s.ground_feet else None)
        except (MrgenError, ValueError) as e:
            self.report({"ERROR"}, getattr(e, "message", None) or str(e))
            return {"CANCELLED"}
        lo, _ = keyframes.frame_range(src, action)
        new = bpy.data.actions.new(f"{action.name} -> {tgt.name}")
        new.use_fake_user = True
        frames = lo + np.arange(motion.num_frames)
        old = tgt.animation_data.action if tgt.animation_data else None
        stashed = keyframes.stash_action(tgt, old)
        keyframes.write_keys(tgt, new, frames, {b: res.quats[:, i] for i, b in enumerate(res.bones)},
                             {res.root_bone: res.root_location})
        switched = rigify.key_fk_switches(tgt, new, frames)
        fit = {}
        if constraint_fit.needs_fit(tgt, res.bones):
            scene = context.scene
            here = scene.frame_current
            fit = constraint_fit.fit_through_constraints(tgt, new, frames, res, mapping,
                                                         s.floor_offset if s.ground_feet else None)
            scene.frame_set(here)
        new["mrgen"] = {"kind": "retarget", "source_action": action.name, "source": src.name,
                        "hips_scale": res.hips_scale, "bones": len(res.bones),
                        "floor_shift": res.floor_shift + fit.get("floor_shift", 0.0),
                        "previous_action": old.name if old is not None else "", "fk_switches": len(switched),
                        "constraint_passes": fit.get("passes", 0)}
        msg = f"retargeted {action.name} onto {tgt.name}: {len(res.bones)} bones, hips x{res.hips_scale:.2f}"
        if stashed:
            msg += f"; its previous action {old.name!r} is kept in the NLA ({keyframes.STASH_TRACK})"
        if switched:
            msg += f"; {len(switched)} Rigify IK/FK switches keyed to FK"
        self.report({"INFO"}, msg)
        return {"FINISHED"}


class MRGEN_OT_bone_map_detect(bpy.types.Operator):
    """Detect the bone map from the target's bone names (Mixamo, Rigify, Unreal, CMU, SMPL, ...)"""

    bl_idname = "mrgen.bone_map_detect"
    bl_label = "Detect Bone Map"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        try:
            _, tgt = _source_and_target(context)
            preset, mapping = detect_bone_map([b.name for b in tgt.data.bones])
        except MrgenError as e:
            self.report({"ERROR"}, e.message)
            return {"CANCELLED"}
        fill_map(tgt, mapping, preset)
        self.report({"INFO"}, f"{preset}: {len(mapping)} bones mapped")
        return {"FINISHED"}


class MRGEN_OT_bone_map_save(bpy.types.Operator, ExportHelper):
    """Save the target's bone map as a JSON preset"""

    bl_idname = "mrgen.bone_map_save"
    bl_label = "Save Bone Map"
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context):
        try:
            _, tgt = _source_and_target(context)
            save_bone_map(validate_bone_map(current_map(tgt), [b.name for b in tgt.data.bones]), self.filepath,
                          tgt.data.mrgen.bone_map_preset)
        except MrgenError as e:
            self.report({"ERROR"}, e.message)
            return {"CANCELLED"}
        self.report({"INFO"}, f"saved {self.filepath}")
        return {"FINISHED"}


class MRGEN_OT_bone_map_load(bpy.types.Operator, ImportHelper):
    """Load a JSON bone-map preset for the target"""

    bl_idname = "mrgen.bone_map_load"
    bl_label = "Load Bone Map"
    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context):
        try:
            _, tgt = _source_and_target(context)
            mapping = load_bone_map(self.filepath, [b.name for b in tgt.data.bones])
        except MrgenError as e:
            self.report({"ERROR"}, str(e))
            return {"CANCELLED"}
        fill_map(tgt, mapping, bpy.path.display_name_from_filepath(self.filepath))
        self.report({"INFO"}, f"{len(mapping)} bones mapped")
        return {"FINISHED"}


CLASSES = (MRGEN_OT_retarget, MRGEN_OT_bone_map_detect, MRGEN_OT_bone_map_save, MRGEN_OT_bone_map_load)
