"""Train the tiny test model (preset ``tiny``, a few seconds) on a real walk clip; run with the torch venv.

    python tests/blender/tiny_model.py OUT.pt [--audio]

Used by tests/test_worker.py (in-process) and the Blender tests (as a subprocess of the main venv).
"""
from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLIP = "cmu_mocap/cgspeed_motionbuilder/02_01.bvh"


def available() -> tuple[bool, str]:
    """Whether the model code (helper D's training and sampling) is in the repository yet."""
    need = [REPO / "training" / "train.py", REPO / "mrgen_core" / "sampling.py"]
    missing = [str(p.relative_to(REPO)) for p in need if not p.exists()]
    return (not missing, f"model code not in the repository yet: {', '.join(missing)}" if missing else "")


def train_tiny(out: str | Path, data_root: str | Path) -> str:
    sys.path.insert(0, str(REPO))
    from mrgen_core.io import load_motion
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


def train_tiny_audio(out: str | Path, data_root: str | Path) -> str:
    """A tiny model that follows audio (the clip paired with a noise WAV), and ``<out>_speech.wav`` (2.5 s) to
    drive it."""
    sys.path.insert(0, str(REPO))
    from mrgen_core.audio import control_features
    from mrgen_core.io import load_motion
    from training.train import train

    out = Path(out)
    clip = load_motion(Path(data_root) / CLIP, fps=30)
    paired = out.with_name(out.stem + "_paired.wav")
    write_noise_wav(paired, clip.duration, seed=0)
    write_noise_wav(out.with_name(out.stem + "_speech.wav"), 2.5, seed=1)
    feats, kind = control_features(paired, 30.0, num_frames=clip.num_frames)
    return train([clip], str(out), preset="tiny", controls=[feats], control_source=kind, seed=0, quiet=True)


if __name__ == "__main__":
    import os

    data = os.environ.get("MRGEN_DATA", str(REPO.parent / "shared" / "data" / "raw"))
    print((train_tiny_audio if "--audio" in sys.argv[2:] else train_tiny)(sys.argv[1], data))
