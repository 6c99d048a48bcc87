"""Model files: save/load gives identical samples, plain data only (weights_only), clear errors for bad files."""
from __future__ import annotations

import pickle
import zipfile

import numpy as np
import pytest
import torch
from conftest import data_path

from mrgen_core import checkpoint
from mrgen_core.errors import ModelFileError
from mrgen_core.motion_files import load_motion
from mrgen_core.sampling import generate, load_model, reconstruct
from training.presets import get_preset
from training.data import prepare


@pytest.fixture(scope="module")
def model():
    """An untrained (randomly initialised) two-label model on two real clips: enough to test the file format."""
    walk = load_motion(data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh"), fps=30)
    run = load_motion(data_path("cmu_mocap/iclone_cc_rig/002_03.bvh"), fps=30)
    torch.manual_seed(0)
    m = prepare([walk, run], get_preset("tiny"), label_per_clip=["walk", "run"],
                generator=torch.Generator().manual_seed(0))
    for g in m.generators:  # give every level a non-trivial residual
        torch.nn.init.normal_(g.convs[-1].weight, std=0.05)
        g.convs[-1].weight.data *= g.convs[-1].mask
    m.trained_levels = m.num_levels
    return m


@pytest.fixture(scope="module")
def saved(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    checkpoint.save_checkpoint(model, path)
    return path


def test_save_load_gives_identical_samples(model, saved):
    loaded = load_model(saved)
    assert loaded.labels == ("walk", "run")
    assert loaded.clip_names == ["02_01", "002_03"]
    assert loaded.clip_lengths == model.clip_lengths
    assert loaded.fps == 30.0 and loaded.num_levels == model.num_levels
    assert loaded.amps == model.amps
    for a, b in zip(model.generators.state_dict().values(), loaded.generators.state_dict().values()):
        assert torch.equal(a, b)
    for kw in (dict(seed=4), dict(seed=4, labels="walk:0-1,run:1-2", num=2), dict(seed=1, noise="all")):
        sa = generate(model, seconds=2, **kw)
        sb = generate(loaded, seconds=2, **kw)
        for x, y in zip(sa, sb):
            assert np.array_equal(x.poses, y.poses) and np.array_equal(x.trans, y.trans)
    assert not np.array_equal(generate(loaded, seconds=2, seed=4)[0].poses, generate(loaded, seconds=2, seed=5)[0].poses)


def test_file_holds_plain_data_only(saved):
    blob = torch.load(saved, weights_only=True)  # would raise on any pickled object
    assert blob["format"] == "mrgen-model" and blob["version"] == checkpoint.FORMAT_VERSION
    assert blob["clips"][0]["credit"] is not None and len(blob["clips"][0]["start"]) == 3
    assert blob["config"]["control"]["vocab"] == ["walk", "run"]
    assert blob["training"] is None  # a finished model carries no optimiser state


def test_generator_weights_are_packed(model, saved):
    dense = sum(p.numel() for p in model.generators.parameters())
    packed = sum(v.numel() for v in torch.load(saved, weights_only=True)["generators"].values())
    assert packed < 0.6 * dense


def test_training_motions_and_reconstruction(model, saved):
    loaded = load_model(saved)
    clips = loaded.training_motions()
    walk = load_motion(data_path("cmu_mocap/cgspeed_motionbuilder/02_01.bvh"), fps=30)
    assert [c.num_frames for c in clips] == loaded.clip_lengths
    assert np.abs(clips[0].joints() - walk.joints()).max() < 1e-3  # float32 features, exact decode
    assert clips[1].label_names()[0] == "run" and clips[1].vocab == ("walk", "run")
    recs = reconstruct(loaded)
    assert [r.num_frames for r in recs] == loaded.clip_lengths


def _expect(path, match):
    with pytest.raises(ModelFileError, match=match) as e:
        load_model(path)
    assert str(path) in str(e.value)


def test_malformed_files_give_clear_errors(saved, tmp_path):
    _expect(tmp_path / "missing.pt", "not found")
    _expect(tmp_path, "folder")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"this is not a model\n" * 10)
    _expect(junk, "not an mrgen model")
    data = saved.read_bytes()
    cut = tmp_path / "truncated.pt"
    cut.write_bytes(data[: len(data) // 2])
    _expect(cut, "not .*mrgen model|truncated")
    other = tmp_path / "tensor.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    _expect(other, "not an mrgen model")
    blob = torch.load(saved, weights_only=True)
    newer = tmp_path / "newer.pt"
    torch.save(dict(blob, version=checkpoint.FORMAT_VERSION + 1), newer)
    _expect(newer, "newer than this mrgen reads")
    broken = tmp_path / "broken.pt"
    torch.save({k: v for k, v in blob.items() if k != "z_star"}, broken)
    _expect(broken, "missing z_star")
    gens = dict(blob["generators"])
    gens.pop(next(iter(gens)))
    torch.save(dict(blob, generators=gens), broken)
    _expect(broken, "generator weight")


class _Evil:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_file_with_code_is_refused(tmp_path, capsys):
    evil = tmp_path / "evil.pt"
    torch.save({"format": "mrgen-model", "payload": _Evil()}, evil)
    _expect(evil, "could run code")
    assert "must never run" not in capsys.readouterr().out
    assert zipfile.is_zipfile(evil)
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps({"format": "mrgen-model"}))
    _expect(raw, "not an mrgen model")
