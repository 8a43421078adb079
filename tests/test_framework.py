"""Tests of hlstudy.framework (notebook 01's tables and figures)."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest
from keptresults import kept_results

from hlstudy import codebook, export, framework
from hlstudy.errors import ModelError

matplotlib.use("Agg")


def test_hypothesized_paths_are_paths_of_the_simulator():
    from hlstudy.synthetic import DEFAULT_EFFECTS

    paths = framework.hypothesized_paths()
    keys = set(paths["cause"] + "->" + paths["effect"])
    assert keys <= set(DEFAULT_EFFECTS)
    assert not paths.duplicated(["cause", "effect"]).any()
    res = paths[paths["cause"] == "RES"]
    assert set(res["sign"]) == {"-"} and set(res["effect"]) == {"ETH", "PRO", "SKL", "RSP"}
    assert set(paths.loc[paths["sign"] == "+", "cause"]).isdisjoint({"RES"})


def test_paths_beyond_hypotheses_are_unnamed_paths_clear_of_zero():
    """An examiner found COMP → ETH at β = −0.181 [−0.339; −0.023] in notebook 05's SEM, a
    path no hypothesis names, mentioned nowhere: the notebook now names such paths."""
    hyp = framework.hypothesized_paths()
    named = hyp.iloc[0]
    paths = pd.DataFrame({
        "outcome": [named["effect"], "ETH", "ETH", "ETH", "STAY", "MOT", "RSP"],
        "term": [named["cause"], "COMP", "FAC", "ZZZ", "AAA", "RES", "EDU"],
        "estimate": [0.5, -0.18, 0.01, 0.30, 0.20, 0.25, -0.30],
        "ci_low": [0.3, -0.34, -0.14, 0.00, 0.01, 0.05, -0.50],
        "ci_high": [0.7, -0.02, 0.14, 0.60, 0.39, 0.45, -0.10]})
    hypothesized = set(zip(hyp["cause"], hyp["effect"], strict=True))
    assert not {("COMP", "ETH"), ("RES", "MOT"), ("EDU", "RSP")} & hypothesized
    out = framework.paths_beyond_hypotheses(paths)
    # the hypothesized path, an interval across 0 and one touching 0 are left out
    assert out[["term", "outcome"]].values.tolist() == [
        ["COMP", "ETH"], ["RES", "MOT"], ["EDU", "RSP"], ["AAA", "STAY"]]
    assert list(out.columns) == [*paths.columns, "expected_sign", "against_theory"]
    # against the theory: a factor below zero, resistance to change above it; a covariate
    # (education) has no expected sign, a factor in its expected direction is not against
    assert out["expected_sign"].tolist() == ["+", "-", "", "+"]
    assert out["against_theory"].tolist() == [True, True, False, False]
    # a hypothesis list of the caller's: the first path is then beyond it too
    own = framework.paths_beyond_hypotheses(paths, hyp.iloc[1:0])
    assert len(own) == 5
    with pytest.raises(ModelError, match="paths needs columns"):
        framework.paths_beyond_hypotheses(paths.drop(columns="ci_low"))
    with pytest.raises(ModelError, match="paths needs columns"):
        framework.paths_beyond_hypotheses([1, 2])


def test_instruments_table_counts_the_codebook():
    t = framework.instruments_table()
    cb = codebook.load_codebook()
    assert t["n_items"].sum() == (cb["type"] == "likert").sum()
    assert t["n_reverse"].sum() == cb["reverse"].sum()
    assert framework.instruments_table(lang="en").loc[0, "label"] == "Training and refresher courses"


def test_reform_table_partitions_the_23_units():
    t = framework.reform_table()
    assert len(t) == 8 and t["n_units"].sum() == 23
    units = [u for s in t["units_merged"] for u in s.split(", ")]
    assert len(units) == len(set(units)) == 23
    assert "TT Hữu Lũng" in t.set_index("commune_2025").at["Hữu Lũng", "units_merged"]


def test_hypotheses_table_follows_claims_order():
    t = framework.hypotheses_table()
    claims = pd.read_csv(codebook.INSTRUMENT / "claims.csv")
    assert t["claim_id"].tolist() == claims["claim_id"].tolist()
    assert t["hypothesis"].str.len().gt(20).all()


def test_instruments_table_names_every_claim_whose_hypothesis_uses_the_construct():
    """The claims column agrees with the hypotheses table: a construct serves each claim whose
    hypothesis lists it (the codebook's item citations alone once said ETH served only D1 and
    T3) and no other, in claims.csv's order."""
    inst = framework.instruments_table().set_index("construct")
    h = codebook.hypotheses()
    order = h["claim_id"].tolist()
    uses: dict[str, set[str]] = {}
    for r in h.itertuples(index=False):
        for construct in (c for c in r.constructs.split(";") if c):
            uses.setdefault(construct, set()).add(r.claim_id)
    for construct, claims in inst["claims"].items():
        listed = claims.split(", ") if claims else []
        # no claim the ledger does not compute from the construct (the codebook once cited
        # SIPAS for T3, CTRUST for T1 and TRAIN for S2), none left out
        assert set(listed) == uses.get(construct, set()), construct
        assert listed == sorted(listed, key=order.index), construct
    assert "Câu đảo" in framework.instruments_note("vi") and "Reversed" in framework.instruments_note("en")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_hypotheses_table_prints_arrows_and_its_note_explains_every_code_and_sign(lang):
    """The table prints paths as the later tables do ("TRAIN → PRO", not "TRAIN->PRO"), and its
    note says what each sign and each non-construct code in it means (a thesis reader has no
    codebook): the codes from EXTRA_NODES, the negative causes of "-/+" from constructs.csv."""
    t = framework.hypotheses_table(lang=lang).set_index("claim_id")
    assert t.at["T2", "paths"] == "TRAIN → PRO, TRAIN → SKL"
    assert not t["paths"].str.contains("->").any() and t.at["T3", "paths"] == ""
    note = framework.hypotheses_note(lang)
    used = {n for ps in t["paths"] for p in ps.split(", ") if p for n in p.split(" → ")}
    constructs = set(codebook.construct_labels()["construct"])
    for code in sorted(used - constructs):
        assert f"{code} – " in note, code
    for sign in sorted(set(t["expected_sign"]) - {""}):
        assert f" {sign} " in note, sign
    assert "-" not in "".join(t["expected_sign"]), "a minus sign, not a hyphen, as in the later tables"
    assert ("để trống" if lang == "vi" else "blank") in note
    assert ("Mục: phần (I–III) hoặc mục (1.1–3.2)" if lang == "vi" else "Section: the part (I–III)") in note
    # QUAL is the mean of the four dimensions (per official in notebook 06 and the ledger,
    # by commune in T1), not only a commune mean
    assert ", ".join(framework.QUALITY) in note
    assert ("(ở T1: trung bình theo xã)" if lang == "vi" else "(in T1: averaged by commune)") in note
    res = codebook.construct_labels().set_index("construct").at["RES", "label_" + lang].lower()
    assert f"RES ({res})" in note


@pytest.fixture(scope="module")
def conceptual():
    """The conceptual model drawn once per language (``framework.path_diagram(lang=...)``)
    for the tests that read it; a test that moves a label puts it back."""
    import matplotlib.pyplot as plt

    with kept_results():   # as notebook 01 gets them (tests/keptresults.py)
        figures = {lang: framework.path_diagram(lang=lang) for lang in ("vi", "en")}
    yield figures
    for fig in figures.values():
        plt.close(fig)


def test_figures_draw_and_reject_unknown_nodes(conceptual):
    fig = conceptual["en"]
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"TRAIN", "PRO", "SIPAS", "QUAL"} <= texts
    with kept_results():
        fig2 = framework.reform_figure()
    assert len(fig2.axes[0].collections) == 16  # 8 communes: points + centre star each
    bad = pd.DataFrame({"cause": ["MOON"], "effect": ["PRO"], "sign": ["+"], "claims": ["T1"]})
    with pytest.raises(ModelError, match="MOON"):
        framework.path_diagram(paths=bad)


def test_label_line_widths_are_measured_once_per_line_size_and_font(monkeypatch):
    """fit_label's line widths are matplotlib's (TextToPath), kept for the process by line,
    font size, font files and the rcParams the font is opened with: a hit is the measured
    float and measures nothing; another size, font or font setting is measured anew;
    bounded."""
    import matplotlib
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    measured = []
    original = TextToPath.get_text_width_height_descent
    monkeypatch.setattr(TextToPath, "get_text_width_height_descent", lambda self, s, prop, ismath:
                        measured.append(s) or original(self, s, prop, ismath))
    monkeypatch.setattr(framework, "_LINE_WIDTHS", {})
    line = "Chất lượng đội ngũ cán bộ"
    small, large = FontProperties(size=6.8), FontProperties(size=9)
    direct = original(TextToPath(), line, small, False)[0]
    assert framework._line_width(line, small) == direct and measured == [line]
    assert framework._line_width(line, FontProperties(size=6.8)) == direct   # a hit
    assert measured == [line]
    assert framework._line_width(line, large) == original(TextToPath(), line, large, False)[0]
    with matplotlib.rc_context({"font.family": "serif"}):   # DejaVu Serif
        serif = FontProperties(size=6.8)
        assert framework._line_width(line, serif) == original(TextToPath(), line, serif, False)[0]
        assert framework._line_width(line, serif) != direct
    with matplotlib.rc_context({"font.enable_last_resort": False}):   # opened otherwise
        assert framework._line_width(line, small) == direct
    assert measured == [line] * 4
    # fit_label wraps a second time as the first, measuring nothing
    text = "Leadership and direction by party committee and government"
    first = framework.fit_label(text, 105, 6.8)
    count = len(measured)
    assert framework.fit_label(text, 105, 6.8) == first and len(measured) == count
    monkeypatch.setattr(framework, "_LINE_WIDTHS_MAX", 2)   # bounded: full, it starts again
    framework._line_width("another line", small)
    assert len(framework._LINE_WIDTHS) == 1


@pytest.mark.parametrize("module", ["hlstudy.codebook", "hlstudy.communes", "hlstudy.district", "hlstudy.sourcing",
                                    "hlstudy.framework", "hlstudy.synthetic", "hlstudy.cleaning",
                                    "hlstudy.cfa.validity", "hlstudy.models.ols"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0 and result.failed == 0


def test_sample_size_rules():
    # Slovin: N = 10 000, e = 5 % gives 384.6… → 385 (textbook value)
    assert framework.slovin(10_000, 0.05) == 385
    assert framework.slovin(121_735, 0.05) == 399
    assert framework.regression_min_n(8) == 114
    with pytest.raises(ModelError):
        framework.slovin(0)
    with pytest.raises(ModelError):
        framework.slovin(100, 1.5)
    with pytest.raises(ModelError):
        framework.regression_min_n(0)


def test_vi_number_writes_vietnamese_digits_and_rejects_non_numbers():
    assert framework.vi_number(1_234_567.891, 2) == "1.234.567,89"
    assert framework.vi_number(0.05, percent=True) == "5%"
    assert framework.vi_number(0.4445, 1, percent=True) == "44,5%"
    assert framework.vi_number(999) == "999"
    for bad in (None, "abc", float("nan"), float("inf")):
        with pytest.raises(ModelError):
            framework.vi_number(bad)
    with pytest.raises(ModelError):
        framework.vi_number(1.0, -1)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_conceptual_model_labels_touch_no_label_box_text_or_other_arrow(lang, conceptual):
    fig = conceptual[lang]   # the real model, from the instrument files
    assert framework.diagram_conflicts(fig) == []
    edges = framework.diagram_edges(lang=lang)
    ax = fig.axes[0]
    labels = [t for t in ax.texts if getattr(t, "_hlstudy_path_label", False)]
    assert sorted(t.get_text() for t in labels) == sorted(edges["label"])
    drawn = {p._hlstudy_edge for p in ax.patches if getattr(p, "_hlstudy_edge", None)}
    assert set(zip(edges["cause"], edges["effect"], strict=True)) <= drawn
    # each label sits on its own arrow: its centre lies on the arrow's segment
    arrows = {p._hlstudy_edge: p for p in ax.patches if getattr(p, "_hlstudy_edge", None)}
    for t in labels:
        (x0, y0), (x1, y1) = arrows[t._hlstudy_edge]._posA_posB
        x, y = t.get_position()
        cross = (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)
        assert abs(cross) < 1e-9 and min(x0, x1) - 1e-9 <= x <= max(x0, x1) + 1e-9


def test_diagram_conflicts_detects_a_label_on_a_box_and_on_another_arrow(conceptual):
    fig = conceptual["vi"]                     # framework.path_diagram()'s default language
    ax = fig.axes[0]
    label = next(t for t in ax.texts if getattr(t, "_hlstudy_path_label", False))
    placed = label.get_position()
    try:
        _move_label_onto_a_box_then_an_arrow(fig, ax, label)
    finally:
        label.set_position(placed)             # the shared figure as drawn


def _move_label_onto_a_box_then_an_arrow(fig, ax, label):
    box = next(p for p in ax.patches if getattr(p, "_hlstudy_node", None) == "TRAIN")
    x, y = box.get_x() + box.get_width() / 2, box.get_y() + box.get_height() / 2
    label.set_position((x, y))
    assert (label.get_text(), "box") in framework.diagram_conflicts(fig)
    # moved onto the middle of another arrow
    other = next(p for p in ax.patches if getattr(p, "_hlstudy_edge", None) not in
                 (None, label._hlstudy_edge, ("QUALITY", "QUAL")))
    (x0, y0), (x1, y1) = other._posA_posB
    label.set_position(((x0 + x1) / 2, (y0 + y1) / 2))
    found = framework.diagram_conflicts(fig)
    assert any(lab == label.get_text() and what.startswith("arrow") for lab, what in found)


def test_arrows_into_the_quality_block_name_the_dimensions_they_reach():
    paths = framework.hypothesized_paths()
    quality = framework.quality_constructs()
    edges = framework.diagram_edges(paths)
    block = edges[edges["effect"] == "QUALITY"]
    assert len(block) > 0
    for r in block.itertuples():
        mine = paths[(paths["cause"] == r.cause) & paths["effect"].isin(quality)]
        claims = {c for s in mine["claims"] for c in s.split(", ")}
        # one entry per claim: "claim → cả 4" or "claim → the dimensions it names"
        entries = dict(e.split(" → ") for e in r.label.split("; "))
        assert set(entries) == claims
        for claim, target in entries.items():
            dims = set(mine.loc[mine["claims"].str.split(", ").map(lambda c, k=claim: k in c),
                                "effect"])
            if dims == set(quality):
                assert target == f"cả {len(quality)}"
            else:
                assert set(target.split(", ")) == dims
    # ENV: S4 reaches all four dimensions, T4 only PRO (hypotheses.csv)
    env = block.set_index("cause").at["ENV", "label"]
    assert env == "S4 → cả 4; T4 → PRO"
    # an arrow to a single dimension ends at its box, not at the block
    single = edges[edges["effect"].isin(quality)]
    assert ("TRAIN", "PRO") in set(zip(single["cause"], single["effect"], strict=True))
    # every hypothesized path is drawn, either to its box or through the block
    covered = set(zip(edges["cause"], edges["effect"], strict=True))
    for r in paths.itertuples():
        assert (r.cause, r.effect) in covered or (
            r.effect in quality and (r.cause, "QUALITY") in covered)


def test_own_instrument_draws_its_own_diagram_without_conflicts():
    import matplotlib.pyplot as plt

    paths = framework.hypothesized_paths()
    own = paths[paths["cause"].isin(["TRAIN", "FAC", "COMP", "MOT"])
                | (paths["effect"] == "CSAT")].reset_index(drop=True)
    fig = framework.path_diagram(paths=own)
    assert framework.diagram_conflicts(fig) == []
    labels = sorted(t.get_text() for t in fig.axes[0].texts
                    if getattr(t, "_hlstudy_path_label", False))
    assert labels == sorted(framework.diagram_edges(own)["label"])
    plt.close(fig)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_every_box_label_fits_its_box(lang, conceptual):
    # English labels wrapped at 30 characters overran LEAD's and SKL's boxes
    fig = conceptual[lang]
    labelled = [t for t in fig.axes[0].texts if getattr(t, "_hlstudy_box_label", None)]
    assert len(labelled) == len([p for p in fig.axes[0].patches if getattr(p, "_hlstudy_node", None)])
    assert framework.box_label_overruns(fig) == []
    # the check sees an overrun: widen one label past its box
    label = labelled[0]
    text = label.get_text()
    label.set_text(text.replace("\n", " ") + " and a good many more words")
    try:
        assert framework.box_label_overruns(fig) == [label._hlstudy_box_label]
    finally:
        label.set_text(text)


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_conceptual_model_fits_the_page_its_boxes_apart(lang, conceptual):
    """01_conceptual_model was drawn 11.9 in wide (304 x 204 mm as saved): in the thesis'
    155 mm text block its 6.8-pt box labels printed at 3.5 pt.  As saved (tight box plus
    savefig's pad) it now fits the text block (155 x 220 mm) in both languages, the boxes
    (narrower, their labels on more lines) clear of each other, no text under 7 pt (``export.MIN_TEXT_PT``)."""

    fig = conceptual[lang]
    fig.draw_without_rendering()
    r = fig.canvas.get_renderer()
    size = export.saved_size_mm(fig)   # as saved
    assert export.fits_page(*size), size
    boxes = [(p._hlstudy_node, p.get_window_extent(r)) for p in fig.axes[0].patches
             if getattr(p, "_hlstudy_node", None)]
    assert [(a, b) for k, (a, x) in enumerate(boxes) for b, y in boxes[k + 1:]
            if x.overlaps(y)] == []
    assert min(t.get_fontsize() for t in fig.axes[0].texts) >= export.MIN_TEXT_PT


def test_fit_label_measures_rather_than_counts():
    wide = framework.fit_label("MMMMMM MMMMMM MMMMMM", 60, 6.8)      # wide letters: fewer per line
    narrow = framework.fit_label("iiiiii iiiiii iiiiii", 60, 6.8)
    assert wide.count("\n") > narrow.count("\n")
    assert framework.fit_label("Supercalifragilistic", 5, 6.8) == "Supercalifragilistic"   # one word


def test_instrument_role_and_claim_kind_codes_print_in_the_tables_language():
    """01_instruments printed "officials" and "factor", 01_hypotheses "premise" in the
    Vietnamese tables (and "commune_association" in the English one)."""
    constructs = pd.read_csv(codebook.INSTRUMENT / "constructs.csv", dtype=str)
    claims = pd.read_csv(codebook.INSTRUMENT / "claims.csv", dtype=str)
    for labels, codes in ((framework.INSTRUMENT_LABELS, set(codebook.load_codebook()["instrument"])),
                          (framework.ROLE_LABELS, set(constructs["role"])),
                          (framework.CLAIM_KIND_LABELS, set(claims["kind"])),
                          (framework.TEST_TYPE_LABELS, set(codebook.TEST_TYPES))):
        assert codes <= set(labels)
        vi = {framework.code_label(labels, c, "vi") for c in codes}
        assert not vi & set(codes), "a Vietnamese label that is the code itself"
        en = [framework.code_label(labels, c, "en") for c in codes]
        assert not [t for t in en if export.english_codes(pd.DataFrame({"x": [t]}))], en
    assert framework.code_label(framework.ROLE_LABELS, "factor", "en") == "factor"
    with pytest.raises(ModelError, match="'moderator'.*no printed label"):
        framework.code_label(framework.ROLE_LABELS, "moderator")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_conceptual_model_arrows_cross_fewer_than_the_barycentre_order_drew(lang, conceptual):
    """The barycentre order alone (``framework._layout(untangle=False)``, the layout before
    the crossing search) put TENURE (→ PRO, SKL) at the bottom of column 0: the drawn
    arrows crossed 11 times, 8 of them TENURE's (across the arrows into the block from FAC,
    LEAD, SUP and RES, and TRAIN → SKL), and FAC's arrow crossed TRAIN → SKL.  The drawn
    arrows (display coordinates) now cross as often as the layout's own arrows do, fewer
    times than the barycentre order's would, counted the same way with the drawn boxes'
    heights, and no arrow into one dimension crosses an arrow into the block."""
    fig = conceptual[lang]
    drawn = framework.diagram_crossings(fig)   # the drawn segments, display coordinates
    ax = fig.axes[0]
    boxes = {p._hlstudy_node: p.get_height() for p in ax.patches
             if getattr(p, "_hlstudy_node", None)}
    paths = framework.hypothesized_paths()
    edges = framework.diagram_edges(paths)
    pairs = list(zip(edges["cause"], edges["effect"], strict=True))
    quality = list(framework.quality_constructs())

    def crossings(pos):
        return framework.crossing_pairs(framework._arrow_ends(pairs, pos, boxes, quality))

    before = crossings(framework._layout(paths, untangle=False))
    after = crossings(framework._layout(paths))
    assert len(drawn) == len(after) < len(before)
    singles = {e for e in pairs if e[1] in quality}
    assert [p for p in drawn if (p[0] in singles) != (p[1] in singles)
            and "QUALITY" in (p[0][1], p[1][1])] == []
