"""Checks of a model config (plain values) before any network is built from it: types, finite values, ranges
and the size of the networks it describes (no torch)."""
from __future__ import annotations

import math

from .. import limits
from ..errors import MrgenError


def is_whole(v) -> bool:
    """An int (not a bool)."""
    return isinstance(v, int) and not isinstance(v, bool)


def check_config(cfg) -> None:
    """Check every field of a model config (types, finite values, ranges, and the size of the networks it would
    build) before anything is allocated; MrgenError naming the field."""
    if not isinstance(cfg, dict):
        raise MrgenError("config is not a dictionary")
    for key in ("fps", "scale_factor", "num_levels", "kernel_size", "g_widths", "d_widths", "embed_dim",
                "neighbour_distance", "control"):
        if key not in cfg:
            raise MrgenError(f"config lacks {key!r}")
    limits.finite_number(cfg["fps"], "config fps", limits.MIN_FPS, limits.MAX_FPS)
    limits.finite_number(cfg["scale_factor"], "config scale_factor", 1.0, 4.0, lo_open=True)
    levels = limits.finite_number(cfg["num_levels"], "config num_levels", 1, limits.MAX_LEVELS, integer=True)
    k = limits.finite_number(cfg["kernel_size"], "config kernel_size", 1, limits.MAX_KERNEL, integer=True)
    if not is_whole(cfg["kernel_size"]) or k % 2 == 0:
        raise MrgenError(f"config kernel_size must be an odd whole number, got {cfg['kernel_size']!r}")
    for key in ("g_widths", "d_widths"):
        w = cfg[key]
        if not (isinstance(w, (list, tuple)) and 1 <= len(w) <= limits.MAX_LAYERS
                and all(is_whole(x) and 1 <= x <= limits.MAX_WIDTH for x in w)):
            raise MrgenError(f"config {key} must be 1-{limits.MAX_LAYERS} whole numbers from 1 to "
                             f"{limits.MAX_WIDTH}, got {w!r}"[:200])
    limits.finite_number(cfg["embed_dim"], "config embed_dim", 1, limits.MAX_EMBED, integer=True)
    limits.finite_number(cfg["neighbour_distance"], "config neighbour_distance", 0, 64, integer=True)
    for key in ("full_noise", "clip_codes"):
        if not isinstance(cfg.get(key, False), bool):
            raise MrgenError(f"config {key} must be true or false, got {cfg.get(key)!r}"[:200])
    from ..skeleton import GENDERS

    if cfg.get("gender", "neutral") not in GENDERS:
        raise MrgenError(f"config gender must be one of {', '.join(GENDERS)}, got {cfg.get('gender')!r}"[:200])
    c = cfg["control"]
    if not isinstance(c, dict):
        raise MrgenError("config control is not a dictionary")
    vocab, cont = c.get("vocab", []), c.get("continuous", 0)
    if not (isinstance(vocab, (list, tuple)) and len(vocab) <= limits.MAX_VOCAB
            and all(isinstance(v, str) for v in vocab)):
        raise MrgenError(f"config control vocab must be up to {limits.MAX_VOCAB} label names")
    limits.finite_number(cont, "config control continuous", 0, limits.MAX_CONTINUOUS, integer=True)
    for key in ("cont_mean", "cont_std"):
        v = c.get(key, [])
        if not (isinstance(v, (list, tuple)) and len(v) == cont
                and all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in v)):
            raise MrgenError(f"config control {key} must be {cont} finite numbers")
    limits.finite_number(c.get("transition_frames", 4.0), "config control transition_frames", 0, 1000)
    if not isinstance(c.get("source", ""), str):
        raise MrgenError("config control source must be a string")
    groups = cfg.get("label_groups")
    if groups is not None:  # label codes: every label -> its clips' codes, each code in one group
        codes = [x for cs in groups.values() for x in cs] if isinstance(groups, dict) else None
        if not (codes is not None and all(isinstance(k, str) and isinstance(cs, list) and cs
                                          for k, cs in groups.items())
                and sorted(codes, key=str) == sorted(vocab, key=str)):
            raise MrgenError("config label_groups must map every label to its codes, each of the vocab's once")
    # the dense size of every level's generator and discriminator (before masking)
    from ..features import NUM_FEATURES

    params = 0
    for key in ("g_widths", "d_widths"):
        chans = [NUM_FEATURES] + [29 * w for w in cfg[key]] + [NUM_FEATURES]
        params += sum(a * b * k for a, b in zip(chans, chans[1:]))
    if levels * params > limits.MAX_PARAMETERS:
        raise MrgenError(f"config describes networks of {levels * params:.3g} parameters; the limit is "
                         f"{limits.MAX_PARAMETERS:.3g}")
