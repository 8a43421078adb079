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
            lab = codebook.value_labels(vs)
            claims = sorted({c for s in items["claims"] for c in s.split(";") if c})
            rows.append({
                "instrument": instrument, "construct": construct,
                "label": labels.at[construct, "label_en" if lang == "en" else "label_vi"],
                "role": labels.at[construct, "role"],
                "n_items": len(items), "n_reverse": int(items["reverse"].sum()),
                "items": f"{items['variable'].iloc[0]}–{items['variable'].iloc[-1]}",
                "scale": f"1 = {lab['label_en' if lang == 'en' else 'label_vi'].iloc[0]} … "
                         f"5 = {lab['label_en' if lang == 'en' else 'label_vi'].iloc[-1]}",
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
    return pd.DataFrame(rows).sort_values(["effect", "cause"], ignore_index=True)


def _node_labels(lang: str) -> dict[str, str]:
    labels = codebook.construct_labels()
    out = {r.construct: (r.label_en if lang == "en" else r.label_vi)
           for r in labels.itertuples(index=False)}
    out.update({k: (en if lang == "en" else vi) for k, (vi, en) in EXTRA_NODES.items()})
    return out


def _layout() -> dict[str, tuple[float, float]]:
    left = ["COMP", "ENV", "REC", "TRAIN", "FAC", "LEAD", "SUP", "RES", "EDU", "TENURE"]
    pos = {n: (0.0, 9.0 - i) for i, n in enumerate(left)}
    pos.update({"MOT": (3.3, 8.6), "STAY": (3.3, 10.0)})
    pos.update({q: (6.4, 6.0 - 1.3 * i) for i, q in enumerate(QUALITY)})
    pos.update({"QUAL": (9.7, 2.0), "CFB": (9.7, -0.6), "SIPAS": (9.7, 4.6),
                "CTRUST": (12.7, 3.6), "CSAT": (12.7, 1.0)})
    return pos


def path_diagram(lang: str = "vi", paths: pd.DataFrame | None = None):
    """The conceptual model as a matplotlib figure (boxes and arrows, claim ids on arrows).

    A cause with a hypothesized path to all four quality dimensions gets one arrow to the
    quality block.  Negative hypotheses are drawn dashed.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    paths = hypothesized_paths() if paths is None else paths
    pos = _layout()
    labels = _node_labels(lang)
    unknown = sorted((set(paths["cause"]) | set(paths["effect"])) - set(pos))
    if unknown:
        raise ModelError(f"no place in the diagram for {unknown}")
    fig, ax = plt.subplots(figsize=(13.5, 8.6))
    ax.set_xlim(-1.5, 14.2)
    ax.set_ylim(-1.6, 10.6)
    ax.axis("off")
    w, h = 2.6, 0.72
    colours = {"factor": "#dbe9f6", "mediator": "#fde9c9", "outcome": "#fde9c9",
               "quality": "#d9f0d3", "citizen": "#f3d9ea", "extra": "#eeeeee"}
    roles = dict(zip(codebook.construct_labels()["construct"],
                     codebook.construct_labels()["role"], strict=True))
    # quality block
    qx, qy = pos["ETH"][0], pos["RSP"][1]
    block = FancyBboxPatch((qx - w / 2 - 0.25, qy - h / 2 - 0.25), w + 0.5,
                           pos["ETH"][1] - qy + h + 0.85, boxstyle="round,pad=0.02",
                           fc="none", ec="#2f6b2f", lw=1.4, ls="--")
    ax.add_patch(block)
    ax.text(qx, pos["ETH"][1] + h / 2 + 0.22, _tr("Chất lượng CBCC cấp xã (mục 1.1)",
                                                   "Quality of commune officials (1.1)", lang),
            ha="center", va="bottom", fontsize=9, color="#2f6b2f", fontweight="bold")
    for node, (x, y) in pos.items():
        fc = colours[roles.get(node, "extra")]
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.03",
                                    fc=fc, ec="#555555", lw=0.8))
        ax.text(x, y + 0.12, node, ha="center", va="center", fontsize=8.5, fontweight="bold")
        ax.text(x, y - 0.17, _wrap(labels[node], 34), ha="center", va="center", fontsize=6.3)
    # arrows: aggregate causes reaching all four quality dimensions
    drawn = []
    for cause, group in paths.groupby("cause", sort=True):
        to_q = group[group["effect"].isin(QUALITY)]
        if set(to_q["effect"]) == set(QUALITY) and len(set(to_q["sign"])) == 1:
            claims = sorted({c for s in to_q["claims"] for c in s.split(", ")})
            drawn.append((cause, "QUALITY", to_q["sign"].iloc[0], ", ".join(claims)))
            rest = group[~group["effect"].isin(QUALITY)]
        else:
            rest = group
        drawn += [(r.cause, r.effect, r.sign, r.claims) for r in rest.itertuples(index=False)]
    block_left = (qx - w / 2 - 0.25, None)
    for cause, effect, sign, claims in drawn:
        x0, y0 = pos[cause]
        start = (x0 + w / 2, y0)
        if effect == "QUALITY":
            end = (block_left[0], np.clip(y0, pos["RSP"][1], pos["ETH"][1]))
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
        ax.text(mx, my, claims, fontsize=5.6, color=colour, ha="center", va="center",
                bbox={"fc": "white", "ec": "none", "pad": 0.3, "alpha": 0.8})
    # the commune-mean link from the quality block to QUAL (aggregation, not a path)
    ax.add_patch(FancyArrowPatch((qx + w / 2 + 0.25, pos["RSP"][1] + 0.4),
                                 (pos["QUAL"][0] - w / 2, pos["QUAL"][1]), arrowstyle="-|>",
                                 mutation_scale=9, lw=0.8, color="#777777", ls=":"))
    ax.set_title(_tr("Mô hình nghiên cứu: các yếu tố ảnh hưởng đến chất lượng cán bộ, công "
                     "chức cấp xã và đánh giá của người dân",
                     "Research model: factors of commune officials' quality and citizens' "
                     "assessment", lang), fontsize=11)
    ax.text(-1.4, -1.5, _tr("Mũi tên: giả thuyết (nhãn = mã luận điểm); nét đứt đỏ: tác động "
                            "âm; chấm: trung bình theo xã.",
                            "Arrows: hypotheses (labels = claim ids); red dashed: negative; "
                            "dotted: commune mean.", lang), fontsize=7, color="#444444")
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
