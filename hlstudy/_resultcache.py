"""Results of the notebooks' slowest deterministic calls, kept on disk by a content key (issue 15).

:func:`kept` wraps a pure function: a fit (:func:`hlstudy.sem.sem`,
:func:`hlstudy.cfa.measurement_invariance`, :func:`hlstudy.cfa.common_method_factor`), an
analysis table, or (``kept(figure=True)``) a function that builds and returns a new
matplotlib figure.  When ``HLSTUDY_RESULT_CACHE=1`` — which the notebook runner sets for
its kernels (:func:`hlstudy.runner.kernel_env`) — a call whose key was seen before returns
the kept result instead of computing it again; everywhere else (the test suite's own calls,
a user's script) the function simply runs.  ``HLSTUDY_FIT_CACHE=0`` or
``HLSTUDY_EXPORT_CACHE=0`` switches it off as it does the other caches.  A figure builder,
kept or not, runs with each of its texts laid out once (:func:`_texts_laid_out_once`).

The key is the SHA-256 of

* the function (module, name, defaults) and its arguments, serialised by
  :func:`hlstudy._figurekey.state_bytes` (every data value, column and index label);
* hlstudy's source (:func:`hlstudy._codekey.package_digest`: no key when a file changed
  after the process read hlstudy's code) and every installed library's version;
* what hlstudy's functions read besides their arguments (:func:`hidden_inputs`): the label
  language, the ``HLSTUDY_*`` settings that may change a result, ``hlstudy.toml`` and the
  bytes of every file of ``data/reference``, ``data/validation`` and the instrument folder
  in use;
* the machine (CPU model and BLAS thread settings: an OpenBLAS build picks its kernels by
  CPU);
* for a figure, the drawing environment: every rcParam and the fonts matplotlib knows.

Not in the key: a library setting a notebook changes at run time by assignment
(``hlstudy.pathplot.ADJUST_ITERATIONS = 500``).  Such a setting is read where it is used, and
which hlstudy modules a process has imported (so which settings exist) depends on what ran
before, so it cannot be told apart from a default without re-reading every module; whoever
experiments with library settings runs with ``HLSTUDY_RESULT_CACHE=0`` (the README says so).
A change to the setting in the source file is in the key (hlstudy's source).

A call is computed and not kept when an argument is a matplotlib artist (the function
would draw into it) or when the call changed its arguments (their serialisation differs
after the call): neither can be replayed from a stored result.

The result is kept as a pickle (zlib-compressed) in ``data/processed/cache/results`` (our
own files, SHA-256-checked, :mod:`hlstudy._bincache`), together with the warnings the call
issued: they are issued again, through the caller's warning filters, whenever the result is
returned, kept or fresh.  A fresh result is itself returned as read back from its pickle, so
that a first run and a later run give the same object (``tests/test_result_cache.py``); a
figure the call opened in pyplot is closed and its read-back copy, which pickle registers
with pyplot again, takes its place.  Every matplotlib transform read back is linked to its
parents by their ids in this process (:func:`_relink_transforms`), as a figure drawn here is.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import pickle
import platform
import sys
import warnings
import weakref
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from hlstudy import _bincache
from hlstudy._codekey import cpu_model, distributions, files_under, package_digest

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
    """The machine a number depends on: architecture, CPU model, BLAS thread and kernel settings."""
    threads = [os.environ.get(v, "") for v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                               "OPENBLAS_CORETYPE")]
    return repr((platform.machine(), cpu_model(), threads))


#: Settings that cannot change a result: where outputs go, progress bars, the cache switches
#: themselves, how many processes run.
_NOT_INPUTS = frozenset({
    "HLSTUDY_FIGURES", "HLSTUDY_PROGRESS", "HLSTUDY_RESULT_CACHE", "HLSTUDY_FIT_CACHE",
    "HLSTUDY_EXPORT_CACHE", "HLSTUDY_EXPORT_LOG", "HLSTUDY_JOBS", "HLSTUDY_TEST_WORKERS",
    "HLSTUDY_FIGURE_FORMATS",
})
_FILE_DIGESTS: dict[str, tuple[tuple, str]] = {}


def _file_digest(path: Path | str) -> str:
    """SHA-256 of a file's bytes, read again when its size, times or inode change."""
    path = os.fspath(path)
    try:
        st = os.stat(path)
    except OSError:
        return "absent"
    stamp = (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)
    found = _FILE_DIGESTS.get(path)
    if found is None or found[0] != stamp:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError:
            return "absent"
        found = _FILE_DIGESTS[path] = (stamp, hashlib.sha256(data).hexdigest())
    return found[1]


def hidden_inputs() -> str | None:
    """What hlstudy's functions may read besides their arguments, as one string.

    The label language (:func:`hlstudy.export.language`), every ``HLSTUDY_*`` environment
    setting except those in :data:`_NOT_INPUTS`, and the digest of ``hlstudy.toml`` and of
    every file in (or under) ``data/reference``, ``data/validation`` and the instrument
    folder in use (:func:`hlstudy.paths.instrument_dir`), as :func:`_path_state` gives them
    (None for one that does not exist).  None when these cannot be read (an invalid setting:
    the function then runs and reports it).
    """
    from hlstudy import export, paths

    try:
        folders = [paths.REFERENCE, paths.DATA / "validation", paths.instrument_dir()]
        language = export.language()
    except Exception:   # noqa: BLE001 - an invalid setting: no key, the call says what is wrong
        return None
    settings = sorted((k, v) for k, v in os.environ.items()
                      if k.startswith("HLSTUDY_") and k not in _NOT_INPUTS)
    # files by their place under each folder: their bytes, not where the checkout is, are
    # what a result depends on
    files = [_path_state(p) for p in (paths.ROOT / paths.CONFIG_FILE, *folders)]
    return repr((language, settings, files))


def _drawing_environment() -> str:
    import matplotlib

    from hlstudy._figurekey import _fonts

    return repr((sorted((k, repr(v)) for k, v in matplotlib.rcParams.items()), _fonts()))


def key(function: Callable, args: tuple, kwargs: dict, *, figure: bool = False,
        extra: tuple = ()) -> str | None:
    """The content key of ``function(*args, **kwargs)``; None when it cannot be made."""
    from hlstudy._figurekey import state_bytes

    code = package_digest()
    if code is None:
        return None
    hidden = hidden_inputs()
    if hidden is None:
        return None
    state = state_bytes((function, args, sorted(kwargs.items())))
    if state is None:
        return None
    digest = hashlib.sha256()
    parts = [b"hlstudy-result-2", state, code.encode(), distributions().encode(), machine().encode(),
             hidden.encode()]
    if figure:
        parts.append(_drawing_environment().encode())
    if extra:
        parts.append(repr(extra).encode())
    for part in parts:
        digest.update(len(part).to_bytes(8, "little"))
        digest.update(part)
    return digest.hexdigest()


def _draws_into_an_argument(args: tuple, kwargs: dict) -> bool:
    """True when an argument is a matplotlib artist (an Axes, a Figure) the call may draw into."""
    if "matplotlib" not in sys.modules:
        return False
    from matplotlib.artist import Artist

    values = [*args, *kwargs.values()]
    for value in list(values):
        if isinstance(value, list | tuple):
            values.extend(value)
        elif isinstance(value, dict):
            values.extend(value.values())
    return any(isinstance(v, Artist) for v in values)


#: Figures returned by a ``kept(figure=True)`` call: figure -> (the call's key, SHA-256 of the
#: figure's state as returned).  See :func:`kept_origin`.
_RETURNED_FIGURES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _note_figure(result, name: str | None) -> None:
    from matplotlib.figure import Figure

    from hlstudy._figurekey import state_bytes

    if name is None or not isinstance(result, Figure):
        return
    state = state_bytes(result)
    if state is not None:
        _RETURNED_FIGURES[result] = (name, hashlib.sha256(state).hexdigest())


def kept_origin(fig, state: bytes) -> str | None:
    """The key of the kept call that returned ``fig``, if ``fig`` is still as it was returned.

    ``state`` is ``fig``'s :func:`hlstudy._figurekey.state_bytes` now.  A read-back figure's
    serialised state depends, besides its content, on which equal strings the process
    happened to intern before reading it (pickle interns attribute names), so the same
    figure serialises differently right after it was computed and in a later run that read
    it back.  The figure cache (:func:`hlstudy._figurekey.figure_key`) therefore names an
    unchanged returned figure by the call that made it, whose key is a function of content
    alone; a figure changed after the call (a title set, a line added) is named by its state.
    """
    found = _RETURNED_FIGURES.get(fig)
    if found is None or hashlib.sha256(state).hexdigest() != found[1]:
        return None
    return found[0]


def _open_figures() -> set:
    if "matplotlib.pyplot" not in sys.modules:
        return set()
    import matplotlib.pyplot as plt

    return set(plt.get_fignums())


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


def _kept_message(message):
    """A recorded warning as kept with its result: the warning itself when it pickles (so
    that a warning with parts, such as hlstudy's estimation warnings, keeps them when it is
    issued again), else its text."""
    if isinstance(message, Warning):
        try:
            pickle.dumps(message, protocol=5)
        except Exception:   # noqa: BLE001 - a warning that does not pickle is kept as its text
            return str(message)
    return message


def _loads(data: bytes):
    """``pickle.loads(data)``, with every matplotlib transform it makes linked to its parents
    by their ids in this process (:func:`_relink_transforms`)."""
    unpickler = pickle.Unpickler(io.BytesIO(data))
    result = unpickler.load()
    _relink_transforms(unpickler.memo.copy().values())   # every object the stream made
    return result


def _relink_transforms(objects) -> None:
    """Key the parents of each matplotlib transform among ``objects`` by their own ``id``.

    A transform (``matplotlib.transforms.TransformNode``) invalidates its parents, the
    transforms and boxes computed from it, when it changes; it holds them in ``_parents``,
    ``{id(parent): weakref to parent}``, and a new parent registers under its ``id``
    (``set_children``).  Unpickling (``TransformNode.__setstate__``, matplotlib 3.11) keeps
    the pickled keys: the ids the parents had in the process that pickled them.  Such an
    old id can be the address of a new object here (in the run that computes a figure, its
    original is freed right after being pickled and read back, and new transforms take its
    addresses).  When a new parent at such an address registers with the same transform
    (saving a figure makes new ones), it replaces the read-back parent's entry, and that
    parent is no longer invalidated: a plot area's box, say, keeps the value it had before
    the figure's resolution or crop changed, and the files show it (a PDF's clip rectangle).
    It depends on where the allocator puts objects, so a run with empty caches gave other
    bytes once in a while (``tests/test_figure_readback.py``).  Each live parent is keyed again by
    its ``id``, in the same order, with the callback ``set_children`` gives it.
    """
    transforms = sys.modules.get("matplotlib.transforms")
    if transforms is None:
        return
    for node in objects:
        if not isinstance(node, transforms.TransformNode):
            continue
        parents = getattr(node, "_parents", None)
        if not isinstance(parents, dict) or not parents:
            continue
        alive = [ref() for ref in parents.values()]
        parents.clear()
        for parent in alive:
            key = id(parent)
            if parent is not None and key not in parents:
                parents[key] = weakref.ref(parent, lambda _, pop=parents.pop, k=key: pop(k, None))


def call(function: Callable[..., T], *args, _figure: bool = False, _extra: tuple = (),
         **kwargs) -> T:
    """``function(*args, **kwargs)``, kept and read back by content key (see the module);
    ``_extra`` goes into the key too (the state of the files the call reads)."""
    if _draws_into_an_argument(args, kwargs):
        return function(*args, **kwargs)
    from hlstudy._figurekey import state_bytes

    where = folder()
    name = key(function, args, kwargs, figure=_figure, extra=_extra)
    raw = _bincache.read(where, name)
    if raw is not None:
        try:
            result, caught = _loads(zlib.decompress(raw))   # our own file, keyed by content
        except Exception:   # noqa: BLE001 - damaged or from another version: computed again
            raw = None
        else:
            if _figure:
                _note_figure(result, name)
            _replay(caught)
            return result
    before = state_bytes((args, sorted(kwargs.items()))) if name is not None else None
    opened = _open_figures()
    recorded: list = []
    try:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter("always")
            result = function(*args, **kwargs)
    except BaseException:
        _replay([(w.category, w.message, w.filename, w.lineno) for w in recorded])
        raise
    caught = [(w.category, _kept_message(w.message), w.filename, w.lineno) for w in recorded]
    data = None
    if name is not None and state_bytes((args, sorted(kwargs.items()))) == before:
        new = sorted(_open_figures() - opened)
        try:
            data = pickle.dumps((result, caught), protocol=5)
            copy = _loads(data)
            data = zlib.compress(data, 1)   # a fit's arrays: about a sixth of the size
        except Exception:   # noqa: BLE001 - a result pickle refuses: returned as it is, not kept
            data = None
        else:
            result, caught = copy
            if new:   # the call's own pyplot figures give way to their read-back copies
                import matplotlib.pyplot as plt

                for number in new:
                    plt.close(number)
    if data is not None:
        _bincache.write(where, name, data, RESULT_BYTES)
        if _figure:
            _note_figure(result, name)
    _replay(caught)
    return result


_DEPTH = [0]   # kept calls running in this process: a call inside another is not kept


def _bound(function: Callable, args: tuple, kwargs: dict) -> dict:
    import inspect

    try:
        bound = inspect.signature(function).bind(*args, **kwargs)
    except TypeError:
        return {}
    bound.apply_defaults()
    return dict(bound.arguments)


def _path_state(value) -> str | None:
    """The digest of every file at or under the path ``value`` (relative names and bytes)."""
    if value is None:
        return "none"
    try:
        root = Path(value).expanduser()
    except TypeError:
        return None
    if root.is_file():
        return _file_digest(root)
    if not root.is_dir():
        return None
    return repr([(relative, _file_digest(path)) for relative, path in files_under(root)])


#: How many figure builders are running (:func:`_texts_laid_out_once`): an inner builder (a
#: caterpillar panel drawn by ``caterpillar_panels``) shares its caller's text layouts.
_BUILDING = [0]


@contextlib.contextmanager
def _texts_laid_out_once():
    """While a figure builder (``kept(figure=True)``) runs: each text laid out once.

    A builder measures its texts again and again (``tight_layout`` measures every tick label
    twice per call, and a builder may call it three times; adjustText and the placement of
    names and marks measure a label at each step): each time matplotlib finds the font,
    reads its tables and lays the text out anew (``Text._get_layout``, about 0.3 ms).  While
    the builder runs the answers are shared as :func:`hlstudy.export.save_figure` shares them
    (:func:`hlstudy.export._shared_font_tables`, :func:`hlstudy.export._shared_text_layouts`:
    keyed by everything a layout depends on, the same floats), so the figure is the same,
    built with a quarter to a third less CPU (``caterpillar_panels``), whether or not its
    result is kept."""
    if _BUILDING[0]:
        yield
        return
    from hlstudy import export

    _BUILDING[0] += 1
    try:
        with export._shared_font_tables(), export._shared_text_layouts():
            yield
    finally:
        _BUILDING[0] -= 1


def kept(function: Callable[..., T] | None = None, *, figure: bool = False,
         seeds: tuple[str, ...] = (), paths: tuple[str, ...] = ()):
    """``function`` whose results are kept when :func:`enabled` (a decorator).

    ``@kept`` for a function returning data or a fitted result; ``@kept(figure=True)`` for
    one that builds and returns a new figure (its key adds rcParams and fonts).  ``seeds``
    names arguments that seed random draws: a call with one of them None (fresh entropy)
    is not kept.  ``paths`` names arguments that are files or folders the function reads:
    the bytes of every file there go into the key.  A kept call made while another kept
    call runs (a table function fitting one model per scale) simply runs: the outer call
    is kept as a whole.
    """
    if function is None:
        return functools.partial(kept, figure=figure, seeds=seeds, paths=paths)

    def run(*args, **kwargs):
        if _DEPTH[0] or not enabled():
            return function(*args, **kwargs)
        extra = ()
        if seeds or paths:
            arguments = _bound(function, args, kwargs)
            if not arguments or any(arguments.get(name) is None for name in seeds):
                return function(*args, **kwargs)
            extra = tuple(_path_state(arguments.get(name)) for name in paths)
            if None in extra:
                return function(*args, **kwargs)
        _DEPTH[0] += 1
        try:
            return call(function, *args, _figure=figure, _extra=extra, **kwargs)
        finally:
            _DEPTH[0] -= 1

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if not figure:
            return run(*args, **kwargs)
        with _texts_laid_out_once():
            return run(*args, **kwargs)

    return wrapper
