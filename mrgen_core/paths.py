"""Floor paths for ``generate --path``: read, check and time them (numpy only).

A path is a polyline of root positions on the floor (x, y in metres, Z-up world, as motions), either timed (one
time in seconds per point, strictly increasing) or untimed (timed later from ``--seconds`` / ``--speed`` or the
model's own walking speed). Sources: a JSON file (``[[x, y], ...]``, ``[[x, y, t], ...]``, ``[{"x":, "y":, "t":}]``
or ``{"points": [[x, y], ...], "times": [...]}``), a CSV file (columns x, y[, t], an optional header line), an
``.npz`` with ``points`` (N, 2|3) and optional ``times`` (N,), or a motion file (.npz / .bvh): the ground path of
its pelvis, timed by its frames. The worker also passes the JSON object itself (a Blender curve's points).

Facing (:func:`parse_facing`): ``path`` (along the direction of travel), an angle in degrees (a fixed direction,
counter-clockwise from +X) or ``X,Y`` (look at that floor point).
"""
from __future__ import annotations

import csv
import math
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import MrgenError
from .limits import MAX_SECONDS, input_file, json_loads, npz_members

#: Refused outright: longer paths (metres) than this, or lasting longer than ``limits.MAX_SECONDS``.
MAX_LENGTH = 10_000.0
#: A path that moves less than this (metres) in all has nothing to follow.
MIN_LENGTH = 0.05
PATH_SUFFIXES = (".json", ".csv", ".npz", ".bvh")


@dataclass(frozen=True)
class FloorPath:
    """Root waypoints on the floor: ``xy`` (N, 2) metres; ``times`` (N,) seconds from 0, or None (untimed)."""

    xy: np.ndarray
    times: np.ndarray | None = None
    source: str = ""

    @property
    def length(self) -> float:
        """Polyline length in metres."""
        return float(self.arc_lengths()[-1])

    @property
    def duration(self) -> float | None:
        return None if self.times is None else float(self.times[-1])

    def arc_lengths(self) -> np.ndarray:
        """Cumulative length (N,) at each point."""
        return np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(self.xy, axis=0), axis=1))])

    def at_length(self, s: np.ndarray) -> np.ndarray:
        """Points (..., 2) at arc lengths ``s`` (clamped to the path)."""
        cum = self.arc_lengths()
        keep = np.concatenate([[True], np.diff(cum) > 1e-9])  # repeated points (stops) add no length
        cum, xy = cum[keep], self.xy[keep]
        s = np.clip(np.asarray(s, dtype=np.float64), 0.0, cum[-1])
        return np.stack([np.interp(s, cum, xy[:, 0]), np.interp(s, cum, xy[:, 1])], axis=-1)

    def direction_at(self, s: np.ndarray, reach: float = 0.25) -> np.ndarray:
        """Direction of travel (radians, counter-clockwise from +X) at arc lengths ``s``: the chord from
        ``s - reach`` to ``s + reach``, which rounds corners over ``2 * reach`` metres."""
        s = np.asarray(s, dtype=np.float64)
        d = self.at_length(s + reach) - self.at_length(s - reach)
        return np.arctan2(d[..., 1], d[..., 0])

    def distance_at(self, t: np.ndarray) -> np.ndarray:
        """Arc length travelled by time ``t`` (timed paths)."""
        if self.times is None:
            raise ValueError("an untimed path has no distance at a time")
        return np.interp(t, self.times, self.arc_lengths())

    def timed(self, seconds: float) -> "FloorPath":
        """This untimed path walked at constant speed in ``seconds``."""
        cum = self.arc_lengths()
        return FloorPath(self.xy, cum / cum[-1] * float(seconds), self.source)


def _fail(message: str, where) -> MrgenError:
    return MrgenError(message, where)


def check_path(xy, times=None, source: str = "") -> FloorPath:
    """A :class:`FloorPath` from raw values, checked: at least 2 points, finite, times strictly increasing (moved
    to start at 0), some length, nothing absurdly long. :class:`MrgenError` naming ``source`` otherwise."""
    where = source or "--path"
    try:
        xy = np.asarray(xy, dtype=np.float64)
        times = None if times is None else np.asarray(times, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise _fail("path points must be numbers", where) from None
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise _fail(f"path points must be (x, y) pairs, got shape {xy.shape}", where)
    if len(xy) < 2:
        raise _fail(f"a path needs at least 2 points, got {len(xy)}", where)
    if not np.all(np.isfinite(xy)):
        raise _fail("path points contain NaN or infinite values", where)
    if times is not None:
        if times.shape != (len(xy),):
            raise _fail(f"one time per point: {len(xy)} points, {times.size} times", where)
        if not np.all(np.isfinite(times)):
            raise _fail("path times contain NaN or infinite values", where)
        bad = np.flatnonzero(np.diff(times) <= 0)
        if bad.size:
            i = int(bad[0]) + 1
            raise _fail(f"path times must increase: point {i} at {times[i]:g} s follows {times[i - 1]:g} s", where)
        times = times - times[0]
        if times[-1] > MAX_SECONDS:
            raise _fail(f"the path lasts {times[-1]:.0f} s; at most {MAX_SECONDS:.0f} s", where)
    path = FloorPath(xy, times, source)
    if path.length < MIN_LENGTH:
        raise _fail(f"the path does not move (length {path.length:.3f} m)", where)
    if path.length > MAX_LENGTH:
        raise _fail(f"the path is {path.length / 1000:.1f} km long; at most {MAX_LENGTH / 1000:.0f} km", where)
    return path


def _split(rows, where) -> tuple[np.ndarray, np.ndarray | None]:
    """(N, 2) or (N, 3) rows -> points and times."""
    try:
        a = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError):
        raise _fail("path points must be numbers: [x, y] or [x, y, t]", where) from None
    if a.ndim != 2 or a.shape[1] not in (2, 3):
        if a.size == 0:
            raise _fail("the path is empty", where)
        raise _fail("path rows must be [x, y] or [x, y, t]", where)
    return a[:, :2], (a[:, 2] if a.shape[1] == 3 else None)


def from_json(data, where) -> FloorPath:
    """A path from parsed JSON (see the module docstring)."""
    if isinstance(data, dict):
        if "points" not in data:
            raise _fail("a path object needs 'points' ([[x, y], ...]) and optionally 'times'", where)
        xy, times = _split(data["points"], where)
        if data.get("times") is not None:
            if times is not None:
                raise _fail("give times either as a third column or as 'times', not both", where)
            times = data["times"]
        return check_path(xy, times, str(where))
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        try:
            rows = [[r["x"], r["y"]] + ([r["t"]] if "t" in r else []) for r in data]
        except KeyError as e:
            raise _fail(f"every point needs 'x' and 'y' (missing {e})", where) from None
        if len({len(r) for r in rows}) > 1:
            raise _fail("give 't' for every point or for none", where)
        xy, times = _split(rows, where)
        return check_path(xy, times, str(where))
    if not isinstance(data, list) or not data:
        raise _fail("the path is empty" if data == [] else "a path is a list of points or {\"points\": ...}",
                    where)
    if len({len(r) if isinstance(r, list) else -1 for r in data}) > 1:
        raise _fail("every point must have the same number of values ([x, y] or [x, y, t])", where)
    xy, times = _split(data, where)
    return check_path(xy, times, str(where))


def _from_csv(path: Path) -> FloorPath:
    rows = []
    with open(path, newline="") as f:
        for k, row in enumerate(csv.reader(f)):
            row = [c.strip() for c in row if c.strip()]
            if not row or row[0].startswith("#"):
                continue
            try:
                rows.append([float(c) for c in row])
            except ValueError:
                if rows or k > 0 or [c.lower() for c in row][:2] != ["x", "y"]:
                    raise _fail(f"line {k + 1}: not numbers: {','.join(row)[:60]}", path) from None
    if not rows:
        raise _fail("the path is empty", path)
    if len({len(r) for r in rows}) > 1:
        raise _fail("every line must have the same number of columns (x, y or x, y, t)", path)
    xy, times = _split(rows, path)
    return check_path(xy, times, str(path))


def _from_motion(path: Path, mapping=None) -> FloorPath:
    from .motion_files import load_motion

    m = load_motion(path, mapping=mapping)
    pelvis = m.trans[:, :2] + m.skeleton.offsets[0][:2]
    return check_path(pelvis, np.arange(m.num_frames) / m.fps, str(path))


def read_path(source, mapping=None) -> FloorPath:
    """A checked :class:`FloorPath` from a file (.json, .csv, .npz, .bvh; see the module docstring) or a parsed
    JSON object / list (the worker's inline path)."""
    if isinstance(source, (dict, list)):
        inline = from_json(source, "path")
        return FloorPath(inline.xy, inline.times, "")
    path = Path(source).expanduser()
    ext = path.suffix.lower()
    if ext not in PATH_SUFFIXES:
        raise _fail(f"unsupported path file type {ext or '(no extension)'}; supported: {', '.join(PATH_SUFFIXES)}",
                    path)
    input_file(path, "path", missing="no such path file", error=MrgenError)  # a regular file within the limit
    if ext == ".bvh":
        return _from_motion(path, mapping)
    try:
        if ext == ".json":
            try:
                return from_json(json_loads(path.read_bytes()), path)
            except (ValueError, UnicodeDecodeError) as e:  # JSONDecodeError is a ValueError, as is deep nesting
                raise _fail(f"not valid JSON ({e})", path) from None
        if ext == ".csv":
            return _from_csv(path)
        try:
            with zipfile.ZipFile(path) as zf:
                npz_members(zf, path)
            with np.load(path, allow_pickle=False) as data:
                if "poses" in data.files:
                    return _from_motion(path)
                if "points" not in data.files:
                    raise _fail("a path .npz needs 'points' (N, 2|3) and optionally 'times' (or a motion's "
                                "'poses' and 'trans')", path)
                xy, times = _split(data["points"], path)
                if "times" in data.files:
                    times = data["times"]
                return check_path(xy, times, str(path))
        except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile, zlib.error) as e:
            raise _fail(f"cannot read the path ({' '.join(str(e).split()) or type(e).__name__})", path) from None
    except OSError as e:
        raise _fail(f"cannot read the path ({e.strerror or e})", path) from None


@dataclass(frozen=True)
class Facing:
    """Where the body faces: ``mode`` ``path`` (along the travel), ``fixed`` (``angle``, radians CCW from +X) or
    ``look-at`` (``point`` on the floor)."""

    mode: str = "path"
    angle: float = 0.0
    point: tuple[float, float] = (0.0, 0.0)

    def describe(self) -> str:
        if self.mode == "fixed":
            return f"fixed {math.degrees(self.angle):g} deg"
        if self.mode == "look-at":
            return f"look-at {self.point[0]:g},{self.point[1]:g}"
        return "path"


def parse_facing(text: str | None) -> Facing:
    """``--facing``: ``path`` (default), ``DEG`` (a fixed direction, degrees counter-clockwise from +X) or ``X,Y``
    (a floor point to look at)."""
    if text in (None, "", "path"):
        return Facing()
    text = str(text).strip()
    try:
        if "," in text:
            x, y = (float(v) for v in text.split(","))
            if math.isfinite(x) and math.isfinite(y):
                return Facing("look-at", point=(x, y))
        else:
            a = float(text)
            if math.isfinite(a):
                return Facing("fixed", angle=math.radians(a))
    except ValueError:
        pass
    raise MrgenError(f"--facing must be path, an angle in degrees or a look-at point X,Y; got {text!r}")


