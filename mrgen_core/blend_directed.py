"""Directed blends (torch): ``mrgen blend --keep-frames`` and ``mrgen blend --loop``.

- Kept frames: the source's frames in the kept ranges are kept exactly, the rest regenerated (a time-masked
  synthesis, :func:`mrgen_core.directing.constraint`), the source's kept levels kept there too.
- ``loop``: the kept coarse levels come from the source except near the seam, where the model makes the
  transition from the source's end into its start (circularly, as a loop).
"""
from __future__ import annotations

import os

import numpy as np
import torch

from . import features as feat
from . import keys as keymod
from .blending import (_keep_path, _level_controls, _mirror, _source_labels, load_source, parse_keep_levels,
                       source_padding, source_travel)
from .directing import SEAM_SECONDS, check_loop, constraint, finish, pin_constraint
from .errors import MrgenError
from .features import Start
from .sampling import noise_mode
from .model.pyramid import MotionModel, downsample
from .motion import Motion


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
        raise MrgenError("blend_directed.blend needs keep_frames or loop")
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
    src_labels = _source_labels(model, src, seed)
    if loop:
        return _blend_loop(model, src, k, n, seed, num, labels, src_labels, cleanup, progress)
    return _blend_keep(model, src, k, n, ranges, seed, num, labels, src_labels, cleanup, progress)


def _blend_keep(model, src, k, n, ranges, seed, num, labels, src_labels, cleanup, progress) -> list[Motion]:
    pad = source_padding(model, n, k) if k else (0, 0)
    raw = feat.encode(src)
    controls, idx = _level_controls(model, n, labels, None, None, None, src_labels, pad, source_travel(model, raw),
                                    tour_seed=seed)
    src_raw = _mirror(raw, pad)
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
            levels = None if noise_mode(model) == "all" else [0]
            out = model.synthesize(lengths, controls, generator=gen, noise_levels=levels, crossfade=True,
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
    raw = feat.encode(src)
    controls, idx = _level_controls(model, n, labels, None, None, None, src_labels, travel=source_travel(model, raw))
    check_loop(model, n, idx)
    lengths = model.lengths(n)
    h = max(1, int(round(SEAM_SECONDS * model.fps)))
    s = n // 2  # the cycle starts s frames into the period (not at its start: see loops.loop_start), so the source
    seam = [(s - h, s + h - 1)]  # goes in s frames late to line up with the result; its seam then lies at frame s
    weights = [1.0 - keymod.level_weights(seam, n, m, circular=True) if i < k else None
               for i, m in enumerate(lengths)]
    src_raw = np.roll(raw, s, axis=0)
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
