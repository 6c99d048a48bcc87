"""The task layer both front doors call (``mrgen_core.tasks``): progress, cancel and plain results, on the shipped
model. The CLI tests and tests/test_worker.py drive the same tasks through their front doors."""
from __future__ import annotations

import pytest

from mrgen_core import tasks
from mrgen_core.errors import MrgenError
from mrgen_core.motion_files import load_motion


def test_generate_reports_progress_and_returns_plain_results(tmp_path):
    seen = []
    res = tasks.generate("default", [tmp_path / "a.npz", tmp_path / "b.bvh"], seconds=1.0, seed=2, labels="run",
                         progress=lambda f, m: seen.append((f, m)))
    assert res.as_dict()["files"] == [str(tmp_path / "a.npz"), str(tmp_path / "b.bvh")]
    assert res.frames == [30, 30] and res.fps == 30.0 and res.model_info["labels"][1] == "run"
    assert load_motion(tmp_path / "b.bvh").num_frames == 30
    fractions = [f for f, _ in seen]
    assert seen[0] == (0.0, "loading model") and seen[-1] == (1.0, "written")
    assert fractions == sorted(fractions) and len(seen) == res.model_info["num_levels"] + 2


def test_a_cancelled_task_raises_and_writes_nothing(tmp_path):
    asked = []

    def should_stop() -> bool:  # stop at the third progress point (between two levels)
        asked.append(1)
        return len(asked) >= 3

    with pytest.raises(tasks.Cancelled):
        tasks.generate("default", [tmp_path / "x.npz"], seconds=1.0, should_stop=should_stop)
    with pytest.raises(tasks.Cancelled):
        tasks.blend("default", [tmp_path / "y.npz"], source="02_01", should_stop=lambda: True)
    assert list(tmp_path.iterdir()) == []


def test_bad_outputs_are_refused_before_any_work(tmp_path):
    with pytest.raises(MrgenError, match="unsupported file type .txt"):
        tasks.generate("/no/such/model.pt", [tmp_path / "x.txt"])
    with pytest.raises(MrgenError, match="--num must be at least 1"):
        tasks.blend("default", [], source="02_01")
    with pytest.raises(MrgenError, match=r"--seconds must be in \(0, 3600\]"):
        tasks.generate("default", [tmp_path / "x.npz"], seconds=0.0)
    assert list(tmp_path.iterdir()) == []
