"""Source-rig presets (BVH joint names -> SMPL joints), rig auto-detection and user mapping files.

A mapping sends each SMPL joint name (smplx spelling) to one source joint name or a list of names composed in chain
order (e.g. CMU ``["LHipJoint", "LeftUpLeg"]``): the SMPL joint takes the chain's composed (= the last joint's global)
rotation and the last joint's position. A name may list alternatives, ``"LeftHandIndex1|LFingers"`` (the first the
file has wins). SMPL joints left out have no source (their local rotation stays identity, or the solver splits the
parent's rotation). Names match exactly, else ignoring case and namespace prefixes (``mixamorig:``, ``Armature|``;
see :mod:`.naming`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping, Sequence

from ..errors import RetargetError
from ..skeleton import JOINT_NAMES
from .naming import NameLookup, read_mapping_file, resolve_names, smpl_joint_items

__all__ = ["Rig", "RIGS", "detect_rig", "load_mapping", "normalize_mapping", "REQUIRED_JOINTS"]

#: SMPL joints every mapping must provide: the legs, the arms and the head chain.
REQUIRED_JOINTS: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "head",
)


@dataclass(frozen=True)
class Rig:
    """A named preset: ``joints`` SMPL name -> source chain; ``optional`` SMPL names a file of this rig may lack."""

    name: str
    joints: Mapping[str, tuple[str, ...]]
    optional: frozenset = field(default_factory=frozenset)
    description: str = ""


def _lr(template: dict[str, str | tuple[str, ...]], left: dict[str, str], right: dict[str, str]) -> dict:
    """Expand ``{L}`` / ``{R}`` style keys: ``"{s}_hip": "{S}UpLeg"`` for both sides."""
    out: dict[str, tuple[str, ...]] = {}
    for k, v in template.items():
        chain = (v,) if isinstance(v, str) else tuple(v)
        if "{s}" in k:
            for side in (left, right):
                out[k.format(**side)] = tuple(c.format(**side) for c in chain)
        else:
            out[k] = chain
    return out


_L = {"s": "left", "S": "Left", "a": "L", "b": "l"}
_R = {"s": "right", "S": "Right", "a": "R", "b": "r"}

CMU_MOTIONBUILDER = Rig("cmu_motionbuilder", _lr({
    "pelvis": "Hips", "{s}_hip": ("{a}HipJoint", "{S}UpLeg"), "spine1": "LowerBack", "{s}_knee": "{S}Leg",
    "spine2": "Spine", "{s}_ankle": "{S}Foot", "spine3": "Spine1", "{s}_foot": "{S}ToeBase", "neck": ("Neck", "Neck1"),
    "{s}_collar": "{S}Shoulder", "head": "Head", "{s}_shoulder": "{S}Arm", "{s}_elbow": "{S}ForeArm",
    "{s}_wrist": "{S}Hand", "{s}_hand": "{S}HandIndex1|{a}Fingers",
}, _L, _R), frozenset({"left_hand", "right_hand", "left_foot", "right_foot"}),
    "CMU BVH, cgspeed MotionBuilder-friendly release (LHipJoint, LowerBack, Neck1)")

CMU_3DSMAX = Rig("cmu_3dsmax", _lr({
    "pelvis": "Hips", "{s}_hip": ("{a}HipJoint", "{S}Hip"), "spine1": "lowerback", "{s}_knee": "{S}Knee",
    "spine2": "Chest", "{s}_ankle": "{S}Ankle", "spine3": "Chest2", "{s}_foot": "{S}Toe", "neck": ("lowerneck", "Neck"),
    "{s}_collar": "{S}Collar", "head": "Head", "{s}_shoulder": "{S}Shoulder", "{s}_elbow": "{S}Elbow",
    "{s}_wrist": "{S}Wrist", "{s}_hand": "{a}Fingers",
}, _L, _R), frozenset({"left_hand", "right_hand", "left_foot", "right_foot"}),
    "CMU BVH, cgspeed 3dsMax-friendly release (LeftHip = thigh, LeftShoulder = upper arm)")

BANDAI = Rig("bandai_namco", _lr({
    "pelvis": "Hips", "{s}_hip": "UpperLeg_{a}", "spine1": "Spine", "{s}_knee": "LowerLeg_{a}",
    "{s}_ankle": "Foot_{a}", "spine3": "Chest", "{s}_foot": "Toes_{a}", "neck": "Neck",
    "{s}_collar": "Shoulder_{a}", "head": "Head", "{s}_shoulder": "UpperArm_{a}", "{s}_elbow": "LowerArm_{a}",
    "{s}_wrist": "Hand_{a}",
}, _L, _R), frozenset({"left_foot", "right_foot"}),
    "Bandai Namco Research Motion Dataset (joint_Root, UpperLeg_L, ...)")

ICLONE_CC = Rig("iclone_cc", _lr({
    "pelvis": "CC_Base_Hip", "{s}_hip": "CC_Base_{a}_Thigh", "spine1": "CC_Base_Waist", "{s}_knee": "CC_Base_{a}_Calf",
    "spine2": "CC_Base_Spine01", "{s}_ankle": "CC_Base_{a}_Foot", "spine3": "CC_Base_Spine02",
    "{s}_foot": "CC_Base_{a}_ToeBase", "neck": ("CC_Base_NeckTwist01", "CC_Base_NeckTwist02"),
    "{s}_collar": "CC_Base_{a}_Clavicle", "head": "CC_Base_Head", "{s}_shoulder": "CC_Base_{a}_Upperarm",
    "{s}_elbow": "CC_Base_{a}_Forearm", "{s}_wrist": "CC_Base_{a}_Hand", "{s}_hand": "CC_Base_{a}_Mid1",
}, _L, _R), frozenset({"left_hand", "right_hand", "left_foot", "right_foot", "spine2"}),
    "Reallusion Character Creator / iClone (CC_Base_*, with or without RL_BoneRoot)")

SECOND_LIFE = Rig("second_life", _lr({
    "pelvis": "hip", "{s}_hip": ("{b}Buttock", "{b}Thigh"), "spine1": "abdomen", "{s}_knee": "{b}Shin",
    "{s}_ankle": "{b}Foot", "spine3": "chest", "neck": "neck", "{s}_collar": "{b}Collar", "head": "head",
    "{s}_shoulder": "{b}Shldr", "{s}_elbow": "{b}ForeArm", "{s}_wrist": "{b}Hand", "{s}_hand": "{b}Mid1",
}, _L, _R), frozenset({"left_hand", "right_hand"}),
    "Second Life / Poser / DAZ style BVH (hip, abdomen, lThigh, lShldr, ...)")

MIXAMO = Rig("mixamo", _lr({
    "pelvis": "Hips", "{s}_hip": "{S}UpLeg", "spine1": "Spine", "{s}_knee": "{S}Leg", "spine2": "Spine1",
    "{s}_ankle": "{S}Foot", "spine3": "Spine2", "{s}_foot": "{S}ToeBase", "neck": "Neck", "{s}_collar": "{S}Shoulder",
    "head": "Head", "{s}_shoulder": "{S}Arm", "{s}_elbow": "{S}ForeArm", "{s}_wrist": "{S}Hand",
    "{s}_hand": "{S}HandMiddle1",
}, _L, _R), frozenset({"left_hand", "right_hand", "left_foot", "right_foot", "left_collar", "right_collar"}),
    "Mixamo (mixamorig:Hips, LeftUpLeg, Spine2, ...; with or without the mixamorig prefix)")

SMPL = Rig("smpl", {n: (n,) for n in JOINT_NAMES}, frozenset({"left_hand", "right_hand"}),
           "SMPL joint names (smplx spelling), e.g. mrgen's own BVH export")

_SMPL_ALT = ("Pelvis", "L_Hip", "R_Hip", "Spine1", "L_Knee", "R_Knee", "Spine2", "L_Ankle", "R_Ankle", "Spine3",
             "L_Foot", "R_Foot", "Neck", "L_Collar", "R_Collar", "Head", "L_Shoulder", "R_Shoulder", "L_Elbow",
             "R_Elbow", "L_Wrist", "R_Wrist", "L_Hand", "R_Hand")
SMPL_ALT = Rig("smpl_capitalised", {n: (a,) for n, a in zip(JOINT_NAMES, _SMPL_ALT)},
               frozenset({"left_hand", "right_hand"}), "SMPL joint names as Pelvis, L_Hip, ... (m_avg_ prefix too)")

#: All presets, most specific first (detection prefers the rig that explains the most joints).
RIGS: tuple[Rig, ...] = (CMU_MOTIONBUILDER, CMU_3DSMAX, BANDAI, ICLONE_CC, SECOND_LIFE, MIXAMO, SMPL, SMPL_ALT)

def _apply(rig: Rig, names: NameLookup) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    found, missing = {}, []
    for smpl, chain in rig.joints.items():
        r = resolve_names(names, chain)
        if r is None:
            missing.append(smpl)
        else:
            found[smpl] = r
    return found, missing


def detect_rig(names: Sequence[str]) -> tuple[str, dict[str, tuple[str, ...]]] | None:
    """Find the preset that explains a file's joint ``names``: ``(rig name, mapping)`` with the file's own spelling,
    or None when no preset fits (every non-optional joint of the preset must be present)."""
    best = None
    lookup = NameLookup(names)
    for rig in RIGS:
        found, missing = _apply(rig, lookup)
        if any(m not in rig.optional for m in missing):
            continue
        score = (len(found), sum(len(c) for c in found.values()))
        if best is None or score > best[0]:
            best = (score, rig.name, found)
    return None if best is None else (best[1], best[2])


def normalize_mapping(mapping: Mapping, names: Sequence[str] | None = None, where: str | None = None
                      ) -> dict[str, tuple[str, ...]]:
    """Validate a user mapping (SMPL joint -> source name or list of names) and return it as tuples.

    Raises :class:`RetargetError` naming ``where`` for unknown SMPL joint names, empty or non-string entries, source
    joints absent from ``names`` (when given) and mappings lacking the joints in :data:`REQUIRED_JOINTS`.
    """
    out: dict[str, tuple[str, ...]] = {}
    for k, v in smpl_joint_items(mapping, "mapping", "a joint mapping must be a JSON object {smpl_joint: source_joint "
                                 "or [joints]}", where):
        chain = (v,) if isinstance(v, str) else v
        if not isinstance(chain, (list, tuple)) or not chain or not all(isinstance(c, str) and c for c in chain):
            raise RetargetError(f"mapping for {k!r} must be a joint name or a non-empty list of names, got {v!r}",
                                where)
        out[k] = tuple(chain)
    missing = [j for j in REQUIRED_JOINTS if j not in out]
    if missing:
        raise RetargetError(f"the mapping lacks SMPL joints {', '.join(missing)}", where)
    if names is not None:
        resolved = {}
        lookup = NameLookup(names)
        for k, chain in out.items():
            r = resolve_names(lookup, chain)
            if r is None:
                absent = [c for c in chain if resolve_names(lookup, (c,)) is None]
                raise RetargetError(f"mapping for {k!r} names joint(s) {', '.join(map(repr, absent))} that the BVH "
                                    "file does not have", where)
            resolved[k] = r
        out = resolved
    return out


def load_mapping(path: str | os.PathLike, names: Sequence[str] | None = None) -> dict[str, tuple[str, ...]]:
    """Read and validate a JSON mapping file (see :func:`normalize_mapping`); errors name the file."""
    data, path = read_mapping_file(path, "mapping")
    return normalize_mapping(data, names, path)
