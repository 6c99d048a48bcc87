"""Directed sampling (torch): seamless loops, key poses and kept frames on top of :mod:`mrgen_core.sampling` and
:mod:`mrgen_core.blending`.

- Loops: every level runs circularly (``synthesize(circular=True)``: circular margins and upsampling, periodic
  noise), so the output is one period by construction; :func:`finish` closes the heading (the yaw rate less its mean)
  and cleans the feet circularly (:mod:`mrgen_core.loops`).
- Key poses and kept frames: a time-masked synthesis. Each level's output is pulled onto the target downsampled to
  that level (:func:`constraint`, weights of :func:`mrgen_core.keys.level_weights`), the finer levels harmonise the
  boundary, and the finest keeps the kept frames exactly; the root path is then bent between them to meet the
  target's world positions (:func:`mrgen_core.keys.pin_path`) and the foot cleanup is kept off them.
- ``blend(loop=True)``: the kept coarse levels come from the source except near the seam, where the model makes the
  transition from the source's end into its start (circularly, as a loop).
"""
from __future__ import annotations

import os

import numpy as np
import torch

from . import features as feat
from . import keys as keymod
from . import loops
from .blending import (_keep_path, _level_controls, _mirror, _source_labels, load_source, parse_keep_levels,
                       source_padding)
from .cleanup import cleanup_feet
from .errors import MrgenError
from .features import Start
from .model.pyramid import MotionModel, downsample
from .motion import Motion

#: Seconds on either side of the seam of ``blend(loop=True)`` that the kept levels regenerate (plus their fade).
SEAM_SECONDS = 0.5


# --- masks ----------------------------------------------------------------------------------------------------------
def constraint(model: MotionModel, target: np.ndarray, weights: list[np.ndarray | None], channels: np.ndarray):
    """``constrain(level, out)`` for ``synthesize``: each level's output moved onto the full-rate ``target`` (raw
    features (T, C), downsampled to the level) by that level's ``weights`` (n,) on ``channels`` (C,) bool."""
    full = model.normalize(np.asarray(target, dtype=np.float64))
    ch = torch.as_tensor(np.asarray(channels, dtype=np.float32), device=model.device)[None, :, None]
    levels = {}
    for i, w in enumerate(weights):
        if w is not None and np.any(w > 0):
            wt = torch.as_tensor(np.asarray(w, dtype=np.float32), device=model.device)[None, None, :] * ch
            levels[i] = (wt, downsample(full, len(w)))

    def constrain(level: int, out: torch.Tensor) -> torch.Tensor:
        if level not in levels:
            return out
        w, t = levels[level]
        return out + w * (t - out)

    return constrain


def pin_constraint(model: MotionModel, pins: keymod.Pins, lengths: list[int]):
    """:func:`constraint` of key poses / kept frames at every level."""
    weights = [keymod.level_weights(pins.intervals, pins.frames, n) for n in lengths]
    return constraint(model, pins.raw, weights, pins.channels)


# --- loops ----------------------------------------------------------------------------------------------------------
def check_loop(model: MotionModel, frames: int, label_idx: np.ndarray | None) -> None:
    """A loop must be long enough for the coarsest level and follow one label (a switch cannot wrap round)."""
    loops.check_loop_frames(model, frames)
    if label_idx is not None and len({int(i) for i in label_idx if i >= 0}) > 1:
        raise MrgenError("--loop follows one label: a label schedule's switches cannot wrap round the seam")


def label_period(model: MotionModel, label: str | None = None) -> float:
    """The dominant period (seconds) of the model's training clips of ``label`` (all clips when None or the model
    has no labels): :func:`mrgen_core.loops.dominant_period` of their joint rotations."""
    idx = None
    if label and model.labels:
        if label not in model.labels:
            raise MrgenError(f"unknown label {label!r}; the model knows: {', '.join(model.labels)}")
        idx = model.labels.index(label)
    elif model.labels:
        idx = 0  # as generate: the model's first label by default
    xs = []
    for clip, x in zip(model.clips, model.clip_features):
        x = x.T.detach().cpu().double().numpy()[:, feat.ROT]
        lab = clip.get("labels")
        if idx is not None and lab is not None:
            x = x[np.asarray(lab) == idx]
        if len(x):
            xs.append(x)
    period, strength = loops.dominant_period(xs, model.fps)
    if period is None:
        what = f"label {model.labels[idx]!r}" if idx is not None else "its clips"
        raise MrgenError(f"--cycles: the model's training clips of {what} have no clear period (autocorrelation "
                         f"{strength:.2f} < {loops.MIN_PERIODICITY}); give the loop's length with --seconds")
    return period


def cycles_seconds(model: MotionModel, cycles: int, labels: str | None) -> float:
    """``cycles`` periods of the requested label (one label name; a schedule is refused by --loop anyway)."""
    if int(cycles) < 1:
        raise MrgenError(f"--cycles must be at least 1, got {cycles}")
    label = labels.strip() if labels and ":" not in labels and "," not in labels else None
    if labels and label is None:
        raise MrgenError("--loop follows one label: a label schedule's switches cannot wrap round the seam")
    return int(cycles) * label_period(model, label)


# --- finishing ------------------------------------------------------------------------------------------------------
def finish(model: MotionModel, x: torch.Tensor, *, start: Start | None, name: str, labels: np.ndarray | None,
           cleanup: bool, loop: bool = False, pins: keymod.Pins | None = None, first: int | None = None) -> Motion:
    """Decode one normalised (C, T) output of a loop (heading closed, feet cleaned circularly; the cycle starts at
    frame ``first`` of the period, default :func:`mrgen_core.loops.loop_start`) or of a pinned synthesis (path through
    the pinned positions, the cleanup kept off the kept frames)."""
    raw = model.denormalize(x.detach().float()).T.cpu().double().numpy()
    start = start or model.default_start()
    if loop:  # the cycle starts at its calmest frame: see loops.loop_start
        if first is None:
            first = loops.loop_start(x.detach().T.cpu().double().numpy(), feat.contacts_of(raw), model.fps)
        raw = loops.close_heading(np.roll(raw, -first, axis=0))
    if pins is not None and pins.yaw is not None:
        raw, start = keymod.pin_path(raw, model.fps, start, pins.xy, pins.yaw)
    motion = feat.decode(raw, model.fps, gender=model.config.get("gender", "neutral"), start=start, name=name,
                         credit="; ".join(sorted({c["credit"] for c in model.clips if c.get("credit")})))
    if labels is not None:
        motion = motion.copy(labels=labels, vocab=model.labels)
    if cleanup:
        contacts = feat.contacts_of(raw)
        cleaned = loops.cleanup_loop(motion, contacts) if loop else cleanup_feet(motion, contacts=contacts)
        motion = keymod.restore(motion, cleaned, pins.intervals) if pins is not None else cleaned
    return motion


# --- blend ----------------------------------------------------------------------------------------------------------
def _keep_levels(model: MotionModel, keep_levels, keep_frames: bool) -> int:
    if keep_frames and str(keep_levels).strip() == "0":
        return 0
    return parse_keep_levels(model, keep_levels)


def _placed(raw: np.ndarray, fps: float, start: Start, left: int) -> Start:
    """The start of features ``raw`` whose frame ``left`` lies at ``start``."""
    _, yaw = feat.integrate_root(raw, fps)
    heading = start.heading - yaw[left]
    pos, _ = feat.integrate_root(raw, fps, Start(0.0, 0.0, heading))
    return Start(start.x - pos[left, 0], start.y - pos[left, 1], heading)


@torch.no_grad()
def blend(model: MotionModel, source: Motion | str | os.PathLike, keep_levels: int | str = 2, *,
          keep_frames: str | list | None = None, loop: bool = False, seed: int = 0, num: int = 1,
          labels: str | None = None, cleanup: bool = True, progress=None) -> list[Motion]:
    """Blend with kept frames (``keep_frames``: ranges of the source's own frames, e.g. ``"0-30,200-240"``, kept
    exactly; the rest regenerated, the source's levels below ``keep_levels`` kept there too, 0: none) or as a loop
    (``loop``: the source's kept levels everywhere but near the seam, the whole made periodic)."""
    if num < 1:
        raise MrgenError(f"--num must be at least 1, got {num}")
    if loop and keep_frames:
        raise MrgenError("--loop and --keep-frames cannot be combined")
    if not (loop or keep_frames):
        raise MrgenError("directing.blend needs keep_frames or loop")
    k = _keep_levels(model, keep_levels, bool(keep_frames) or loop)
    given = load_source(model, source)
    ranges = None
    if keep_frames:
        ranges = keymod.parse_frame_ranges(keep_frames)
        keymod.check_inside(ranges, given.num_frames, "--keep-frames",
                            f"the source {given.source or given.name or source}")
        a = keymod.rescale_frames([r[0] for r in ranges], given.fps, model.fps, "--keep-frames")
        b = keymod.rescale_frames([r[1] for r in ranges], given.fps, model.fps, "--keep-frames")
        ranges = [(x, max(x, y)) for x, y in zip(a, b)]
    src = given if abs(given.fps - model.fps) < 1e-6 else given.resample(model.fps)
    n = src.num_frames
    if ranges is not None:
        ranges = [(min(x, n - 1), min(y, n - 1)) for x, y in ranges]
    src_labels = _source_labels(model, src)
    if loop:
        return _blend_loop(model, src, k, n, seed, num, labels, src_labels, cleanup, progress)
    return _blend_keep(model, src, k, n, ranges, seed, num, labels, src_labels, cleanup, progress)


def _blend_keep(model, src, k, n, ranges, seed, num, labels, src_labels, cleanup, progress) -> list[Motion]:
    pad = source_padding(model, n, k) if k else (0, 0)
    controls, idx = _level_controls(model, n, labels, None, None, None, src_labels, pad)
    src_raw = _mirror(feat.encode(src), pad)
    total = n + sum(pad)
    lengths = model.lengths(total)
    placed = _placed(src_raw, model.fps, feat.start_of(src), pad[0])
    pins = keymod.range_pins(src_raw, [(a + pad[0], b + pad[0]) for a, b in ranges], model.fps, placed)
    constrain = pin_constraint(model, pins, lengths)
    cutoff = 2.0 * lengths[-1] / lengths[k - 1] if k else None
    model.eval()
    motions = []
    for j in range(num):
        gen = torch.Generator().manual_seed(int(seed) + j)
        if k == model.num_levels:
            out = model.normalize(src_raw)
        elif k:
            base = downsample(model.normalize(src_raw), lengths[k - 1])
            out = model.synthesize(lengths, controls, generator=gen, start_level=k, base=base, crossfade=True,
                                   constrain=constrain)[-1]
            out = _keep_path(model, out, src_raw, cutoff)
        else:
            out = model.synthesize(lengths, controls, generator=gen, noise_levels=[0], crossfade=True,
                                   constrain=constrain)[-1]
        raw = model.denormalize(out[0]).T.cpu().double().numpy()
        raw, at = keymod.pin_path(raw, model.fps, placed, pins.xy, pins.yaw)
        if any(pad):  # cut the padding off, starting where the pinned path is at the source's first frame
            pos, yaw = feat.integrate_root(raw, model.fps, at)
            at = Start(float(pos[pad[0], 0]), float(pos[pad[0], 1]), float(yaw[pad[0]]))
            raw = raw[pad[0]:pad[0] + n]
        x = model.normalize(raw)[0]
        cut = keymod.Pins(pins.raw[pad[0]:pad[0] + n], list(ranges), pins.channels)  # the path is pinned already
        motions.append(finish(model, x, start=at, name=f"{src.name or 'source'}_keep_{int(seed) + j}", labels=idx,
                              cleanup=cleanup and k < model.num_levels, pins=cut))
        if progress is not None:
            progress((j + 1) / num, f"blend {j + 1}/{num}")
    return motions


def _blend_loop(model, src, k, n, seed, num, labels, src_labels, cleanup, progress) -> list[Motion]:
    controls, idx = _level_controls(model, n, labels, None, None, None, src_labels)
    check_loop(model, n, idx)
    lengths = model.lengths(n)
    h = max(1, int(round(SEAM_SECONDS * model.fps)))
    s = n // 2  # the cycle starts s frames into the period (not at its start: see loops.loop_start), so the source
    seam = [(s - h, s + h - 1)]  # goes in s frames late to line up with the result; its seam then lies at frame s
    weights = [1.0 - keymod.level_weights(seam, n, m, circular=True) if i < k else None
               for i, m in enumerate(lengths)]
    src_raw = np.roll(feat.encode(src), s, axis=0)
    constrain = constraint(model, src_raw, weights, np.ones(feat.NUM_FEATURES, dtype=bool))
    model.eval()
    motions = []
    for j in range(num):
        gen = torch.Generator().manual_seed(int(seed) + j)
        out = model.synthesize(lengths, controls, generator=gen, crossfade=True, circular=True,
                               constrain=constrain)[-1]
        motions.append(finish(model, out[0], start=feat.start_of(src), name=f"{src.name or 'source'}_loop_"
                              f"{int(seed) + j}", labels=idx, cleanup=cleanup, loop=True, first=s))
        if progress is not None:
            progress((j + 1) / num, f"blend {j + 1}/{num}")
    return motions
