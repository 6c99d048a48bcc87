"""Faults: ``mrgen train`` killed with SIGKILL in the middle of writing its model (the previous model stays intact
and loads; the stale temporary file is ignored), and a disk that fills up while writing (a file-size limit, as
``ulimit -f``): one clear error line, exit 2, no half-written file. (A worker killed mid-job is in
tests/test_worker.py: the add-on reports it and the next request starts a fresh worker.)"""
from __future__ import annotations

import hashlib
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import WALK, data_path

REPO = Path(__file__).resolve().parents[1]

#: Runs `mrgen train`; torch.save writes the model's temporary file, then signals and waits to be killed.
SLOW_SAVE = """
import sys, time, torch
real = torch.save
def save(obj, f, *a, **k):
    real(obj, f, *a, **k)
    open(sys.argv[1], "w").close()  # the temporary file is written but not yet renamed
    time.sleep(120)
torch.save = save
from mrgen_core.cli import main
sys.exit(main(sys.argv[2:]))
"""


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(REPO)
    return env


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.timeout(300)
def test_kill_9_during_the_model_write_keeps_the_previous_model(tmp_path):
    from mrgen_core.checkpoint import read_blob
    from mrgen_core.motion_files import load_motion, save_motion

    clip = tmp_path / "clip.npz"
    save_motion(load_motion(data_path(WALK), fps=30).slice(0, 60), clip)
    model = tmp_path / "model.pt"
    model.write_bytes((REPO / "mrgen_core" / "models" / "default.pt").read_bytes())  # the "previous" model
    before = _sha(model)
    flag = tmp_path / "writing"
    p = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(flag), "train", str(clip), "-o", str(model),
                          "--preset", "tiny", "--set", "iterations=1",
                          "--procs", "1"], env=_env(), cwd=str(tmp_path),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        end = time.time() + 240
        while not flag.exists():
            assert p.poll() is None, p.stderr.read().decode()[-2000:]
            assert time.time() < end, "training never reached its model write"
            time.sleep(0.05)
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
        p.stderr.close()
    assert _sha(model) == before  # the previous model is intact ...
    assert read_blob(model)["config"]["num_levels"] > 0  # ... and loads
    stale = [f for f in os.listdir(tmp_path) if f.startswith(".model.pt.tmp-")]
    assert len(stale) == 1  # SIGKILL leaves the temporary file: every reader skips hidden names
    assert _addon_list_models()(str(tmp_path)) == ["model.pt"]  # the add-on's model list skips it
    from mrgen_core.tasks import evaluate

    folder = tmp_path / "samples"
    folder.mkdir()
    save_motion(load_motion(clip), folder / "a.npz")
    (folder / ".a.npz.tmp-x.npz").write_bytes(b"half a file")  # what a killed write leaves
    res = evaluate(samples_dir=folder, reference=[clip])
    assert res["protocol"]["num_samples"] == 1


def _addon_list_models():
    """``list_models`` of blender_addon/preferences.py, taken out of the module (which imports bpy)."""
    import ast

    src = (REPO / "blender_addon" / "preferences.py").read_text()
    tree = ast.parse(src)
    keep = [n for n in tree.body if (isinstance(n, ast.FunctionDef) and n.name == "list_models")
            or (isinstance(n, ast.Assign) and any(getattr(t, "id", "") == "MODEL_EXTENSIONS" for t in n.targets))]
    scope = {"os": os}
    exec(compile(ast.Module(body=keep, type_ignores=[]), "preferences.py", "exec"), scope)
    return scope["list_models"]


def _limited(limit: int):
    def pre():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return pre


@pytest.mark.parametrize("out", ["out.bvh", "out.npz"])
def test_disk_full_while_writing_is_one_clean_error(tmp_path, out):
    src = tmp_path / "clip.bvh"
    src.write_bytes(data_path(WALK).read_bytes())
    p = subprocess.run([sys.executable, "-m", "mrgen_core", "export", "clip.bvh", "-o", out], cwd=str(tmp_path),
                       env=_env(), capture_output=True, text=True, timeout=120, preexec_fn=_limited(20_000))
    assert p.returncode == 2, p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"mrgen: error: {out}: cannot write file"), p.stderr
    assert sorted(os.listdir(tmp_path)) == ["clip.bvh"]  # no output, no temporary file


def test_disk_full_while_saving_a_model_is_one_clean_error(tmp_path, tiny_model):
    from mrgen_core.checkpoint import load_checkpoint, save_checkpoint
    from mrgen_core.errors import MrgenError

    model, _ = load_checkpoint(tiny_model)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, old_limit[1]))
    try:
        with pytest.raises(MrgenError, match="cannot write"):
            save_checkpoint(model, tmp_path / "m.pt")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
    assert os.listdir(tmp_path) == []


@pytest.mark.timeout(300)
def test_ctrl_c_in_train_saves_a_checkpoint_and_exits_130(tmp_path):
    from mrgen_core.checkpoint import read_blob
    from mrgen_core.motion_files import load_motion, save_motion

    clip = tmp_path / "clip.npz"
    save_motion(load_motion(data_path(WALK), fps=30).slice(0, 60), clip)
    p = subprocess.Popen([sys.executable, "-m", "mrgen_core", "train", str(clip), "-o", "m.pt", "--preset", "tiny",
                          "--set", "iterations=100000"], cwd=str(tmp_path), env=_env(), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        err = ""
        while "level 1" not in err:  # the progress bar: training has started
            ch = p.stderr.read(1)
            assert ch, "train ended before it started"
            err += ch
        p.send_signal(signal.SIGINT)
        assert p.wait(120) == 130
    finally:
        if p.poll() is None:
            p.kill()
        p.stdout.close()
        p.stderr.close()
    assert read_blob(tmp_path / "m.pt")["training"] is not None  # a checkpoint --resume continues


@pytest.mark.timeout(120)
def test_worker_input_closing_during_a_write_leaves_no_temporary_file(tmp_path):
    """The worker's stdin closes while it writes two long motions: it finishes or cancels, and removes what it
    had not renamed."""
    import json

    p = subprocess.Popen([sys.executable, "-m", "mrgen_core.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, env=_env(), text=True)
    try:
        assert json.loads(p.stdout.readline())["type"] == "ready"
        p.stdin.write(json.dumps({"id": 1, "cmd": "generate", "model": "default", "seconds": 600.0, "num": 2,
                                  "out_dir": str(tmp_path)}) + "\n")
        p.stdin.flush()
        while not any(f.endswith(".npz") for f in os.listdir(tmp_path)):  # writing has begun
            assert p.poll() is None
            time.sleep(0.01)
        p.stdin.close()
        assert p.wait(60) == 0
    finally:
        if p.poll() is None:
            p.kill()
        p.stdout.close()
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".")]
