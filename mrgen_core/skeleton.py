"""The SMPL 24-joint skeleton: joint names (smplx spelling), parents, rest offsets, forward kinematics.

Offsets are in metres in the SMPL template frame (+Y up, body faces +Z, subject's left is +X); row 0 is the absolute
pelvis position ``J_0`` of the template, rows ``j > 0`` the offset from the parent joint (source:
``shared/docs/smpl_skeleton.md``). Forward kinematics (:meth:`Skeleton.fk`, by :mod:`mrgen_core.geometry`) follows
SMPL/AMASS: ``G_0 = [R_0 | trans + J_0]``, ``G_j = G_parent(j) [R_j | offset_j]``. Works on numpy arrays and torch
tensors alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._backend import ops
from .errors import MrgenError
from .geometry import forward_kinematics_axis_angle

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2", "left_ankle",
    "right_ankle", "spine3", "left_foot", "right_foot", "neck", "left_collar", "right_collar", "head",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hand", "right_hand",
)
NUM_JOINTS = 24
PARENTS = np.array([-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21])
JOINT_INDEX = {n: i for i, n in enumerate(JOINT_NAMES)}
#: Joints whose ground contact the model and the metrics track (ankles and toes).
FOOT_JOINTS = (7, 10, 8, 11)
LEFT_RIGHT_PAIRS = ((1, 2), (4, 5), (7, 8), (10, 11), (13, 14), (16, 17), (18, 19), (20, 21), (22, 23))

#: Rotation taking the SMPL template frame (Y up) to the AMASS/Blender world (Z up): +90 degrees about X.
Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])

OFFSETS: dict[str, np.ndarray] = {
    "neutral": np.array([
    [-0.00179506, -0.22333345, 0.02821913],
    [0.06951974, -0.09140623, -0.00681534],
    [-0.06767048, -0.09052169, -0.00431983],
    [-0.00253287, 0.10896323, -0.02669632],
    [0.03427655, -0.37519857, -0.00449581],
    [-0.03829005, -0.38256899, -0.00885003],
    [0.00548704, 0.13518043, 0.00109247],
    [-0.01359570, -0.39796048, -0.04369333],
    [0.01577377, -0.39841473, -0.04231180],
    [0.00145700, 0.05292223, 0.02542457],
    [0.02635814, -0.05579078, 0.11928840],
    [-0.02537175, -0.04814386, 0.12334795],
    [-0.00277839, 0.21387038, -0.04285703],
    [0.07884473, 0.12174931, -0.03408960],
    [-0.08175919, 0.11883286, -0.03861528],
    [0.00515184, 0.06496960, 0.05134897],
    [0.09097693, 0.03046891, -0.00886815],
    [-0.09601238, 0.03255117, -0.00914307],
    [0.25961220, -0.01277208, -0.02745643],
    [-0.25374198, -0.01332924, -0.02140099],
    [0.24923360, 0.00898603, -0.00117092],
    [-0.25529802, 0.00777230, -0.00555919],
    [0.08404213, -0.00816151, -0.01494537],
    [-0.08462197, -0.00611725, -0.01031509],
]),
    "male": np.array([
    [-0.00217368, -0.24078917, 0.02858379],
    [0.05858135, -0.08228004, -0.01766408],
    [-0.06030973, -0.09051328, -0.01354253],
    [0.00443945, 0.12440355, -0.03838522],
    [0.04345143, -0.38646946, 0.00803700],
    [-0.04325662, -0.38368788, -0.00484304],
    [0.00448844, 0.13795639, 0.02682033],
    [-0.01479033, -0.42687439, -0.03742799],
    [0.01905554, -0.42004559, -0.03456167],
    [-0.00226459, 0.05603240, 0.00285504],
    [0.04105436, -0.06028595, 0.12204242],
    [-0.03483987, -0.06210556, 0.13032329],
    [-0.01339018, 0.21163552, -0.03346757],
    [0.07170248, 0.11399969, -0.01889817],
    [-0.08295365, 0.11247233, -0.02370738],
    [0.01011321, 0.08893736, 0.05040986],
    [0.12292138, 0.04520509, -0.01904600],
    [-0.11322831, 0.04685327, -0.00847207],
    [0.25533190, -0.01564903, -0.02294648],
    [-0.26012751, -0.01436929, -0.03126873],
    [0.26570925, 0.01269811, -0.00737474],
    [-0.26910838, 0.00679372, -0.00602677],
    [0.08669055, -0.01063603, -0.01559429],
    [-0.08875376, -0.00865156, -0.01010707],
]),
    "female": np.array([
    [-0.00087631, -0.21141872, 0.02782112],
    [0.07136120, -0.08958381, -0.00804619],
    [-0.06901202, -0.08896044, -0.00479569],
    [-0.00250821, 0.10325686, -0.02218514],
    [0.03066892, -0.36420937, -0.00668891],
    [-0.03615239, -0.37065046, -0.00918532],
    [0.00358096, 0.12765765, -0.00171301],
    [-0.01155390, -0.38334842, -0.04350161],
    [0.01402864, -0.38363781, -0.04189160],
    [0.00202718, 0.04907222, 0.02786721],
    [0.02333767, -0.05464484, 0.11437012],
    [-0.02204322, -0.04640955, 0.11789971],
    [-0.00196263, 0.20824319, -0.04976548],
    [0.07529828, 0.11778043, -0.03687482],
    [-0.07703282, 0.11560620, -0.04181066],
    [0.00351716, 0.06232219, 0.05020526],
    [0.08531711, 0.03173902, -0.00729284],
    [-0.08920287, 0.03278483, -0.00980219],
    [0.25124731, -0.01196678, -0.02751844],
    [-0.24598966, -0.01315236, -0.02016172],
    [0.23801910, 0.00900687, 0.00004374],
    [-0.24517682, 0.00862195, -0.00353152],
    [0.07966775, -0.00968253, -0.01320559],
    [-0.08040021, -0.00724798, -0.01041932],
]),
}
GENDERS = tuple(OFFSETS)


@dataclass(frozen=True)
class Skeleton:
    """An SMPL skeleton of one body shape: ``offsets`` (24, 3) metres, row 0 the absolute pelvis."""

    offsets: np.ndarray = field(default_factory=lambda: OFFSETS["neutral"].copy())
    gender: str = "neutral"

    @classmethod
    def smpl(cls, gender: str = "neutral") -> "Skeleton":
        """The SMPL mean-shape skeleton for ``gender`` (neutral, male or female)."""
        g = str(gender).lower()
        if g not in OFFSETS:
            raise MrgenError(f"unknown gender {gender!r}; expected one of {', '.join(GENDERS)}")
        return cls(OFFSETS[g].copy(), g)

    names = JOINT_NAMES
    parents = PARENTS

    def rest_positions(self) -> np.ndarray:
        """Absolute joint positions (24, 3) of the zero pose with zero translation (template frame)."""
        return self.fk(np.zeros((NUM_JOINTS, 3)), np.zeros(3))

    def bone_lengths(self) -> np.ndarray:
        """Length of the bone ending at each joint (0 for the root)."""
        n = np.linalg.norm(self.offsets, axis=-1)
        n[0] = 0.0
        return n

    def leg_length(self) -> float:
        """Hip -> knee -> ankle length (mean of both legs), metres."""
        b = self.bone_lengths()
        return float((b[4] + b[7] + b[5] + b[8]) / 2)

    def fk(self, poses, trans):
        """Joint positions ``(..., 24, 3)`` from axis-angle ``poses`` ``(..., 24, 3)`` and ``trans`` ``(..., 3)``
        (numpy or torch): the pelvis at ``trans + offsets[0]``, as in SMPL."""
        o = ops(poses)
        if o.name == "numpy":
            poses, trans = np.asarray(poses, dtype=float), np.asarray(trans, dtype=float)
        offsets = o.asarray_like(self.offsets, poses)
        return forward_kinematics_axis_angle(poses, trans + offsets[0], offsets, PARENTS)
