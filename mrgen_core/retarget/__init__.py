"""Retargeting between BVH skeletons and SMPL: rig names and mapping files (:mod:`.naming`), rig presets and
detection (:mod:`.rigs`), the BVH -> SMPL solver (:mod:`.solve`); SMPL -> any armature in :mod:`.target`."""
from .rigs import RIGS, Rig, detect_rig, load_mapping, normalize_mapping
from .solve import RetargetInfo, bvh_to_motion, bvh_to_smpl

__all__ = ["bvh_to_motion", "bvh_to_smpl", "RetargetInfo", "detect_rig", "load_mapping", "normalize_mapping", "Rig",
           "RIGS"]
