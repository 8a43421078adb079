"""Figures of the drivers of quality: coefficient plot and the estimated path diagram.

Both take tidy tables and return a matplotlib figure; labels come from the caller (use
:func:`hlstudy.export.tr`), so the library stays language-neutral.  Export with
:func:`hlstudy.export.save_figure`.

* :func:`coefficient_plot` — standardized coefficients with their intervals, one panel per
  outcome, one shared axis, one marker per method (e.g. SEM, regression with CR2, wild
  cluster bootstrap), a legend entry for every method and for the zero line.
* :func:`path_diagram` — the structural model with its standardized estimates: causes on the
  left, the mediator and the intention to stay in the middle, the quality dimensions on the
  right; every path is drawn, those whose interval excludes zero solid and labelled,
  the others thin and grey.  Labels are placed along their arrows so that no two overlap
  (greedy placement checked on the rendered text boxes; :func:`label_overlaps` tests it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hlstudy import _resultcache
from hlstudy._geometry import segment_point_distances, segments_cross
from hlstudy.errors import ModelError
from hlstudy.export import MIN_TEXT_PT

#: Iterations of adjustText's label placement (fixed, so the result does not depend on time).
ADJUST_ITERATIONS = 400
_MARKERS = ("o", "s", "D", "^", "v")
_COLOURS = ("#1f4e79", "#b8860b", "#2e7d32", "#8e244d", "#555555")
#: Empty strip below the last row of :func:`verdict_figure` (in row units: a one-line row is
#: 0.55), where the simulated-data mark (7 pt) stands clear of every part.
_MARK_STRIP = 0.65


#: A word and the number it names, never broken between lines by :func:`wrap_label`: legal
#: references ("NĐ 33", "Nghị định 33/2023/NĐ-CP", "Điều 5", "Khoản 2", "Thông tư 06"),
#: "Mục 2.1" and comparisons such as "≥ 1".
UNBREAKABLE = re.compile(
    r"(?<![\w])(?:Nghị\s+định|Quyết\s+định|Thông\s+tư|Nghị\s+quyết|NĐ(?:-CP)?|QĐ|TT|NQ|"
    r"Luật|Điều|Khoản|Điểm|Chương|Mục|Phụ\s+lục|[≥≤<>=±])\s+(?=[\d])",
    re.IGNORECASE)
_NBSP = "\u00a0"


def protect_pairs(text: str) -> str:
    r"""``text`` with the spaces inside the :data:`UNBREAKABLE` pairs made non-breaking
    (U+00A0), so that a wrapper never separates "NĐ" from "33" or "≥" from "1".

    >>> protect_pairs("chưa đạt ≥ 1 tiêu chuẩn NĐ 33") == "chưa đạt ≥\u00a01 tiêu chuẩn NĐ\u00a033"
    True
    """
    return UNBREAKABLE.sub(lambda m: re.sub(r"\s+", _NBSP, m.group(0)), str(text))


def _format_tick(spec: str, decimal: str, value: float, _pos=None) -> str:
    return format(value, spec).replace("-", "−").replace(".", decimal)


def tick_formatter(spec: str, decimal: str = ","):
    """A tick formatter writing ``format(value, spec)`` with a true minus sign and ``decimal``
    as the decimal mark (``","`` in Vietnamese).  Made of a module function, so that a figure
    using it can be pickled (:mod:`hlstudy._resultcache` keeps figures that way).

    >>> tick_formatter(".2f")(-0.5, 0)
    '−0,50'
    """
    from functools import partial

    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(partial(_format_tick, spec, decimal))


def wrap_label(text: str, width: int) -> str:
    r"""``text`` broken into lines of at most ``width`` characters at word boundaries.

    Never shortens: every word is kept (a word longer than ``width`` stands on its own
    line, unbroken), so the joined lines equal the text with its white space normalised.
    A legal reference or comparison and its number ("NĐ 33", "Nghị định 33", "Điều 5",
    "≥ 1": :data:`UNBREAKABLE`) count as one word and stay on one line.  Standard library
    ``textwrap.wrap`` with ``break_long_words=False`` and ``break_on_hyphens=False`` on the
    text with those spaces made non-breaking (:func:`protect_pairs`), which are then turned
    back into ordinary spaces.  Raises :class:`ModelError` for a width below 1.

    >>> wrap_label("Kỹ năng quản lý, giao tiếp, giải quyết vấn đề", 20)
    'Kỹ năng quản lý,\ngiao tiếp, giải\nquyết vấn đề'
    >>> wrap_label("tỷ lệ chưa đạt tiêu chuẩn NĐ 33", 28)
    'tỷ lệ chưa đạt tiêu chuẩn\nNĐ 33'
    """
    import textwrap

    if not isinstance(width, int | np.integer) or width < 1:
        raise ModelError(f"width must be a positive integer, got {width!r}")
    lines = textwrap.wrap(protect_pairs(text), width=int(width), break_long_words=False,
                          break_on_hyphens=False)
    return "\n".join(lines).replace(_NBSP, " ")


#: Width (inches) of the figures that span the thesis' text width: the page holds a figure at
#: most 155 mm (6.10 in) wide as saved (tight bounding box, ``hlstudy.export``'s page rule), so
#: at its natural size, never shrunk, its 7-pt labels print at 7 pt.
PAGE_FIGURE_WIDTH = 6.0
#: Inches per row unit of :func:`verdict_figure` (a one-line row is 0.55 units: 0.12 in for a
#: 7-pt label): the committed ledger's 42 parts, stacked in two panels, fit the page's 220 mm.
VERDICT_ROW = 0.22


def fit_legend(fig, handles, *, fontsize: float = 7.5, y: float = 0.018, **kwargs):
    """A figure legend centred at the bottom (its lower edge at ``y``, a fraction of the height,
    above the figure's simulated-data mark), in as many columns as fit the figure's width: one
    line when every entry fits, else the fewest lines (entries never cut or shrunk).  Returns
    the legend; leave room for it under the axes (its height)."""
    renderer = fig.canvas.get_renderer()
    legend = None
    for ncol in range(len(handles), 0, -1):
        if legend is not None:
            legend.remove()
        legend = fig.legend(handles=handles, loc="lower center", ncol=ncol, fontsize=fontsize,
                            frameon=False, bbox_to_anchor=(0.5, y), **kwargs)
        # the saved file's padding (0.1 in each side) must still fit the page
        if legend.get_window_extent(renderer).width <= 0.93 * fig.bbox.width:
            break
    return legend


@_resultcache.kept(figure=True)
def coefficient_plot(table: pd.DataFrame, *, outcomes: Sequence[str], terms: Sequence[str],
                     methods: Sequence[str], outcome_labels: Mapping[str, str] | None = None,
                     term_labels: Mapping[str, str] | None = None,
                     method_labels: Mapping[str, str] | None = None, xlabel: str = "",
                     zero_label: str = "0", title: str = "", decimal: str = ","):
    """Standardized coefficients with intervals: one panel per outcome, shared x axis.

    ``table`` is tidy with columns ``outcome, term, method, estimate, ci_low, ci_high``
    (one row per outcome × term × method; missing rows are simply not drawn).  Methods are
    dodged vertically within a term and each has a legend entry (under the panels, in as
    many lines as the width needs: :func:`fit_legend`).  Tick labels use ``decimal`` as the
    decimal mark (Vietnamese: comma).  The figure is as wide as the thesis' text
    (:data:`PAGE_FIGURE_WIDTH`), at most two panels a row, the terms named once on the left of
    each row and panel titles wrapped at word boundaries; its height grows with the terms.
    Raises :class:`ModelError` when a column is missing or a row is duplicated.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    need = ["outcome", "term", "method", "estimate", "ci_low", "ci_high"]
    absent = [c for c in need if c not in table.columns]
    if absent:
        raise ModelError(f"coefficient table lacks columns {absent}")
    if table.duplicated(["outcome", "term", "method"]).any():
        raise ModelError("one row per outcome × term × method expected")
    if not outcomes or not terms or not methods:
        raise ModelError("outcomes, terms and methods must not be empty")
    outcome_labels = dict(outcome_labels or {})
    term_labels = dict(term_labels or {})
    method_labels = dict(method_labels or {})
    t = table[table["outcome"].isin(outcomes) & table["term"].isin(terms)
              & table["method"].isin(methods)]
    vals = t[["estimate", "ci_low", "ci_high"]].astype(float).round(10).to_numpy().ravel()
    vals = vals[np.isfinite(vals)]
    lim = float(np.max(np.abs(vals))) if len(vals) else 1.0
    lim = np.ceil(lim * 1.08 * 20) / 20
    ncol = min(len(outcomes), 2)
    nrow = int(np.ceil(len(outcomes) / ncol))
    # as wide as the thesis' text; the panels of a row share their terms, named once on the
    # left; 0.3 in per term and panel row (the committed 11 terms in two rows fit the page)
    fig, axes = plt.subplots(nrow, ncol, figsize=(PAGE_FIGURE_WIDTH, 0.3 * len(terms) * nrow + 1.5),
                             sharex=True, sharey=True, squeeze=False)
    from hlstudy.framework import fit_label

    # a panel's title is at most as wide as its column, less the room of the term names
    title_points = 72 * (PAGE_FIGURE_WIDTH / ncol - 0.45)
    y = np.arange(len(terms))[::-1].astype(float)
    step = 0.22 if len(methods) > 1 else 0.0
    offsets = (np.arange(len(methods)) - (len(methods) - 1) / 2) * step
    for k, outcome in enumerate(outcomes):
        ax = axes[k // ncol][k % ncol]
        ax.axvline(0, color="#888888", lw=0.8, ls="--")
        for j, method in enumerate(methods):
            d = t[(t["outcome"] == outcome) & (t["method"] == method)].set_index("term")
            for i, term in enumerate(terms):
                if term not in d.index:
                    continue
                r = d.loc[term]
                est, lo, hi = (round(float(r[c]), 10) for c in ("estimate", "ci_low", "ci_high"))
                yy = y[i] - offsets[j]
                ax.plot([lo, hi], [yy, yy], color=_COLOURS[j % 5], lw=1.3)
                ax.plot([est], [yy], marker=_MARKERS[j % 5], color=_COLOURS[j % 5], ms=4,
                        ls="none")
        ax.set_yticks(y, [term_labels.get(x, x) for x in terms], fontsize=7.5)
        ax.tick_params(axis="y", labelleft=k % ncol == 0)
        ax.set_ylim(-0.7, len(terms) - 0.3)
        ax.set_xlim(-lim, lim)
        # two panels share the page's width: a long outcome name takes two lines
        ax.set_title(fit_label(outcome_labels.get(outcome, outcome), title_points, 9, chars=80),
                     fontsize=9)
        ax.tick_params(axis="x", labelsize=7.5)
        ax.xaxis.set_major_formatter(tick_formatter(".1f", decimal))
        if k // ncol == nrow - 1:
            ax.set_xlabel(xlabel, fontsize=8)
    for k in range(len(outcomes), nrow * ncol):
        axes[k // ncol][k % ncol].axis("off")
    handles = [Line2D([], [], color=_COLOURS[j % 5], marker=_MARKERS[j % 5], ms=4, lw=1.3,
                      label=method_labels.get(m, m)) for j, m in enumerate(methods)]
    handles.append(Line2D([], [], color="#888888", lw=0.8, ls="--", label=zero_label))
    if title:
        fig.suptitle(title, fontsize=10)
    # the bottom strip holds the legend (in as many lines as the width needs), above the
    # figure's simulated-data mark
    legend = fit_legend(fig, handles, fontsize=7.5)
    fig.tight_layout(rect=(0, legend.get_window_extent(fig.canvas.get_renderer()).height
                           / fig.bbox.height + 0.03, 1, 1))
    return fig


def _layout(struct: Mapping[str, Sequence[str]]) -> dict[str, tuple[float, float]]:
    targets = list(struct)
    causes = []
    for preds in struct.values():
        for p in preds:
            if p not in causes and p not in struct:
                causes.append(p)
    middle = [t for t in targets if any(t in preds for preds in struct.values())]
    right = [t for t in targets if t not in middle]
    pos: dict[str, tuple[float, float]] = {}
    n = len(causes)
    for i, c in enumerate(causes):
        pos[c] = (0.0, (n - 1) / 2 - i)
    for i, m in enumerate(middle):
        pos[m] = (4.2, (len(middle) - 1) / 2 * 2.6 - 2.6 * i)
    for i, r in enumerate(right):
        pos[r] = (8.4, (len(right) - 1) / 2 * 1.9 - 1.9 * i)
    return pos


#: Width (inches) of :func:`path_diagram`: as saved it fits the thesis' text width (155 mm);
#: its height per data unit of the causes' column (one unit a cause) and at most (220 mm).
PATH_WIDTH, PATH_HEIGHT_PER_ROW, PATH_MAX_HEIGHT = 6.0, 0.70, 8.5
#: Font size of the boxes' subtitles (the construct's name under its code).
PATH_SUBTITLE_SIZE = MIN_TEXT_PT


def _boxes_overlap(a, b, pad: float = 1.0) -> bool:
    return not (a.x1 + pad < b.x0 or b.x1 + pad < a.x0 or a.y1 + pad < b.y0 or b.y1 + pad < a.y0)


def _add_patch(ax, patch):
    """Add ``patch`` to ``ax`` as ``ax.add_patch`` does, without widening the data limits.

    For the diagrams, whose limits are set before their boxes and arrows are added:
    ``add_patch`` computes each patch's path in data space (for an arrow its shrunk path,
    by bezier clipping: about half of a diagram's build) only to widen ``ax.dataLim``, which
    fixed limits never read.  The figure and its files are the same."""
    ax.add_artist(patch)
    patch._set_in_autoscale(True)   # as add_patch leaves it
    return patch


def label_overlaps(fig) -> list[tuple[str, str]]:
    """Pairs of path labels (texts tagged by :func:`path_diagram`) whose boxes overlap, and
    ``(label, "node NAME")`` for a label drawn over a node's box."""
    fig.draw_without_rendering()   # layout only: the extents below need no pixels
    renderer = fig.canvas.get_renderer()
    texts = [t for ax in fig.axes for t in ax.texts if getattr(t, "_hlstudy_path_label", False)]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts]
    nodes = [(p._hlstudy_node, p.get_window_extent(renderer)) for ax in fig.axes
             for p in ax.patches if getattr(p, "_hlstudy_node", None)]
    out = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            if _boxes_overlap(boxes[i][1], boxes[j][1], pad=0.0):
                out.append((boxes[i][0], boxes[j][0]))
        out += [(boxes[i][0], f"node {name}") for name, nb in nodes
                if _boxes_overlap(boxes[i][1], nb, pad=0.0)]
    return out


#: |β| from which a clear path of :func:`path_diagram` is drawn at its widest.
PATH_WIDTH_TOP = 0.6


def path_width(beta: float) -> float:
    """Line width (points) of a clear path of :func:`path_diagram`: 0.4 + 3 |β|, at most
    0.4 + 3 × :data:`PATH_WIDTH_TOP`.

    >>> round(path_width(0.1), 3), round(path_width(-0.9), 3)
    (0.7, 2.2)
    """
    return 0.4 + 3.0 * min(abs(float(beta)), PATH_WIDTH_TOP)


@_resultcache.kept(figure=True)
def path_diagram(estimates: pd.DataFrame, struct: Mapping[str, Sequence[str]], *,
                 node_labels: Mapping[str, str] | None = None, title: str = "",
                 significant_label: str = "", other_label: str = "",
                 negative_label: str = "", decimal: str = ",", width_label: str = ""):
    """The estimated structural model with standardized coefficients on its paths.

    ``estimates`` has lavaan's columns ``lhs, op, rhs, std.all`` and either ``ci.lower,
    ci.upper`` (the interval of ``est``; a path is "clear" when it excludes 0) or ``pvalue``
    (< .05).  ``struct`` is outcome → predictors (:func:`hlstudy.drivers.structure`).
    Paths are drawn from ``struct`` (a path missing from ``estimates`` is a
    :class:`ModelError`).  The legend explains solid, grey and red (negative) arrows and,
    with ``width_label`` (a template with ``{}`` for "= 0,1", "≥ 0,6", e.g. ``"|β| {}"``), the
    widths of the clear paths (:func:`path_width`: |β| 0.1, 0.3 and 0.6 or more).
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from hlstudy.framework import fit_label

    need = {"lhs", "op", "rhs", "std.all"}
    if not need <= set(estimates.columns):
        raise ModelError(f"estimates lack columns {sorted(need - set(estimates.columns))}")
    reg = estimates[estimates["op"] == "~"].set_index(["lhs", "rhs"])
    node_labels = dict(node_labels or {})
    pos = _layout(struct)
    ys = [p[1] for p in pos.values()]
    y_lo, y_hi = min(ys) - 1.2, max(ys) + 0.9
    # the thesis' text width (155 mm) as saved; the height grows with the causes' column,
    # up to the page's (a very long column of causes may still exceed it)
    height = min(PATH_HEIGHT_PER_ROW * (y_hi - y_lo) + 0.5, PATH_MAX_HEIGHT)
    fig, ax = plt.subplots(figsize=(PATH_WIDTH, height))
    # fixed margins (no tight_layout after the labels are placed: it would move them)
    fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.4 / height if title else 0.99,
                        bottom=0.02)
    ax.set_xlim(-1.5, 9.9)
    ax.set_ylim(y_lo, y_hi)
    ax.axis("off")
    w = 2.8
    # subtitles wrapped to the box's inner width as drawn, never shortened; the boxes as tall
    # as the longest one needs (code line, subtitle lines, margins; in data units)
    points_per_x = fig.get_figwidth() * 0.98 * 72 / (9.9 + 1.5)
    points_per_y = height * (ax.get_position().height) * 72 / (y_hi - y_lo)
    subtitles = {n: fit_label(str(node_labels[n]), (w - 0.35) * points_per_x,
                              PATH_SUBTITLE_SIZE, 40) for n in pos if node_labels.get(n)}
    lines = max([t.count("\n") + 1 for t in subtitles.values()] or [0])
    line_h = PATH_SUBTITLE_SIZE * 1.1 / points_per_y
    h = max(0.62, (8 + 14) / points_per_y + lines * line_h)
    for node, (x, y) in pos.items():
        node_box = _add_patch(ax, FancyBboxPatch(
            (x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03",
            fc="#eef3f8" if x == 0 else ("#fde9c9" if x < 8 else "#d9f0d3"), ec="#555555",
            lw=0.8, zorder=3))
        node_box._hlstudy_node = node
        top = y + h / 2
        ax.text(x, top - 5 / points_per_y, node, ha="center", va="top", fontsize=8,
                fontweight="bold", zorder=4)
        if node in subtitles:  # wrapped at word boundaries, never shortened
            label = ax.text(x, top - 16 / points_per_y, subtitles[node], ha="center",
                            va="top", fontsize=PATH_SUBTITLE_SIZE, linespacing=1.1, zorder=4)
            label._hlstudy_box_label = node
    paths = []
    for effect, preds in struct.items():
        for cause in preds:
            if (effect, cause) not in reg.index:
                raise ModelError(f"no estimate for the path {cause} → {effect}")
            r = reg.loc[(effect, cause)]
            if "ci.lower" in reg.columns and np.isfinite(r["ci.lower"]):
                clear = bool(r["ci.lower"] > 0 or r["ci.upper"] < 0)
            elif "pvalue" in reg.columns:
                clear = bool(r["pvalue"] < 0.05)
            else:
                clear = False
            paths.append((cause, effect, float(r["std.all"]), clear))
    renderer = fig.canvas.get_renderer()
    # labels keep off the boxes (arrows pass under the middle column's boxes)
    placed = [p.get_window_extent(renderer) for p in ax.patches
              if getattr(p, "_hlstudy_node", None)]
    for cause, effect, beta, clear in sorted(paths, key=lambda p: (not p[3], p[0], p[1])):
        x0, y0 = pos[cause]
        x1, y1 = pos[effect]
        start, end = (x0 + w / 2, y0), (x1 - w / 2, y1)
        colour = ("#b2182b" if beta < 0 else "#1a1a1a") if clear else "#c8c8c8"
        _add_patch(ax, FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=8,
                                       lw=path_width(beta) if clear else 0.5,
                                       color=colour, shrinkA=1, shrinkB=1,
                                       zorder=1 if not clear else 2, alpha=0.9))
        if not clear:
            continue
        text = f"{beta:.2f}".replace("-", "−").replace(".", decimal)
        best = None
        for frac in (0.5, 0.42, 0.58, 0.34, 0.66, 0.26, 0.74, 0.82, 0.18, 0.46, 0.54, 0.38,
                     0.62, 0.3, 0.7, 0.22, 0.78, 0.14, 0.86):
            mx, my = start[0] + frac * (end[0] - start[0]), start[1] + frac * (end[1] - start[1])
            t = ax.text(mx, my, text, fontsize=MIN_TEXT_PT, color=colour, ha="center", va="center",
                        zorder=5, bbox={"fc": "white", "ec": "none", "pad": 0.4, "alpha": 0.9})
            box = t.get_window_extent(renderer)
            if not any(_boxes_overlap(box, b) for b in placed):
                best = t
                placed.append(box)
                break
            t.remove()
        if best is None:   # every place along the arrow is taken: put it beside the source
            t = ax.text(start[0] + 0.15, start[1] + 0.28 * (len(placed) % 3 - 1), text,
                        fontsize=MIN_TEXT_PT, color=colour, ha="left", va="center", zorder=5,
                        bbox={"fc": "white", "ec": "none", "pad": 0.4, "alpha": 0.9})
            placed.append(t.get_window_extent(renderer))
            best = t
        best._hlstudy_path_label = True
    handles = [Line2D([], [], color="#1a1a1a", lw=1.6, label=significant_label),
               Line2D([], [], color="#b2182b", lw=1.6, label=negative_label),
               Line2D([], [], color="#c8c8c8", lw=0.6, label=other_label)]
    handles = [hd for hd in handles if hd.get_label()]
    if width_label:   # the widths of the clear paths, beside the colours
        handles += [Line2D([], [], color="#1a1a1a", lw=path_width(b),
                           label=width_label.format(("≥ " if b == PATH_WIDTH_TOP else "= ")
                                                    + f"{b:g}".replace(".", decimal)))
                    for b in (0.1, 0.3, PATH_WIDTH_TOP)]
    if handles:
        from matplotlib.transforms import offset_copy

        # 10 points under the plot area whatever the figure's height (a share of the plot
        # area's height moved it further down in a taller figure)
        ax.legend(handles=handles, loc="lower left", fontsize=MIN_TEXT_PT, frameon=False,
                  ncol=2 if width_label else 1, bbox_to_anchor=(0.0, 0.0),
                  bbox_transform=offset_copy(ax.transAxes, fig=fig, y=-10, units="points"))
    if title:
        ax.set_title(title, fontsize=10)
    return fig


#: Marker size (points², as ``scatter``'s ``s``) of :func:`commune_scatter`'s communes.
SCATTER_SIZE = 18
#: Room (points) a commune's name and its leader line keep from another commune's marker,
#: another name or leader, the fitted line, the legend and the frame.
LABEL_CLEARANCE = 2.0
#: A leader line longer than this (points) is shortened where a place nearer the point is clear.
LONG_LEADER = 28.0
#: Gaps (points) between a point and its name tried by :func:`_clear_leaders`, nearest first
#: (the first is a name beside its point, without a leader line), and the directions tried at
#: each gap (degrees, counter-clockwise from the right; upper right first).
_LEADER_GAPS = (0.0, 7.0, 10.0, 14.0, 18.0, 23.0, 28.0, 34.0, 41.0)
_LEADER_ANGLES = (45, 0, 90, 135, 180, 315, 270, 225, 22.5, 67.5, 112.5, 157.5, 202.5, 247.5,
                  292.5, 337.5)
#: Sweeps of :func:`_clear_leaders` over the names (fixed: a name that found no clear place in
#: the first may find one once the others have moved).
_LEADER_SWEEPS = 2


def _leader_segment(centre: np.ndarray, half: np.ndarray, target: np.ndarray, gap: float):
    """The leader line of a name centred at ``centre`` (half width and height ``half``) to
    its point ``target``, from where it leaves the name's box; None when the box is within
    ``gap`` of the point (the name stands beside it, no line is drawn)."""
    u = target - centre
    dist = float(np.hypot(*u))
    if dist == 0:
        return None
    with np.errstate(divide="ignore"):
        exit_at = float(np.min(np.abs(half / u))) * dist   # along the ray, to the box's edge
    if dist - exit_at <= gap:
        return None
    return centre + u / dist * exit_at, target


def _clear_leaders(ax, texts, arrows, points, size: float, fit, legend, arrowprops) -> None:
    """Move the names (``texts``, centred, as adjustText leaves them) whose place or leader
    line is not clear, and those whose leader line is longer than :data:`LONG_LEADER`, to
    the nearest clear place: adjustText's own place or one around the point
    (:data:`_LEADER_GAPS` × :data:`_LEADER_ANGLES`), the shortest leader line first, ties in
    that order; the others stay where adjustText put them.  :data:`_LEADER_SWEEPS` sweeps
    over the names, in their order; a name with no clear place keeps the one it has.

    Clear, in display space with :data:`LABEL_CLEARANCE` points of room: the name's box is
    inside the frame and touches no marker (its whole disc; ``size`` as ``scatter``'s ``s``),
    no other name, no other leader line, the fitted line ``fit`` (its two ends, data
    coordinates) or the legend; a name without a leader line is nearer its own point than
    any other (it reads as that point's name), one with a line keeps twice the room from
    every other marker; the leader line keeps three times the room from every other marker
    (it passes no point close enough to be read as its line) and crosses no other name,
    leader line, the legend or the fitted line.  The leader lines (``arrows``, adjustText's)
    are drawn again to match, one for each name farther than twice the room from its marker
    (nearer, it stands beside its point); ``faults`` names the first thing a place is not
    clear of."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.transforms import Bbox

    from hlstudy.export import _segments_inside

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    scale = fig.dpi / 72.0
    room = LABEL_CLEARANCE * scale
    to_display = ax.transData.transform
    pts = to_display(np.asarray(points, dtype=float))
    radius = 0.5 * np.sqrt(size) * scale
    line = to_display(np.asarray(fit, dtype=float))[None, :, :]
    frame = ax.get_window_extent(renderer)
    legend_box = legend.get_window_extent(renderer) if legend is not None else None
    n = len(texts)
    half = np.array([[0.5 * b.width, 0.5 * b.height]
                     for b in (t.get_window_extent(renderer) for t in texts)])
    centres = to_display(np.array([t.get_position() for t in texts], dtype=float))
    near = radius + 2 * room   # a name this close to its marker needs no leader line

    def box(i, c):
        return np.concatenate([c - half[i], c + half[i]])   # x0, y0, x1, y1

    def overlaps(a, b, pad=0.0):
        return a[0] - pad < b[2] and b[0] < a[2] + pad and a[1] - pad < b[3] and b[1] < a[3] + pad

    def crosses_box(seg, b, pad):
        padded = Bbox.from_extents(*(b + np.array([-pad, -pad, pad, pad])))
        return _segments_inside(np.array([seg]), padded) > 0

    leaders = [_leader_segment(centres[i], half[i], pts[i], near) for i in range(n)]

    def faults(i, c) -> str | None:
        b = box(i, c)
        if (b[0] < frame.x0 + room or b[2] > frame.x1 - room or b[1] < frame.y0 + room
                or b[3] > frame.y1 - room):
            return "frame"
        x, y = pts[:, 0], pts[:, 1]
        if np.any((x + radius + room > b[0]) & (x - radius - room < b[2])
                  & (y + radius + room > b[1]) & (y - radius - room < b[3])):
            return "marker"
        if crosses_box(line[0], b, room):
            return "fit line"
        if legend_box is not None and overlaps(b, legend_box.extents, room):
            return "legend"
        # a name without a leader line nearer its own point than any other (it reads as that
        # point's name); one with a leader line twice the room away from any other
        seg = _leader_segment(c, half[i], pts[i], near)
        gaps = np.delete(np.hypot(np.maximum(np.maximum(b[0] - x, x - b[2]), 0),
                                  np.maximum(np.maximum(b[1] - y, y - b[3]), 0)), i) - radius
        if np.any(gaps <= (2 * room if seg is not None else
                           float(np.hypot(*np.maximum(np.abs(c - pts[i]) - half[i], 0))) + room)):
            return "near another point"
        if seg is not None and legend_box is not None \
                and crosses_box(seg, np.asarray(legend_box.extents), room):
            return "leader on legend"
        if seg is not None and segments_cross(*seg, *line[0]):
            return "leader across fit line"
        if seg is not None:
            others = np.delete(pts, i, axis=0)
            if np.any(segment_point_distances(seg[0], seg[1], others) <= radius + 3 * room):
                return "leader near a marker"
        for j in range(n):
            if j == i:
                continue
            bj = box(j, centres[j])
            if overlaps(b, bj, room):
                return "another name"
            if leaders[j] is not None and crosses_box(leaders[j], b, room):
                return "another leader"
            if seg is not None and (crosses_box(seg, bj, room) or (
                    leaders[j] is not None and segments_cross(*seg, *leaders[j]))):
                return "leader across a name or leader"
        return None

    def length(i, c) -> float:
        seg = _leader_segment(c, half[i], pts[i], near)
        return 0.0 if seg is None else float(np.hypot(*(seg[1] - seg[0])))

    placed = centres.copy()   # adjustText's places, candidates too
    unit = [np.array([np.cos(np.deg2rad(a)), np.sin(np.deg2rad(a))]) for a in _LEADER_ANGLES]
    for _ in range(_LEADER_SWEEPS):
        for i in range(n):
            current = length(i, centres[i])
            faulty = faults(i, centres[i])
            if not faulty and current <= LONG_LEADER * scale:
                continue
            options = [placed[i]]
            for gap in _LEADER_GAPS:
                for u in unit:
                    with np.errstate(divide="ignore"):
                        reach = float(np.min(np.abs(half[i] / np.where(u == 0, 1e-12, u))))
                    # gap 0: beside the point, between the room and ``near``
                    options.append(pts[i] + u * (reach + radius + 1.5 * room + gap * scale))
            # nearest first; among equals, adjustText's place, then in the order above
            lengths = [length(i, c) for c in options]
            for k in sorted(range(len(options)), key=lambda k: (round(lengths[k], 6), k)):
                if not faulty and lengths[k] >= current:
                    break   # no nearer clear place: the name stays
                if not faults(i, options[k]):
                    centres[i] = options[k]
                    leaders[i] = _leader_segment(options[k], half[i], pts[i], near)
                    break
    inverse = ax.transData.inverted()
    drawn = {id(a.patchA): a for a in arrows}
    for i, t in enumerate(texts):
        t.set_position(tuple(inverse.transform(centres[i])))
        arrow = drawn.get(id(t))
        if arrow is not None:
            arrow.remove()
        if leaders[i] is not None:
            ax.add_patch(FancyArrowPatch(posA=tuple(inverse.transform(centres[i])),
                                         posB=tuple(points[i]), patchA=t,
                                         transform=ax.transData, **arrowprops))


@_resultcache.kept(figure=True)
def commune_scatter(link: pd.DataFrame, x: str, y: str, *, label: str = "commune",
                    xlabel: str = "", ylabel: str = "", title: str = "", fit_label: str = "",
                    decimal: str = ","):
    """Commune means of ``x`` against ``y``, every point labelled with its commune.

    Labels are placed by ``adjustText`` (iterative repulsion from other labels, the points,
    the fitted line and the legend, once the layout is settled, with a connector line where
    a label had to move); adjustText keeps labels off the points' centres only, and its
    connector lines off nothing, so a post-pass (:func:`_clear_leaders`) then moves a label
    that touches a marker, another label, a line, the legend or the frame, whose connector
    line passes another point or crosses a label, another line or the legend, or whose
    connector is long, to the nearest clear place by its own point.  The dashed line is the
    least-squares line, with its legend entry ``fit_label``.  Communes missing either value
    are not drawn.
    """
    import matplotlib.pyplot as plt
    from adjustText import adjust_text

    for c in (x, y, label):
        if c not in link.columns:
            raise ModelError(f"column {c!r} not in the commune table")
    d = link[[x, y, label]].dropna().sort_values(label, ignore_index=True)
    if label == "commune":   # printed names: "TT Hữu Lũng", the pre-reform town
        from hlstudy.communes import unit_labels

        d[label] = d[label].map(lambda n: unit_labels().get(n, n))
    if len(d) < 3:
        raise ModelError(f"{len(d)} communes with both values: at least 3 are needed for a scatter")
    xs, ys = d[x].astype(float).round(10).to_numpy(), d[y].astype(float).round(10).to_numpy()
    # within the thesis' text width (the page rule of hlstudy.export), with room for the
    # saved file's padding
    fig, ax = plt.subplots(figsize=(PAGE_FIGURE_WIDTH - 0.1, 4.7))
    ax.scatter(xs, ys, s=SCATTER_SIZE, color="#1f4e79", zorder=3)
    slope, intercept = np.polyfit(xs, ys, 1)
    grid = np.linspace(xs.min(), xs.max(), 2)
    ax.plot(grid, intercept + slope * grid, color="#888888", ls="--", lw=1,
            label=fit_label or None)
    from hlstudy.export import white_halo

    # a white halo, as the maps' names have: the grid lines run behind a name, not through it
    texts = [ax.text(a, b, str(n), fontsize=MIN_TEXT_PT, path_effects=white_halo())
             for a, b, n in zip(xs, ys, d[label], strict=True)]
    fmt = tick_formatter(".2f", decimal)
    ax.xaxis.set_major_formatter(fmt)
    ax.yaxis.set_major_formatter(fmt)
    ax.set_xlabel(xlabel, fontsize=8.5)
    ax.set_ylabel(ylabel, fontsize=8.5)
    ax.tick_params(labelsize=7.5)
    legend = ax.legend(loc="lower right", fontsize=7.5) if fit_label else None
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()   # the plot area as saved, before the labels are placed in it
    # the labels keep off the points, the fitted line (points along it) and the legend; a
    # fixed number of iterations (adjustText's default is a 1-second time limit, which makes
    # the placement, and the files' bytes, depend on the machine's load)
    line = np.linspace(grid[0], grid[1], 40)
    leader = {"arrowstyle": "-", "color": "#999999", "lw": 0.5}
    _, arrows = adjust_text(texts, x=np.concatenate([xs, line]),
                            y=np.concatenate([ys, intercept + slope * line]), ax=ax,
                            objects=[legend] if legend is not None else None, expand=(1.3, 1.6),
                            force_static=(0.4, 0.8), iter_lim=ADJUST_ITERATIONS, arrowprops=leader)
    # adjustText keeps the labels off the points' centres, not off their markers, and not its
    # leader lines off anything: Đồng Tân's ran past Yên Vượng's point and across its name
    _clear_leaders(ax, texts, arrows, np.column_stack([xs, ys]), SCATTER_SIZE,
                   np.column_stack([grid, intercept + slope * grid]), legend, leader)
    for t in texts:
        t._hlstudy_path_label = True
    return fig


#: Where :func:`verdict_figure` writes a panel's axis label (points): this far left of the
#: plot area (clear of half the widest tick number at its left end), centred on the line of
#: the tick numbers (tick 3.5 + pad 2 + half a 7-pt number).
_XLABEL_GAP_PT = 14.0
_TICK_LINE_PT = 3.5 + 2.0 + 3.5
#: The threshold marks of :func:`verdict_figure`: a caret to the side that passes.
_THRESHOLD_MARKERS = {"+": ">", "-": "<"}


@_resultcache.kept(figure=True)
def verdict_figure(parts: pd.DataFrame, *, colours: Mapping[str, str],
                   verdict_labels: Mapping[str, str] | None = None, label: str = "part",
                   sesoi: float = 0.1, xlabels: Sequence[str] = ("", ""), title: str = "",
                   width: int = 48, decimal: str = ",", sesoi_label: str | None = None,
                   per_part: bool = False, threshold_labels: Mapping[str, str] | None = None,
                   scales: Mapping[str, str] | None = None,
                   kind_labels: Mapping[str, str] | None = None):
    """Verdict of every part of the claims: inferential parts above, descriptive parts below.

    ``parts`` has the columns of :func:`hlstudy.evidence.evaluate`'s parts table:
    ``claim_id, inferential, estimate, ci_low, ci_high, verdict, threshold`` and the text
    column ``label`` (e.g. ``part_vi``).  Each part is a point with its 95% interval,
    coloured by its verdict (``colours``: verdict → colour; a legend entry per verdict drawn
    as a point, named by ``verdict_labels``; a part without an estimate, e.g. not testable,
    has its verdict written in its row instead, in its colour); the upper panel shades ±``sesoi`` around 0, the lower one
    marks each part's threshold with "|".  The grey band has its own legend entry,
    ``sesoi_label`` (default ``"±SESOI = 0,1"`` with ``decimal``).  With ``per_part`` each
    inferential part gets its own band, ±its ``sesoi`` column, across its row (the parts are on
    different scales: a path's 0.10, an indirect effect's 0.01, an ICC's 0.05, points on the
    answer scale; one band at ±``sesoi`` made an indirect effect beyond its own 0.01 look
    negligible), and ``sesoi_label`` defaults to ``"±SESOI của thành phần"``.  Tick labels are
    "claim_id: label" wrapped at word boundaries to ``width`` characters
    (:func:`wrap_label`: "NĐ 33", "Điều 5", "≥ 1" are never split), never shortened; rows
    are as tall as their labels and have the same height in every panel, each panel as tall
    as its rows.  Parts of several claims that are one estimate (the same ``kind``, label,
    estimate, interval and verdict, e.g. a path two claims rest on) are one row, named by
    their claims together ("T2, S1: TRAIN → PRO"): one estimate is one point.  The panels are
    stacked, so the figure is as wide as the thesis' text
    (:data:`PAGE_FIGURE_WIDTH`) and grows in height with the rows (:data:`VERDICT_ROW` inches
    per row unit: the committed ledger's parts fit the page's 220 mm); the legend is under
    the lower panel.  With ``threshold_labels`` (the parts' ``direction`` → legend label, e.g.
    ``{"+": "ngưỡng: đạt khi lớn hơn", "-": "ngưỡng: đạt khi nhỏ hơn"}``) each threshold is a
    caret pointing to the side that passes (▶ for "+", ◀ for "-"; a "|" did not say which
    side), each with its legend entry.

    Without ``scales`` the upper panel's axis is labelled ``xlabels[0]`` and the lower one's
    ``xlabels[1]``.  With ``scales`` (each part's ``kind`` → the axis label of its scale,
    e.g. from :func:`hlstudy.evidence.estimate_labels`) the parts are grouped by what their
    estimate is: the kinds of one axis label share a sub-panel with that label and its own
    scale (a path's β, a Spearman ρ and a difference in points were on one axis under one
    label), the sub-panels in the order of ``scales``, inferential ones above the descriptive
    ones; in a sub-panel of several kinds each kind's rows stand under its name,
    ``kind_labels[kind]`` (a bold row of the label column).  Raises :class:`ModelError` when
    a column is missing, a verdict has no colour, a direction has no label, a kind has no
    scale or name, or ``sesoi`` is not a positive number.
    """
    import matplotlib.pyplot as plt
    from matplotlib.transforms import offset_copy

    need = ["claim_id", "inferential", "estimate", "ci_low", "ci_high", "verdict", "threshold",
            label]
    if scales is not None:
        need.append("kind")
    absent = [c for c in need if c not in parts.columns]
    if absent:
        raise ModelError(f"parts table lacks columns {absent}")
    unknown = sorted(set(parts["verdict"]) - set(colours))
    if unknown:
        raise ModelError(f"no colour for the verdicts {unknown}")
    if isinstance(sesoi, bool) or not isinstance(sesoi, int | float | np.integer | np.floating) \
            or not np.isfinite(sesoi) or sesoi <= 0:
        raise ModelError(f"sesoi must be a positive number, got {sesoi!r}")
    verdict_labels = dict(verdict_labels or {})
    if threshold_labels is not None:
        if "direction" not in parts.columns:
            raise ModelError("threshold_labels need a direction column in the parts table")
        marked = parts.loc[~parts["inferential"].astype(bool)
                           & pd.to_numeric(parts["threshold"], errors="coerce").notna(), "direction"]
        unlabelled = sorted(set(marked) - set(threshold_labels))
        if unlabelled:
            raise ModelError(f"no threshold label for the directions {unlabelled}")
    if per_part and "sesoi" not in parts.columns:
        raise ModelError("per_part needs a sesoi column in the parts table")
    if sesoi_label is None:
        sesoi_label = ("±SESOI của thành phần" if per_part else
                       f"±SESOI = {float(sesoi):g}".replace(".", decimal))
    panels = _verdict_panels(_verdict_rows(parts, label, width), scales, kind_labels, xlabels,
                             width)
    # each panel's y span (its rows and headers, the mark's strip below them, 0.05 above): the
    # heights of the stacked panels are in this ratio, so a row unit is as tall in all
    spans = [max(sum(h for *_, h in items), 1.0) + _MARK_STRIP + 0.05 for _, _, items in panels]
    fig, axes = plt.subplots(len(panels), 1, squeeze=False,
                             figsize=(PAGE_FIGURE_WIDTH,
                                      VERDICT_ROW * sum(spans) + 1.4 + 0.6 * len(panels)),
                             gridspec_kw={"height_ratios": spans})
    axes = list(axes[:, 0])
    band = None
    if per_part:   # one band per row, ±that part's own SESOI (drawn with the rows below)
        from matplotlib.patches import Patch

        band = Patch(color="#eeeeee", label=sesoi_label)
    drawn: set = set()   # the verdicts drawn as a point: each has a legend entry
    directions: set = set()   # the thresholds' directions drawn as carets: each has its entry
    for k, (ax, (inferential, xlabel, items)) in enumerate(zip(axes, panels, strict=True)):
        if inferential:   # the band and the zero line across the rows, not the mark's strip
            rows_bottom = _MARK_STRIP / spans[k]   # where the rows begin, above the strip
            if band is None:
                band = ax.axvspan(-sesoi, sesoi, ymin=rows_bottom, color="#eeeeee", zorder=0,
                                  label=sesoi_label)
            elif not per_part:
                ax.axvspan(-sesoi, sesoi, ymin=rows_bottom, color="#eeeeee", zorder=0)
            ax.axvline(0, ymin=rows_bottom, color="#888888", lw=0.7)
        ys, texts, headers = [], [], []
        top = 0.0
        for text, r, hh in items:
            yy = -(top + hh / 2)
            top += hh
            ys.append(yy)
            texts.append(text)
            if r is None:   # the name of the kind of the rows below
                headers.append(len(texts) - 1)
                continue
            own = float(r["sesoi"]) if per_part and inferential else np.nan
            if np.isfinite(own) and own > 0:
                ax.barh(yy, 2 * own, left=-own, height=hh * 0.9, color="#eeeeee", zorder=0)
            est = float(r["estimate"])
            if not np.isfinite(est):   # e.g. not testable: its row says so, in its colour
                ax.text(0.01, yy, verdict_labels.get(r["verdict"], r["verdict"]),
                        transform=ax.get_yaxis_transform(), ha="left", va="center",
                        fontsize=MIN_TEXT_PT, style="italic", color=colours[r["verdict"]])
                continue
            drawn.add(r["verdict"])
            lo = float(r["ci_low"]) if np.isfinite(r["ci_low"]) else est
            hi = float(r["ci_high"]) if np.isfinite(r["ci_high"]) else est
            ax.errorbar(est, yy, xerr=[[est - lo], [hi - est]], fmt="o", ms=3.5, lw=1,
                        color=colours[r["verdict"]])
            if not inferential and np.isfinite(r["threshold"]):
                if threshold_labels is None:
                    ax.plot([r["threshold"]], [yy], marker="|", ms=8, color="#333333")
                else:   # a caret pointing to the side that passes
                    ax.plot([r["threshold"]], [yy], marker=_THRESHOLD_MARKERS[r["direction"]],
                            ms=5, color="#333333", linestyle="none")
                    directions.add(r["direction"])
        ax.set_yticks(ys, texts, fontsize=MIN_TEXT_PT, linespacing=1.0)
        for i in headers:
            ax.get_yticklabels()[i].set_fontweight("bold")
        # its own rows, and below them a strip as tall as the simulated-data mark, so that
        # the mark hides no part (hlstudy.export)
        ax.set_ylim(0.05 - spans[k], 0.05)
        ax.tick_params(axis="x", labelsize=7, pad=2)
        ax.xaxis.set_major_formatter(tick_formatter("g", decimal))
        # the axis label in the label column, on the line of the tick numbers it names (under
        # the axis it took a line of its own in each of the stacked panels)
        ax.set_xlabel(xlabel, fontsize=7, ha="right", va="center")
        ax.xaxis.set_label_coords(0, 0, transform=offset_copy(
            ax.transAxes, fig=fig, x=-_XLABEL_GAP_PT, y=-_TICK_LINE_PT, units="points"))
    if band is None:   # no inferential panel: the band's entry still says what it would be
        from matplotlib.patches import Patch

        band = Patch(color="#eeeeee", label=sesoi_label)
    handles = [axes[0].plot([], [], "o", color=colours[v], label=verdict_labels.get(v, v))[0]
               for v in colours if v in drawn]
    handles.append(band)
    handles += [axes[-1].plot([], [], marker=_THRESHOLD_MARKERS[d], ms=5, color="#333333",
                              linestyle="none", label=threshold_labels[d])[0]
                for d in ("+", "-") if d in directions]
    if title:
        fig.suptitle(title, fontsize=9)
    # the legend under the lower panel, in as many columns as fit the figure's width
    legend = fit_legend(fig, handles, fontsize=7)

    def layout():
        # the axes' decorations 5 points above the legend's top (tight_layout's pad, 8 points,
        # less 3): a stacked panel's every point counts on the page
        top = legend.get_window_extent(fig.canvas.get_renderer()).y1 - 3 / 72 * fig.dpi
        fig.tight_layout(rect=(0, top / fig.bbox.height, 1, 1), pad=0.8, h_pad=0.4)

    layout()
    # the decorations measured, the rows get VERDICT_ROW inches per row unit
    areas = sum(ax.get_position().height for ax in axes) * fig.get_figheight()
    fig.set_size_inches(PAGE_FIGURE_WIDTH, fig.get_figheight() - areas + VERDICT_ROW * sum(spans))
    layout()
    return fig


def _verdict_rows(parts: pd.DataFrame, label: str, width: int) -> list[dict]:
    """The rows of :func:`verdict_figure`: one per distinct estimate, in the parts' order,
    named "claim_id: label" wrapped to ``width``, the claims sharing it joined ("T2, S1")."""
    keys = ("inferential", "kind", label, "estimate", "ci_low", "ci_high", "verdict",
            "threshold", "direction", "sesoi")
    rows: dict[tuple, dict] = {}
    for r in parts.to_dict("records"):
        r["inferential"] = bool(r["inferential"])
        for c in ("estimate", "ci_low", "ci_high", "threshold", "sesoi"):
            r[c] = float(r.get(c, np.nan)) if pd.notna(r.get(c, np.nan)) else np.nan
        key = tuple(repr(r.get(c)) for c in keys)
        if key in rows:
            if r["claim_id"] not in rows[key]["claims"]:
                rows[key]["claims"].append(str(r["claim_id"]))
        else:
            rows[key] = {**r, "claims": [str(r["claim_id"])]}
    out = list(rows.values())
    for r in out:
        r["text"] = wrap_label(f"{', '.join(r['claims'])}: {r[label]}", width)
    return out


def _row_height(text: str) -> float:
    """Row units of a label of ``text`` (a one-line row is 0.55)."""
    return 0.55 + 0.45 * text.count("\n")


def _verdict_panels(rows: list[dict], scales: Mapping[str, str] | None,
                    kind_labels: Mapping[str, str] | None, xlabels: Sequence[str],
                    width: int) -> list:
    """The panels of :func:`verdict_figure`, top to bottom: ``(inferential, x label, items)``
    with items ``(text, row or None for a kind's name, height in row units)``."""
    if scales is None:
        return [(inf, xlabels[k], [(r["text"], r, _row_height(r["text"])) for r in rows
                                   if r["inferential"] == inf])
                for k, inf in enumerate((True, False))]
    kinds = list(dict.fromkeys(str(r["kind"]) for r in rows))
    unscaled = sorted(k for k in kinds if k not in scales)
    if unscaled:
        raise ModelError(f"no scale (axis label) for the kinds {unscaled}")
    order = {k: i for i, k in enumerate(scales)}
    panels = []
    for inf in (True, False):
        mine = [r for r in rows if r["inferential"] == inf]
        present = sorted({str(r["kind"]) for r in mine}, key=order.__getitem__)
        for axis in dict.fromkeys(scales[k] for k in present):
            group = [k for k in present if scales[k] == axis]
            items = []
            # the kinds' names above their rows where they share an axis; a descriptive
            # part's label names what it is already ("Cronbach's alpha of ETH", "share with
            # ...": the rule writes it), an inferential one's names its variables only
            named = len(group) > 1 and inf
            if named:
                unnamed = sorted(k for k in group if k not in (kind_labels or {}))
                if unnamed:
                    raise ModelError(f"no name (kind_labels) for the kinds {unnamed}, which "
                                     f"share the axis {axis!r}")
            # kinds of one name (a path's β and an association's β) are one group
            names = {k: str(kind_labels[k]) if named else "" for k in group}
            for name in dict.fromkeys(names[k] for k in group):
                if named:
                    text = wrap_label(name, 60)
                    items.append((text, None, _row_height(text)))
                items += [(r["text"], r, _row_height(r["text"])) for r in mine
                          if names.get(str(r["kind"])) == name]
            panels.append((inf, wrap_label(axis, width), items))
    return panels
