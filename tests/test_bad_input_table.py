"""Every command on every applicable bad input (tests/bad_inputs.py): exit 2, one stderr line naming the file or
argument, no traceback, nothing left behind, inputs unchanged. And the worker: every bad request line gets one
``user`` error and the worker lives on."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from bad_inputs import cases, listing, preload, run_case, work_folder
from conftest import WALK, data_path

REPO = Path(__file__).resolve().parents[1]
CASES = cases()


@pytest.fixture(scope="module")
def root():
    preload()
    with work_folder(data_path(WALK), REPO / "mrgen_core" / "models" / "default.pt") as r:
        yield r


def test_the_table_covers_every_command_and_input_class():
    commands = {c.command for c in CASES}
    assert commands == {"import", "export", "info", "preview", "train", "generate", "blend", "eval"}
    classes = {c.cls for c in CASES}
    for cls in ("missing", "directory", "unreadable", "empty", "truncated", "binary junk", "non-finite",
                "absurd size", "wrong shape", "wrong type", "link to itself", "output over input",
                "read-only folder", "output is a folder", "FIFO", "device", "non-physical"):
        assert cls in classes, cls


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_clean_error(case, root):
    outcome = run_case(case, root)
    assert not outcome.problems(case), f"{case.argv}: {outcome.problems(case)}\n{outcome.stderr[-2000:]}"


# --- the worker -----------------------------------------------------------------------------------------------
def _worker_lines(root: Path) -> list[tuple[str, bytes, str]]:
    """(input class, request line, what the error must name)."""
    def req(i, **kw) -> bytes:
        return json.dumps({"id": i, **kw}).encode()

    return [
        ("non-UTF-8", b'{"id":1,"cmd":"ping","x":"\xff"}', "UTF-8"),
        ("deep nesting", b"[" * 100_000 + b"]" * 100_000, "nested"),
        ("10 MB line", b'{"id":3,"cmd":"ping","x":"' + b"a" * (10 << 20) + b'"}', "longer than"),
        ("not JSON", b"hello", "JSON"),
        ("not an object", b"[1, 2]", "object"),
        ("wrong type", req(6, cmd="generate", model="default", seconds="ten"), "seconds"),
        ("wrong type", req(7, cmd="generate", model="default", num=2.5), "num"),
        ("wrong type", req(8, cmd="train", clips="clip.npz", out_path="m.pt"), "clips"),
        ("wrong type", req(9, cmd="generate", model=5), "model"),
        ("wrong type", req(10, cmd="blend", model="default", source="clip.npz", keep_levels=[1]), "keep_levels"),
        ("wrong type", req(11, cmd="selftest", steps=1e9), "steps"),
        ("absurd size", req(12, cmd="generate", model="default", seconds=1e9), "--seconds"),
        ("absurd size", req(13, cmd="generate", model="default", num=100_000_000), "--num"),
        ("absurd size", req(14, cmd="generate", model="default", frames=10**12), "frames"),
        ("missing", req(15, cmd="generate", model=str(root / "missing.pt")), "missing.pt"),
        ("binary junk", req(16, cmd="load_model", model=str(root / "junk.pt")), "junk.pt"),
        ("absurd size", req(17, cmd="load_model", model=str(root / "widths.pt")), "widths.pt"),
        ("device", req(18, cmd="smpl_mesh", model_file="/dev/zero", out_dir=str(root)), "/dev/zero"),
        ("FIFO", req(19, cmd="blend", model="default", source=str(root / "fifo.npz"), out_dir=str(root)),
         "fifo.npz"),
        ("output over input", req(20, cmd="train", clips=[str(root / "clip.npz")], out_path=str(root / "clip.npz")),
         "clip.npz"),
        ("output over input", req(21, cmd="train", clips=[str(root / "clip.npz")], out_path=str(root / "link.pt"),
                                  audio=[str(root / "link.pt")]), "link.pt"),
        ("output is a folder", req(22, cmd="train", clips=[str(root / "clip.npz")], out_path=str(root / "dir.pt")),
         "dir.pt"),
        ("unknown command", req(23, cmd="explode"), "explode"),
        ("wrong type", req(24, cmd="generate", model="default", labels="walk:0-nan", out_dir=str(root)), "--labels"),
        ("wrong type", req(25, cmd="train", resume=str(root / "model.pt"), clips=[str(root / "clip.npz")],
                           out_path=str(root / "m2.pt")), "--resume"),
        ("wrong type", req(26, cmd="generate", model="default", loop="yes"), "loop"),
        ("wrong type", req(27, cmd="generate", model="default", key_frames=5, keys="k.npz"), "key_frames"),
        ("absurd size", req(28, cmd="train", clips=[str(root / "clip.npz")], out_path=str(root / "m3.pt"),
                            procs=10**9), "procs"),
        ("absurd size", req(29, cmd="generate", model="default", loop=True, cycles=10**9), "cycles"),
    ]


#: Lines refused before their id can be read (the error reply has ``"id": null``).
UNPARSED = ("non-UTF-8", "deep nesting", "10 MB line", "not JSON", "not an object")


@pytest.mark.timeout(180)
def test_worker_answers_every_bad_line_and_lives_on(root):
    os.symlink("clip.npz", root / "link.pt")
    p = None
    try:
        lines = _worker_lines(root)
        before = listing(root)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PYTHONPATH"] = str(REPO)
        data = b"\n".join(line for _, line, _ in lines) + b"\n" + b'{"id": "last", "cmd": "ping"}\n'
        p = subprocess.Popen([sys.executable, "-m", "mrgen_core.worker"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(root))
        writer = threading.Thread(target=lambda: (p.stdin.write(data), p.stdin.flush()), daemon=True)
        writer.start()
        err = []
        threading.Thread(target=lambda: err.append(p.stderr.read()), daemon=True).start()
        replies = [json.loads(p.stdout.readline())]
        assert replies[0]["type"] == "ready"
        finals = []
        while len(finals) < len(lines) + 1:  # every line answered before the input closes (queued jobs would be
            line = p.stdout.readline()       # cancelled at the end of input)
            assert line, "the worker stopped"
            msg = json.loads(line)
            if msg["type"] != "progress":
                finals.append(msg)
        p.stdin.close()
        assert p.wait(30) == 0
        stderr = err[0] if err else b""
        assert [r["pong"] for r in finals if r.get("id") == "last"] == [True]  # alive after every line
        errors = [r for r in finals if r.get("id") != "last"]
        assert len(errors) == len(lines), [r.get("message") for r in errors]
        by_id = {r["id"]: r for r in errors if r["id"] is not None}
        anonymous = [r for r in errors if r["id"] is None]
        for (cls, line, expect) in lines:
            rid = None if cls in UNPARSED else json.loads(line)["id"]
            reply = by_id.get(rid) if rid is not None else anonymous.pop(0)
            assert reply is not None, (cls, line[:80])
            assert reply["type"] == "error" and reply["kind"] == "user", (cls, reply)
            assert expect in reply["message"], (cls, reply["message"])
        assert b"Traceback" not in stderr, stderr.decode()[-3000:]
        assert listing(root) == before
    finally:
        if p is not None and p.poll() is None:
            p.kill()
        os.unlink(root / "link.pt")
