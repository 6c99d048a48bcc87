"""Training presets as plain values: ``fast``, ``default``, ``quality`` (and ``tiny``, for tests only).

Model keys go into the model config; the rest drive the loop in :mod:`training.train` and its data
(:mod:`training.data`).
Targets on a 2-core laptop-class CPU for a ~7 s clip: ``fast`` <= 3 min, ``default`` <= 10 min.
"""
from __future__ import annotations

from mrgen_core.errors import MrgenError
from mrgen_core.limits import check_setting

#: Keys that shape the model (stored in its config); everything else is a training setting.
MODEL_KEYS = ("scale_factor", "coarse_seconds", "kernel_size", "g_widths", "d_widths", "embed_dim",
              "neighbour_distance", "full_noise")

_BASE = dict(
    # model
    scale_factor=4.0 / 3.0,   # frame-rate ratio between adjacent levels
    coarse_seconds=8.0,       # the coarsest generator's receptive field spans this long -> number of levels
                              # (a long coarse view lets a sample hold a clip's one-off parts, e.g. its start)
    kernel_size=5,
    g_widths=[3, 6, 6],       # channels per body-part group of the generator's hidden layers (29 groups)
    d_widths=[2, 4, 4],       # ... of the discriminator's (receptive field 17 frames at every level)
    embed_dim=32,             # size of the control embedding y_i
    neighbour_distance=2,     # a joint's channels see joints up to this many edges away
    full_noise=False,         # one noise channel shared by all features (GANimator's default) or one each
    # training
    mirror=False,             # also train on every clip mirrored left to right (turns both ways, twice the motion;
                              # asymmetric styles, e.g. a limp, become symmetric); `mrgen train --mirror`
    iterations=1000,          # steps per level, on average
    coarse_boost=1.0,         # shift steps to the coarse levels: level i gets iterations * (1 + boost*(0.5 - i/(L-1)))
    batch=4,                  # random crops per step
    batch_per_process=False,  # data-parallel runs (--procs N): each process takes `batch` crops, so a step's batch
                              # grows with N (more cores buy coverage, not speed); False: each takes its share
    batch_per_process_seconds=0.0,  # ... and also, without it, where the training motion (all clips, mirrored ones
                              # too) lasts at most this many seconds. `default`: 15 s. On 2 cores the larger batch made
                              # 05_06 (7 s) cover more within the budget, but cost CMU 131 (28 s) 1.2-1.5x the time and
                              # its labelled diversity (PROFILE.md, "A batch per process")
    crop=48,                  # crop length in frames at each level (the whole clip when shorter)
    loss="wgan-gp",           # "wgan-gp" or "ns-r1" (non-saturating + R1)
    d_steps=1,                # discriminator steps per generator step
    rec_batch=2,              # crops of the batch that also train the reconstruction from z*
    penalty_every=2,          # gradient penalty every this many D steps (lazy regularisation, scaled up to match)
    lr_g=5e-4, lr_d=5e-4, betas=(0.5, 0.9),
    gp_weight=10.0,           # gradient penalty (wgan-gp) or R1 weight (ns-r1)
    rec_weight=50.0,          # L1 reconstruction of the clips from z*
    contact_weight=5.0,       # GANimator's consistency of predicted contacts and foot speed
    slide_weight=5.0,         # sliding of feet that are low and slow (as the foot-skating metric sees it)
    path_weight=30.0,         # models trained with --path-control: the generated travel (smoothed root velocity
                              # and turning, L1 in m/s and rad/s) agrees with the path control it was given
    path_steady=0.0,          # ... share of crops (beyond the reconstruction's) trained under a steadier travel,
    path_steady_seconds=2.0,  # averaged once more over this long, so the model steps and plants its feet on an even
                              # path (training/data.py: steady_travel). Off by default: 0.5 helped single-gait models
                              # (CMU 131, Bandai walks) but made the shipped model's walk drift (PROFILE.md)
    patch_weight=10.0,        # patch nearest-neighbour loss (generated patches near real ones of their label)
    patch_size=8,             # frames per patch
    patch_margin=0.0,         # per-frame distance allowed without penalty (room for variation)
    patch_recall=3.0,         # weight of the reverse term (every real patch near a generated one: coverage)
    recall_memory=0,          # ... counting a real patch as covered when a generated patch of the last this many steps
                              # came near it (0: this step's alone; training/losses.py: RecallMemory)
    sample_recall=0.0,        # recall of each sample on its own where a crop is a whole clip (coarse levels)
    clip_codes=False,         # several clips and no labels: each clip learnt under a label of its own, and a free
                              # sample visits them all in turn (mrgen_core/clip_codes.py; on in every public preset,
                              # measured on `default`: training/PROFILE.md, "Clip codes")
    label_codes=False,        # several clips under one label: each clip learnt under a code of its own (label/clip),
                              # and the label played as a tour of its clips (mrgen_core/clip_codes.py; measured on
                              # the shipped model's clips: training/PROFILE.md, "A larger batch")
    vary_weight=0.0,          # mode seeking above level 0: fresh noise must change the output (blend variations)
    vary_ratio=1.0,           # ... by at least this times the noise difference (mean absolute values)
    vary_smooth=1,            # ... >1: only the change's moving average over this many frames counts, the
                              # frame-to-frame rest is penalised (noise passed straight through shakes the motion)
    vary_from=0.0,            # ... on the levels from this fraction of the pyramid up (0: all above level 0)
    patch_pool=2048,          # real patches compared per step at most (random subset beyond)
    patch_control=3.0,        # weight of continuous control channels in patch matching (matched with their control)
    patch_end=0.0,            # weight of a channel in patch matching that says how near a patch lies to its clip's
    patch_end_seconds=1.0,    # end (exp(-frames to the end / this long)): a generated crop that ends where its clip
                              # does (the generator's quiet margin) is matched to, and recalls, the clip's own end
    end_crops=0.0,            # share of the crops drawn to end where their clip ends (uniform starts give a clip's
                              # last frames 1/crop of the crops its middle gets); with patch_end, a model learns how
                              # its clips come to rest (training/PROFILE.md, "Clip ends")
    label_mix=0.25,           # share of generated training crops whose label switches mid-sequence (needs two
                              # labels): teaches the generator to follow a label schedule where it switches
    bank_frames=1200,         # frames of samples of the frozen levels below (per clip, at least one sample),
                              # reused as the input of a level
    bank_refresh=100,         # ... regenerated every this many steps
    threads=1,                # torch threads (0 = all cores); these small convolutions gain little from more, and
                              # oversubscribed threads on a busy machine cost several times over
)

PRESETS: dict[str, dict] = {
    # per-sample recall lifts coverage; fewer steps keep diversity; mode seeking (vary_weight) makes the fine levels
    # use their noise, so blends and samples vary (training/PROFILE.md, "Where the quality goes"); `fast` leaves it
    # out to stay within its time budget
    "fast": dict(_BASE, iterations=360, sample_recall=3.0, clip_codes=True),
    # `default` has wider layers than `fast`: coverage no longer hangs on the seed (95.9-99.5 % over seeds 0-3)
    "default": dict(_BASE, iterations=600, g_widths=[4, 8, 8], d_widths=[3, 6, 6], patch_recall=6.0,
                    sample_recall=10.0, vary_weight=100.0, vary_from=0.5, batch_per_process_seconds=15.0,
                    clip_codes=True),
    "quality": dict(_BASE, iterations=2000, g_widths=[4, 8, 8], d_widths=[3, 6, 6], clip_codes=True),
    # For the test suite only: a few seconds of training on a tiny network. Not for real use.
    "tiny": dict(_BASE, iterations=20, batch=4, crop=24, g_widths=[2, 2], d_widths=[2, 2], embed_dim=8,
                 coarse_seconds=1.5, bank_frames=100, bank_refresh=10, patch_pool=256, lr_g=2e-3, lr_d=2e-3,
                 label_mix=0.0),
}
PUBLIC_PRESETS = ("fast", "default", "quality")


def get_preset(name: str, **overrides) -> dict:
    """A copy of preset ``name`` with ``overrides`` applied (MrgenError for an unknown name or key)."""
    if name not in PRESETS:
        raise MrgenError(f"unknown preset {name!r}; choose one of {', '.join(PUBLIC_PRESETS)}")
    p = dict(PRESETS[name])
    for k, v in overrides.items():
        if k not in p:
            raise MrgenError(f"unknown training setting {k!r}")
        p[k] = v
    return p


def parse_setting(text: str, preset: str = "default") -> tuple[str, object]:
    """``KEY=VALUE`` (the value in JSON: ``6``, ``5e-4``, ``[3, 6, 6]``, ``"ns-r1"`` or a bare word) -> (key, value),
    checked against the preset's own value of that key (MrgenError for an unknown key or a value of the wrong
    kind)."""
    import json

    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise MrgenError(f"--set wants KEY=VALUE, got {text!r}")
    base = get_preset(preset)
    if key not in base:
        raise MrgenError(f"unknown training setting {key!r}; known: {', '.join(sorted(base))}")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw.strip()
    current = base[key]
    if isinstance(current, bool) or isinstance(value, bool):
        ok = isinstance(current, bool) and isinstance(value, bool)
    elif isinstance(current, (int, float)):
        ok = isinstance(value, (int, float)) and (isinstance(current, float) or float(value).is_integer())
        if ok:
            value = type(current)(value)
    elif isinstance(current, (list, tuple)):
        ok = isinstance(value, list) and all(isinstance(v, (int, float)) for v in value)
        value = type(current)(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise MrgenError(f"--set {key}: expected a value like {json.dumps(current)}, got {raw!r}")
    check_setting(key, value)
    return key, value
