"""Theoretical framework of the thesis as tables and figures (notebook 01).

Everything here is built from reference files — the codebook, ``constructs.csv``,
``hypotheses.csv``, the Decree 33/2023 tables and the commune registry — so it describes the
*design* of the study, not simulated answers (figures and tables are exported with
``simulated=False``).

* :func:`hypotheses_table` — one hypothesis per claim with the constructs it uses;
* :func:`instruments_table` — constructs, item counts, scales, reverse-keyed items, claims;
* :func:`hypothesized_paths` and :func:`path_diagram` — the conceptual model as a path
  diagram (paths that reach all four quality dimensions are drawn once, to the block);
* :func:`reform_table` and :func:`reform_figure` — the 2025 reform, 23 units → 8 communes,
  drawn from the registry's coordinates (points, not boundaries);
* :func:`code_label` — the codes of these tables (instrument, construct role, claim kind:
  :data:`INSTRUMENT_LABELS`, :data:`ROLE_LABELS`, :data:`CLAIM_KIND_LABELS`,
  :data:`TEST_TYPE_LABELS`) in the words of a table's language.

Example
-------
>>> from hlstudy import framework
>>> t = framework.instruments_table()
>>> int(t.loc[t["construct"] == "RES", "n_items"].iloc[0])
5
>>> sorted(framework.hypothesized_paths().query("effect == 'MOT'")["cause"])
['COMP', 'ENV', 'REC']
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from hlstudy import _resultcache, codebook, export
from hlstudy.errors import ModelError

QUALITY = ("ETH", "PRO", "SKL", "RSP")
#: Extra (non-Likert) nodes of the model with their Vietnamese / English names.
EXTRA_NODES = {
    "EDU": ("Trình độ chuyên môn", "Education level"),
    "TENURE": ("Thâm niên giữ chức danh", "Years in post"),
    "QUAL": ("Chất lượng CBCC của xã (trung bình)", "Commune mean quality of officials"),
}

#: Printed names of the instruments (``codebook.csv``'s ``instrument``): ``(vi, en)``.
INSTRUMENT_LABELS = codebook.INSTRUMENT_LABELS
#: Printed names of the construct roles (``constructs.csv``'s ``role``): ``(vi, en)``.
ROLE_LABELS = {
    "quality": ("thành phần chất lượng", "quality dimension"),
    "factor": ("yếu tố", "factor"),
    "mediator": ("biến trung gian", "mediator"),
    "outcome": ("kết quả", "outcome"),
    "citizen": ("đánh giá của người dân", "citizens' assessment"),
}
#: Printed names of the claim kinds (``claims.csv``'s ``kind``; the thesis's T, D, S): ``(vi, en)``.
CLAIM_KIND_LABELS = {
    "premise": ("tiền đề", "premise"),
    "diagnostic": ("chẩn đoán", "diagnostic"),
    "solution": ("giải pháp", "solution"),
    "method": ("phương pháp", "method"),
}

#: Printed names of the hypotheses' test types (:data:`hlstudy.codebook.TEST_TYPES`): ``(vi, en)``.
TEST_TYPE_LABELS = {
    "path": ("quan hệ tác động", "path"),
    "descriptive": ("mô tả thực trạng", "descriptive"),
    "comparison": ("so sánh", "comparison"),
    "measurement": ("mô hình đo lường", "measurement model"),
    "commune_association": ("liên hệ ở cấp xã", "commune-level association"),
}


def code_label(labels: dict, code: str, lang: str = "vi") -> str:
    """``code`` in the words of ``lang``, from one of the ``(vi, en)`` mappings above; a code
    the mapping lacks is a :class:`~hlstudy.errors.ModelError` naming it (a new code in the
    instrument files must not print as a programme code in a Vietnamese table).

    >>> code_label(ROLE_LABELS, "factor"), code_label(CLAIM_KIND_LABELS, "premise", "en")
    ('yếu tố', 'premise')
    """
    from hlstudy.errors import check_lang

    k = 0 if check_lang(lang) == "vi" else 1
    if code not in labels:
        raise ModelError(f"code {code!r} has no printed label (known: {sorted(labels)}): add "
                         "it to the mapping in hlstudy.framework")
    return labels[code][k]


def slovin(population: float, margin: float = 0.05) -> int:
    """Slovin's sample size ``n = N / (1 + N e²)``, rounded up (Yamane 1967 form).

    The rule quoted by Vietnamese theses; it assumes simple random sampling and
    p = 0.5.  R: ``ceiling(N / (1 + N * e^2))``.

    >>> slovin(121735, 0.05)
    399
    """
    if not population > 0:
        raise ModelError(f"population must be positive, got {population!r}")
    if not 0 < margin < 1:
        raise ModelError(f"margin must lie in (0, 1), got {margin!r}")
    return int(np.ceil(population / (1 + population * margin**2)))


def regression_min_n(n_predictors: int) -> int:
    """Green's (1991) rule quoted with Hair et al.: ``n ≥ 50 + 8m`` for ``m`` predictors.

    >>> regression_min_n(11)
    138
    """
    if not isinstance(n_predictors, int | np.integer) or n_predictors < 1:
        raise ModelError(f"n_predictors must be a positive integer, got {n_predictors!r}")
    return 50 + 8 * int(n_predictors)


def vi_number(x: float, decimals: int = 0, *, percent: bool = False) -> str:
    """A number written the Vietnamese way: ``.`` between thousands (from 10.000 up, as
    :func:`hlstudy.export.number`), ``,`` before decimals.

    ``percent=True`` multiplies by 100 and appends ``%`` (Vietnamese style, no space), so
    that prose built from data reads "121.735 người", "806,74 km²", "52,3%" (TCVN usage;
    an English ``121,735`` would read as a decimal to a Vietnamese committee).

    >>> vi_number(121735), vi_number(806.74, 2), vi_number(0.523, 1, percent=True)
    ('121.735', '806,74', '52,3%')
    >>> vi_number(-12345.5, 1) == "\u221212.345,5"   # the minus sign, as every printed number
    True
    """
    if not isinstance(decimals, int) or decimals < 0:
        raise ModelError(f"decimals must be a non-negative integer, got {decimals!r}")
    try:
        value = float(x)
    except (TypeError, ValueError) as err:
        raise ModelError(f"vi_number needs a number, got {x!r}") from err
    if not np.isfinite(value):
        raise ModelError(f"vi_number needs a finite number, got {x!r}")
    return export.number(value, decimals, percent=percent, lang="vi")


def _tr(vi: str, en: str, lang: str) -> str:
    return en if lang == "en" else vi


#: Causes whose paths are expected negative in a hypothesis of mixed sign ("-/+": resistance
#: to change lowers quality, the other causes of that hypothesis raise it).
NEGATIVE_CAUSES = ("RES",)


def path_label(path: str) -> str:
    """A path of ``hypotheses.csv`` as the thesis prints it: ``"QUAL->SIPAS"`` -> ``"QUAL → SIPAS"``
    (the arrow of the tables of notebooks 04-06)."""
    return " → ".join(path.split("->"))


def hypotheses_table(lang: str = "vi") -> pd.DataFrame:
    """Claims with their hypothesis, test type, constructs and expected sign.

    One row per claim, in ``claims.csv``'s order: ``claim_id, section, kind, hypothesis`` (in
    ``lang``), ``test_type``, ``constructs`` (codes, comma-separated), ``paths`` (printed by
    :func:`path_label`: ``"TRAIN → PRO, TRAIN → SKL"``; empty for a hypothesis without a
    structural path) and ``expected_sign`` (``+``, ``−``, ``−/+`` or empty; the file's
    hyphen printed as a minus sign).  What the codes and signs mean: :func:`hypotheses_note`.
    """
    h = codebook.hypotheses()
    claims = pd.read_csv(codebook.INSTRUMENT / "claims.csv", dtype=str, keep_default_na=False)
    h = h.merge(claims[["claim_id", "section", "kind"]], on="claim_id", how="left")
    text = h["hypothesis_en"] if lang == "en" else h["hypothesis_vi"]
    return pd.DataFrame({
        "claim_id": h["claim_id"], "section": h["section"], "kind": h["kind"],
        "hypothesis": text, "test_type": h["test_type"],
        "constructs": h["constructs"].str.replace(";", ", "),
        "paths": [", ".join(path_label(p) for p in paths.split(";") if p) for paths in h["paths"]],
        # the minus sign as the later tables print it ("−", not the file's hyphen)
        "expected_sign": h["expected_sign"].str.replace("-", "−"),
    })


def hypotheses_note(lang: str = "vi") -> str:
    """The note under :func:`hypotheses_table`: what its columns, codes, arrows and signs mean.

    EDU and TENURE are named as in :data:`EXTRA_NODES`; QUAL is the mean of the
    :data:`QUALITY` dimensions (averaged by commune in the claims that compare communes
    through it, T1 of the seed claims; notebook 06 and the ledger use it per official); the
    negative causes of a ``-/+`` hypothesis (:data:`NEGATIVE_CAUSES`) are named from
    ``constructs.csv``.
    """
    backgrounds = "; ".join(f"{code} – {_tr(vi[0].lower() + vi[1:], en[0].lower() + en[1:], lang)}"
                            for code, (vi, en) in EXTRA_NODES.items() if code != "QUAL")
    labels = _node_labels(lang)
    negative = ", ".join(f"{c} ({labels.get(c, c).lower()})" for c in NEGATIVE_CAUSES)
    dims = ", ".join(QUALITY)
    # the sections the table prints (hypotheses_table reads them from claims.csv)
    sections = sorted(set(hypotheses_table(lang)["section"]) - {""}, key=lambda x: ("." in x, x))
    parts = [x for x in sections if "." not in x]
    numbered = [x for x in sections if "." in x]
    span = lambda xs: f"{xs[0]}–{xs[-1]}" if xs else ""   # noqa: E731
    # the claims comparing communes take QUAL averaged by commune (T1 in the seed claims)
    h = codebook.hypotheses()
    by_commune = ", ".join(r.claim_id for r in h.itertuples(index=False)
                           if r.test_type == "commune_association"
                           and any(p.split("->")[0] == "QUAL" for p in r.paths.split(";") if p))
    n_dims = {4: ("bốn", "four")}.get(len(QUALITY), (str(len(QUALITY)),) * 2)
    where_vi = f" (ở {by_commune}: trung bình theo xã)" if by_commune else ""
    where_en = f" (in {by_commune}: averaged by commune)" if by_commune else ""
    return _tr(
        f"Mục: phần ({span(parts)}) hoặc mục ({span(numbered)}) của đề cương luận văn mà luận "
        "điểm thuộc về. "
        f"Thang đo: mã các khái niệm như trong bảng công cụ khảo sát; {backgrounds}; QUAL – chất "
        f"lượng cán bộ, công chức: trung bình {n_dims[0]} thành phần {dims}{where_vi}. "
        "Đường tác động “A → B”: A tác động đến B trong mô hình cấu trúc. "
        "Dấu kỳ vọng: chiều kỳ vọng của tác động, liên hệ hoặc chênh lệch được kiểm định: "
        f"+ dương (cao hơn); − âm (thấp hơn); −/+ âm với {negative}, dương với các biến còn "
        "lại; để trống: giả thuyết không nêu chiều.",
        f"Section: the part ({span(parts)}) or section ({span(numbered)}) of the thesis outline "
        f"the claim belongs to. Constructs: codes as in the table of survey instruments; "
        f"{backgrounds}; QUAL – quality of officials: the mean of the {n_dims[1]} dimensions "
        f"{dims}{where_en}. Path “A → B”: A affects B in the structural model. Expected sign: the "
        "expected direction of the effect, association or difference tested: + positive "
        f"(higher); − negative (lower); −/+ negative for {negative}, positive for the other "
        "variables; blank: the hypothesis states no direction.", lang)


@_resultcache.kept
def instruments_table(lang: str = "vi") -> pd.DataFrame:
    """One row per construct: instrument, label, number of items, reverse-keyed items, scale,
    claims served.

    ``claims``: every claim whose analysis uses the construct, in ``claims.csv``'s order (T,
    D, S): its hypothesis lists the construct (``hypotheses.csv``, which the claims ledger
    computes from; a quality dimension serves every claim about quality).  The codebook's
    item citations are not read: an own instrument whose hypothesis no longer names a
    construct (a claim left not testable) would otherwise still list it.  The shipped
    codebook cites the same claims (``tests/test_codebook.py``).  What the columns mean:
    :func:`instruments_note`.
    """
    hypotheses = codebook.hypotheses()
    uses: dict[str, set[str]] = {}
    for r in hypotheses.itertuples(index=False):
        for construct in (c for c in r.constructs.split(";") if c):
            uses.setdefault(construct, set()).add(r.claim_id)
    order = {c: k for k, c in enumerate(hypotheses["claim_id"])}
    rows = []
    for instrument in ("officials", "citizens"):
        cb = codebook.load_codebook(instrument)
        labels = codebook.construct_labels(instrument).set_index("construct")
        for construct in codebook.constructs(instrument):
            items = cb[(cb["type"] == "likert") & (cb["construct"] == construct)]
            vs = items["value_set"].iloc[0]
            lab = codebook.value_labels(vs).sort_values("code", key=lambda c: c.astype(int))
            text = "label_en" if lang == "en" else "label_vi"
            claims = sorted(uses.get(construct, set()), key=lambda c: (order.get(c, len(order)), c))
            rows.append({
                "instrument": instrument, "construct": construct,
                "label": labels.at[construct, "label_en" if lang == "en" else "label_vi"],
                "role": labels.at[construct, "role"],
                "n_items": len(items), "n_reverse": int(items["reverse"].sum()),
                "items": f"{items['variable'].iloc[0]}–{items['variable'].iloc[-1]}",
                "scale": f"{lab['code'].iloc[0]} = {lab[text].iloc[0]} … "
                         f"{lab['code'].iloc[-1]} = {lab[text].iloc[-1]}",
                "claims": ", ".join(claims),
            })
    return pd.DataFrame(rows)


def instruments_note(lang: str = "vi") -> str:
    """The note under :func:`instruments_table`: its columns that are not self-explanatory."""
    return _tr(
        "Câu đảo: số câu hỏi đặt theo chiều ngược, được mã hóa lại (nhỏ nhất + lớn nhất − "
        "điểm, tức 6 − điểm với thang 1–5) trước khi tính điểm. Biến: mã câu đầu – câu cuối "
        "của thang đo trong bảng mã. "
        "Luận điểm: các luận điểm có phân tích dùng thang đo (T tiền đề, D chẩn đoán, S giải "
        "pháp; nội dung ở bảng giả thuyết nghiên cứu).",
        "Reversed: number of items worded in the opposite direction, recoded (minimum + maximum "
        "− score, i.e. 6 − score on a 1–5 scale) before scoring. Variables: codes of the "
        "construct's first – last item in the codebook. Claims: the claims whose analysis uses the construct (T "
        "premise, D diagnostic, S solution; stated in the table of research hypotheses).", lang)


def hypothesized_paths() -> pd.DataFrame:
    """Every path named by a hypothesis: ``cause, effect, sign, claims`` (sorted)."""
    h = codebook.hypotheses()
    out: dict[tuple[str, str], dict] = {}
    for r in h.itertuples(index=False):
        for p in (p for p in r.paths.split(";") if p):
            cause, effect = p.split("->")
            sign = "-" if (r.expected_sign == "-" or (r.expected_sign == "-/+" and cause in NEGATIVE_CAUSES)) \
                else "+"
            entry = out.setdefault((cause, effect), {"sign": sign, "claims": []})
            entry["claims"].append(r.claim_id)
    rows = [{"cause": c, "effect": e, "sign": v["sign"], "claims": ", ".join(sorted(set(
        v["claims"])))} for (c, e), v in out.items()]
    return pd.DataFrame(rows, columns=["cause", "effect", "sign", "claims"]).sort_values(
        ["effect", "cause"], ignore_index=True)


def paths_beyond_hypotheses(paths: pd.DataFrame,
                            hypothesized: pd.DataFrame | None = None) -> pd.DataFrame:
    """Estimated paths that no hypothesis names and whose interval excludes zero.

    ``paths``: one row per estimated path with columns ``outcome, term, estimate, ci_low,
    ci_high`` (:func:`hlstudy.drivers.sem_paths`: ``term → outcome``); ``hypothesized``: the
    paths the thesis names (default :func:`hypothesized_paths`, columns ``cause, effect``).
    Returns the rows of ``paths`` whose ``term → outcome`` is not hypothesized and whose
    interval lies wholly above or wholly below zero, sorted by ``outcome, term``, with two
    columns added: ``expected_sign``, the sign the thesis's theory gives the cause (``"-"``
    for :data:`NEGATIVE_CAUSES`, ``""`` for the observed covariates of :data:`EXTRA_NODES`,
    which have none, ``"+"`` for every other factor), and ``against_theory``, True when the
    estimate lies on the other side (:func:`hlstudy.evidence.rules.opposite`).  These are
    associations the thesis did not predict, which notebook 05 names so that a reader of the
    hypotheses alone does not miss them.  The interval is the one given, not adjusted for
    multiple testing.  Raises :class:`ModelError` when a column is missing.

    >>> p = pd.DataFrame({"outcome": ["ETH", "ETH"], "term": ["COMP", "LEAD"],
    ...                   "estimate": [-0.18, 0.22], "ci_low": [-0.34, 0.04],
    ...                   "ci_high": [-0.02, 0.40]})
    >>> paths_beyond_hypotheses(p)[["term", "outcome", "expected_sign", "against_theory"]].values.tolist()
    [['COMP', 'ETH', '+', True]]
    """
    from hlstudy.evidence.rules import opposite

    need = {"outcome", "term", "estimate", "ci_low", "ci_high"}
    if not isinstance(paths, pd.DataFrame) or not need <= set(paths.columns):
        have = sorted(paths.columns) if isinstance(paths, pd.DataFrame) else type(paths).__name__
        raise ModelError(f"paths needs columns {sorted(need)}; got {have}")
    hyp = hypothesized_paths() if hypothesized is None else hypothesized
    named = set(zip(hyp["cause"], hyp["effect"], strict=True))
    unnamed = [(t, o) not in named for t, o in zip(paths["term"], paths["outcome"], strict=True)]
    clear = (paths["ci_low"] > 0) | (paths["ci_high"] < 0)
    out = paths[np.asarray(unnamed, dtype=bool) & clear.to_numpy()].sort_values(
        ["outcome", "term"], ignore_index=True)
    expected = ["" if t in EXTRA_NODES else "-" if t in NEGATIVE_CAUSES else "+"
                for t in out["term"]]
    return out.assign(expected_sign=expected, against_theory=[
        bool(s) and opposite(e, s) for e, s in zip(out["estimate"], expected, strict=True)])


def _node_labels(lang: str) -> dict[str, str]:
    labels = codebook.construct_labels()
    out = {r.construct: (r.label_en if lang == "en" else r.label_vi)
           for r in labels.itertuples(index=False)}
    out.update({k: (en if lang == "en" else vi) for k, (vi, en) in EXTRA_NODES.items()})
    return out


#: x position of each column of the diagram; further columns follow every 2.85.
COLUMN_X = (0.0, 4.0, 7.2, 10.2, 13.15)
#: Vertical spacing of the boxes within a column, by column (then the last value).
COLUMN_STEP = (1.15, 1.6, 1.4, 1.6, 1.4)
#: Width of a box, the most characters a line of its label holds, and the label's font size.
BOX_WIDTH, LABEL_CHARS, BOX_FONTSIZE = 2.4, 30, export.MIN_TEXT_PT
#: Width of :func:`path_diagram`'s figure (inches): as saved it fits the thesis' text width
#: (155 mm); more columns make the boxes narrower, their labels wrapping onto more lines.
DIAGRAM_WIDTH = 5.95


#: Widths (points) of lines :func:`fit_label` measured, by line, font size, the font files
#: found for the font properties and the rcParams the font is opened with: every
#: diagram of a process re-wraps the same labels (one language's boxes, titles and notes).
_LINE_WIDTHS: dict[tuple, float] = {}
_LINE_WIDTHS_MAX = 4096


@functools.cache
def _text_to_path():
    """One ``TextToPath`` (it keeps nothing between measurements but its math parser)."""
    from matplotlib.textpath import TextToPath

    return TextToPath()


def _line_width(line: str, prop) -> float:
    """Width in points of ``line`` in the font of ``prop`` (``FontProperties``), as
    matplotlib's ``TextToPath`` measures it: the same float, measured once per line, font
    size, font files (fallbacks included) and rcParams ``text.hinting_factor``,
    ``text.kerning_factor`` and ``font.enable_last_resort`` (what ``get_font`` opens it with)."""
    import matplotlib
    from matplotlib.font_manager import fontManager

    key = (line, prop.get_size_in_points(),
           tuple(repr(f) for f in fontManager._find_fonts_by_props(prop)),
           *(matplotlib.rcParams.get(k) for k in ("text.hinting_factor", "text.kerning_factor",
                                                   "font.enable_last_resort")))
    width = _LINE_WIDTHS.get(key)
    if width is None:
        width = _text_to_path().get_text_width_height_descent(line, prop, ismath=False)[0]
        if len(_LINE_WIDTHS) >= _LINE_WIDTHS_MAX:
            _LINE_WIDTHS.clear()
        _LINE_WIDTHS[key] = width
    return width


def fit_label(text: str, max_points: float, fontsize: float, chars: int = LABEL_CHARS) -> str:
    """``text`` wrapped at word boundaries (:func:`hlstudy.pathplot.wrap_label`) at the most
    characters per line, up to ``chars``, whose every line is at most ``max_points`` wide in
    the figure's font at ``fontsize`` (measured with matplotlib's text layout, not counted).
    A single word wider than ``max_points`` keeps its own line.

    >>> fit_label("Leadership and direction by party committee and government", 105, 6.8)
    'Leadership and direction by\\nparty committee and\\ngovernment'
    """
    from matplotlib.font_manager import FontProperties

    from hlstudy.pathplot import wrap_label

    prop = FontProperties(size=fontsize)
    fits: dict[str, bool] = {}   # a line is looked at once, whichever wrapping it turns up in

    def fitting(line: str) -> bool:
        if line not in fits:
            fits[line] = _line_width(line, prop) <= max_points   # measured once per process
        return fits[line]

    refused = None
    for width in range(int(chars), 0, -1):
        out = wrap_label(text, width)
        if out == refused:   # one character less often wraps the same: already refused
            continue
        if all(fitting(line) for line in out.split("\n")):
            return out
        refused = out
    return wrap_label(text, 1)


def box_label_overruns(fig) -> list[str]:
    """The boxes of :func:`path_diagram` whose label is wider than the box (rendered
    extents): an empty list means every label fits its box."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        boxes = {p._hlstudy_node: p.get_window_extent(renderer) for p in ax.patches
                 if getattr(p, "_hlstudy_node", None)}
        for t in ax.texts:
            node = getattr(t, "_hlstudy_box_label", None)
            if node is not None:
                e, b = t.get_window_extent(renderer), boxes[node]
                if e.x0 < b.x0 or e.x1 > b.x1:
                    out.append(node)
    return out


def quality_constructs() -> tuple[str, ...]:
    """Constructs whose role is ``quality`` in ``constructs.csv`` (in file order)."""
    labels = codebook.construct_labels()
    return tuple(labels.loc[labels["role"] == "quality", "construct"])


def _column_of(paths: pd.DataFrame) -> dict[str, int]:
    """Column of every node, from the roles of ``constructs.csv``.

    0: factors and the observed backgrounds (EDU, TENURE); 1: mediators, outcomes and any
    other role; 2: the quality dimensions; 3, 4, …: the commune mean (QUAL) and the citizens'
    constructs, one column further for each citizen-side path that leads to them.
    """
    labels = codebook.construct_labels()
    roles = dict(zip(labels["construct"], labels["role"], strict=True))
    named = set(paths["cause"]) | set(paths["effect"]) if len(paths) else set()
    unknown = sorted(named - set(roles) - set(EXTRA_NODES))
    if unknown:
        raise ModelError(f"no place in the diagram for {unknown}: a path names a construct that "
                         "is not in constructs.csv (nor EDU, TENURE, QUAL); add it there with its "
                         "role, or correct hypotheses.csv")
    nodes = list(labels["construct"]) + [n for n in EXTRA_NODES if n in named]
    col: dict[str, int] = {}
    right = []
    for n in nodes:
        role = roles.get(n, "extra")
        if role == "factor" or n in ("EDU", "TENURE"):
            col[n] = 0
        elif role == "quality":
            col[n] = 2
        elif role == "citizen" or n == "QUAL":
            right.append(n)
        else:
            col[n] = 1
    # depth of the right-hand (citizen) side: longest chain of paths among those nodes
    edges = [(c, e) for c, e in zip(paths.get("cause", []), paths.get("effect", []), strict=True)
             if c in right and e in right]
    depth = dict.fromkeys(right, 0)
    for _ in range(len(right)):  # at most len(right) rounds (a cycle stops growing there)
        changed = False
        for c, e in edges:
            if depth[e] < depth[c] + 1 and depth[c] + 1 < len(right):
                depth[e], changed = depth[c] + 1, True
        if not changed:
            break
    col.update({n: 3 + depth[n] for n in right})
    return col


def _column_x(c: int) -> float:
    return COLUMN_X[c] if c < len(COLUMN_X) else COLUMN_X[-1] + 2.85 * (c - len(COLUMN_X) + 1)


#: Height of every box while :func:`_layout` chooses the order of the boxes (two lines of
#: label, the most common): the drawn heights depend on the language's wrapping, the order
#: must not.
LAYOUT_BOX_HEIGHT = 0.46 + 0.19 * 2


def _block_span(pos: dict, height: dict, quality: list[str]) -> tuple[float, float, float]:
    """``(q_bottom, q_top, bx0)``: the lowest and highest edge of the quality dimensions' boxes
    and the left edge of the dashed block around them."""
    q_top = pos[quality[0]][1] + height[quality[0]] / 2
    q_bottom = pos[quality[-1]][1] - height[quality[-1]] / 2
    return q_bottom, q_top, pos[quality[0]][0] - BOX_WIDTH / 2 - 0.25


def _arrow_ends(edges: list[tuple[str, str]], pos: dict, height: dict,
                quality: list[str]) -> list[tuple]:
    """Where :func:`path_diagram` draws each arrow ``(cause, effect)`` of ``edges`` (those of
    :func:`diagram_edges`): ``((cause, effect), start, end)`` in data coordinates, ``height``
    the boxes' heights.  An arrow leaves its cause's box at its right edge (or its top or
    bottom, within a column) and ends at its effect's left edge; an arrow to the block ends
    on the block's left side at its cause's height, kept 0.15 inside the dimensions' boxes'
    span."""
    w = BOX_WIDTH
    if quality:
        q_bottom, q_top, bx0 = _block_span(pos, height, quality)
    out = []
    for cause, effect in edges:
        x0, y0 = pos[cause]
        start = (x0 + w / 2, y0)
        if effect == "QUALITY":
            end = (bx0, min(max(y0, q_bottom + 0.15), q_top - 0.15))
        else:
            x1, y1 = pos[effect]
            if x1 > x0:
                end = (x1 - w / 2, y1)
            elif x1 == x0:
                up = y1 > y0
                start = (x0, y0 + (height[cause] if up else -height[cause]) / 2)
                end = (x1, y1 - (height[effect] if up else -height[effect]) / 2)
            else:
                start, end = (x0 - w / 2, y0), (x1 + w / 2, y1)
        out.append(((cause, effect), start, end))
    return out


def _crossing_matrix(segments: list[tuple]) -> np.ndarray:
    """k × k, symmetric: whether segments ``i`` and ``j`` of ``segments`` (``(name, start,
    end)``) cross, as :func:`crossing_pairs` counts it."""
    ends = np.array([[a, b] for _, a, b in segments], float).reshape(-1, 2, 2)
    a, b = ends[:, None, 0], ends[:, None, 1]
    c, d = ends[None, :, 0], ends[None, :, 1]

    def side(p, q, r):
        return (q[..., 0] - p[..., 0]) * (r[..., 1] - p[..., 1]) - (q[..., 1] - p[..., 1]) * (
            r[..., 0] - p[..., 0])

    return (side(a, b, c) * side(a, b, d) < 0) & (side(c, d, a) * side(c, d, b) < 0)


def crossing_pairs(segments: list[tuple]) -> list[tuple]:
    """The pairs of ``segments`` (``(name, start, end)``) that cross: each one's ends strictly
    on opposite sides of the other's line (:func:`hlstudy._geometry.segments_cross`), so two
    arrows that only share an end (two arrows into one box) do not cross.  Sorted names.

    >>> crossing_pairs([("a", (0, 0), (2, 2)), ("b", (0, 2), (2, 0)), ("c", (0, 0), (2, 0))])
    [('a', 'b')]
    """
    if len(segments) < 2:
        return []
    i, j = np.nonzero(np.triu(_crossing_matrix(segments), 1))
    return sorted(tuple(sorted((segments[p][0], segments[q][0])))
                  for p, q in zip(i.tolist(), j.tolist(), strict=True))


def _boxes_crossed(segments: list[tuple], pos: dict, height: dict,
                   own: np.ndarray | None = None) -> int:
    """How many (arrow, box) pairs meet: an arrow through a box that is neither its cause
    nor its effect (the boxes by their centres, ``BOX_WIDTH`` and ``height``, in the order
    of ``sorted(pos)``).  ``own``: which box is an end of which arrow (boxes × arrows), if
    known."""
    from hlstudy._geometry import segment_box_matrix

    nodes = sorted(pos)
    boxes = np.array([[pos[n][0] - BOX_WIDTH / 2, pos[n][1] - height[n] / 2,
                       pos[n][0] + BOX_WIDTH / 2, pos[n][1] + height[n] / 2] for n in nodes])
    hits = segment_box_matrix(np.array([[a, b] for _, a, b in segments], float), boxes)
    if own is None:
        own = np.array([[n in edge for edge, _, _ in segments] for n in nodes], bool)
    return int((hits & ~own).sum())


def _layout(paths: pd.DataFrame | None = None, *,
            untangle: bool = True) -> dict[str, tuple[float, float]]:
    """Box centres of the conceptual model, laid out from ``constructs.csv`` and the paths.

    Columns as :func:`_column_of`.  The quality dimensions keep the order of
    ``constructs.csv``.  The boxes of columns 0 and 1 are first ordered by the mean height
    of the boxes their members are linked to (the barycentre rule of layered graph drawing,
    Sugiyama et al. 1981), ties in file order; column 0 runs from the top; mediators and
    outcomes sit above the quality block (whose incoming arrows then run below them), those
    with a path into the block lowest; the quality block is centred on the boxes that point
    at it, the right-hand columns on the block, by barycentre.  With ``untangle`` (the
    default) the orders of columns 0 and 1 are then improved by moving one box at a time to
    another place of its column while that lowers, in this order of priority, the number
    of arrows through a box, the number of arrow crossings (:func:`crossing_pairs` of the
    arrows where :func:`_arrow_ends` draws them, every box :data:`LAYOUT_BOX_HEIGHT` high)
    and how far the boxes moved from their barycentre places (so that a box moves only to
    spare crossings); passes over every box and place, in a fixed order, until one changes
    nothing (each accepted move lowers the cost, so the search ends).
    The barycentre rule alone counts only where an arrow ends: it put TENURE (→ PRO, SKL)
    at the bottom of column 0, its two arrows across the four arrows into the block from
    FAC, LEAD, SUP and RES, which start at their own heights (11 crossings in the thesis'
    model, 3 after the search: ``tests/test_framework.py``).
    """
    paths = hypothesized_paths() if paths is None else paths
    col = _column_of(paths)
    nominal = dict.fromkeys(col, LAYOUT_BOX_HEIGHT)
    columns: dict[int, list[str]] = {}
    for n, c in col.items():
        columns.setdefault(c, []).append(n)
    quality = set(quality_constructs())
    top = 9.0
    left = columns.get(0, [])
    bottom = top - max(len(left) - 1, 0) * COLUMN_STEP[0]
    q_members = columns.get(2, [])
    into_block = sorted(set(paths.loc[paths["effect"].isin(quality), "cause"]))

    effects_of: dict[str, list[str]] = {}   # the paths' rows, in table order
    causes_of: dict[str, list[str]] = {}
    for cause, effect in zip(paths["cause"], paths["effect"], strict=True):
        effects_of.setdefault(cause, []).append(effect)
        causes_of.setdefault(effect, []).append(cause)

    def stack(pos, c: int, members: list[str], centre: float | None, first: float | None = None):
        step = COLUMN_STEP[min(c, len(COLUMN_STEP) - 1)]
        if c >= 3 and len(members) > 1:  # keep tall citizen columns within the figure
            step = min(step, (top + 1.0 - bottom) / (len(members) - 1))
        if first is None:
            first = centre + (len(members) - 1) * step / 2
        for k, n in enumerate(members):
            pos[n] = (_column_x(c), first - k * step)

    def by_barycentre(members: list[str], height) -> list[str]:
        keyed = [(height(n), k, n) for k, n in enumerate(members)]
        known = sorted((k for k in keyed if k[0] is not None), key=lambda t: (-t[0], t[1]))
        return [n for _, _, n in known] + [n for h, _, n in keyed if h is None]

    def place(order0: list[str], order1: list[str]) -> dict[str, tuple[float, float]]:
        pos: dict[str, tuple[float, float]] = {}
        stack(pos, 1, order1, None, first=top + 1.0)
        stack(pos, 0, order0, None, first=top)
        # the quality block centred on the boxes that point at it
        feeding = [pos[c][1] for c in into_block if c in pos]
        q_centre = float(np.mean(feeding)) if feeding else (top + bottom) / 2
        half = (len(q_members) - 1) * COLUMN_STEP[2] / 2
        q_centre = min(max(q_centre, bottom + half), top - half)
        stack(pos, 2, q_members, q_centre)

        def source_height(node: str) -> float | None:
            ys = [pos[c][1] for c in causes_of.get(node, ()) if c in pos]
            if node == "QUAL" and q_members:  # the commune mean aggregates the quality block
                ys.append(sum(pos[q][1] for q in q_members) / len(q_members))
            return sum(ys) / len(ys) if ys else None

        for c in sorted(k for k in columns if k >= 3):
            stack(pos, c, by_barycentre(columns[c], source_height), q_centre)
        return pos

    # provisional heights for the barycentres of column 0: quality block centred on column 0,
    # mediators on top, those with a path into the quality block nearest it (lowest), so
    # that their arrows to the block cross no other box of the column
    provisional: dict[str, tuple[float, float]] = {}
    stack(provisional, 2, q_members, (top + bottom) / 2)
    order1 = sorted(columns.get(1, []), key=lambda n: n in into_block)
    stack(provisional, 1, order1, None, first=top + 1.0)

    def target_height(node: str) -> float | None:
        ys = [provisional[e][1] for e in effects_of.get(node, ()) if e in provisional]
        return float(np.mean(ys)) if ys else None

    order0 = by_barycentre(left, target_height)
    pos = place(order0, order1)
    if not untangle:
        return pos
    edges = list(zip(*(diagram_edges(paths)[k] for k in ("cause", "effect")), strict=True))
    dims = [q for q in quality_constructs() if q in q_members]
    own = np.array([[n in edge for edge in edges] for n in sorted(pos)], bool)

    start = {n: k for order in (order0, order1) for k, n in enumerate(order)}

    def cost(pos, orders, than=None) -> tuple[int, int, int] | None:
        """``(arrows through boxes, crossings, moves)`` of ``pos`` (``orders``: its columns 0
        and 1); None when it is known without counting the arrows through boxes that
        ``pos`` is not better than ``than`` (which has none).  ``moves``: how far the boxes
        are from their barycentre places, in places (the sum over boxes)."""
        segments = _arrow_ends(edges, pos, nominal, dims)
        moves = sum(abs(k - start[n]) for order in orders for k, n in enumerate(order))
        rest = (int(_crossing_matrix(segments).sum()) // 2, moves)
        if than is not None and than[0] == 0 and rest >= than[1:]:
            return None
        return (_boxes_crossed(segments, pos, nominal, own), *rest)

    orders = [order0, order1]
    best = cost(pos, orders)
    changed = True
    while changed:   # each accepted move lowers the cost, so this ends
        changed = False
        for which in (0, 1):
            members = orders[which]
            for i in range(len(members)):
                for j in range(len(members)):
                    if i == j:
                        continue
                    trial = members[:i] + members[i + 1:]
                    trial.insert(j, members[i])
                    candidate = [trial, orders[1]] if which == 0 else [orders[0], trial]
                    trial_pos = place(*candidate)
                    c = cost(trial_pos, candidate, best)
                    if c is not None and c < best:
                        best, pos, orders, members, changed = c, trial_pos, candidate, trial, True
    return pos


def _claim_targets(group: list[tuple], quality: list[str], lang: str) -> str:
    """Label of an arrow to the quality block: each claim with the dimensions it reaches
    (``group``: the cause's ``(cause, effect, sign, claims)`` rows to quality dimensions)."""
    reach: dict[str, list[str]] = {}
    for _cause, effect, _sign, claims in group:
        for claim in claims.split(", "):
            reach.setdefault(claim, []).append(effect)
    parts = []
    for claim in sorted(reach):
        dims = [q for q in quality if q in reach[claim]]
        if len(dims) == len(quality):
            parts.append(f"{claim} → " + _tr(f"cả {len(quality)}", f"all {len(quality)}", lang))
        else:
            parts.append(f"{claim} → {', '.join(dims)}")
    return "; ".join(parts)


def diagram_edges(paths: pd.DataFrame | None = None, lang: str = "vi") -> pd.DataFrame:
    """The arrows of :func:`path_diagram`: ``cause, effect, sign, label`` (one row per arrow).

    A cause with a hypothesized path to every quality dimension (one sign) gets one arrow to
    the block, ``effect == "QUALITY"``, labelled claim by claim with the dimensions each
    claim reaches ("D7 → cả 4", "S4 → cả 4; T4 → PRO"); a path to some of the dimensions
    is drawn to those dimensions' boxes.  The label of every other arrow is its claim ids.
    """
    paths = hypothesized_paths() if paths is None else paths
    quality = [q for q in quality_constructs()]
    dimensions = set(quality)
    by_cause: dict[str, list[tuple]] = {}   # the rows of each cause, in table order
    for row in zip(paths["cause"], paths["effect"], paths["sign"], paths["claims"], strict=True):
        by_cause.setdefault(row[0], []).append(row)
    rows = []
    for cause in sorted(by_cause):
        group = by_cause[cause]
        to_q = [r for r in group if r[1] in dimensions]
        if quality and {r[1] for r in to_q} == dimensions and len({r[2] for r in to_q}) == 1:
            rows.append((cause, "QUALITY", to_q[0][2], _claim_targets(to_q, quality, lang)))
            group = [r for r in group if r[1] not in dimensions]
        rows += group
    return pd.DataFrame(rows, columns=["cause", "effect", "sign", "label"])


@_resultcache.kept(figure=True)
def path_diagram(lang: str = "vi", paths: pd.DataFrame | None = None):
    """The conceptual model as a matplotlib figure (boxes and arrows, claim ids on arrows).

    Boxes are laid out from ``constructs.csv`` (roles give the columns, see
    :func:`_layout`), so a researcher's own constructs find their place.  Arrows are
    :func:`diagram_edges`: an arrow to the dashed quality block reaches every dimension and
    says so claim by claim; an arrow to one dimension ends at that dimension's box.  Each
    label sits on its own arrow, at the first place along it (from the middle outwards)
    where it touches no other label, box, text or arrow — checked on the rendered extents,
    as :func:`diagram_conflicts` checks the finished figure.  Box labels are wrapped at word
    boundaries, never shortened.  Negative hypotheses are drawn dashed red.
    Raises :class:`~hlstudy.errors.ModelError` when a path names a construct that is not in
    ``constructs.csv``.

    >>> fig = path_diagram()          # doctest: +SKIP
    >>> diagram_conflicts(fig)        # doctest: +SKIP
    []

    (Not run as a doctest: ``tests/test_framework.py`` checks this very call, in both
    languages, on the figure its other tests read.)
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    from hlstudy.pathplot import _add_patch

    paths = hypothesized_paths() if paths is None else paths
    labels = _node_labels(lang)
    x_lo, x_hi = -1.25, max(_column_x(c) for c in _column_of(paths).values()) + 1.25
    w = BOX_WIDTH
    # wrapped to the box's inner width as rendered (English words are wider than Vietnamese
    # ones at the same count of characters: 30 characters overran the box in English)
    points_per_unit = DIAGRAM_WIDTH * 0.99 * 72 / (x_hi - x_lo)
    wrapped = {n: fit_label(labels.get(n, n), (w - 0.2) * points_per_unit, BOX_FONTSIZE)
               for n in _column_of(paths)}
    height = {n: 0.46 + 0.19 * (wrapped[n].count("\n") + 1) for n in wrapped}
    pos = _layout(paths)
    quality = [q for q in quality_constructs() if q in pos]
    # the note under the lowest box's bottom edge (a tall box at the bottom reached into it)
    y_lo = min(y - height[n] / 2 for n, (_, y) in pos.items()) - (1.3 - LAYOUT_BOX_HEIGHT / 2)
    y_hi = max(y for _, y in pos.values()) + 0.9
    fig_title = fit_label(_tr("Mô hình nghiên cứu: các yếu tố ảnh hưởng đến chất lượng cán bộ, công "
                          "chức cấp xã và đánh giá của người dân",
                          "Research model: factors of commune officials' quality and citizens' "
                          "assessment", lang), 0.95 * DIAGRAM_WIDTH * 72, 11, 200)
    title_in = 0.12 + 0.2 * (fig_title.count("\n") + 1)   # the title's band (inches)
    fig_h = 0.59 * (y_hi - y_lo) + title_in
    fig, ax = plt.subplots(figsize=(DIAGRAM_WIDTH, fig_h))
    # fixed margins: no tight_layout after the labels are placed (it would move them)
    fig.subplots_adjust(left=0.005, right=0.995, bottom=0.005, top=1 - title_in / fig_h)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)
    ax.axis("off")
    colours = {"factor": "#dbe9f6", "mediator": "#fde9c9", "outcome": "#fde9c9",
               "quality": "#d9f0d3", "citizen": "#f3d9ea", "extra": "#eeeeee"}
    roles = dict(zip(codebook.construct_labels()["construct"],
                     codebook.construct_labels()["role"], strict=True))
    border = []
    if quality:
        q_bottom, q_top, bx0 = _block_span(pos, height, quality)
        qx = pos[quality[0]][0]
        # within the block (bold glyphs are wider than the regular ones fit_label measures)
        room = 0.88 * (w + 0.4) * points_per_unit   # the count on a line of its own
        title = "\n".join(fit_label(part, room, 8.5, 24) for part in _tr(
            f"Chất lượng CBCC cấp xã|({len(quality)} thành phần)",
            f"Quality of commune officials|({len(quality)} dimensions)", lang).split("|"))
        bx1 = qx + w / 2 + 0.25
        by0, by1 = q_bottom - 0.25, q_top + 0.36 + 0.3 * (title.count("\n") + 1)
        _add_patch(ax, FancyBboxPatch((bx0, by0), bx1 - bx0, by1 - by0, boxstyle="round,pad=0.02",
                                    fc="none", ec="#2f6b2f", lw=1.4, ls="--"))
        border = [((bx0, by0), (bx1, by0)), ((bx1, by0), (bx1, by1)),
                  ((bx1, by1), (bx0, by1)), ((bx0, by1), (bx0, by0))]
        ax.text(qx, q_top + 0.2, title, ha="center", va="bottom", fontsize=8.5,
                color="#2f6b2f", fontweight="bold", linespacing=1.1)
    for node, (x, y) in pos.items():
        fc = colours.get(roles.get(node, "extra"), colours["extra"])
        hh = height[node]
        box = _add_patch(ax, FancyBboxPatch((x - w / 2, y - hh / 2), w, hh,
                                          boxstyle="round,pad=0.03", fc=fc, ec="#555555", lw=0.8))
        box._hlstudy_node = node
        ax.text(x, y + hh / 2 - 0.2, node, ha="center", va="center", fontsize=8.5,
                fontweight="bold")
        label = ax.text(x, y + hh / 2 - 0.36, wrapped[node], ha="center", va="top",
                        fontsize=BOX_FONTSIZE, linespacing=1.15)
        label._hlstudy_box_label = node
    edges = diagram_edges(paths, lang)
    arrows = []
    ends = _arrow_ends(list(zip(edges["cause"], edges["effect"], strict=True)), pos, height,
                       quality)
    for r, (_, start, end) in zip(edges.itertuples(index=False), ends, strict=True):
        colour = "#b2182b" if r.sign == "-" else "#333333"
        arrow = FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, lw=0.8,
                                color=colour, ls="--" if r.sign == "-" else "-",
                                shrinkA=1, shrinkB=1, alpha=0.9)
        arrow._hlstudy_edge = (r.cause, r.effect)
        _add_patch(ax, arrow)
        arrows.append((arrow, r.label, colour))
    if quality and "QUAL" in pos:
        # the commune-mean link from the quality block to QUAL (aggregation, not a path)
        link = FancyArrowPatch((bx1, pos["QUAL"][1]), (pos["QUAL"][0] - w / 2, pos["QUAL"][1]),
                               arrowstyle="-|>", mutation_scale=9, lw=0.8, color="#777777",
                               ls=":")
        link._hlstudy_edge = ("QUALITY", "QUAL")
        _add_patch(ax, link)
    ax.set_title(fig_title, fontsize=11)
    ax.text(x_lo + 0.1, y_lo + 0.15, fit_label(_tr(
        "Mũi tên: giả thuyết (nhãn = mã luận điểm). Mũi tên tới khung nét đứt: tác động tới "
        f"cả {len(quality)} thành phần chất lượng (\"cả {len(quality)}\") hoặc tới các thành "
        "phần ghi sau mã; mũi tên tới một ô: chỉ thành phần đó. Nét đứt đỏ: tác động âm; "
        "chấm: trung bình theo xã.",
        "Arrows: hypotheses (labels = claim ids). Arrows to the dashed block reach all "
        f"{len(quality)} quality dimensions (\"all {len(quality)}\") or those named after the "
        "id; an arrow to one box reaches that dimension only. Red dashed: negative; dotted: "
        "commune mean.", lang), 0.95 * DIAGRAM_WIDTH * 72, 7, 200), fontsize=7,
        color="#444444", va="bottom")
    _place_edge_labels(fig, ax, arrows, border)
    return fig


def _box_hits_segment(box, p, q) -> bool:
    """Whether the segment ``p``–``q`` (display coordinates) meets the rectangle ``box``."""
    (x0, y0), (x1, y1) = p, q
    t0, t1 = 0.0, 1.0
    dx, dy = x1 - x0, y1 - y0
    for d, lo, hi, v in ((dx, box.x0, box.x1, x0), (dy, box.y0, box.y1, y0)):
        if d == 0:
            if v < lo or v > hi:
                return False
            continue
        a, b = (lo - v) / d, (hi - v) / d
        a, b = min(a, b), max(a, b)
        t0, t1 = max(t0, a), min(t1, b)
        if t0 > t1:
            return False
    return True


def _padded(box, pad: float):
    from matplotlib.transforms import Bbox

    return Bbox([[box.x0 - pad, box.y0 - pad], [box.x1 + pad, box.y1 + pad]])


def _obstacles(fig, ax, renderer, exclude=None):
    """Boxes, non-label texts, arrow segments and the quality block's border, in pixels."""
    boxes = [p.get_window_extent(renderer) for p in ax.patches
             if getattr(p, "_hlstudy_node", None)]
    texts = [t.get_window_extent(renderer) for t in ax.texts
             if not getattr(t, "_hlstudy_path_label", False) and t.get_text()]
    if ax.title.get_text():
        texts.append(ax.title.get_window_extent(renderer))
    segments = []
    for p in ax.patches:
        edge = getattr(p, "_hlstudy_edge", None)
        if edge is None or edge == exclude:
            continue
        a, b = p._posA_posB
        segments.append((edge, ax.transData.transform(a), ax.transData.transform(b)))
    return boxes, texts, segments


def _place_edge_labels(fig, ax, arrows, border) -> None:
    renderer = fig.canvas.get_renderer()
    boxes, texts, segments = _obstacles(fig, ax, renderer)
    border_px = [(("border", i), ax.transData.transform(a), ax.transData.transform(b))
                 for i, (a, b) in enumerate(border)]
    placed = []
    node_boxes = {p._hlstudy_node: p for p in ax.patches if getattr(p, "_hlstudy_node", None)}
    fractions = (0.5, 0.4, 0.6, 0.32, 0.68, 0.25, 0.75, 0.45, 0.55, 0.18, 0.82, 0.12, 0.88)
    for arrow, text, colour in arrows:
        (sx, sy), (ex, ey) = arrow._posA_posB
        # one label, moved along its arrow to each candidate place (a text's extent depends
        # only on its position there, so this measures what a new text at each place would)
        label = ax.text(sx + fractions[0] * (ex - sx), sy + fractions[0] * (ey - sy), text,
                        fontsize=export.MIN_TEXT_PT, color=colour, ha="center", va="center", zorder=5,
                        bbox={"fc": "white", "ec": "none", "pad": 0.4, "alpha": 0.95})
        best, best_hits = None, None
        # on its arrow, on one line first; a label of several claims ("D8 → cả 4; S3 → PRO")
        # that finds no free place on a short arrow is tried again with one claim a line, and
        # last under or over the box the arrow leaves (a short arrow between near columns)
        lines = [text] + ([text.replace("; ", ";\n")] if "; " in text else [])
        source = node_boxes.get(arrow._hlstudy_edge[0])
        tries = [(c, True) for c in lines] + ([(c, False) for c in lines] if source else [])
        for candidate, along in tries:
            label.set_text(candidate)
            if along:
                places = [(sx + f * (ex - sx), sy + f * (ey - sy)) for f in fractions]
            else:
                b, lab = source.get_window_extent(renderer), label.get_window_extent(renderer)
                gap = (b.height + lab.height) / 2 + 3.0
                places = [tuple(ax.transData.inverted().transform(
                    ((b.x0 + b.x1) / 2, (b.y0 + b.y1) / 2 + dy))) for dy in (-gap, gap)]
            for where in places:
                label.set_position(where)
                box = _padded(label.get_window_extent(renderer), 2.0)
                hits = (sum(box.overlaps(b) for b in placed)
                        + sum(box.overlaps(b) for b in boxes) + sum(box.overlaps(b) for b in texts)
                        + sum(_box_hits_segment(box, a, b) for e, a, b in segments + border_px
                              if e != arrow._hlstudy_edge))
                if best_hits is None or hits < best_hits:
                    best, best_hits = (candidate, where), hits
                if hits == 0:
                    break
            if best_hits == 0:
                break
        label.set_text(best[0])
        label.set_position(best[1])
        label._hlstudy_path_label = True
        label._hlstudy_edge = arrow._hlstudy_edge
        placed.append(_padded(label.get_window_extent(renderer), 2.0))


def diagram_crossings(fig) -> list[tuple]:
    """The pairs of arrows of :func:`path_diagram`'s figure that cross, as drawn: each
    arrow's segment in display coordinates, named by its ``(cause, effect)`` (``QUALITY``: the
    block), compared by :func:`crossing_pairs`.  Arrows that only share an end (two arrows
    into one box) do not cross."""
    out = []
    for ax in fig.axes:
        out += crossing_pairs([(p._hlstudy_edge, *(ax.transData.transform(x) for x in p._posA_posB))
                               for p in ax.patches if getattr(p, "_hlstudy_edge", None)])
    return out


def diagram_conflicts(fig) -> list[tuple[str, str]]:
    """What the arrow labels of :func:`path_diagram` touch: ``(label, obstacle)`` pairs.

    Rendered extents (pixels) of every label are compared with the other labels, the boxes,
    every other text (box labels, block title, note, figure title) and every arrow but its
    own.  An empty list means no label overlaps anything.
    """
    fig.draw_without_rendering()   # layout only: the extents below need no pixels
    renderer = fig.canvas.get_renderer()
    out = []
    for ax in fig.axes:
        labels = [t for t in ax.texts if getattr(t, "_hlstudy_path_label", False)]
        boxes, texts, segments = _obstacles(fig, ax, renderer)   # measured once per axes
        extents = [(t, t.get_window_extent(renderer)) for t in labels]
        for i, (t, box) in enumerate(extents):
            for t2, box2 in extents[i + 1:]:
                if box.overlaps(box2):
                    out.append((t.get_text(), t2.get_text()))
            if any(box.overlaps(b) for b in boxes):
                out.append((t.get_text(), "box"))
            if any(box.overlaps(b) for b in texts):
                out.append((t.get_text(), "text"))
            for edge, a, b in segments:   # every arrow but the label's own
                if edge != t._hlstudy_edge and _box_hits_segment(box, a, b):
                    out.append((t.get_text(), "arrow " + "→".join(edge)))
    return out


def reform_table(lang: str = "vi") -> pd.DataFrame:
    """The 8 new communes with the units merged into each, their count and area."""
    from hlstudy.communes import crosswalk, new_communes, unit_label

    cw = crosswalk()
    new = new_communes().set_index("name")
    rows = []
    for name, g in cw.groupby("commune_2025", sort=False):  # crosswalk: Vietnamese order
        units = [unit_label(n, t) for n, t in zip(g["name"], g["unit_type"], strict=True)]
        rows.append({"commune_2025": name, "code": new.at[name, "code"],
                     "units_merged": ", ".join(units), "n_units": len(g),
                     "area_km2": float(new.at[name, "area_km2"])})
    return pd.DataFrame(rows)


#: Size (inches) of :func:`reform_figure`: as saved it fits the thesis' text width (155 mm).
REFORM_FIGSIZE = (5.9, 5.6)


@_resultcache.kept(figure=True)
def reform_figure(lang: str = "vi"):
    """Map of the 23 units' points coloured by their 2025 commune, linked to its centre.

    Coordinates are the registry's approximate points.  The town and xã Tân Thành coincide in
    the source (a source error): Tân Thành is moved by the commune map's one rule,
    :func:`hlstudy.diagnostic.mapping.separate_duplicates` (0.012° north; this map moved it
    0.010° south by its own code, so the same unit stood in two places on two maps), and
    marked as there, "Tân Thành*", the note saying what "*" means
    (:func:`~hlstudy.diagnostic.mapping.moved_note`).  Every text is 7 pt or larger (the
    thesis prints the map at 100 %).  The
    31 names (bold: the new communes at their stars) are placed as the commune map's
    (:func:`hlstudy.diagnostic.mapping._place_names`: the nearest place around each point,
    measured from the edge of its dot or star, 1 pt or more clear of each other, every
    point and star by its drawn size, the link lines and the plot frame, with a thin line
    to a point a name had to leave; fixed labels at one offset overlapped: Tuấn Sơn / Minh
    Hòa, Thiện Tân / Minh Tiến, Yên Sơn under Cai Kinh's star, names across the right edge;
    adjustText, used before, left Thanh Sơn on its point once the map was narrowed to the
    page's :data:`REFORM_FIGSIZE`; names measured from a star's centre as from a dot's
    touched their stars: Cai Kinh).  No marker covers another: a dot that a star or another
    dot would touch is drawn apart from it (:func:`_reform_dots_apart`: Yên Sơn's point lies
    0.5 km from Cai Kinh's centre, and its star covered part of the dot), marked "*" and
    explained in the note like the moved point.  Deterministic, no iteration limit.
    """
    import matplotlib.pyplot as plt

    from hlstudy.communes import collation_key, communes, new_communes, unit_label
    from hlstudy.diagnostic.mapping import (
        _place_names,
        moved_flags,
        moved_note,
        separate_duplicates,
    )
    from hlstudy.pathplot import wrap_label

    reg = communes()
    new = new_communes().set_index("name")
    lat0 = np.deg2rad(reg["lat"].mean())
    pts = separate_duplicates(reg)   # the commune map's rule: the same unit, the same place
    flags = moved_flags(reg)
    # the text width of the thesis page (155 mm) at most, names at their printed size
    fig, ax = plt.subplots(figsize=REFORM_FIGSIZE)
    names = sorted(new.index, key=collation_key)   # legend and colours in Vietnamese order
    cmap = plt.get_cmap("tab10")
    texts, xs, ys = [], [], []
    units = []   # each former unit: its dot (collection, index), link line, name, place
    stars = {}   # each star's collection: the new commune's name
    for k, name in enumerate(names):
        g = pts[pts["commune_2025"] == name]
        colour = cmap(k)
        cx, cy = new.at[name, "lon"], new.at[name, "lat"]
        links = [ax.plot([r.lon, cx], [r.lat, cy], color=colour, lw=0.8, alpha=0.6)[0]
                 for r in g.itertuples(index=False)]
        # the former units' points over the stars, and none under a star's or another
        # point's edge (moved apart below)
        dots = ax.scatter(g["lon"], g["lat"], s=36, color=colour, edgecolor="white",
                          zorder=4.5)
        star = ax.scatter([cx], [cy], s=150, marker="*", color=colour, edgecolor="black",
                          lw=0.5, zorder=4)
        stars[star] = name
        texts.append(ax.text(cx, cy, name, fontsize=9, fontweight="bold", color=colour,
                             zorder=5))
        xs.append(cx)
        ys.append(cy)
        for i, (r, link) in enumerate(zip(g.itertuples(index=False), links, strict=True)):
            label = unit_label(r.name, r.unit_type)
            texts.append(ax.text(r.lon, r.lat, label + flags.get(str(r.code), ""), fontsize=7,
                                 color="#333333", zorder=5))
            units.append({"dots": dots, "i": i, "link": link, "text": texts[-1],
                          "at": len(xs), "label": label, "flag": flags.get(str(r.code), "")})
            xs.append(r.lon)
            ys.append(r.lat)
    lons = np.concatenate([pts["lon"], new["lon"]])
    lats = np.concatenate([pts["lat"], new["lat"]])
    # room for the names beside the outermost points (most read to the right of theirs)
    ax.set_xlim(lons.min() - 0.015, lons.max() + 0.045)
    ax.set_ylim(lats.min() - 0.012, lats.max() + 0.012)
    ax.set_aspect(1 / np.cos(lat0))
    ax.set_xlabel(_tr("Kinh độ", "Longitude", lang))
    ax.set_ylabel(_tr("Vĩ độ", "Latitude", lang))
    ax.set_title(wrap_label(_tr("Sắp xếp đơn vị hành chính năm 2025: 23 xã, thị trấn của huyện "
                                "Hữu Lũng → 8 xã", "2025 reform: Hữu Lũng's 23 units → 8 communes",
                                lang), 60), fontsize=10)
    note = ax.text(0.0, -0.1, _tr(
        "Chấm: vị trí gần đúng của 23 đơn vị cũ; sao: trung tâm xã mới (vietnamadminunits); "
        "đường: nối đơn vị cũ với xã mới mà nó nhập vào, mỗi xã mới một màu.",
        "Dots: approximate points of the 23 former units; stars: new commune centres "
        "(vietnamadminunits); lines: each former unit to the new commune it merged into, one "
        "colour per new commune.", lang) + " " + moved_note(reg, lang),
        transform=ax.transAxes, fontsize=7,
        va="top", color="#444444", wrap=True)
    fig.tight_layout()   # the plot area as saved, before the names are placed in it
    # under the axis label, whatever the figure's size (at a fixed axes fraction it overlapped
    # the label once the figure was narrowed to the page)
    fig.draw_without_rendering()
    below = ax.xaxis.label.get_window_extent().y0 - 3 * fig.dpi / 72
    note.set_y(ax.transAxes.inverted().transform((0.0, below))[1])
    apart = _reform_dots_apart(ax, units, stars, xs, ys, lat0, lang)
    if apart:   # said in the note, after the moved point's sentence, with the same mark
        note.set_text(note.get_text().rstrip() + " " + apart)
    _place_names(ax, texts, np.column_stack([xs, ys]), [])   # link lines: the plot's lines
    return fig


def _reform_dots_apart(ax, units: list[dict], stars: dict, xs: list, ys: list, lat0: float,
                       lang: str) -> str:
    """Move the dots of :func:`reform_figure` that a star or another dot would cover apart
    from it (:func:`hlstudy.diagnostic.mapping.markers_apart`, in the layout as drawn,
    :data:`~hlstudy.diagnostic.mapping.MARKER_CLEARANCE` between their drawn extents; the
    stars, the new communes' centres, stay): Yên Sơn's point lies 0.004° from Cai Kinh's
    centre, and its star covered part of the dot.  A moved dot's link line and name follow
    it (``xs``, ``ys``: the names' points, updated); its name gets the map's
    :data:`~hlstudy.diagnostic.mapping.MOVED_MARK`.  Returns the note's sentence about the
    moved dots (how far from which marker the point lies, how far and which way it is
    drawn), ``""`` when none moved."""
    from matplotlib.collections import PathCollection

    from hlstudy.diagnostic.mapping import (
        MARKER_CLEARANCE,
        MOVED_MARK,
        compass_word,
        marker_extents,
        markers_apart,
    )
    from hlstudy.export import number

    centres, boxes = marker_extents(ax)
    # the markers in marker_extents' order: (collection, index)
    owners = [(c, i) for c in ax.collections if isinstance(c, PathCollection)
              and c.get_visible() for i in range(len(c.get_offsets()))]
    dot_of = {(u["dots"], u["i"]): u for u in units}
    movable = [k for k, owner in enumerate(owners) if owner in dot_of]
    extents = np.array([[b.x0 - x, b.y0 - y, b.x1 - x, b.y1 - y]
                        for b, (x, y) in zip(boxes, centres, strict=True)])
    gap = MARKER_CLEARANCE * ax.figure.dpi / 72.0
    moved = markers_apart(centres, extents, movable, gap)
    to_data = ax.transData.inverted()
    km_x, km_y = 111.32 * np.cos(lat0), 111.32
    parts = []
    for k in movable:
        if np.array_equal(moved[k], centres[k]):
            continue
        unit = dot_of[owners[k]]
        (x0, y0), (x1, y1) = to_data.transform(centres[k]), to_data.transform(moved[k])
        offsets = np.asarray(unit["dots"].get_offsets(), float).copy()
        offsets[unit["i"]] = (x1, y1)
        unit["dots"].set_offsets(offsets)
        line = unit["link"]
        line.set_data([x1, line.get_xdata()[1]], [y1, line.get_ydata()[1]])
        xs[unit["at"]], ys[unit["at"]] = x1, y1
        unit["text"].set_text(unit["label"] + unit["flag"] + (MOVED_MARK if not unit["flag"]
                                                               else ""))
        # the marker it was covered by: the nearest whose extent it came within the gap of
        near = min((j for j in range(len(boxes)) if j != k
                    and boxes[k].padded(gap).overlaps(boxes[j])),
                   key=lambda j: (np.hypot(*(centres[j] - centres[k])), j))
        xj, yj = to_data.transform(centres[near])
        other = owners[near]
        what = (_tr(f"sao {stars[other[0]]}", f"{stars[other[0]]}'s star", lang)
                if other[0] in stars else _tr(f"chấm {dot_of[other]['label']}",
                                              f"the dot of {dot_of[other]['label']}", lang))
        apart = number(float(np.hypot((x0 - xj) * km_x, (y0 - yj) * km_y)), 1, lang=lang)
        dx, dy = (x1 - x0) * km_x, (y1 - y0) * km_y
        shift = number(float(np.hypot(dx, dy)), 1, lang=lang)
        way = compass_word(dx, dy, lang)
        parts.append(_tr(
            f"{unit['label']}: điểm cách {what} {apart} km, được vẽ lệch {shift} km về phía "
            f"{way} để không bị che",
            f"{unit['label']}: point {apart} km from {what}, drawn {shift} km further {way} "
            "so that it is not covered", lang))
    return f"{MOVED_MARK} " + "; ".join(parts) + "." if parts else ""
