"""Small JSON files kept on disk by a content key: the fit caches of issue 15.

Used by the diagnostic's random-intercept fits (``data/processed/cache/mixed``),
:func:`hlstudy.models.mixed` (``.../mixed-models``) and notebook 07's R-agreement table
(``.../r-agreement``).  The caller makes the key (a SHA-256 of everything the result depends
on) and the text (doubles as ``float.hex``, so a read gives the same numbers); this module
only reads, writes and bounds the folder:

* :func:`read` returns ``None`` for a missing or damaged file (the caller computes again and
  the write replaces it) and counts a read as a use;
* :func:`write` writes atomically (a temporary file, then ``os.replace``: a reader never sees
  half a file, two processes writing the same key write the same text), then :func:`prune`;
  a folder that cannot be written is no error (the result is simply not kept);
* :func:`prune` drops the least recently used files beyond a number of files.

The export caches (:mod:`hlstudy.export`: SHA-checked binary files bounded by bytes) and the
study pickles (:mod:`hlstudy.study`) keep their own formats.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def read(path: Path | None, decode: Callable[[str], T]) -> T | None:
    """``decode`` of the text kept at ``path``; None when there is none or it does not decode.

    ``decode`` raises ``ValueError``, ``TypeError`` or ``KeyError`` for a damaged file.  A
    successful read touches the file, so that :func:`prune` drops the least recently *used*.
    """
    if path is None or not path.is_file():
        return None
    try:
        value = decode(path.read_text(encoding="utf-8"))
        os.utime(path)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return value


def write(path: Path | None, text: str, *, most: int, keep: int | None = None) -> None:
    """Keep ``text`` at ``path`` (atomically), then :func:`prune` its folder (``most``, ``keep``)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
        prune(path.parent, most, keep=keep)
    except OSError:
        pass


def prune(folder: Path, most: int, *, keep: int | None = None) -> None:
    """At most ``most`` ``*.json`` files in ``folder``: when there are more, the least recently
    used go until ``keep`` (default ``most``) are left; a ``keep`` below ``most`` prunes less
    often."""
    entries = [e for e in os.scandir(folder) if e.name.endswith(".json")]
    if len(entries) <= most:
        return
    entries.sort(key=lambda e: (e.stat().st_mtime_ns, e.name))
    for e in entries[:len(entries) - (most if keep is None else keep)]:
        try:
            os.remove(e.path)
        except OSError:
            pass
