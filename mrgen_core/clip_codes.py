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
from .errors import MrgenError

_EPS = 1e-9  # (s) a round ends where it reaches the end of its stretch up to float rounding


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


def rounds(codes: list[str], seconds: dict[str, float], start: float, end: float,
           rng: np.random.Generator) -> list[Segment]:
    """Schedule segments from ``start`` to ``end`` (s): rounds that play every one of ``codes`` once, each round in a
    random order drawn from ``rng``, each code for ``seconds[code]`` (the last one cut at ``end``)."""
    out: list[Segment] = []
    t = float(start)
    while t < end - _EPS:
        for c in rng.permutation(len(codes)):
            stop = min(t + seconds.get(codes[c], end - t), end)
            out.append((t, stop, codes[c]))
            t = stop
            if t >= end - _EPS:
                break
    return out


def clip_seconds(model) -> dict[str, float]:
    """How long each clip's code lasts: its clip's length in seconds (mirrored copies share their clip's code)."""
    seconds: dict[str, float] = {}
    for clip in model.clips:
        if not clip.get("mirrored") and clip.get("labels") is not None:
            seconds.setdefault(model.labels[int(clip["labels"][0])], max(clip["frames"], 1) / clip["fps"])
    return seconds


def tour(model, frames: int, seed: int) -> list[Segment]:
    """A free sample's label schedule of ``frames`` frames: rounds that visit every clip's code once, each round in
    a random order drawn from ``seed``, each code for as long as its clip (mirrored copies share their clip's code
    and do not add a visit)."""
    seconds = clip_seconds(model)
    if not seconds:  # nothing to tour (a model file without its clips' labels): the first label, as for any model
        return [(0.0, None, model.labels[0])]
    return rounds(list(seconds), seconds, 0.0, frames / float(model.fps), np.random.default_rng(int(seed)))


# --- label codes: several clips under one label -------------------------------------------------------------------

def label_codes(clip_labels: list[str | None], names: list[str]) -> tuple[dict[str, list[str]], list[str]] | None:
    """Label codes (training setting ``label_codes``): where several clips share one label, each of them is learnt
    under a code of its own, ``label/clip``, and the label is played as a tour of its clips. ``clip_labels``: each
    clip's one label (None where a clip carries several). Returns the groups (every label -> its codes, in order)
    and each clip's code, or None where no label has two clips or a clip carries several labels."""
    if any(lab is None for lab in clip_labels):
        return None
    count = {lab: clip_labels.count(lab) for lab in clip_labels}
    if max(count.values()) < 2:
        return None
    codes = code_names([f"{lab}/{name}" if count[lab] > 1 else lab for lab, name in zip(clip_labels, names)])
    groups: dict[str, list[str]] = {}
    for lab, code in zip(clip_labels, codes):
        groups.setdefault(lab, []).append(code)
    return groups, codes


def groups_of(model) -> dict[str, list[str]] | None:
    """A model's label groups (label -> its clip codes), or None for a model trained without label codes."""
    return getattr(model, "config", {}).get("label_groups") or None


def public_labels(model) -> tuple[str, ...]:
    """The labels a user asks for: the groups of a model trained with label codes, else its labels."""
    groups = groups_of(model)
    return tuple(groups) if groups else tuple(model.labels)


def label_indices(model, name: str) -> list[int]:
    """The model's label indices that ``name`` stands for: all the codes of a group, or one label (or code)."""
    groups = groups_of(model) or {}
    if name in groups:
        return [model.labels.index(c) for c in groups[name]]
    if name in model.labels:
        return [model.labels.index(name)]
    raise MrgenError(f"unknown label {name!r}; the model knows: {', '.join(public_labels(model))}")


def resolve(model, segments: list[Segment], frames: int, seed: int) -> list[Segment]:
    """A label schedule in the model's own labels: each segment of a group label (label codes) becomes a tour of its
    clips' codes inside the segment (rounds of every code, each round in a random order drawn from ``seed``, each
    code for as long as its clip); other segments are kept."""
    groups = groups_of(model)
    if not groups:
        return segments
    seconds, rng = clip_seconds(model), np.random.default_rng(int(seed))
    out: list[Segment] = []
    for start, end, label in segments:
        codes = groups.get(label)
        if not codes or len(codes) == 1:
            out.append((start, end, codes[0] if codes else label))
        else:
            out += rounds(codes, seconds, float(start), frames / float(model.fps) if end is None else float(end), rng)
    return out


def loop_code(model, label: str | None, seed: int) -> str:
    """The code a loop of ``label`` follows: one clip of its group, picked by ``seed`` (a loop cannot tour, its seam
    would join two clips); no label: one of all the model's codes (clip codes); a label without a group is itself."""
    codes = (groups_of(model) or {}).get(label) or ([label] if label else list(model.labels))
    return codes[int(seed) % len(codes)]


def public_track(model, labels):
    """Per-frame label indices in the model's labels -> (indices in :func:`public_labels`, that vocabulary)."""
    groups = groups_of(model)
    if not groups or labels is None:
        return labels, tuple(model.labels)
    names = list(groups)
    of_code = {c: names.index(g) for g, cs in groups.items() for c in cs}
    lut = np.array([of_code.get(c, -1) for c in model.labels] + [-1])
    return lut[np.where(np.asarray(labels) >= 0, labels, len(model.labels))], tuple(names)
