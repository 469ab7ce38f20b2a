"""Portable names of a run's sources: what a shared checkpoint or manifest records about where it came from.

A path is written relative to the run when it lies inside it, as ``embedded:NAME`` for an asset
shipped with the package, as the user gave it when that was a relative path, and otherwise by its
last component alone: never as the trainer's absolute path. A content hash pins what it held.

>>> from data.assets import default_policy_path
>>> portable_path(default_policy_path())
'embedded:tiny_policy'
>>> portable_path("/tmp/run/prm", relative_to="/tmp/run")
'prm'
>>> portable_path("models/qwen")
'models/qwen'
>>> portable_path("/home/me/models/qwen")
'qwen'
>>> resolve_portable("embedded:tiny_policy") == default_policy_path()
True
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from data.assets import ASSETS_DIR

EMBEDDED = "embedded:"
WHOLE_FILE_LIMIT = 256 << 20  # larger files are hashed by size plus their first and last MiB
_CHUNK = 1 << 20


def portable_path(path: str | os.PathLike, relative_to: str | os.PathLike | None = None) -> str:
    """``embedded:NAME`` for a shipped asset, a path relative to ``relative_to`` inside it, a relative path as
    given, else the last component of an absolute path."""
    text = str(path)
    if not text or text in ("gold", "mc"):
        return text
    resolved = Path(text).resolve()
    try:
        return EMBEDDED + resolved.relative_to(ASSETS_DIR.resolve()).as_posix()
    except ValueError:
        pass
    if relative_to is not None:
        try:
            return resolved.relative_to(Path(relative_to).resolve()).as_posix() or "."
        except ValueError:
            pass
    return Path(text).name if Path(text).is_absolute() else text


def resolve_portable(ref: str) -> Path:
    """The local path of a portable name (``embedded:NAME`` resolves inside the package)."""
    if ref.startswith(EMBEDDED):
        return ASSETS_DIR / ref[len(EMBEDDED):]
    return Path(ref)


def content_sha256(path: str | os.PathLike) -> str:
    """SHA-256 over a file, or over every file of a folder (relative names and contents, sorted).

    Files past 256 MiB (model weights) count by size and their first and last MiB, so a 7B
    checkpoint hashes in well under a second; metadata and small files count whole.
    """
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"{path}: no such file or folder to hash")
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    for f in files:
        digest.update((f.name if root.is_file() else f.relative_to(root).as_posix()).encode() + b"\0")
        size = f.stat().st_size
        with f.open("rb") as handle:
            if size <= WHOLE_FILE_LIMIT:
                for block in iter(lambda: handle.read(_CHUNK), b""):
                    digest.update(block)
            else:
                digest.update(str(size).encode())
                digest.update(handle.read(_CHUNK))
                handle.seek(size - _CHUNK)
                digest.update(handle.read(_CHUNK))
    return digest.hexdigest()


def source_ref(path: str | os.PathLike, relative_to: str | os.PathLike | None = None) -> dict[str, str]:
    """``{"path": portable name, "sha256": content hash}`` of a model or data source."""
    return {"path": portable_path(path, relative_to), "sha256": content_sha256(path)}
