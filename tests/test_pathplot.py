"""hlstudy.pathplot: coefficient plot and estimated path diagram."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hlstudy import drivers, pathplot  # noqa: E402
from hlstudy.errors import ModelError  # noqa: E402


def _estimates(seed=1, width=0.12):
    st = drivers.structure()
    rng = np.random.default_rng(seed)
    rows = []
    for e, ps in st.items():
        for c in ps:
            b = rng.normal(0.1, 0.15)
            rows.append({"lhs": e, "op": "~", "rhs": c, "std.all": b,
                         "ci.lower": b - width, "ci.upper": b + width})
    return st, pd.DataFrame(rows)


#: A node subtitle for the diagram of seed 2 (its path labels must keep off the boxes too).
NODE_LABELS = {2: {"MOT": "Động lực làm việc"}}


@pytest.fixture(scope="module")
def diagram():
    """The estimated path diagram of ``_estimates(seed)`` with legend labels (and for seed 2
    a node subtitle), drawn once per seed for this module's tests (a test that adds or moves
    a label puts it back)."""
    figures = {}

    def build(seed):
        if seed not in figures:
            st, est = _estimates(seed)
            figures[seed] = pathplot.path_diagram(est, st, node_labels=NODE_LABELS.get(seed),
                                                  significant_label="clear",
                                                  other_label="other", negative_label="negative")
        return figures[seed]

    yield build
    for fig in figures.values():
        plt.close(fig)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_path_labels_never_overlap_and_only_clear_paths_are_labelled(seed, diagram):
    st, est = _estimates(seed)
    fig = diagram(seed)
    assert pathplot.label_overlaps(fig) == []
    labels = [t.get_text() for t in fig.axes[0].texts if getattr(t, "_hlstudy_path_label", False)]
    clear = est[(est["ci.lower"] > 0) | (est["ci.upper"] < 0)]
    assert len(labels) == len(clear)
    assert sorted(labels) == sorted(f"{b:.2f}".replace("-", "−").replace(".", ",")
                                    for b in clear["std.all"])
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["clear", "negative", "other"]


def test_label_overlaps_detects_an_overlap(diagram):
    fig = diagram(1)   # a diagram whose labels do not overlap (the test above)
    ax = fig.axes[0]
    first = next(t for t in ax.texts if getattr(t, "_hlstudy_path_label", False))
    clone = ax.text(*first.get_position(), first.get_text(), fontsize=first.get_fontsize())
    clone._hlstudy_path_label = True
    try:
        assert pathplot.label_overlaps(fig)
    finally:
        clone.remove()


def test_path_diagram_needs_every_path():
    st, est = _estimates(1)
    with pytest.raises(ModelError, match="no estimate for the path"):
        pathplot.path_diagram(est.iloc[1:], st)
    with pytest.raises(ModelError, match="lack columns"):
        pathplot.path_diagram(est.drop(columns="std.all"), st)


def test_coefficient_plot_panels_legend_and_bad_input():
    tab = pd.DataFrame([{"outcome": o, "term": t, "method": m, "estimate": 0.1, "ci_low": -0.05,
                         "ci_high": 0.25} for o in ("A", "B", "C") for t in ("x", "y")
                        for m in ("SEM", "CR2")])
    fig = pathplot.coefficient_plot(tab, outcomes=["A", "B", "C"], terms=["x", "y"],
                                    methods=["SEM", "CR2"], method_labels={"CR2": "OLS (CR2)"},
                                    zero_label="zero")
    visible = [ax for ax in fig.axes if ax.axison]
    assert len(visible) == 3
    assert visible[0].get_xlim() == visible[2].get_xlim()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["SEM", "OLS (CR2)", "zero"]
    fig.draw_without_rendering()   # the layout as drawn; no pixels are read
    ticks = [t.get_text() for t in visible[-1].get_xticklabels() if t.get_text()]
    assert any("," in t for t in ticks) and not any("." in t for t in ticks)
    plt.close(fig)
    with pytest.raises(ModelError, match="one row per"):
        pathplot.coefficient_plot(pd.concat([tab, tab.iloc[:1]]), outcomes=["A"], terms=["x"],
                                  methods=["SEM"])
    with pytest.raises(ModelError, match="lacks columns"):
        pathplot.coefficient_plot(tab.drop(columns="ci_low"), outcomes=["A"], terms=["x"],
                                  methods=["SEM"])


def test_commune_scatter_labels_every_commune_without_overlap():
    rng = np.random.default_rng(4)
    link = pd.DataFrame({"commune": [f"Xã {i}" for i in range(23)],
                         "QUAL": rng.normal(3.8, 0.15, 23), "SIPAS": rng.normal(3.6, 0.2, 23)})
    link.loc[5, "SIPAS"] = np.nan
    fig = pathplot.commune_scatter(link, "QUAL", "SIPAS", fit_label="fit")
    labels = [t.get_text() for t in fig.axes[0].texts if getattr(t, "_hlstudy_path_label", False)]
    assert sorted(labels) == sorted(n for i, n in enumerate(link["commune"]) if i != 5)
    assert pathplot.label_overlaps(fig) == []
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["fit"]
    plt.close(fig)
    with pytest.raises(ModelError, match="at least 3"):
        pathplot.commune_scatter(link.iloc[:2], "QUAL", "SIPAS")


def test_label_overlaps_detects_a_label_on_a_box(diagram):
    fig = diagram(2)   # with the subtitle of node MOT
    ax = fig.axes[0]
    assert any("Động lực làm việc" in t.get_text() for t in ax.texts)
    assert pathplot.label_overlaps(fig) == []     # placed clear of the boxes
    box = next(p for p in ax.patches if getattr(p, "_hlstudy_node", None) == "MOT")
    label = next(t for t in ax.texts if getattr(t, "_hlstudy_path_label", False))
    where = label.get_position()
    label.set_position((box.get_x() + box.get_width() / 2, box.get_y() + box.get_height() / 2))
    try:
        assert (label.get_text(), "node MOT") in pathplot.label_overlaps(fig)
    finally:
        label.set_position(where)


# --------------------------------------------------------------------------- adjustText's crossings

def _connector_cases():
    """Labels (x0, x1, y0, y1 boxes) and their points as adjustText hands them to
    ``remove_crossings``: random ones with many crossings, integer ones (connectors that
    touch at an end, run parallel or lie on one line: ratios of exactly 0 or 1, a zero
    denominator), a label at NaN, and the smallest counts."""
    rng = np.random.default_rng(11)
    cases = []
    for k in range(36):
        n, scale = int(rng.integers(2, 16)), [1, 10, 100][k % 3]
        boxes, points = rng.normal(size=(n, 4)), rng.normal(size=(n, 2))
        if k % 2:   # on a small integer grid: ties, parallel and collinear connectors
            boxes, points = np.round(boxes * 2), np.round(points * 2)
        boxes, points = boxes * scale, points * scale
        if k % 9 == 4:
            boxes[int(rng.integers(n))] = np.nan
        cases.append((boxes, points))
    cases.append((np.array([[0.0, 2, 0, 2]]), np.array([[5.0, 5]])))          # one label
    cases.append((np.array([[0.0, 2, 0, 2], [0, 2, 4, 6]]),                   # one crossing
                  np.array([[1.0, 5], [1, 1]])))
    cases.append((np.array([[0.0, 2, 0, 2], [2, 4, 0, 2]]),                   # parallel
                  np.array([[1.0, 5], [3, 5]])))
    return cases


def test_vectorised_crossings_move_labels_as_adjusttext_does():
    """``pathplot._remove_crossings`` stands in for adjustText's ``remove_crossings`` in
    :func:`pathplot.adjust_labels`: on every case it returns the same coordinates, bit for
    bit, as adjustText's own loop (run here on a copy), including the cases where swaps
    follow one another (a label in several crossings) and where no connector crosses."""
    import adjustText

    swapped = chained = 0
    for boxes, points in _connector_cases():
        expected = adjustText.remove_crossings(boxes.copy(), points, 0)
        got = pathplot._remove_crossings(boxes.copy(), points, 0)
        assert got.tobytes() == expected.tobytes(), (boxes, points)
        moved = ~((expected == boxes) | (np.isnan(expected) & np.isnan(boxes))).all(axis=1)
        swapped += bool(moved.any())
        chained += int(moved.sum()) > 2
    assert swapped >= 10 and chained >= 5    # the cases do cross, often more than once


def test_random_shifts_are_skipped_only_where_adjusttext_shifts_nothing():
    """``adjust_labels`` lets adjustText's ``random_shifts`` return at once when
    ``pathplot._distinct_centres`` holds: on every such case adjustText's own function
    leaves the coordinates as they are; where two centres coincide (also as 0.0 and -0.0)
    or one is NaN, it is not skipped, and there adjustText does move labels."""
    import adjustText

    cases = [boxes for boxes, _ in _connector_cases()]
    same = np.array([[0.0, 2, 0, 2], [1, 3, 5, 7], [-1, 3, 0, 2]])     # centres 1,1 / 2,6 / 1,1
    signed = np.array([[-0.0, -0.0, 0, 2], [0.0, 0.0, 0, 2]])         # centres -0,1 / 0,1
    cases += [same, signed, np.array([[0.0, 1, 0, 1], [0, 1, 0, 1]])]
    skipped = kept = 0
    for boxes in cases:
        distinct = pathplot._distinct_centres(boxes)
        shifted = adjustText.random_shifts(boxes.copy())
        if distinct:
            assert shifted.tobytes() == boxes.tobytes(), boxes
            skipped += 1
        else:
            kept += 1
    assert not pathplot._distinct_centres(same) and not pathplot._distinct_centres(signed)
    assert adjustText.random_shifts(same.copy()).tobytes() != same.tobytes()
    assert not pathplot._distinct_centres(np.array([[np.nan, 1, 0, 1], [0, 1, 0, 1]]))
    assert skipped >= 30 and kept >= 3


def test_adjust_labels_stands_in_for_adjusttext_only_during_the_call(monkeypatch):
    import adjustText

    crossings, shifts = adjustText.remove_crossings, adjustText.random_shifts
    seen = []

    def fake(texts, **kwargs):
        seen.append((adjustText.remove_crossings, adjustText.random_shifts, kwargs))
        if kwargs.get("fail"):
            raise RuntimeError("adjustText failed")
        return "placed"

    monkeypatch.setattr(adjustText, "adjust_text", fake)
    assert pathplot.adjust_labels([], iter_lim=3) == "placed"
    used_crossings, used_shifts, kwargs = seen[-1]
    assert used_crossings is pathplot._remove_crossings and kwargs == {"iter_lim": 3}
    # the stand-in for random_shifts: adjustText's own where two centres coincide
    one = np.array([[0.0, 2, 0, 2], [0, 2, 0, 2]])
    assert used_shifts(one.copy(), "xy").tobytes() == shifts(one.copy(), "xy").tobytes()
    assert used_shifts(one.copy()).tobytes() != one.tobytes()
    apart = np.array([[0.0, 2, 0, 2], [0, 2, 3, 5]])
    assert used_shifts(apart) is apart
    assert (adjustText.remove_crossings, adjustText.random_shifts) == (crossings, shifts)
    with pytest.raises(RuntimeError, match="adjustText failed"):
        pathplot.adjust_labels([], fail=True)
    assert (adjustText.remove_crossings, adjustText.random_shifts) == (crossings, shifts)
    # another adjustText version keeps its own functions
    monkeypatch.setattr(adjustText, "__version__", "0.8")
    pathplot.adjust_labels([])
    assert seen[-1][:2] == (crossings, shifts)
