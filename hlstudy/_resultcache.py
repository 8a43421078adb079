"""Results of the notebooks' slowest deterministic fits, kept on disk by a content key (issue 15).

:func:`kept` wraps a fitting function (:func:`hlstudy.sem.sem`,
:func:`hlstudy.cfa.measurement_invariance`, :func:`hlstudy.cfa.common_method_factor`).  When
``HLSTUDY_RESULT_CACHE=1`` — which the notebook runner sets for its kernels
(:func:`hlstudy.runner.kernel_env`) — a call whose key was seen before returns the kept
result instead of fitting again; everywhere else (the test suite's own calls, a user's
script) the function simply runs.  ``HLSTUDY_FIT_CACHE=0`` or ``HLSTUDY_EXPORT_CACHE=0``
switches it off as it does the other caches.

The key is the SHA-256 of the function (module, name, defaults), its arguments serialised
by :func:`hlstudy._figurekey.state_bytes` (every data value, column and index label),
hlstudy's source (:func:`hlstudy._codekey.package_digest`: no key when a file changed after
the process started), every installed library's version, and the machine (CPU model and
BLAS thread settings: an OpenBLAS build picks its kernels by CPU).  The result is kept as a
pickle (zlib-compressed) in ``data/processed/cache/results`` (our own files, SHA-256-checked,
:mod:`hlstudy._bincache`), together with the warnings the fit issued: they are issued again,
through the caller's warning filters, whenever the result is returned, kept or fresh.  A
fresh result is itself returned as read back from its pickle, so that a first run and a
later run give the same object (``tests/test_result_cache.py``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import platform
import sys
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hlstudy import _bincache
from hlstudy._codekey import cpu_model, distributions, package_digest

T = TypeVar("T")

#: Disk space the kept results may take; the least recently used go first.
RESULT_BYTES = 100 * 2**20


def enabled() -> bool:
    """True when results are kept: ``HLSTUDY_RESULT_CACHE=1`` and no cache switched off."""
    if os.environ.get("HLSTUDY_RESULT_CACHE", "0").strip() != "1":
        return False
    return "0" not in (os.environ.get("HLSTUDY_FIT_CACHE", "1"), os.environ.get("HLSTUDY_EXPORT_CACHE", "1"))


def folder() -> Path:
    from hlstudy.paths import PROCESSED

    return PROCESSED / "cache" / "results"


def machine() -> str:
    """The machine a number depends on: architecture, CPU model, BLAS thread settings."""
    threads = [os.environ.get(v, "") for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")]
    return repr((platform.machine(), cpu_model(), threads))


def key(function: Callable, args: tuple, kwargs: dict) -> str | None:
    """The content key of ``function(*args, **kwargs)``; None when it cannot be made."""
    from hlstudy._figurekey import state_bytes

    code = package_digest()
    if code is None:
        return None
    state = state_bytes((function, args, sorted(kwargs.items())))
    if state is None:
        return None
    digest = hashlib.sha256()
    for part in (b"hlstudy-result-1", state, code.encode(), distributions().encode(), machine().encode()):
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def _module_of(filename: str):
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) == filename:
            return module
    return None


def _replay(caught: list[tuple]) -> None:
    """Issue the recorded warnings again, from where they were first issued."""
    for category, message, filename, lineno in caught:
        module = _module_of(filename)
        registry = module.__dict__.setdefault("__warningregistry__", {}) if module is not None else None
        warnings.warn_explicit(message, category, filename, lineno,
                               module=module.__name__ if module is not None else None,
                               registry=registry,
                               module_globals=module.__dict__ if module is not None else None)


def call(function: Callable[..., T], *args, **kwargs) -> T:
    """``function(*args, **kwargs)``, kept and read back by content key (see the module)."""
    where = folder()
    name = key(function, args, kwargs)
    raw = _bincache.read(where, name)
    if raw is not None:
        try:
            result, caught = pickle.loads(zlib.decompress(raw))   # our own file, keyed by content
        except Exception:   # noqa: BLE001 - damaged or from another version: fitted again
            raw = None
        else:
            _replay(caught)
            return result
    recorded: list = []
    try:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter("always")
            result = function(*args, **kwargs)
    except BaseException:
        _replay([(w.category, str(w.message), w.filename, w.lineno) for w in recorded])
        raise
    caught = [(w.category, str(w.message), w.filename, w.lineno) for w in recorded]
    try:
        data = pickle.dumps((result, caught), protocol=5)
        result, caught = pickle.loads(data)
        data = zlib.compress(data, 1)   # a fit's arrays: about a sixth of the size
    except Exception:   # noqa: BLE001 - a result pickle refuses: returned as it is, not kept
        data = None
    if data is not None:
        _bincache.write(where, name, data, RESULT_BYTES)
    _replay(caught)
    return result


def kept(function: Callable[..., T]) -> Callable[..., T]:
    """``function`` whose results are kept when :func:`enabled` (a decorator)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if not enabled():
            return function(*args, **kwargs)
        return call(function, *args, **kwargs)

    return wrapper
