"""A content key of a matplotlib figure: what its exported files are a function of.

:func:`hlstudy.export.save_figure` keeps the bytes of each figure it writes from a notebook
under ``data/processed/cache/figures``, named by :func:`figure_key`, and hands them back
when a later run saves a figure with the same key instead of drawing it again (issue 15:
drawing and encoding are a third of a notebook's CPU).  The key must therefore change
whenever anything the files depend on changes:

* **the figure's whole state**: the figure is serialised with :mod:`pickle` (every artist,
  array, text, font property, transform and layout setting; matplotlib's own
  ``__getstate__``), by a pickler (:class:`_KeyPickler`) that makes the stream a function
  of the state alone: transforms' child maps keyed by ``id()`` become lists in their
  (deterministic) insertion order, sets are sorted, the pyplot figure number is left out,
  pandas frames, series and indexes are written as their content (labels, dtypes and values
  as NumPy arrays), not as their own pickle, which changes when pandas consolidates blocks
  in place or memoises a property; NumPy arrays as their dtype, shape and bytes (cheaper than
  NumPy's own reduction, which a figure's thousands of small arrays make a third of the key);
  a function is written as its module and name plus what may change without its
  module changing: the values its closure holds and its defaults, and, for a function not
  defined in an installed library or in hlstudy (a notebook's own formatter), its bytecode,
  constants and the current value of every global name it or the code nested in it
  (comprehensions, inner functions) may read; a class defined outside the libraries by its
  bases and every member; a user's own module by its source file and every attribute it
  holds; and matplotlib's callback registries with every callback connected from outside
  the libraries (a draw-event callback may change what is drawn).  One thing besides the
  state still shows in the stream: pickle writes an object seen twice as a reference, so
  whether two equal strings are one object or two (which depends on what the process did
  before, e.g. interned while reading another figure) changes the stream.  Such a figure
  gets another key and is drawn once more: a miss, never a wrong hit.
  A figure returned by a ``kept(figure=True)`` call (:mod:`hlstudy._resultcache`) and not
  changed since is named by that call's key instead (:func:`hlstudy._resultcache.kept_origin`):
  a read-back figure's stream also depends on which equal strings the process interned
  before reading it;
* **the code that draws it**: the SHA-256 of every ``.py`` file of hlstudy
  (:func:`hlstudy._codekey.package_digest`; no key at all when a file changed after the process read hlstudy's code,
  since the code running may then not be the code on disk) and the name and version of
  every installed distribution (matplotlib, Pillow, fontTools, numpy ...) and Python's;
* **the drawing environment**: every rcParam, the fonts matplotlib knows (file, size,
  modification time) and the zlib version; the caller adds its own arguments (formats,
  resolution, the simulated mark, the language).

A figure that cannot be serialised (an object pickle refuses) has no key: it is drawn as
always.  ``tests/test_figure_cache.py`` checks that the key is the same in another process
(another ``PYTHONHASHSEED``) and changes with each of these parts.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
import sysconfig
import types
from collections.abc import Callable
from pathlib import Path

from hlstudy._codekey import distributions, package_digest


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return tuple(sorted(os.path.realpath(r) + os.sep for r in roots))


_ROOTS: tuple[str, ...] | None = None
#: module file -> inside a library root (its real path, resolved once per file and process:
#: a figure's state names the same few dozen modules thousands of times)
_LIBRARY_FILES: dict[str, bool] = {}


def _from_library(module_name: str | None) -> bool:
    """True when ``module_name`` is hlstudy's or an installed library's (its code is in the key
    through :func:`hlstudy._codekey.package_digest` or
    :func:`hlstudy._codekey.distributions`)."""
    global _ROOTS
    if not module_name:
        return False
    root = module_name.split(".", 1)[0]
    if root == "__main__":
        return False   # a script's or a notebook's own code
    if root == "hlstudy" or root in sys.builtin_module_names:
        return True
    module = sys.modules.get(module_name) or sys.modules.get(root)
    path = getattr(module, "__file__", None)
    if not path:
        return False
    found = _LIBRARY_FILES.get(path)
    if found is None:
        if _ROOTS is None:
            _ROOTS = _library_roots()
        found = _LIBRARY_FILES[path] = os.path.realpath(path).startswith(_ROOTS)
    return found


def _code_state(code: types.CodeType) -> tuple:
    consts = tuple(_code_state(c) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return (code.co_qualname if hasattr(code, "co_qualname") else code.co_name, code.co_code,
            consts, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars,
            code.co_argcount, code.co_kwonlyargcount, code.co_flags)


class _Unset:
    """An empty closure cell."""


def _names_read(code: types.CodeType) -> set[str]:
    """The global names ``code`` and the code nested in it (comprehensions, generator
    expressions, inner functions and lambdas) may read."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_read(const)
    return names


def _function_state(fn: types.FunctionType) -> tuple:
    cells = tuple(_cell(c) for c in (fn.__closure__ or ()))
    state = [fn.__module__, fn.__qualname__, fn.__defaults__, fn.__kwdefaults__, cells]
    if not _from_library(fn.__module__):
        names = sorted(_names_read(fn.__code__))
        state += [_code_state(fn.__code__),
                  tuple((n, fn.__globals__[n]) for n in names if n in fn.__globals__)]
    return tuple(state)


def _cell(cell) -> object:
    try:
        return cell.cell_contents
    except ValueError:
        return _Unset


_STRUCTURAL = (types.GetSetDescriptorType, types.MemberDescriptorType, types.WrapperDescriptorType,
               types.MethodDescriptorType, types.BuiltinFunctionType)


def _class_state(cls: type) -> tuple:
    """A class not defined in a library: its bases and every member (methods by their code,
    data by value); the descriptors Python makes for every class are left out."""
    members = []
    for name, value in sorted(vars(cls).items()):
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        if isinstance(value, property):
            value = (value.fget, value.fset, value.fdel)
        if isinstance(value, _STRUCTURAL) or name in ("__dict__", "__weakref__"):
            continue
        members.append((name, value))
    return (cls.__module__, cls.__qualname__, tuple(b for b in cls.__bases__), tuple(members))


def _module_state(module: types.ModuleType) -> tuple:
    """A module: its name; for a module that is neither hlstudy's nor an installed library's
    (a helper module of the user's), also its source file's bytes and every attribute it
    holds now (a value may have been set after import)."""
    if _from_library(module.__name__):
        return (module.__name__,)
    path = getattr(module, "__file__", None)
    try:
        source = hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None
    except OSError:
        source = None
    members = tuple((k, v) for k, v in sorted(vars(module).items())
                    if not (k.startswith("__") and k.endswith("__")))
    return (module.__name__, source, members)


def _callbacks_state(registry) -> tuple:
    """A matplotlib ``CallbackRegistry`` with every callback connected by code outside the
    libraries (a notebook's draw-event callback may change what is drawn).  Its own pickling
    keeps only the callbacks marked for pickling; the libraries' own (pyplot's interactive
    handlers, which hold the figure manager and its number; matplotlib's wiring of shared
    axes and colour bars) follow from the figure's state and their versions."""
    signals = []
    for signal in sorted(registry.callbacks, key=repr):
        found = [ref() for ref in registry.callbacks[signal].values()]
        own = [f for f in found if f is not None and not _from_library(
            getattr(getattr(f, "__func__", f), "__module__", None))]
        if own:
            signals.append((signal, own))
    return (tuple(signals),)


def _dtype_state(dtype) -> object:
    """A dtype by what it is, without the properties pandas memoises on it (``_cache``):
    a categorical one by its categories and order, any other by its full ``repr``
    (unit, time zone, storage, missing-value marker)."""
    categories = getattr(dtype, "categories", None)
    if categories is not None:
        return ("category", _index_state(categories), bool(dtype.ordered))
    return (type(dtype).__module__, type(dtype).__qualname__, repr(dtype))


def _values_state(values) -> tuple:
    """A pandas column's dtype and values as a NumPy array (its content, not its layout)."""
    import numpy as np

    return (_dtype_state(values.dtype), np.asarray(values))


def _columns_state(frame) -> list[tuple]:
    """:func:`_values_state` of each column of ``frame``, in order; read from its blocks (a
    view per column) where pandas has them, else column by column."""
    import numpy as np

    try:
        found: list = [None] * frame.shape[1]
        for block in frame._mgr.blocks:
            values = block.values
            for j, loc in enumerate(block.mgr_locs.as_array):
                found[loc] = (_dtype_state(block.dtype),
                              np.asarray(values[j] if values.ndim == 2 else values))
        if all(f is not None for f in found):
            return found
    except (AttributeError, TypeError, IndexError):   # another pandas: the public route
        pass
    return [_values_state(frame.iloc[:, i]) for i in range(frame.shape[1])]


def _index_state(index) -> tuple:
    import numpy as np

    return (type(index).__name__, list(index.names), _dtype_state(index.dtype), np.asarray(index))


def _tag(kind: str):
    """A named callable for a reduction (never called: the stream is hashed, not loaded)."""

    def tag(*args):   # pragma: no cover - never called
        raise TypeError("a figure key's stream is not meant to be loaded")

    tag.__qualname__ = tag.__name__ = f"_key_{kind}"
    globals()[tag.__name__] = tag   # so that pickle finds it by module and name
    return tag


_TAGS = {k: _tag(k) for k in ("function", "class", "module", "set", "transform", "figure",
                               "callbacks", "frame", "array")}


#: How :class:`_KeyPickler` writes an object, by its type (whether pandas was imported when
#: the pickler was made -> ``type(obj)`` -> reduction, or None for pickle's own way): the
#: choice depends on the type alone, and a figure's state has tens of thousands of objects of
#: a few dozen types, so the chain of type tests runs once per type instead of once per object.
_DISPATCH: dict[bool, dict[type, Callable | None]] = {False: {}, True: {}}


class _KeyPickler(pickle.Pickler):
    """A pickler whose stream depends on an object's state only (not on ``id()``s, hash seeds,
    pyplot's figure numbering); see the module's docstring."""

    def __init__(self, file, protocol=None):
        super().__init__(file, protocol=protocol)
        from matplotlib.cbook import CallbackRegistry
        from matplotlib.figure import Figure
        from matplotlib.transforms import TransformNode

        self._figure, self._transform, self._callbacks = Figure, TransformNode, CallbackRegistry
        pandas = sys.modules.get("pandas")
        self._frame, self._series, self._index, self._dtype, self._array = (
            (pandas.DataFrame, pandas.Series, pandas.Index, pandas.api.extensions.ExtensionDtype,
             pandas.api.extensions.ExtensionArray) if pandas is not None else ((), (), (), (), ()))
        self._ndarray = getattr(sys.modules.get("numpy"), "ndarray", ())
        self._dispatch = _DISPATCH[pandas is not None]

    def _reduction(self, kind: type) -> Callable | None:
        """The reduction of an object of type ``kind``: the first that applies, in this order."""
        own = _KeyPickler
        if kind is types.FunctionType:
            return own._reduce_function
        if kind is types.ModuleType:
            return own._reduce_module
        if issubclass(kind, type):
            return own._reduce_class
        if kind is set or kind is frozenset:
            return own._reduce_set
        if kind is self._ndarray:
            return own._reduce_ndarray
        if issubclass(kind, self._transform) and kind.__getstate__ is self._transform.__getstate__:
            return own._reduce_transform_node
        for bases, reduction in ((self._transform, own._reduce_transform),
                                 (self._callbacks, own._reduce_callbacks),
                                 (self._frame, own._reduce_frame), (self._series, own._reduce_series),
                                 (self._index, own._reduce_index), (self._array, own._reduce_array),
                                 (self._dtype, own._reduce_dtype), (self._figure, own._reduce_figure)):
            if issubclass(kind, bases):
                return reduction
        return None

    def reducer_override(self, obj):
        kind = type(obj)
        try:
            reduction = self._dispatch[kind]
        except KeyError:
            reduction = self._dispatch[kind] = self._reduction(kind)
        if reduction is None:
            return NotImplemented
        return reduction(obj)

    @staticmethod
    def _reduce_function(obj):
        if obj.__module__ == __name__ and obj.__name__.startswith("_key_"):
            return NotImplemented   # a tag itself: by reference
        return (_TAGS["function"], _function_state(obj))

    @staticmethod
    def _reduce_module(obj):
        return (_TAGS["module"], _module_state(obj))

    @staticmethod
    def _reduce_class(obj):
        if _from_library(obj.__module__):
            return NotImplemented   # by reference: module and name
        return (_TAGS["class"], _class_state(obj))

    @staticmethod
    def _reduce_set(obj):
        return (_TAGS["set"], (type(obj).__name__, tuple(sorted(obj, key=repr))))

    @staticmethod
    def _reduce_ndarray(obj):
        """A NumPy array (not a subclass) by its dtype, shape and bytes in C order: a figure
        holds thousands of small arrays, and NumPy's own reduction costs a third of the key."""
        if obj.dtype.hasobject:
            return NotImplemented   # its items are written one by one, each by this pickler
        return (_TAGS["array"], (obj.dtype, obj.shape, obj.tobytes()))

    @staticmethod
    def _reduce_transform(obj):
        state = dict(obj.__getstate__())
        state["_parents"] = list(state.get("_parents", {}).values())
        return (_TAGS["transform"], (type(obj),), state)

    @staticmethod
    def _reduce_transform_node(obj):
        """:meth:`_reduce_transform` of a transform whose ``__getstate__`` is matplotlib's
        ``TransformNode.__getstate__`` (``{**__dict__, "_parents": {key: ref() ...}}``), in one
        step: the same state, without building the parents' dict only to list its values (a
        figure has some 800 transforms)."""
        return (_TAGS["transform"], (type(obj),),
                {**obj.__dict__, "_parents": [ref() for ref in obj._parents.values()]})

    @staticmethod
    def _reduce_callbacks(obj):
        return (_TAGS["callbacks"], _callbacks_state(obj))

    # pandas objects by content: pandas changes their own pickle without changing their
    # content (blocks consolidated in place, properties memoised in an array's ``_cache``)
    @staticmethod
    def _reduce_frame(obj):
        columns = _columns_state(obj)
        return (_TAGS["frame"], (type(obj), _index_state(obj.columns), _index_state(obj.index),
                                 columns, dict(obj.attrs), obj.flags.allows_duplicate_labels))

    @staticmethod
    def _reduce_series(obj):
        return (_TAGS["frame"], (type(obj), obj.name, _index_state(obj.index), _values_state(obj),
                                 dict(obj.attrs), obj.flags.allows_duplicate_labels))

    @staticmethod
    def _reduce_index(obj):
        return (_TAGS["frame"], (type(obj), _index_state(obj)))

    @staticmethod
    def _reduce_array(obj):
        return (_TAGS["frame"], (type(obj), _values_state(obj)))

    @staticmethod
    def _reduce_dtype(obj):
        return (_TAGS["frame"], (type(obj), _dtype_state(obj)))

    @staticmethod
    def _reduce_figure(obj):
        state = dict(obj.__getstate__())
        for volatile in ("_number", "_restore_to_pylab"):   # pyplot's bookkeeping
            state.pop(volatile, None)
        return (_TAGS["figure"], (type(obj),), state)


def state_bytes(obj) -> bytes | None:
    """``obj`` serialised by :class:`_KeyPickler`; None when something in it cannot be."""
    buffer = io.BytesIO()
    try:
        _KeyPickler(buffer, protocol=5).dump(obj)
    except Exception:   # noqa: BLE001 - an unpicklable part (a lock, a generator...): no key
        return None
    return buffer.getvalue()


def _fonts() -> list:
    from matplotlib import font_manager

    found = []
    for entry in font_manager.fontManager.ttflist:
        try:
            st = os.stat(entry.fname)
            found.append((entry.fname, entry.name, entry.style, entry.weight, st.st_size, st.st_mtime_ns))
        except OSError:
            found.append((entry.fname, None))
    return found


def figure_key(fig, *extra) -> str | None:
    """SHA-256 (hex) of ``fig``'s state, the drawing code and environment, and ``extra``.

    Returns None when the figure cannot be serialised or hlstudy's source changed after the
    process read it (:func:`hlstudy._codekey.package_digest`).  ``extra`` (the caller's arguments) goes in
    through ``repr``.
    """
    import matplotlib
    from PIL import features

    code = package_digest()
    if code is None:
        return None
    state = state_bytes(fig)
    if state is None:
        return None
    from hlstudy._resultcache import kept_origin

    origin = kept_origin(fig, state)
    if origin is not None:   # returned by a kept call and unchanged since: named by that call
        state = b"kept-call " + origin.encode()
    digest = hashlib.sha256()
    parts = (b"hlstudy-figure-1", state, code, distributions(),
             repr(sorted((k, repr(v)) for k, v in matplotlib.rcParams.items())),
             repr(_fonts()), repr(features.version("zlib")), repr(extra))
    for part in parts:
        data = part if isinstance(part, bytes) else part.encode("utf-8")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()
