"""BVH motion files: a fast, strict reader (:func:`read_bvh`) and an SMPL-skeleton writer (:func:`write_bvh`).

The reader accepts any channel order per joint, 0-6 channels per joint (position channels replace the OFFSET),
End Sites, CRLF line ends, tabs, exponent notation and zero-length bones. Anything it cannot read cleanly raises
:class:`~mrgen_core.errors.MotionFormatError` naming the file and the problem. The MOTION block is parsed with numpy
in one go, and forward kinematics is vectorised over frames.

The writer exports a :class:`~mrgen_core.motion.Motion` on the SMPL skeleton (smplx joint names, metres, Y up,
root with 6 channels, every other joint 3, Euler order ZXY), so any BVH tool, Blender's importer included, shows the
same joint positions as :meth:`Motion.joints` (mapped back to Z up).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..atomic import writing
from ..errors import MotionFormatError
from ..limits import MAX_BVH_VALUE, MAX_FPS, MAX_FRAMES, MIN_FPS, input_file
from ..geometry import forward_kinematics
from ..rotations import axis_angle_to_matrix, euler_to_matrix, matrix_to_euler
from ..skeleton import JOINT_NAMES, PARENTS, Y_UP_TO_Z_UP

__all__ = ["BVH", "read_bvh", "write_bvh", "KNOWN_UNITS", "WRITE_ORDER"]

_CHANNEL_NAMES = {f"{a}{k}".lower(): f"{a}{k}" for a in "XYZ" for k in ("position", "rotation")}
#: Length units a BVH file may use (metres per unit), used to name the detected scale.
KNOWN_UNITS: tuple[tuple[str, float], ...] = (
    ("m", 1.0), ("dm", 0.1), ("cm", 0.01), ("mm", 0.001), ("inch", 0.0254), ("CMU units", 0.056444),
)
#: Euler order of the rotation channels :func:`write_bvh` writes (Z, X, Y: R = Rz Rx Ry).
WRITE_ORDER = "ZXY"
_MAX_JOINTS = 10_000


@dataclass
class BVH:
    """A parsed BVH file, in file units and file axes.

    ``names`` (J,), ``parents`` (J,) (-1 for the root), ``offsets`` (J, 3), ``channels`` per joint (canonical names
    such as ``"Zrotation"``), ``values`` (T, C) in file order (degrees for rotations), ``frame_time`` seconds,
    ``end_sites`` joint index -> End Site offset, ``path`` the file it came from.
    """

    names: list[str]
    parents: np.ndarray
    offsets: np.ndarray
    channels: list[tuple[str, ...]]
    values: np.ndarray
    frame_time: float
    end_sites: dict[int, np.ndarray] = field(default_factory=dict)
    path: str = ""

    # --- basic facts -------------------------------------------------------------------------------------------
    @property
    def num_frames(self) -> int:
        return int(self.values.shape[0])

    @property
    def num_joints(self) -> int:
        return len(self.names)

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def index(self, name: str) -> int:
        """Index of the joint called ``name`` (KeyError if absent)."""
        return self.names.index(name)

    def channel_offsets(self) -> np.ndarray:
        """Column of ``values`` where each joint's channels start (J,)."""
        counts = np.array([len(c) for c in self.channels], dtype=int)
        return np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(int)

    def children(self, j: int) -> list[int]:
        return [int(c) for c in np.flatnonzero(self.parents == j)]

    # --- kinematics --------------------------------------------------------------------------------------------
    def local_transforms(self, frames=None, zero_rotations: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Local rotations (T, J, 3, 3) and translations (T, J, 3) of ``frames`` (index/slice/array; all if None).

        Position channels replace the matching OFFSET component. ``zero_rotations`` ignores the rotation channels.
        """
        vals = self.values if frames is None else self.values[frames]
        vals = np.atleast_2d(vals)
        t, nj = vals.shape[0], self.num_joints
        trans = np.broadcast_to(self.offsets, (t, nj, 3)).copy()
        rots = np.broadcast_to(np.eye(3), (t, nj, 3, 3)).copy()
        groups: dict[str, tuple[list[int], list[list[int]]]] = {}
        start = 0
        for j, chans in enumerate(self.channels):
            order, cols = "", []
            for k, ch in enumerate(chans):
                axis = "XYZ".index(ch[0])
                if ch[1:] == "position":
                    trans[:, j, axis] = vals[:, start + k]
                else:
                    order += ch[0]
                    cols.append(start + k)
            if order and not zero_rotations:
                groups.setdefault(order, ([], []))
                groups[order][0].append(j)
                groups[order][1].append(cols)
            start += len(chans)
        for order, (joints, cols) in groups.items():
            rots[:, joints] = euler_to_matrix(np.deg2rad(vals[:, np.array(cols)]), order)  # (T, G, 3, 3)
        return rots, trans

    def fk(self, frames=None, zero_rotations: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Global joint positions (T, J, 3) and rotation matrices (T, J, 3, 3), file units and axes."""
        loc_r, loc_t = self.local_transforms(frames, zero_rotations)
        return forward_kinematics(loc_r, loc_t[:, 0], loc_t, self.parents)

    def end_site_positions(self, pos: np.ndarray, rot: np.ndarray) -> dict[int, np.ndarray]:
        """World positions (T, 3) of each joint's End Site, from :meth:`fk` output."""
        return {j: pos[:, j] + rot[:, j] @ off for j, off in self.end_sites.items()}

    # --- scale -------------------------------------------------------------------------------------------------
    def span(self) -> float:
        """Longest path between two leaves (End Sites or childless joints) through the skeleton's bones, in file
        units: for a human about 2.2 m (hand to foot, or fingertip to fingertip)."""
        blen = np.linalg.norm(self.offsets, axis=-1)
        has_pos = np.array([any(c.endswith("position") for c in ch) for ch in self.channels])
        if np.any(has_pos & (blen < 1e-9)):  # offsets left at zero, lengths only in the position channels
            _, loc_t = self.local_transforms(slice(0, min(self.num_frames, 5)), zero_rotations=True)
            blen = np.where(has_pos & (blen < 1e-9), np.median(np.linalg.norm(loc_t, axis=-1), axis=0), blen)
        blen[self.parents < 0] = 0.0
        down = np.full(self.num_joints, -np.inf)  # longest path from joint j down to a leaf
        best = 0.0
        for j in range(self.num_joints - 1, -1, -1):  # children come after their parents in file order
            kids = self.children(j)
            paths = [down[c] + blen[c] for c in kids]
            if j in self.end_sites or not kids:
                paths.append(float(np.linalg.norm(self.end_sites[j])) if j in self.end_sites else 0.0)
            paths.sort(reverse=True)
            down[j] = paths[0]
            if len(paths) > 1:
                best = max(best, paths[0] + paths[1])
            elif j == 0 or self.parents[j] < 0:
                best = max(best, paths[0]) if (j in self.end_sites or not kids) else best
        return float(best)

    def detect_scale(self, human_span_m: float = 2.2) -> tuple[float, str]:
        """Guess metres per file unit from the skeleton's size; returns ``(scale, unit name)``.

        The unit is the known one (m, cm, mm, inch, CMU units 0.056444, ...) closest to ``human_span_m / span()``
        if within 25%, else ``"arbitrary"`` with that ratio itself. (The retargeter scales by leg length instead.)
        """
        s = self.span()
        if not np.isfinite(s) or s <= 0:
            return 1.0, "unknown"
        raw = human_span_m / s
        name, unit = min(KNOWN_UNITS, key=lambda u: abs(np.log(raw / u[1])))
        if abs(np.log(raw / unit)) < np.log(1.25):
            return unit, name
        return raw, "arbitrary"


# --- reading ---------------------------------------------------------------------------------------------------
_MOTION_RE = re.compile(rb"(?m)^[ \t]*MOTION[ \t]*\r?$")
_TOKEN_RE = re.compile(r"[{}]|[^\s{}]+")


def read_bvh(path: str | os.PathLike) -> BVH:
    """Read a BVH file. Raises :class:`MotionFormatError` (naming the file) on anything malformed."""
    path = os.fspath(path)
    input_file(path, "BVH")  # a regular file: never a device or FIFO that reads forever
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise MotionFormatError("file not found", path) from None
    except IsADirectoryError:
        raise MotionFormatError("is a folder, not a BVH file", path) from None
    except OSError as e:
        raise MotionFormatError(f"cannot read file: {e.strerror or e}", path) from None
    try:
        return _parse(data, path)
    except MotionFormatError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError, MemoryError, RecursionError) as e:  # defensive
        raise MotionFormatError(f"malformed BVH file ({type(e).__name__}: {e})", path) from None


def _fail(path: str, msg: str):
    raise MotionFormatError(msg, path)


def _parse(data: bytes, path: str) -> BVH:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        _fail(path, "empty file")
    m = _MOTION_RE.search(data)
    if m is None:
        if not data.lstrip().upper().startswith(b"HIERARCHY"):
            _fail(path, "not a BVH file (no HIERARCHY section)")
        _fail(path, "no MOTION section (file truncated?)")
    header = data[:m.start()].decode("utf-8", errors="replace")
    names, parents, offsets, channels, end_sites = _parse_hierarchy(header, path)
    n_chan = sum(len(c) for c in channels)
    values, frame_time = _parse_motion(data[m.end():], n_chan, path)
    return BVH(names, np.array(parents, dtype=int), np.array(offsets, dtype=float).reshape(-1, 3), channels,
               values, frame_time, end_sites, path)


def _parse_hierarchy(header: str, path: str):
    toks: list[tuple[str, int]] = []
    for lineno, line in enumerate(header.splitlines(), 1):
        toks.extend((t, lineno) for t in _TOKEN_RE.findall(line))
    if not toks or toks[0][0].upper() != "HIERARCHY":
        _fail(path, "not a BVH file (does not start with HIERARCHY)")
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float] | None] = []
    channels: list[tuple[str, ...]] = []
    end_sites: dict[int, np.ndarray] = {}
    seen: set[str] = set()
    stack: list[int] = []  # joint indices; -1 - parent for an End Site block
    end_offset: list[float] | None = None
    i, n = 1, len(toks)
    done = False

    def where(k: int) -> str:
        return f"line {toks[min(k, n - 1)][1]}"

    def need(k: int, what: str) -> str:
        if k >= n:
            _fail(path, f"hierarchy ends early: expected {what}")
        return toks[k][0]

    def floats(k: int, count: int, what: str) -> list[float]:
        out = []
        for q in range(count):
            tok = need(k + q, what)
            try:
                v = float(tok)
            except ValueError:
                _fail(path, f"{where(k + q)}: {what} expects numbers, got {tok!r}")
            if not np.isfinite(v):
                _fail(path, f"{where(k + q)}: {what} holds a non-finite value {tok!r}")
            out.append(v)
        return out

    while i < n:
        tok, line = toks[i]
        up = tok.upper()
        if done:
            _fail(path, f"line {line}: unexpected {tok!r} after the skeleton (only one ROOT is supported)")
        if up in ("ROOT", "JOINT"):
            if up == "ROOT" and (stack or names):
                _fail(path, f"line {line}: ROOT inside a skeleton or a second ROOT")
            if up == "JOINT" and (not stack or stack[-1] < 0):
                _fail(path, f"line {line}: JOINT outside a joint block")
            k = i + 1
            parts = []
            while k < n and toks[k][1] == line and toks[k][0] not in "{}":
                parts.append(toks[k][0])
                k += 1
            name = " ".join(parts)
            if not name:
                _fail(path, f"line {line}: {tok} without a name")
            if name in seen:
                _fail(path, f"line {line}: duplicate joint name {name!r}")
            if len(names) >= _MAX_JOINTS:
                _fail(path, f"more than {_MAX_JOINTS} joints")
            if need(k, "'{'") != "{":
                _fail(path, f"{where(k)}: expected '{{' after {tok} {name}, got {toks[k][0]!r}")
            seen.add(name)
            names.append(name)
            parents.append(stack[-1] if stack else -1)
            offsets.append(None)
            channels.append(())
            stack.append(len(names) - 1)
            i = k + 1
        elif up == "END":
            if need(i + 1, "Site").upper() != "SITE":
                _fail(path, f"line {line}: expected 'End Site', got 'End {toks[i + 1][0]}'")
            if not stack or stack[-1] < 0:
                _fail(path, f"line {line}: End Site outside a joint block")
            if need(i + 2, "'{'") != "{":
                _fail(path, f"{where(i + 2)}: expected '{{' after End Site")
            stack.append(-1 - stack[-1])
            end_offset = None
            i += 3
        elif up == "OFFSET":
            if not stack:
                _fail(path, f"line {line}: OFFSET outside a joint block")
            vals = floats(i + 1, 3, "OFFSET")
            top = stack[-1]
            if top >= 0:
                if offsets[top] is not None:
                    _fail(path, f"line {line}: second OFFSET for joint {names[top]!r}")
                offsets[top] = vals
            else:
                if end_offset is not None:
                    _fail(path, f"line {line}: second OFFSET in an End Site")
                end_offset = vals
            i += 4
        elif up == "CHANNELS":
            if not stack or stack[-1] < 0:
                _fail(path, f"line {line}: CHANNELS outside a joint block")
            top = stack[-1]
            cnt_tok = need(i + 1, "channel count")
            try:
                cnt = int(cnt_tok)
            except ValueError:
                _fail(path, f"line {line}: CHANNELS expects a count, got {cnt_tok!r}")
            if not 0 <= cnt <= 6:
                _fail(path, f"line {line}: joint {names[top]!r} has {cnt} channels (0 to 6 allowed)")
            if channels[top]:
                _fail(path, f"line {line}: second CHANNELS line for joint {names[top]!r}")
            chans = []
            for q in range(cnt):
                c = need(i + 2 + q, "channel name")
                canon = _CHANNEL_NAMES.get(c.lower())
                if canon is None:
                    _fail(path, f"{where(i + 2 + q)}: bad channel name {c!r} for joint {names[top]!r}")
                if canon in chans:
                    _fail(path, f"{where(i + 2 + q)}: channel {canon} listed twice for joint {names[top]!r}")
                chans.append(canon)
            channels[top] = tuple(chans)
            i += 2 + cnt
        elif tok == "}":
            if not stack:
                _fail(path, f"line {line}: unmatched '}}'")
            top = stack.pop()
            if top >= 0:
                if offsets[top] is None:
                    _fail(path, f"line {line}: joint {names[top]!r} has no OFFSET")
            else:
                if end_offset is None:
                    _fail(path, f"line {line}: End Site without OFFSET")
                end_sites.setdefault(-1 - top, np.array(end_offset))
            if not stack:
                done = True
            i += 1
        else:
            _fail(path, f"line {line}: unexpected {tok!r} in HIERARCHY")
    if not names:
        _fail(path, "HIERARCHY holds no joints")
    if stack:
        _fail(path, "HIERARCHY ends before all joint blocks are closed (missing '}')")
    return names, parents, offsets, channels, end_sites


_FRAMES_RE = re.compile(rb"\A\s*Frames\s*:[ \t]*(\S*)[ \t]*\r?\n")
_FTIME_RE = re.compile(rb"\A[ \t]*Frame\s+Time\s*:[ \t]*(\S*)[ \t]*(?:\r?\n|\Z)")


def _parse_motion(data: bytes, n_chan: int, path: str) -> tuple[np.ndarray, float]:
    m = _FRAMES_RE.match(data)
    if m is None:
        _fail(path, "MOTION section lacks a 'Frames:' line")
    try:
        n_frames = int(m.group(1))
    except ValueError:
        _fail(path, f"bad frame count {m.group(1).decode('latin-1')!r}")
    data = data[m.end():]
    m = _FTIME_RE.match(data)
    if m is None:
        _fail(path, "MOTION section lacks a 'Frame Time:' line")
    try:
        frame_time = float(m.group(1))
    except ValueError:
        _fail(path, f"bad frame time {m.group(1).decode('latin-1')!r}")
    if not (np.isfinite(frame_time) and frame_time > 0):
        _fail(path, f"frame time must be a positive number, got {frame_time}")
    if not (1.0 / MAX_FPS <= frame_time <= 1.0 / MIN_FPS):
        _fail(path, f"Frame Time {frame_time:g} s is {1.0 / frame_time:g} fps; mrgen reads {MIN_FPS:g} to "
                    f"{MAX_FPS:g} fps")
    if n_frames <= 0:
        _fail(path, f"the file holds no frames (Frames: {n_frames})")
    if n_frames > MAX_FRAMES:
        _fail(path, f"the header declares {n_frames} frames; the limit is {MAX_FRAMES}")
    body = data[m.end():]
    # tokens per line, vectorised over the raw bytes
    buf = np.frombuffer(body, dtype=np.uint8)
    space = (buf == 32) | (buf == 9) | (buf == 10) | (buf == 13) | (buf == 11) | (buf == 12)
    starts = ~space
    starts[1:] &= space[:-1]
    line_of = np.cumsum(buf == 10)
    per_line = np.bincount(line_of[starts], minlength=1) if starts.any() else np.zeros(0, dtype=int)
    counts = per_line[per_line > 0]
    if n_chan == 0:
        _fail(path, "no joint has CHANNELS: the file holds no motion")
    bad = np.flatnonzero(counts != n_chan)
    if bad.size:
        k = int(bad[0])
        if k == len(counts) - 1 and counts[k] < n_chan and len(counts) <= n_frames:
            _fail(path, f"truncated: frame {k + 1} of {n_frames} has {counts[k]} of {n_chan} values")
        _fail(path, f"frame {k + 1} has {counts[k]} values, expected {n_chan} (one per channel)")
    if len(counts) < n_frames:
        _fail(path, f"truncated: the header declares {n_frames} frames but the file holds {len(counts)}")
    if len(counts) > n_frames:
        _fail(path, f"the header declares {n_frames} frames but the file holds {len(counts)}")
    toks = body.split()
    try:
        values = np.array(toks, dtype=np.float64)
    except ValueError:
        for k, t in enumerate(toks):
            try:
                float(t)
            except ValueError:
                _fail(path, f"frame {k // n_chan + 1}: non-numeric value {t.decode('latin-1')!r}")
        raise
    values = values.reshape(n_frames, n_chan)
    finite = np.isfinite(values)
    if not finite.all():
        fr, ch = np.argwhere(~finite)[0]
        _fail(path, f"frame {fr + 1}, channel {ch + 1}: non-finite value {values[fr, ch]} (NaN or infinity)")
    huge = np.abs(values) > MAX_BVH_VALUE
    if huge.any():
        fr, ch = np.argwhere(huge)[0]
        _fail(path, f"frame {fr + 1}, channel {ch + 1}: value {values[fr, ch]:g} is beyond +-{MAX_BVH_VALUE:g} "
                    "(not a physical angle or position)")
    return values, frame_time


# --- writing ---------------------------------------------------------------------------------------------------
def write_bvh(motion, path: str | os.PathLike, decimals: int = 6) -> None:
    """Write ``motion`` as a BVH file on its SMPL skeleton: smplx joint names, metres, Y up, root 6 channels
    (``Xposition Yposition Zposition`` + rotations), others 3, Euler order :data:`WRITE_ORDER`. Atomic.

    The Z-up world of :class:`Motion` is turned back to Y up (the inverse of ``Y_UP_TO_Z_UP``), so importers that map
    BVH Y-up to Z-up (Blender's default) reproduce :meth:`Motion.joints`.
    """
    motion.validate()
    offsets = motion.skeleton.offsets
    poses = np.asarray(motion.poses, dtype=float)
    rot = axis_angle_to_matrix(poses)  # (T, 24, 3, 3)
    a_inv = Y_UP_TO_Z_UP.T
    rot[:, 0] = a_inv @ rot[:, 0]
    root = (a_inv @ (motion.trans + offsets[0]).T).T  # pelvis world position, Y up
    eul = np.rad2deg(matrix_to_euler(rot, WRITE_ORDER))  # (T, 24, 3)
    axes = " ".join(f"{a}rotation" for a in WRITE_ORDER)
    lines = ["HIERARCHY"]
    order: list[int] = []  # joints in the order the hierarchy lists them (depth first) = channel order

    def fmt(v) -> str:
        return " ".join(_fmt_num(x, decimals) for x in v)

    def emit(j: int, depth: int) -> None:
        ind = "\t" * depth
        order.append(j)
        kw = "ROOT" if j == 0 else "JOINT"
        lines.append(f"{ind}{kw} {JOINT_NAMES[j]}")
        lines.append(f"{ind}{{")
        off = offsets[0] if j == 0 else offsets[j]  # root: J_0 (the position channels override it)
        lines.append(f"{ind}\tOFFSET {fmt(off)}")
        if j == 0:
            lines.append(f"{ind}\tCHANNELS 6 Xposition Yposition Zposition {axes}")
        else:
            lines.append(f"{ind}\tCHANNELS 3 {axes}")
        kids = [int(c) for c in np.flatnonzero(PARENTS == j)]
        for c in kids:
            emit(c, depth + 1)
        if not kids:
            lines.append(f"{ind}\tEnd Site")
            lines.append(f"{ind}\t{{")
            lines.append(f"{ind}\t\tOFFSET {fmt(_END_SITES.get(j, offsets[j] * 0.5))}")
            lines.append(f"{ind}\t}}")
        lines.append(f"{ind}}}")

    emit(0, 0)
    lines.append("MOTION")
    lines.append(f"Frames: {motion.num_frames}")
    lines.append(f"Frame Time: {1.0 / motion.fps:.10g}")
    frame = np.concatenate([root, eul[:, order].reshape(len(eul), -1)], axis=1)
    np_fmt = f"%.{decimals}f"
    with writing(path) as tmp:
        with open(tmp, "w", newline="\n", encoding="ascii") as f:
            f.write("\n".join(lines) + "\n")
            np.savetxt(f, frame, fmt=np_fmt, delimiter=" ")


def _fmt_num(x: float, decimals: int) -> str:
    s = f"{x:.{decimals}f}"
    return "0" if float(s) == 0 else s


# End Site offsets (SMPL template frame, metres) for the leaf joints, so bone-drawing importers show sensible tips.
_END_SITES: dict[int, np.ndarray] = {
    10: np.array([0.0, -0.02, 0.06]), 11: np.array([0.0, -0.02, 0.06]),  # toes
    15: np.array([0.0, 0.12, 0.02]),  # top of the head
    22: np.array([0.08, 0.0, 0.0]), 23: np.array([-0.08, 0.0, 0.0]),  # finger tips
}


def bvh_info(path: str | os.PathLike) -> dict:
    """Small summary of a BVH file (frames, fps, joints, detected unit) for ``mrgen info``-like tools."""
    b = read_bvh(path)
    scale, unit = b.detect_scale()
    return {"frames": b.num_frames, "fps": b.fps, "joints": b.num_joints, "unit": unit, "metres_per_unit": scale,
            "path": str(Path(path))}
