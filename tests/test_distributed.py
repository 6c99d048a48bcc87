"""Data-parallel training (``--procs N``, torchrun): 2 gloo processes on the ``tiny`` preset give the same model for
the same seed, stop together and resume exactly; one process runs none of it; a crashing process stops them all
with one error line; bad ``--procs`` values; CUDA where there is a GPU.

Each launch of 2 processes costs a few seconds (two Pythons importing torch), so the runs are few and short.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import torch
from conftest import REPO, data_path

from mrgen_core.checkpoint import load_checkpoint, read_blob
from mrgen_core.errors import MrgenError
from mrgen_core.motion_files import load_motion
from training import launch
from training.presets import get_preset
from training.train import train

pytestmark = pytest.mark.usefixtures("one_torch_thread")

WALK = "cmu_mocap/cgspeed_motionbuilder/02_01.bvh"
RUN = "cmu_mocap/iclone_cc_rig/002_03.bvh"
#: Two labelled clips, label mixing (its bank entries per rank) and mode seeking: every random stream in play.
KW = dict(preset="tiny", seed=5, label_per_clip=["walk", "run"], quiet=True,
          overrides=dict(iterations=12, label_mix=0.5, vary_weight=100.0))


@pytest.fixture(scope="module")
def clips():
    return [load_motion(data_path(WALK), fps=30), load_motion(data_path(RUN), fps=30)]


def weights(path) -> dict:
    model, _ = load_checkpoint(path)
    return {**model.state_dict(), **{f"z*{i}": z for i, z in enumerate(model.z_star)}}


def assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different[:5]


@pytest.mark.timeout(240)
def test_two_processes_same_seed_same_model_and_resume_continues_exactly(clips, tmp_path, monkeypatch):
    """The same seed and N = 2 give the same model bit for bit; stopping (as the worker's cancel or Ctrl-C does)
    saves every rank's RNG and bank, and resuming gives exactly the uninterrupted run's model; a busy MASTER_PORT
    does not matter (the launcher's port is the OS's pick)."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(busy.getsockname()[1]))
    seen = []
    full = train(clips, tmp_path / "full.pt", procs=2, progress=lambda f, msg: seen.append(f), **KW)
    busy.close()
    again = train(clips, tmp_path / "again.pt", procs=2, **KW)
    assert_same(weights(full), weights(again))
    assert seen == sorted(seen) and seen[-1] == 1.0  # progress from rank 0 only, in order
    # N = 2 is another run than N = 1 (each rank draws half the crops), not a copy of it
    one = train(clips, tmp_path / "one.pt", procs=1, **KW)
    assert not all(torch.equal(a, b) for a, b in zip(weights(full).values(), weights(one).values()))

    progress, outcome = [], {}
    part = train(clips, tmp_path / "part.pt", procs=2, progress=lambda f, msg: progress.append(f),
                 should_stop=lambda: bool(progress) and progress[-1] > 0.2, outcome=outcome, **KW)
    assert outcome == {"stopped": True}  # rank 0's word reaches the launcher (the CLI then exits 130)
    state = read_blob(part)["training"]
    assert state["world_size"] == 2 and len(state["ranks"]) == 2 and 0 < state["level"] < 4
    assert not torch.equal(state["ranks"][0]["rng"], state["ranks"][1]["rng"])  # one stream per rank
    resumed = train([], tmp_path / "resumed.pt", resume=part, procs=None, quiet=True, outcome=outcome)  # saved N
    assert outcome == {"stopped": False}
    assert_same(weights(full), weights(resumed))
    with pytest.raises(MrgenError, match="saved by 2 training process"):
        train([], tmp_path / "x.pt", resume=part, procs=1, quiet=True)


def test_the_recall_term_is_the_whole_batchs_on_every_rank():
    """The patch loss's recall (every real patch near a generated one) over two ranks' shares, each rank seeing the
    other's patches detached, gives the gradients of one process with the whole batch once averaged over the ranks
    (as :meth:`Group.average_grads` does). With each rank's recall on its share alone it did not: a real patch had
    half the generated patches to be near to, and 2-process models covered fewer of their clip's windows."""
    from training.losses import patch_nn_loss_by_key

    gen = torch.Generator().manual_seed(0)
    pools = {0: torch.randn(30, 12, generator=gen), 1: torch.randn(20, 12, generator=gen)}
    q = torch.randn(16, 12, generator=gen)
    key = torch.tensor([0] * 5 + [1] * 3 + [0] * 6 + [1] * 2)  # each rank's share: 8 patches, keys mixed
    kw = dict(size=4, margin=0.1, recall=3.0)
    whole = q.clone().requires_grad_(True)
    patch_nn_loss_by_key(whole, key, pools, **kw).backward()
    averaged = torch.zeros_like(q)
    for own, other in ((slice(0, 8), slice(8, 16)), (slice(8, 16), slice(0, 8))):
        mine = q[own].clone().requires_grad_(True)
        patch_nn_loss_by_key(mine, key[own], pools, others=(q[other], key[other]), world=2, **kw).backward()
        averaged[own] = mine.grad / 2
    torch.testing.assert_close(averaged, whole.grad, rtol=1e-5, atol=1e-7)
    alone = q[:8].clone().requires_grad_(True)  # the share's recall alone: not the whole batch's
    patch_nn_loss_by_key(alone, key[:8], pools, **kw).backward()
    assert not torch.allclose(alone.grad / 2, whole.grad[:8], atol=1e-4)


def test_uneven_shares_train_and_stay_in_step(clips, tmp_path):
    """3 crops over 2 processes (2 and 1): the ranks' patches differ in number for the recall's all-gather, and the
    weights stay identical on both (checked bit for bit by the ranks at the end)."""
    out = train(clips, tmp_path / "uneven.pt", procs=2, **{**KW, "overrides": dict(KW["overrides"], batch=3)})
    model, _ = load_checkpoint(out)
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.timeout(360)
def test_batch_per_process_is_a_batch_n_times_as_large(clips, tmp_path):
    """With ``batch_per_process`` each of N = 2 processes takes ``batch`` crops (4): bit for bit the run of a step's
    batch of 8 split over the two (so the setting is honoured, and nothing else changes). Clips no longer than
    ``batch_per_process_seconds`` get the same run without it."""
    over = dict(KW["overrides"])
    per = train(clips, tmp_path / "per.pt", procs=2, **{**KW, "overrides": dict(over, batch_per_process=True)})
    split = train(clips, tmp_path / "split.pt", procs=2, **{**KW, "overrides": dict(over, batch=8)})
    assert_same(weights(per), weights(split))
    seconds = sum(c.num_frames / c.fps for c in clips)
    short = train(clips, tmp_path / "short.pt", procs=2,
                  **{**KW, "overrides": dict(over, batch_per_process_seconds=seconds + 1.0)})
    assert_same(weights(short), weights(per))


def test_a_batch_per_process_by_default_only_on_short_motion():
    """``default`` gives each process its own batch where all the training motion lasts at most 15 s (CMU 05_06,
    7.4 s), and splits it on longer motion (CMU 131_01-03, 27.9 s; the mirrored clips count too); the other
    presets always split, and ``batch_per_process`` asks for it on any length."""
    from types import SimpleNamespace

    from training.train import batch_per_process

    def motion(*seconds):
        return SimpleNamespace(fps=30.0, clips=[dict(frames=round(s * 30)) for s in seconds])

    default = get_preset("default")
    assert batch_per_process(default, motion(7.4)) and batch_per_process(default, motion(15.0))
    assert not batch_per_process(default, motion(8.3, 10.4, 9.2))
    assert not batch_per_process(default, motion(7.4, 7.4, 7.4))  # three short clips: 22 s in all
    for name in ("fast", "quality", "tiny"):
        assert not batch_per_process(get_preset(name), motion(2.0))
    assert batch_per_process(get_preset("fast", batch_per_process=True), motion(8.3, 10.4, 9.2))
    assert not batch_per_process({"batch": 4}, motion(1.0))  # settings saved before either setting: shares


def test_one_process_never_touches_the_distributed_path(clips, tmp_path, monkeypatch):
    """``procs=1`` (and N = 1 however it is reached) trains in this process with none of the group code: the
    models are exactly those of mrgen before data-parallel training (the recipes pin ``--procs 1``)."""
    import training.train as tt

    def forbidden(*a, **k):
        raise AssertionError("the distributed path ran for one process")

    monkeypatch.setattr(tt, "join", forbidden)
    monkeypatch.setattr(launch, "launch", forbidden)
    monkeypatch.setattr(tt.Group, "average_grads", forbidden)
    monkeypatch.setattr(tt.Group, "any", forbidden)
    train(clips[:1], tmp_path / "a.pt", preset="tiny", seed=1, quiet=True, overrides=dict(iterations=2))
    monkeypatch.setattr(launch, "physical_cores", lambda: 1)  # a 1-core machine: automatic N is 1
    train(clips[:1], tmp_path / "b.pt", preset="tiny", seed=1, quiet=True, overrides=dict(iterations=2), procs=None)
    assert_same(weights(tmp_path / "a.pt"), weights(tmp_path / "b.pt"))
    recipe = (REPO / "training" / "recipes" / "default_model.sh").read_text()
    assert "--procs 1" in recipe


@pytest.mark.timeout(120)
def test_a_crashing_process_stops_all_with_one_error_line(tmp_path):
    """``MRGEN_TEST_CRASH=RANK:STEP`` (the test-only hook) makes rank 1 fail at its 3rd step: the command exits 2
    with one ``mrgen: error`` line naming the process and its error, no traceback, and no model file."""
    out = tmp_path / "crash.pt"
    env = dict(os.environ, MRGEN_TEST_CRASH="1:3")
    r = subprocess.run([sys.executable, "-m", "mrgen_core.cli", "train", str(data_path(WALK)), "--preset", "tiny",
                        "--procs", "2", "-o", str(out)], capture_output=True, text=True, env=env, timeout=110,
                       cwd=REPO)
    errors = [line for line in r.stderr.replace("\r", "\n").splitlines() if line.startswith("mrgen: error")]
    assert r.returncode == 2, r.stderr[-2000:]
    assert len(errors) == 1 and "training process 1 of 2 failed" in errors[0] and "test crash" in errors[0]
    assert "not written" in errors[0] and "Traceback" not in r.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".crash.pt")]


def test_procs_are_checked_and_capped(capsys, monkeypatch):
    monkeypatch.setattr(launch, "physical_cores", lambda: 2)
    assert launch.plan(None, "cpu", 4) == 2  # default: one per core, at most the crops of a step
    assert launch.plan(None, "cpu", 1) == 1
    assert launch.plan(3, "cpu", 4) == 2
    assert "--procs 3: this machine has 2 physical CPU core(s); using 2" in capsys.readouterr().err
    monkeypatch.setattr(launch, "physical_cores", lambda: 16)
    assert launch.plan(6, "cpu", 4) == 4
    assert "at most 4 training processes with batch=4" in capsys.readouterr().err
    with pytest.raises(MrgenError, match="--procs must be at least 1, got 0"):
        launch.plan(0, "cpu", 4)
    assert launch.physical_cores() >= 1
    from mrgen_core.worker import _procs

    assert _procs({}) is None and _procs({"procs": 0}) is None and _procs({"procs": 2}) == 2
    with pytest.raises(MrgenError, match="procs must be a whole number"):
        _procs({"procs": "all"})


def test_cli_module_and_bad_procs(tmp_path, capsys):
    """``python -m mrgen_core.cli`` is the ``mrgen`` command (what ``torchrun -m mrgen_core.cli`` runs); a bad
    ``--procs``, or ``--procs`` against torchrun's own number, is one error line."""
    from mrgen_core.cli import main

    r = subprocess.run([sys.executable, "-m", "mrgen_core.cli", "train", "--help"], capture_output=True, text=True,
                       cwd=REPO, timeout=60)
    assert r.returncode == 0 and "--procs N" in r.stdout
    out = tmp_path / "m.pt"
    assert main(["train", str(data_path(WALK)), "--preset", "tiny", "--procs", "-1", "-o", str(out)]) == 2
    assert capsys.readouterr().err == "mrgen: error: --procs must be in [1, 65536], got -1\n"
    env = {"RANK": "0", "WORLD_SIZE": "2", "LOCAL_RANK": "0"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        assert main(["train", str(data_path(WALK)), "--preset", "tiny", "--procs", "3", "-o", str(out)]) == 2
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    assert "torchrun started 2 processes" in capsys.readouterr().err and not out.exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here: the NCCL path runs where a GPU is "
                    "(this test, on a GPU machine)")
@pytest.mark.timeout(300)
def test_cuda_one_gpu_and_nccl_processes(clips, tmp_path):
    """On CUDA: one process on the GPU trains a model that samples; with two GPUs or more, 2 NCCL processes (one GPU
    each) train one together (the run itself checks that both hold the same weights at the end) and a stop saves
    both ranks' state. GPU kernels need not be bit-reproducible, so runs are not compared with each other."""
    from mrgen_core.sampling import generate, load_model

    one = train(clips, tmp_path / "gpu.pt", device="cuda", procs=1, **KW)
    motion = generate(load_model(one), frames=40, seed=0)[0]
    assert motion.poses.shape[0] == 40 and torch.isfinite(torch.as_tensor(motion.poses)).all()
    if torch.cuda.device_count() < 2:
        pytest.skip("one CUDA device: the 2-process NCCL run needs two")
    two = train(clips, tmp_path / "two.pt", device="cuda", procs=2, **KW)
    assert load_model(two).trained_levels == load_model(one).trained_levels
    progress = []
    part = train(clips, tmp_path / "part.pt", device="cuda", procs=2, progress=lambda f, msg: progress.append(f),
                 should_stop=lambda: bool(progress) and progress[-1] > 0.2, **KW)
    assert read_blob(part)["training"]["world_size"] == 2
    resumed = train([], tmp_path / "resumed.pt", resume=part, device="cuda", procs=None, quiet=True)
    assert load_model(resumed).trained_levels == load_model(one).trained_levels
