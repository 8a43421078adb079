"""Caterpillar figures a thesis can print (issue 13 §8): a legend names the reference lines,
the panels of one figure share one x range, and the 2025 figure can be put on its sibling's
range."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hlstudy.diagnostic import plots, quality  # noqa: E402
from hlstudy.errors import ModelError  # noqa: E402


def _data(seed, shift=0.0, spread=1.0, groups=8, per=12):
    rng = np.random.default_rng(seed)
    g = np.repeat([f"c{i}" for i in range(groups)], per)
    u = np.repeat(rng.normal(0, 0.4 * spread, groups), per)
    return pd.DataFrame({"g": g, "y": 3.0 + shift + u + rng.normal(0, 0.6 * spread, len(g))})


def _table(seed, **kw):
    return quality.commune_means(_data(seed, **kw), ["y"], "g", method="mixed")


def _legend_texts(fig):
    legends = [*fig.legends, *(a.get_legend() for a in fig.axes)]
    return [t.get_text() for leg in legends if leg is not None for t in leg.get_texts()]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def alone():
    """Two tables (around 3; higher and wider) and each one's caterpillar alone, without
    lines, built once for this module's tests (they read the figures, never change them)."""
    tables = [_table(3), _table(4, shift=0.9, spread=2)]
    return tables, [plots.caterpillar(t, label="g") for t in tables]


def test_single_caterpillar_has_a_legend_for_both_lines():
    fig = plots.caterpillar(_table(1), label="g", reference=3.1, reference_label="District mean",
                            threshold=3.0, threshold_label="Scale midpoint")
    assert sorted(_legend_texts(fig)) == ["District mean", "Scale midpoint"]
    # the legend sits below the plot area: it covers no commune's interval
    fig.draw_without_rendering()   # the layout as drawn; no pixels are read
    r = fig.canvas.get_renderer()
    leg = fig.legends[0].get_window_extent(r)
    area = fig.axes[0].get_window_extent(r)
    assert leg.y1 <= area.y0


def test_a_line_without_its_label_is_refused(alone):
    t = _table(2)
    with pytest.raises(ModelError, match="reference_label"):
        plots.caterpillar(t, label="g", reference=3.0)
    with pytest.raises(ModelError, match="threshold_label"):
        plots.caterpillar(t, label="g", reference=3.0, reference_label="mean", threshold=2.5)
    with pytest.raises(ModelError, match="xlim"):
        plots.caterpillar(t, label="g", xlim=(4.0, 3.0))
    # no line, no legend
    assert [_legend_texts(fig) for fig in alone[1]] == [[], []]


def test_panels_share_one_range_that_holds_every_interval_and_line(alone):
    (a, b), figures = alone   # b higher and wider: would get its own range alone
    ranges = [fig.axes[0].get_xlim() for fig in figures]
    assert ranges[0] != pytest.approx(ranges[1], abs=0.05)
    fig = plots.caterpillar_panels(
        [{"table": a, "title": "A", "reference": 3.05},
         {"table": b, "title": "B", "reference": 3.9, "reference_label": "Mean over communes",
          "reference_style": "-."}],
        label="g", reference_label="District mean", threshold=2.0, threshold_label="Cut-off",
        suptitle="Two panels")
    assert fig.get_suptitle() == "Two panels"
    xl = [ax.get_xlim() for ax in fig.axes]
    assert len(xl) == 2 and xl[0] == xl[1]
    lo = min(a["lo"].min(), b["lo"].min(), 2.0)
    hi = max(a["hi"].max(), b["hi"].max(), 3.9)
    assert xl[0][0] < lo and xl[0][1] > hi
    assert xl[0][0] > lo - 0.1 * (hi - lo) and xl[0][1] < hi + 0.1 * (hi - lo)
    # one legend for the figure, each line label once, none inside a panel
    assert all(ax.get_legend() is None for ax in fig.axes)
    assert len(fig.legends) == 1
    assert sorted(_legend_texts(fig)) == ["Cut-off", "District mean", "Mean over communes"]
    styles = {t.get_text(): h.get_linestyle() for t, h in
              zip(fig.legends[0].get_texts(), fig.legends[0].legend_handles, strict=True)}
    assert len(set(styles.values())) == 3   # two kinds of mean are told apart


def test_panels_hide_unused_cells_and_respect_min_cell():
    tabs = [_table(s) for s in (5, 6, 7)]
    small = tabs[2].assign(n=np.where(tabs[2]["g"] == "c0", 3, tabs[2]["n"]),
                           lo=np.where(tabs[2]["g"] == "c0", -10.0, tabs[2]["lo"]))
    fig = plots.caterpillar_panels([{"table": tabs[0]}, {"table": tabs[1]}, {"table": small}],
                                   label="g", ncols=2, min_cell=5, reference=3.0,
                                   reference_label="mean")
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == 4 and len(visible) == 3
    # the hidden small commune does not stretch the shared range
    assert visible[0].get_xlim()[0] > 0
    assert len(visible[2].get_yticks()) == 7
    with pytest.raises(ModelError, match="no panels"):
        plots.caterpillar_panels([], label="g")
    with pytest.raises(ModelError, match="table"):
        plots.caterpillar_panels([{"title": "x"}], label="g")


def test_range_helper_and_a_sibling_on_the_same_scale():
    t = pd.DataFrame({"lo": [3.0, 3.2], "hi": [3.5, 4.0]})
    assert plots.caterpillar_range([t], lines=[2.5], pad=0) == (2.5, 4.0)
    assert plots.caterpillar_range([t], pad=0.1) == pytest.approx((2.9, 4.1))
    assert plots.caterpillar_range([t], lines=[None], pad=0) == (3.0, 4.0)
    with pytest.raises(ModelError, match="finite"):
        plots.caterpillar_range([pd.DataFrame({"lo": [np.nan], "hi": [np.nan]})])
    # the 8-commune figure drawn on its 23-unit sibling's range keeps that range
    sib = plots.caterpillar_panels([{"table": _table(8, groups=23, per=15)}], label="g",
                                   reference=3.0, reference_label="mean")
    rng = sib.axes[0].get_xlim()
    eb8 = _table(9)
    fig = plots.caterpillar(eb8, label="g", reference=3.0, reference_label="mean",
                            xlim=plots.caterpillar_range([eb8], lines=rng, pad=0))
    got = fig.axes[0].get_xlim()
    assert got[0] <= rng[0] and got[1] >= rng[1]


def test_panels_lay_out_each_text_once_while_built(alone, monkeypatch):
    """caterpillar_panels lays its figure out up to three times (``tight_layout``, which
    measures every tick label twice each time): while it builds, matplotlib lays out each
    distinct text once (``hlstudy._resultcache._texts_laid_out_once``, as every figure builder
    kept by the result cache), and its own layout is back afterwards."""
    from matplotlib import text as mtext

    laid = []
    original = mtext.Text._get_layout

    def counted(self, renderer):
        if type(self) in (mtext.Text, mtext.Annotation) and not self.get_wrap():
            laid.append((self.get_text(), tuple(vars(self._fontproperties).items()),
                         self.get_rotation(), self.get_ha(), self.get_va(), self._linespacing))
        return original(self, renderer)

    monkeypatch.setattr(mtext.Text, "_get_layout", counted)
    tables, _ = alone
    plots.caterpillar_panels([{"table": tables[0], "title": "A", "reference": 3.1,
                               "reference_label": "District mean"},
                              {"table": tables[1], "title": "B"}], label="g")
    assert laid and len(laid) == len(set(laid))
    assert mtext.Text._get_layout is counted


def test_shown_rows_are_the_rows_a_caterpillar_draws():
    """One rule for the rows a caterpillar leaves out (fewer than min_cell people, or no n),
    which notebook 04 names under the figure."""
    from hlstudy.diagnostic import plots

    t = pd.DataFrame({"label": ["a", "b", "c", "d"], "n": [3, 5, None, 10],
                      "estimate": [1.0, 2.0, 3.0, 4.0], "lo": [0.5, 1.5, 2.5, 3.5],
                      "hi": [1.5, 2.5, 3.5, 4.5]})
    assert plots.shown_rows(t, 5).tolist() == [False, True, False, True]
    assert plots.shown_rows(t, None).all()
    fig = plots.caterpillar(t, label="label", min_cell=5, show_n=False)
    drawn = [x.get_text() for x in fig.axes[0].get_yticklabels()]
    assert sorted(drawn) == sorted(t.loc[plots.shown_rows(t, 5), "label"])
    plt.close(fig)


# --------------------------------------------------------------------------- left-out note
# The small-cell rule leaves communes out of a caterpillar; a figure copied into a thesis must
# say so itself (only notebook 04's prose did): a note names them, and why, under the axes.


def _small(names, small=()):
    k = np.arange(len(names), dtype=float)
    return pd.DataFrame({"g": names, "estimate": 3.0 + 0.1 * k, "lo": 2.8 + 0.1 * k,
                         "hi": 3.2 + 0.1 * k,
                         "n": [3 if g in small else 12 for g in names]})


NAMES = ["Yên Sơn", "Cai Kinh", "Hồ Sơn", "Đồng Tân", "Minh Hòa", "Hòa Thắng"]
TEMPLATE = "Không vẽ các xã có dưới {min_cell} người trả lời: {names}."


def _notes(fig):
    return [t for t in fig.texts if t.get_gid() == "hidden-rows-note"]


def _boxes_apart(fig, note):
    """The note's box against the axes (tick labels, x label, title), the figure's x label
    and legend: pairs that overlap, and whether the note stays inside the figure."""
    fig.draw_without_rendering()   # the layout as drawn; no pixels are read
    r = fig.canvas.get_renderer()
    box = note.get_window_extent(r)
    others = [ax.get_tightbbox(r) for ax in fig.axes if ax.get_visible()]
    others += [leg.get_window_extent(r) for leg in fig.legends]
    if fig._supxlabel is not None:
        others.append(fig._supxlabel.get_window_extent(r))
    inside = box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y0 >= 0
    return [o for o in others if box.overlaps(o)], inside


def test_single_caterpillar_names_the_left_out_communes_only_when_some_are():
    t = _small(NAMES, small=("Yên Sơn", "Hồ Sơn"))
    fig = plots.caterpillar(t, label="g", min_cell=5, reference=3.1, reference_label="mean",
                            xlabel="Điểm", hidden_note=TEMPLATE)
    (note,) = _notes(fig)
    # both left out, in Vietnamese alphabetical order, with the rule's number; no drawn one
    assert " ".join(note.get_text().split()) == ("Không vẽ các xã có dưới 5 người trả lời: "
                                                 "Hồ Sơn, Yên Sơn.")
    assert plots.hidden_labels(t, "g", 5) == ["Hồ Sơn", "Yên Sơn"]
    drawn = {x.get_text() for x in fig.axes[0].get_yticklabels()}
    assert not any(name in note.get_text() for name in drawn)
    overlapping, inside = _boxes_apart(fig, note)
    assert overlapping == [] and inside
    # nothing left out: no note; no rule: nothing is left out
    fig = plots.caterpillar(_small(NAMES), label="g", min_cell=5, hidden_note=TEMPLATE)
    assert _notes(fig) == [] and fig.texts == []
    assert plots.hidden_labels(t, "g", None) == []
    # the default note is English
    assert plots._hidden_text([("", ["A"])], 5, None) == plots.HIDDEN_NOTE.format(
        min_cell=5, names="A")


def test_panels_name_each_panels_left_out_communes_between_axis_label_and_legend():
    a = _small(NAMES, small=("Cai Kinh",))
    b = _small(NAMES, small=("Minh Hòa", "Đồng Tân"))
    fig = plots.caterpillar_panels([{"table": a, "title": "PRO", "reference": 3.1,
                                     "reference_label": "mean"}, {"table": b, "title": "SIPAS"}],
                                   label="g", min_cell=5, xlabel="Điểm (1–5)",
                                   hidden_note=TEMPLATE)
    (note,) = _notes(fig)
    assert " ".join(note.get_text().split()) == ("Không vẽ các xã có dưới 5 người trả lời: "
                                                 "PRO: Cai Kinh; SIPAS: Đồng Tân, Minh Hòa.")
    overlapping, inside = _boxes_apart(fig, note)
    assert overlapping == [] and inside
    r = fig.canvas.get_renderer()
    box = note.get_window_extent(r)
    assert fig.legends[0].get_window_extent(r).y1 <= box.y0          # above the legend
    assert box.y1 <= fig._supxlabel.get_window_extent(r).y0          # under the x label
    # every panel leaves out the same communes: named once; none left out: no note
    same = [("PRO", ["Cai Kinh"]), ("SKL", ["Cai Kinh"])]
    assert plots._hidden_text(same, 5, TEMPLATE).replace("\u00a0", " ").endswith(
        "trả lời: Cai Kinh.")
    assert plots._hidden_text([("PRO", []), ("SKL", [])], 5, TEMPLATE) == ""
    # a long note wraps to the figure's width, between names, never inside one
    many = [f"{n} {k}" for k in range(3) for n in NAMES]
    long = plots._note(fig, plots._hidden_text([("", many)], 5, TEMPLATE)).get_text()
    assert "\n" in long and "\u00a0" not in long
    assert all(any(name in line for line in long.split("\n")) for name in many)
    with pytest.raises(ModelError, match="hidden_note"):
        plots.caterpillar_panels([{"table": a}], label="g", min_cell=5, hidden_note="{n}")
