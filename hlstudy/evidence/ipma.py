"""Importance–performance map analysis (IPMA) of the drivers of quality.

Ringle & Sarstedt (2016), *Industrial Management & Data Systems* 116(9), 1865–1886, as
SmartPLS reports it:

* every construct score is rescaled to 0–100 with the lowest and highest code of its value
  set (:func:`hlstudy.codebook.likert_range`, not an assumed 1–5):
  ``100·(x − min)/(max − min)``;
* **importance** of a driver X for a target T = the *unstandardized total effect* of X on T
  in the path model of :func:`hlstudy.drivers.structure` estimated on the rescaled scores:
  the direct effect plus every effect through a mediator (motivation),
  ``total(X→T) = b_TX + Σ_M b_TM·total(X→M)``; one point more of X on 0–100 moves T by
  ``importance`` points;
* **performance** = the driver's mean on 0–100.

A driver hypothesised to lower quality (reluctance to change) is reversed (``100 − x``) so
that, as the method requires, higher means better on every axis.

The path model (with the quality dimensions' residuals correlated, as in notebook 05) is
fitted by maximum likelihood on the complete rows with :func:`hlstudy.sem.sem` (=
``lavaan::sem``).  ``target="QUAL"`` is overall quality, the mean of the quality dimensions
(its coefficients are the mean of theirs).

R equivalent: ``fit <- sem(model, d100); parameterEstimates(fit)`` with ``:=`` total effects
(the ``tot_*`` of :func:`hlstudy.drivers.indirect_effects`), and ``colMeans(d100)``.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hlstudy import _resultcache, codebook, drivers
from hlstudy._geometry import segment_in_box, segment_point_distances, segments_cross
from hlstudy.errors import ModelError

QUAL = "QUAL"
QUADRANTS_VI = {"improve": "ưu tiên cải thiện", "keep": "duy trì", "low": "ưu tiên thấp",
                "overkill": "có thể đã đủ"}
QUADRANTS_EN = {"improve": "improve first", "keep": "keep up the good work",
                "low": "low priority", "overkill": "possible overkill"}
#: The legend entry of the two dashed lines (the mean importance and the mean performance,
#: which divide the map into its quadrants: "Góc phần tư" of notebook 06's table).
DIVIDER_LABEL = {"vi": "Trung bình (đường chia góc phần tư)",
                 "en": "Mean (quadrant divider)"}


def rescale(data: pd.DataFrame, columns: Sequence[str], *, instrument: str = "officials",
            folder=None) -> pd.DataFrame:
    """Scale scores rescaled to 0–100 by their value set's lowest and highest code.

    Returns a copy of ``data`` (same shape) whose ``columns`` are ``100·(x − min)/(max − min)``,
    min and max the lowest and highest code of the construct's value set
    (:func:`hlstudy.codebook.likert_range`).  R: ``100 * (x - 1) / (5 - 1)`` for a 1–5 set.
    Raises :class:`ModelError` for a column that is not a construct of ``instrument`` or is
    absent.

    >>> rescale(pd.DataFrame({"TRAIN": [1.0, 3.0, 5.0]}), ["TRAIN"])["TRAIN"].tolist()
    [0.0, 50.0, 100.0]
    """
    out = data.copy()
    known = set(codebook.constructs(instrument, folder=folder))
    ranges = _likert_ranges(instrument, folder) if len(columns) else {}
    for c in columns:
        if c not in known:
            raise ModelError(f"{c!r} is not a Likert construct of the {instrument} codebook; "
                             f"it has no value set to rescale by")
        if c not in out.columns:
            raise ModelError(f"column {c!r} not in the data")
        lo, hi = ranges[c]
        x = pd.to_numeric(out[c], errors="coerce")
        # a float column's values computed on its array: the same operations on the same
        # doubles as the Series arithmetic, without a Series per step
        out[c] = (100.0 * (x.to_numpy() - lo) / (hi - lo) if x.dtype == np.float64
                  else 100.0 * (x - lo) / (hi - lo))
    return out


def _likert_ranges(instrument: str, folder=None) -> dict[str, tuple[int, int]]:
    """:func:`hlstudy.codebook.likert_range` of every construct of ``instrument``, from one
    reading of the codebook (the lowest and highest code of its items' value sets)."""
    cb = codebook.load_codebook(instrument, folder=folder)
    lik = cb[cb["type"] == "likert"]
    sets: dict[str, set] = {}  # each construct's value sets, constructs in codebook order
    for c, vs in zip(lik["construct"].tolist(), lik["value_set"].tolist(), strict=True):
        sets.setdefault(c, set()).add(vs)
    codes: dict[str, list[int]] = {}
    out = {}
    for c, value_sets in sets.items():
        values = []
        for vs in sorted(value_sets):
            if vs not in codes:
                codes[vs] = [int(x) for x in codebook.value_labels(vs, folder=folder)["code"]]
            values += codes[vs]
        out[c] = (min(values), max(values))
    return out


@dataclass
class IPMAResult:
    """Importance–performance table of one target.

    ``table``: one row per driver, columns ``target, construct, label_vi, label_en,
    importance, performance, reversed, importance_rank, quadrant`` (``reversed``: a driver
    whose high end is undesirable, scored the other way round, see :func:`negative_constructs`) (``improve``: importance at or above
    the mean importance and performance below the mean performance; ``keep``, ``low``,
    ``overkill`` the other three quadrants), sorted by importance (largest first).
    ``mean_importance``, ``mean_performance`` are the dividing lines; ``n`` the complete rows.
    """

    target: str
    table: pd.DataFrame
    mean_importance: float
    mean_performance: float
    n: int

    def summary(self) -> str:
        lines = [f"IPMA of {self.target} (n = {self.n}; dividing lines: importance "
                 f"{self.mean_importance:.3f}, performance {self.mean_performance:.1f})"]
        for r in self.table.itertuples(index=False):
            lines.append(f"  {r.construct:<6} importance {r.importance:7.3f}  performance "
                         f"{r.performance:5.1f}  {r.quadrant}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _total_effects(coefs: Mapping[str, pd.Series], target: str, drivers_: Sequence[str]
                   ) -> dict[str, float]:
    memo: dict[tuple[str, str], float] = {}

    def total(x: str, y: str, depth: int = 0) -> float:
        if depth > 50:
            raise ModelError("the path model is not recursive (a cycle among the outcomes)")
        if (x, y) in memo:
            return memo[(x, y)]
        b = coefs[y]
        t = float(b.get(x, 0.0))
        for m in b.index:
            if m in coefs and m != x:
                t += float(b[m]) * total(x, m, depth + 1)
        memo[(x, y)] = t
        return t

    return {x: total(x, target) for x in drivers_}


def negative_constructs(folder=None) -> set[str]:
    """Constructs whose hypothesised effect is negative (``expected_sign`` of hypotheses.csv,
    e.g. reluctance to change): the IPMA reverses them (``100 − performance``, ``−importance``)
    so that higher means better for every driver, as Ringle & Sarstedt (2016) require."""
    out = set()
    for r in codebook.hypotheses(folder=folder).itertuples(index=False):
        paths = [p for p in str(r.paths or "").split(";") if p]
        causes = list(dict.fromkeys(p.split("->")[0] for p in paths))
        signs = str(r.expected_sign or "").split("/")
        if len(signs) == len(causes):
            out |= {c for c, sg in zip(causes, signs, strict=True) if sg.strip() == "-"}
        elif signs == ["-"]:
            out |= set(causes)
    return out


def ipma(data: pd.DataFrame, target: str = QUAL, *,
         struct: Mapping[str, Sequence[str]] | None = None, folder=None) -> IPMAResult:
    """Importance–performance map of the drivers of ``target`` (Ringle & Sarstedt 2016).

    Parameters
    ----------
    data : one row per official with the constructs' scale scores (1–5 or the value set's
        codes) and the covariates, e.g. :func:`hlstudy.drivers.driver_data`.
    target : a construct explained in ``struct`` (e.g. ``"PRO"``) or ``"QUAL"`` (the mean of
        the constructs of role ``quality``).
    struct : the path model (outcome → predictors); default :func:`hlstudy.drivers.structure`.

    Returns
    -------
    IPMAResult (importance in 0–100 points of the target per 0–100 point of the driver;
    performance on 0–100).  Drivers are the Likert constructs among the target's causes
    (covariates such as ``EDU``, ``TENURE`` stay in the model as controls, off the map).

    Raises
    ------
    ModelError : unknown target, missing columns, fewer complete rows than the model needs.

    Example
    -------
    >>> res = ipma(drivers.driver_data(load_study()), "QUAL")      # doctest: +SKIP
    >>> res.table[["construct", "importance", "performance"]]       # doctest: +SKIP
    """
    struct = drivers.structure(folder) if struct is None else struct
    quality = drivers.constructs_by_role(folder).get("quality", [])
    likert = set(codebook.constructs("officials", folder=folder))
    if target == QUAL:
        if not quality or any(q not in struct for q in quality):
            raise ModelError("QUAL needs constructs of role 'quality', each explained in the "
                             "model")
    elif target not in struct:
        raise ModelError(f"target {target!r} is not explained in the model; targets: "
                         f"{[QUAL, *sorted(struct)]}")
    variables = sorted(set(struct) | {p for preds in struct.values() for p in preds})
    absent = [v for v in variables if v not in data.columns]
    if absent:
        raise ModelError(f"the data lack columns {absent}")
    scaled = [v for v in variables if v in likert]
    d = rescale(data[variables], scaled, folder=folder)
    if not all(isinstance(t, np.dtype) and t.kind in "iuf" for t in d.dtypes):
        d = d.apply(pd.to_numeric, errors="coerce")  # numeric columns stay as they are
    d = d.dropna()
    n = len(d)
    kmax = max(len(p) for p in struct.values()) + 1
    if n <= kmax:
        raise ModelError(f"{n} complete rows; the path model needs more than {kmax}")
    pairs = [(a, b) for a, b in drivers.quality_residual_pairs(folder)
             if a in struct and b in struct]
    syntax = drivers.lavaan_syntax(struct, correlated_residuals=pairs, folder=folder)
    reg = _regressions(d, syntax)
    # each outcome's coefficients in the order of its predictors (NaN for one the model
    # lacks), outcomes in the table's order: the Series of a groupby of ``lhs`` with
    # ``set_index("rhs")["est"].reindex(struct[y])``, read from the columns as lists
    est: dict[str, dict[str, float]] = {}
    for y, x, b in zip(reg["lhs"].tolist(), reg["rhs"].tolist(),
                       reg["est"].astype(float).tolist(), strict=True):
        est.setdefault(y, {})[x] = b
    coefs: dict[str, pd.Series] = {
        y: pd.Series([e.get(x, np.nan) for x in struct[y]], dtype=float, name="est",
                     index=pd.Index(struct[y], name="rhs"))
        for y, e in est.items()}
    if target == QUAL:
        preds = list(struct[quality[0]])
        coefs[QUAL] = pd.concat([coefs[q].reindex(preds) for q in quality], axis=1).mean(axis=1)
    causes = list(coefs[target].index)
    drivers_ = [c for c in causes if c in likert]
    imp = _total_effects(coefs, target, drivers_)
    labels = codebook.construct_labels("officials", folder=folder).set_index("construct")
    perf = {x: float(d[x].mean()) for x in drivers_}
    rev = negative_constructs(folder)
    t = pd.DataFrame({"target": target, "construct": drivers_,
                      "label_vi": [labels.at[x, "label_vi"] for x in drivers_],
                      "label_en": [labels.at[x, "label_en"] for x in drivers_],
                      "importance": [-imp[x] if x in rev else imp[x] for x in drivers_],
                      "performance": [100 - perf[x] if x in rev else perf[x]
                                      for x in drivers_],
                      "reversed": [x in rev for x in drivers_]})
    t.loc[t["reversed"], "label_vi"] = t.loc[t["reversed"], "label_vi"] + " (đảo chiều)"
    t.loc[t["reversed"], "label_en"] = t.loc[t["reversed"], "label_en"] + " (reversed)"
    mi, mp = float(t["importance"].mean()), float(t["performance"].mean())
    t["quadrant"] = np.select(
        [(t["importance"] >= mi) & (t["performance"] < mp),
         (t["importance"] >= mi) & (t["performance"] >= mp),
         (t["importance"] < mi) & (t["performance"] < mp)],
        ["improve", "keep", "low"], default="overkill")
    t = t.sort_values(["importance", "construct"], ascending=[False, True], ignore_index=True)
    t.insert(7, "importance_rank", np.arange(1, len(t) + 1))
    return IPMAResult(target=target, table=t, mean_importance=mi, mean_performance=mp, n=n)


_FITS: OrderedDict = OrderedDict()
_FITS_MAX = 16


def _regressions(d: pd.DataFrame, syntax: str) -> pd.DataFrame:
    """The ``~`` rows of the ML path model's parameter table; memoised on the data's and
    the model's content, since every target of one data set (``ipma_table``, the ledger)
    fits the same model.

    The fit's warnings (no convergence, a Heywood case, an identification problem: the
    importances are then not to be trusted) are issued again, prefixed ``IPMA path model``,
    at every call that reads the memoised fit, with their own categories.
    """
    import hashlib
    import warnings

    from hlstudy.sem import sem

    key = hashlib.sha256("\x1f".join([syntax, *map(str, d.columns), str(d.shape)]).encode()
                         + np.ascontiguousarray(d.to_numpy(float)).tobytes()).hexdigest()
    if key not in _FITS:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = sem(d, syntax)
        pe = fit.parameter_estimates()
        issued = tuple(dict.fromkeys((w.category, str(w.message)) for w in caught))
        _FITS[key] = (pe[pe["op"] == "~"].copy(), issued)
        if len(_FITS) > _FITS_MAX:
            _FITS.popitem(last=False)
    _FITS.move_to_end(key)
    table, issued = _FITS[key]
    for category, message in issued:
        warnings.warn(f"IPMA path model: {message}", category, stacklevel=3)
    return table.copy()


@_resultcache.kept(paths=("folder",))
def ipma_table(data: pd.DataFrame, targets: Sequence[str] | None = None, *, folder=None
               ) -> pd.DataFrame:
    """:func:`ipma` for several targets stacked (default: ``QUAL`` and each quality dimension).

    Returns the ``table`` of each :class:`IPMAResult` one below the other (column ``target``
    tells them apart).  Raises :class:`ModelError` as :func:`ipma`.

    >>> ipma_table(drivers.driver_data(load_study()))          # doctest: +SKIP
    """
    if targets is None:
        targets = [QUAL, *drivers.constructs_by_role(folder).get("quality", [])]
    return pd.concat([ipma(data, t, folder=folder).table for t in targets], ignore_index=True)


@_resultcache.kept(figure=True)
def ipma_figure(result: IPMAResult, *, lang: str | None = None, title: str | None = None):
    """Quadrant figure: importance (x) against performance (y), the means as dividing lines.

    Labels are the constructs' Vietnamese names (English with ``lang="en"`` or the export
    language), placed once the layout is settled (:func:`_place_labels`): each in its
    point's quadrant, clear of each other, the points, the dividing lines, the leader lines
    and the quadrant names, so no leader crosses a divider where the quadrant has room
    (bounded, so the placement is the same on every machine).  The dashed dividing lines
    have one legend entry, :data:`DIVIDER_LABEL` (:func:`_divider_legend`, where it hides
    nothing).  Returns a matplotlib Figure (5.9 × 4.6 in: it fits the thesis' text width at
    its natural size).

    >>> fig = ipma_figure(ipma(data, "QUAL"))                   # doctest: +SKIP
    >>> export.save_figure(fig, "06_ipma", simulated=True)     # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    from hlstudy import export

    lang = lang or export.language()
    t = result.table
    xs = t["importance"].astype(float).round(10).to_numpy()
    ys = t["performance"].astype(float).round(10).to_numpy()
    # within the thesis' text width (hlstudy.export's page rule), with room for the saved
    # file's padding
    fig, ax = plt.subplots(figsize=(5.9, 4.6))
    divide = ax.axvline(result.mean_importance, color="#888888", lw=0.8, ls="--")
    ax.axhline(result.mean_performance, color="#888888", lw=0.8, ls="--")
    colors = {"improve": "#c0392b", "keep": "#2e7d32", "low": "#7f8c8d", "overkill": "#1f77b4"}
    ax.scatter(xs, ys, c=[colors[q] for q in t["quadrant"]], s=_MARKER_SIZE, zorder=3)
    names = t["label_en"] if lang == "en" else t["label_vi"]
    # room around the points for the labels and the quadrant names
    span_x = max(xs.max() - xs.min(), 1e-9)
    span_y = max(ys.max() - ys.min(), 1e-9)
    ax.set_xlim(xs.min() - 0.35 * span_x, xs.max() + 0.35 * span_x)
    ax.set_ylim(ys.min() - 0.45 * span_y, ys.max() + 0.45 * span_y)
    quad = QUADRANTS_EN if lang == "en" else QUADRANTS_VI
    corners = []
    # the quadrant names stand in the corners, a few points in from the frame (an italic
    # name set on the frame touched it, and its first letter stuck out past the left edge)
    for key, (x, y, ha, va) in {"improve": (1, 0, "right", "bottom"),
                                "keep": (1, 1, "right", "top"),
                                "low": (0, 0, "left", "bottom"),
                                "overkill": (0, 1, "left", "top")}.items():
        inset = (4 if ha == "left" else -4, 3 if va == "bottom" else -3)
        corners.append(ax.annotate(quad[key], (x, y), xycoords="axes fraction", xytext=inset,
                                   textcoords="offset points", ha=ha, va=va, fontsize=7.5,
                                   color=colors[key], alpha=0.9, fontstyle="italic"))
    target = result.target
    # axis labels below the title's size, as on the commune scatter (8.5 and 10 pt): the
    # labels at the style's default stood larger than a 9-pt title
    if lang == "en":
        ax.set_xlabel(f"Importance (total effect on {target}, points per point, 0–100)", fontsize=8.5)
        ax.set_ylabel("Performance (mean, 0–100)", fontsize=8.5)
    else:
        ax.set_xlabel(f"Tầm quan trọng (tác động tổng lên {target}, điểm/điểm, thang 0–100)",
                      fontsize=8.5)
        ax.set_ylabel("Mức độ thực hiện (trung bình, thang 0–100)", fontsize=8.5)
    if lang == "vi":
        from hlstudy.pathplot import tick_formatter

        ax.xaxis.set_major_formatter(tick_formatter(".2f", ","))
    if title:
        ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=7.5)
    fig.tight_layout()   # the plot area as saved, before the labels are placed in it
    # the vertical dividing line stops 12 points short of the bottom and top edges, the band
    # of the quadrant names: a plot area as narrow as the page allows has no room for the
    # simulated-data mark beside a quadrant name, so the mark stands in the middle of an edge
    band = 12 / (ax.get_window_extent().height * 72 / fig.dpi)
    divide.set_ydata([band, 1 - band])
    # the labels are made after the layout: at their points, long (English) names stuck out
    # of the plot area, and the layout narrowed it for them, leaving an empty band once they
    # were moved inside
    # and a long name takes two lines (at most 22 characters each, never shortened): on the
    # page's width, names on one line crowded each other onto the dividing lines
    from hlstudy.pathplot import wrap_label

    # a white halo, as the maps' names have: the grid lines run behind a name, not through it
    texts = [ax.text(a, b, wrap_label(f"{n} ({c})", 22), fontsize=7, linespacing=1.0,
                     ha="center", va="center", ma="center", path_effects=export.white_halo())
             for a, b, n, c in zip(xs, ys, names, t["construct"], strict=True)]
    # each label in its point's quadrant (adjustText, used before, knew no sides: REC's and
    # ENV's leaders ran across the vertical divider, SUP's label began on it); the two
    # dividing lines, one kind of line, share one legend entry
    _place_labels(ax, texts, np.column_stack([xs, ys]),
                  (result.mean_importance, result.mean_performance), corners, band)
    _divider_legend(ax, divide, DIVIDER_LABEL["en" if lang == "en" else "vi"], band)
    return fig


#: Where a label may stand around its point: directions (right, up), tried in this order at
#: each distance of :data:`_LABEL_DISTANCES` (points from the marker's edge), nearest first.
_LABEL_DIRECTIONS = ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, 1), (1, -1), (-1, -1),
                     (1, 0.5), (-1, 0.5), (1, -0.5), (-1, -0.5),
                     (0.5, 1), (-0.5, 1), (0.5, -1), (-0.5, -1))
_LABEL_DISTANCES = (2.0, 4.0, 7.0, 10.0, 14.0, 19.0, 25.0, 32.0, 40.0, 50.0, 62.0, 76.0, 92.0)
#: The points' marker size (``scatter``'s ``s``, pt²): drawn with it, kept clear by it.
_MARKER_SIZE = 36.0
#: From this distance (points) on, a thin line leads from the label to its point.
_LEADER_FROM = 9.0
#: Points kept free between a label or the legend and a dividing line or the frame.
_CLEAR = 3.0
#: Points kept free between two labels (closer, two names side by side read as one line).
_LABEL_GAP = 6.0


#: Pairs of places the search of :func:`_place_labels` compares before it falls back to
#: placing one label after another (a fixed count, not a time limit: the same figure on every
#: machine; about 0.3 s; the demonstration's nine labels need 3,000).
_SEARCH_BUDGET = 20000


def _place_labels(ax, texts, points: np.ndarray, means: tuple[float, float], corners,
                  band: float) -> None:
    """Place each label of ``texts`` (one per row of ``points``, data coordinates) around
    its point, in the layout as drawn.

    A label's places are :data:`_LABEL_DISTANCES` × :data:`_LABEL_DIRECTIONS` around its
    point.  A place is *free* when its box stays in the point's quadrant (on the point's side
    of both dividing lines at ``means``, :data:`_CLEAR` points off them and off the frame,
    out of the bands of height ``band``, axes fraction, at the bottom and top, where the
    quadrant names ``corners`` and the simulated-data mark stand) and covers no point, no
    other label (:data:`_LABEL_GAP` apart) or quadrant name, no leader line, with its own
    leader clear of the other points, labels and leaders.  A depth-first search places first
    the label with the fewest free places left (ties: the most crowded), at its nearest free
    place that leaves every other label one (at most :data:`_SEARCH_BUDGET` comparisons).
    Failing that, labels are placed one after another, the most crowded first, at their
    nearest free place; a label with none on its own side goes to another quadrant (still clear of the dividing lines, and its leader then
    crosses one: nowhere on its own side could it be read), and where nothing is free the
    place covering least is taken.  A label set apart from its point gets a thin leader
    line.  Deterministic: no time limit."""
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.transforms import Bbox

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_px = fig.dpi / 72.0
    area = ax.get_window_extent(renderer)
    anchors = ax.transData.transform(points)
    divx, divy = ax.transData.transform(means)
    radius_pt = 0.5 * np.sqrt(_MARKER_SIZE)   # the markers' radius (scatter's s: area in pt²)
    radius = radius_pt * to_px + 1.0
    clear, gap = _CLEAR * to_px, _LABEL_GAP * to_px
    lo_y, hi_y = area.y0 + band * area.height, area.y1 - band * area.height
    spans_x = ((area.x0 + clear, divx - clear), (divx + clear, area.x1 - clear))
    spans_y = ((lo_y + clear, divy - clear), (divy + clear, hi_y - clear))

    def quadrant(box) -> tuple[int, int] | None:
        """The quadrant (column, row) the box lies in, clear of its edges; None across one."""
        cols = [k for k, (a, b) in enumerate(spans_x) if a <= box.x0 and box.x1 <= b]
        rows = [k for k, (a, b) in enumerate(spans_y) if a <= box.y0 and box.y1 <= b]
        return (cols[0], rows[0]) if cols and rows else None

    names = [c.get_window_extent(renderer).padded(clear) for c in corners]
    x, y = anchors[:, 0], anchors[:, 1]
    candidates = []   # per label: (key of the place alone, centre, box, leader)
    for i, t in enumerate(texts):
        size = t.get_window_extent(renderer)
        w, h = size.width, size.height
        ax_, ay_ = anchors[i]
        own = (int(ax_ >= divx), int(ay_ >= divy))
        others = np.delete(anchors, i, axis=0)
        places = []
        for k, dist in enumerate(_LABEL_DISTANCES):
            off = (radius_pt + dist) * to_px
            for j, (dx, dy) in enumerate(_LABEL_DIRECTIONS):
                g = off / np.sqrt(2.0) if abs(dx) == abs(dy) else off
                cx, cy = ax_ + dx * (g + w / 2), ay_ + dy * (g + h / 2)
                box = Bbox.from_extents(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                leader = None
                if dist >= _LEADER_FROM:
                    # from the marker's edge to where the line to the box's centre meets it
                    v = np.array([cx - ax_, cy - ay_])
                    f = min(w / 2 / abs(v[0]) if v[0] else np.inf,
                            h / 2 / abs(v[1]) if v[1] else np.inf)
                    leader = (anchors[i] + v / np.hypot(*v) * radius,
                              np.array([cx, cy]) - v * f)
                q = quadrant(box)
                n = int(np.sum((x + radius >= box.x0) & (x - radius <= box.x1)
                               & (y + radius >= box.y0) & (y - radius <= box.y1)))
                n += sum(box.overlaps(b) for b in names)
                if leader is not None:
                    a, b = leader
                    n += sum(segment_in_box(a, b, c) for c in names)
                    n += int(len(others) > 0 and bool(np.any(segment_point_distances(a, b, others) < radius)))
                places.append(((int(q is None), n, int(q != own), k, j), (cx, cy), box,
                               leader))
        candidates.append(places)

    def conflicts(place, placed) -> int:
        """What the place covers of the labels and leaders ``placed``."""
        _, _, box, leader = place
        n = 0
        for _, _, other, line in placed:
            n += box.overlaps(other.padded(gap))
            if line is not None:
                n += segment_in_box(*line, box.padded(1.0))
                if leader is not None:
                    n += segments_cross(*leader, *line, touching=True)
            if leader is not None:
                n += segment_in_box(*leader, other.padded(clear))
        return int(n)

    crowd = [int(np.sum(np.hypot(*(anchors - a).T) < 60 * to_px)) for a in anchors]
    order = sorted(range(len(texts)), key=lambda i: (-crowd[i], i))
    rank = {i: r for r, i in enumerate(order)}
    chosen: dict[int, tuple] = {}
    tried = 0

    def search(free: dict[int, list]) -> bool:
        """Place the labels of ``free`` (each with its free places left): the one with the
        fewest first, at each of its places in turn, keeping for every other label the
        places that do not conflict with it; back when one has none left."""
        nonlocal tried
        if not free:
            return True
        i = min(free, key=lambda k: (len(free[k]), rank[k]))
        for place in free[i]:
            left = {}
            for other, places in free.items():
                if other != i:
                    if tried >= _SEARCH_BUDGET:
                        return False
                    tried += len(places)
                    left[other] = [p for p in places if conflicts(p, [place]) == 0]
                    if not left[other]:
                        break
            else:
                chosen[i] = place
                if search(left):
                    return True
                del chosen[i]
        return False

    if not search({i: [p for p in candidates[i] if p[0][:3] == (0, 0, 0)]
                   for i in order}):
        chosen.clear()
        for i in order:
            chosen[i] = min(candidates[i], key=lambda p: (
                p[0][0], p[0][1] + conflicts(p, chosen.values()), *p[0][2:]))
    for i in range(len(texts)):
        _, centre, _, leader = chosen[i]
        texts[i].set_position(ax.transData.inverted().transform(centre))
        if leader is not None:
            ax.add_patch(FancyArrowPatch(
                posA=tuple(points[i]), posB=tuple(ax.transData.inverted().transform(centre)),
                patchB=texts[i], arrowstyle="-", color="#999999", linewidth=0.5,
                shrinkA=radius_pt, shrinkB=1, zorder=2.5))


def _divider_legend(ax, line, label: str, band: float):
    """The legend entry of the dividing lines (``line`` drawn as their sample), in the
    plot area where it covers no data (:func:`hlstudy.export._data_overlap`: points, the
    dividing lines, leader lines), no label and no quadrant name, out of the bottom and top
    bands (``band``, axes fraction) where the quadrant names and the simulated-data mark
    stand.  Places: against the left or right frame or the bands, and on a grid of the plot
    area between; the free place nearest the frame is taken (ties: lowest, then leftmost),
    where none is free the one covering least."""
    from matplotlib.transforms import Bbox

    from hlstudy import export

    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_px = fig.dpi / 72.0
    kw = {"handles": [line], "labels": [label], "loc": "lower left", "fontsize": 7,
          "borderaxespad": 0.0, "handlelength": 2.4, "framealpha": 0.9}
    legend = ax.legend(bbox_to_anchor=(0.0, 0.0), **kw)
    size = legend.get_window_extent(renderer)
    w, h = size.width, size.height
    area = ax.get_window_extent(renderer)
    margin = 2 * _CLEAR * to_px
    left, right = area.x0 + margin, area.x1 - margin - w
    low = area.y0 + band * area.height + _CLEAR * to_px
    high = area.y1 - band * area.height - _CLEAR * to_px - h
    shapes = export._data_shapes(ax, renderer)
    texts = [t.get_window_extent(renderer).padded(_CLEAR * to_px) for t in ax.texts
             if t.get_text().strip()]
    grid = np.linspace(0.0, 1.0, 21)[1:-1]
    best = None
    for y0 in [low, *(low + grid * (high - low)), high]:
        for x0 in [left, *(left + grid * (right - left)), right]:
            box = Bbox.from_extents(x0, y0, x0 + w, y0 + h)
            covered = export._data_overlap(box.padded(_CLEAR * to_px), shapes) \
                + sum(box.overlaps(t) for t in texts)
            edge = min(x0 - left, right - x0, y0 - low, high - y0)
            key = (round(covered, 6), round(edge, 3), round(y0, 3), round(x0, 3))
            if best is None or key < best:
                best = key
    legend.remove()
    x0, y0 = best[3], best[2]
    anchor = ax.transAxes.inverted().transform((x0, y0))
    return ax.legend(bbox_to_anchor=(float(anchor[0]), float(anchor[1])), **kw)
