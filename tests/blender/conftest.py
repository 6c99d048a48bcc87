"""Fixtures for the tests that run inside Blender (the ``bpy`` module venv, not the torch venv).

Run:  .venv-bpy/bin/python -m pytest tests/blender -q      (see tests/blender/README.md)

* Blender's user folders go to a temporary directory (set before ``bpy`` is imported).
* The add-on is built with ``build.py`` and installed once per session as an extension; every test starts from
  ``read_factory_settings(use_empty=True)`` (which disables add-ons, so the add-on is enabled again).
* The worker runs in the torch venv: ``$MRGEN_WORKER_PYTHON`` or ``.venv/bin/python``.
* bpy 4.5 can hang at interpreter exit when classes stay registered: once pytest has printed its summary the process
  ends with ``os._exit`` and pytest's own exit status (failures still give 1).
"""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from .support import EXT_MODULE, REPO, WORKER_PYTHON, addon_module

if importlib.util.find_spec("bpy") is not None:
    _USER = tempfile.mkdtemp(prefix="mrgen-bpy-user-")
    os.environ.setdefault("BLENDER_USER_RESOURCES", _USER)  # before bpy is imported
    import bpy  # noqa: E402
else:  # the main (torch) venv: these tests are skipped with a reason, see pytest_collection_modifyitems
    bpy = None

if str(REPO) not in sys.path:  # mrgen_core (numpy parts) for the tests' own reference computations
    sys.path.insert(0, str(REPO))
SKIP_REASON = ("needs Blender's bpy module: run `.venv-bpy/bin/python -m pytest tests/blender` "
               "(venv: python3 -m venv .venv-bpy && .venv-bpy/bin/pip install 'bpy==4.5.*' pytest pytest-timeout)")


#: Seconds any Blender test may run (a hung Blender or worker fails the test instead of the whole run).
DEFAULT_TIMEOUT = 300


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if not Path(str(item.fspath)).resolve().is_relative_to(here):
            continue
        if bpy is None:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
        elif item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(DEFAULT_TIMEOUT))


_status: dict = {}


def pytest_sessionfinish(session, exitstatus):
    _status["rc"] = int(exitstatus)


def pytest_unconfigure(config):
    if bpy is not None and "rc" in _status:
        import shutil

        shutil.rmtree(_USER, ignore_errors=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_status["rc"])


@pytest.fixture(scope="session")
def zips(tmp_path_factory) -> dict[str, Path]:
    """Both add-on zips, built by build.py from this checkout."""
    out = tmp_path_factory.mktemp("dist") / "not" / "yet"  # build.py creates the folder
    cp = subprocess.run([sys.executable, str(REPO / "build.py"), "--out", str(out)], capture_output=True, text=True,
                        timeout=120)
    assert cp.returncode == 0, cp.stdout + cp.stderr
    found = {p.name.rsplit("-", 1)[1][:-4]: p for p in out.glob("mrgen-*.zip")}
    assert set(found) == {"extension", "legacy"}, cp.stdout
    found["log"] = cp.stdout
    return found


@pytest.fixture(scope="session")
def addon(zips) -> str:
    """The extension, installed and enabled; returns its module name."""
    import addon_utils

    res = bpy.ops.extensions.package_install_files(filepath=str(zips["extension"]), repo="user_default",
                                                   enable_on_install=True)
    assert res == {"FINISHED"}
    assert addon_utils.check(EXT_MODULE) == (True, True)
    yield EXT_MODULE
    addon_utils.disable(EXT_MODULE)


@pytest.fixture
def prefs(addon):
    """A fresh empty file with the add-on enabled; its preferences, the worker set to the torch venv."""
    import addon_utils

    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable(addon, default_set=True)
    p = bpy.context.preferences.addons[addon].preferences
    p.worker_python = WORKER_PYTHON
    p.timeout = 120.0
    yield p
    jobs = addon_module("jobs")
    if jobs.busy():
        jobs.cancel()
        jobs.ACTIVE = None
    bpy.context.window_manager.mrgen_job.error = ""


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny trained model (a few seconds with the ``tiny`` preset), made by the torch venv."""
    return _train_tiny(tmp_path_factory.mktemp("models") / "tiny.pt")


@pytest.fixture(scope="session")
def tiny_audio_model(tmp_path_factory) -> tuple[Path, Path]:
    """A tiny model that follows audio, and a 2.5 s WAV to drive it."""
    out = _train_tiny(tmp_path_factory.mktemp("audio_models") / "talk.pt", "--audio")
    return out, out.with_name("talk_speech.wav")


@pytest.fixture(scope="session")
def tiny_wavlm_model(tmp_path_factory) -> tuple[Path, Path, Path]:
    """A tiny model that follows WavLM features, the tiny random WavLM checkpoint folder it was trained with (saved
    by the torch venv, nothing downloaded) and a 2.5 s WAV to drive it; skipped without ``transformers``."""
    root = tmp_path_factory.mktemp("wavlm_models")
    out = _train_tiny(root / "talk.pt", "--audio", "--wavlm", str(root / "wavlm"))
    return out, root / "wavlm", out.with_name("talk_speech.wav")


def _train_tiny(out: Path, *args: str) -> Path:
    from . import tiny_model as tm

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    cp = subprocess.run([WORKER_PYTHON, str(Path(tm.__file__)), str(out), *args], capture_output=True, text=True,
                        timeout=300, env=env, cwd=str(REPO))
    if cp.returncode == tm.SKIP_STATUS:
        pytest.skip(cp.stdout.strip())
    assert cp.returncode == 0 and out.exists(), cp.stdout + cp.stderr
    return out
