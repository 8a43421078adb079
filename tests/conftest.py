"""Shared test configuration: headless plotting, Vietnamese labels, no progress bars.

Parallel runs (``make.py test``: ``pytest -n auto --dist loadgroup --no-loadscope-reorder``)
are scheduled here:

* every test module is one xdist group, so its module- and session-scoped fixtures (a
  simulated study, a fitted model) are built once, on one worker, not once per worker;
* the tests of the notebooks are one group (``tests/test_notebooks.py``), so they share one
  execution of each notebook and one kernel fork server;
* groups run longest first, by the seconds recorded at the previous run
  (``data/processed/test-seconds.json``, written by the controlling process), so that no
  long group starts last; unrecorded groups go first.

The order is computed the same way in every worker, as xdist requires.

Each process collects with the garbage collector off and then freezes what collection made
(:func:`pytest_collection`), and an xdist worker ends without the interpreter's teardown once
its exit handlers have run (:func:`_leave_now`): CPU that no test needs.
"""

import gc
import json
import os
from pathlib import Path

import pytest

# Single-threaded BLAS (set before numpy loads): faster for small matrices on 2 cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
# One set of OpenBLAS kernels on every x86-64 CPU (hlstudy._blas; make.py sets it too): the
# notebooks' exports and the speed fixtures' digests are compared bit for bit.
from hlstudy import _blas  # noqa: E402  (standard library only: numpy is not loaded by it)

_blas.pin_this_process()

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["HLSTUDY_PROGRESS"] = "0"
os.environ.pop("HLSTUDY_DATA", None)
os.environ.pop("HLSTUDY_LANG", None)

TIMES = Path(__file__).resolve().parent.parent / "data" / "processed" / "test-seconds.json"
#: Committed seconds per group, for a checkout that has no record of its own yet (a clean
#: clone, as CI runs): without them the groups would start in alphabetical order and a long
#: module could start last.  Refresh with ``python3 make.py test`` then
#: ``cp data/processed/test-seconds.json tests/group-seconds.json``.
DEFAULT_TIMES = Path(__file__).resolve().parent / "group-seconds.json"
_durations: dict[str, float] = {}
#: allocations between two collections of the youngest generation once collected (Python: 700)
YOUNG_THRESHOLD = 10_000


def pytest_configure(config):
    # registered here too, so that a run without pytest-xdist does not warn about it
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


def _group(item) -> str:
    mark = item.get_closest_marker("xdist_group")
    if mark is not None and mark.args:
        return str(mark.args[0])
    return "module-" + item.nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")


def _read_seconds(path: Path) -> dict[str, float]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): float(v) for k, v in data.items() if isinstance(v, int | float)}


def _recorded() -> dict[str, float]:
    """This checkout's seconds per group, over the committed defaults."""
    return {**_read_seconds(DEFAULT_TIMES), **_read_seconds(TIMES)}


@pytest.hookimpl(wrapper=True)
def pytest_collection(session):
    """Collect with the garbage collector off, then freeze what collection made.

    Collecting imports numpy, pandas, scipy, matplotlib and hlstudy and every test module:
    ~170,000 objects that live until the process ends.  With the collector on, the imports
    trigger collections that find nothing to free (~0.2 s of CPU per process), and every full
    collection while the tests run walks all of them again (as does each ``gc.collect()`` a
    library calls, e.g. statsmodels' Holm step-down).  Frozen (``gc.freeze``, as the kernel fork
    server does), they are left out of later collections; everything made by the tests is
    collected as before.  The youngest generation is then collected every
    :data:`YOUNG_THRESHOLD` allocations instead of every 700: the tests allocate in bursts
    (fits, figures, data frames) whose objects mostly die young or live long, and each young
    collection finds little to free (the collector's time in a run of test_evidence and
    test_sem 0.30 -> 0.16 s, of test_figure_text, test_pathplot and test_validation
    0.64 -> 0.37 s).  Cycles are still collected, a little later.  A larger threshold saves
    nothing more: in eleven of the longest modules (~40 s of CPU) the collector took 1.1-1.4 s
    at 10,000 and 1.2-1.3 s at 50,000 or 100,000 (generations 1 and 2 at 10 or 20; two runs
    each): fewer collections, each walking more survivors, and pytest's collections at the
    session's end grew.

    What collection made is frozen without a collection first, as the ``gc.freeze``
    documentation does: that collection walked all ~215,000 objects of a worker to free
    ~21,000 (~2 MB, mostly pytest's collection helpers), 0.2 s of CPU per worker (7 % of its
    start-up); frozen, they stay until the process ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return (yield)
    finally:
        gc.freeze()
        gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
        if enabled:
            gc.enable()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    """One group per module (or notebook), longest group first; before xdist reads the groups."""
    seconds = _recorded()
    groups: dict[str, list] = {}
    for item in items:
        name = _group(item)
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(name))
        groups.setdefault(name, []).append(item)
    def weight(name: str) -> float:
        if name in seconds:
            return seconds[name]
        # unknown: start early, the notebooks (the longest group) before modules
        return float("inf") if name == "notebooks" else 1e9

    order = sorted(groups, key=lambda name: (-weight(name), name))
    items[:] = [item for name in order for item in groups[name]]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """Refuse to run when ``--dist loadgroup`` does not group (pytest-xdist issue 1386).

    Every test here belongs to a group (:func:`pytest_collection_modifyitems`), which xdist
    marks by appending ``@group`` to the node id a worker reports; pytest 9.2 ignores that
    change, and the groups are then scheduled test by test, silently: every notebook would
    execute twice and module fixtures be built once per worker.
    """
    if node.config.getoption("dist", None) != "loadgroup":
        return
    lost = [nodeid for nodeid in ids if "@" not in nodeid.rsplit("]", 1)[-1]]
    if lost:
        import sys

        message = (f"pytest-xdist --dist loadgroup is not grouping tests (e.g. {lost[0]}): this "
                   "pytest and pytest-xdist do not work together (pytest-xdist issue 1386); "
                   "`python3 make.py test` installs the pinned versions (requirements.lock)")
        print(f"\nERROR: {message}", file=sys.stderr, flush=True)
        raise pytest.UsageError(message)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """An xdist worker leaves without tearing its interpreter down (:func:`_leave_now`)."""
    if hasattr(config, "workerinput"):
        import atexit

        atexit.register(_leave_now)   # the last registered: called first, at the worker's exit


def _leave_now():
    """Run every other exit handler, then end the process without the interpreter's teardown.

    A worker has sent its last report when it gets here (the controller is waiting for it to
    end).  What remains is Python freeing every module and object it made: ~0.6 s of CPU per
    worker after a handful of modules (measured from the controller: children's CPU against the
    workers' own at this point), at the end of the run, when the other core may be idle.  The
    exit handlers (e.g. the kernel fork server's stop) still run, in their order, and the
    output streams are flushed; the worker's exit code is not read (its status travels with
    its last report).
    """
    import atexit
    import sys

    atexit.unregister(_leave_now)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(0)


def pytest_runtest_logreport(report):
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):
    """The controlling process records each group's seconds for the next run's order."""
    if hasattr(session.config, "workerinput") or not _durations:
        return
    by_group: dict[str, float] = {}
    for nodeid, duration in _durations.items():
        if "@" in nodeid.rsplit("]", 1)[-1]:
            name = nodeid.rsplit("@", 1)[-1]
        else:
            name = "module-" + nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")
        by_group[name] = by_group.get(name, 0.0) + duration
    merged = {**_recorded(), **{k: round(v, 2) for k, v in by_group.items()}}
    try:
        TIMES.parent.mkdir(parents=True, exist_ok=True)
        TIMES.write_text(json.dumps(dict(sorted(merged.items())), indent=1) + "\n", encoding="utf-8")
    except OSError:
        pass


@pytest.fixture(scope="session", autouse=True)
def _fonts_from_memory():
    """matplotlib reads its fonts from memory in every test process, as in the notebooks
    (``export.use_style``) and whatever a test draws before it saves (hlstudy._fontdata)."""
    from hlstudy import _fontdata

    _fontdata.install()


@pytest.fixture
def reference_copy(tmp_path):
    """A copy of every ``data/reference`` file in ``tmp_path``, for tests that break one."""
    import shutil

    for path in (Path(__file__).resolve().parent.parent / "data" / "reference").glob("*.csv"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path
