"""A notebook's exported files, kept by a content key of everything its run reads (issue 15).

``python -m hlstudy.runner export --lang en`` (``make.py export``) executes every notebook with
labels in one language into a folder of its own.  Run again with nothing changed, a notebook
would write the same bytes: its run is a function of

* the notebook's source (its percent script) and where it is;
* hlstudy's source (:func:`hlstudy._codekey.package_digest`; no key while a source file is newer
  than this process's reading of hlstudy), every installed distribution and Python's version;
* the machine (architecture and CPU model: an OpenBLAS build picks its kernels by CPU);
* the kernel's environment settings that may change an output: every ``HLSTUDY_*`` setting
  (the label language, the figure formats, the data and instrument folders) except those
  that only say where outputs go or whether caches are used (:data:`NOT_INPUTS`), and the
  locale, BLAS, matplotlib and hash-seed variables (:data:`ENVIRONMENT`);
* the bytes of every file the notebook may read: the data source in use
  (:func:`hlstudy.config.data_source`), the instrument folder, ``data/reference``,
  ``data/validation`` and ``hlstudy.toml``;
* the drawing environment: matplotlib's ``matplotlibrc`` and the fonts it knows.

:func:`read` returns what a run with the same key wrote: the rows of ``index.csv`` and the
bytes of each file, kept in ``data/processed/cache/exports`` (:mod:`hlstudy._bincache`:
SHA-256-checked, the least recently used go first beyond :data:`EXPORT_BYTES`).  Only the
compendium's own notebooks (``notebooks/NN_*.py``) are kept.  ``HLSTUDY_EXPORT_CACHE=0``
switches it off, as it does the other export caches: every notebook then runs.

The committed notebooks are never taken from here: ``reproduce`` executes every notebook, and
the test suite's notebook tests re-execute them and compare their outputs with the committed
ones byte for byte.  A clean checkout (as CI's) has no kept exports: the first export runs
every notebook.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import platform
from pathlib import Path

from hlstudy import _bincache

#: Disk space the kept exports may take (one language's export of the seven notebooks is
#: about 11 MB); the least recently used go first.
EXPORT_BYTES = 200 * 2**20

#: ``HLSTUDY_*`` settings that change no exported byte: where the files go, the export log,
#: progress bars, the cache switches, how many processes run.
NOT_INPUTS = frozenset({
    "HLSTUDY_FIGURES", "HLSTUDY_EXPORT_LOG", "HLSTUDY_PROGRESS", "HLSTUDY_RESULT_CACHE",
    "HLSTUDY_FIT_CACHE", "HLSTUDY_EXPORT_CACHE", "HLSTUDY_JOBS", "HLSTUDY_TEST_WORKERS",
})
#: Other environment variables of the kernel that may change an output.
ENVIRONMENT = ("LANG", "LC_ALL", "LC_CTYPE", "LC_NUMERIC", "PYTHONHASHSEED", "SOURCE_DATE_EPOCH",
               "MPLBACKEND", "MPLCONFIGDIR", "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE",
               "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def enabled() -> bool:
    """False when ``HLSTUDY_EXPORT_CACHE=0``."""
    return os.environ.get("HLSTUDY_EXPORT_CACHE", "1").strip() != "0"


def folder() -> Path:
    from hlstudy.paths import PROCESSED

    return PROCESSED / "cache" / "exports"


def _drawing_environment() -> str:
    import matplotlib

    from hlstudy._figurekey import _fonts
    from hlstudy._resultcache import _path_state

    return repr((_path_state(matplotlib.matplotlib_fname()), _fonts()))


def key(source: Path, env: dict[str, str]) -> str | None:
    """The content key of executing the notebook script ``source`` in a kernel with the
    environment ``env`` (:func:`hlstudy.runner.kernel_env`); None when it cannot be made
    (a source file changed while this process ran, a setting that cannot be read, a notebook
    that is not one of the compendium's)."""
    from hlstudy import paths
    from hlstudy._codekey import cpu_model, distributions, package_digest
    from hlstudy._resultcache import _path_state
    from hlstudy.config import data_source

    source = Path(source).resolve()
    if source.parent != paths.NOTEBOOKS.resolve() or not enabled():
        return None
    code = package_digest()
    if code is None:
        return None
    settings = sorted((k, v) for k, v in env.items()
                      if (k.startswith("HLSTUDY_") and k not in NOT_INPUTS) or k in ENVIRONMENT)
    try:   # the data and instrument folders as the kernel resolves them from its settings
        data = Path(env["HLSTUDY_DATA"]) if env.get("HLSTUDY_DATA", "").strip() else data_source().path
        instrument = (Path(env["HLSTUDY_INSTRUMENT"]) if env.get("HLSTUDY_INSTRUMENT", "").strip()
                      else paths.instrument_dir())
    except Exception:   # noqa: BLE001 - an invalid setting: the notebooks report it
        return None
    # None for a path that does not exist (no hlstudy.toml)
    files = [_path_state(p) for p in (data, instrument, paths.REFERENCE, paths.DATA / "validation",
                                      paths.ROOT / paths.CONFIG_FILE)]
    digest = hashlib.sha256()
    for part in (b"hlstudy-export-1", str(source).encode(), source.read_bytes(), code.encode(),
                 distributions().encode(), repr((platform.machine(), cpu_model())).encode(), repr(settings).encode(),
                 repr(files).encode(), _drawing_environment().encode()):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def keep(key: str | None, rows: list[dict], out_dir: Path) -> None:
    """Keep what one notebook's run wrote to ``out_dir`` (its ``index.csv`` rows and the bytes
    of each file they name) under ``key``; nothing is kept when a file is missing."""
    from hlstudy.runner import exported_files

    if key is None:
        return
    files = {}
    for name in exported_files(rows):
        try:
            files[name] = (Path(out_dir) / name).read_bytes()
        except OSError:
            return
    buffer = io.BytesIO()
    pickle.dump({"rows": rows, "files": files}, buffer, protocol=5)
    _bincache.write(folder(), key, buffer.getvalue(), EXPORT_BYTES)


def read(key: str | None) -> tuple[list[dict], dict[str, bytes]] | None:
    """``(index rows, {file name: bytes})`` kept under ``key``; None when there are none or
    they are damaged (:func:`hlstudy._bincache.read` checks their SHA-256)."""
    from hlstudy.runner import exported_files

    data = _bincache.read(folder(), key)
    if data is None:
        return None
    try:
        kept = pickle.loads(data)   # our own file, its SHA-256 checked
        rows, files = kept["rows"], kept["files"]
    except Exception:   # noqa: BLE001 - unreadable: the notebook runs again
        return None
    if sorted(files) != exported_files(rows):
        return None
    return rows, files


def restore(files: dict[str, bytes], out_dir: Path) -> None:
    """Write the kept ``files`` into ``out_dir``, leaving a file that already has its bytes as
    it is (its modification time too)."""
    for name, data in sorted(files.items()):
        path = Path(out_dir) / name
        try:
            if path.read_bytes() == data:
                continue
        except OSError:
            pass
        tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
