"""Reliability counts for BENCHMARKS.md: every row of the bad-input table (tests/bad_inputs.py) run and classified
(clean error, traceback, files left, inputs changed, wrong exit status or error line), per command and per input
class; then the worker, fault and load tests run through pytest and counted.

Usage: ``python benchmarks/bench_reliability.py [--no-write]`` (about a minute; not a timing benchmark).
"""
from __future__ import annotations

import argparse
import collections
import datetime as _dt
import platform
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
for p in (str(REPO), str(REPO / "tests"), str(REPO / "benchmarks")):
    if p not in sys.path:
        sys.path.insert(0, p)

from bad_inputs import MEMORY_HEADROOM, cases, preload, run_case, work_folder  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "raw"
CLIP = DATA / "cmu_mocap" / "cgspeed_motionbuilder" / "02_01.bvh"
PYTEST_PARTS = {
    "worker: bad request lines (non-UTF-8, 100k-deep JSON, 10 MB line, wrong types, ...), worker alive after each":
        "tests/test_bad_input_table.py::test_worker_answers_every_bad_line_and_lives_on",
    "fault: `mrgen train` killed with SIGKILL during its model write (previous model intact and loads, stale "
    "temporary file ignored)": "tests/test_faults.py::test_kill_9_during_the_model_write_keeps_the_previous_model",
    "fault: disk full (file-size limit, `ulimit -f`) writing .bvh / .npz / .pt: one error line, no half file":
        "tests/test_faults.py -k disk_full",
    "fault: worker killed mid-job: the add-on reports it, the next request starts a fresh worker":
        "tests/test_worker.py::test_client_crash_becomes_an_error_and_the_next_request_restarts",
    "fault: Ctrl-C in `mrgen train`: checkpoint saved, exit 130":
        "tests/test_faults.py::test_ctrl_c_in_train_saves_a_checkpoint_and_exits_130",
    "fault: the worker's input closes during a long write: exit 0, no temporary file left":
        "tests/test_faults.py::test_worker_input_closing_during_a_write_leaves_no_temporary_file",
    "load: `ping` within 100 ms while a 180 s generate runs": "tests/test_worker_load.py -k ping",
    "load: 100 queued requests answered in order, one result each": "tests/test_worker_load.py -k queued",
}


def run_table() -> tuple[list, dict]:
    preload()
    rows = []
    with work_folder(CLIP, REPO / "mrgen_core" / "models" / "default.pt") as root:
        for case in cases():
            out = run_case(case, root)
            rows.append((case, out, out.problems(case)))
    return rows


def pytest_part(target: str) -> tuple[int, int]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *target.split()]
    p = subprocess.run(cmd, cwd=str(REPO), capture_output=True, text=True)
    tail = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
    passed = int(tail.split(" passed")[0].split()[-1]) if " passed" in tail else 0
    failed = int(tail.split(" failed")[0].split()[-1]) if " failed" in tail else 0
    return passed, failed


def report(rows, parts) -> str:
    n = len(rows)
    commands = sorted({c.command for c, _, _ in rows})
    clean = sum(not probs for _, _, probs in rows)
    tb = sum(o.traceback for _, o, _ in rows)
    left = sum(bool(o.added) for _, o, _ in rows)
    changed = sum(bool(o.changed or o.removed) for _, o, _ in rows)
    size = [r for r in rows if r[0].memory_limited]
    lines = [
        "## Reliability (issues 18 and 21, `python benchmarks/bench_reliability.py`)",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}. Date: "
        f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC. Inputs: tests/bad_inputs.py (the table "
        "tests/test_bad_input_table.py asserts row by row).",
        "",
        f"**{n} bad-input cases over {len(commands)} commands: {clean} clean errors (exit 2, one line naming the "
        f"file or argument), {tb} tracebacks, {left} with files left behind, {changed} with inputs changed.** "
        f"The {len(size)} size cases ran under an address-space limit of the starting process + "
        f"{MEMORY_HEADROOM >> 30} GB (as `ulimit -v`): {sum(not p for c, _, p in size)} refused before "
        "allocating.",
        "",
        "| input class | " + " | ".join(commands) + " | all |",
        "|---|" + "---|" * (len(commands) + 1),
    ]
    by = collections.defaultdict(lambda: [0, 0])
    for c, _, probs in rows:
        for key in ((c.cls, c.command), (c.cls, "all")):
            by[key][0] += 1
            by[key][1] += not probs
    for cls in sorted({c.cls for c, _, _ in rows}):
        cells = []
        for cmd in commands + ["all"]:
            total, ok = by.get((cls, cmd), (0, 0))
            cells.append(f"{ok}/{total}" if total else "")
        lines.append(f"| {cls} | " + " | ".join(cells) + " |")
    lines += ["", "Cells: clean errors / cases. Worker, faults and load (the tests named run through pytest):", "",
              "| check | passed |", "|---|---|"]
    for what, (passed, failed) in parts.items():
        lines.append(f"| {what} | {passed}/{passed + failed} |")
    bad = [(c, p) for c, _, p in rows if p]
    if bad:
        lines += ["", "Cases that failed:"] + [f"- `mrgen {' '.join(c.argv)}`: {'; '.join(p)}" for c, p in bad]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-write", action="store_true", help="print the section instead of writing BENCHMARKS.md")
    args = ap.parse_args()
    rows = run_table()
    parts = {what: pytest_part(target) for what, target in PYTEST_PARTS.items()}
    text = report(rows, parts)
    print(text)
    if not args.no_write:
        from run import write_section

        write_section(REPO / "BENCHMARKS.md", "reliability", text)
    return 0 if all(not p for _, _, p in rows) and all(f == 0 for _, f in parts.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
