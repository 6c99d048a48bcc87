"""Error types. Every user-facing failure raises a subclass of :class:`MrgenError`.

The CLI and the worker turn these into one clear line (``<file>: <problem>``) and exit status 2;
anything else is a bug and keeps its traceback.
"""
from __future__ import annotations

import os


class MrgenError(Exception):
    """A user error: bad input file, bad argument, unknown label, ..."""

    def __init__(self, message: str, path: str | os.PathLike | None = None):
        self.path = None if path is None else os.fspath(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class MotionFormatError(MrgenError):
    """A motion file (BVH, .npz) that cannot be read or holds invalid values."""


class RetargetError(MrgenError):
    """A source skeleton that cannot be mapped onto SMPL."""


class ModelFileError(MrgenError):
    """A file that is not an mrgen model, or of a newer format."""
