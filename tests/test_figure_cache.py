"""The figure cache of ``save_figure(show=True)`` (issue 15): the kept files are the drawn
files, and the key changes with everything the files depend on."""

import json
import os
import subprocess
import sys
import threading
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from hlstudy import _codekey, _figurekey, export  # noqa: E402
from hlstudy.paths import ROOT  # noqa: E402

FIGURE = '''
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter
from hlstudy import export


def figure(values=(1, 4, 9), title="Chất lượng", decimal=","):
    export.use_style()
    fig, ax = plt.subplots(figsize=(1.5, 1))   # small: nothing here depends on the size
    ax.plot([1, 2, 3], list(values), label="đường")
    ax.bar([1, 2], [2, 3], alpha=0.3)
    ax.legend()
    ax.set_title(title)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.1f}".replace(".", decimal)))
    return fig
'''
_NS: dict = {"__name__": "__main__"}   # as in the script below
exec(compile(FIGURE, "figure_probe", "exec"), _NS)
_figure = _NS["figure"]


@pytest.fixture(autouse=True)
def settled_source(monkeypatch):
    """hlstudy's source as if unchanged since this process read it (a file edited while the
    tests run would otherwise switch the cache off); the source test below uses the real one."""
    monkeypatch.setattr(_figurekey, "package_digest", lambda: "settled-source")


def _key(fig, *extra):
    key = _figurekey.figure_key(fig, *extra)
    plt.close(fig)
    assert key is not None
    return key


#: The house rcParams (``export.style_rc``) on matplotlib's defaults, without seaborn's theme,
#: in both processes of the test below: importing seaborn costs the other process a second of
#: CPU (scipy.stats), and its theme only sets more rcParams (strings, numbers, lists), which
#: enter the figure's state as the house values do.
HOUSE_RC = '''
import matplotlib


def house_rc():
    matplotlib.rcdefaults()
    matplotlib.rcParams.update(export.style_rc())


export.use_style = house_rc
'''


def test_figure_state_is_the_same_in_another_process_whatever_the_figure_numbers():
    # two fresh processes with other hash seeds (sets, dicts of strings) and other pyplot
    # figure numbers; the state, not the whole key, so that rcParams and libraries do not
    # enter.  Both are fresh: in a process that has read a figure back from a pickle (the
    # tests reading kept figures, tests/keptresults.py), the state of a figure drawn later
    # may differ in which equal strings are one object (a dict's keys shared with an object
    # read back), which changes the stream, not the state, and costs a miss, never a wrong
    # hit (hlstudy._figurekey); a kernel repeats its history exactly (PYTHONHASHSEED=0).
    def state_in_a_new_process(seed: str, figures_before: int) -> str:
        script = FIGURE + HOUSE_RC + (
            "import hashlib\n"
            "from hlstudy import _figurekey\n"
            f"for _ in range({figures_before}):\n"
            "    plt.figure()\n"
            "print(hashlib.sha256(_figurekey.state_bytes(figure())).hexdigest())\n")
        run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True,
                             text=True, timeout=120,
                             env={**os.environ, "MPLBACKEND": "Agg", "PYTHONHASHSEED": seed})
        assert run.returncode == 0, run.stderr
        return run.stdout.strip()

    first, second = state_in_a_new_process("1", 3), state_in_a_new_process("2", 0)
    assert len(first) == 64 and first == second


def test_key_changes_with_what_the_files_depend_on(tmp_path, monkeypatch):
    base = _key(_figure(), "pdf")
    assert _key(_figure(), "pdf") == base, "the same figure, built again"
    variants = {
        "a data value": _key(_figure(values=(1, 4, 10)), "pdf"),
        "a text": _key(_figure(title="Chất lượng cao"), "pdf"),
        "a value a formatter's closure holds": _key(_figure(decimal="."), "pdf"),
        "the caller's arguments": _key(_figure(), "png"),
    }
    fig = _figure()
    with matplotlib.rc_context({"savefig.pad_inches": 0.3}):   # read when the file is written
        variants["an rcParam at saving"] = _key(fig, "pdf")
    fig = _figure()
    fig.axes[0].lines[0].set_color("#123456")
    variants["a colour set after plotting"] = _key(fig, "pdf")
    for what, key in variants.items():
        assert key != base, f"the key does not change with {what}"
    assert len(set(variants.values())) == len(variants)


def _notebook_formatter(body: str, scale: float):
    namespace = {"__name__": "__main__", "SCALE": scale}   # as a notebook's own function
    exec(f"def fmt(v, _p):\n    return {body}\n", namespace)
    fig = _figure()
    fig.axes[0].yaxis.set_major_formatter(FuncFormatter(namespace["fmt"]))
    return _key(fig)


def test_a_notebooks_own_function_counts_by_its_code_and_the_globals_it_reads():
    base = _notebook_formatter("f'{v * SCALE:.1f}'", 1.0)
    assert _notebook_formatter("f'{v * SCALE:.1f}'", 1.0) == base
    assert _notebook_formatter("f'{v * SCALE:.2f}'", 1.0) != base, "its body"
    assert _notebook_formatter("f'{v * SCALE:.1f}'", 2.0) != base, "a global it reads"


def _keyed_with(code: str, namespace: dict, hook: str = "formatter") -> str:
    """The key of the probe figure whose y formatter (or draw-event callback) is ``fmt`` of
    ``code``, run in ``namespace`` as a notebook's cell."""
    namespace = {"__name__": "__main__", **namespace}
    exec(code, namespace)
    fig = _figure()
    if hook == "formatter":
        fig.axes[0].yaxis.set_major_formatter(FuncFormatter(namespace["fmt"]))
    else:
        fig.canvas.mpl_connect("draw_event", namespace["fmt"])
    return _key(fig)


def test_what_a_notebook_function_reads_indirectly_is_in_the_key():
    import types

    cases = {
        "a global read in a comprehension":
            ("def fmt(v, _p):\n    return ''.join([SUFFIX for _ in (0,)])\n", "SUFFIX", " QQ", " ZZ"),
        "a global read in an inner function":
            ("def fmt(v, _p):\n    def inner():\n        return SUFFIX\n    return inner()\n",
             "SUFFIX", " QQ", " ZZ"),
        "a class attribute":
            ("class Labels:\n    WORDS = {'a': WORD}\n"
             "    def __call__(self, v, _p):\n        return self.WORDS['a']\n"
             "fmt = Labels()\n", "WORD", "một", "hai"),
    }
    for what, (code, name, before, after) in cases.items():
        key = _keyed_with(code, {name: before})
        assert _keyed_with(code, {name: before}) == key, what
        assert _keyed_with(code, {name: after}) != key, what
    # an attribute of the user's own helper module, set after import
    helper = types.ModuleType("probe_settings")
    code = "def fmt(v, _p):\n    return probe_settings.SUFFIX\n"
    helper.SUFFIX = "AAA"
    first = _keyed_with(code, {"probe_settings": helper})
    helper.SUFFIX = "BBB"
    assert _keyed_with(code, {"probe_settings": helper}) != first, "a helper module's attribute"
    # a draw-event callback, which may change the figure as it is drawn
    plain = _key(_figure())
    hooked = _keyed_with("def fmt(event):\n    event.canvas.figure.suptitle('x')\n", {}, hook="draw")
    other = _keyed_with("def fmt(event):\n    event.canvas.figure.suptitle('y')\n", {}, hook="draw")
    assert len({plain, hooked, other}) == 3, "a draw-event callback and its code"


def test_package_source_is_in_the_key_and_a_newer_file_switches_the_cache_off(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    module = package / "plots.py"
    module.write_text("X = 1\n", encoding="utf-8")
    past = time.time() - 3600
    os.utime(module, (past, past))
    monkeypatch.setattr(_codekey, "PACKAGE", package)
    monkeypatch.setattr(_figurekey, "package_digest", _codekey.package_digest)
    first = _key(_figure())
    module.write_text("X = 2\n", encoding="utf-8")
    os.utime(module, (past, past))
    assert _key(_figure()) != first, "a changed source file changes the key"
    os.utime(module, None)   # modified now, after this process read the package: the code may differ
    assert _codekey.package_digest() is None
    fig = _figure()
    assert _figurekey.figure_key(fig) is None
    plt.close(fig)


def test_arrays_count_by_dtype_shape_and_values_and_object_arrays_by_their_items():
    import numpy as np

    state = _figurekey.state_bytes
    values = np.arange(6, dtype=float).reshape(2, 3)
    # the layout is not content: a copy, a Fortran-ordered copy, a view of the same numbers
    assert state(values) == state(values.copy()) == state(np.asfortranarray(values))
    assert state(values[:, ::2]) == state(np.ascontiguousarray(values[:, ::2]))
    negative_zero = values.copy()
    negative_zero[0, 0] = -0.0
    changed = [values.reshape(3, 2), values.astype(np.float32), values.astype(">f8"),
               values.view(np.int64), negative_zero, np.zeros((2, 3, 0)), np.zeros((3, 0))]
    assert len({state(values), *map(state, changed)}) == 1 + len(changed)
    # an object array's items go through the key's own pickler (a notebook's function by its code)
    one, same, two = ({"__name__": "__main__"} for _ in range(3))
    for namespace, step in ((one, 1), (same, 1), (two, 2)):
        exec(f"def f(v):\n    return v + {step}\n", namespace)
    items = [np.array([namespace["f"], float(f"1.{k}")], dtype=object)
             for namespace, k in ((one, 5), (same, 5), (two, 5), (one, 6))]
    assert state(items[0]) == state(items[1]), "other objects of the same content"
    assert len({state(items[0]), state(items[2]), state(items[3])}) == 3


def test_transforms_written_in_one_step_give_the_state_of_their_getstate(monkeypatch):
    from matplotlib.transforms import Affine2D, BboxTransformTo, CompositeGenericTransform

    fig = _figure()
    quick = _figurekey.state_bytes(fig)
    dispatch = _figurekey._DISPATCH[True]
    for kind in (Affine2D, BboxTransformTo, CompositeGenericTransform):   # the one-step route
        assert dispatch[kind] is _figurekey._KeyPickler._reduce_transform_node, kind
    # every transform through matplotlib's __getstate__ instead: the same stream
    monkeypatch.setattr(_figurekey._KeyPickler, "_reduce_transform_node",
                        staticmethod(_figurekey._KeyPickler._reduce_transform))
    monkeypatch.setattr(_figurekey, "_DISPATCH", {False: {}, True: {}})
    assert _figurekey.state_bytes(fig) == quick
    plt.close(fig)


def test_a_figure_pickle_refuses_has_no_key():
    fig = _figure()
    fig.axes[0]._probe_lock = threading.Lock()
    assert _figurekey.state_bytes(fig) is None and _figurekey.figure_key(fig) is None
    plt.close(fig)


@pytest.fixture
def kept(tmp_path, monkeypatch):
    """The figure cache in a temporary folder; the other export caches off; previews recorded."""
    folder = tmp_path / "figures-cache"
    monkeypatch.setattr(export, "_cache_dir", lambda name: folder if name == "figures" else None)
    log = tmp_path / "export-log.jsonl"
    monkeypatch.setenv("HLSTUDY_EXPORT_LOG", str(log))
    shown = []
    monkeypatch.setattr(export, "_show_preview", lambda fig, png: (shown.append(png), plt.close(fig)))
    return folder, shown, log


def _save(fig, directory, *, show=True, formats=None):
    paths = export.save_figure(fig, "99_kept", simulated=True, directory=directory, show=show,
                               formats=formats)
    return {fmt: path.read_bytes() for fmt, path in paths.items()}


def _fresh(tmp_path, monkeypatch, name, **figure):
    with monkeypatch.context() as m:
        m.setattr(export, "_cache_dir", lambda name: None)
        shown = []
        m.setattr(export, "_show_preview", lambda fig, png: (shown.append(png), plt.close(fig)))
        files = _save(_figure(**figure), tmp_path / name)
    return files, shown[0]


@pytest.fixture(scope="module")
def fresh_default(tmp_path_factory):
    """The probe figure saved without any cache (files, preview, its export-log entry): the
    reference of the tests below, drawn once for them (the same save every time)."""
    folder = tmp_path_factory.mktemp("fresh-default")
    with pytest.MonkeyPatch.context() as m:
        m.setenv("HLSTUDY_EXPORT_LOG", str(folder / "export-log.jsonl"))
        files, preview = _fresh(folder, m, "fresh")
    (entry,) = (json.loads(line) for line in
                (folder / "export-log.jsonl").read_text(encoding="utf-8").splitlines())
    return files, preview, entry


def test_kept_files_are_the_drawn_files_and_are_not_drawn_again(kept, fresh_default, tmp_path,
                                                                 monkeypatch):
    folder, shown, log = kept
    fresh, fresh_preview, fresh_entry = fresh_default
    assert sorted(fresh) == ["pdf", "png"]
    first = _save(_figure(), tmp_path / "first")
    assert first == fresh and shown == [fresh_preview]
    assert len(list(folder.iterdir())) == 1

    def drawn(*args, **kwargs):
        raise AssertionError("a kept figure was drawn again")

    with monkeypatch.context() as m:
        m.setattr(Figure, "savefig", drawn)
        m.setattr(export, "_mark_simulated", drawn)
        fig = _figure()
        again = _save(fig, tmp_path / "again")
        assert not plt.fignum_exists(fig.number), "closed, as after drawing"
    assert again == fresh and shown[-1] == fresh_preview
    entries = [fresh_entry] + [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert [e["stem"] for e in entries] == ["99_kept"] * 3, "listed in the figure index every time"
    assert entries[0] == entries[1] == entries[2]
    # a changed figure is drawn (and kept apart); its files are its own
    changed = _save(_figure(values=(1, 4, 10)), tmp_path / "changed")
    assert changed != fresh and changed == _fresh(tmp_path, monkeypatch, "changed-fresh", values=(1, 4, 10))[0]
    assert len(list(folder.iterdir())) == 2


def test_a_damaged_kept_figure_is_drawn_again(kept, fresh_default, tmp_path, monkeypatch):
    folder, shown, _log = kept
    fresh, fresh_preview, _entry = fresh_default
    _save(_figure(), tmp_path / "first")
    (entry,) = folder.iterdir()
    damaged = bytearray(entry.read_bytes())
    damaged[-10] ^= 0xFF
    entry.write_bytes(bytes(damaged))
    calls = []
    savefig = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (calls.append(1), savefig(self, *a, **k))[1])
    assert _save(_figure(), tmp_path / "again") == fresh and shown[-1] == fresh_preview
    assert calls, "drawn again"
    assert entry.read_bytes() != bytes(damaged), "and kept again"


def test_figures_left_open_are_always_drawn_and_marked(kept, tmp_path, monkeypatch):
    folder, _shown, _log = kept
    calls = []
    savefig = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda self, *a, **k: (calls.append(1), savefig(self, *a, **k))[1])
    for name in ("a", "b"):
        fig = _figure()
        _save(fig, tmp_path / name, show=False, formats=("png",))
        assert getattr(fig, "_hlstudy_simulated_mark", False), "marked, as the caller may look at it"
        plt.close(fig)
    assert len(calls) == 2 and not folder.exists()


def test_an_unkeyable_figure_is_drawn_as_always(kept, fresh_default, tmp_path):
    folder, _shown, _log = kept
    fresh, _preview, _entry = fresh_default
    fig = _figure()
    fig.axes[0]._probe_lock = threading.Lock()
    assert _save(fig, tmp_path / "locked") == fresh
    assert not folder.exists()


def test_packed_parts_read_back_and_damage_is_refused():
    parts = {"pdf": b"%PDF", "png": b"\x89PNG", "preview": b""}
    packed = export._pack(parts)
    assert export._unpack(packed, ["pdf", "png", "preview"]) == parts
    assert export._unpack(packed, ["svg"]) is None, "a missing part"
    assert export._unpack(None, ["pdf"]) is None
    assert export._unpack(packed[:-1], ["pdf"]) is None, "a cut part"
    assert export._unpack(packed[:12], ["pdf"]) is None


def test_the_installed_libraries_are_named_with_their_versions():
    import numpy
    import PIL

    listed = _codekey.distributions()
    for name, version in (("matplotlib", matplotlib.__version__), ("numpy", numpy.__version__),
                          ("pillow", PIL.__version__)):
        assert f"{name}-{version}.dist-info" in listed.lower(), name
    assert sys.version in listed


def test_files_under_lists_what_sorted_rglob_lists(tmp_path):
    # the walk behind the source digest and the result cache's folder digests, against the
    # pathlib route it replaced: the same files in the same order (names that sort differently
    # as strings and as path parts, a skipped folder, a linked folder not entered, a linked file)
    root = tmp_path / "pkg"
    for name in ("a-b.py", "a/b.py", "a/c/d.py", "a.py", "Z.py", "__pycache__/x.py", "a/__pycache__/y.py",
                 "a/notes.txt", ".hidden/e.py"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(name, encoding="utf-8")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "f.py").write_text("f", encoding="utf-8")
    (root / "linked").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    (root / "alias.py").symlink_to(root / "a.py")

    def former(suffix, skip):
        return [(p.relative_to(root).as_posix(), str(p)) for p in sorted(root.rglob(f"*{suffix}"))
                if p.is_file() and not skip & set(p.relative_to(root).parts)]

    for suffix, skip in ((".py", frozenset({"__pycache__"})), ("", frozenset())):
        assert _codekey.files_under(root, suffix, skip) == former(suffix, skip)
    assert [r for r, _p in _codekey.files_under(root, ".py", frozenset({"__pycache__"}))] == [
        ".hidden/e.py", "Z.py", "a/b.py", "a/c/d.py", "a-b.py", "a.py", "alias.py"]


def test_the_code_is_read_from_the_package_import_and_a_forked_child_keeps_that_moment():
    import hlstudy

    first = _codekey.code_read_from()
    assert first == hlstudy._CODE_READ_FROM <= time.time()
    # a forked child (multiprocessing's default on Linux, the kernels' fork server) runs the
    # modules it inherited: their code was read when the parent read it
    read, write = os.pipe()
    time.sleep(0.05)
    pid = os.fork()
    if pid == 0:   # pragma: no cover - the child
        try:
            os.write(write, json.dumps(_codekey.code_read_from()).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        child = json.loads(fh.read())
    os.waitpid(pid, 0)
    assert child == first


def test_sources_written_just_before_the_process_are_keyed(tmp_path):
    """A checkout made a moment before a run (a fresh clone tested at once, a benchmark's
    worktree, ``git switch`` then ``make.py test``) gives a digest in a process that imports
    hlstudy 0.2 s later; the old rule (the process's start from /proc, whole seconds, minus
    2 s) gave none for ~3 s, and the runs' code keys were switched off."""
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "a.py").write_text("A = 1\n", encoding="utf-8")
    probe = ("import sys, time\nfrom pathlib import Path\ntime.sleep(0.2)\n"
             "from hlstudy import _codekey\nprint(_codekey.package_digest(Path(sys.argv[1])))")
    env = {**os.environ, "PYTHONPATH": str(_codekey.PACKAGE.parent)}
    out = subprocess.run([sys.executable, "-c", probe, str(package)], env=env, capture_output=True,
                         text=True, check=True).stdout.split()
    assert len(out[-1]) == 64, out


def test_a_source_written_after_the_code_was_read_gives_no_digest_on_fine_or_coarse_timestamps(
        tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    module = package / "a.py"
    module.write_text("A = 1\n", encoding="utf-8")
    read_from = 1_000_000_000.25
    monkeypatch.setattr(_codekey, "code_read_from", lambda: read_from)

    def stamped(ns):
        os.utime(module, ns=(ns, ns))
        return _codekey.package_digest(package)

    second = 1_000_000_000 * 1_000_000_000
    # sub-second times kept: a write a few ticks before the code was read is the code read,
    # one within a tick of it or after it is not
    assert stamped(second + 100_000_000) is not None          # 0.15 s before
    assert stamped(second + 240_000_000) is None               # 0.01 s before: within a tick
    assert stamped(second + 300_000_000) is None               # after
    # whole seconds only (FAT, some network file systems): the same second may be a later write
    assert stamped(second) is None
    assert stamped(second - 3 * 1_000_000_000) is not None
    assert _codekey.written_after_reading([]) is False
