"""Atomic file output: write to a temporary name beside the target, then rename.

Temporary files are hidden (``.NAME.tmp-XXXX.ext``); the ones still open when the process exits (e.g. the worker's
input closes during a long write) are removed at exit. A process killed with SIGKILL can leave one behind: readers
of folders skip hidden names (:func:`is_temporary`).
"""
from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
import threading
from pathlib import Path
from typing import Iterator

from .errors import MrgenError

_live: set[Path] = set()
_live_lock = threading.Lock()


def is_temporary(name: str | os.PathLike) -> bool:
    """Whether a file name is one of :func:`atomic_path`'s temporary names (or any hidden file)."""
    return Path(name).name.startswith(".")


@atexit.register
def _remove_live() -> None:
    with _live_lock:
        for p in list(_live):
            with contextlib.suppress(OSError):
                p.unlink()
        _live.clear()


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success rename it to ``path``, on error delete it.

    ``suffix`` (default: ``path``'s own) is kept so libraries that pick a format by extension still work.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", suffix=path.suffix if suffix is None else suffix,
                               dir=folder)
    os.close(fd)
    tmp_path = Path(tmp)
    with _live_lock:
        _live.add(tmp_path)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600 files; outputs get the usual permissions
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise
    finally:
        with _live_lock:
            _live.discard(tmp_path)


@contextlib.contextmanager
def writing(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """:func:`atomic_path` that turns a failed write (disk full, file too large, permission, a missing folder that
    cannot be made) into one :class:`MrgenError` line naming ``path``; nothing is left behind."""
    try:
        with atomic_path(path, suffix) as tmp:
            yield tmp
    except OSError as e:
        raise MrgenError(f"cannot write file ({e.strerror or type(e).__name__})", path) from None
