"""Train the tiny test model (preset ``tiny``, a few seconds) on a real walk clip; run with the torch venv.

    python tests/blender/tiny_model.py OUT.pt [--audio [--wavlm DIR]]

``--wavlm DIR`` saves a tiny randomly initialised WavLM checkpoint to DIR (nothing is downloaded) and trains on its
features; it exits with status 77 (skip) when the ``transformers`` package is missing.
Used by tests/conftest.py (in-process: the ``tiny_model`` fixture, the tiny WavLM) and the Blender tests (as a
subprocess of the main venv).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLIP = "cmu_mocap/cgspeed_motionbuilder/02_01.bvh"
#: Width of the tiny WavLM's hidden states (the audio features a model trained on it follows).
WAVLM_HIDDEN = 16
#: Exit status of this script when something it needs is missing (the caller skips).
SKIP_STATUS = 77


def train_tiny(out: str | Path, data_root: str | Path) -> str:
    sys.path.insert(0, str(REPO))
    from mrgen_core.motion_files import load_motion
    from training.train import train

    clip = load_motion(Path(data_root) / CLIP, fps=30)
    return train([clip], str(out), preset="tiny", label_per_clip="walk", seed=0, quiet=True)


def write_noise_wav(path: str | Path, seconds: float, seed: int, rate: int = 16000) -> None:
    """A mono 16-bit WAV of noise (a stand-in for speech: the tests check the plumbing, not gestures)."""
    import wave

    import numpy as np

    x = (np.random.default_rng(seed).normal(size=int(seconds * rate)) * 3000).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(x.tobytes())


def save_tiny_wavlm(folder: str | Path) -> Path:
    """Save a tiny randomly initialised WavLM checkpoint (Hugging Face format, seeded) to ``folder``; needs
    ``transformers`` and torch."""
    import torch
    import transformers

    cfg = transformers.WavLMConfig(hidden_size=WAVLM_HIDDEN, num_hidden_layers=2, num_attention_heads=2,
                                   intermediate_size=32, conv_dim=(8,) * 7, num_conv_pos_embeddings=16,
                                   num_conv_pos_embedding_groups=2, num_buckets=32, max_bucket_distance=80)
    torch.manual_seed(0)
    transformers.WavLMModel(cfg).save_pretrained(folder)
    return Path(folder)


def train_tiny_audio(out: str | Path, data_root: str | Path, wavlm: str | Path | None = None) -> str:
    """A tiny model that follows audio (the clip paired with a noise WAV), and ``<out>_speech.wav`` (2.5 s) to
    drive it; with ``wavlm`` (a checkpoint folder, made by :func:`save_tiny_wavlm` when it has no config.json) the
    model follows that WavLM's features instead of MFCCs."""
    sys.path.insert(0, str(REPO))
    from mrgen_core.audio import control_features
    from mrgen_core.motion_files import load_motion
    from training.train import train

    out = Path(out)
    if wavlm is not None and not (Path(wavlm) / "config.json").exists():
        save_tiny_wavlm(wavlm)
    clip = load_motion(Path(data_root) / CLIP, fps=30)
    paired = out.with_name(out.stem + "_paired.wav")
    write_noise_wav(paired, clip.duration, seed=0)
    write_noise_wav(out.with_name(out.stem + "_speech.wav"), 2.5, seed=1)
    feats, kind = control_features(paired, 30.0, num_frames=clip.num_frames, wavlm=wavlm)
    return train([clip], str(out), preset="tiny", controls=[feats], control_source=kind, seed=0, quiet=True)


if __name__ == "__main__":
    import argparse
    import importlib.util
    import os

    ap = argparse.ArgumentParser(description="train a tiny test model")
    ap.add_argument("out")
    ap.add_argument("--audio", action="store_true", help="a model that follows speech (and a WAV to drive it)")
    ap.add_argument("--wavlm", metavar="DIR", help="with --audio: on the features of a tiny WavLM saved to DIR")
    args = ap.parse_args()
    if args.wavlm and not args.audio:
        ap.error("--wavlm goes with --audio")
    if args.wavlm and importlib.util.find_spec("transformers") is None:
        print(f"the wavlm extra is not installed in {sys.executable}: pip install -e .[wavlm]")
        sys.exit(SKIP_STATUS)
    data = os.environ.get("MRGEN_DATA", str(REPO.parent / "shared" / "data" / "raw"))
    if args.audio:
        print(train_tiny_audio(args.out, data, wavlm=args.wavlm))
    else:
        print(train_tiny(args.out, data))
