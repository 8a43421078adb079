"""The simulated-data mark inside a plot area hides no data when a free place exists.

``hlstudy.export._mark_simulated`` puts the mark at the candidate place (corners, then the
middles of the bottom and top edges) that no legend or text covers and that hides the least
data: points, lines (by their vertices, not their bounding box), error bars, bars and bands.
When every place hides data the mark loses its white box.  The checks below measure what
lies under the mark independently of the module (sampling points along every line).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from keptresults import kept_results  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from pagefit import page_faults  # noqa: E402

from hlstudy import export, pathplot  # noqa: E402

CORNERS = {"lower left": (0.01, 0.01), "lower right": (0.99, 0.01),
           "upper left": (0.01, 0.99), "upper right": (0.99, 0.99)}
CENTRES = {"lower left": (0.1, 0.1), "lower right": (0.9, 0.1),
           "upper left": (0.1, 0.9), "upper right": (0.9, 0.9)}


def _mark(ax):
    marks = [t for t in ax.texts if export.is_simulated_mark(t)]
    assert len(marks) == 1
    return marks[0]


def _data_under(ax, box, samples: int = 400) -> list[str]:
    """What of the plot's data lies in ``box`` (display space): markers and points along
    every line and error bar, sampled independently of the export module."""
    found = []

    def inside(xy):
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        xy = xy[np.isfinite(xy).all(axis=1)]
        return bool(np.any((xy[:, 0] >= box.x0) & (xy[:, 0] <= box.x1)
                           & (xy[:, 1] >= box.y0) & (xy[:, 1] <= box.y1)))

    def along(xy):
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        t = np.linspace(0, 1, samples)[:, None]
        return np.concatenate([a + t * (b - a) for a, b in zip(xy[:-1], xy[1:], strict=True)]
                              or [np.empty((0, 2))])

    for k, line in enumerate(ax.lines):
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), float).reshape(-1, 2))
        if len(xy) == 0:
            continue
        if line.get_marker() not in (None, "None", "none", "", " ") and inside(xy):
            found.append(f"marker of line {k}")
        if line.get_linestyle() not in ("None", "none", "", " ") and len(xy) > 1 \
                and inside(along(xy)):
            found.append(f"line {k}")
    for k, coll in enumerate(ax.collections):
        if isinstance(coll, LineCollection):
            for seg in coll.get_segments():
                if len(seg) > 1 and inside(along(coll.get_transform().transform(seg))):
                    found.append(f"segment of collection {k}")
        elif isinstance(coll, PathCollection):
            if inside(coll.get_offset_transform().transform(coll.get_offsets())):
                found.append(f"point of collection {k}")
    return found


def _placed(fig, ax):
    export._mark_simulated(fig)
    fig.draw_without_rendering()   # the layout as drawn; no pixels are read
    mark = _mark(ax)
    return mark, mark.get_window_extent(fig.canvas.get_renderer())


def _corner_of(mark) -> str:
    x, y = mark.get_position()
    return next(name for name, xy in CORNERS.items() if np.allclose(xy, (x, y)))


@pytest.mark.parametrize("free", list(CORNERS))
def test_mark_goes_to_the_only_corner_free_of_data(free):
    rng = np.random.default_rng(1)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    for name, (cx, cy) in CENTRES.items():
        if name != free:
            ax.scatter(cx + rng.uniform(-0.09, 0.09, 40), cy + rng.uniform(-0.09, 0.09, 40),
                       s=12)
    mark, box = _placed(fig, ax)
    assert _corner_of(mark) == free
    assert _data_under(ax, box) == []
    assert mark.get_bbox_patch() is not None           # free place: the light box stays
    plt.close(fig)


def test_a_reference_line_counts_where_it_runs_not_by_its_bounding_box():
    """A diagonal line from the lower-left to the upper-right corner has a bounding box that
    covers the whole plot, but it leaves the two other corners free; a vertical reference
    line near the right edge then rules out the lower-right corner too."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([0, 1], [0, 1], color="k")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    mark, box = _placed(fig, ax)
    assert _corner_of(mark) == "lower right"
    assert _data_under(ax, box) == []
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot([0, 1], [0, 1], color="k")
    ax.axvline(0.85, color="r")                        # spans the axes (blended transform)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    mark, box = _placed(fig, ax)
    assert _corner_of(mark) == "upper left"
    assert _data_under(ax, box) == []
    plt.close(fig)


def test_bars_bands_and_error_bars_are_avoided():
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar([0.07, 0.19], [1.0, 1.0], width=0.1)           # full-height bars, left fifth
    ax.axvspan(0.8, 1.0, color="#eeeeee")                # a band along the right edge
    ax.errorbar([0.55], [0.05], xerr=[[0.1], [0.1]], fmt="o")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    mark, box = _placed(fig, ax)
    assert mark.get_position() == (0.5, 0.99)             # the top middle is the free place
    assert _data_under(ax, box) == []
    r = fig.canvas.get_renderer()
    assert not any(box.overlaps(p.get_window_extent(r)) for p in ax.patches)
    plt.close(fig)


def test_when_every_place_hides_data_the_mark_has_no_white_box():
    fig, ax = plt.subplots(figsize=(5, 3.5))
    g = np.linspace(0, 1, 41)
    xx, yy = np.meshgrid(g, g)
    ax.scatter(xx.ravel(), yy.ravel(), s=4)              # data everywhere
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    mark, box = _placed(fig, ax)
    assert _data_under(ax, box) != []                     # the test does cover data
    assert mark.get_bbox_patch() is None                  # transparent: data stay visible
    assert _corner_of(mark) == "lower left"               # ties keep the preferred order
    plt.close(fig)


def test_a_legend_is_never_covered_even_where_the_data_are_sparse():
    rng = np.random.default_rng(4)
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, (cx, cy) in CENTRES.items():
        if name != "upper right":
            ax.scatter(cx + rng.uniform(-0.09, 0.09, 40), cy + rng.uniform(-0.09, 0.09, 40),
                       s=12, label=name if name == "lower left" else None)
    ax.legend(loc="upper right")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    mark, box = _placed(fig, ax)
    assert not box.overlaps(ax.get_legend().get_window_extent(fig.canvas.get_renderer()))
    assert _data_under(ax, box) == []                     # the middles of the edges are free
    plt.close(fig)


def test_the_choice_is_deterministic(tmp_path):
    def build():
        rng = np.random.default_rng(9)
        fig, ax = plt.subplots(figsize=(4, 3))
        ax.scatter(rng.normal(size=200), rng.normal(size=200), s=5)
        ax.axhline(0, color="r")
        return fig

    a = export.save_figure(build(), "99_mark_a", simulated=True, directory=tmp_path,
                           formats=["png"], show=False)
    b = export.save_figure(build(), "99_mark_b", simulated=True, directory=tmp_path,
                           formats=["png"], show=False)
    assert a["png"].read_bytes() == b["png"].read_bytes()
    plt.close("all")


def test_data_overlap_score_counts_points_lines_and_areas():
    from matplotlib.transforms import Bbox

    box = Bbox.from_extents(0, 0, 10, 10)
    nothing = (np.empty((0, 3)), np.empty((0, 2, 2)), [])
    assert export._data_overlap(box, nothing) == 0.0
    points = (np.array([[5.0, 5.0, 1.0], [20.0, 20.0, 1.0], [10.5, 5.0, 1.0]]),
              np.empty((0, 2, 2)), [])
    assert export._data_overlap(box, points) == 2.0      # the far point is outside
    # a segment crossing the box horizontally: 10 pixels inside, per box height 10
    line = (np.empty((0, 3)), np.array([[[-5.0, 5.0], [15.0, 5.0]]]), [])
    assert export._data_overlap(box, line) == pytest.approx(1.0)
    diagonal = (np.empty((0, 3)), np.array([[[-10.0, -10.0], [30.0, 30.0]]]), [])
    assert export._data_overlap(box, diagonal) == pytest.approx(np.hypot(10, 10) / 10)
    area = (np.empty((0, 3)), np.empty((0, 2, 2)), [Bbox.from_extents(5, -5, 30, 30)])
    assert export._data_overlap(box, area) == pytest.approx(export._AREA_WEIGHT * 0.5)


# --------------------------------------------------------------------------- real figure


@pytest.fixture(scope="module")
def real_parts():
    """The parts of the claims ledger as notebook 06 computes them (same rules)."""
    from hlstudy import load_study
    from hlstudy.evidence import Rules, evaluate

    rules = Rules(sesoi=0.10, sesoi_indirect=0.01, sesoi_smd=0.20, sesoi_icc=0.05,
                  sesoi_points=0.10, alpha=0.05, correction="holm", power=0.80,
                  descriptive_share=0.20, majority_share=0.50, weak_cutoff=3.0,
                  min_alpha=0.70, max_htmt=0.85, vcov="CR2", bootstrap=1000, seed=2026)
    with kept_results():   # notebook 06's ledger, as the notebook gets it
        return evaluate(load_study(), rules=rules).parts


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_verdict_summary_mark_hides_no_part(real_parts, lang):
    from hlstudy.evidence import estimate_labels
    from hlstudy.evidence.rules import VERDICTS, VERDICTS_VI

    assert isinstance(real_parts, pd.DataFrame) and len(real_parts) > 20
    colours = {"supported": "#2e7d32", "not supported": "#c0392b", "inconclusive": "#7f8c8d",
               "not testable": "#bbbbbb"}
    scales, names = estimate_labels(lang)
    with kept_results():   # as notebook 06 draws it (tests/keptresults.py)
        fig = pathplot.verdict_figure(
            real_parts, colours={v: colours[v] for v in VERDICTS},
            verdict_labels=VERDICTS_VI if lang == "vi" else None,
            label="part_vi" if lang == "vi" else "part", sesoi=0.10, per_part=True,
            threshold_labels={"+": "passed above", "-": "passed below"},
            scales=scales, kind_labels=names, title="T")
    # a panel per scale of the estimates (standardized, correlation, points, descriptive)
    assert [ax.get_xlabel() for ax in fig.axes] == list(dict.fromkeys(
        scales[k] for k in ("path", "correlation", "difference", "share")))
    export._mark_simulated(fig)
    fig.draw_without_rendering()   # the layout as drawn; no pixels are read
    r = fig.canvas.get_renderer()
    for k, ax in enumerate(fig.axes):
        mark = _mark(ax)
        box = mark.get_window_extent(r)
        assert _data_under(ax, box) == [], k
        assert mark.get_bbox_patch() is not None, k       # a free place existed
        # and the last row (e.g. "S3: COMP → MOT → PRO" on the left) is fully visible above
        # the mark
        lowest = min(np.asarray(line.get_transform().transform(line.get_xydata()))[:, 1].min()
                     for line in ax.lines if len(line.get_xydata()) and line.get_marker() == "o")
        assert lowest > box.y1, k
    # the whole ledger fits the thesis page at its natural size (tests/pagefit.py): the two
    # panels side by side made it 25 cm wide
    assert page_faults(fig) == []
    plt.close(fig)


def test_quadrant_names_and_a_central_line_send_the_mark_to_a_quarter_place():
    """An importance–performance map: a name in every corner and reference lines through
    the middle leave free only the quarters of the bottom and top edges (a plot area wide
    enough that the 7-pt mark at a quarter clears the corners' names)."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.axvline(0.5, ls="--", color="grey")
    ax.axhline(0.5, ls="--", color="grey")
    for x, y, ha, va in ((0, 0, "left", "bottom"), (1, 0, "right", "bottom"),
                         (0, 1, "left", "top"), (1, 1, "right", "top")):
        ax.text(x, y, "low priority", transform=ax.transAxes, ha=ha, va=va, fontsize=7)
    mark, box = _placed(fig, ax)
    assert mark.get_position() == (0.25, 0.01)
    assert _data_under(ax, box) == []
    assert mark.get_bbox_patch() is not None
    r = fig.canvas.get_renderer()
    assert ax.get_window_extent(r).x0 <= box.x0                   # inside the plot area
    assert not any(box.overlaps(t.get_window_extent(r)) for t in ax.texts if t is not mark)
    plt.close(fig)


# --------------------------------------------------------------------------- one mark per area
# The figure's own mark stands at its bottom-right corner.  A diagram drawn with its axis off
# on the whole figure is one plot area that reaches that corner: a mark of its own in its
# corner stood right above the figure's (05_path_diagram showed the mark twice, one above
# the other).  Such a figure shows one mark; a figure of several plot areas keeps one mark
# per plot area and its own, and none of them stands next to another.


def _all_marks(fig) -> list:
    """Every visible simulated-data mark of the figure, its own and its plot areas'."""
    texts = [*fig.texts, *(t for ax in fig.axes for t in ax.texts)]
    return [t for t in texts if export.is_simulated_mark(t) and t.get_visible()]


def _too_close(boxes) -> list[tuple[int, int]]:
    """Pairs of mark boxes closer to each other than the taller one's height."""
    return [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes) if i < j
            and a.padded(max(a.height, b.height)).overlaps(b)]


def _diagram(nrows=1, ncols=1, *, figsize=(8, 5), busy_lower_left=False):
    """Boxes joined by lines on plot areas with their axis off, filling the figure."""
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.02, wspace=0.05, hspace=0.05)
    fig.suptitle("diagram")
    for ax in axes.ravel():
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
        for x, y in ((0.2, 0.8), (0.5, 0.5), (0.8, 0.8)):
            ax.text(x, y, "box", ha="center", va="center", bbox={"boxstyle": "round", "fc": "w"})
        ax.plot([0.2, 0.5, 0.8], [0.8, 0.5, 0.8], color="k")
        if busy_lower_left:   # data in the preferred corner: the mark would go right
            ax.scatter(0.05 + 0.3 * np.arange(8) / 8, np.full(8, 0.03), s=20)
    return fig


@pytest.mark.filterwarnings("ignore::hlstudy.export.FigureSizeWarning")   # not for print
def test_a_diagram_on_the_whole_figure_shows_one_mark(tmp_path):
    fig = _diagram(busy_lower_left=True)
    export.save_figure(fig, "99_diagram", simulated=True, directory=tmp_path,
                       formats=["png"], show=False)
    marks = _all_marks(fig)
    assert len(marks) == 1, [m.axes for m in marks]
    mark = marks[0]
    ax = fig.axes[0]
    assert mark.axes is ax                    # the plot area's: kept when cropped to it
    assert mark.get_fontsize() == 7           # as large as the figure's own mark
    r = fig.canvas.get_renderer()
    box, area = mark.get_window_extent(r), ax.get_window_extent(r)
    assert area.x0 <= box.x0 and box.x1 <= area.x1 and area.y0 <= box.y0 and box.y1 <= area.y1
    assert box.x0 > area.x0 + area.width / 2 and box.y1 < area.y0 + area.height / 4
    assert _data_under(ax, box) == []         # the lower right, clear of the points
    plt.close(fig)


@pytest.mark.parametrize("shape", [(1, 3), (2, 2)])
def test_several_plot_areas_keep_their_marks_and_the_figure_its_own(shape):
    """Every panel has its mark, the figure its own at its corner, and the lower-right
    panel's mark does not stand next to the figure's (on the former code it went to that
    panel's lower-right corner, the only one free of data, right above the figure's)."""
    fig = _diagram(*shape, figsize=(9, 5), busy_lower_left=True)
    export._mark_simulated(fig)
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    marks = _all_marks(fig)
    assert len(marks) == shape[0] * shape[1] + 1
    assert [t for t in fig.texts if t in marks] != []                       # the figure's
    assert all(len([t for t in ax.texts if t in marks]) == 1 for ax in fig.axes)
    assert _too_close([m.get_window_extent(r) for m in marks]) == []
    plt.close(fig)


def test_a_plot_with_axes_keeps_both_marks():
    """A bar chart's plot area ends above its tick labels: cropped to it, the figure keeps
    the area's mark; uncropped, the figure's corner carries its own (issue 13)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.barh(["a", "b", "c"], [3, 2, 1])
    ax.set_xlabel("share (%)")
    export._mark_simulated(fig)
    fig.draw_without_rendering()
    marks = _all_marks(fig)
    assert len(marks) == 2 and len(fig.texts) == 1 and len(ax.texts) == 1
    # both as large as the figures' smallest text (the plot area's was 5.5 pt, unreadable
    # in print)
    assert ax.texts[0].get_fontsize() == fig.texts[0].get_fontsize() == export.MIN_TEXT_PT
    plt.close(fig)


def test_the_consort_flow_keeps_a_mark_per_column_and_the_figure_its_own():
    """02_consort_flow: three plot areas with their axis off, one per column, each with its
    mark, and the figure's own, none next to another (the estimated path diagram, one plot
    area on the whole figure, is checked with the library figures in test_figure_text)."""
    from hlstudy import cleaning, load_study
    from hlstudy.study import consort_counts

    flow = cleaning.consort_figure(consort_counts(load_study()))
    export._mark_simulated(flow)
    flow.draw_without_rendering()
    r = flow.canvas.get_renderer()
    marks = _all_marks(flow)
    assert len(marks) == 4 and len([t for t in flow.texts if t in marks]) == 1
    assert all(len([t for t in ax.texts if t in marks]) == 1 for ax in flow.axes)
    assert _too_close([m.get_window_extent(r) for m in marks]) == []
    plt.close(flow)


def _caterpillar_one_panel(n=8):
    """04_caterpillar_quality of an own-data run (officials only): one panel, its figure
    legend across the bottom of a narrow figure, reaching the figure's right corner."""
    from hlstudy.diagnostic import plots

    rng = np.random.default_rng(11)
    t = pd.DataFrame({"label": [f"Xã số {k} (n=7)" for k in range(n)],
                      "estimate": np.sort(rng.normal(3.95, 0.08, n))})
    t = t.assign(lo=t["estimate"] - 0.3, hi=t["estimate"] + 0.3, n=7)
    return plots.caterpillar_panels(
        [{"table": t, "title": "Năng lực chuyên môn (PRO)", "reference": 3.92,
          "reference_label": "Trung bình huyện"}], label="label", ncols=2,
        min_cell=5, threshold=3.0, threshold_label="Điểm giữa thang",
        xlabel="Điểm (1–5): ước lượng co (Bayes thực nghiệm), KTC 95%",
        suptitle="Năng lực chuyên môn và đánh giá của người dân theo xã")


def _figure_mark_faults(fig) -> list[str]:
    """The figure's own mark over a legend (a figure's or a plot area's, wherever it stands)
    or over any text the figure writes, in the layout as drawn."""
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    own = [t for t in fig.texts if export.is_simulated_mark(t)]
    assert len(own) == 1
    box = own[0].get_window_extent(r)
    faults = []
    for leg in [*fig.legends, *(ax.get_legend() for ax in fig.axes)]:
        if leg is None:
            continue
        for t in leg.get_texts():
            if box.overlaps(t.get_window_extent(r)):
                faults.append(f"over the legend entry {t.get_text()!r}")
        if box.overlaps(leg.get_window_extent(r)):
            faults.append("over a legend")
    texts = [t for t in fig.findobj(matplotlib.text.Text)
             if t is not own[0] and t.get_visible() and t.get_text().strip()
             and not export.is_simulated_mark(t)]
    for ax in fig.axes:   # tick labels of ticks outside the view are not drawn
        lo, hi = sorted(ax.get_xlim())
        texts = [t for t in texts if not (t in ax.get_xticklabels()
                                          and not lo <= t.get_position()[0] <= hi)]
    faults += [f"over {t.get_text()!r}" for t in texts
               if box.overlaps(t.get_window_extent(r))]
    return faults


def test_the_figure_mark_keeps_off_a_figure_legend_across_the_bottom(tmp_path):
    """04_caterpillar_quality in an own-data run: the figure's mark stood on the legend
    entry "Điểm giữa thang"; it now stands under the legend, at the saved figure's corner."""
    fig = _caterpillar_one_panel()
    export.save_figure(fig, "99_caterpillar", simulated=True, directory=tmp_path,
                       formats=["png"], show=False)
    assert _figure_mark_faults(fig) == []
    r = fig.canvas.get_renderer()
    own = [t for t in fig.texts if export.is_simulated_mark(t)][0]
    box = own.get_window_extent(r)
    saved = fig.get_tightbbox(r).transformed(fig.dpi_scale_trans)
    assert box.y0 <= saved.y0 + 1 and box.x1 >= saved.x1 - 0.1 * saved.width   # its corner
    assert box.y1 <= fig.legends[0].get_window_extent(r).y0                    # under it
    plt.close(fig)


def test_the_figure_mark_keeps_off_a_legend_beside_the_plot_area():
    """A legend outside its plot area (04_map_pro: beside the map) reaching the figure's
    lower right: the figure's mark is not drawn on it either."""
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot([0, 1], [0, 1], label="một đường rất dài trong chú giải")
    ax.plot([0, 1], [1, 0], label="đường thứ hai")
    ax.legend(loc="lower left", bbox_to_anchor=(1.0, -0.2), borderaxespad=0)
    export._mark_simulated(fig)
    assert _figure_mark_faults(fig) == []
    plt.close(fig)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_ipma_mark_keeps_off_the_dividing_lines(lang):
    """06_ipma in English: the quadrant names took every corner and the narrowed plot area
    left the mark only the middle of the bottom edge, on the dashed dividing line.  The
    mark now hides no data: no point, no label's leader, no dividing line; nor the legend
    of the dividing lines (which stays out of the bottom and top bands where the mark and
    the quadrant names stand)."""
    from hlstudy import drivers, load_study
    from hlstudy.evidence import ipma_figure
    from hlstudy.evidence.ipma import ipma

    with kept_results():   # as the notebooks get it (tests/keptresults.py)
        fig = ipma_figure(ipma(drivers.driver_data(load_study()), "QUAL"), lang=lang,
                          title="Importance–performance (QUAL)")
    ax = fig.axes[0]
    mark, box = _placed(fig, ax)
    assert _data_under(ax, box) == []
    assert mark._hlstudy_data_overlap == 0
    legend = ax.get_legend()
    assert legend is not None
    assert not box.overlaps(legend.get_window_extent(fig.canvas.get_renderer()))
    plt.close(fig)


# --------------------------------------------------------------------------- full plot areas
# A heatmap fills its plot area with cells: every place inside hides data (02_missing_heatmap
# had the mark, without its box, over the lower-left cells of both panels).  Such a plot area
# carries its mark just above it, in its title's band, clear of the title.


def _heatmap_figure(panels=2, **title):
    rng = np.random.default_rng(3)
    fig, axes = plt.subplots(panels, 1, figsize=(6, 3.5 * panels), squeeze=False)
    for ax in axes.ravel():
        mesh = ax.pcolormesh(rng.uniform(size=(20, 8)), cmap="viridis")
        fig.colorbar(mesh, ax=ax)
        ax.set_title("panel", **title)
    return fig, list(axes.ravel())


def _cells_under(ax, box, renderer) -> int:
    """How many heatmap cells the box covers, measured from the mesh's own coordinates."""
    mesh = ax.collections[0]
    rows, cols = mesh.get_array().shape
    n = 0
    for i in range(rows):
        for j in range(cols):
            (x0, y0), (x1, y1) = ax.transData.transform([(j, i), (j + 1, i + 1)])
            n += bool(min(box.x1, x1) > max(box.x0, x0) and min(box.y1, y1) > max(box.y0, y0))
    return n


def test_a_plot_area_full_of_data_gets_its_mark_above_it(tmp_path):
    # the title stands 14 points above the plot area, as missing_heatmap sets it: the band
    # under it holds the 7-pt mark
    fig, axes = _heatmap_figure(pad=14)
    export.save_figure(fig, "99_heat", simulated=True, directory=tmp_path, formats=["png"],
                       show=False)
    r = fig.canvas.get_renderer()
    for k, ax in enumerate(axes):
        mark = _mark(ax)
        box, area = mark.get_window_extent(r), ax.get_window_extent(r)
        assert _cells_under(ax, box, r) == 0, k            # hides no cell
        assert box.y0 >= area.y1 and box.x1 <= area.x1 + 1, k   # above the area, its right end
        assert not box.overlaps(ax.title.get_window_extent(r)), k
        assert mark._hlstudy_data_overlap == 0.0
    assert len(_all_marks(fig)) == 3                       # the figure keeps its own
    plt.close(fig)


def test_when_the_band_above_is_taken_the_mark_stays_inside_without_its_box():
    fig, axes = _heatmap_figure(panels=1, loc="left")
    ax = axes[0]
    ax.set_title("right title", loc="right")
    export._mark_simulated(fig)
    fig.draw_without_rendering()
    mark = _mark(ax)
    r = fig.canvas.get_renderer()
    assert mark.get_transform() == ax.transAxes and mark.get_position() == (0.01, 0.01)
    assert mark.get_bbox_patch() is None                   # data stay visible through it
    assert _cells_under(ax, mark.get_window_extent(r), r) > 0
    plt.close(fig)


def test_a_partly_filled_plot_area_keeps_its_mark_inside():
    """Bars over most of the area leave a free corner: the mark stays inside, boxed."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.bar(np.arange(8), np.r_[np.ones(4), np.full(4, 0.5)], width=1.0)
    ax.set_xlim(-0.5, 7.5)
    ax.set_ylim(0, 1)
    mark, box = _placed(fig, ax)
    assert mark.get_transform() == ax.transAxes and mark.get_bbox_patch() is not None
    assert mark.get_position() == (0.99, 0.99)
    plt.close(fig)


def test_full_is_judged_by_the_shapes_outlines_not_their_bounding_boxes():
    """A diamond spans the whole plot area by its bounding box but leaves the corners empty:
    the plot area is not full, and the mark stays inside."""
    from matplotlib.collections import PolyCollection

    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.add_collection(PolyCollection([[(0.5, 0), (1, 0.5), (0.5, 1), (0, 0.5)]]))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    mark, box = _placed(fig, ax)
    assert mark.get_transform() == ax.transAxes and not getattr(mark, "_hlstudy_above", False)
    plt.close(fig)


def test_missing_heatmap_marks_hide_no_cell(monkeypatch):
    """02_missing_heatmap as notebook 02 draws it: each panel's mark stands above it.  The
    two panels stand side by side (stacked, the 80 items made the figure 30 cm tall): as
    saved, the figure fits the thesis' text block (155 x 220 mm), its labels 7 points or
    more and never on top of each other.  Building it draws nothing (seaborn's heatmap drew
    the whole figure once per panel to choose a tick-label rotation the builder then set)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from hlstudy import cleaning, load_study
    from hlstudy.scales import scale_items
    study = load_study()
    likert = {name: [v for items in scale_items(name).values() for v in items]
              for name in ("officials", "citizens")}
    drawn = []
    draw = FigureCanvasAgg.draw
    with monkeypatch.context() as patch:
        patch.setattr(FigureCanvasAgg, "draw", lambda canvas: drawn.append(draw(canvas)))
        fig = cleaning.missing_heatmap(study.missing, likert)
    assert drawn == []
    export._mark_simulated(fig)   # as save_figure places the marks (no 300 dpi PNG written)
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(panels) == 2
    for ax in panels:
        box, area = _mark(ax).get_window_extent(r), ax.get_window_extent(r)
        assert box.y0 >= area.y1 and not box.overlaps(ax.title.get_window_extent(r))
        assert _cells_under(ax, box, r) == 0
    a, b = (ax.get_window_extent(r) for ax in panels)
    assert a.x1 < b.x0 and a.y1 == pytest.approx(b.y1, abs=1)   # side by side, tops aligned
    size = export.saved_size_mm(fig)
    assert export.fits_page(*size), size
    texts = [t for t in fig.findobj(matplotlib.text.Text) if t.get_visible()
             and t.get_text().strip()]   # the marks too
    assert min(t.get_fontsize() for t in texts) >= export.MIN_TEXT_PT
    for ax in panels:   # the item codes' boxes apart (the commune names': their ink, below)
        boxes = sorted((t.get_window_extent(r) for t in ax.get_yticklabels()), key=lambda b: b.y0)
        assert not any(p.overlaps(q) for p, q in zip(boxes, boxes[1:], strict=False))
    # the ink of neighbouring names 1 pt apart or more, their stacked marks included: the
    # commune names' came within 0.14-0.2 pt ("Quyết Thắng" beside "Nhật Tiến"), and each
    # name still stands in its own column (within a third of a column of its middle)
    assert _ink_gaps(panels, r) == []
    plt.close(fig)


def _ink_gaps(panels, renderer, gap: float = 1.0) -> list[str]:
    """Neighbouring tick labels of the heatmap ``panels`` whose ink
    (:func:`hlstudy.export.text_ink`) comes closer than ``gap`` points, and commune names
    whose ink's middle stands a third of a column or more from their column's middle."""
    faults = []
    for ax in panels:
        px = ax.figure.dpi / 72.0
        names = ax.get_xticklabels()
        inks = [export.text_ink(t, renderer) for t in names]
        faults += [f"{a.get_text()} / {b.get_text()}: {(q.x0 - p.x1) / px:.2f} pt"
                   for a, b, p, q in zip(names, names[1:], inks, inks[1:], strict=False)
                   if q.x0 - p.x1 < gap * px]
        codes = ax.get_yticklabels()
        inks_y = [export.text_ink(t, renderer) for t in codes]
        faults += [f"{a.get_text()} / {b.get_text()}" for a, b, p, q in
                   zip(codes, codes[1:], inks_y, inks_y[1:], strict=False)
                   if min(abs(q.y0 - p.y1), abs(p.y0 - q.y1)) < gap * px]
        column = abs(ax.transData.transform((1, 0))[0] - ax.transData.transform((0, 0))[0])
        faults += [f"{t.get_text()} off its column" for t, ink in zip(names, inks, strict=True)
                   if abs((ink.x0 + ink.x1) / 2 - ax.transData.transform(
                       (t.get_position()[0], 0))[0]) >= column / 3]
    return faults


def test_the_ink_of_stacked_vietnamese_marks_reaches_past_the_text_box_and_is_spread():
    """``export.text_ink`` is the glyphs' outline: "Đồng" 's stacked marks reach above the
    layout box of a 7-pt line, "ao" fills it only in part.  ``spread_labels`` moves turned
    names sideways until their ink is the gap apart, each as little as it can, and moves
    nothing where the names are apart already."""
    fig = plt.figure(figsize=(2, 2))
    ax = fig.add_axes((0.1, 0.5, 28 / 144, 0.4))   # 4 columns 7 pt wide: the names touch
    ax.set(xlim=(-0.5, 3.5), ylim=(0, 1), xticks=range(4))
    names = ax.set_xticklabels(["Đồng Tân", "Quyết Thắng", "Nhật Tiến", "ao"], rotation=90,
                               fontsize=7)
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    box, ink = names[0].get_window_extent(r), export.text_ink(names[0], r)
    assert ink.x0 < box.x0                        # the marks stand out of the box
    small = export.text_ink(names[3], r)
    assert small.width < 0.7 * names[3].get_window_extent(r).width
    px = fig.dpi / 72
    before = [export.text_ink(t, r) for t in names]
    assert min(q.x0 - p.x1 for p, q in zip(before, before[1:], strict=False)) < px
    shifts = export.spread_labels(names, 1.0, r)
    after = [export.text_ink(t, r) for t in names]
    assert min(q.x0 - p.x1 for p, q in zip(after, after[1:], strict=False)) >= px - 1e-6
    assert max(map(abs, shifts)) < 3.0
    assert export.spread_labels(names, 1.0, r) == [0.0] * 4   # apart already: nothing moves
    plt.close(fig)
