"""Figures of the commune diagnostic: caterpillar plot and share bars with intervals.

Functions take the tidy tables of :mod:`hlstudy.diagnostic` and return a matplotlib figure;
labels are passed in by the caller (use :func:`hlstudy.export.tr` for the language), so the
library stays language-neutral.  Export with :func:`hlstudy.export.save_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from hlstudy import _resultcache
from hlstudy.errors import ModelError
from hlstudy.export import FIGURE_MAX_HEIGHT_IN, FIGURE_WIDTH_IN, vi_sort_key

#: Width of a full-width figure, inches (:data:`hlstudy.export.FIGURE_WIDTH_IN`): with
#: savefig's 0.1-inch pad on each side it prints at its natural size in the thesis' 155 mm text
#: block (``hlstudy.export.FIGURE_MAX_MM``).
FIG_WIDTH = FIGURE_WIDTH_IN
#: Tallest figure, inches (:data:`hlstudy.export.FIGURE_MAX_HEIGHT_IN`: 220 mm, the text
#: block less its caption and source line, less the pad).  A figure grows with its rows up to
#: this height, then packs its rows closer, down to :data:`MIN_ROW` (beyond that an own
#: study's figure grows past the page; save_figure warns).
FIG_MAX_HEIGHT = FIGURE_MAX_HEIGHT_IN
#: Closest rows of commune labels (inches, 8.5 points): an 8-point label, Vietnamese marks
#: included, is 8.4 points tall.
MIN_ROW = 0.118
#: Font size of dense tick labels (one per commune) in a multi-panel figure.
DENSE_TICKS = 8


def bottom_of(fig) -> dict:
    """Arguments that anchor a figure legend ``loc="lower center"`` to the bottom of ``fig``
    as drawn.  Without them the legend is placed on the figure's box, which
    ``savefig(bbox_inches="tight")`` replaces by the cropped box: where the figure's
    simulated-data mark had moved under the legend (below the figure), the legend moved down
    with the box, onto the mark."""
    return {"bbox_to_anchor": (0.5, 0.0), "bbox_transform": fig.transFigure}


def row_pitch(rows: int, natural: float, overhead: float) -> float:
    """Inches per row of a figure with ``rows`` rows (summed over stacked panels) and
    ``overhead`` inches of titles, axes and legend: ``natural``, or less so that the figure
    stays within :data:`FIG_MAX_HEIGHT`, but never below :data:`MIN_ROW`.

    >>> row_pitch(10, 0.26, 0.4), row_pitch(40, 0.26, 0.4), row_pitch(200, 0.26, 0.4)
    (0.26, 0.2, 0.118)
    """
    if rows <= 0:
        return natural
    return max(MIN_ROW, min(natural, (FIG_MAX_HEIGHT - overhead) / rows))


def shown_rows(table: pd.DataFrame, min_cell: int | None) -> pd.Series:
    """Which rows of a caterpillar ``table`` are drawn: all without ``min_cell``, else those
    whose ``n`` is at least ``min_cell`` (a missing ``n`` is not drawn).  A boolean Series on
    ``table``'s index; :func:`caterpillar` and :func:`caterpillar_panels` draw these rows,
    and a notebook names the others (``table.loc[~shown_rows(table, 5), label]``).

    >>> shown_rows(pd.DataFrame({"n": [3, 5, None]}), 5).tolist()
    [False, True, False]
    """
    if min_cell is None:
        return pd.Series(True, index=table.index)
    return pd.to_numeric(table["n"], errors="coerce") >= min_cell


#: The note of a caterpillar figure that leaves communes out (:func:`shown_rows`), with
#: ``{min_cell}`` and ``{names}``; a notebook passes its language's (``hidden_note``).
HIDDEN_NOTE = "Not shown (fewer than {min_cell} respondents): {names}."
#: Font size of that note (points).
NOTE_PT = 7.5


def hidden_labels(table: pd.DataFrame, label: str, min_cell: int | None) -> list[str]:
    """The ``label`` of every row of ``table`` that :func:`shown_rows` leaves out, in
    Vietnamese alphabetical order (:func:`hlstudy.export.vi_sort_key`), each once.

    >>> hidden_labels(pd.DataFrame({"c": ["Yên Sơn", "Cai Kinh", "Hồ Sơn"], "n": [3, 9, 2]}),
    ...               "c", 5)
    ['Hồ Sơn', 'Yên Sơn']
    """
    if min_cell is None or "n" not in table.columns:
        return []
    names = table.loc[~shown_rows(table, min_cell), label].astype(str)
    return sorted(set(names), key=vi_sort_key)


def _hidden_text(groups: Sequence[tuple[str, list[str]]], min_cell: int | None,
                 template: str | None) -> str:
    """The note naming the left-out rows of a figure's panels (``(panel title, names)``): the
    names alone when every panel leaves out the same ones, else each panel's after its
    title; ``""`` when none is left out.  The spaces inside a name are non-breaking (U+00A0),
    so that :func:`_note`'s wrapping never breaks a name; it writes them as spaces."""
    if min_cell is None or not any(names for _, names in groups):
        return ""
    template = HIDDEN_NOTE if template is None else str(template)
    # a name is never broken between lines (its spaces non-breaking until _note wraps)
    groups = [(title, [" ".join(str(n).split()).replace(" ", "\u00a0") for n in names])
              for title, names in groups]
    if len({tuple(names) for _, names in groups}) == 1:
        listed = ", ".join(groups[0][1])
    else:
        listed = "; ".join(f"{' '.join(str(title).split())}: {', '.join(names)}" if title
                           else ", ".join(names) for title, names in groups if names)
    try:
        return template.format(min_cell=min_cell, names=listed)
    except (KeyError, IndexError, ValueError) as err:
        raise ModelError(f"hidden_note may use {{min_cell}} and {{names}} only: {template!r} "
                         f"({err})") from None


def _note(fig, text: str):
    """The left-out rows' note, centred under the figure's axes, wrapped to its width."""
    from hlstudy.framework import fit_label

    wrapped = fit_label(text, 0.9 * 72 * fig.get_figwidth(), NOTE_PT, chars=len(text))
    note = fig.text(0.5, 0.0, wrapped, ha="center", va="bottom", fontsize=NOTE_PT)
    note.set_gid("hidden-rows-note")
    return note


def _note_inches(note) -> float:
    """Height (inches) kept for ``note`` under the axes (none without a note)."""
    return 0.0 if note is None else 0.08 + NOTE_PT / 72 * 1.25 * (note.get_text().count("\n") + 1)


@_resultcache.kept(figure=True)
def caterpillar(table: pd.DataFrame, *, label: str, xlabel: str = "", title: str = "",
                reference: float | None = None, reference_label: str = "",
                threshold: float | None = None, threshold_label: str = "",
                show_n: bool = True, min_cell: int | None = None, ax=None,
                legend: bool = True, xlim: tuple[float, float] | None = None,
                reference_style: str = "--", headroom: float = 0.0,
                hidden_note: str | None = None):
    """Commune estimates with their intervals, sorted (a caterpillar plot).

    ``table`` has ``estimate, lo, hi, n`` and the column ``label`` (one row per commune, one
    variable), as returned by :func:`hlstudy.diagnostic.quality.commune_means` filtered to one
    variable.  ``reference`` draws the district mean and ``threshold`` the cut-off (dashed and
    dotted vertical lines); each line needs its legend label (``reference_label``,
    ``threshold_label``), and the legend names them unless ``legend=False`` (below the plot
    area in a figure of its own, at matplotlib's "best" place on a given ``ax``; a multi-panel
    figure shows one legend for all panels: :func:`caterpillar_panels`; give references of
    different meaning different ``reference_style`` line styles there).  ``xlim`` fixes the
    x range (default: matplotlib's).  With ``min_cell``, communes with fewer people are left
    out (the small-cell rule), and a figure of its own says so under its plot area: the note
    ``hidden_note`` (default :data:`HIDDEN_NOTE`; ``{min_cell}`` and ``{names}``, the
    communes left out, :func:`hidden_labels`), drawn only when some are left out (on a given
    ``ax``, :func:`caterpillar_panels` writes the note of the whole figure).  ``headroom`` leaves that many empty rows above the top
    commune (room for the simulated-data mark in a narrow panel).  Returns the figure.

    Raises :class:`~hlstudy.errors.ModelError` when a column is missing, a commune has more
    than one row, or a line has no label.

    >>> t = pd.DataFrame({"c": ["A", "B"], "estimate": [3.4, 3.9], "lo": [3.1, 3.6],
    ...                   "hi": [3.7, 4.2], "n": [20, 22]})
    >>> fig = caterpillar(t, label="c", reference=3.6, reference_label="District mean")
    >>> [x.get_text() for x in fig.legends[0].get_texts()]
    ['District mean']
    """
    import matplotlib.pyplot as plt

    need = ["estimate", "lo", "hi", "n", label]
    absent = [c for c in need if c not in table.columns]
    if absent:
        raise ModelError(f"table lacks columns {absent}")
    if table[label].duplicated().any():
        raise ModelError("one row per commune expected (filter to one variable first)")
    for value, text, what in ((reference, reference_label, "reference"),
                              (threshold, threshold_label, "threshold")):
        if value is not None and not str(text).strip():
            raise ModelError(f"a {what} line needs its legend label ({what}_label)")
    if xlim is not None and not (len(xlim) == 2 and float(xlim[0]) < float(xlim[1])):
        raise ModelError(f"xlim must be (low, high) with low < high, got {xlim!r}")
    # Rounded far below what the figure can show, so that last-bit differences between BLAS
    # kernels cannot move an axis limit (and with it the files' bytes) on another machine.
    t = table.assign(**{c: table[c].astype(float).round(10) for c in ("estimate", "lo", "hi")})
    t = t.sort_values(["estimate", label], ascending=[True, True]).reset_index(drop=True)
    if reference is not None:
        reference = round(float(reference), 10)
    hidden = hidden_labels(t, label, min_cell)
    if min_cell is not None:
        t = t[shown_rows(t, min_cell)].reset_index(drop=True)
    own = ax is None
    note = None
    if own:
        fig, ax = plt.subplots(figsize=(FIG_WIDTH, row_pitch(len(t), 0.26, 1.5) * len(t) + 1.5))
        text = _hidden_text([("", hidden)], min_cell, hidden_note)
        if text:   # the figure says which communes it leaves out, and why
            note = _note(fig, text)
            fig.set_size_inches(FIG_WIDTH, fig.get_figheight() + _note_inches(note))
    else:
        fig = ax.figure
    y = np.arange(len(t))
    lo = (t["estimate"] - t["lo"]).clip(lower=0).fillna(0)
    hi = (t["hi"] - t["estimate"]).clip(lower=0).fillna(0)
    ax.errorbar(t["estimate"], y, xerr=[lo, hi], fmt="o", color="#1f4e79", ecolor="#7f9fbf",
                elinewidth=1.6, capsize=2, markersize=4)
    names = [f"{a} (n={b})" if show_n else str(a) for a, b in zip(t[label], t["n"], strict=True)]
    ax.set_yticks(y, names)
    if reference is not None:
        ax.axvline(reference, color="grey", linestyle=reference_style, linewidth=1,
                   label=reference_label)
    if threshold is not None:
        ax.axvline(threshold, color="#b22222", linestyle=":", linewidth=1.2, label=threshold_label)
    lines = legend and (reference is not None or threshold is not None)
    if lines and not own:
        ax.legend(loc="best", fontsize=8)
    ax.set_xlabel(xlabel)
    if title:
        ax.set_title(title)
    ax.set_ylim(-0.7, len(t) - 0.3 + float(headroom))
    if xlim is not None:
        ax.set_xlim(float(xlim[0]), float(xlim[1]))
    if own:
        # the legend in one row below the plot area, never over a commune's interval, and
        # the note of the left-out communes above it
        legend_in = 0.35 if lines else 0.0
        height = fig.get_figheight()
        if note is not None:
            note.set_y((legend_in + 0.04) / height)
        bottom = legend_in + _note_inches(note)
        fig.tight_layout(rect=(0, bottom / height, 1, 1))
        if lines:
            fig.legend(*ax.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8,
                       frameon=False, **bottom_of(fig))
    return fig


def caterpillar_range(tables: Sequence[pd.DataFrame], *, lines: Sequence[float | None] = (),
                      pad: float = 0.04) -> tuple[float, float]:
    """One x range that holds every interval (``lo``, ``hi``) of ``tables`` and every
    reference or threshold value in ``lines``, widened by ``pad`` of its span on each side.

    Used to draw the panels of one figure (or sibling figures) on the same scale.  Values are
    rounded to 10 decimals first (byte-stable figures across BLAS kernels).  Raises
    :class:`~hlstudy.errors.ModelError` when nothing finite is given.

    >>> t = pd.DataFrame({"lo": [3.0, 3.2], "hi": [3.5, 4.0]})
    >>> caterpillar_range([t], lines=[2.5], pad=0)
    (2.5, 4.0)
    """
    values = [pd.to_numeric(t[c], errors="coerce").astype(float).round(10)
              for t in tables for c in ("lo", "hi") if c in t.columns]
    values.append(pd.Series([v for v in lines if v is not None], dtype=float).round(10))
    allv = pd.concat(values, ignore_index=True) if values else pd.Series(dtype=float)
    allv = allv[np.isfinite(allv)]
    if allv.empty:
        raise ModelError("no finite interval or line to set a range from")
    lo, hi = float(allv.min()), float(allv.max())
    span = hi - lo if hi > lo else 1.0
    return round(lo - pad * span, 10), round(hi + pad * span, 10)


@_resultcache.kept(figure=True)
def caterpillar_panels(panels: Sequence[dict], *, label: str, ncols: int = 2,
                       panel_size: tuple[float, float] | None = None, xlabel: str = "",
                       title_size: float | None = None, suptitle: str = "",
                       hidden_note: str | None = None, **common):
    """Several caterpillar plots in one figure on **one x range**, with **one legend** for
    the reference lines below the panels.

    ``panels`` is a sequence of dicts, one per panel, with ``table`` (as for
    :func:`caterpillar`) and any per-panel argument of :func:`caterpillar` (``title``,
    ``reference``, ``reference_label``, ``reference_style``, ``threshold``,
    ``threshold_label``, ``show_n``);
    ``common`` holds arguments shared by every panel (``min_cell``, ``show_n``, ...).  The
    range is :func:`caterpillar_range` over the panels' intervals (after ``min_cell``) and
    lines.  ``suptitle`` titles the whole figure (and its row of ``figures/index.csv``).
    Unused grid cells are hidden.  Several panels share one x label (below them, above the
    legend) and show the x tick labels on the bottom panel of each column; each title is
    wrapped, whole, to its plot area.  Without ``panel_size`` the figure is
    :data:`FIG_WIDTH` wide and as tall as its rows need (:func:`row_pitch`, the
    decorations measured after layout), so that it prints at its natural size; ``panel_size``
    (width, height in inches per panel) fixes it instead.  Communes that ``min_cell`` leaves
    out are named under the x label, above the legend, in the note ``hidden_note`` (as for
    :func:`caterpillar`; each panel's after its title unless all leave out the same), only
    when some are left out.  Returns the figure; each line label appears once
    in the figure legend.  Raises :class:`~hlstudy.errors.ModelError` for no panels, a panel
    without ``table``, or any error of :func:`caterpillar`.
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    if not panels:
        raise ModelError("no panels to draw")
    if any("table" not in p for p in panels):
        raise ModelError("every panel needs its 'table'")
    if int(ncols) < 1:
        raise ModelError(f"ncols must be at least 1, got {ncols!r}")
    ncols = min(int(ncols), len(panels))
    nrows = -(-len(panels) // ncols)
    min_cell = common.get("min_cell")
    shown, hidden = [], []
    for p in panels:
        t = p["table"]
        if min_cell is not None and "n" in t.columns:
            hidden.append((p.get("title", ""), hidden_labels(t, label, min_cell)))
            t = t[shown_rows(t, min_cell)]
        shown.append(t)
    note_text = _hidden_text(hidden, min_cell, hidden_note)
    lines = [p.get(k) for p in panels for k in ("reference", "threshold")]
    lines += [common.get(k) for k in ("reference", "threshold")]
    xlim = caterpillar_range(shown, lines=lines)
    height = max(len(t) for t in shown)
    # narrow panels: one empty row on top, where the simulated-data mark hides no interval
    room = 1.0 if len(panels) > 1 else 0.0
    w, h = panel_size or (FIG_WIDTH / ncols, 0.2 * (height + room) + 0.9)
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows + 0.5),
                             squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    shared = len(panels) > 1   # one x range: one x label, below the panels
    for i, (ax, p) in enumerate(zip(axes.ravel(), panels, strict=False)):
        kw = {**common, **{k: v for k, v in p.items() if k != "table"}}
        caterpillar(p["table"], label=label, ax=ax, legend=False, xlim=xlim,
                    xlabel="" if shared else xlabel, headroom=room, **kw)
        if shared:
            ax.tick_params(labelsize=DENSE_TICKS)
            ax.xaxis.set_major_locator(MaxNLocator(4, steps=[1, 2, 5, 10]))
            if i + ncols < len(panels):   # the panel below shows the same x range
                ax.tick_params(labelbottom=False)
        if title_size is not None:
            ax.title.set_fontsize(title_size)
    handles = {}
    for ax in axes.ravel()[:len(panels)]:
        for hnd, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(lab, hnd)
    if suptitle:
        fig.suptitle(suptitle)   # tight_layout leaves room for it
    ncol = _legend_columns(fig, handles, fontsize=8)
    band_in = 0.1 + 0.17 * -(-len(handles) // ncol) if handles else 0.0   # the legend's
    # the note of the left-out communes, between the x label and the legend
    note = _note(fig, note_text) if note_text else None
    if note is not None:
        fig.set_size_inches(fig.get_figwidth(), fig.get_figheight() + _note_inches(note))

    def layout():
        height = fig.get_figheight()
        band = (band_in + _note_inches(note)) / height
        if note is not None:
            note.set_y((band_in + 0.04) / height)
        if shared and xlabel:   # just above the legend (and the note)
            fig.supxlabel(xlabel, y=band, va="bottom", fontsize=plt.rcParams["axes.labelsize"])
        fig.tight_layout(rect=(0, band, 1, 1))

    layout()
    titled = [ax for ax in axes.ravel()[:len(panels)] if ax.get_title()]
    if titled:   # each title wrapped to its plot area's width (never shortened), then laid out
        from hlstudy.framework import fit_label

        for ax in titled:
            size = ax.title.get_fontsize()
            ax.set_title(fit_label(ax.get_title(), 72 * ax.get_position().width
                                   * fig.get_figwidth(), size, chars=80), fontsize=size)
        layout()
    if panel_size is None:
        # the height that gives each commune its row: what the titles, tick labels and
        # legend take is measured (inches), the rows get the rest, up to the page
        areas = sum(max(ax.get_position().height for ax in row) for row in axes
                    if any(a.get_visible() for a in row)) * fig.get_figheight()
        pitch = row_pitch(int((height + room) * nrows), 0.2, fig.get_figheight() - areas)
        fig.set_size_inches(fig.get_figwidth(),
                            fig.get_figheight() - areas + pitch * (height + room) * nrows)
        layout()
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="lower center",
                   ncol=ncol, fontsize=8, frameon=False, **bottom_of(fig))
    return fig


def _legend_columns(fig, handles: dict, *, fontsize: float, most: int = 3) -> int:
    """The most columns, up to ``most``, of a figure legend of ``handles`` (label → handle)
    that keep it within the figure's width (the figure's mark, where it would cover the
    legend, moves under it: :func:`hlstudy.export._clear_of_texts`)."""
    if not handles:
        return 1
    renderer = fig.canvas.get_renderer()
    for ncol in range(min(most, len(handles)), 1, -1):
        trial = fig.legend(list(handles.values()), list(handles), ncol=ncol, fontsize=fontsize,
                           frameon=False)
        width = trial.get_window_extent(renderer).width
        trial.remove()
        if width <= 0.95 * fig.bbox.width:
            return ncol
    return 1


@_resultcache.kept(figure=True)
def share_bars(table: pd.DataFrame, *, label: str, xlabel: str = "", title: str = "",
               order: Sequence[str] | None = None, percent: bool = True,
               min_cell: int | None = None, suppressed_label: str = "<5", ax=None,
               wrap: int | None = None):
    """Horizontal bars of ``share`` with Wilson error bars (``lo``, ``hi``), one per ``label``;
    a share whose interval has no width (a census share, exact: ``lo = hi``) has no error bar.

    With ``min_cell``, a bar whose ``k`` or ``n`` counts 1 to ``min_cell − 1`` people is not
    drawn and is marked ``suppressed_label`` instead — the figure keeps the tables'
    small-cell rule (:func:`hlstudy.export.suppress_small_cells`).  A table already
    suppressed (cells equal to ``suppressed_label``, e.g. from
    :func:`hlstudy.diagnostic.profile.suppress_shares`, which also hides complementary
    cells) is drawn with the same bars hidden; a complementary cell is marked ``x``.

    ``wrap`` breaks each bar's label into lines of at most that many characters at word
    boundaries (:func:`hlstudy.pathplot.wrap_label`: nothing is cut), for a narrow panel.
    """
    import matplotlib.pyplot as plt

    absent = [c for c in ("share", "lo", "hi", label) if c not in table.columns]
    if absent:
        raise ModelError(f"table lacks columns {absent}")
    t = table.copy()
    if order is not None:
        t = t.set_index(label).reindex(list(order)).reset_index()
    scale = 100.0 if percent else 1.0
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(FIG_WIDTH, row_pitch(len(t), 0.35, 1.2) * len(t) + 1.2))
    else:
        fig = ax.figure
    y = np.arange(len(t))[::-1]
    if min_cell is not None:
        from hlstudy.export import COMPLEMENTARY

        small = pd.Series(False, index=t.index)
        mark = pd.Series(suppressed_label, index=t.index, dtype=object)
        for c in ("k", "n", "share"):
            if c in t.columns:
                small |= t[c].astype(object).eq(suppressed_label)
                comp = t[c].astype(object).eq(COMPLEMENTARY)
                mark[comp & ~small] = COMPLEMENTARY   # hidden to protect another cell
                small |= comp
        for c in ("k", "n"):
            if c in t.columns:
                v = pd.to_numeric(t[c], errors="coerce")
                small |= (v >= 1) & (v < min_cell)
        for c in ("share", "lo", "hi"):
            t[c] = pd.to_numeric(t[c].astype(object).where(~small), errors="coerce")
        for yi, m in zip(y[small.to_numpy()], mark[small], strict=True):
            ax.text(1.0 if percent else 0.01, yi, m, va="center", fontsize=7,
                    gid=f"{SUPPRESSED_GID}:{m}:{min_cell}")
    s = t["share"].astype(float) * scale
    # a share of exactly 0 draws no bar: it says "0", so that it is not read as a hidden cell
    for yi in y[(s == 0).to_numpy()]:
        ax.text(1.0 if percent else 0.01, yi, "0", va="center", fontsize=7)
    err = [(s - t["lo"].astype(float) * scale).clip(lower=0).fillna(0),
           (t["hi"].astype(float) * scale - s).clip(lower=0).fillna(0)]
    ax.barh(y, s.fillna(0), color="#6c8ebf")
    # error bars only where there is an interval: a census share is exact (lo = hi), and a
    # zero-width bar would still draw its caps as tick marks at the bar's end
    wide = ((err[0] + err[1]) > 0).to_numpy()
    if wide.any():
        ax.errorbar(s.fillna(0).to_numpy()[wide], y[wide],
                    xerr=[err[0].to_numpy()[wide], err[1].to_numpy()[wide]], fmt="none",
                    ecolor="#333333", capsize=2)
    names = [str(v) for v in t[label]]
    if wrap is not None:
        from hlstudy.pathplot import wrap_label

        names = [wrap_label(v, int(wrap)) for v in names]
    ax.set_yticks(y, names)
    ax.set_xlabel(xlabel)
    if percent:
        ax.set_xlim(0, 100)
    if title:
        ax.set_title(title)
    if own:
        fig.tight_layout()
        add_suppression_note(fig)
    return fig


#: ``gid`` prefix of the marks :func:`share_bars` draws for hidden bars (``<prefix>:<mark>:<min_cell>``).
SUPPRESSED_GID = "hlstudy-hidden-cell"


def suppression_note(marks: Sequence[str], min_cell: int) -> str:
    """The sentence that explains the marks of hidden bars, in the label language.

    ``marks`` are those drawn (the small-cell mark, e.g. ``<5``, and the complementary mark
    ``x`` of :data:`hlstudy.export.COMPLEMENTARY`); empty when none is.

    >>> suppression_note(["<5"], 5)   # the labels' language is Vietnamese unless set
    '<5: dưới 5 người, không hiển thị'
    """
    from hlstudy.export import COMPLEMENTARY, tr

    parts = [tr(f"{m}: dưới {min_cell} người, không hiển thị",
                f"{m}: fewer than {min_cell} people, not shown")
             for m in sorted(set(marks)) if m != COMPLEMENTARY]
    if COMPLEMENTARY in marks:
        parts.append(tr(f"{COMPLEMENTARY}: ẩn để không suy ra được ô dưới {min_cell} từ các ô khác",
                        f"{COMPLEMENTARY}: hidden so that a cell under {min_cell} cannot be worked "
                        "out from the others"))
    return "; ".join(parts)


def add_suppression_note(fig) -> None:
    """Write :func:`suppression_note` under ``fig`` when a plot area of it holds marks of hidden
    bars (:func:`share_bars`, also when drawn into the panels of a figure of one's own; call
    this after the figure's last ``tight_layout``).  The figure grows by the note's line; a
    figure without such marks is left as it is."""
    marks, floor = [], None
    for ax in fig.axes:
        for text in ax.texts:
            gid = text.get_gid() or ""
            if gid.startswith(SUPPRESSED_GID + ":"):
                _prefix, mark, min_cell = gid.rsplit(":", 2)
                marks.append(mark)
                floor = int(min_cell)
    if not marks:
        return
    width, height = fig.get_size_inches()
    line = 0.22   # inches: one line of 7-pt text and its gap
    fig.set_size_inches(width, height + line)
    for ax in fig.axes:   # the plot areas keep their size and place, the note goes under them
        box = ax.get_position()
        ax.set_position([box.x0, (box.y0 * height + line) / (height + line), box.width,
                         box.height * height / (height + line)])
    for text in fig.texts:
        x, y = text.get_position()
        if text.get_transform() == fig.transFigure:
            text.set_position((x, (y * height + line) / (height + line)))
    fig.text(0.01, 0.5 * line / (height + line), suppression_note(marks, floor), fontsize=7,
             ha="left", va="center")


@_resultcache.kept(figure=True)
def staffing_plot(table: pd.DataFrame, *, label: str, xlabel: str = "", title: str = "",
                  kind_labels: tuple[str, str] = ("cán bộ", "công chức"),
                  quota_label: str = "", ax=None):
    """Headcount per commune (bars, cán bộ and công chức stacked) against its quota (marker).

    ``table``: :func:`hlstudy.diagnostic.staffing.staffing_vs_quota` output; ``kind_labels``
    name the two stacked parts in the legend (pass English labels for an English figure).
    """
    import matplotlib.pyplot as plt

    absent = [c for c in ("n_can_bo", "n_cong_chuc", "n_staff", "quota", label)
              if c not in table.columns]
    if absent:
        raise ModelError(f"table lacks columns {absent}")
    t = table.sort_values(["gap", label] if "gap" in table else [label]).reset_index(drop=True)
    own = ax is None
    height = row_pitch(len(t), 0.26, 1.8) * len(t) + 1.8
    if own:
        fig, ax = plt.subplots(figsize=(FIG_WIDTH, height))
    else:
        fig = ax.figure
    y = np.arange(len(t))
    ax.barh(y, t["n_can_bo"], color="#6c8ebf", label=kind_labels[0])
    ax.barh(y, t["n_cong_chuc"], left=t["n_can_bo"], color="#a9c4e4", label=kind_labels[1])
    ax.scatter(t["quota"], y, marker="|", s=160, color="#b22222", zorder=3, label=quota_label)
    ax.set_yticks(y, [str(v) for v in t[label]])
    ax.set_xlabel(xlabel)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.6 / height - 0.04),
              ncol=3, fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    if own:
        fig.tight_layout()
    return fig
