"""Control signals: categorical labels (one-hot per frame) and continuous per-frame features (numpy only).

- Labels of training clips: a labels file (JSON or CSV, ``start, end, label`` in seconds per clip, or one label
  per clip) or one label per clip from the command line -> per-frame label indices (-1 = unlabelled).
- Label schedules for generation: ``"walk:0-4,jump:4-6"`` (seconds), or a single label name for the whole motion.
- Per level of the pyramid, the per-frame control (one-hot labels, then continuous channels) is resampled to that
  level's frame rate and smoothed over a few of its frames, so a switch of label blends in without a pop (slowly at
  the coarse levels, quickly at the fine ones). That is how training sees a switch; sampling crossfades the
  levels' outputs at a switch instead (:mod:`mrgen_core.model.crossfade`).
"""
from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import MrgenError
from .limits import MAX_SECONDS

Segment = tuple[float, float | None, str]  # start (s), end (s; None = to the end), label


# --- label files (training) -----------------------------------------------------------------------------------

def _clip_key(name: str) -> str:
    return Path(str(name)).stem.lower()


def _segments(value, path) -> list[Segment]:
    """One clip's entry of a JSON labels file: a label string, one segment, or a list of segments."""
    if isinstance(value, str):
        return [(0.0, None, value)]
    if isinstance(value, dict):
        value = [value]
    out = []
    for seg in value if isinstance(value, list) else [None]:
        if isinstance(seg, dict) and "label" in seg:
            start, end, label = seg.get("start", 0.0), seg.get("end"), seg["label"]
        elif isinstance(seg, (list, tuple)) and len(seg) == 3:
            start, end, label = seg
        else:
            raise MrgenError(f"bad label entry {seg!r}: expected a label, [start, end, label] or "
                             "{\"start\":..,\"end\":..,\"label\":..}", path)
        out.append(_segment(start, end, label, path))
    return out


def _segment(start, end, label, path) -> Segment:
    try:
        s = 0.0 if start in (None, "") else float(start)
        e = None if end in (None, "") else float(end)
    except (TypeError, ValueError, OverflowError):
        raise MrgenError(f"bad time in label entry ({start!r}, {end!r}, {label!r})", path) from None
    if not (math.isfinite(s) and (e is None or math.isfinite(e))):
        raise MrgenError(f"label {str(label)[:40]!r}: times must be finite numbers of seconds, got {start!r}-{end!r}",
                         path)
    if s > MAX_SECONDS or (e is not None and e > MAX_SECONDS):
        raise MrgenError(f"label {str(label)[:40]!r}: times must be at most {MAX_SECONDS:g} s, got {start!r}-{end!r}",
                         path)
    label = str(label).strip()
    if not label:
        raise MrgenError(f"empty label in entry ({start!r}, {end!r})", path)
    if s < 0 or (e is not None and e <= s):
        raise MrgenError(f"label {label!r}: segment {s}-{e} is empty or negative", path)
    return (s, e, label)


def read_label_file(path: str | os.PathLike) -> dict[str, list[Segment]]:
    """Labels of training clips by clip name (file stem, lower case).

    JSON: ``{"clip": "walk"}``, ``{"clip": [[0, 4.5, "walk"], [4.5, 8, "hop"]]}`` (or dicts with start/end/label),
    or a list of ``{"clip", "start", "end", "label"}`` records. CSV: rows ``clip,start,end,label`` (an empty start
    or end means the clip's start or end); a header row is optional; ``#`` starts a comment line. A clip key of
    ``*`` applies to every clip not listed.
    """
    from .limits import input_file

    path = input_file(path, "labels", missing="no such labels file", error=MrgenError)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise MrgenError(f"cannot read labels file ({e.__class__.__name__}: {e})", path) from None
    out: dict[str, list[Segment]] = {}
    if path.suffix.lower() == ".json" or text.lstrip().startswith(("{", "[")):
        from .limits import json_loads

        try:
            data = json_loads(text)
        except ValueError as e:  # JSONDecodeError, or nested too deep
            raise MrgenError(f"not valid JSON ({e})", path) from None
        if isinstance(data, list):
            for rec in data:
                if not isinstance(rec, dict) or "clip" not in rec or "label" not in rec:
                    raise MrgenError(f"bad record {rec!r}: expected clip, start, end, label", path)
                out.setdefault(_clip_key(rec["clip"]), []).append(
                    _segment(rec.get("start"), rec.get("end"), rec["label"], path))
        elif isinstance(data, dict):
            for clip, value in data.items():
                out[_clip_key(clip)] = _segments(value, path)
        else:
            raise MrgenError("labels JSON must be an object or a list of records", path)
    else:
        rows = [r for r in csv.reader(line for line in text.splitlines() if not line.lstrip().startswith("#"))
                if any(c.strip() for c in r)]
        for k, row in enumerate(rows):
            row = [c.strip() for c in row]
            if k == 0 and [c.lower() for c in row[:4]] == ["clip", "start", "end", "label"]:
                continue
            if len(row) != 4:
                raise MrgenError(f"line {k + 1}: expected clip,start,end,label, got {len(row)} fields", path)
            out.setdefault(_clip_key(row[0]), []).append(_segment(row[1], row[2], row[3], path))
    if not out:
        raise MrgenError("no labels found", path)
    return out


def segments_for(clip_name: str, table: dict[str, list[Segment]]) -> list[Segment] | None:
    """The segments of a clip in a labels table (by file stem; ``*`` as a fallback), None if absent."""
    return table.get(_clip_key(clip_name), table.get("*"))


def frame_labels(segments: list[Segment], num_frames: int, fps: float, vocab: list[str]) -> np.ndarray:
    """Per-frame label indices (T,) into ``vocab`` (labels appended to it when new); -1 where no segment covers.

    Frame ``k`` (time ``k / fps``) belongs to a segment when ``start <= t < end``; later segments win.
    """
    out = np.full(num_frames, -1, dtype=np.int64)
    t = np.arange(num_frames) / fps
    for start, end, label in segments:
        if label not in vocab:
            vocab.append(label)
        sel = (t >= start - 1e-9) & (t < (np.inf if end is None else end) - 1e-9)
        out[sel] = vocab.index(label)
    return out


# --- schedules (generation) -----------------------------------------------------------------------------------

def parse_schedule(text: str) -> list[Segment]:
    """``"walk:0-4,jump:4-6"`` -> ``[(0, 4, "walk"), (4, 6, "jump")]``; ``"walk"`` -> ``[(0, None, "walk")]``.

    Raises :class:`MrgenError` on a malformed schedule, and on segments that overlap (which label would hold is
    ambiguous). Gaps are allowed: frames no segment covers take the label of the nearest segment.
    """
    text = (text or "").strip()
    if not text:
        raise MrgenError("empty label schedule")
    if ":" not in text and "," not in text:
        return [(0.0, None, text)]
    out = []
    for part in text.split(","):
        part = part.strip()
        label, sep, span = part.rpartition(":")
        if not sep or not label.strip() or "-" not in span:
            raise MrgenError(f"bad label schedule entry {part!r}: expected LABEL:START-END (seconds), "
                             "e.g. walk:0-4,jump:4-6")
        a, _, b = span.partition("-")
        out.append(_segment(a, b, label.strip(), None))
    out.sort(key=lambda s: s[0])
    for (s0, e0, l0), (s1, _, l1) in zip(out, out[1:]):
        if e0 is None or s1 < e0 - 1e-9:
            raise MrgenError(f"label schedule segments overlap: {l0}:{s0:g}-{'end' if e0 is None else f'{e0:g}'} and "
                             f"{l1}:{s1:g}-...; give each second one label (gaps are fine: they take the nearest "
                             "label)")
    return out


def schedule_end(segments: list[Segment]) -> float | None:
    """The last end time of a schedule (None when it runs open-ended)."""
    ends = [e for _, e, _ in segments]
    return None if any(e is None for e in ends) else max(ends)


def check_labels(segments: list[Segment], vocab: tuple[str, ...] | list[str]) -> None:
    """Raise :class:`MrgenError` listing the known labels if a segment names an unknown one."""
    for _, _, label in segments:
        if label not in vocab:
            known = ", ".join(vocab) if vocab else "none (the model is unconditional)"
            raise MrgenError(f"unknown label {label!r}; the model knows: {known}")


def schedule_onehot(segments: list[Segment], vocab, num_frames: int, fps: float) -> np.ndarray:
    """Hard one-hot (T, K) of a schedule. Frames no segment covers take the label of the nearest segment."""
    check_labels(segments, vocab)
    k = len(vocab)
    out = np.zeros((num_frames, k))
    t = (np.arange(num_frames) + 0.5) / fps
    dist = np.full(num_frames, np.inf)
    for start, end, label in segments:
        end = np.inf if end is None else end
        d = np.where(t < start, start - t, np.where(t >= end, t - end, 0.0))
        take = d < dist - 1e-12
        take |= (d == 0)  # later segments win where segments overlap
        out[take] = 0.0
        out[take, list(vocab).index(label)] = 1.0
        dist = np.where(take, d, dist)
    return out


def onehot(labels: np.ndarray, k: int) -> np.ndarray:
    """(T,) label indices -> (T, k) one-hot; -1 (unlabelled) -> all zeros."""
    labels = np.asarray(labels, dtype=np.int64)
    out = np.zeros((len(labels), k))
    ok = labels >= 0
    out[np.flatnonzero(ok), labels[ok]] = 1.0
    return out


# --- resampling to a level's frame rate ---------------------------------------------------------------------------

def resample_linear(x: np.ndarray, n: int, antialias: bool = True) -> np.ndarray:
    """Resample (T, C) to (n, C) by linear interpolation, sample centres aligned (``align_corners=False``),
    averaging over the source frames each target frame spans when shrinking (no aliasing) unless not
    ``antialias``."""
    x = np.asarray(x, dtype=np.float64)
    t = len(x)
    if n == t:
        return x.copy()
    if n < t and antialias:  # box-filter to the target spacing first
        width = t / n
        if width > 1.5:
            x = smooth(x, width)
    pos = np.clip((np.arange(n) + 0.5) * (t / n) - 0.5, 0, t - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, t - 1)
    w = (pos - i0)[:, None]
    return x[i0] * (1 - w) + x[i1] * w


def smooth(x: np.ndarray, width: float) -> np.ndarray:
    """Centred moving average over ``width`` frames (fractional widths weight the end taps), edges replicated."""
    x = np.asarray(x, dtype=np.float64)
    if width <= 1.0 or len(x) < 2:
        return x.copy()
    half = int(np.ceil((width - 1) / 2))
    taps = np.ones(2 * half + 1)
    extra = (width - (2 * half - 1)) / 2  # weight of the two end taps
    taps[0] = taps[-1] = min(extra, 1.0)
    taps /= taps.sum()
    pad = np.concatenate([np.repeat(x[:1], half, 0), x, np.repeat(x[-1:], half, 0)], axis=0)
    out = np.zeros_like(x)
    for k, w in enumerate(taps):
        out += w * pad[k:k + len(x)]
    return out


#: ``ControlSpec.source`` of a model trained with path control (:mod:`mrgen_core.path_control`).
PATH_SOURCE = "path"


def follows_paths(model) -> bool:
    """Whether ``model`` was trained with path control (its continuous control is its travel)."""
    return getattr(getattr(model, "control_spec", None), "source", "") == PATH_SOURCE


#: Normalised continuous control is clipped to +-this many training standard deviations.
CONTROL_CLIP = 5.0


@dataclass
class ControlSpec:
    """What a model's control vector holds: one-hot over ``vocab``, then ``continuous`` normalised channels."""

    vocab: tuple[str, ...] = ()
    continuous: int = 0
    cont_mean: list[float] = field(default_factory=list)
    cont_std: list[float] = field(default_factory=list)
    transition_frames: float = 4.0  # smoothing window at every level, in that level's frames
    source: str = ""  # what the continuous channels are: "audio" (mrgen's MFCC features), "wavlm", "path", "" (other)

    @property
    def size(self) -> int:
        return len(self.vocab) + self.continuous

    def build(self, num_frames: int, labels: np.ndarray | None = None, continuous: np.ndarray | None = None,
              onehot_labels: np.ndarray | None = None) -> np.ndarray:
        """Full-rate control (T, size): one-hot of ``labels`` (indices) or ``onehot_labels``, then normalised
        ``continuous`` (zeros when absent)."""
        parts = []
        if self.vocab:
            if onehot_labels is not None:
                parts.append(np.asarray(onehot_labels, dtype=np.float64))
            elif labels is not None:
                parts.append(onehot(labels, len(self.vocab)))
            else:
                parts.append(np.zeros((num_frames, len(self.vocab))))
        if self.continuous:
            if continuous is None:
                parts.append(np.zeros((num_frames, self.continuous)))
            else:
                c = np.asarray(continuous, dtype=np.float64)
                if c.ndim != 2 or c.shape[1] != self.continuous:
                    raise MrgenError(f"control features must have shape (frames, {self.continuous}), "
                                     f"got {c.shape}")
                c = fit_length(c, num_frames)
                parts.append(self.normalize(c))
        if not parts:
            return np.zeros((num_frames, 0))
        return np.concatenate(parts, axis=1)

    def normalize(self, c: np.ndarray) -> np.ndarray:
        """Continuous control in training units: channels that never varied in training carry nothing (0), and
        values far outside the training range are clipped, so unfamiliar input (e.g. voiced speech for a model
        trained on unvoiced audio) cannot blow the generator up."""
        std = np.asarray(self.cont_std, dtype=np.float64)
        live = std > 1e-4
        z = (c - np.asarray(self.cont_mean)) / np.where(live, std, 1.0)
        return np.clip(np.where(live, z, 0.0), -CONTROL_CLIP, CONTROL_CLIP)

    def at_level(self, control: np.ndarray, n: int, crossfade: float = 0.0) -> np.ndarray:
        """A full-rate control (T, size) at a level of ``n`` frames: resampled, then smoothed over
        ``transition_frames`` so label switches blend in. ``crossfade`` (full-rate frames; sampling): the labels
        are instead the weights of a crossfade of the levels' outputs that takes that long at every level
        (:mod:`mrgen_core.model.crossfade`): smoothed at the full rate, then sampled at the level's frames."""
        if control.shape[1] == 0:
            return np.zeros((n, 0))
        c = smooth(resample_linear(control, n), self.transition_frames)
        if crossfade:
            k = len(self.vocab)
            c[:, :k] = resample_linear(smooth(control[:, :k], crossfade), n, antialias=False)
            if self.source == PATH_SOURCE:  # travel (smooth already) changes with the labels, not seconds before them
                c[:, k:] = resample_linear(smooth(control[:, k:], crossfade), n)
        return c

    def to_dict(self) -> dict:
        return {"vocab": list(self.vocab), "continuous": int(self.continuous),
                "cont_mean": [float(v) for v in self.cont_mean], "cont_std": [float(v) for v in self.cont_std],
                "transition_frames": float(self.transition_frames), "source": str(self.source)}

    @classmethod
    def from_dict(cls, d: dict) -> "ControlSpec":
        return cls(tuple(str(v) for v in d.get("vocab", ())), int(d.get("continuous", 0)),
                   [float(v) for v in d.get("cont_mean", [])], [float(v) for v in d.get("cont_std", [])],
                   float(d.get("transition_frames", 4.0)), str(d.get("source", "")))


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """Trim or extend (repeating the last row) a per-frame array to ``n`` frames."""
    x = np.asarray(x)
    if len(x) >= n:
        return x[:n]
    if len(x) == 0:
        raise MrgenError("control features are empty")
    return np.concatenate([x, np.repeat(x[-1:], n - len(x), axis=0)], axis=0)
