"""Per-armature settings (``Armature.mrgen``), the settings used before any armature exists
(``WindowManager.mrgen_new``) and the state of the running job (``WindowManager.mrgen_job``)."""
from __future__ import annotations

import os

import bpy
from bpy.props import (BoolProperty, CollectionProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty,
                       StringProperty)

from . import preferences

CUSTOM_MODEL = "__custom__"
_model_items_cache: list = []  # Blender needs the enum strings kept alive


def _model_items(self, context):
    prefs = preferences.get_prefs(context)
    folder = preferences.model_folder(prefs)
    items = [(f, os.path.splitext(f)[0], os.path.join(folder, f)) for f in preferences.list_models(folder)]
    items.append((CUSTOM_MODEL, "Other file...", "A model file anywhere on disk"))
    _model_items_cache[:] = items
    return _model_items_cache


def _model_changed(self, context) -> None:
    """Another model was picked: forget what the worker said of the previous one (labels, levels, audio) until the
    next Load or Generate, so nothing is sent on the strength of another model's info."""
    self.model_info, self.num_levels, self.model_audio = "", 0, ""
    self.labels_available.clear()


def _is_armature(self, obj):
    return obj.type == "ARMATURE"


class MRGEN_Label(bpy.types.PropertyGroup):
    """A label the loaded model knows (``name``)."""


class MRGEN_Segment(bpy.types.PropertyGroup):
    label: StringProperty(name="Label", default="")
    start: FloatProperty(name="Start", default=0.0, min=0.0, unit="TIME_ABSOLUTE", description="Seconds")
    end: FloatProperty(name="End", default=2.0, min=0.0, unit="TIME_ABSOLUTE", description="Seconds")


class MRGEN_BoneMapItem(bpy.types.PropertyGroup):
    """``name`` is the SMPL joint; ``bone`` the target bone driven by it (empty: not driven)."""

    bone: StringProperty(name="Bone", default="")


class MRGEN_Settings(bpy.types.PropertyGroup):
    # --- generate ---
    model: EnumProperty(name="Model", items=_model_items, description="Trained model (from the model folder)",
                        update=_model_changed)
    model_file: StringProperty(name="Model file", subtype="FILE_PATH", default="", update=_model_changed)
    labels_available: CollectionProperty(type=MRGEN_Label)
    model_info: StringProperty(default="")
    num_levels: IntProperty(default=0)
    label: StringProperty(name="Label", default="", description="Action label (empty: the model's own mix)")
    use_schedule: BoolProperty(name="Label schedule", default=False,
                               description="Change the label over time (a list of segments in seconds)")
    segments: CollectionProperty(type=MRGEN_Segment)
    segment_index: IntProperty(default=0)
    seconds: FloatProperty(name="Seconds", default=4.0, min=0.1, max=600.0)
    audio_file: StringProperty(name="Speech", subtype="FILE_PATH", default="",
                               description="WAV file whose speech drives the motion (models trained with audio); "
                                           "the motion is as long as the speech")
    model_audio: StringProperty(default="")  # what audio the model follows ("mfcc", "wavlm" or "")
    use_scene_fps: BoolProperty(name="Scene fps", default=True, description="Key at the scene's frame rate")
    fps: FloatProperty(name="fps", default=30.0, min=1.0, max=240.0)
    seed: IntProperty(name="Seed", default=0, min=0)
    num: IntProperty(name="Variations", default=1, min=1, max=16)
    # --- loops, root motion, NLA (generate and blend) ---
    loop: BoolProperty(name="Loop", default=False,
                       description="A seamless loop: the last frame runs on into the first (Cycles modifiers on the "
                                   "keys; the root moves on by the same offset every cycle)")
    cycles: IntProperty(name="Cycles", default=0, min=0, max=64,
                        description="Loop length in periods of the label's training clips (e.g. walk strides); "
                                    "0: Seconds long")
    root_mode: EnumProperty(name="Root", default="keep", items=[
        ("keep", "Keep", "Keep the root's travel"),
        ("in-place", "In place", "No horizontal root travel (height and heading kept), as game engines want cycles")])
    use_nla: BoolProperty(name="NLA strip", default=True,
                          description="Also put every result in an NLA strip at the current frame (one track per "
                                      "request); the Actions stay available")
    # --- follow a path (generate) ---
    follow_curve: BoolProperty(name="Follow curve", default=False,
                               description="Walk along a curve object (its evaluated points on the floor, Blender "
                                           "units to metres); the model's gait is time-warped and re-placed onto "
                                           "the path (the model-agnostic warp), feet cleaned up")
    path_curve: StringProperty(name="Curve", default="",
                               description="The curve object to follow, or an object keyed along the path (e.g. an "
                                           "empty: its animated location between its first and last key, easing "
                                           "included, is the timed path; Timing is then its keys)")
    path_timing: EnumProperty(name="Timing", default="scene", items=[
        ("scene", "Scene frames", "Walk the curve from the scene's first to its last frame"),
        ("seconds", "Seconds", "Walk the curve in Seconds"),
        ("gait", "Own speed", "Walk the curve at the gait's own speed (the length follows)")])
    # --- blend ---
    keep_levels: IntProperty(name="Keep levels", default=2, min=0, max=16,
                             description="Coarse levels taken from the source motion; finer levels are generated "
                                         "(0, with Keep keyed frames: everything between them is new)")
    keep_keyed: BoolProperty(name="Keep keyed frames", default=False,
                             description="Hit the source Action's keyed frames exactly (its poses to hit) and "
                                         "regenerate between them")
    keep_range: StringProperty(name="Frames", default="",
                               description="Frames to keep instead of the keyed ones, e.g. 1-30,200-240 (empty: the "
                                           "keyed frames)")
    coarse_labels: StringProperty(name="Coarse labels", default="", description="Label(s) for the kept levels")
    fine_labels: StringProperty(name="Fine labels", default="", description="Label(s) for the generated levels")
    switch_level: IntProperty(name="Switch level", default=0, min=0, max=16,
                              description="Level where coarse labels give way to fine ones (0: at Keep levels)")
    blend_seed: IntProperty(name="Seed", default=0, min=0)
    # --- train ---
    train_labels: StringProperty(name="Labels", default="",
                                 description="One label for all clips, or one per selected clip (comma-separated); "
                                             "empty: unlabelled")
    train_preset: EnumProperty(name="Preset", default="fast", items=[
        ("fast", "Fast", "A few minutes on a laptop CPU"),
        ("default", "Default", "About ten minutes on a laptop CPU"),
        ("quality", "Quality", "Longer; wider networks"),
        ("tiny", "Tiny (try-out)", "Seconds: checks the pipeline end to end, poor motion")])
    train_path_control: BoolProperty(name="Path control", default=False,
                                     description="Learn to follow the clips' own travel (speed and turning), so "
                                                 "Follow curve steers the model instead of time-warping its gait")
    train_mirror: BoolProperty(name="Mirror clips", default=False,
                               description="Also train on every clip mirrored left to right: the model turns both "
                                           "ways (an asymmetric style, e.g. a limp, is learned on both sides)")
    train_output: StringProperty(name="Save as", subtype="FILE_PATH", default="//mrgen_model.pt",
                                 description="Where the trained model is written")
    place_at: EnumProperty(name="Place at", default="CURRENT", items=[
        ("CURRENT", "Current frame", "The new Action starts at the current frame"),
        ("START", "Scene start", "The new Action starts at the scene's start frame")])
    fit_scene_range: BoolProperty(name="Fit scene range", default=False,
                                  description="Set the scene's frame range to the new Action (otherwise the range "
                                              "and the playhead are left alone)")
    # --- retarget ---
    retarget_target: PointerProperty(name="Target", type=bpy.types.Object, poll=_is_armature,
                                     description="The rigged character that receives the motion")
    scale_hips: BoolProperty(name="Scale hips motion", default=True,
                             description="Scale the hips displacement by the ratio of leg lengths")
    ground_feet: BoolProperty(name="Feet on floor", default=True,
                              description="Move the hips up or down so the target's feet touch the floor (its "
                                          "lowest contact in the clip, measured from the target's own rest pose)")
    floor_offset: FloatProperty(name="Floor", default=0.0, subtype="DISTANCE", unit="LENGTH",
                                description="Height of the floor the feet stand on (world Z)")
    bone_map: CollectionProperty(type=MRGEN_BoneMapItem)
    bone_map_index: IntProperty(default=0)
    bone_map_preset: StringProperty(name="Preset", default="")


class MRGEN_JobState(bpy.types.PropertyGroup):
    running: BoolProperty(default=False)
    kind: StringProperty(default="")
    progress: FloatProperty(name="Progress", default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    status: StringProperty(name="Status", default="")
    error: StringProperty(name="Error", default="")


CLASSES = (MRGEN_Label, MRGEN_Segment, MRGEN_BoneMapItem, MRGEN_Settings, MRGEN_JobState)


def settings_for(context):
    """The settings to show and use: the active SMPL armature's own, else the ones for a new SMPL armature."""
    obj = context.active_object
    if obj is not None and obj.type == "ARMATURE" and obj.get("mrgen_smpl"):
        return obj.data.mrgen
    return context.window_manager.mrgen_new


def model_path(settings, prefs) -> str:
    """Absolute path of the chosen model ('' when there is none)."""
    if settings.model == CUSTOM_MODEL or not settings.model:
        return bpy.path.abspath(settings.model_file) if settings.model_file else ""
    return os.path.join(preferences.model_folder(prefs), settings.model)


def start_frame(settings, scene) -> int:
    """The frame a new Generate/Blend result starts at (``place_at``: the current frame or the scene start)."""
    return int(scene.frame_start if settings.place_at == "START" else scene.frame_current)


def label_request(settings) -> str:
    """The ``labels`` argument for the worker: a single label or a schedule ``walk:0-4,jump:4-6``."""
    if settings.use_schedule:
        return ",".join(f"{s.label.strip()}:{s.start:g}-{s.end:g}" for s in settings.segments if s.label.strip())
    return settings.label.strip()


def copy_settings(src, dst) -> None:
    """Copy the generate/blend settings (not the retarget ones) between two setting groups."""
    for key in ("model", "model_file", "label", "use_schedule", "seconds", "use_scene_fps", "fps", "seed", "num",
                "keep_levels", "coarse_labels", "fine_labels", "switch_level", "blend_seed", "model_info",
                "num_levels", "audio_file", "model_audio", "loop", "cycles", "root_mode", "use_nla", "keep_keyed",
                "keep_range", "place_at", "fit_scene_range", "follow_curve", "path_curve", "path_timing"):
        try:
            setattr(dst, key, getattr(src, key))
        except (TypeError, ValueError):
            pass
    dst.labels_available.clear()
    for item in src.labels_available:
        dst.labels_available.add().name = item.name
    dst.segments.clear()
    for s in src.segments:
        d = dst.segments.add()
        d.label, d.start, d.end = s.label, s.start, s.end


def register():
    for c in CLASSES:
        bpy.utils.register_class(c)
    bpy.types.Armature.mrgen = PointerProperty(type=MRGEN_Settings)
    bpy.types.WindowManager.mrgen_new = PointerProperty(type=MRGEN_Settings)
    bpy.types.WindowManager.mrgen_job = PointerProperty(type=MRGEN_JobState)


def unregister():
    del bpy.types.WindowManager.mrgen_job
    del bpy.types.WindowManager.mrgen_new
    del bpy.types.Armature.mrgen
    for c in reversed(CLASSES):
        bpy.utils.unregister_class(c)
