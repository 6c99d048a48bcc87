"""Train the tiny test model (preset ``tiny``, a few seconds) on a real walk clip; run with the torch venv.

    python tests/blender/tiny_model.py OUT.pt

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


if __name__ == "__main__":
    import os

    data = os.environ.get("MRGEN_DATA", str(REPO.parent / "shared" / "data" / "raw"))
    print(train_tiny(sys.argv[1], data))
