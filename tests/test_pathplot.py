"""hlstudy.pathplot: coefficient plot and estimated path diagram."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from keptresults import kept_results  # noqa: E402

from hlstudy import drivers, export, pathplot  # noqa: E402
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


def _english_labels() -> dict[str, str]:
    """Every node's English name, as notebook 05 labels its boxes in English (the longest)."""
    from hlstudy import codebook

    out = {r.construct: r.label_en for r in codebook.construct_labels().itertuples()}
    return out | {"EDU": "Professional education (rank)", "TENURE": "Years in post"}


#: A node subtitle for the diagram of seed 2 (its path labels must keep off the boxes too),
#: every node's for seed 3.
NODE_LABELS = {2: {"MOT": "Động lực làm việc"}, 3: _english_labels()}


@pytest.fixture(scope="module")
def diagram():
    """The estimated path diagram of ``_estimates(seed)`` with legend labels (and for seed 2
    a node subtitle), drawn once per seed for this module's tests (a test that adds or moves
    a label puts it back)."""
    figures = {}

    def build(seed):
        if seed not in figures:
            st, est = _estimates(seed)
            with kept_results():   # as the notebooks get it (tests/keptresults.py)
                figures[seed] = pathplot.path_diagram(
                    est, st, node_labels=NODE_LABELS.get(seed), significant_label="clear",
                    other_label="other", negative_label="negative",
                    width_label="|β| {}" if seed == 3 else "")
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
    legend = fig.axes[0].get_legend()
    widths = ["|β| = 0,1", "|β| = 0,3", "|β| ≥ 0,6"] if seed == 3 else []
    assert [t.get_text() for t in legend.get_texts()] == ["clear", "negative", "other", *widths]
    if widths:   # the width of a clear path is said in the legend, drawn as the paths are
        lines = legend.get_lines()[3:]
        assert [ln.get_linewidth() for ln in lines] == [pathplot.path_width(b) for b in (0.1, 0.3, 0.6)]
        drawn = sorted(round(p.get_linewidth(), 6) for p in fig.axes[0].patches
                       if type(p).__name__ == "FancyArrowPatch" and p.get_linewidth() != 0.5)
        assert drawn == sorted(round(pathplot.path_width(b), 6) for b in clear["std.all"])


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
    with kept_results():   # as the notebooks get it (tests/keptresults.py)
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


def test_path_diagram_fits_the_page_with_every_subtitle_in_its_box(diagram):
    """05_path_diagram was drawn 10.5 in wide (266 mm as saved): in the thesis' 155 mm text
    block its 5.6-pt subtitles printed at 3 pt.  As saved (tight box) it now fits the text
    block (155 x 220 mm) at its natural size, with every box's subtitle (English, the
    longest) wrapped inside its box, at 7 pt or more (``export.MIN_TEXT_PT``)."""
    from hlstudy import framework

    fig = diagram(3)   # every node with its English name
    fig.draw_without_rendering()
    size = export.saved_size_mm(fig)   # as saved
    assert export.fits_page(*size), size
    subtitles = [t for t in fig.axes[0].texts if getattr(t, "_hlstudy_box_label", None)]
    assert {t._hlstudy_box_label for t in subtitles} == set(drivers.structure()) | {
        c for preds in drivers.structure().values() for c in preds}
    assert framework.box_label_overruns(fig) == []
    r = fig.canvas.get_renderer()
    boxes = {p._hlstudy_node: p.get_window_extent(r) for p in fig.axes[0].patches
             if getattr(p, "_hlstudy_node", None)}
    for t in subtitles:   # inside its box from top to bottom too (LEAD's 4 lines ran out)
        e, b = t.get_window_extent(r), boxes[t._hlstudy_box_label]
        assert b.y0 <= e.y0 and e.y1 <= b.y1, t.get_text()
    names = list(boxes)
    assert [(a, c) for k, a in enumerate(names) for c in names[k + 1:]
            if boxes[a].overlaps(boxes[c])] == []
    assert min(t.get_fontsize() for t in fig.axes[0].texts) >= export.MIN_TEXT_PT
