"""A figure read back from the result cache draws as the figure it was (issue 15's cold runs).

A matplotlib transform invalidates its parents (the transforms and boxes computed from it)
through ``_parents``, keyed by each parent's ``id``.  Unpickling kept the ids of the process
that pickled the figure, so a new transform born at such an address (the computed figure's
own objects are freed right after it is read back) replaced a read-back parent's entry and
left it stale: once in a while a notebook run with empty caches exported other bytes (a PDF's
clip rectangle) than the committed ones.  :func:`hlstudy._resultcache._loads` keys them again.
"""

from __future__ import annotations

import io
import pickle

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.transforms import TransformNode  # noqa: E402

from hlstudy import _figurekey, _resultcache, drivers, pathplot  # noqa: E402


@pytest.fixture
def kept(tmp_path, monkeypatch):
    folder = tmp_path / "results"
    monkeypatch.setattr(_resultcache, "folder", lambda: folder)
    monkeypatch.setattr(_resultcache, "package_digest", lambda: "settled-source")
    monkeypatch.setattr(_figurekey, "package_digest", lambda: "settled-source")
    monkeypatch.setenv("HLSTUDY_RESULT_CACHE", "1")
    monkeypatch.delenv("HLSTUDY_FIT_CACHE", raising=False)
    monkeypatch.delenv("HLSTUDY_EXPORT_CACHE", raising=False)
    yield folder
    plt.close("all")


def _estimates():
    """Notebook 05's model structure with seeded coefficients (clear and unclear paths)."""
    struct = drivers.structure()
    rng = np.random.default_rng(1)
    rows = []
    for effect, causes in struct.items():
        for cause in causes:
            b = rng.normal(0.1, 0.15)
            rows.append({"lhs": effect, "op": "~", "rhs": cause, "std.all": b,
                         "ci.lower": b - 0.12, "ci.upper": b + 0.12})
    return struct, pd.DataFrame(rows)


def _diagram(function):
    struct, est = _estimates()
    return function(est, struct, significant_label="rõ", other_label="khác", negative_label="âm")


def _transforms(fig) -> list[TransformNode]:
    """Every transform and box of ``fig`` (what pickling it visits)."""
    found: dict[int, TransformNode] = {}

    class Finder(pickle.Pickler):
        def persistent_id(self, obj):
            if isinstance(obj, TransformNode):
                found[id(obj)] = obj
            return None

    Finder(io.BytesIO(), protocol=5).dump(fig)
    return list(found.values())


def _stale_links(fig) -> list[str]:
    """Parents registered under another key than their own ``id``, as matplotlib would put
    them (``TransformNode.set_children``): a new parent with that id would take their place."""
    stale = []
    for node in _transforms(fig):
        for key, ref in node._parents.items():
            parent = ref()
            if parent is not None and key != id(parent):
                stale.append(f"{type(parent).__name__} of {type(node).__name__}")
    return stale


def test_read_back_transforms_are_linked_to_their_parents_by_their_ids(kept):
    # notebook 05's diagram, whose PDF once differed by a clip rectangle; which addresses the
    # allocator reuses is not up to a test, so this checks the condition that rules the
    # collision out: every live parent under its own id, as matplotlib links a drawn figure
    fresh = _diagram(pathplot.path_diagram.__wrapped__)
    linked = sum(len(node._parents) for node in _transforms(fresh))
    assert linked > 100 and _stale_links(fresh) == []   # what matplotlib itself builds
    first = _diagram(pathplot.path_diagram)    # computed, kept, returned as read back
    again = _diagram(pathplot.path_diagram)    # read back from the kept file
    assert len(list(kept.iterdir())) == 1
    for fig in (first, again):
        assert _stale_links(fig) == []
        assert sum(len(node._parents) for node in _transforms(fig)) == linked


def test_relinked_parents_are_still_invalidated_and_dropped_when_they_die():
    from matplotlib.transforms import Affine2D, Bbox, TransformedBbox

    child = Affine2D().scale(2.0)
    box = TransformedBbox(Bbox([[0, 0], [1, 1]]), child)
    copy = _resultcache._loads(pickle.dumps(box))
    np.testing.assert_array_equal(copy.get_points(), [[0, 0], [2, 2]])
    copy._transform.scale(3.0)            # the read-back child changes: its parent follows
    np.testing.assert_array_equal(copy.get_points(), [[0, 0], [6, 6]])
    inner = copy._transform
    assert list(inner._parents) == [id(copy)]
    del copy
    assert inner._parents == {}, "a parent that dies leaves its child's map"
