"""The commune diagnostic's and the cleaning's figures print at their natural size: as saved
(cropped, with savefig's 0.1-inch pad) each fits the thesis' text block, 155 mm wide and
220 mm tall (the block less its caption), for the study's 23 communes and for an own study
of up to 30 where the figure's builder can keep it so; its text stays readable there (no text
below 7 points, ``export.MIN_TEXT_PT``; a commune's label 8 points where one figure holds many panels)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hlstudy import cleaning, export  # noqa: E402
from hlstudy.diagnostic import plots  # noqa: E402

# long names with Vietnamese marks, as the registry's (and an own study's) communes
NAMES = [f"Xã Quyết Thắng {k}" if k % 2 else f"TT Hữu Lũng {k}" for k in range(30)]


@pytest.fixture(autouse=True)
def _style():
    export.use_style("vi")
    yield
    plt.close("all")


def _printed_mm(fig) -> tuple[float, float]:
    """Width and height (mm) of ``fig`` as ``savefig(bbox_inches="tight")`` writes it."""
    fig.draw_without_rendering()
    return export.saved_size_mm(fig)


def _texts(fig):
    return [t for t in fig.findobj(matplotlib.text.Text)
            if t.get_visible() and t.get_text().strip()]


def _overlapping_ticks(fig) -> list[str]:
    """Neighbouring tick labels of one axis whose drawn boxes overlap."""
    r = fig.canvas.get_renderer()
    faults = []
    for ax in fig.axes:
        for labels in (ax.get_xticklabels(), ax.get_yticklabels()):
            boxes = sorted(((t.get_window_extent(r), t.get_text()) for t in labels
                            if t.get_visible() and t.get_text().strip()),
                           key=lambda b: (b[0].y0, b[0].x0))
            faults += [f"{a[1]!r} / {b[1]!r}" for a, b in zip(boxes, boxes[1:], strict=False)
                       if a[0].overlaps(b[0])]
    return faults


def _fits(fig, *, smallest=export.MIN_TEXT_PT, ticks=None):
    w, h = _printed_mm(fig)
    assert export.fits_page(w, h), f"{w:.1f} x {h:.1f} mm"
    sizes = [t.get_fontsize() for t in _texts(fig)]
    assert min(sizes) >= smallest
    if ticks is not None:
        tick = [t.get_fontsize() for ax in fig.axes for t in ax.get_yticklabels()
                if t.get_text().strip()]
        assert min(tick) >= ticks
    assert _overlapping_ticks(fig) == []


def _table(n, seed=1):
    rng = np.random.default_rng(seed)
    t = pd.DataFrame({"c": NAMES[:n], "estimate": rng.normal(3.9, 0.15, n), "n": 20})
    return t.assign(lo=t["estimate"] - 0.25, hi=t["estimate"] + 0.25)


LINES = {"threshold": 3.0, "threshold_label": "Điểm giữa thang",
         "xlabel": "Điểm (1–5): ước lượng co (Bayes thực nghiệm), KTC 95%"}
DIMENSIONS = ["ETH: phẩm chất chính trị, đạo đức", "PRO: năng lực chuyên môn",
              "SKL: kỹ năng quản lý, giao tiếp, giải quyết vấn đề",
              "RSP: tinh thần trách nhiệm, chủ động"]


def test_two_caterpillar_panels_fit_the_page():
    """04_caterpillar_quality: two panels of communes with their n, three lines (30 communes:
    the study's 23 fit with room to spare)."""
    n = 30
    fig = plots.caterpillar_panels(
        [{"table": _table(n), "title": "Năng lực chuyên môn (PRO)", "reference": 3.9,
          "reference_label": "Trung bình huyện"},
         {"table": _table(n, 2), "title": "Đánh giá của người dân", "reference": 3.7,
          "reference_style": "-.", "reference_label": "Trung bình các xã (trọng số bằng nhau)"}],
        label="c", ncols=2, min_cell=5, suptitle="Năng lực chuyên môn và đánh giá của người "
        "dân theo xã", **LINES)
    _fits(fig, ticks=plots.DENSE_TICKS)
    assert len(_legend_texts(fig)) == 3
    assert fig.get_supxlabel() == LINES["xlabel"]   # one x label for the shared x range


def test_four_caterpillar_panels_fit_the_page_with_their_titles_in_full():
    """04_caterpillar_dimensions: 2 x 2 panels; a long title wraps, whole, over its panel."""
    fig = plots.caterpillar_panels(
        [{"table": _table(23, k), "title": t, "reference": 3.9} for k, t in enumerate(DIMENSIONS)],
        label="c", ncols=2, title_size=9, min_cell=5, show_n=False,
        reference_label="Trung bình huyện", suptitle="Bốn chiều chất lượng đội ngũ theo xã",
        **LINES)
    _fits(fig, ticks=plots.DENSE_TICKS)
    r = fig.canvas.get_renderer()
    for ax, title in zip(fig.axes, DIMENSIONS, strict=True):
        assert " ".join(ax.get_title().split()) == title
        assert ax.title.get_fontsize() == 9
        box, area = ax.title.get_window_extent(r), ax.get_window_extent(r)
        assert box.x0 >= area.x0 - 1 and box.x1 <= area.x1 + 1, title
    # The figure's mark moves under the legend that reaches its corner (below the figure); a
    # legend placed on the figure's box moved down with the cropped box, onto the mark.
    from matplotlib._tight_bbox import adjust_bbox

    export._mark_simulated(fig)
    [mark] = [t for t in fig.texts if export.is_simulated_mark(t)]
    crop = fig.get_tightbbox(r).padded(plt.rcParams["savefig.pad_inches"])
    restore = adjust_bbox(fig, crop, r)   # what savefig(bbox_inches="tight") does, then draws
    try:
        fig.draw_without_rendering()
        box = mark.get_window_extent(r)
        assert not any(box.overlaps(t.get_window_extent(r))
                       for leg in fig.legends for t in leg.get_texts())
    finally:
        restore()


def _legend_texts(fig):
    return [t.get_text() for leg in fig.legends for t in leg.get_texts()]


def test_one_caterpillar_share_bars_staffing_and_coverage_fit_the_page():
    _fits(plots.caterpillar(_table(8), label="c", reference=3.9,
                            reference_label="Trung bình huyện", **LINES))
    shares = pd.DataFrame({"rule": ["Ít nhất một tiêu chuẩn", "Chuyên ngành phù hợp",
                                    "Trình độ đại học", "Tốt nghiệp THPT", "Tuổi"],
                           "share": [0.5, 0.2, 0.1, 0.05, 0.0], "n": 100})
    _fits(plots.share_bars(shares.assign(lo=shares["share"], hi=shares["share"]), label="rule",
                           xlabel="% công chức chưa đạt (toàn bộ hồ sơ)",
                           title="Công chức chưa đạt tiêu chuẩn Nghị định 33/2023"))
    staff = pd.DataFrame({"label": NAMES, "n_can_bo": 11, "n_cong_chuc": 9, "n_staff": 20,
                          "quota": 22, "gap": 2})
    _fits(plots.staffing_plot(staff, label="label", xlabel="Số người",
                              title="Số cán bộ, công chức so với số lượng tối đa theo xã",
                              quota_label="Số lượng tối đa (loại mô phỏng)"))
    _fits(cleaning.coverage_figure(pd.DataFrame({"commune": NAMES[:23], "register": 20,
                                                 "officials": 18, "coverage": 0.9})))


def test_share_bars_wrap_long_labels_whole():
    t = pd.DataFrame({"level": ["Chuyên viên chính trở lên", "Sơ cấp"], "share": [0.4, 0.6]})
    fig = plots.share_bars(t.assign(lo=t["share"], hi=t["share"]), label="level", wrap=16)
    labels = [x.get_text() for x in fig.axes[0].get_yticklabels()]
    assert labels == ["Chuyên viên\nchính trở lên", "Sơ cấp"]
