"""Retargeting between BVH skeletons and SMPL: rig presets and detection (:mod:`.rigs`), the solver (:mod:`.solve`)."""
from .rigs import RIGS, Rig, detect_rig, load_mapping, normalise_mapping
from .solve import RetargetInfo, bvh_to_motion, retarget

__all__ = ["bvh_to_motion", "retarget", "RetargetInfo", "detect_rig", "load_mapping", "normalise_mapping", "Rig",
           "RIGS"]
