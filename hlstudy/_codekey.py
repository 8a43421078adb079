"""What code is running: hlstudy's source digest, the installed libraries, the process's start.

Shared by the caches whose keys must name the code that made what they keep: the figure
cache (:mod:`hlstudy._figurekey`) and the R-agreement table
(:mod:`hlstudy.validation.ragree`).
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

#: The hlstudy package folder (its ``.py`` files are part of every key).
PACKAGE = Path(__file__).resolve().parent

_IMPORTED = time.time()


def process_start() -> float:
    """When this process started (seconds since the epoch; Linux's ``/proc``), else when this
    module was imported.  Read once per process (by its id: a forked child reads its own)."""
    pid = os.getpid()
    found = _STARTS.get(pid)
    if found is None:
        found = _STARTS[pid] = _read_start()
    return found


_STARTS: dict[int, float] = {}


def _read_start() -> float:
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat", encoding="ascii") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith("btime"))
        return boot + start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return _IMPORTED


def files_under(root: Path | str, suffix: str = "", skip: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """Every file at any depth under the folder ``root`` whose name ends with ``suffix``:
    ``(relative POSIX path, path)`` sorted by the relative path's parts (as sorted ``Path``
    objects are), not entering folders named in ``skip`` nor symbolic links to folders (as
    ``Path.rglob`` does not).  One ``os.scandir`` per folder: a tenth of ``rglob``'s time."""
    found: list[tuple[tuple[str, ...], str]] = []

    def visit(folder: str, parts: tuple[str, ...]) -> None:
        try:
            with os.scandir(folder) as entries:
                listed = list(entries)
        except OSError:
            return
        for entry in listed:
            try:
                if entry.is_dir():
                    if not entry.is_symlink() and entry.name not in skip:
                        visit(entry.path, (*parts, entry.name))
                elif entry.name.endswith(suffix) and entry.is_file():
                    found.append(((*parts, entry.name), entry.path))
            except OSError:
                continue

    visit(os.fspath(root), ())
    found.sort(key=lambda item: item[0])
    return [("/".join(parts), path) for parts, path in found]


_DIGESTS: dict[tuple, str] = {}


def package_digest() -> str | None:
    """SHA-256 of hlstudy's source (every ``.py`` file: relative path and bytes).

    None when a source file was modified after this process started: the code running may
    then not be the code on disk, and nothing should be kept under a key naming it.
    """
    started = process_start() - 2.0   # /proc's boot time has whole seconds
    files = []
    for relative, path in files_under(PACKAGE, ".py", frozenset({"__pycache__"})):
        try:
            st = os.stat(path)
        except OSError:
            return None
        if st.st_mtime > started:
            return None
        files.append((relative, path, (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)))
    # the bytes are read again when any file's size, times or inode changed (a write changes
    # the ctime even when the modification time is set back)
    signature = (os.fspath(PACKAGE), tuple((r, stamp) for r, _p, stamp in files))
    found = _DIGESTS.get(signature)
    if found is None:
        digest = hashlib.sha256()
        for relative, path, _stamp in files:
            with open(path, "rb") as fh:
                data = fh.read()
            for part in (relative.encode(), data):
                digest.update(len(part).to_bytes(8, "little"))
                digest.update(part)
        found = _DIGESTS[signature] = digest.hexdigest()
    return found


_DISTRIBUTIONS: str | None = None


def distributions() -> str:
    """Every installed distribution's name and version, and Python's version (once per process).

    Read from the names of the ``*.dist-info`` and ``*.egg-info`` folders of the
    installation's site directories (``name-version.dist-info``): the same list
    ``importlib.metadata`` gives, in a millisecond instead of a quarter of a second.
    """
    global _DISTRIBUTIONS
    if _DISTRIBUTIONS is None:
        import site
        import sysconfig

        folders = {sysconfig.get_paths().get(k) for k in ("purelib", "platlib")}
        folders.update(getattr(site, "getsitepackages", list)())
        found = set()
        for folder in sorted(f for f in folders if f):
            try:
                entries = os.listdir(folder)
            except OSError:
                continue
            found.update(e for e in entries if e.endswith((".dist-info", ".egg-info")))
        _DISTRIBUTIONS = repr((sys.version, sorted(found)))
    return _DISTRIBUTIONS


_CPU: str | None = None


def cpu_model() -> str:
    """The CPU model (Linux's ``/proc/cpuinfo``, else ``platform.processor()``): an OpenBLAS
    build picks its kernels by CPU, so the last bits of a fit may depend on it."""
    global _CPU
    if _CPU is None:
        import platform

        cpu = platform.processor()
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as fh:
                cpu = next((line.split(":", 1)[1].strip() for line in fh
                            if line.startswith("model name")), cpu)
        except OSError:
            pass
        _CPU = cpu
    return _CPU
