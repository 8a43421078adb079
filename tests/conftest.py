"""Shared test configuration: headless plotting, Vietnamese labels, no progress bars.

Also orders the collection so that the notebook tests (the longest, one kernel each) start
first, longest notebook first, when ``make.py test`` spreads the suite over workers
(``pytest -n auto --dist loadgroup``); the order is the same in every worker, as xdist
requires.
"""

import os

# Single-threaded BLAS (set before numpy loads): faster for small matrices on 2 cores.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ["HLSTUDY_PROGRESS"] = "0"
os.environ.pop("HLSTUDY_DATA", None)
os.environ.pop("HLSTUDY_LANG", None)


def pytest_configure(config):
    # registered here too, so that a run without pytest-xdist does not warn about it
    config.addinivalue_line("markers", "xdist_group(name): run these tests on one xdist worker")


def pytest_collection_modifyitems(session, config, items):
    """Notebook groups first, longest (recorded wall time, else script size) first."""
    grouped = [item for item in items if item.get_closest_marker("xdist_group")]
    if not grouped:
        return
    from hlstudy import runner

    order = {p.stem[:2]: i for i, p in enumerate(runner.longest_first(runner.sources()))}

    def key(item):
        name = item.get_closest_marker("xdist_group").args[0]
        return (order.get(name.rsplit("-", 1)[-1], len(order)), name)

    rank = {id(item): i for i, item in enumerate(items)}
    grouped.sort(key=lambda item: (*key(item), rank[id(item)]))
    others = [item for item in items if not item.get_closest_marker("xdist_group")]
    items[:] = grouped + others
