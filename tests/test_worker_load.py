"""The worker under load: ``ping`` answered within 100 ms while a long generate runs, and 100 queued requests
answered in order, one result each."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


class Worker:
    """A worker process; ``replies`` collects every line it answers (read by a thread), with arrival times."""

    def __init__(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        env["PYTHONPATH"] = str(REPO)
        self.p = subprocess.Popen([sys.executable, "-m", "mrgen_core.worker"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, bufsize=1, env=env)
        self.replies: list[tuple[float, dict]] = []
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.p.stdout:
            with self.lock:
                self.replies.append((time.perf_counter(), json.loads(line)))

    def send(self, **req) -> float:
        t = time.perf_counter()
        self.p.stdin.write(json.dumps(req) + "\n")
        self.p.stdin.flush()
        return t

    def final(self, rid, timeout: float = 120.0) -> tuple[float, dict]:
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                for t, m in self.replies:
                    if m.get("id") == rid and m["type"] != "progress":
                        return t, m
            time.sleep(0.002)
        raise AssertionError(f"no reply to {rid}")

    def close(self):
        self.p.stdin.close()
        self.p.wait(30)


@pytest.fixture
def worker():
    w = Worker()
    yield w
    if w.p.poll() is None:
        w.p.kill()
        w.p.wait(5)


@pytest.mark.timeout(180)
def test_ping_answers_within_100_ms_while_a_generate_runs(worker, tmp_path):
    worker.send(id="load", cmd="load_model", model="default")
    worker.final("load")
    worker.send(id="gen", cmd="generate", model="default", seconds=180.0, out_dir=str(tmp_path))
    latencies, busy = [], []
    k = 0
    while True:
        with worker.lock:
            finished = any(m.get("id") == "gen" and m["type"] != "progress" for _, m in worker.replies)
        if finished:
            break
        sent = worker.send(id=f"ping{k}", cmd="ping")
        t, reply = worker.final(f"ping{k}", timeout=5)
        latencies.append(t - sent)
        busy.append(reply["busy"])
        k += 1
        time.sleep(0.05)
    _, result = worker.final("gen")
    assert result["type"] == "result" and result["frames"] == [5400]
    assert sum(busy) >= 5, "the generate ended before the pings could test it"
    latencies = [lat for lat, b in zip(latencies, busy) if b]
    assert max(latencies) < 0.1, f"ping latencies while busy (s): max {max(latencies):.3f}"
    worker.close()


@pytest.mark.timeout(120)
def test_100_queued_requests_are_answered_in_order(worker):
    ids = [f"r{k}" for k in range(100)]
    for rid in ids:
        worker.send(id=rid, cmd="selftest", steps=1, delay=0.0)
    worker.final(ids[-1])
    worker.close()
    finals = [m for _, m in worker.replies if m.get("id") in ids and m["type"] != "progress"]
    assert [m["id"] for m in finals] == ids  # one result each, in the order sent
    assert all(m["type"] == "result" and m["steps"] == 1 for m in finals)
