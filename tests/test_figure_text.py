"""Figure labels are wrapped at word boundaries and never shortened (issue 13, kind 8).

Every label's full text must be found among the rendered figure's texts (with line breaks
read as spaces): a label cut mid-word or ended with "…" fails.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from keptresults import kept_results  # noqa: E402

from hlstudy import drivers, framework, pathplot  # noqa: E402
from hlstudy.errors import ModelError  # noqa: E402

LONG = ("Đánh giá của người dân về thái độ, tinh thần trách nhiệm và kết quả giải quyết công "
        "việc của công chức (SIPAS)")


def _flat(text: str) -> str:
    return " ".join(str(text).split())


def rendered_texts(fig) -> list[str]:
    """Every text the figure draws: axes texts, tick labels, titles, legends, figure texts.

    ``draw_without_rendering`` runs every artist's drawing code with the renderer's pixel
    operations switched off, so texts are placed and formatted as by a raster draw; no
    pixels are read here."""
    fig.draw_without_rendering()
    out = [t.get_text() for t in fig.texts]
    if getattr(fig, "_suptitle", None) is not None:
        out.append(fig._suptitle.get_text())
    for legend in fig.legends:
        out += [t.get_text() for t in legend.get_texts()]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [t.get_text() for t in ax.get_yticklabels() + ax.get_xticklabels()]
        out += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        if ax.get_legend() is not None:
            out += [t.get_text() for t in ax.get_legend().get_texts()]
    return [_flat(t) for t in out if t]


@pytest.mark.parametrize("width", [1, 8, 20, 34, 200])
def test_wrap_label_keeps_every_word_and_breaks_only_between_words(width):
    text = LONG + " siêu-dài-không-gạch-nối-được-cắt"
    wrapped = pathplot.wrap_label(text, width)
    assert _flat(wrapped) == _flat(text)          # nothing dropped, nothing added
    words = set(text.split())
    for line in wrapped.split("\n"):
        # a line is whole words; only a single word longer than the width may exceed it
        assert all(w in words for w in line.split())
        assert len(line) <= width or len(line.split()) == 1
    assert "…" not in wrapped


def test_wrap_label_rejects_a_bad_width():
    for bad in (0, -3, 2.5, "10"):
        with pytest.raises(ModelError, match="width"):
            pathplot.wrap_label("a b", bad)


@pytest.fixture(scope="module")
def estimated():
    """The estimated path diagram with node subtitles far longer than a box and a legend
    entry, built once for this module's tests: one reads its texts, the other marks it (the
    mark hides none of the texts read)."""
    st = drivers.structure()
    rng = np.random.default_rng(3)
    est = pd.DataFrame([{"lhs": e, "op": "~", "rhs": c, "std.all": rng.normal(0.1, 0.1),
                         "pvalue": 0.01} for e, ps in st.items() for c in ps])
    nodes = sorted({n for e, ps in st.items() for n in [e, *ps]})
    labels = {n: f"{LONG} {n}" for n in nodes}   # far longer than a box
    with kept_results():   # as the notebooks get it (tests/keptresults.py)
        fig = pathplot.path_diagram(est, st, node_labels=labels, significant_label="clear")
    yield fig, labels
    plt.close(fig)


def test_estimated_path_diagram_shows_every_subtitle_in_full(estimated):
    fig, labels = estimated
    texts = rendered_texts(fig)
    for n, label in labels.items():
        assert _flat(label) in texts, n
    assert not any("…" in t for t in texts)


@pytest.fixture(scope="module")
def conceptual():
    """``framework.path_diagram(lang=...)``, drawn once per language for this module's
    tests: they read its texts, and the mark (added by one of them) hides none of them."""
    figures = {}

    def diagram(lang):
        if lang not in figures:
            with kept_results():   # as notebook 01 gets it (tests/keptresults.py)
                figures[lang] = framework.path_diagram(lang=lang)
        return figures[lang]

    yield diagram
    for fig in figures.values():
        plt.close(fig)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_conceptual_model_shows_every_construct_label_in_full(lang, conceptual):
    fig = conceptual(lang)
    texts = rendered_texts(fig)
    drawn = framework._layout()   # the boxes of the diagram (laid out once, not per node)
    for node, label in framework._node_labels(lang).items():
        if node in drawn:
            assert _flat(label) in texts, node


def _parts(n_inf=7, n_des=4):
    rng = np.random.default_rng(5)
    verdicts = ["supported", "not supported", "inconclusive", "not testable"]
    rows = []
    for k in range(n_inf + n_des):
        est = float(rng.normal(0.1, 0.2))
        rows.append({"claim_id": f"C{k}", "inferential": k < n_inf, "estimate": est,
                     "ci_low": est - 0.1, "ci_high": est + 0.1,
                     "verdict": verdicts[k % 4], "threshold": 0.5,
                     "part_vi": f"thành phần số {k}: " + LONG[: 30 + 9 * k]})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def verdicts():
    """``verdict_figure`` of ``_parts()`` with wrapped labels, a verdict label, a title and
    axis labels, built once for this module's tests: one reads its texts and layout, the
    other marks it (the mark hides none of what is read)."""
    colours = {"supported": "g", "not supported": "r", "inconclusive": "grey",
               "not testable": "lightgrey"}
    with kept_results():   # as the notebooks get it (tests/keptresults.py)
        fig = pathplot.verdict_figure(_parts(), colours=colours, label="part_vi", width=40,
                                      verdict_labels={"supported": "được ủng hộ"}, title="T",
                                      xlabels=("a", "b"))
    yield fig
    plt.close(fig)


def test_verdict_figure_labels_are_whole_and_every_part_is_drawn(verdicts):
    parts = _parts()
    fig = verdicts
    texts = rendered_texts(fig)
    for r in parts.itertuples():
        assert _flat(f"{r.claim_id}: {r.part_vi}") in texts
    ax1, ax2 = fig.axes
    assert len(ax1.get_yticklabels()) == int(parts["inferential"].sum())
    assert len(ax2.get_yticklabels()) == int((~parts["inferential"]).sum())
    # every tick label is wrapped: no line longer than the width unless one long word
    for t in ax1.get_yticklabels() + ax2.get_yticklabels():
        assert all(len(line) <= 40 or " " not in line for line in t.get_text().split("\n"))
    # rows with more lines are further apart than one-line rows (labels cannot collide)
    r = fig.canvas.get_renderer()   # laid out by rendered_texts
    boxes = [t.get_window_extent(r) for t in ax1.get_yticklabels()]
    assert all(not a.overlaps(b) for a, b in zip(boxes, boxes[1:], strict=False))
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["được ủng hộ", "not supported", "inconclusive", "not testable",
                      "±SESOI = 0,1"]           # the grey band has its own entry


def test_verdict_figure_writes_a_part_without_estimate_and_lists_only_drawn_verdicts():
    """A not-testable part (no estimate) was an empty row, while the legend showed a dot for
    "không kiểm định được" that no row drew (own data; the committed ledger has none)."""
    colours = {"supported": "g", "not supported": "r", "inconclusive": "grey",
               "not testable": "lightgrey"}
    labels = {"not testable": "không kiểm định được", "supported": "được ủng hộ"}
    parts = _parts(3, 2)
    parts["verdict"] = ["supported", "inconclusive", "not testable", "supported", "inconclusive"]
    parts.loc[2, ["estimate", "ci_low", "ci_high"]] = np.nan
    fig = pathplot.verdict_figure(parts, colours=colours, label="part_vi", verdict_labels=labels)
    row = [t for t in fig.axes[0].texts if t.get_text() == "không kiểm định được"]
    assert len(row) == 1 and row[0].get_position()[1] == fig.axes[0].get_yticks()[2]
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["được ủng hộ", "inconclusive", "±SESOI = 0,1"]   # none not drawn
    plt.close(fig)


def test_verdict_figure_thresholds_point_to_the_side_that_passes():
    """A "|" at the threshold did not say which side passes (an alpha above it passes, an
    HTMT below it): with threshold_labels each threshold is a caret to its passing side,
    named in the legend; a direction without a label is refused."""
    colours = {"supported": "g", "not supported": "r", "inconclusive": "grey",
               "not testable": "lightgrey"}
    parts = _parts(2, 3).assign(direction=["+", "+", "+", "-", "+"])
    labels = {"+": "passes above", "-": "passes below"}
    fig = pathplot.verdict_figure(parts, colours=colours, label="part_vi", threshold_labels=labels)
    marks = [ln for ln in fig.axes[1].get_lines()   # not the legend's empty handles
             if ln.get_marker() in (">", "<") and len(ln.get_xdata())]
    want = parts.loc[~parts["inferential"], "direction"].map({"+": ">", "-": "<"}).tolist()
    assert sorted(ln.get_marker() for ln in marks) == sorted(want)
    assert all(ln.get_xdata()[0] == 0.5 for ln in marks)   # at each part's threshold
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend[-2:] == ["passes above", "passes below"]
    plt.close(fig)
    with pytest.raises(ModelError, match="no threshold label"):
        pathplot.verdict_figure(parts, colours=colours, label="part_vi",
                                threshold_labels={"+": "passes above"})
    with pytest.raises(ModelError, match="direction column"):
        pathplot.verdict_figure(parts.drop(columns="direction"), colours=colours,
                                label="part_vi", threshold_labels=labels)


def test_verdict_figure_band_legend_label_and_sesoi_width():
    parts = _parts()
    colours = {"supported": "g", "not supported": "r", "inconclusive": "grey",
               "not testable": "lightgrey"}
    fig = pathplot.verdict_figure(parts, colours=colours, label="part_vi", sesoi=0.2,
                                  decimal=".", sesoi_label="negligible: |β| < 0.2")
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()][-1] == "negligible: |β| < 0.2"
    band = [p for p in fig.axes[0].patches if p.get_label() == "negligible: |β| < 0.2"]
    assert len(band) == 1
    x0, x1 = band[0].get_x(), band[0].get_x() + band[0].get_width()
    assert (x0, x1) == pytest.approx((-0.2, 0.2))
    plt.close(fig)


def test_verdict_figure_sizes_the_shorter_panel_to_its_rows():
    """Both panels use the same height per row: the panel with 4 one-line rows is about as
    much shorter than the one with 12 as its rows are fewer (none of it is empty space).  The
    panels are stacked (side by side, they made the figure 25 cm wide, half its size on the
    page): the descriptive panel under the inferential one, both as wide, their labels in one
    column, and the legend under both."""
    parts = _parts(n_inf=12, n_des=4).assign(part_vi="x")
    colours = {"supported": "g", "not supported": "r", "inconclusive": "grey",
               "not testable": "lightgrey"}
    fig = pathplot.verdict_figure(parts, colours=colours, label="part_vi")
    fig.draw_without_rendering()   # the layout; no pixels are read
    upper, lower = (ax.get_window_extent() for ax in fig.axes)
    per_row = [box.height / (ax.get_ylim()[1] - ax.get_ylim()[0])      # pixels per row unit
               for box, ax in zip((upper, lower), fig.axes, strict=True)]
    assert per_row[0] == pytest.approx(per_row[1], rel=1e-6)        # same row height
    assert lower.height < 0.5 * upper.height                       # 4 rows vs 12 rows
    assert (lower.x0, lower.x1) == pytest.approx((upper.x0, upper.x1), abs=0.5)  # stacked
    r = fig.canvas.get_renderer()
    assert lower.y1 < fig.axes[0].xaxis.get_tightbbox(r).y0            # under the upper axis
    legend = fig.legends[0].get_window_extent(r)
    assert legend.y1 <= fig.axes[1].xaxis.get_tightbbox(r).y0 + 0.5    # under both panels
    plt.close(fig)


def test_verdict_figure_equal_panels_keep_the_bottom_legend():
    parts = _parts(n_inf=4, n_des=4).assign(part_vi="x")
    colours = {"supported": "g", "not supported": "r", "inconclusive": "grey",
               "not testable": "lightgrey"}
    fig = pathplot.verdict_figure(parts, colours=colours, label="part_vi")
    fig.draw_without_rendering()   # the layout; no pixels are read
    upper, lower = (ax.get_window_extent() for ax in fig.axes)
    assert upper.height == pytest.approx(lower.height)
    legend = fig.legends[0].get_window_extent(fig.canvas.get_renderer())
    assert legend.y1 < min(upper.y0, lower.y0)                # under both panels
    assert legend.width <= fig.bbox.width                    # in the figure's width
    plt.close(fig)


@pytest.mark.parametrize(("text", "pair"), [
    ("tỷ lệ công chức chưa đạt ≥ 1 tiêu chuẩn NĐ 33", "NĐ 33"),
    ("tỷ lệ công chức chưa đạt ≥ 1 tiêu chuẩn NĐ 33", "≥ 1"),
    ("chuẩn theo Nghị định 33/2023/NĐ-CP của Chính phủ", "Nghị định 33/2023/NĐ-CP"),
    ("như quy định tại Điều 5 của nghị định", "Điều 5"),
    ("theo khoản 2 và Thông tư 06 năm 2023", "Thông tư 06"),
    ("theo khoản 2 và Thông tư 06 năm 2023", "khoản 2"),
])
def test_wrap_label_never_breaks_an_abbreviation_from_its_number(text, pair):
    for width in range(1, len(text) + 2):
        wrapped = pathplot.wrap_label(text, width)
        assert _flat(wrapped) == _flat(text)                     # nothing lost or added
        assert any(pair in line for line in wrapped.split("\n")), (width, wrapped)
        assert "\u00a0" not in wrapped                            # spaces restored


def test_wrap_label_breaks_other_words_and_numbers_as_before():
    # a number not named by an abbreviation may start a line; the pair's words stay apart
    # from their neighbours
    assert pathplot.wrap_label("có 33 người", 3) == "có\n33\nngười"
    assert pathplot.wrap_label("NĐ 33 và NĐ 78", 6) == "NĐ 33\nvà\nNĐ 78"
    assert pathplot.protect_pairs("TRAIN ~ SKL") == "TRAIN ~ SKL"


def test_verdict_figure_keeps_the_decree_and_its_number_on_one_line():
    parts = _parts(n_inf=2, n_des=2)
    parts.loc[3, "part_vi"] = "tỷ lệ công chức chưa đạt ≥ 1 tiêu chuẩn NĐ 33"
    colours = {"supported": "g", "not supported": "r", "inconclusive": "grey",
               "not testable": "lightgrey"}
    fig = pathplot.verdict_figure(parts, colours=colours, label="part_vi", width=42)
    label = fig.axes[1].get_yticklabels()[-1].get_text()
    assert _flat(label) == "C3: tỷ lệ công chức chưa đạt ≥ 1 tiêu chuẩn NĐ 33"
    assert "\n" in label and "NĐ 33" in label.split("\n")[-1]
    plt.close(fig)


def _kinds_parts():
    """Parts of four scales: two paths (one estimate shared by two claims), a Spearman ρ and
    an ICC (one scale, two kinds), a difference in points; a share and an alpha below."""
    rows = [("T2", "path", "TRAIN → PRO", 0.16, True), ("S1", "path", "TRAIN → PRO", 0.16, True),
            ("T4", "path", "EDU → PRO", 0.13, True),
            ("T1", "correlation", "QUAL ↔ SIPAS (theo xã)", 0.62, True),
            ("D3", "icc", "ICC của PRO giữa các xã", 0.08, True),
            ("D2", "difference", "SKL trừ trung bình các khía cạnh khác (điểm)", 0.03, True),
            ("D1", "share", "tỷ lệ có điểm PRO dưới ngưỡng", 0.09, False),
            ("T3", "reliability", "Cronbach's alpha của PRO", 0.84, False)]
    return pd.DataFrame([{"claim_id": c, "kind": k, "part_vi": lab, "estimate": e,
                          "ci_low": e - 0.1, "ci_high": e + 0.1, "inferential": inf,
                          "verdict": "supported", "threshold": np.nan if inf else 0.5,
                          "direction": "+", "sesoi": 0.1 if inf else np.nan}
                         for c, k, lab, e, inf in rows])


KIND_SCALES = {"path": "Hệ số chuẩn hóa (SD)", "correlation": "Hệ số tương quan",
               "icc": "Hệ số tương quan", "difference": "Chênh lệch, điểm",
               "share": "Hệ số hoặc tỷ lệ", "reliability": "Hệ số hoặc tỷ lệ"}
KIND_NAMES = {"path": "β", "correlation": "Tương quan Spearman ρ", "icc": "ICC",
              "difference": "Chênh lệch điểm", "share": "Tỷ lệ", "reliability": "alpha"}


def test_verdict_figure_gives_each_kind_of_estimate_its_scale_and_name():
    """A path's β, a Spearman ρ, an ICC and a difference in points stood on one axis under
    "Ước lượng chuẩn hóa": with ``scales`` each scale is a panel of its own, its axis label
    written on the line of its tick numbers in the label column, kinds sharing a scale named
    above their rows; one estimate two claims rest on is one row.  Nothing overlaps."""
    with kept_results():   # as the notebooks get it (tests/keptresults.py)
        fig = pathplot.verdict_figure(_kinds_parts(), colours={"supported": "g"},
                                      label="part_vi", per_part=True, scales=KIND_SCALES,
                                      kind_labels=KIND_NAMES,
                                      threshold_labels={"+": "đạt khi lớn hơn"}, title="T")
    fig.draw_without_rendering()   # the layout; no pixels are read
    r = fig.canvas.get_renderer()
    assert [ax.get_xlabel() for ax in fig.axes] == ["Hệ số chuẩn hóa (SD)", "Hệ số tương quan",
                                                    "Chênh lệch, điểm", "Hệ số hoặc tỷ lệ"]
    ticks = [[t.get_text() for t in ax.get_yticklabels()] for ax in fig.axes]
    bold = [[t.get_text() for t in ax.get_yticklabels() if t.get_fontweight() == "bold"]
            for ax in fig.axes]
    assert ticks[0] == ["T2, S1: TRAIN → PRO", "T4: EDU → PRO"]          # one row, two claims
    assert ticks[1] == ["Tương quan Spearman ρ", "T1: QUAL ↔ SIPAS (theo xã)", "ICC",
                        "D3: ICC của PRO giữa các xã"]
    assert bold == [[], ["Tương quan Spearman ρ", "ICC"], [], []]
    # the descriptive parts' labels name what they are: no names above them
    assert ticks[3] == ["D1: tỷ lệ có điểm PRO dưới ngưỡng", "T3: Cronbach's alpha của PRO"]
    # each axis label: left of its plot area, on the line of its tick numbers, clear of them
    texts = []
    for ax in fig.axes:
        label = ax.xaxis.label.get_window_extent(r)
        area = ax.get_window_extent(r)
        lo, hi = ax.get_xlim()   # the tick numbers drawn: those within the axis' range
        numbers = [t.get_window_extent(r) for t in ax.get_xticklabels()
                   if t.get_visible() and t.get_text() and lo <= t.get_position()[0] <= hi]
        assert label.x1 <= area.x0 and label.x0 >= 0
        assert all(label.y0 < b.y1 and b.y0 < label.y1 for b in numbers)   # one line
        assert not any(label.overlaps(b) for b in numbers)
        texts += [label, *numbers, *(t.get_window_extent(r) for t in ax.get_yticklabels())]
    # no two texts of the figure touch; the legend stands clear under the last axis' line
    assert not [(a, b) for i, a in enumerate(texts) for b in texts[i + 1:] if a.overlaps(b)]
    legend = fig.legends[0].get_window_extent(r)
    assert legend.y1 + 3 / 72 * fig.dpi <= min(label.y0, *(b.y0 for b in numbers))
    # the rows are as tall in every panel
    per_row = [ax.get_window_extent(r).height / (ax.get_ylim()[1] - ax.get_ylim()[0])
               for ax in fig.axes]
    assert per_row == pytest.approx([per_row[0]] * 4, rel=1e-6)
    plt.close(fig)


def test_verdict_figure_refuses_a_kind_without_scale_or_name():
    parts = _kinds_parts()
    with pytest.raises(ModelError, match="no scale"):
        pathplot.verdict_figure(parts, colours={"supported": "g"}, label="part_vi",
                                scales={k: v for k, v in KIND_SCALES.items() if k != "icc"},
                                kind_labels=KIND_NAMES)
    with pytest.raises(ModelError, match="no name"):
        pathplot.verdict_figure(parts, colours={"supported": "g"}, label="part_vi",
                                scales=KIND_SCALES, kind_labels={"path": "β"})
    with pytest.raises(ModelError, match="kind"):
        pathplot.verdict_figure(parts.drop(columns="kind"), colours={"supported": "g"},
                                label="part_vi", scales=KIND_SCALES)


def test_verdict_figure_rejects_bad_input():
    parts = _parts()
    with pytest.raises(ModelError, match="lacks columns"):
        pathplot.verdict_figure(parts.drop(columns="threshold"), colours={"supported": "g"})
    with pytest.raises(ModelError, match="no colour"):
        pathplot.verdict_figure(parts, colours={"supported": "g"}, label="part_vi")


# --------------------------------------------------------------------------- simulated mark
# Every figure is marked through ``export.save_figure(..., simulated=True)``, which calls
# ``export._mark_simulated``: the mark must stand inside every plot area (so that a figure
# cropped to its axes still says "simulated"), in full, and clear of the plot's legends; the
# figure has its own mark at its corner, except where its only plot area reaches that
# corner (the plot area is the figure, and its mark is the one mark); no two marks stand
# one above the other.


def _stacked(boxes) -> list[tuple[int, int]]:
    """Pairs of mark boxes closer to each other than the taller one's height."""
    return [(i, j) for i, a in enumerate(boxes) for j, b in enumerate(boxes) if i < j
            and a.padded(max(a.height, b.height)).overlaps(b)]


def _mark_faults(fig) -> list[str]:
    from hlstudy import export

    export._mark_simulated(fig)
    fig.draw_without_rendering()   # the layout as drawn; no pixels are read
    r = fig.canvas.get_renderer()
    faults = []
    areas = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    boxes = []
    for k, ax in enumerate(fig.axes):
        if ax not in areas:
            continue
        area = ax.get_window_extent(r)
        marks = [t for t in ax.texts if export.is_simulated_mark(t)]
        if len(marks) != 1:
            faults.append(f"axes {k}: {len(marks)} marks")
            continue
        box = marks[0].get_window_extent(r)
        boxes.append(box)
        if not any(type(e).__name__ == "withStroke" and e._gc.get("foreground") == "white"
                   for e in marks[0].get_path_effects()):
            faults.append(f"axes {k}: mark without its white halo (grid lines run through it)")
        inside = (area.x0 - 0.5 <= box.x0 and box.x1 <= area.x1 + 0.5
                  and area.y0 - 0.5 <= box.y0 and box.y1 <= area.y1 + 0.5)
        # a plot area full of data (a heatmap, a map of adjacent communes) carries its mark
        # just above it, in its title's band (tests/test_mark_placement.py)
        above = (getattr(marks[0], "_hlstudy_above", False)
                 and area.x0 - 0.5 <= box.x0 and box.x1 <= area.x1 + 0.5
                 and area.y1 - 0.5 <= box.y0 <= area.y1 + box.height)
        if not (inside or above):
            faults.append(f"axes {k}: mark {box} outside the plot area {area}")
        legends = [leg for leg in (ax.get_legend(), *fig.legends) if leg is not None]
        if any(box.overlaps(leg.get_window_extent(r)) for leg in legends):
            faults.append(f"axes {k}: mark under a legend")
    corner = [t for t in fig.texts if export.is_simulated_mark(t)]
    boxes += [t.get_window_extent(r) for t in corner]
    if len(corner) > 1:
        faults.append(f"{len(corner)} marks at the figure's corner")
    elif not corner:
        # allowed only where the one plot area is the figure as saved: its bottom-right
        # corner is the saved figure's, within a mark's height
        saved = fig.get_tightbbox(r).transformed(fig.dpi_scale_trans)
        area = areas[0].get_window_extent(r) if len(areas) == 1 else None
        tol = max((b.height for b in boxes), default=0.0)
        if area is None or area.x1 < saved.x1 - tol or area.y0 > saved.y0 + tol:
            faults.append("no mark at the figure's corner")
    if _stacked(boxes):
        faults.append(f"marks one above the other: {_stacked(boxes)}")
    return faults


def _shapes(k: int):
    """Figure shapes the notebooks use: panels, legends in corners, colour bar, maps...
    Only shape ``k`` is built (each test checks one)."""
    rng = np.random.default_rng(2)
    if k == 0:
        fig1, ax = plt.subplots(figsize=(6, 4))
        ax.plot([0, 1], [0, 1], label="a")
        ax.legend(loc="lower left")                      # takes the preferred corner
        return fig1
    if k == 1:
        fig2, axes = plt.subplots(2, 3, figsize=(9, 6))
        for a in axes.ravel():
            a.scatter(rng.normal(size=20), rng.normal(size=20))
        axes[0, 0].legend(["x"], loc="lower right")
        fig2.legend(["shared"], loc="lower center")
        fig2.suptitle("six panels")
        return fig2
    if k == 2:
        rng.normal(size=240)                             # the draws of shape 1, as before
        fig3, ax3 = plt.subplots(figsize=(5, 4))
        im = ax3.imshow(rng.normal(size=(8, 23)), aspect="auto")
        fig3.colorbar(im, ax=ax3)
        return fig3
    if k == 3:
        fig4, ax4 = plt.subplots(figsize=(4, 4))
        ax4.set_aspect("equal")
        ax4.plot([0, 1], [0, 3])
        ax4.axis("off")
        return fig4
    fig5, ax5 = plt.subplots(figsize=(6, 3))
    ax5.barh(range(5), [1, 2, 3, 4, 5])
    ax5.invert_yaxis()
    ax5.set_xscale("log")
    for loc in ("lower left", "lower right", "upper left"):
        ax5.text(*{"lower left": (0.02, 0.02), "lower right": (0.98, 0.02),
                   "upper left": (0.02, 0.98)}[loc], "quadrant name", transform=ax5.transAxes,
                 ha=loc.split()[1], va="bottom" if "lower" in loc else "top")
    return fig5


@pytest.mark.parametrize("k", range(5))
def test_simulated_mark_inside_every_plot_area_of_every_figure_shape(k):
    fig = _shapes(k)
    assert _mark_faults(fig) == []
    plt.close(fig)   # the only figure of the shape


@pytest.fixture(scope="module")
def library_figures(conceptual, estimated, verdicts):
    """The library's figures as the notebooks build them (the maps aside: theirs is another
    module's check), built once for the two tests below: one marks them and checks the
    marks, the other reads every text's size."""
    from hlstudy import communes as cm
    from hlstudy.diagnostic import mapping, plots

    rng = np.random.default_rng(7)
    reg = cm.communes()
    t = pd.DataFrame({"c": reg["name"], "estimate": rng.normal(3.8, 0.2, len(reg))})
    t = t.assign(lo=t["estimate"] - 0.2, hi=t["estimate"] + 0.2, n=20)
    st = drivers.structure()
    rng.normal(0.1, 0.1, sum(len(ps) for ps in st.values()))   # the draws of a former diagram
    coef = pd.DataFrame([{"outcome": o, "term": x, "method": m, "estimate": 0.1, "ci_low": 0.0,
                          "ci_high": 0.2} for o in "ABC" for x in "xy" for m in ("SEM", "CR2")])
    link = pd.DataFrame({"commune": reg["name"], "QUAL": rng.normal(3.8, 0.1, len(reg)),
                         "SIPAS": rng.normal(3.6, 0.2, len(reg))})
    with kept_results():   # as the notebooks get them (tests/keptresults.py)
        own = {
            "caterpillar": plots.caterpillar(t, label="c", reference=3.8, reference_label="mean"),
            "caterpillar_panels": plots.caterpillar_panels(
                [{"table": t, "title": "A", "reference": 3.8, "reference_label": "mean"},
                 {"table": t, "title": "B"}, {"table": t, "title": "C"}], label="c"),
            "map": mapping.plot_map(reg, dict(zip(reg["code"], t["estimate"], strict=True))),
            "coefficients": pathplot.coefficient_plot(coef, outcomes=list("ABC"), terms=list("xy"),
                                                      methods=["SEM", "CR2"]),
            "scatter": pathplot.commune_scatter(link, "QUAL", "SIPAS", fit_label="fit"),
        }
    figures = {**own,
               # built once for the module (fixtures), as their other tests read them
               "path_diagram": estimated[0],   # with its legend entry
               "verdicts": verdicts,
               "conceptual": conceptual("vi")}   # framework.path_diagram(), Vietnamese by default
    yield figures
    for fig in own.values():
        plt.close(fig)


def test_simulated_mark_inside_the_library_figures(library_figures):
    faults = {name: f for name, fig in library_figures.items() if (f := _mark_faults(fig))}
    assert faults == {}


def test_library_figures_print_no_text_under_7_pt(library_figures):
    """The figures print at 100 % of their saved size: every text of every library figure,
    tick labels, names, box and edge labels and the simulated-data marks, is at least
    ``export.MIN_TEXT_PT`` (7 pt; the in-plot mark was 5.5 pt, the commune names 6.5, the
    path diagram's labels 6.2, the conceptual model's 6.4, the map names 6.5)."""
    from pagefit import small_texts

    from hlstudy import export

    small = {}
    for name, fig in library_figures.items():
        export._mark_simulated(fig)   # as save_figure marks it (once: the test above may have)
        fig.draw_without_rendering()  # tick labels are made while drawing
        if found := small_texts(fig):
            small[name] = found
    assert small == {}


def test_mark_check_fails_when_the_mark_is_only_at_the_figure_corner():
    from hlstudy import export

    fig, ax = plt.subplots()
    fig.text(0.99, 0.01, export.SIMULATED_MARK)
    fig._hlstudy_simulated_mark = True        # marked the old way: figure corner only
    assert any("0 marks" in f for f in _mark_faults(fig))
    plt.close(fig)


def test_verdict_figure_per_part_bands_are_each_parts_own_sesoi():
    # one ±0.1 band made an indirect effect (SESOI 0.01) beyond its own SESOI look negligible
    parts = _parts(n_inf=3, n_des=1).assign(sesoi=[0.1, 0.01, 0.05, np.nan])
    colours = {"supported": "g", "not supported": "r", "inconclusive": "grey",
               "not testable": "lightgrey"}
    fig = pathplot.verdict_figure(parts, colours=colours, label="part_vi", per_part=True,
                                  sesoi_label="±SESOI of each part")
    bands = sorted((round(b.get_x(), 6), round(b.get_x() + b.get_width(), 6))
                   for b in fig.axes[0].patches if b.get_facecolor()[:3] == pytest.approx((0.933, 0.933, 0.933), abs=0.01))
    assert bands == [(-0.1, 0.1), (-0.05, 0.05), (-0.01, 0.01)]
    assert [t.get_text() for t in fig.legends[0].get_texts()][-1] == "±SESOI of each part"
    assert not [b for b in fig.axes[1].patches if b.get_facecolor()[:3] == pytest.approx((0.933, 0.933, 0.933), abs=0.01)]
    plt.close(fig)
    with pytest.raises(ModelError, match="sesoi column"):
        pathplot.verdict_figure(parts.drop(columns="sesoi"), colours=colours, label="part_vi", per_part=True)
