"""Binary files kept on disk by a content key: the export caches and the result cache (issue 15).

Each file is the SHA-256 of its bytes followed by the bytes, written atomically (a temporary
file, then ``os.replace``) and checked when read, so a damaged file reads as absent and is
made again.  A folder is bounded in bytes: the least recently used files go first.  The
callers (:mod:`hlstudy.export`, :mod:`hlstudy._resultcache`) make the keys.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def touch(path: Path) -> None:
    """Count ``path`` as used now (its modification time): the last to go when pruning."""
    try:
        os.utime(path)
    except OSError:
        pass


def prune(folder: Path, limit: int) -> None:
    """Delete the least recently used files of ``folder`` until it holds ``limit`` bytes."""
    try:
        files = [(st.st_mtime_ns, st.st_size, p) for p in folder.iterdir()
                 if p.is_file() and not p.name.startswith(".") for st in (p.stat(),)]
    except OSError:
        return
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files, key=lambda f: (f[0], f[2].name)):
        if total <= limit:
            break
        try:
            path.unlink()
            total -= size
        except OSError:
            pass


def read(folder: Path | None, key: str | None) -> bytes | None:
    """The bytes kept in ``folder`` under ``key``; None when there are none, they are damaged
    (their SHA-256 does not match) or there is no folder or key.  A read counts as a use."""
    if folder is None or key is None:
        return None
    try:
        raw = (folder / key).read_bytes()
    except OSError:
        return None
    data = raw[32:]
    if raw[:32] != hashlib.sha256(data).digest():
        return None   # damaged: made again
    touch(folder / key)   # used: the last to go when the folder is pruned
    return data


def write(folder: Path | None, key: str | None, data: bytes, limit: int) -> None:
    """Keep ``data`` in ``folder`` under ``key`` (atomically, with its SHA-256), then prune the
    folder to ``limit`` bytes.  A folder that cannot be written is no error."""
    if folder is None or key is None:
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_bytes(hashlib.sha256(data).digest() + data)   # checked when read
        os.replace(tmp, folder / key)
    except OSError:
        return  # a read-only checkout still works, only slower
    prune(folder, limit)
