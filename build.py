#!/usr/bin/env python3
"""Build the Blender add-on zips, or set up the worker environment.

    python build.py                      # dist/mrgen-<version>-extension.zip and dist/mrgen-<version>-legacy.zip
    python build.py --out DIR            # somewhere else
    python build.py --worker-venv [DIR]  # a venv with torch + mrgen for the worker (default ~/.mrgen/worker-venv)

Both zips come from the same source (``blender_addon/``) and bundle ``mrgen_core`` (with the shipped models in
``mrgen_core/models/``) and ``training`` under ``vendor/``:

* the **extension** (Blender 4.2 LTS and newer, the main target): ``blender_manifest.toml`` at the zip root, built with
  Blender's own ``blender_ext.py`` (found in the bpy wheel, e.g. ``.venv-bpy``, or given with ``--blender-ext``) so it
  is validated; without it, a plain zip of the same layout;
* the **legacy add-on** (``bl_info``; Blender 3.4 to 4.1, best effort): a top-level ``mrgen/`` folder.
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent
ADDON_SRC = REPO / "blender_addon"
PACKAGE = "mrgen"
DEFAULT_WORKER_VENV = Path.home() / ".mrgen" / "worker-venv"
TORCH = "torch==2.13.0"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pyo", ".*", "*.egg-info")


def version() -> str:
    text = (REPO / "mrgen_core" / "__init__.py").read_text(encoding="utf-8")
    m = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', text, re.M)
    if not m:
        raise SystemExit("build.py: error: mrgen_core/__init__.py: no __version__")
    return m.group(1)


def stage(dest: Path, ver: str) -> Path:
    """Copy the add-on with ``vendor/mrgen_core`` and ``vendor/training`` into ``dest/mrgen`` and stamp versions."""
    root = dest / PACKAGE
    shutil.copytree(ADDON_SRC, root, ignore=_IGNORE)
    vendor = root / "vendor"
    vendor.mkdir()
    shutil.copytree(REPO / "mrgen_core", vendor / "mrgen_core", ignore=_IGNORE)
    if (REPO / "training").is_dir():
        shutil.copytree(REPO / "training", vendor / "training", ignore=_IGNORE)
    (vendor / "__init__.py").write_text('"""Bundled pure-Python code (mrgen_core, training), imported as '
                                        'sub-modules of the add-on."""\n', encoding="utf-8")
    (vendor / "README.txt").write_text("mrgen_core and training, bundled by build.py from the mrgen repository.\n"
                                       "The add-on imports only the numpy parts; the worker process runs the rest.\n",
                                       encoding="utf-8")
    manifest = root / "blender_manifest.toml"
    manifest.write_text(re.sub(r'^version = "[^"]*"', f'version = "{ver}"', manifest.read_text(encoding="utf-8"),
                               count=1, flags=re.M), encoding="utf-8")
    init = root / "__init__.py"
    parts = ", ".join(str(int(p)) for p in (ver.split(".") + ["0", "0"])[:3] if p.isdigit())
    init.write_text(re.sub(r'"version": \([^)]*\)', f'"version": ({parts})', init.read_text(encoding="utf-8"),
                           count=1), encoding="utf-8")
    return root


def _zip_dir(src: Path, zip_path: Path, arc_prefix: str, exclude: tuple[str, ...] = ()) -> None:
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = zip_path.with_name(zip_path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(src).as_posix()
            if path.is_dir() or rel in exclude:
                continue
            info = zipfile.ZipInfo(f"{arc_prefix}{rel}", date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, path.read_bytes())
    os.replace(tmp, zip_path)


def find_blender_ext(explicit: str | None = None) -> Path | None:
    """Blender's extension CLI: ``--blender-ext``, ``$BLENDER_EXT``, or inside a bpy wheel in a venv near the repo."""
    if explicit:
        return Path(explicit)
    if os.environ.get("BLENDER_EXT"):
        return Path(os.environ["BLENDER_EXT"])
    pattern = "lib/python3*/site-packages/bpy/*/scripts/addons_core/bl_pkg/cli/blender_ext.py"
    for venv in sorted(REPO.glob(".venv*")) + [Path(sys.prefix)]:
        hits = sorted(glob.glob(str(venv / pattern)))
        if hits:
            return Path(hits[-1])
    return None


def _venv_python(tool: Path | None) -> str | None:
    """The Python of the venv that holds ``tool`` (the bpy test venv runs Blender's CLI with the Python it needs)."""
    if tool is None:
        return None
    for parent in tool.parents:
        py = parent / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
        if (parent / "pyvenv.cfg").is_file() and py.is_file():
            return str(py)
    return None


def build_extension(root: Path, out: Path, blender_ext: Path | None, python: str) -> tuple[Path, str]:
    target = out / f"{PACKAGE}-{version()}-extension.zip"
    out.mkdir(parents=True, exist_ok=True)  # blender_ext.py does not create it
    if target.exists():
        target.unlink()
    if blender_ext is not None and blender_ext.is_file():
        cmd = [python, str(blender_ext), "build", "--source-dir", str(root), "--output-filepath", str(target)]
        cp = subprocess.run(cmd, capture_output=True, text=True)
        if cp.returncode != 0:
            raise SystemExit(f"build.py: error: {blender_ext}: extension build failed:\n{cp.stdout}{cp.stderr}")
        cp = subprocess.run([python, str(blender_ext), "validate", str(target)], capture_output=True, text=True)
        if cp.returncode != 0:
            raise SystemExit(f"build.py: error: {target}: extension does not validate:\n{cp.stdout}{cp.stderr}")
        return target, f"blender_ext.py ({blender_ext})"
    _zip_dir(root, target, "")
    return target, ("NOT validated: Blender's blender_ext.py was not found (it ships in the bpy wheel: python3 -m venv "
                    ".venv-bpy && .venv-bpy/bin/pip install 'bpy==4.5.*', then build again; or pass --blender-ext); "
                    "a plain zip of the same layout")


def build(out: Path, blender_ext: str | None = None, python: str | None = None, legacy: bool = True,
          extension: bool = True) -> list[Path]:
    """Build the zips into ``out``; returns their paths."""
    ver = version()
    made = []
    with tempfile.TemporaryDirectory(prefix="mrgen-build-") as tmp:
        root = stage(Path(tmp), ver)
        if legacy:
            target = out / f"{PACKAGE}-{ver}-legacy.zip"
            _zip_dir(root, target, f"{PACKAGE}/", exclude=("blender_manifest.toml",))
            print(f"legacy add-on (Blender 3.4-4.1): {target}")
            made.append(target)
        if extension:
            tool = find_blender_ext(blender_ext)
            target, how = build_extension(root, out, tool, python or _venv_python(tool) or sys.executable)
            print(f"extension (Blender 4.2+): {target}  [{how}]")
            made.append(target)
    models = sorted((REPO / "mrgen_core" / "models").glob("*.pt")) if (REPO / "mrgen_core" / "models").is_dir() else []
    print(f"bundled models: {', '.join(m.name for m in models) or 'none (mrgen_core/models/ is empty)'}")
    return made


def worker_venv(path: Path, dry_run: bool = False, torch_index: str | None = None) -> Path:
    """Create a venv with torch and mrgen for the add-on's worker; returns its Python."""
    py = path / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    torch_cmd = [str(py), "-m", "pip", "install", TORCH] + (["--index-url", torch_index] if torch_index else [])
    steps = [[sys.executable, "-m", "venv", str(path)], [str(py), "-m", "pip", "install", "--upgrade", "pip"],
             torch_cmd, [str(py), "-m", "pip", "install", str(REPO)]]
    for cmd in steps:
        print("+", " ".join(cmd), flush=True)
        if not dry_run:
            cp = subprocess.run(cmd)
            if cp.returncode != 0:
                raise SystemExit(f"build.py: error: {path}: command failed ({cp.returncode}): {' '.join(cmd)}")
    if not dry_run:
        cp = subprocess.run([str(py), "-m", "mrgen_core.worker", "--check"], capture_output=True, text=True)
        print(cp.stdout.strip() or cp.stderr.strip())
    print(f"\nWorker Python (Blender: Edit > Preferences > Add-ons > MRGen > Worker Python):\n{py}")
    return py


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="build.py", description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(REPO / "dist"), help="output folder for the zips (default: dist/)")
    ap.add_argument("--blender-ext", help="path to Blender's blender_ext.py (default: search the bpy wheel)")
    ap.add_argument("--python", help="Python 3.11+ that runs blender_ext.py (default: this one)")
    ap.add_argument("--no-legacy", action="store_true", help="skip the legacy add-on zip")
    ap.add_argument("--no-extension", action="store_true", help="skip the extension zip")
    ap.add_argument("--worker-venv", nargs="?", const=str(DEFAULT_WORKER_VENV), metavar="DIR",
                    help=f"set up the worker environment instead (default {DEFAULT_WORKER_VENV})")
    ap.add_argument("--torch-index", help="pip index URL for torch (e.g. https://download.pytorch.org/whl/cpu)")
    ap.add_argument("--dry-run", action="store_true", help="with --worker-venv: print the commands only")
    args = ap.parse_args(argv)
    if args.worker_venv:
        worker_venv(Path(args.worker_venv).expanduser().resolve(), args.dry_run, args.torch_index)
        return 0
    build(Path(args.out).resolve(), args.blender_ext, args.python, legacy=not args.no_legacy,
          extension=not args.no_extension)
    return 0


if __name__ == "__main__":
    sys.exit(main())
