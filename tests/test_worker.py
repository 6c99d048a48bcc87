"""The model worker (``python -m mrgen_core.worker``) and the add-on's client for it, against real processes.

The client (``blender_addon/worker_client.py``) is plain Python, loaded here by path so Blender is not needed.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import tiny

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable


def _load_client():
    spec = importlib.util.spec_from_file_location("mrgen_worker_client", REPO / "blender_addon" / "worker_client.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


wc = _load_client()


class RawWorker:
    """The worker process driven line by line."""

    def __init__(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PYTHONPATH"] = str(REPO)
        self.p = subprocess.Popen([PY, "-u", "-m", "mrgen_core.worker"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1, env=env,
                                  cwd=str(REPO))
        self.ready = self.read()

    def send(self, obj) -> None:
        self.p.stdin.write((obj if isinstance(obj, str) else json.dumps(obj)) + "\n")
        self.p.stdin.flush()

    def read(self) -> dict:
        line = self.p.stdout.readline()
        assert line, f"worker closed stdout; stderr: {self.p.stderr.read()[-2000:]}"
        return json.loads(line)

    def until_final(self, rid) -> tuple[list[dict], dict]:
        progress = []
        while True:
            m = self.read()
            if m.get("id") != rid:
                continue
            if m["type"] == "progress":
                progress.append(m)
            else:
                return progress, m

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(5)
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            f.close()


@pytest.fixture
def raw():
    w = RawWorker()
    yield w
    w.close()


@pytest.fixture
def client():
    c = wc.WorkerClient(PY, pythonpath=[str(REPO)], timeout=30)
    yield c
    c.shutdown()


# --- the protocol, line by line -----------------------------------------------------------------------------------
@pytest.mark.timeout(30)
def test_ready_ping_and_stdout_carries_json_only(raw):
    assert raw.ready["type"] == "ready" and raw.ready["protocol"] == 1
    raw.send({"id": 7, "cmd": "ping"})
    assert raw.read() == {"id": 7, "type": "result", "pong": True, "busy": False}


@pytest.mark.timeout(30)
def test_bad_requests_get_error_replies_and_the_worker_lives_on(raw):
    raw.send("this is not json")
    m = raw.read()
    assert m["type"] == "error" and m["id"] is None and "not a JSON object" in m["message"]
    raw.send("[1, 2]")
    assert raw.read()["type"] == "error"
    raw.send({"id": 2, "cmd": "explode"})
    m = raw.read()
    assert (m["id"], m["type"], m["kind"]) == (2, "error", "user") and "'explode'" in m["message"]
    raw.send({"id": 3, "cmd": "generate", "model": "/no/such/model.pt"})
    _, m = raw.until_final(3)
    assert m["type"] == "error" and m["kind"] == "user"
    assert "/no/such/model.pt" in m["message"] and "not found" in m["message"]
    raw.send({"id": 4, "cmd": "ping"})
    assert raw.read()["pong"] is True


@pytest.mark.timeout(30)
def test_job_progress_then_result_and_prints_go_to_the_log(raw):
    raw.send({"id": 1, "cmd": "selftest", "steps": 4, "delay": 0.01})
    progress, final = raw.until_final(1)  # every stdout line parses as JSON (read() would fail otherwise)
    assert final == {"id": 1, "type": "result", "steps": 4}
    fr = [p["fraction"] for p in progress]
    assert len(fr) == 5 and fr == sorted(fr) and fr[-1] == 1.0
    assert progress[0]["message"] == "step 1/4"
    raw.send({"id": 2, "cmd": "shutdown"})
    assert raw.read()["bye"] is True and raw.p.wait(10) == 0
    log = raw.p.stderr.read()
    assert "selftest: step 4/4" in log and "selftest 1 done" in log


@pytest.mark.timeout(30)
def test_cancel_stops_the_running_job_and_the_next_job_runs(raw):
    raw.send({"id": 1, "cmd": "selftest", "steps": 500, "delay": 0.02})
    assert raw.read()["type"] == "progress"
    t0 = time.monotonic()
    raw.send({"id": 2, "cmd": "ping"})  # answered while the job runs
    m = raw.read()
    while m.get("id") != 2:
        m = raw.read()
    assert m["busy"] is True
    raw.send({"id": 3, "cmd": "cancel"})
    replies = {}
    while 1 not in replies or 3 not in replies:
        m = raw.read()
        if m["type"] != "progress":
            replies[m["id"]] = m
    assert replies[3] == {"id": 3, "type": "result", "cancelled": True}
    assert replies[1]["type"] == "error" and replies[1]["kind"] == "cancelled"
    assert time.monotonic() - t0 < 5.0  # the job alone would take 10 s
    raw.send({"id": 4, "cmd": "selftest", "steps": 2, "delay": 0.0})  # a cancel does not poison later jobs
    _, final = raw.until_final(4)
    assert final["type"] == "result" and final["steps"] == 2


@pytest.mark.timeout(30)
def test_shutdown_and_end_of_input_exit_cleanly(raw):
    raw.send({"id": 1, "cmd": "selftest", "steps": 500, "delay": 0.02})
    raw.send({"id": 9, "cmd": "shutdown"})
    msgs = []
    while True:
        line = raw.p.stdout.readline()
        if not line:
            break
        msgs.append(json.loads(line))
    assert raw.p.wait(5) == 0
    finals = [m for m in msgs if m["type"] != "progress"]
    assert finals[-1] == {"id": 9, "type": "result", "bye": True}
    assert any(m["id"] == 1 and m.get("kind") == "cancelled" for m in finals)

    w = RawWorker()  # a parent that just goes away: stdin closes -> the worker exits
    w.p.stdin.close()
    assert w.p.wait(10) == 0
    w.p.stdout.close()
    w.p.stderr.close()


@pytest.mark.timeout(60)
def test_check_reports_versions():
    info = wc.check_python(PY, [str(REPO)])  # runs `python -m mrgen_core.worker --check`
    import mrgen_core
    import torch

    assert info["mrgen"] == mrgen_core.__version__ and info["torch"] == torch.__version__
    assert info["numpy"] == np.__version__ and info["protocol"] == 1
    assert Path(info["mrgen_path"]) == REPO / "mrgen_core"


# --- the add-on's client -----------------------------------------------------------------------------------------
@pytest.mark.timeout(30)
def test_client_progress_and_result(client):
    seen = []
    res = client.wait(client.submit("selftest", steps=3, delay=0.01), on_progress=lambda f, m: seen.append((f, m)))
    assert res == {"steps": 3}
    assert seen and seen[-1][0] == 1.0
    assert client.call("ping")["pong"] is True
    assert client.ready["protocol"] == 1


@pytest.mark.timeout(30)
def test_client_poll_never_waits_for_the_worker(tmp_path):
    silent = tmp_path / "silent_python"  # starts, then never answers: a blocking read would hang here
    silent.write_text("#!/bin/sh\nexec sleep 600\n")
    silent.chmod(0o755)
    c = wc.WorkerClient(str(silent), timeout=60)
    req = c.submit("ping")
    t0 = time.monotonic()
    for _ in range(50):
        assert c.poll(req) == [] and not req.done
    assert time.monotonic() - t0 < 5.0
    c.kill("test over")
    assert req.done and req.error.kind == "stopped"


@pytest.mark.timeout(30)
def test_client_user_error_is_readable(client):
    with pytest.raises(wc.WorkerError) as ei:
        client.call("load_model", model="/no/such/model.pt")
    assert ei.value.kind == "user" and "/no/such/model.pt: model file not found" in ei.value.message


@pytest.mark.timeout(30)
def test_client_cancel_is_honoured(client):
    req = client.submit("selftest", steps=1000, delay=0.02)
    while req.fraction == 0.0:
        client.poll(req)
        time.sleep(0.01)
    pid = client.proc.pid
    client.cancel(req)
    with pytest.raises(wc.WorkerError) as ei:
        client.wait(req, timeout=10)
    assert ei.value.kind == "cancelled"
    assert client.alive and client.proc.pid == pid  # cancelled cooperatively, no kill needed


@pytest.mark.timeout(30)
def test_client_hard_kill_when_cancel_is_ignored(tmp_path):
    deaf = tmp_path / "deaf_python"  # answers "ready", then ignores everything (like a job stuck in C code)
    deaf.write_text("#!/bin/sh\necho '{\"type\": \"ready\", \"protocol\": 1}'\nexec sleep 600\n")
    deaf.chmod(0o755)
    c = wc.WorkerClient(str(deaf), timeout=30)
    req = c.submit("selftest", steps=10)
    proc = c.proc
    c.cancel(req, grace=0.5)
    t0 = time.monotonic()
    with pytest.raises(wc.WorkerError) as ei:
        c.wait(req, timeout=10)
    assert ei.value.kind == "cancelled" and "stopped" in ei.value.message
    assert time.monotonic() - t0 < 3 and proc.poll() is not None


@pytest.mark.timeout(30)
def test_client_crash_becomes_an_error_and_the_next_request_restarts(client):
    req = client.submit("selftest", steps=1000, delay=0.02)
    while req.fraction == 0.0:
        client.poll(req)
        time.sleep(0.01)
    old = client.proc.pid
    os.kill(old, signal.SIGKILL)
    with pytest.raises(wc.WorkerError) as ei:
        client.wait(req, timeout=10)
    assert ei.value.kind == "crashed" and "exit code -9" in ei.value.message
    assert client.call("ping")["pong"] is True and client.proc.pid != old


@pytest.mark.timeout(30)
def test_client_crash_at_start_shows_the_last_log_line(tmp_path):
    bad = tmp_path / "bad_python"
    bad.write_text("#!/bin/sh\necho 'ModuleNotFoundError: No module named torch' >&2\nexit 3\n")
    bad.chmod(0o755)
    c = wc.WorkerClient(str(bad), timeout=30)
    with pytest.raises(wc.WorkerError) as ei:
        c.call("ping", timeout=10)
    assert ei.value.kind == "crashed"
    assert "exit code 3" in ei.value.message and "No module named torch" in ei.value.message


@pytest.mark.timeout(30)
def test_client_hang_times_out(tmp_path):
    hang = tmp_path / "hung_python"
    hang.write_text("#!/bin/sh\nexec sleep 600\n")
    hang.chmod(0o755)
    c = wc.WorkerClient(str(hang), timeout=1.0)
    t0 = time.monotonic()
    with pytest.raises(wc.WorkerError) as ei:
        c.wait(c.submit("ping"))
    assert ei.value.kind == "timeout" and "did not answer for 1 s" in ei.value.message
    assert 0.9 < time.monotonic() - t0 < 5 and not c.alive


@pytest.mark.timeout(30)
def test_client_missing_interpreter(tmp_path):
    c = wc.WorkerClient(str(tmp_path / "no" / "python3"))
    with pytest.raises(wc.WorkerError) as ei:
        c.submit("ping")
    assert ei.value.kind == "missing" and "not found" in ei.value.message
    with pytest.raises(wc.WorkerError) as ei:
        wc.check_python(str(tmp_path / "no" / "python3"))
    assert ei.value.kind == "missing"
    with pytest.raises(wc.WorkerError) as ei:
        wc.WorkerClient("").submit("ping")
    assert ei.value.kind == "missing"


# --- with a real (tiny) model (tests/conftest.py) ------------------------------------------------------------------
@pytest.mark.timeout(120)
def test_generate_writes_npz_results(client, tiny_model, tmp_path):
    from mrgen_core.io.amass import read_npz

    seen = []
    model = str(tiny_model)
    req = client.submit("generate", model=model, seconds=2.0, seed=3, num=2, labels="walk",
                        out_dir=str(tmp_path), name="gen")
    res = client.wait(req, timeout=90, on_progress=lambda f, m: seen.append(m))
    assert [Path(f).name for f in res["files"]] == ["gen_00.npz", "gen_01.npz"]
    assert res["frames"] == [60, 60] and res["fps"] == 30.0
    assert res["model_info"]["labels"] == ["walk"] and res["model_info"]["num_levels"] >= 2
    levels = res["model_info"]["num_levels"]
    assert [m for m in seen if m.startswith("level")] == [f"level {i}/{levels}" for i in range(1, levels + 1)]
    a, b = (read_npz(f) for f in res["files"])
    assert a.num_frames == 60 and a.label_names()[0] == "walk"
    assert np.abs(a.poses - b.poses).max() > 1e-3  # two different variations
    # same seed, same first sample (sample k uses seed + k)
    again = client.call("generate", timeout=90, model=model, seconds=2.0, seed=3, num=1, labels="walk",
                        out_dir=str(tmp_path), name="again")
    np.testing.assert_allclose(read_npz(again["files"][0]).poses, a.poses, atol=1e-6)
    info = client.call("load_model", timeout=60, model=model)
    assert info["labels"] == ["walk"] and info["fps"] == 30.0
    with pytest.raises(wc.WorkerError) as ei:
        client.call("generate", timeout=60, model=model, seconds=2.0, labels="fly")
    assert ei.value.kind == "user" and "fly" in ei.value.message


@pytest.mark.timeout(180)
def test_generate_follows_a_speech_wav(client, tmp_path, data_root, tiny_audio_model):
    """A model trained with audio: the worker makes motion as long as the WAV it is given (unless the request gives
    seconds: the command line's rule), says that the model follows audio, and refuses a request without one."""
    import torch
    from scipy.io import wavfile

    from mrgen_core.audio import control_features
    from mrgen_core.io.amass import read_npz
    from mrgen_core.motion_files import load_motion
    from training.train import train

    clip = load_motion(data_root / "cmu_mocap/cgspeed_motionbuilder/05_06.bvh", fps=30)
    rng = np.random.default_rng(0)
    paired, speech = tmp_path / "paired.wav", tmp_path / "speech.wav"
    wavfile.write(paired, 16000, (rng.normal(size=int(clip.duration * 16000)) * 3000).astype(np.int16))
    wavfile.write(speech, 16000, (rng.normal(size=int(2.5 * 16000)) * 3000).astype(np.int16))
    torch.set_num_threads(1)
    feats, _ = control_features(paired, 30.0, num_frames=clip.num_frames)
    model = str(tiny_audio_model)
    res = client.call("generate", timeout=120, model=model, audio=str(speech), out_dir=str(tmp_path), name="talk")
    assert res["frames"] == [75] and read_npz(res["files"][0]).num_frames == 75  # 2.5 s of speech at 30 fps
    assert res["model_info"]["audio"] == "mfcc"
    # seconds given: that long, as `mrgen generate --seconds 9 --audio`; a WavLM folder sent along (the add-on sends
    # its preference before it knows the model) is ignored
    same = client.call("generate", timeout=120, model=model, seconds=9.0, audio=str(speech), out_dir=str(tmp_path),
                       name="talk2", wavlm=str(tmp_path / "nowhere"))
    assert same["frames"] == [270] and read_npz(same["files"][0]).num_frames == 270
    with pytest.raises(wc.WorkerError) as ei:
        client.call("generate", timeout=60, model=model, seconds=2.0, out_dir=str(tmp_path))
    assert ei.value.kind == "user" and "follows audio" in ei.value.message
    # a model on WavLM features, asked to follow speech without its WavLM folder: says where to set it
    wavlm_model = str(tmp_path / "wavlm.pt")
    train([clip], wavlm_model, preset="tiny", controls=[feats], seed=0, quiet=True, control_source="wavlm",
          overrides=dict(iterations=2))
    with pytest.raises(wc.WorkerError) as ei:
        client.call("generate", timeout=60, model=wavlm_model, audio=str(speech), out_dir=str(tmp_path))
    assert ei.value.kind == "user" and "WavLM checkpoint" in ei.value.message and "preferences" in ei.value.message


@pytest.mark.timeout(120)
def test_bad_model_file_is_a_user_error(client, tmp_path):
    bad = tmp_path / "not_a_model.pt"
    bad.write_bytes(b"definitely not a checkpoint")
    with pytest.raises(wc.WorkerError) as ei:
        client.call("load_model", timeout=60, model=str(bad))
    assert ei.value.kind == "user" and str(bad) in ei.value.message


@pytest.mark.timeout(120)
def test_train_request_and_cancel_between_steps(client, tmp_path, data_root):
    from mrgen_core.io.amass import write_npz
    from mrgen_core.motion_files import load_motion

    clip = tmp_path / "walk.npz"
    write_npz(load_motion(data_root / tiny.CLIP, fps=30), clip)
    out = tmp_path / "trained.pt"
    req = client.submit("train", clips=[str(clip)], out_path=str(out), preset="tiny", label_per_clip="walk")
    while req.fraction == 0.0 and not req.done:
        client.poll(req)
        time.sleep(0.02)
    client.cancel(req, grace=wc.TRAIN_CANCEL_GRACE)  # as the add-on's Cancel does for a training job
    res = client.wait(req, timeout=90)
    assert res["stopped_early"] is True and Path(res["model"]) == out and out.exists()


def _speech(path: Path, text: str) -> Path:
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return path


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed: no speech WAV to train "
                    "on (scripts/setup.sh installs it)")
@pytest.mark.timeout(240)
def test_train_request_with_audio_then_generate_from_speech(client, tmp_path, data_root):
    """`train` with one speech WAV per clip (as `mrgen train --audio`): the model follows MFCC speech features, and
    generating from a new WAV makes motion as long as it; mismatched audio is a user error."""
    from scipy.io import wavfile

    from mrgen_core.io.amass import read_npz, write_npz
    from mrgen_core.motion_files import load_motion

    clip = tmp_path / "walk.npz"
    write_npz(load_motion(data_root / tiny.CLIP, fps=30), clip)
    paired = _speech(tmp_path / "paired.wav", "I walk across the room and wave.")
    out = tmp_path / "talk.pt"
    res = client.call("train", timeout=200, clips=[str(clip)], out_path=str(out), preset="tiny", audio=[str(paired)],
                      procs=1)
    assert res == {"model": str(out), "stopped_early": False} and out.exists()
    info = client.call("load_model", timeout=60, model=str(out))
    assert info["audio"] == "mfcc" and info["labels"] == []
    speech = _speech(tmp_path / "speech.wav", "Now say something else.")
    rate, x = wavfile.read(speech)
    gen = client.call("generate", timeout=120, model=str(out), audio=str(speech), out_dir=str(tmp_path), name="say")
    frames = read_npz(gen["files"][0]).num_frames
    assert gen["frames"] == [frames] and abs(frames - len(x) / rate * 30) <= 1  # as long as the speech
    with pytest.raises(wc.WorkerError) as ei:
        client.call("train", timeout=60, clips=[str(clip)], out_path=str(tmp_path / "x.pt"), preset="tiny",
                    audio=[str(paired), str(speech)])
    assert ei.value.kind == "user" and "one --audio file per clip" in ei.value.message
    with pytest.raises(wc.WorkerError) as ei:
        client.call("train", timeout=60, clips=[str(clip)], out_path=str(tmp_path / "x.pt"), preset="tiny",
                    wavlm=str(tmp_path))
    assert ei.value.kind == "user" and "--wavlm goes with --audio" in ei.value.message
    assert not (tmp_path / "x.pt").exists()


@pytest.mark.timeout(120)
def test_loop_keys_and_root_requests(client, tiny_model, tmp_path, data_root):
    """The worker's loop / root / kept-frame fields reach the tasks (the behaviour itself: tests/test_directing.py)."""
    from mrgen_core.io.amass import read_npz

    model, walk = str(tiny_model), str(data_root / "cmu_mocap/cgspeed_motionbuilder/02_01.bvh")
    res = client.call("generate", timeout=90, model=model, seconds=2.0, labels="walk", loop=True, root="in-place",
                      out_dir=str(tmp_path), name="loop")
    m = read_npz(res["files"][0])
    assert m.num_frames == 60 and np.ptp(m.trans[:, :2], axis=0).max() < 1e-3
    res = client.call("generate", timeout=90, model=model, seconds=2.0, labels="walk", keys=walk,
                      key_frames=[0, 160], key_root=True, out_dir=str(tmp_path), name="keys")
    assert res["frames"] == [60]
    res = client.call("blend", timeout=90, model=model, source=walk, keep_levels=0, keep_frames=[[0, 60]],
                      out_dir=str(tmp_path), name="keep")
    assert res["frames"] == [86]
    with pytest.raises(wc.WorkerError) as ei:
        client.call("generate", timeout=60, model=model, seconds=0.2, loop=True, out_dir=str(tmp_path))
    assert ei.value.kind == "user" and "--loop" in ei.value.message


@pytest.mark.timeout(120)
def test_train_with_path_control(raw, tmp_path, data_root):
    """``path_control`` trains a model that follows paths (as ``mrgen train --path-control``), ``mirror`` on the
    clips mirrored too (``--mirror``); a wrong type is a user error."""
    clip, out = str(data_root / "cmu_mocap/cgspeed_motionbuilder/02_01.bvh"), tmp_path / "w.pt"
    req = {"cmd": "train", "clips": [clip], "out_path": str(out), "preset": "tiny", "procs": 1}
    raw.send({**req, "id": 1, "path_control": "yes"})
    _, bad = raw.until_final(1)
    assert bad["type"] == "error" and "path_control" in bad["message"] and not out.exists()
    raw.send({**req, "id": 3, "mirror": 1})
    _, bad = raw.until_final(3)
    assert bad["type"] == "error" and "mirror" in bad["message"] and not out.exists()
    raw.send({**req, "id": 2, "path_control": True, "mirror": True})
    _, done = raw.until_final(2)
    assert done["type"] == "result", done
    from mrgen_core.sampling import load_model

    model = load_model(out)
    assert model.control_spec.source == "path"
    assert [c["name"] for c in model.clips] == ["02_01", "02_01_mirrored"]

