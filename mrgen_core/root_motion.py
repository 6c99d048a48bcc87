"""Root motion options of generate and blend: ``keep`` (the model's travel) or ``in-place`` (numpy).

``in-place`` takes the pelvis's horizontal travel out: the pelvis stays over its first frame's ground position while
its height, the heading and every joint rotation stay as they were, as game engines want cycles (their character
controller moves the body). The body's own motion is untouched, so the feet move relative to the body exactly as in
``keep`` (on the ground they slide back under the body, as on a treadmill); the foot cleanup runs before, in ``keep``.
"""
from __future__ import annotations

from .errors import MrgenError
from .motion import Motion

ROOT_MODES = ("keep", "in-place")


def check_root_mode(mode: str | None) -> str:
    """``mode`` checked (None: ``keep``); MrgenError naming ``--root`` otherwise."""
    mode = "keep" if mode in (None, "") else str(mode)
    if mode not in ROOT_MODES:
        raise MrgenError(f"--root must be one of {', '.join(ROOT_MODES)}, got {mode!r}")
    return mode


def in_place(motion: Motion) -> Motion:
    """``motion`` without horizontal root travel (the pelvis kept over its first frame's ground position)."""
    trans = motion.trans.copy()
    trans[:, :2] = trans[:1, :2]
    return motion.copy(trans=trans)


def apply_root_mode(motion: Motion, mode: str | None) -> Motion:
    return in_place(motion) if check_root_mode(mode) == "in-place" else motion
