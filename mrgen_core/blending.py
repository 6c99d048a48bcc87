"""Blending with a trained model (torch): keep the coarse levels of a source motion and regenerate the finer ones,
and mix controls across levels (coarse levels driven by one control, finer levels by another).

``keep_levels = K`` takes levels ``0 .. K-1`` (the timing, path and big poses) from the source, downsampled to
those levels' frame rates, and runs the generators of levels ``K .. L-1`` on it with new noise: same coarse
structure, new detail. ``K = L`` gives the source back.

Level ``K - 1`` must hold at least ``2 margin + 1`` frames (on the shipped model, ``K = 2`` needs 5.5 s). A shorter
source is padded to that length by mirroring its features in time at both ends (each channel reflected about the
first and last frame: continuous, the path carrying on while the poses play back), blended, and cut back to its own
frames; the padding is never in the result.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from . import features as feat
from .clip_codes import groups_of, public_labels, resolve, tour, uses_clip_codes
from .control import fit_length, parse_schedule, schedule_onehot, smooth
from .errors import MrgenError
from .geometry import ground_path, rotate_heading
from .model.pyramid import MotionModel, downsample
from .motion import Motion
from .sampling import build_control, finish, noise_mode


def resolve_source(model: MotionModel, source: Motion | str | os.PathLike) -> Motion:
    """A Motion at the model's frame rate from a Motion, one of the model's training clips (by name) or a file."""
    motion = load_source(model, source)
    if abs(motion.fps - model.fps) > 1e-6:
        motion = motion.resample(model.fps)
    return motion


def load_source(model: MotionModel, source: Motion | str | os.PathLike) -> Motion:
    """The source as given (at its own frame rate): a Motion, a training clip of the model by name, or a file."""
    if isinstance(source, Motion):
        motion = source
    elif str(source) in model.clip_names:
        motion = model.training_motions()[model.clip_names.index(str(source))]
    elif Path(source).suffix.lower() in (".npz", ".bvh") or Path(source).exists():
        from .motion_files import load_motion

        motion = load_motion(source)
    else:
        names = ", ".join(model.clip_names) or "none"
        raise MrgenError(f"source {str(source)!r} is neither a motion file nor a training clip of the model "
                         f"(its clips: {names})")
    return motion


def parse_keep_levels(model: MotionModel, keep_levels: int | str) -> int:
    """``keep_levels`` as an int in 1..L (``"all"`` = L); a clear error outside that range."""
    n = model.num_levels
    if str(keep_levels).strip().lower() == "all":
        return n
    try:
        k = int(keep_levels)
    except (TypeError, ValueError):
        raise MrgenError(f"--keep-levels must be a number from 1 to {n} or 'all', got {keep_levels!r}") from None
    if not 1 <= k <= n:
        raise MrgenError(f"--keep-levels must be from 1 to {n} (this model has {n} levels), got {k}")
    return k


def source_padding(model: MotionModel, frames: int, keep_levels: int) -> tuple[int, int]:
    """Frames to add before and after a source of ``frames`` frames so that its kept level ``keep_levels - 1``
    has the ``2 margin + 1`` frames a level needs: ``(0, 0)`` for a long enough source."""
    need = 2 * model.margin + 1
    total = frames
    while model.lengths(total)[keep_levels - 1] < need:
        total += 1
    pad = total - frames
    return pad // 2, pad - pad // 2


def _mirror(x: np.ndarray, pad: tuple[int, int]) -> np.ndarray:
    """``x`` (T, C) with ``pad`` frames mirrored in time before and after it (about its first and last frame)."""
    if not any(pad):
        return x
    if len(x) < 2:
        return np.pad(x, (pad, (0, 0)), mode="edge")
    return np.pad(x, (pad, (0, 0)), mode="reflect")


def _cut_start(model: MotionModel, out: torch.Tensor, src_raw: np.ndarray, start: feat.Start, left: int
               ) -> feat.Start:
    """Where the padded blend ``out`` is at frame ``left`` when the padded source (raw features ``src_raw``) is
    placed so that its frame ``left``, the source's first, lies at ``start``."""
    _, yaw = feat.integrate_root(src_raw, model.fps)
    heading = start.heading - yaw[left]
    pos, _ = feat.integrate_root(src_raw, model.fps, feat.Start(0.0, 0.0, heading))
    placed = feat.Start(start.x - pos[left, 0], start.y - pos[left, 1], heading)  # the padded source's first frame
    pos, yaw = feat.integrate_root(model.denormalize(out[0]).T.cpu().double().numpy(), model.fps, placed)
    return feat.Start(float(pos[left, 0]), float(pos[left, 1]), float(yaw[left]))


def source_travel(model: MotionModel, raw: np.ndarray) -> np.ndarray | None:
    """The path control of a source's features ``raw`` (T, C) for a model trained with path control (None for other
    models): blends regenerate the finer levels travelling as the source does."""
    from . import path_control

    return path_control.of_features(raw, model.fps) if path_control.follows_paths(model) else None


def _level_controls(model: MotionModel, n: int, labels, coarse_labels, fine_labels, switch_level, source_labels,
                    pad: tuple[int, int] = (0, 0), travel: np.ndarray | None = None, tour_seed: int | None = None
                    ) -> tuple[list, np.ndarray | None]:
    """Per-level control tensors (of ``n`` frames mirrored by ``pad``) and the per-frame label indices (of ``n``
    frames) to attach to the result; ``travel``: the path control (n, 3) of a path-controlled model. A model trained
    with clip codes given neither labels nor a labelled source: the tour of seed ``tour_seed`` (when given)."""
    lengths = model.lengths(n + sum(pad))
    if coarse_labels is not None or fine_labels is not None:
        if coarse_labels is None or fine_labels is None or switch_level is None:
            raise MrgenError("control mixing needs --coarse-labels, --fine-labels and --switch-level together")
        s = int(switch_level)
        if not 1 <= s <= model.num_levels - 1:
            raise MrgenError(f"--switch-level must be from 1 to {model.num_levels - 1} (levels below it take the "
                             f"coarse labels), got {switch_level}")
        coarse, _ = build_control(model, n, coarse_labels, travel)
        fine, idx = build_control(model, n, fine_labels, travel)
        cc = model.control_levels(_mirror(coarse, pad), lengths, crossfade=True)
        fc = model.control_levels(_mirror(fine, pad), lengths, crossfade=True)
        return [cc[i] if i < s else fc[i] for i in range(model.num_levels)], idx
    if switch_level is not None:
        raise MrgenError("--switch-level goes with --coarse-labels and --fine-labels")
    if labels is None and source_labels is not None and model.labels:
        full = model.control_spec.build(n, labels=source_labels,
                                        continuous=None if travel is None else fit_length(travel, n))
        return model.control_levels(_mirror(full, pad), lengths, crossfade=True), source_labels
    if not labels and source_labels is None and tour_seed is not None and uses_clip_codes(model):
        labels = tour(model, n, tour_seed)
    full, idx = build_control(model, n, labels, travel)
    return model.control_levels(_mirror(full, pad), lengths, crossfade=True), idx


def _source_labels(model: MotionModel, motion: Motion, seed: int = 0) -> np.ndarray | None:
    """The source's per-frame labels mapped onto the model's vocabulary (None if it has none the model knows); a
    model trained with label codes plays each run of a label as a tour of its clips (drawn from ``seed``)."""
    if motion.labels is None or not model.labels:
        return None
    if groups_of(model):
        names, fps, segs = motion.label_names(), float(motion.fps), []
        known = set(public_labels(model)) | set(model.labels)
        for t, name in enumerate(names):
            if name in known and (not segs or segs[-1][2] != name or segs[-1][1] < t / fps - 1e-9):
                segs.append([t / fps, (t + 1) / fps, name])
            elif name in known:
                segs[-1][1] = (t + 1) / fps
        if not segs:
            return None
        sched = resolve(model, [tuple(x) for x in segs], len(names), seed)
        return schedule_onehot(sched, model.labels, len(names), fps).argmax(axis=1)
    lut = np.array([model.labels.index(v) if v in model.labels else -1 for v in motion.vocab] + [-1])
    idx = lut[motion.labels]
    return idx if np.any(idx >= 0) else None


def _keep_path(model: MotionModel, out: torch.Tensor, source: np.ndarray, cutoff: float) -> torch.Tensor:
    """Keep the source's path: the blend's heading, then its ground position, are pulled onto the source's
    (``source``: its raw features) wherever they differ more slowly than ``cutoff`` frames; faster detail (steps,
    sway, quick turns) stays. Corrected in world space, so a heading that drifts cannot bend the path."""
    raw = model.denormalize(out[0]).T.cpu().double().numpy()
    fps = model.fps
    pos_s, yaw_s = feat.integrate_root(source, fps)
    _, yaw_b = feat.integrate_root(raw, fps)
    drift = smooth(yaw_b - yaw_s, cutoff)
    yaw = yaw_b - (drift - drift[0])
    if len(yaw) > 1:
        raw[:-1, feat.YAW_RATE] = np.diff(yaw) * fps
    xy = ground_path(raw[:, feat.VEL_X:feat.VEL_Y + 1], yaw, fps)
    off = smooth(xy - pos_s[:, :2], cutoff)
    xy = xy - (off - off[0])
    raw[:-1, feat.VEL_X:feat.VEL_Y + 1] = rotate_heading(-yaw[:-1], np.diff(xy, axis=0)) * fps
    return model.normalize(raw)


@torch.no_grad()
def blend(model: MotionModel, source: Motion | str | os.PathLike, keep_levels: int | str, *, seed: int = 0,
          num: int = 1, labels: str | None = None, coarse_labels: str | None = None, fine_labels: str | None = None,
          switch_level: int | None = None, cleanup: bool = True, progress=None) -> list[Motion]:
    """``num`` motions with the coarse structure of ``source`` (levels below ``keep_levels``) and new detail.

    ``source``: a Motion, one of the model's training clips by name, or a .npz/.bvh file. ``labels`` (a schedule
    or one label) drives the regenerated levels; default the source's own labels where the model knows them (for
    an unlabelled source and a model trained with clip codes: a tour of its clips, :mod:`mrgen_core.clip_codes`).
    ``coarse_labels``/``fine_labels``/``switch_level`` mix controls across levels instead. Sample ``k`` uses
    seed ``seed + k``. ``cleanup``: foot cleanup on the predicted contacts. A source too short for the kept levels
    is mirrored to their length and the result cut back to the source's frames (:func:`source_padding`).
    """
    if num < 1:
        raise MrgenError(f"--num must be at least 1, got {num}")
    k = parse_keep_levels(model, keep_levels)
    src = resolve_source(model, source)
    n = src.num_frames
    pad = source_padding(model, n, k)  # a short source is mirrored to the length level k-1 needs, then cut back
    lengths = model.lengths(n + sum(pad))
    for text in (labels, coarse_labels, fine_labels):
        if text:
            parse_schedule(text)
    raw = feat.encode(src)
    controls, idx = _level_controls(model, n, labels, coarse_labels, fine_labels, switch_level,
                                    _source_labels(model, src, seed), pad, source_travel(model, raw), tour_seed=seed)
    src_raw = _mirror(raw, pad)
    base = downsample(model.normalize(src_raw), lengths[k - 1])
    cutoff = 2.0 * lengths[-1] / lengths[k - 1]  # the kept levels' sample spacing, in output frames
    start = feat.start_of(src)
    model.eval()
    motions = []
    for j in range(num):
        out = base
        if k < model.num_levels:
            gen = torch.Generator().manual_seed(int(seed) + j)
            out = model.synthesize(lengths, controls, generator=gen, start_level=k, base=base, crossfade=True)[-1]
            out = _keep_path(model, out, src_raw, cutoff)
        at = start
        if any(pad):  # cut the padding off; the cut starts where the padded blend is at the source's first frame
            at = _cut_start(model, out, src_raw, start, pad[0])
            out = out[..., pad[0]:pad[0] + n]
        motions.append(finish(model, out[0], start=at, name=f"{src.name or 'source'}_blend{k}_{int(seed) + j}",
                              labels=idx, cleanup=cleanup and k < model.num_levels))
        if progress is not None:
            progress((j + 1) / num, f"blend {j + 1}/{num}")
    return motions


@torch.no_grad()
def generate_mixed(model: MotionModel, seconds: float | None = None, *, frames: int | None = None,
                   coarse_labels: str, fine_labels: str, switch_level: int, seed: int = 0, num: int = 1,
                   cleanup: bool = True, progress=None) -> list[Motion]:
    """New motion whose levels below ``switch_level`` follow ``coarse_labels`` and the rest ``fine_labels``
    (e.g. the path and rhythm of a walk with the detail of a happy walk)."""
    if num < 1:
        raise MrgenError(f"--num must be at least 1, got {num}")
    if frames is None:
        frames = int(round(float(seconds) * model.fps)) if seconds is not None else model.clip_lengths[0]
    if frames < 1:
        raise MrgenError(f"motion length must be at least one frame, got {frames}")
    controls, idx = _level_controls(model, frames, None, coarse_labels, fine_labels, switch_level, None)
    lengths = model.lengths(frames)
    model.eval()
    motions = []
    for j in range(num):
        gen = torch.Generator().manual_seed(int(seed) + j)
        levels = None if noise_mode(model) == "all" else [0]
        out = model.synthesize(lengths, controls, generator=gen, noise_levels=levels, crossfade=True)[-1]
        motions.append(finish(model, out[0], start=model.default_start(), name=f"mixed_{int(seed) + j}",
                              labels=idx, cleanup=cleanup))
        if progress is not None:
            progress((j + 1) / num, f"sample {j + 1}/{num}")
    return motions
