"""Shared fixtures: the real motion clips from ../shared/data/raw (never copied into the repository)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("MRGEN_DATA", REPO.parent / "shared" / "data" / "raw"))


def data_path(rel: str) -> Path:
    """Path of a clip under the shared raw data folder; fails loudly (not a skip) when it is missing."""
    p = DATA / rel
    if not p.exists():
        pytest.fail(f"test data missing: {p} (set MRGEN_DATA to the shared/data/raw folder)")
    return p


def all_bvh() -> list[Path]:
    if not DATA.is_dir():
        raise RuntimeError(f"test data folder missing: {DATA} (set MRGEN_DATA)")
    return sorted(DATA.rglob("*.bvh"))


@pytest.fixture(scope="session")
def data_root() -> Path:
    if not DATA.is_dir():
        pytest.fail(f"test data folder missing: {DATA} (set MRGEN_DATA)")
    return DATA


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny networks run fastest on one torch thread (and the machine is shared); restored afterwards. Use with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
