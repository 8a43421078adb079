# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 06 — Bằng chứng cho các giải pháp / The evidence behind each solution
#
# **English summary.** Part III of the thesis proposes solutions (S1–S8) resting on premises
# (T1–T7) and a diagnosis (D1–D8).  This notebook computes, for every checkable claim of
# `claims.csv`, the evidence (a standardized path of the research model with a cluster-robust
# interval, an indirect effect through motivation, a commune-level correlation with the
# citizens' assessment, or a diagnostic share with its interval), judges it with rules written
# once (`hlstudy.evidence.Rules`: a smallest effect size of interest, Holm's correction across
# the ledger, TOST for "negligible", the minimum detectable effect when the data cannot tell)
# and states the verdict: supported, not supported, inconclusive or not testable.  An
# importance–performance map (Ringle & Sarstedt 2016) ranks where improvement pays most.  Each
# solution's section says what the evidence implies for the 8 communes that exist since 1 July
# 2025, under the post-reform legal frame; on simulated data the communes' ranking only
# illustrates the method (each sentence says so) and recommends nothing for a named commune.
# Where the data point against a claim, whatever its verdict (an estimate on the other side
# of zero or of the threshold the claim needs, or an importance–performance rank or quadrant
# that contradicts a premise such as "the largest factor" or "the score is still low"), the
# notebook says so for every claim, with the numbers (`hlstudy.evidence.contradictions`).
# The notebook ends with the whole ledger
# (`figures/06_claims_ledger`), a verdict summary figure and the IPMA figure.  Paths are
# associations in observational (here simulated) data, never proof of a cause.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from hlstudy import drivers, export, legal, load_study, pathplot
from hlstudy.display import show_numbers_as_read
from hlstudy.evidence import (
    Rules,
    contradictions,
    estimate_labels,
    evaluate,
    ipma_figure,
    ipma_table,
)
from hlstudy.evidence.ledger import ASSOCIATION
from hlstudy.evidence.rules import VERDICTS, VERDICTS_VI, exact_interval

show_numbers_as_read()   # data frames shown with 3 decimals, counts without (hlstudy.display)

# Parameters: the verdict rules (docs/evidence.md gives their sources)
SEED = 2026
N_BOOT = 1000          # bootstrap draws of the indirect effect's interval (lavaan's default)
RULES = Rules(
    sesoi=0.10,              # |β| or |r|: Cohen's "small"; Lakens, Scheel & Isager (2018)
    sesoi_indirect=0.01,     # indirect effect a·b: two paths each at the SESOI (.10 × .10)
    sesoi_smd=0.20,          # standardized mean difference (Cohen's d)
    sesoi_icc=0.05,          # intraclass correlation
    sesoi_points=0.10,       # difference of means on the 1–5 answer scale
    alpha=0.05,
    correction="holm",       # "fdr_bh" for Benjamini–Hochberg
    power=0.80,              # power of the stated minimum detectable effect
    descriptive_share=0.20,  # "many", "a substantial share": at least one in five
    majority_share=0.50,     # "most"
    weak_cutoff=3.0,         # a 1–5 score below the neutral point counts as weak
    min_alpha=0.70, max_htmt=0.85,
    vcov="CR2", bootstrap=N_BOOT, seed=SEED)
N_LOWEST = 2           # communes named as lowest on a driver

export.use_style()
study = load_study()
SIM = study.simulated


def fmt(x, d=2):
    """Numbers in the (Vietnamese) prose: hlstudy.export.number."""
    return export.number(x, d, lang="vi")


def pct(x, d=0):
    return export.number(x, d, percent=True, lang="vi")


def fmt_p(p):
    return export.p_text(p, 3, lang="vi")


display(Markdown(
    f"Dữ liệu: **{len(study.officials)}** phiếu cán bộ, công chức, **{len(study.citizens)}** "
    f"phiếu người dân, **{len(study.personnel)}** người trong danh sách trích ngang"
    + (" — *dữ liệu mô phỏng*: các kết luận dưới đây minh họa phương pháp, không phải phát "
       "hiện về người thật." if SIM else ".")))

# %% [markdown]
# ## 1. Quy tắc kết luận
#
# Mỗi nhận định được tách thành các **thành phần** (một hệ số đường dẫn, một tương quan, một
# tỷ lệ…), mỗi thành phần là một con số có khoảng tin cậy.  Quy tắc được viết một lần trong
# `hlstudy.evidence.rules` và áp dụng cho mọi nhận định:
#
# * **được ủng hộ** — ước lượng đúng chiều nhận định, kiểm định (p đã hiệu chỉnh Holm trên
#   toàn bộ sổ đối chiếu) bác bỏ giá trị 0, và cận trên của khoảng tin cậy (cận dưới, với
#   nhận định chiều âm) vượt ra ngoài ngưỡng hiệu ứng nhỏ nhất có ý nghĩa (SESOI): khoảng tin cậy
#   chứa cả những hiệu ứng đủ lớn để có ý nghĩa thực tiễn.  Quy tắc không đòi cả khoảng nằm
#   ngoài SESOI: một thành phần được ủng hộ vẫn có thể có cận kia nằm trong ±SESOI (lý do của
#   mỗi kết luận ghi rõ cận nào vượt ngưỡng);
# * **không được ủng hộ** — hai kiểm định một phía (TOST) cho thấy hiệu ứng nằm trong ±SESOI
#   (không đáng kể), hoặc hiệu ứng có ý nghĩa theo chiều ngược lại;
# * **chưa kết luận được** — không thuộc hai trường hợp trên: dữ liệu chưa đủ để phân định;
#   lý do nêu hiệu ứng nhỏ nhất phát hiện được (MDE, lực kiểm định 80%, ở α chưa hiệu chỉnh);
# * **không kiểm định được** — nghiên cứu thiếu dữ liệu cần thiết (ví dụ không có khảo sát
#   người dân); nhận định vẫn được liệt kê, không bị bỏ qua.
#
# Nhận định mô tả (tỷ lệ, độ tin cậy) được so với một ngưỡng nêu rõ: được ủng hộ khi cả
# khoảng tin cậy nằm về phía nhận định, không được ủng hộ khi cả khoảng nằm ở phía bên kia.
# Một nhận định khẳng định mọi thành phần của nó, nên chỉ được ủng hộ khi mọi thành phần được
# ủng hộ (kiểm định giao–hợp, Berger 1982): một thành phần không được ủng hộ thì cả nhận định
# không được ủng hộ; nếu không, một thành phần không kiểm định được thì cả nhận định không
# kiểm định được; nếu không, một thành phần chưa kết luận được thì cả nhận định chưa kết luận
# được (thứ tự này là của `hlstudy.evidence.rules.combine`).

# %%
RULE_TEXT = {
    "sesoi": export.tr("SESOI cho hệ số chuẩn hóa, tương quan", "SESOI, standardized β and r"),
    "sesoi_indirect": export.tr("SESOI cho tác động gián tiếp a·b (thang của tích hai đường dẫn)",
                                "SESOI, indirect effect a·b (on the scale of a product of two paths)"),
    "sesoi_smd": export.tr("SESOI cho chênh lệch trung bình chuẩn hóa", "SESOI, standardized mean difference"),
    "sesoi_icc": export.tr("SESOI cho ICC", "SESOI, ICC"),
    "sesoi_points": export.tr("SESOI cho chênh lệch điểm (thang 1–5)", "SESOI, difference in points (1–5)"),
    "alpha": export.tr("Mức ý nghĩa", "Significance level"),
    "correction": export.tr("Hiệu chỉnh kiểm định bội", "Multiple-testing correction"),
    "power": export.tr("Lực kiểm định của MDE", "Power of the MDE"),
    "descriptive_share": export.tr("Tỷ lệ được coi là 'nhiều', 'đáng kể'", "Share meaning 'many'"),
    "majority_share": export.tr("Tỷ lệ 'phần lớn'", "Share meaning 'most'"),
    "weak_cutoff": export.tr("Ngưỡng điểm 'yếu' (thang 1–5)", "'Weak' cut-off (1–5)"),
    "min_alpha": export.tr("Cronbach's alpha tối thiểu", "Minimum Cronbach's alpha"),
    "max_htmt": export.tr("HTMT tối đa", "Maximum HTMT"),
    "vcov": export.tr("Sai số chuẩn của hồi quy", "Regression standard errors"),
    "bootstrap": export.tr("Số lần bootstrap (tác động gián tiếp)", "Bootstrap draws (indirect effect)"),
    "seed": export.tr("Hạt giống ngẫu nhiên", "Random seed"),
}
rules_table = RULES.as_table().assign(rule=lambda d: d["rule"].map(RULE_TEXT))
rules_table.columns = [export.tr("Quy tắc", "Rule"), export.tr("Giá trị", "Value")]
display(rules_table)
_ = export.save_table(rules_table, "06_verdict_rules",
                  title=export.tr("Quy tắc kết luận của sổ đối chiếu nhận định",
                                  "Verdict rules of the claims ledger"),
                  note=export.tr("Nguồn: docs/evidence.md.", "Sources: docs/evidence.md."),
                  simulated=SIM)

# %% [markdown]
# ## 2. Tính bằng chứng cho mọi nhận định
#
# Các hệ số đường dẫn theo mô hình nghiên cứu của notebook 05 (`hlstudy.drivers`): hồi quy
# từng biến kết quả trên mọi yếu tố, động lực làm việc, trình độ và thâm niên, tất cả chuẩn
# hóa (z), sai số chuẩn vững theo cụm xã (CR2, bậc tự do Satterthwaite).  Mỗi hồi quy dùng
# các phiếu đủ mọi biến của nó và chuẩn hóa trên chính các phiếu ấy (`lm(scale(y) ~ scale(x))`
# trên các phiếu đủ dữ liệu), bằng cùng một hàm với bảng hồi quy của notebook 05
# (`drivers.regression_sample`), nên hệ số, khoảng tin cậy CR2 và n ở hai nơi là một.  Tác
# động gián tiếp qua động lực là tích hai hệ số chuẩn hóa của mô hình đường dẫn trên điểm thang
# đo, với khoảng tin cậy bootstrap theo cụm xã (như notebook 05); liên hệ giữa chất lượng
# cán bộ và đánh giá của người dân tính trên 23 xã (tương quan Spearman); các nhận định chẩn
# đoán lấy số liệu từ notebook 04 (`hlstudy.diagnostic.findings`), và kết luận ở đây cũng là
# kết luận mà notebook 04 nêu cho D1–D5.

# %%
res = evaluate(study, rules=RULES)
ledger, parts = res.claims, res.parts
# where the data point against a claim, whatever the verdict (section 4 prints each)
AGAINST = contradictions(res)
counts = res.counts()
family = parts[parts["inferential"].astype(bool) & parts["p_value"].notna()]
n_tests = int(family.drop_duplicates(["kind", "part"]).shape[0])
display(Markdown(
    f"Sổ đối chiếu có **{len(ledger)}** nhận định, tách thành **{len(parts)}** thành phần; "
    f"**{n_tests}** kiểm định suy luận khác nhau được hiệu chỉnh chung (Holm).  Kết luận: "
    + "; ".join(f"{VERDICTS_VI[v]} **{counts[v]}**" for v in VERDICTS) + "."))

# %% [markdown]
# ## 3. Phân tích tầm quan trọng – mức độ thực hiện (IPMA)
#
# Theo Ringle & Sarstedt (2016): điểm mỗi thang đo được quy về thang 0–100 theo mã thấp nhất
# và cao nhất của bộ giá trị trả lời; **tầm quan trọng** của một yếu tố là tác động tổng
# (trực tiếp và qua động lực, chưa chuẩn hóa) lên chất lượng chung (trung bình bốn thành phần),
# ước lượng bằng mô hình đường dẫn ML (như `lavaan::sem`); **mức độ thực hiện** là điểm trung
# bình 0–100 của yếu tố.  Yếu tố mà giả thuyết cho là làm giảm chất lượng (tâm lý ngại thay
# đổi) được đảo chiều (100 − điểm, tác động đổi dấu) để trên cả hai trục, cao hơn là tốt hơn,
# như phương pháp yêu cầu.  Yếu tố ở góc "ưu tiên cải thiện" (quan trọng hơn trung bình, thực
# hiện kém hơn trung bình) là nơi cải thiện mang lại nhiều nhất.

# %%
ip = res.ipma
ip_all = ipma_table(drivers.driver_data(study))
ip_show = ip_all.assign(
    label=lambda d: d["label_en"] if export.language() == "en" else d["label_vi"],
    quadrant=lambda d: d["quadrant"].map(
        {"improve": export.tr("ưu tiên cải thiện", "improve first"),
         "keep": export.tr("duy trì", "keep up"), "low": export.tr("ưu tiên thấp", "low priority"),
         "overkill": export.tr("có thể đã đủ", "possible overkill")}))
ip_show = ip_show[["target", "construct", "label", "importance", "performance",
                   "importance_rank", "quadrant"]]
ip_show.columns = [export.tr("Mục tiêu", "Target"), export.tr("Mã", "Code"),
                   export.tr("Yếu tố", "Driver"), export.tr("Tầm quan trọng", "Importance"),
                   export.tr("Mức độ thực hiện (0–100)", "Performance (0–100)"),
                   export.tr("Hạng", "Rank"), export.tr("Góc phần tư", "Quadrant")]
display(ip_show[ip_show.iloc[:, 0] == "QUAL"])
_ = export.save_table(ip_show, "06_ipma",
                  title=export.tr("Tầm quan trọng – mức độ thực hiện của các yếu tố",
                                  "Importance–performance of the drivers"),
                  note=export.tr(
                      "Tầm quan trọng: tác động tổng chưa chuẩn hóa trên điểm 0–100 (mô hình "
                      f"đường dẫn ML, n = {ip.n}); QUAL: trung bình bốn thành phần chất lượng.",
                      "Importance: unstandardized total effect on 0–100 scores (ML path model, "
                      f"n = {ip.n}); QUAL: mean of the four quality dimensions."),
                  simulated=SIM, decimals=3)
top = ip.table.iloc[0]
improve = ip.table[ip.table["quadrant"] == "improve"]
display(Markdown(
    f"Yếu tố quan trọng nhất đối với chất lượng chung là **{top['label_vi']}** (tăng 1 điểm "
    f"trên thang 0–100 đi kèm {fmt(top['importance'], 3)} điểm chất lượng; mức độ thực hiện "
    f"{fmt(top['performance'], 1)}/100).  "
    + (("Góc **ưu tiên cải thiện**: " + ", ".join(
        f"{r.label_vi} (tầm quan trọng {fmt(r.importance, 3)}; thực hiện "
        f"{fmt(r.performance, 1)})" for r in improve.itertuples()) + ".")
       if len(improve) else "Không yếu tố nào nằm ở góc ưu tiên cải thiện.")))

# %% [markdown]
# ## 4. Bằng chứng cho từng giải pháp (S1–S8)
#
# Mỗi mục dưới đây trích nhận định của luận văn, nêu bằng chứng (ước lượng, khoảng tin cậy,
# vị trí IPMA, giá trị bền vững), kết luận và lý do, rồi điều nó gợi ý cho **8 xã mới từ
# 1/7/2025**.  Khung mẫu khảo sát là 23 đơn vị cũ; các con số theo xã mới được gộp từ các đơn
# vị cũ.  Khung pháp lý sau cải cách, theo dữ liệu tham chiếu có nguồn của dự án:

# %%
display(Markdown(legal.reform_frame_text("vi")))

# %%
DATA = drivers.driver_data(study)
LED = ledger.set_index("claim_id")
LABELS = drivers.codebook.construct_labels().set_index("construct")
CIT = None
if study.has("citizens"):
    from hlstudy.scales import score_scales
    CIT = score_scales(study.citizens, "citizens", keep=["commune_2025"])


def lowest_communes(var: str) -> pd.DataFrame:
    """Mean of ``var`` by 2025 commune (0–100 for scales), lowest first."""
    src = CIT if (CIT is not None and var in CIT.columns and var not in DATA.columns) else DATA
    if var not in src.columns:
        return pd.DataFrame()
    g = src.groupby("commune_2025")[var].agg(["mean", "count"]).reset_index()
    if var in LABELS.index:
        inst = LABELS.at[var, "instrument"]
        lo, hi = drivers.codebook.likert_range(inst, var)
        g["mean"] = 100 * (g["mean"] - lo) / (hi - lo)
    elif var == "TRAINED":
        g["mean"] = 100 * g["mean"]
    return g.sort_values(["mean", "commune_2025"], ignore_index=True)


def part_table(cid: str) -> pd.DataFrame:
    p = parts[parts["claim_id"] == cid]
    out = pd.DataFrame({
        export.tr("Thành phần", "Part"): p["part_vi"] if export.language() == "vi" else p["part"],
        export.tr("Ước lượng", "Estimate"): p["estimate"].round(3),
        export.tr("KTC thấp", "CI low"): p["ci_low"].round(3),
        export.tr("KTC cao", "CI high"): p["ci_high"].round(3),
        export.tr("p hiệu chỉnh", "Adjusted p"): p["p_adjusted"],   # unrounded: formatted once, as in the reasons
        export.tr("RV", "RV"): p["robustness_value"].round(3),
        export.tr("Kết luận", "Verdict"): p["verdict"].map(VERDICTS_VI) if
        export.language() == "vi" else p["verdict"]})
    return out.reset_index(drop=True)


def driver_of(cid: str) -> str:
    p = parts[parts["claim_id"] == cid]["part"].iloc[0]
    first = p.split(" → ")[0].split(ASSOCIATION)[0]
    return "TRAINED" if first.startswith("trained") else first


def show_claim(cid: str) -> None:
    if cid not in LED.index:   # an own instrument without this claim (claims.csv)
        display(Markdown(f"> Nhận định {cid} không có trong bộ nhận định của bộ công cụ đang "
                         "dùng (`claims.csv`, `hypotheses.csv`)."))
        return
    r = LED.loc[cid]
    v = r["verdict"]
    display(Markdown(f"> *{r['claim_vi']}*\n\nGiả thuyết kiểm định: {r['hypothesis']}"))
    display(part_table(cid))
    lines = [f"**Kết luận: {VERDICTS_VI[v]}.**"]
    if v == "not supported":
        lines.append("Dữ liệu **không ủng hộ** nhận định này.")
    elif v == "inconclusive":
        lines.append(f"Dữ liệu chưa đủ để khẳng định hay bác bỏ; hiệu ứng nhỏ nhất phát hiện "
                     f"được là {fmt(r['min_detectable_effect'], 3)}.")
    elif v == "not testable":
        lines.append("Nghiên cứu thiếu dữ liệu để kiểm định nhận định này.")
    if np.isfinite(r["robustness_value"]):
        lines.append(f"Giá trị bền vững (Cinelli & Hazlett 2020) nhỏ nhất là "
                     f"{fmt(r['robustness_value'], 3)}: một biến gây nhiễu chưa đo giải thích "
                     f"{pct(r['robustness_value'], 1)} phần dư của cả yếu tố lẫn kết quả sẽ "
                     "xóa mối liên hệ.  Đây là mối liên hệ trên dữ liệu quan sát, chưa phải "
                     "bằng chứng nhân quả.")
    display(Markdown(" ".join(lines) + "\n\nLý do: " + r["reason_vi"]))
    against = AGAINST[AGAINST["claim_id"] == cid]
    if len(against):
        display(Markdown("**Dữ liệu trái với nhận định:** " + "; ".join(against["text_vi"])
                         + "."))
    x = driver_of(cid)
    if ip is not None and x in set(ip.table["construct"]):
        t = ip.table.set_index("construct").loc[x]
        quad = {"improve": "ưu tiên cải thiện", "keep": "duy trì", "low": "ưu tiên thấp",
                "overkill": "có thể đã đủ"}[t["quadrant"]]
        display(Markdown(
            f"IPMA: {t['label_vi']} đứng thứ {int(t['importance_rank'])}/{len(ip.table)} về "
            f"tầm quan trọng (tác động tổng {fmt(t['importance'], 3)}), mức độ thực hiện "
            f"{fmt(t['performance'], 1)}/100 — góc *{quad}*."))
    low = lowest_communes(x)
    if len(low):
        unit = "% được bồi dưỡng" if x == "TRAINED" else "/100"
        names = ", ".join(f"**{r2.commune_2025}** ({fmt(r2.mean, 1)}{unit}; n = {r2.count})"
                          for r2 in low.head(N_LOWEST).itertuples())
        best = low.iloc[-1]
        action = ("nên được ưu tiên khi triển khai giải pháp" if v == "supported" else
                  "là nơi cần theo dõi, nhưng bằng chứng hiện chưa đủ để coi giải pháp này là "
                  "ưu tiên" if v == "inconclusive" else
                  "không nên được ưu tiên dựa trên giải pháp này, vì dữ liệu không ủng hộ nó"
                  if v == "not supported" else "chưa đánh giá được")
        # the communes are real, the survey data may be simulated: then the ranking
        # illustrates the method and recommends nothing for a named commune
        qual = study.qualifier("communes")
        action = (f"Các xã thấp nhất {action}." if not qual else
                  f"Trên dữ liệu thật, cách tính này chỉ ra các xã thấp nhất, và các xã đó "
                  f"{action}; thứ tự trên dữ liệu mô phỏng không nói gì về các xã thật.")
        # the driver by its name, its code beside it (the prose names no bare code)
        x_label = (LABELS.at[x, "label_vi"] if x in LABELS.index else
                   "tỷ lệ đã dự ít nhất một khóa bồi dưỡng trong 24 tháng qua" if x == "TRAINED"
                   else x)
        x_name = x_label[:1].lower() + x_label[1:] + ("" if f"({x})" in x_label else f" ({x})")
        display(Markdown(
            f"Đối với 8 xã mới{' ' + qual if qual else ''}: thấp nhất về {x_name} là {names}; "
            f"cao nhất **{best['commune_2025']}** ({fmt(best['mean'], 1)}{unit}).  {action}"))


# %% [markdown]
# ### S1 — Đào tạo chuyên sâu về quản lý nhà nước, kỹ năng giao tiếp và giải quyết vấn đề
#
# Sau cải cách, công chức được quản lý theo vị trí việc làm: nội dung đào tạo nên bám theo
# khung năng lực của từng vị trí trong xã mới, nhất là trước hạn bố trí vị trí, ngạch (1/7/2027).

# %%
show_claim("S1")

# %% [markdown]
# ### S2 — Bồi dưỡng thường xuyên, cập nhật kiến thức

# %%
show_claim("S2")

# %% [markdown]
# ### S3 — Chính sách khuyến khích, đãi ngộ để thu hút nhân tài
#
# Bằng chứng gồm tác động gián tiếp của đãi ngộ lên năng lực chuyên môn qua động lực làm việc
# (khoảng tin cậy bootstrap) và mối liên hệ giữa đãi ngộ và ý định gắn bó.

# %%
show_claim("S3")

# %% [markdown]
# ### S4 — Môi trường làm việc tích cực

# %%
show_claim("S4")

# %% [markdown]
# ### S5 — Đánh giá và khen thưởng kịp thời

# %%
show_claim("S5")

# %% [markdown]
# ### S6 — Tăng cường kiểm tra, giám sát

# %%
show_claim("S6")

# %% [markdown]
# ### S7 — Sự lãnh đạo, chỉ đạo của cấp ủy, chính quyền
#
# Nhận định nói sự lãnh đạo là yếu tố "quyết định"; thứ hạng IPMA cho biết nó đứng ở đâu so
# với các yếu tố khác (phần "lớn nhất" không được kiểm định riêng bằng một phép thử, nhưng khi
# thứ hạng trái với nhận định, mục dưới nói rõ).

# %%
show_claim("S7")

# %% [markdown]
# ### S8 — Cơ chế thông tin, phản hồi giữa cán bộ và người dân
#
# Bằng chứng lấy từ khảo sát người dân: mức sử dụng và phản hồi của các kênh thông tin so với
# niềm tin và sự hài lòng (hồi quy chuẩn hóa, sai số chuẩn theo cụm xã).

# %%
show_claim("S8")

# %% [markdown]
# ### Các tiền đề mà giải pháp dựa vào (T1–T7) và chẩn đoán (D1–D8)
#
# Bảng dưới đây tóm tắt các nhận định còn lại; chi tiết từng thành phần ở bảng đầy đủ cuối
# notebook.

# %%
rest = ledger[~ledger["claim_id"].str.startswith("S")]
display(pd.DataFrame({
    export.tr("Mã", "Code"): rest["claim_id"],
    export.tr("Kết luận", "Verdict"): rest["verdict"].map(VERDICTS_VI) if
    export.language() == "vi" else rest["verdict"],
    export.tr("Thành phần", "Parts"): rest["estimand_vi"] if export.language() == "vi"
    else rest["estimand"]}).reset_index(drop=True))
not_sup = ledger.loc[ledger["verdict"] == "not supported", "claim_id"].tolist()
rest_against = AGAINST[AGAINST["claim_id"].isin(rest["claim_id"])]
display(Markdown(
    (f"Các nhận định **{VERDICTS_VI['not supported']}**: " + ", ".join(not_sup) + "."
     if not_sup else "Không nhận định nào bị dữ liệu bác bỏ.")
    + ("\n\n**Dữ liệu trái với nhận định** (dù kết luận là gì):\n\n" + "\n".join(
        f"- **{r.claim_id}** — {r.text_vi}." for r in rest_against.itertuples())
       if len(rest_against) else
       "  Ở các tiền đề và chẩn đoán, không ước lượng nào ngược chiều nhận định.")))

# %% [markdown]
# ## 5. Sổ đối chiếu nhận định (bảng luận văn)

# %%
vi = export.language() == "vi"
# a census share is exact: its interval of width 0 is left blank, not printed as [x; x]
exact = exact_interval(ledger["estimate"], ledger["ci_low"], ledger["ci_high"])
table = pd.DataFrame({
    export.tr("Mã", "Code"): ledger["claim_id"],
    export.tr("Mục", "Section"): ledger["section"],
    export.tr("Nhận định", "Claim"): ledger["claim_vi"] if vi else ledger["claim_en"],
    export.tr("Thành phần kiểm định", "Tested parts"): ledger["estimand_vi"] if vi
    else ledger["estimand"],
    export.tr("Ước lượng", "Estimate"): ledger["estimate"].round(3),
    export.tr("KTC thấp", "CI low"): ledger["ci_low"].mask(exact).round(3),
    export.tr("KTC cao", "CI high"): ledger["ci_high"].mask(exact).round(3),
    export.tr("p hiệu chỉnh", "Adjusted p"): ledger["p_adjusted"],   # unrounded: formatted once, as in the reasons
    "n": ledger["n"],
    "RV": ledger["robustness_value"].round(3),
    export.tr("Kết luận", "Verdict"): ledger["verdict"].map(VERDICTS_VI) if vi
    else ledger["verdict"],
    export.tr("Lý do", "Reason"): ledger["reason_vi"] if vi else ledger["reason"],
})
display(table.iloc[:, [0, 3, 4, 5, 6, 7, 10]])
# the reasons (up to ~700 characters) print in a table of their own: beside eleven other
# columns on the 15.5 cm page a reason got 1.7 cm, a row near a page tall; the CSV keeps them
reason = export.tr("Lý do", "Reason")
_ = export.save_table(
    table, "06_claims_ledger", printed=table.drop(columns=[reason]),
    title=export.tr("Sổ đối chiếu các nhận định của luận văn", "Claims ledger of the thesis"),
    note=export.tr(
        "Ước lượng, khoảng tin cậy 95% và n của thành phần quyết định kết luận (khoảng tin cậy "
        "chưa hiệu chỉnh cho nhiều phép kiểm định; để trống: tỷ lệ của tổng điều tra, chính "
        "xác); p hiệu chỉnh Holm lớn nhất trong các thành phần của nhận định (có thể của thành "
        "phần khác, xem bảng lý do của các kết luận); RV: giá trị bền vững nhỏ nhất. "
        f"SESOI {fmt(RULES.sesoi)} (hệ số chuẩn hóa), {fmt(RULES.sesoi_indirect)} (tác động gián tiếp a·b). Mối liên hệ "
        "trên dữ liệu quan sát, không phải quan hệ nhân quả.",
        "Estimate, 95% CI and n of the part that decided the verdict (intervals not adjusted for "
        "multiple testing; blank: a census share, exact); largest Holm-adjusted p among the "
        "claim's parts (possibly another part's, see the table of reasons); RV: smallest "
        "robustness value. "
        f"SESOI {RULES.sesoi:g} (standardized), "
        f"{RULES.sesoi_indirect:g} (indirect effect a·b). "
        "Associations in observational data, not causal effects."),
    simulated=SIM, decimals=3)
verdict = export.tr("Kết luận", "Verdict")
_ = export.save_table(
    table[[table.columns[0], verdict, reason]], "06_claims_reasons",
    title=export.tr("Lý do của từng kết luận trong sổ đối chiếu nhận định",
                    "Reasons for the verdicts of the claims ledger"),
    note=export.tr("Kết luận và ước lượng của từng nhận định: bảng sổ đối chiếu nhận định.",
                   "Verdicts and estimates of each claim: the claims ledger table."),
    simulated=SIM)

# %% [markdown]
# ## 6. Hình tóm tắt kết luận
#
# Mỗi thành phần suy luận là một điểm với khoảng tin cậy 95%, đặt trong khung của loại ước lượng
# của nó (cột `kind` của bảng thành phần): hệ số chuẩn hóa (β, d, a·b; đơn vị độ lệch chuẩn), hệ
# số tương quan (ρ Spearman giữa các xã, ICC) và chênh lệch điểm trên thang trả lời, mỗi khung một
# thang đo và nhãn trục riêng; vùng xám của mỗi dòng là ±SESOI của chính thành phần đó.  Một ước
# lượng mà nhiều nhận định cùng dựa vào là một dòng, ghi mã của các nhận định ấy.  Màu là kết luận
# của thành phần.  Khung dưới cùng: các thành phần mô tả so với ngưỡng của chúng.

# %%
COLORS = {"supported": "#2e7d32", "not supported": "#c0392b", "inconclusive": "#7f8c8d",
          "not testable": "#bbbbbb"}
# labels wrapped at word boundaries, never cut (pathplot.verdict_figure); one panel per scale
# of the parts' estimates, each kind named (hlstudy.evidence.estimate_labels)
SCALES, ESTIMATE_NAMES = estimate_labels("vi" if vi else "en")
fig = pathplot.verdict_figure(
    parts, colours={v: COLORS[v] for v in VERDICTS},
    verdict_labels=VERDICTS_VI if vi else None, label="part_vi" if vi else "part",
    sesoi=RULES.sesoi, per_part=True, decimal="," if vi else ".",
    sesoi_label=export.tr("±SESOI của từng thành phần", "±SESOI of each part"),
    scales=SCALES, kind_labels=ESTIMATE_NAMES,
    threshold_labels={"+": export.tr("ngưỡng: đạt khi lớn hơn", "threshold: passed above"),
                      "-": export.tr("ngưỡng: đạt khi nhỏ hơn", "threshold: passed below")},
    title=export.tr("Kết luận theo từng thành phần của các nhận định",
                    "Verdict of every part of the claims"))
_ = export.save_figure(fig, "06_verdict_summary", simulated=SIM)
plt.show()

# %% [markdown]
# ## 7. Hình IPMA

# %%
fig = ipma_figure(ip, title=export.tr("Tầm quan trọng – mức độ thực hiện đối với chất lượng "
                                      "chung (QUAL)",
                                      "Importance–performance for overall quality (QUAL)"))
_ = export.save_figure(fig, "06_ipma", simulated=SIM)
plt.show()
