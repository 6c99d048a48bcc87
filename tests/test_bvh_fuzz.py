"""Fuzz the BVH reader: mangled BVH text must give either a clean result or MotionFormatError, nothing else."""
from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import data_path
from mrgen_core.errors import MotionFormatError
from mrgen_core.io.bvh import BVH, read_bvh

from test_bvh import FEATURES_BVH


def _small_real_clip() -> str:
    """The first 6 frames of a real CMU clip (31 joints, CRLF)."""
    text = data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh").read_bytes().decode("ascii")
    head, motion = text.split("MOTION", 1)
    lines = motion.strip().splitlines()
    return head + "MOTION\r\nFrames: 6\r\n" + lines[1] + "\r\n" + "\r\n".join(lines[2:8]) + "\r\n"


SEEDS = [FEATURES_BVH, _small_real_clip()]


def _check(data: bytes, tmp_path_factory) -> None:
    p = tmp_path_factory.mktemp("fuzz") / "m.bvh"
    p.write_bytes(data)
    try:
        b = read_bvh(p)
    except MotionFormatError as e:
        assert str(p) in str(e) and "\n" not in str(e)
        return
    # a clean result: consistent shapes, finite values, usable FK
    assert isinstance(b, BVH) and b.num_joints >= 1 and b.num_frames >= 1
    assert b.values.shape == (b.num_frames, sum(len(c) for c in b.channels))
    assert np.isfinite(b.values).all() and np.isfinite(b.offsets).all() and b.frame_time > 0
    pos, rot = b.fk()
    assert pos.shape == (b.num_frames, b.num_joints, 3)
    assert np.isfinite(pos).all() and np.isfinite(rot).all()
    b.span()
    b.detect_scale()


@st.composite
def mangled(draw) -> bytes:
    text = draw(st.sampled_from(SEEDS))
    ops = draw(st.lists(st.sampled_from(["del_tok", "dup_tok", "swap_tok", "del_line", "dup_line", "swap_line",
                                         "truncate", "bytes", "replace_tok"]), min_size=1, max_size=4))
    for op in ops:
        if op.endswith("_tok"):
            toks = text.split(" ")
            if len(toks) < 2:
                continue
            i = draw(st.integers(0, len(toks) - 1))
            j = draw(st.integers(0, len(toks) - 1))
            if op == "del_tok":
                del toks[i]
            elif op == "dup_tok":
                toks.insert(i, toks[i])
            elif op == "swap_tok":
                toks[i], toks[j] = toks[j], toks[i]
            else:
                toks[i] = draw(st.sampled_from(["nan", "inf", "-1e400", "1e400", "x", "{", "}", "JOINT", "End",
                                                "CHANNELS", "OFFSET", "MOTION", "Frames:", "0", "-3", "9999999",
                                                "Xrotation", "Wrotation", ""]))
            text = " ".join(toks)
        elif op.endswith("_line"):
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if op == "del_line":
                del lines[i]
            elif op == "dup_line":
                lines.insert(i, lines[i])
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
        elif op == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
    data = text.encode("utf-8")
    if "bytes" in ops:
        i = draw(st.integers(0, len(data)))
        data = data[:i] + draw(st.binary(min_size=1, max_size=16)) + data[i:]
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=mangled())
def test_mangled_bvh_gives_clean_result_or_our_error(data, tmp_path_factory):
    _check(data, tmp_path_factory)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_random_bytes_give_our_error(data, tmp_path_factory):
    _check(data, tmp_path_factory)


def test_seeds_are_valid(tmp_path):
    for k, text in enumerate(SEEDS):
        p = tmp_path / f"seed{k}.bvh"
        p.write_text(text)
        assert read_bvh(p).num_frames in (2, 6)
