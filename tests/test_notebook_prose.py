"""The committed notebooks' Vietnamese prose: observational results worded as associations,
and a result that runs against the thesis said as such (read from the committed text and the
exported tables, never re-executed)."""

from __future__ import annotations

import json
import re

import pandas as pd

from hlstudy.paths import FIGURES, NOTEBOOKS


def _vietnamese_text(name: str) -> str:
    """Markdown cells and displayed Markdown of a committed notebook (its prose)."""
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    out = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            src = "".join(cell["source"])
            # the English summary names the Vietnamese words it avoids, in quotes
            out.append(src.split("**English summary.**")[0])
        for o in cell.get("outputs", []):
            md = o.get("data", {}).get("text/markdown")
            if md is not None:
                out.append("".join(md))
    return "\n".join(out)


def test_notebook_05_words_its_results_as_associations():
    """"tác động" (affects) only in the SEM term "tác động gián tiếp" (indirect effect);
    the results are "gắn với", "mối liên hệ" (the English summary promises it)."""
    text = _vietnamese_text("05_drivers_of_quality")
    causal = [text[max(m.start() - 40, 0):m.end() + 20]
              for m in re.finditer(r"tác động(?! gián tiếp)", text, flags=re.IGNORECASE)]
    assert not causal, causal
    assert "gắn với" in text and "mối liên hệ" in text
    # the term of art is explained once
    assert text.count("*tác động gián tiếp* (indirect effect)") == 1


def _table(name: str) -> pd.DataFrame:
    return pd.read_csv(FIGURES / f"{name}.csv", comment="#")


def test_notebook_05_says_which_commune_correlations_run_against_the_thesis():
    """A commune-level correlation of the sign opposite to that of the commune_association
    claim naming it (each claim's own sign: evidence.commune_reversals) is named under
    "Ngược chiều luận văn" with its ρ and p, and how sure the reversal is (p and interval:
    rules.reversal_certainty); a correlation no such claim names is said not compared."""
    from hlstudy.evidence import commune_reversals

    link = _table("05_commune_link")
    corr = pd.DataFrame({"y": link.iloc[:, 0].str.extract(r"\((\w+)\)$")[0],
                         "label": link.iloc[:, 0], "rho": link["ρ Spearman"],
                         "ci_low": link.iloc[:, 3], "ci_high": link.iloc[:, 4], "p": link["p"]})
    against = commune_reversals(corr, alpha=0.05).drop_duplicates("y")
    text = _vietnamese_text("05_drivers_of_quality")
    para = [t for t in text.split("\n") if "chất lượng đội ngũ tương quan" in t]
    assert len(para) == 1
    if len(against):
        said = para[0].split("**Ngược chiều luận văn**")[1]
        for r in against.itertuples(index=False):
            value = f"{r.rho:.2f}".replace(".", ",").replace("-", "")
            assert r.label in said and value in said, (r, said)
            # the t test and the interval disagree: neither a reversal nor support is claimed
            if r.certainty == "p_only":
                assert "khoảng tin cậy chứa 0" in said and "không ủng hộ chiều" in said
    else:
        assert "**Ngược chiều luận văn**" not in para[0]
        assert "Không tương quan nào ngược chiều nhận định cấp xã" in para[0]
    from hlstudy import codebook

    hyp = codebook.hypotheses().query("test_type == 'commune_association'")
    named = set(hyp["constructs"].str.split(";").explode())
    unclaimed = corr[~corr["y"].isin(named)]
    if len(unclaimed):
        said = para[0].split("nên không đối chiếu")[0]
        assert all(label in said for label in unclaimed["label"]), said


def _html_outputs(name: str) -> list[str]:
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    return ["".join(o["data"]["text/html"]) for cell in nb["cells"]
            for o in cell.get("outputs", []) if "text/html" in o.get("data", {})]


def test_vietnamese_notebooks_show_tables_a_reader_can_read():
    """The data frames notebooks 02, 05 and 07 display: no machine heading (``pii_columns_dropped``,
    ``min_answered``, ``fixture``, a ``verdict`` over the columns), no instrument code as a
    value, no check code (``breusch_pagan``), and every row (pandas cuts a long table to its
    first and last rows and says "N rows × M columns")."""
    for name in ("02_survey_cleaning", "05_drivers_of_quality", "07_method_validation"):
        tables = _html_outputs(name)
        assert tables, name
        for html in tables:
            heads = [h.strip() for h in re.findall(r"<th[^>]*>([^<]*)</th>", html)]
            assert not [h for h in heads if re.fullmatch(r"[a-z][a-z_]{3,}", h)], (name, heads)
            cells = {c.strip() for c in re.findall(r"<td[^>]*>([^<]*)</td>", html)}
            assert not cells & {"officials", "citizens", "personnel"}, name
            assert not re.search(r"\d+ rows × \d+ columns", html), name
            assert not re.search(r"breusch_pagan|jarque_bera|cooks_distance", html), name


def test_notebook_05_says_what_the_rejected_assumptions_mean():
    """Breusch–Pagan and Jarque–Bera reject on these data; the prose counts the rejections and
    says why the cluster-robust inference stands."""
    text = _vietnamese_text("05_drivers_of_quality")
    para = [t for t in text.split("\n") if "quan sát có ảnh hưởng lớn" in t]
    assert len(para) == 1
    for check in ("Breusch–Pagan", "Jarque–Bera"):
        assert re.search(rf"{check}[^;.]* bác bỏ [^;.]* ở \d+/\d+ mô hình", para[0]), para[0]
    assert "CR2" in para[0] and "không giả định" in para[0]


def test_notebook_01_summary_tells_the_routes_the_hypotheses_draw():
    """Each factor's route in notebook 01's English summary is the one hypotheses.csv draws
    (an examiner found 'eight factors act directly and through motivation', which no factor but
    ENV does)."""
    from hlstudy import framework

    nb = json.loads((NOTEBOOKS / "01_theoretical_framework.ipynb").read_text(encoding="utf-8"))
    summary = " ".join("".join(nb["cells"][0]["source"]).split())
    paths = framework.hypothesized_paths()
    effects = paths.groupby("cause")["effect"].agg(frozenset)
    quality = frozenset(framework.QUALITY)
    routes = {  # the summary's words for each route -> the causes that take it
        "only through work motivation (MOT)": {c for c, e in effects.items() if e - {"STAY"} == {"MOT"}},
        "through motivation and directly on all four dimensions": {
            c for c, e in effects.items() if e - {"STAY"} == quality | {"MOT"}},
        "(RES, negatively) directly on all four": {c for c, e in effects.items() if e == quality},
        "directly on competence and skills only": {
            c for c, e in effects.items() if e == {"PRO", "SKL"} and c in {"TRAIN"}},
    }
    assert routes["only through work motivation (MOT)"] == {"COMP", "REC"}
    assert routes["through motivation and directly on all four dimensions"] == {"ENV"}
    assert routes["(RES, negatively) directly on all four"] == {"FAC", "LEAD", "SUP", "RES", "MOT"}
    assert routes["directly on competence and skills only"] == {"TRAIN"}
    for words in routes:
        assert words in summary, words
    assert set(paths.loc[paths["sign"] == "-", "cause"]) == {"RES"}
    assert effects["EDU"] == {"PRO"} and effects["TENURE"] == {"PRO", "SKL"}
    assert "education acts on competence and tenure on competence and skills" in summary
    assert effects["COMP"] >= {"STAY"} and effects["ENV"] >= {"STAY"}
    assert set(paths.loc[paths["effect"] == "STAY", "cause"]) == {"COMP", "ENV"}
    assert "act on quality directly and through work motivation" not in summary


def test_notebook_02_reports_the_citizens_quota_not_a_response_rate():
    text = _vietnamese_text("02_survey_cleaning")
    assert "chỉ tiêu mẫu" in text and "không phải tỉ lệ trả lời" in text
    flow = re.search(r"\*\*[^*]*[Nn]gười dân[^*]*\*\*: ([^;]*);", text)
    assert flow and flow[1].startswith("chỉ tiêu mẫu") and "khung mẫu" not in flow[1], flow
    assert "tỉ lệ trả lời)" in text   # the officials' census has a frame and a response rate


def test_notebook_03_carries_the_examiners_corrections():
    """Wording effect judged within scales, the split-half fit read, the parallel analysis's
    FA and PC counts told apart, Kaiser's and the invariance terms in Vietnamese, and the
    cut-offs cited to their sources."""
    import unicodedata

    text = " ".join(unicodedata.normalize("NFC", _vietnamese_text("03_measurement_model")).split())
    # within-scale wording test, its exact p, and the simulated effect named as such
    m = re.search(r"xác suất chính xác của một tổng hạng thấp như vậy hoặc thấp hơn là "
                  r"(0,\d+) \(đếm đủ (\d+) cách đặt", text)
    assert m, "the within-scale wording test"
    assert 0 < float(m[1].replace(",", ".")) < 1 and int(m[2]) > 1
    assert "phép kiểm định tìm lại đúng hiệu ứng đã mô phỏng" in text
    assert "phân bố siêu bội" not in text and "phân phối siêu bội" not in text
    # the split-half CFA is read against the cut-offs, whichever way it falls
    assert text.count("Trên nửa B mô hình lý thuyết") == text.count("CFA trên nửa B (") >= 1
    # parallel analysis: factors (FA) and components (PC) named apart, Kaiser on PC
    assert text.count("trên giá trị riêng của nhân tố (FA) gợi ý") >= 1
    assert "(trên cùng các giá trị riêng PC)" in text
    assert "thành phần chính); tiêu chí giá trị riêng" not in text
    # Kaiser's label and the invariance level in Vietnamese, the English term beside
    assert re.search(r"mức \*[^*(]+ \((marvelous|meritorious|middling|mediocre|miserable|"
                     r"unacceptable)\)\* theo Kaiser", text)
    assert not re.search(r"Mức bất biến cao nhất đạt được: \*\*(configural|metric|scalar)\*\*", text)
    # sources: CFI is Bentler 1990 (the .90 level came with NFI), HTMT2 is Roemer et al. 2021
    assert "CFI (Bentler 1990)" in text and "Tucker & Lewis 1973" in text
    assert "Roemer, Schuberth & Henseler 2021" in text
    assert "CFI/TLI ≥ 0,90 là quy ước \"chấp nhận được\" cũ (Bentler &" not in text
    assert "Podsakoff và cộng sự (2003)" in text


def test_notebook_07_reads_icc_coverage_against_the_scores_own_icc():
    """An examiner: coverage of a scale score's ICC interval was judged only against the latent
    construct's share, which the score's ICC does not estimate."""
    import unicodedata

    text = " ".join(unicodedata.normalize("NFC", _vietnamese_text("07_method_validation")).split())
    assert "so với ICC thật của chính điểm thang đo" in text
    m = re.search(r"\((\d+)/(\d+) khái niệm có độ phủ trong dải Monte Carlo", text)
    assert m and 0 < int(m[1]) <= int(m[2])
    tab = pd.read_csv(FIGURES / "07_icc_recovery.csv", comment="#")
    score_truth, latent = tab["ICC thật của điểm thang đo"], tab["Tỷ lệ giữa xã (thật)"]
    assert score_truth.notna().sum() == int(m[2])
    # measurement error inside communes: the score's ICC is below the latent share
    assert (score_truth.dropna() < latent[score_truth.notna()]).all()
