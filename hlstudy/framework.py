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
  drawn from the registry's coordinates (points, not boundaries).

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

import numpy as np
import pandas as pd

from hlstudy import codebook, export
from hlstudy.errors import ModelError

QUALITY = ("ETH", "PRO", "SKL", "RSP")
#: Extra (non-Likert) nodes of the model with their Vietnamese / English names.
EXTRA_NODES = {
    "EDU": ("Trình độ chuyên môn", "Education level"),
    "TENURE": ("Thâm niên giữ chức danh", "Years in post"),
    "QUAL": ("Chất lượng CBCC của xã (trung bình)", "Commune mean quality of officials"),
}


def slovin(population: float, margin: float = 0.05) -> int:
    """Slovin's sample size ``n = N / (1 + N e²)``, rounded up (Yamane 1967 form).

    The rule quoted by Vietnamese theses (facts.md); it assumes simple random sampling and
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
    """A number written the Vietnamese way: ``.`` between thousands, ``,`` before decimals.

    ``percent=True`` multiplies by 100 and appends ``%`` (Vietnamese style, no space), so
    that prose built from data reads "121.735 người", "806,74 km²", "52,3%" (TCVN usage;
    an English ``121,735`` would read as a decimal to a Vietnamese committee).

    >>> vi_number(121735), vi_number(806.74, 2), vi_number(0.523, 1, percent=True)
    ('121.735', '806,74', '52,3%')
    >>> vi_number(-1234.5, 1)
    '-1.234,5'
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


def hypotheses_table(lang: str = "vi") -> pd.DataFrame:
    """Claims with their hypothesis, test type, constructs and expected sign."""
    h = codebook.hypotheses()
    claims = pd.read_csv(codebook.INSTRUMENT / "claims.csv", dtype=str, keep_default_na=False)
    h = h.merge(claims[["claim_id", "section", "kind"]], on="claim_id", how="left")
    text = h["hypothesis_en"] if lang == "en" else h["hypothesis_vi"]
    return pd.DataFrame({
        "claim_id": h["claim_id"], "section": h["section"], "kind": h["kind"],
        "hypothesis": text, "test_type": h["test_type"],
        "constructs": h["constructs"].str.replace(";", ", "),
        "paths": h["paths"].str.replace(";", ", "), "expected_sign": h["expected_sign"],
    })


def instruments_table(lang: str = "vi") -> pd.DataFrame:
    """One row per construct: instrument, label, number of items, reverse-keyed items, scale,
    claims served (from the codebook)."""
    rows = []
    for instrument in ("officials", "citizens"):
        cb = codebook.load_codebook(instrument)
        labels = codebook.construct_labels(instrument).set_index("construct")
        for construct in codebook.constructs(instrument):
            items = cb[(cb["type"] == "likert") & (cb["construct"] == construct)]
            vs = items["value_set"].iloc[0]
            lab = codebook.value_labels(vs).sort_values("code", key=lambda c: c.astype(int))
            text = "label_en" if lang == "en" else "label_vi"
            claims = sorted({c for s in items["claims"] for c in s.split(";") if c})
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


def hypothesized_paths() -> pd.DataFrame:
    """Every path named by a hypothesis: ``cause, effect, sign, claims`` (sorted)."""
    h = codebook.hypotheses()
    out: dict[tuple[str, str], dict] = {}
    for r in h.itertuples(index=False):
        for p in (p for p in r.paths.split(";") if p):
            cause, effect = p.split("->")
            sign = "-" if (r.expected_sign == "-" or (r.expected_sign == "-/+" and cause == "RES")) \
                else "+"
            entry = out.setdefault((cause, effect), {"sign": sign, "claims": []})
            entry["claims"].append(r.claim_id)
    rows = [{"cause": c, "effect": e, "sign": v["sign"], "claims": ", ".join(sorted(set(
        v["claims"])))} for (c, e), v in out.items()]
    return pd.DataFrame(rows, columns=["cause", "effect", "sign", "claims"]).sort_values(
        ["effect", "cause"], ignore_index=True)


def _node_labels(lang: str) -> dict[str, str]:
    labels = codebook.construct_labels()
    out = {r.construct: (r.label_en if lang == "en" else r.label_vi)
           for r in labels.itertuples(index=False)}
    out.update({k: (en if lang == "en" else vi) for k, (vi, en) in EXTRA_NODES.items()})
    return out


#: x position of each column of the diagram; further columns follow every 3.0.
COLUMN_X = (0.0, 3.3, 6.4, 9.7, 12.7)
#: Vertical spacing of the boxes within a column, by column (then the last value).
COLUMN_STEP = (1.0, 1.4, 1.3, 2.6)


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


def _layout(paths: pd.DataFrame | None = None) -> dict[str, tuple[float, float]]:
    """Box centres of the conceptual model, laid out from ``constructs.csv`` and the paths.

    Columns as :func:`_column_of`; within a column, boxes keep the order of
    ``constructs.csv`` (then EDU, TENURE, QUAL), the first column from the top, the second
    from the top as well, the others centred on the quality block.
    """
    paths = hypothesized_paths() if paths is None else paths
    col = _column_of(paths)
    columns: dict[int, list[str]] = {}
    for n, c in col.items():
        columns.setdefault(c, []).append(n)
    top = 9.0
    left = columns.get(0, [])
    bottom = top - max(len(left) - 1, 0) * COLUMN_STEP[0]
    quality = columns.get(2, [])
    centre = (top - 3.0 - (len(quality) - 1) * COLUMN_STEP[2] / 2) if quality else (top + bottom) / 2
    pos = {}
    for c, members in sorted(columns.items()):
        x = COLUMN_X[c] if c < len(COLUMN_X) else COLUMN_X[-1] + 3.0 * (c - len(COLUMN_X) + 1)
        step = COLUMN_STEP[min(c, len(COLUMN_STEP) - 1)]
        if c >= 3 and len(members) > 1:  # keep tall citizen columns within the figure
            step = min(step, (top + 1.0 - bottom) / (len(members) - 1))
        if c == 0:
            first = top
        elif c == 1:
            first = top + 1.0
        else:
            first = centre + (len(members) - 1) * step / 2
        for k, n in enumerate(members):
            pos[n] = (x, first - k * step)
    return pos


def path_diagram(lang: str = "vi", paths: pd.DataFrame | None = None):
    """The conceptual model as a matplotlib figure (boxes and arrows, claim ids on arrows).

    Boxes are laid out from ``constructs.csv`` (roles give the columns, see
    :func:`_layout`), so a researcher's own constructs find their place.  A cause with a
    hypothesized path to every quality dimension gets one arrow to the quality block,
    labelled as reaching all the dimensions; the arrow labels (claim ids) are placed with
    ``adjustText`` so that labels of converging arrows do not overlap.
    Negative hypotheses are drawn dashed.  Raises :class:`~hlstudy.errors.ModelError` when a
    path names a construct that is not in ``constructs.csv``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    paths = hypothesized_paths() if paths is None else paths
    pos = _layout(paths)
    labels = _node_labels(lang)
    quality = [q for q in quality_constructs() if q in pos]
    xs = [x for x, _ in pos.values()]
    ys = [y for _, y in pos.values()]
    fig, ax = plt.subplots(figsize=(13.5 * (max(xs) + 2.9) / 15.7, 8.6))
    ax.set_xlim(-1.5, max(xs) + 1.5)
    ax.set_ylim(min(ys) - 1.0, max(ys) + 0.6)
    ax.axis("off")
    w, h = 2.6, 0.72
    colours = {"factor": "#dbe9f6", "mediator": "#fde9c9", "outcome": "#fde9c9",
               "quality": "#d9f0d3", "citizen": "#f3d9ea", "extra": "#eeeeee"}
    roles = dict(zip(codebook.construct_labels()["construct"],
                     codebook.construct_labels()["role"], strict=True))
    if quality:
        q_top, q_bottom = pos[quality[0]][1], pos[quality[-1]][1]
        qx = pos[quality[0]][0]
        block = FancyBboxPatch((qx - w / 2 - 0.25, q_bottom - h / 2 - 0.25), w + 0.5,
                               q_top - q_bottom + h + 0.85, boxstyle="round,pad=0.02",
                               fc="none", ec="#2f6b2f", lw=1.4, ls="--")
        ax.add_patch(block)
        ax.text(qx, q_top + h / 2 + 0.22, _tr("Chất lượng CBCC cấp xã (mục 1.1)",
                                              "Quality of commune officials (1.1)", lang),
                ha="center", va="bottom", fontsize=9, color="#2f6b2f", fontweight="bold")
    for node, (x, y) in pos.items():
        fc = colours.get(roles.get(node, "extra"), colours["extra"])
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03",
                                    fc=fc, ec="#555555", lw=0.8))
        ax.text(x, y + 0.12, node, ha="center", va="center", fontsize=8.5, fontweight="bold")
        ax.text(x, y - 0.17, _wrap(labels.get(node, node), 34), ha="center", va="center",
                fontsize=6.3)
    # arrows: aggregate causes reaching all the quality dimensions
    drawn = []
    for cause, group in paths.groupby("cause", sort=True):
        to_q = group[group["effect"].isin(quality)]
        if quality and set(to_q["effect"]) == set(quality) and len(set(to_q["sign"])) == 1:
            claims = sorted({c for s in to_q["claims"] for c in s.split(", ")})
            # say which dimensions the arrow reaches: all of them
            reach = _tr(f"→ cả {len(quality)} chiều", f"→ all {len(quality)}", lang)
            drawn.append((cause, "QUALITY", to_q["sign"].iloc[0],
                          f"{', '.join(claims)} {reach}"))
            rest = group[~group["effect"].isin(quality)]
        else:
            rest = group
        drawn += [(r.cause, r.effect, r.sign, r.claims) for r in rest.itertuples(index=False)]
    edge_labels = []
    for cause, effect, sign, claims in drawn:
        x0, y0 = pos[cause]
        start = (x0 + w / 2, y0)
        if effect == "QUALITY":
            end = (qx - w / 2 - 0.25, np.clip(y0, q_bottom, q_top))
        else:
            x1, y1 = pos[effect]
            if x1 > x0:
                end = (x1 - w / 2, y1)
            elif x1 == x0:
                start, end = (x0, y0 + (h / 2 if y1 > y0 else -h / 2)), (
                    x1, y1 - (h / 2 if y1 > y0 else -h / 2))
            else:
                start, end = (x0 - w / 2, y0), (x1 + w / 2, y1)
        colour = "#b2182b" if sign == "-" else "#333333"
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, lw=0.8,
                                     color=colour, ls="--" if sign == "-" else "-",
                                     shrinkA=1, shrinkB=1, alpha=0.85))
        mx, my = start[0] + 0.55 * (end[0] - start[0]), start[1] + 0.55 * (end[1] - start[1])
        edge_labels.append(ax.text(mx, my, claims, fontsize=5.6, color=colour, ha="center",
                                   va="center", zorder=4,
                                   bbox={"fc": "white", "ec": "none", "pad": 0.3,
                                         "alpha": 0.85}))
    if edge_labels:
        # labels of converging arrows overlapped: separate them (adjustText), each keeping a
        # thin leader to its arrow's mid-point
        from adjustText import adjust_text

        # a fixed number of iterations (not the 1-second default: reproducible bytes)
        adjust_text(edge_labels, ax=ax, expand=(1.1, 1.35), ensure_inside_axes=True,
                    iter_lim=400,
                    arrowprops={"arrowstyle": "-", "color": "#999999", "lw": 0.4})
    if quality and "QUAL" in pos:
        # the commune-mean link from the quality block to QUAL (aggregation, not a path)
        ax.add_patch(FancyArrowPatch((qx + w / 2 + 0.25, q_bottom + 0.4),
                                     (pos["QUAL"][0] - w / 2, pos["QUAL"][1]), arrowstyle="-|>",
                                     mutation_scale=9, lw=0.8, color="#777777", ls=":"))
    ax.set_title(_tr("Mô hình nghiên cứu: các yếu tố ảnh hưởng đến chất lượng cán bộ, công "
                     "chức cấp xã và đánh giá của người dân",
                     "Research model: factors of commune officials' quality and citizens' "
                     "assessment", lang), fontsize=11)
    ax.text(-1.4, min(ys) - 0.9, _tr("Mũi tên: giả thuyết (nhãn = mã luận điểm); nét đứt đỏ: "
                                     "tác động âm; chấm: trung bình theo xã.",
                                     "Arrows: hypotheses (labels = claim ids); red dashed: "
                                     "negative; dotted: commune mean.", lang),
            fontsize=7, color="#444444")
    fig.tight_layout()
    return fig


def _wrap(text: str, width: int) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if len(line) + len(word) + 1 > width and line:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines[:2])


def reform_table(lang: str = "vi") -> pd.DataFrame:
    """The 8 new communes with the units merged into each, their count and area."""
    from hlstudy.communes import crosswalk, new_communes

    cw = crosswalk()
    new = new_communes().set_index("name")
    rows = []
    for name, g in cw.groupby("commune_2025", sort=True):
        units = [("TT " if t == "thị trấn" else "") + n for n, t in zip(g["name"], g["unit_type"],
                                                                         strict=True)]
        rows.append({"commune_2025": name, "code": new.at[name, "code"],
                     "units_merged": ", ".join(units), "n_units": len(g),
                     "area_km2": float(new.at[name, "area_km2"])})
    return pd.DataFrame(rows)


def reform_figure(lang: str = "vi"):
    """Map of the 23 units' points coloured by their 2025 commune, linked to its centre.

    Coordinates are the registry's approximate points (the town and xã Tân Thành coincide in
    the source; the latter is shifted slightly for legibility, as the caption says).
    """
    import matplotlib.pyplot as plt

    from hlstudy.communes import communes, new_communes

    reg = communes()
    new = new_communes().set_index("name")
    lat0 = np.deg2rad(reg["lat"].mean())
    pts = reg.copy()
    dup = pts.duplicated(["lat", "lon"], keep="first")
    pts.loc[dup, "lat"] -= 0.010
    fig, ax = plt.subplots(figsize=(8.6, 7.6))
    names = sorted(new.index)
    cmap = plt.get_cmap("tab10")
    for k, name in enumerate(names):
        g = pts[pts["commune_2025"] == name]
        colour = cmap(k)
        cx, cy = new.at[name, "lon"], new.at[name, "lat"]
        for r in g.itertuples(index=False):
            ax.plot([r.lon, cx], [r.lat, cy], color=colour, lw=0.8, alpha=0.6)
        ax.scatter(g["lon"], g["lat"], s=36, color=colour, edgecolor="white", zorder=3)
        ax.scatter([cx], [cy], s=150, marker="*", color=colour, edgecolor="black", lw=0.5,
                   zorder=4)
        ax.annotate(name, (cx, cy), xytext=(6, 6), textcoords="offset points", fontsize=9,
                    fontweight="bold", color=colour)
        for r in g.itertuples(index=False):
            label = ("TT " if r.unit_type == "thị trấn" else "") + r.name
            ax.annotate(label, (r.lon, r.lat), xytext=(4, -9), textcoords="offset points",
                        fontsize=6.5, color="#333333")
    ax.set_aspect(1 / np.cos(lat0))
    ax.set_xlabel(_tr("Kinh độ", "Longitude", lang))
    ax.set_ylabel(_tr("Vĩ độ", "Latitude", lang))
    ax.set_title(_tr("Sắp xếp đơn vị hành chính năm 2025: 23 xã, thị trấn của huyện Hữu Lũng "
                     "→ 8 xã", "2025 reform: Hữu Lũng's 23 units → 8 communes", lang),
                 fontsize=10.5)
    ax.text(0.0, -0.1, _tr(
        "Chấm: vị trí gần đúng của 23 đơn vị cũ; sao: trung tâm xã mới (vietnamadminunits). "
        "TT Hữu Lũng và Tân Thành trùng tọa độ trong nguồn, Tân Thành được dời nhẹ.",
        "Dots: approximate points of the 23 former units; stars: new commune centres "
        "(vietnamadminunits). TT Hữu Lũng and Tân Thành share a point in the source; "
        "Tân Thành is shifted slightly.", lang), transform=ax.transAxes, fontsize=6.8,
        va="top", color="#444444", wrap=True)
    fig.tight_layout()
    return fig
