"""What code is running: hlstudy's source digest, the installed libraries, when the code was read.

Shared by the caches whose keys must name the code that made what they keep: the figure
cache (:mod:`hlstudy._figurekey`), the result cache (:mod:`hlstudy._resultcache`), the kept
exports (:mod:`hlstudy._keptexport`), the fit caches (:mod:`hlstudy.diagnostic.quality`) and
the R-agreement table (:mod:`hlstudy.validation.ragree`).

A source file counts as the code running when it was last modified before the process began
to read hlstudy (:func:`written_after_reading`).  Only the modification time is compared: a
file rewritten after that moment with its time set back (``cp -p``, ``touch -d``) is not
noticed, as it was not by the rule this replaced.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

#: The hlstudy package folder (its ``.py`` files are part of every key).
PACKAGE = Path(__file__).resolve().parent

#: How much earlier than :func:`code_read_from` a source file's modification time must be for
#: the file to count as read as it is now.  A file system that keeps sub-second times stamps a
#: write with the kernel's clock, at worst one tick (10 ms at 100 Hz) behind ``time.time()``;
#: one that keeps whole seconds (or FAT's two) may stamp a later write with an earlier second.
FINE_MARGIN = 0.05
COARSE_MARGIN = 2.0


def code_read_from() -> float:
    """When this process began to read hlstudy's code: seconds since the epoch at which
    ``import hlstudy`` started (``hlstudy._CODE_READ_FROM``).

    Every module of the package is read at or after that moment; a process forked from this
    one (the kernels of :mod:`hlstudy.runner`'s fork server, multiprocessing's workers) runs
    the modules it inherited, so it inherits the moment too.  Replaces the process's start
    time read from ``/proc``, which is whole seconds (``btime``) and up to a second early on a
    virtual machine, so that a file written in the two seconds before a test run (a fresh
    ``git checkout``) disabled every code key of that run.
    """
    import hlstudy

    return hlstudy._CODE_READ_FROM


def written_after_reading(mtimes_ns: list[int]) -> bool:
    """Whether any of these source files (modification times in nanoseconds) may have been
    written after :func:`code_read_from`, so that the code running may not be the code on
    disk.  The margin is :data:`FINE_MARGIN` where any of the times has a sub-second part (the
    file system keeps them), else :data:`COARSE_MARGIN`.

    >>> import time
    >>> written_after_reading([int((code_read_from() - 60) * 1e9)])
    False
    >>> written_after_reading([time.time_ns()])
    True
    """
    if not mtimes_ns:
        return False
    fine = any(t % 1_000_000_000 for t in mtimes_ns)
    limit = code_read_from() - (FINE_MARGIN if fine else COARSE_MARGIN)
    return max(mtimes_ns) / 1e9 > limit


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


def package_digest(package: Path | None = None) -> str | None:
    """SHA-256 of hlstudy's source (every ``.py`` file of ``package``, default
    :data:`PACKAGE`: relative path and bytes).

    None when a source file may have been modified after this process began to read the
    package (:func:`written_after_reading`): the code running may then not be the code on
    disk, and nothing should be kept under a key naming it.
    """
    package = PACKAGE if package is None else package
    files = []
    for relative, path in files_under(package, ".py", frozenset({"__pycache__"})):
        try:
            st = os.stat(path)
        except OSError:
            return None
        files.append((relative, path, (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)))
    if written_after_reading([stamp[1] for _r, _p, stamp in files]):
        return None
    # the bytes are read again when any file's size, times or inode changed (a write changes
    # the ctime even when the modification time is set back)
    signature = (os.fspath(package), tuple((r, stamp) for r, _p, stamp in files))
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
    installation's site directories (``name-version.dist-info``): what ``importlib.metadata``
    lists in those folders (not the user site or other ``sys.path`` entries, where the
    project's environment installs nothing), in a millisecond instead of a quarter of a second.
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
