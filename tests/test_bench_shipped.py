"""benchmarks/bench_shipped.py: it trains exactly the shipped model's recipe (clips, labels, settings read from the
script), and its label tours cover each segment with every clip of the label."""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    saved = list(sys.path)  # the bench scripts put benchmarks/ on the path
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("bench_shipped", REPO / "benchmarks" / "bench_shipped.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path[:] = saved


def test_the_bench_trains_the_recipe_as_it_stands(bench):
    text = "\n".join(line for line in bench.RECIPE.read_text().splitlines() if not line.lstrip().startswith("#"))
    clips = re.findall(r'"\$RAW/([^"]+\.bvh)"', text)
    labels = re.findall(r"--label (\S+)", text)
    assert [f"cmu_mocap/{c}" for c in clips] == bench.SPEC["clips"]
    assert labels == bench.SPEC["labels"]
    flags = bench.recipe_flags()
    assert flags[:2] == ["--preset", "default"] and "--path-control" in flags
    assert flags[flags.index("--procs") + 1] == "1" and flags[flags.index("--seed") + 1] == "0"
    sets = [flags[i + 1] for i, f in enumerate(flags) if f == "--set"]
    assert "label_codes=true" in sets and "patch_end=10" in sets and all("=" in s for s in sets)  # past a line break
    for key, value in bench.RECIPE_ENV.items():  # the CPU kernels the recipe pins, which --train sets too
        assert f"{key}=${{{key}:-{value}}}" in text
    assert len({bench.code_of(c) for c in bench.SPEC["clips"]}) == len(bench.SPEC["clips"])  # one code per clip


def test_a_tour_plays_every_clip_of_the_label_in_rounds(bench):
    groups = {"walk": ["a", "b", "c"]}
    seconds = {"a": 1.0, "b": 2.0, "c": 0.5}
    parts = bench.tour(groups, seconds, "walk", 4.0, 12.0, np.random.default_rng(3))
    spans = [(p.split(":")[0], *map(float, p.split(":")[1].split("-"))) for p in parts]
    assert spans[0][1] == 4.0 and spans[-1][2] == 12.0
    assert all(a[2] == b[1] for a, b in zip(spans, spans[1:]))  # back to back
    assert all(e - s <= seconds[c] + 1e-9 for c, s, e in spans)
    for start in (0, 3):  # each full round plays every clip once
        assert sorted(c for c, _, _ in spans[start:start + 3]) == ["a", "b", "c"]
    again = bench.tour(groups, seconds, "walk", 4.0, 12.0, np.random.default_rng(3))
    other = [bench.tour(groups, seconds, "walk", 4.0, 12.0, np.random.default_rng(s)) for s in range(6)]
    assert again == parts and len({tuple(o) for o in other}) > 1  # seeded, and the order varies with the seed
