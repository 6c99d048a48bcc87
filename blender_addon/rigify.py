"""Generated Rigify rigs: the switches that make the FK controls (where retargeted keys go) drive the body.

A generated rig starts with its limbs in IK (``IK_FK`` = 0 on ``thigh_parent.L`` and ``upper_arm_parent.L`` ...), the
arms' FK chain following the torso only partly and the neck and head following the torso half or not at all, so
keys on the FK controls would not move the deform bones. Retarget keys these switches in its own Action, once at
its first frame: the rig is in FK wherever that Action plays, and the rig's other Actions keep their own settings.
"""
from __future__ import annotations

from . import keyframes

#: Custom property -> value for following FK keys; every pose bone that has the property gets it.
FK_SWITCHES: dict[str, float] = {"IK_FK": 1.0, "FK_limb_follow": 1.0, "neck_follow": 1.0, "head_follow": 1.0}


def is_generated_rigify(obj) -> bool:
    """A rig made by Rigify's Generate (its limb parents carry the ``IK_FK`` switch)."""
    return obj.type == "ARMATURE" and any("IK_FK" in pb.keys() for pb in obj.pose.bones)


def fk_switches(obj) -> dict[tuple[str, str], float]:
    """``{(pose bone, property): FK value}`` for every switch the rig has."""
    out = {}
    for pb in obj.pose.bones:
        for prop, value in FK_SWITCHES.items():
            if prop in pb.keys():
                out[(pb.name, prop)] = value
    return out


def key_fk_switches(obj, action, frames) -> list[tuple[str, str]]:
    """On a generated Rigify rig, key its FK switches in ``action`` at ``frames[0]``; returns what was keyed."""
    if not is_generated_rigify(obj):
        return []
    values = fk_switches(obj)
    keyframes.key_constants(obj, action, values, float(frames[0]))
    return list(values)
