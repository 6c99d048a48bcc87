"""Clip codes: a model trained on several unlabelled clips (training setting ``clip_codes``, on in every public
preset) learns each clip under a label of its own, named after the clip, and a free sample visits every clip in turn.

Without them the model picks which clip to resemble stretch by stretch, so a sample holds every part of every clip
only when chance gives each clip enough of it (training/PROFILE.md, "The unlabelled CMU 131 bench"). With them the
mix is drawn, not left to chance: a free sample plays rounds of every clip's code, each round in its own random
order, each code for as long as its clip lasts; the generator still makes new motion under each code, and the
switches are crossfaded like any label schedule. A clip's name can also be asked for as a label (``--labels
131_03``) to get more motion like that one clip. Numpy only.
"""
from __future__ import annotations

import numpy as np

from .control import Segment


def uses_clip_codes(model) -> bool:
    """Whether ``model`` was trained with clip codes (its labels are its clips)."""
    return bool(getattr(model, "config", {}).get("clip_codes"))


def code_names(names: list[str]) -> list[str]:
    """One label per clip: its name, made unique (``"walk"``, ``"walk (2)"``) where two clips share one, with the
    characters that label schedules use (``:`` and ``,``) replaced by ``_`` so that it can be asked for by name."""
    out: list[str] = []
    for name in names:
        name = name.replace(":", "_").replace(",", "_").strip() or "clip"
        code, k = name, 2
        while code in out:
            code, k = f"{name} ({k})", k + 1
        out.append(code)
    return out


def tour(model, frames: int, seed: int) -> list[Segment]:
    """A free sample's label schedule of ``frames`` frames: rounds that visit every clip's code once, each round in
    a random order drawn from ``seed``, each code for as long as its clip (mirrored copies share their clip's code
    and do not add a visit)."""
    fps = float(model.fps)
    seconds = {}
    for clip in model.clips:
        if clip.get("mirrored") or clip.get("labels") is None:
            continue
        seconds.setdefault(model.labels[int(clip["labels"][0])], max(clip["frames"], 1) / clip["fps"])  # one per clip
    codes = list(seconds)
    if not codes:  # nothing to tour (a model file without its clips' labels): the first label, as for any model
        return [(0.0, None, model.labels[0])]
    rng = np.random.default_rng(int(seed))
    end, t, out = frames / fps, 0.0, []
    while t < end:
        for c in rng.permutation(len(codes)):
            stop = min(t + seconds[codes[c]], end)
            out.append((t, stop, codes[c]))
            t = stop
            if t >= end:
                break
    return out
