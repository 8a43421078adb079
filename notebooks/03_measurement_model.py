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
# # 03 — Measurement model / Mô hình đo lường
#
# **English summary.** This notebook checks the measurement chain of both questionnaires
# (officials and citizens) before any scale score is used: item distributions and Mardia's
# multivariate normality; Cronbach's alpha (Feldt CI), omega and the item-drop decision for
# every scale; the design effect of scale means (respondents nested in communes); KMO and
# Bartlett; parallel analysis against the eigenvalue-1 rule (scree figure); an EFA with the
# loadings table as theses print it; the CFA of the officials' and the citizens' models with
# fit indices against the usual cut-offs; CR, AVE, HTMT and Fornell–Larcker; common-method
# bias (Harman and a common latent factor); and measurement invariance between *cán bộ* and
# *công chức*.  Every statistic is computed by `hlstudy.reliability`, `hlstudy.factor` and
# `hlstudy.cfa`, which reproduce R (psych 2.2.9, GPArotation, lavaan 0.6-14, semTools) in the
# test suite.  All numbers in the text are computed; tables and figures go to `figures/03_*`.
# It comes before the commune diagnostic (notebook 04), which uses the scale scores and
# states, before it does, which of them pass the reliability and validity checks made here.

# %%
import os

# One BLAS thread: the many small matrix operations below run several times faster than with
# OpenBLAS's thread pool on a small shared machine (results are identical).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from hlstudy import cfa as cfa_mod
from hlstudy import codebook, export, factor, ingest, legal, load_study, reliability
from hlstudy.display import show_numbers_as_read
from hlstudy.errors import ModelError, TooFewRowsError, warning_text
from hlstudy.scales import scale_items, score_scales

show_numbers_as_read()   # data frames shown with 3 decimals, counts without (hlstudy.display)

# Parameters (heavy computations take their size from here)
N_ITER = 100          # parallel-analysis iterations (psych's fa.parallel uses 20 by default)
N_BOOT = 1000         # bootstrap draws for the alpha CIs of the officials' scales
SEED = 2026
MIN_ALPHA = 0.70      # Nunnally & Bernstein (1994)
MIN_R_DROP = 0.30     # corrected item-total correlation below which an item is questioned
MIN_LOADING = 0.50    # EFA: an item should load at least this on its factor
BLANK = 0.30          # EFA table: loadings below this are left blank
MAX_SKEW, MAX_KURT = 2.0, 7.0   # West, Finch & Curran (1995)
FLOOR_CEILING = 0.15  # Terwee et al. (2007), for scale scores
KENNY_BASELINE_RMSEA = 0.158  # Kenny, Kaniskan & McCoach 2015: CFI says little below it
MIN_CR, MIN_AVE, MAX_HTMT = 0.70, 0.50, 0.85   # Hair et al. 2019; Fornell & Larcker 1981; Henseler et al. 2015
CLUSTER = "commune_code"

export.use_style()
study = load_study()
SIM = study.simulated
officials, citizens = study.officials, study.citizens
# the questionnaires analysed: those whose export was read (a study may survey officials only)
INSTS = [i for i in ("officials", "citizens") if study.has(i)]
scales = {i: scale_items(i) for i in INSTS}
data = {"officials": officials, "citizens": citizens}
label = {"officials": "cán bộ, công chức", "citizens": "người dân"}
# the questionnaires as the exported tables name them, in the label language
table_label = {"officials": export.tr(label["officials"], "officials"),
               "citizens": export.tr(label["citizens"], "citizens")}
# Likert range of each questionnaire, from its value set (1–5 here; 7-point scales work too)
RANGE = {i: codebook.likert_range(i) for i in INSTS}
# ML on complete rows (Mardia, CFA) needs more complete answers than items; at thesis size
# (about a hundred officials, 58 items, some missing answers) that may not hold
ITEMS = {i: [v for cols in scales[i].values() for v in cols] for i in INSTS}
N_COMPLETE = {i: int(data[i][ITEMS[i]].dropna().shape[0]) for i in INSTS}
# more complete answers than items (the rule cfa.validity_fit chooses its fit by)
FITTABLE = [i for i in INSTS if cfa_mod.listwise_fits(data[i], scales[i])]


def too_few(inst, what):
    """Vietnamese note: ``what`` needs more complete answers than items."""
    return (f"**Bỏ qua {what} ({label[inst]}):** chỉ có {N_COMPLETE[inst]} phiếu trả lời đủ mọi "
            f"biến cho {len(ITEMS[inst])} biến quan sát, trong khi ước lượng trên các phiếu đủ "
            f"(như `lavaan` với `missing = \"listwise\"`) cần ít nhất {len(ITEMS[inst]) + 1} "
            "phiếu đủ. Có thể phân tích theo từng khối thang đo, hoặc ước lượng FIML "
            "(`missing = \"ml\"` trong lavaan).")


def fmt(x, d=3):
    """Numbers in the (Vietnamese) prose: hlstudy.export.number."""
    return export.number(x, d, lang="vi")


def pct(x, d=0):
    return export.number(x, d, percent=True, lang="vi")


def fmt_p(p):
    return export.p_text(p, 3, lang="vi")


_REASON_VI = [
    (r"(\w+): r_drop ([\d.]+) < ([\d.]+) and alpha rises to ([\d.]+) without it",
     r"\1: r biến – tổng \2 < \3 và alpha tăng lên \4 khi bỏ biến"),
    (r"(\w+): r_drop ([\d.]+) < ([\d.]+) but deleting it does not raise alpha; kept",
     r"\1: r biến – tổng \2 < \3 nhưng bỏ biến không làm alpha tăng; giữ lại"),
    (r"(\w+): alpha would rise by ([\d.]+) without it, but r_drop ([\d.]+) is acceptable; kept",
     r"\1: alpha tăng \2 nếu bỏ biến, nhưng r biến – tổng \3 chấp nhận được; giữ lại"),
    (r"^all items kept$", "giữ mọi biến"),
]


def vi_cells(t):
    """Printed cells: ≥/≤ for >=/<=, booleans as có/không (yes/no); in Vietnamese also decimal
    commas in text cells."""
    import re

    vi = export.language() == "vi"
    yes_no = {True: "có", False: "không"} if vi else {True: "yes", False: "no"}

    def cell(v):
        if isinstance(v, bool):
            return yes_no[v]
        if not isinstance(v, str):
            return v
        v = v.replace(">=", "≥").replace("<=", "≤")
        return re.sub(r"(?<=\d)\.(?=\d)", ",", v.replace(", ", "; ")) if vi else v

    out = t.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(cell)
    return out


def vi_reliability(t):
    """The reliability table with Vietnamese headers and reasons (issue 13, kind 9); ``n`` is
    every respondent of the scale, alpha uses pairwise covariances (psych's default)."""
    import re

    out = t.reset_index()
    if export.language() == "vi":
        def tr_reason(s):
            for pat, rep in _REASON_VI:
                s = re.sub(pat, rep, s)
            return re.sub(r"(?<=\d)\.(?=\d)", ",", s)
        out["reason"] = out["reason"].map(tr_reason)
    return out.rename(columns={
        "scale": export.tr("Thang đo", "Scale"), "items": export.tr("Số biến", "Items"),
        "n": export.tr("n (mọi phiếu; tương quan từng cặp)", "n (all rows; pairwise)"),
        "alpha": "Alpha", "ci_low": export.tr("KTC 95% dưới (Feldt)", "95% CI low (Feldt)"),
        "ci_high": export.tr("KTC 95% trên (Feldt)", "95% CI high (Feldt)"),
        "std_alpha": export.tr("Alpha chuẩn hóa", "Standardised alpha"),
        "omega_total": export.tr("Omega tổng", "Omega total"),
        "min_r_drop": export.tr("r biến – tổng thấp nhất", "Lowest item-rest r"),
        "weakest_item": export.tr("Biến yếu nhất", "Weakest item"),
        "drop": export.tr("Đề xuất loại", "Proposed drop"), "reason": export.tr("Lý do", "Reason")})


display(Markdown(
    f"Dữ liệu: **{len(officials)}** phiếu cán bộ, công chức với **{len(scales['officials'])}** "
    "thang đo"
    + (f" và **{len(citizens)}** phiếu người dân với **{len(scales['citizens'])}** thang đo"
       if "citizens" in scales else "")
    + (" — *dữ liệu mô phỏng*." if SIM else ".")))
_note = study.skip_note("mọi phân tích thang đo của người dân trong notebook này", "citizens")
if _note:
    display(Markdown(_note))

# %% [markdown]
# ## 1. Phân phối của các biến quan sát
#
# Trước khi tính độ tin cậy và phân tích nhân tố, mỗi biến quan sát được kiểm tra độ lệch
# (skewness) và độ nhọn (kurtosis, dạng "thừa" như `psych::describe`) theo ngưỡng của West,
# Finch & Curran (1995); tỷ lệ trả lời ở hai đầu thang đo được báo cáo.  Hiệu ứng sàn/trần
# (Terwee và cộng sự 2007) được đánh giá trên điểm thang đo, vì một câu Likert thường có
# nhiều trả lời ở một đầu.  Tính chuẩn đa biến được kiểm định bằng hệ số Mardia trên các
# phiếu trả lời đủ.

# %%
display(Markdown(
    f"Ngưỡng áp dụng: |skew| > {fmt(MAX_SKEW, 0)}, |kurtosis| > {fmt(MAX_KURT, 0)}; hiệu ứng "
    f"sàn/trần khi hơn {pct(FLOOR_CEILING)} điểm thang đo ở mức thấp nhất hoặc cao nhất."))
dist_tables, mardia_res = {}, {}
for inst in INSTS:
    lo, hi = RANGE[inst]
    items = [i for cols in scales[inst].values() for i in cols]
    dist_tables[inst] = factor.item_distributions(data[inst][items], scale_min=lo, scale_max=hi,
                                                  floor_ceiling=None, max_abs_skew=MAX_SKEW,
                                                  max_abs_kurtosis=MAX_KURT)
    mardia_res[inst] = factor.mardia(data[inst][items]) if inst in FITTABLE else None
    scores = score_scales(data[inst], scales[inst])[sorted(scales[inst])]
    score_dist = factor.item_distributions(scores, scale_min=lo, scale_max=hi,
                                           floor_ceiling=FLOOR_CEILING, max_abs_skew=MAX_SKEW,
                                           max_abs_kurtosis=MAX_KURT)
    export.save_table(
        dist_tables[inst].reset_index().rename(columns={
            "item": export.tr("Biến", "Item"), "floor": export.tr("Sàn (floor)", "Floor"),
            "ceiling": export.tr("Trần (ceiling)", "Ceiling"),
            "flag": export.tr("Cảnh báo", "Flag")}), f"03_item_distributions_{inst}",
        title=export.tr(f"Phân phối các biến quan sát ({label[inst]})",
                        f"Item distributions ({inst})"),
        note=export.tr(f"skew, kurtosis: psych::describe type 3; sàn/trần: tỷ lệ câu trả lời "
                       f"{lo} / {hi}.",
                       f"skew, kurtosis: psych::describe type 3; floor/ceiling: share of answers "
                       f"{lo} / {hi}."),
        simulated=SIM, decimals=2)
    flagged = dist_tables[inst][dist_tables[inst]["flag"] != ""]
    fc = score_dist[score_dist["flag"] != ""]
    m = mardia_res[inst]
    display(Markdown(
        f"**{label[inst].capitalize()}**: {len(flagged)}/{len(dist_tables[inst])} biến bị "
        f"đánh dấu về phân phối; |skew| lớn nhất {fmt(dist_tables[inst]['skew'].abs().max(), 2)}, "
        f"|kurtosis| lớn nhất {fmt(dist_tables[inst]['kurtosis'].abs().max(), 2)}. "
        + (f"Điểm thang đo có hiệu ứng sàn/trần hoặc lệch: {', '.join(fc.index)}. " if len(fc)
           else f"Không thang đo nào có hiệu ứng sàn/trần (> {pct(FLOOR_CEILING)}). ")
        + ((f"Mardia (n = {m.n_obs} phiếu đủ): độ lệch đa biến χ² = {fmt(m.skew, 1)}, "
            f"p {fmt_p(m.p_skew)}; độ nhọn đa biến z = {fmt(m.kurtosis, 2)}, "
            f"p {fmt_p(m.p_kurt)} — "
            + ("không bác bỏ giả thuyết phân phối chuẩn đa biến."
               if m.normal else "phân phối chuẩn đa biến bị bác bỏ, nên kết quả CFA theo ML "
               "cần được đọc cùng với khoảng tin cậy bootstrap hoặc ước lượng vững (MLR)."))
           if m is not None else too_few(inst, "kiểm định Mardia"))))
    if len(flagged):   # the sentence above says when no item is flagged
        display(flagged)

# %% [markdown]
# ## 2. Độ tin cậy thang đo
#
# Với mỗi thang đo: Cronbach's alpha (khoảng tin cậy Feldt), alpha chuẩn hóa, omega
# tổng (mô hình một nhân tố, như `psych::omega(x, nfactors = 1)`), hệ số tương quan biến –
# tổng hiệu chỉnh thấp nhất và quyết định loại biến.  Một biến chỉ bị đề xuất loại khi
# **đồng thời** tương quan biến – tổng hiệu chỉnh dưới ngưỡng **và** loại nó làm alpha tăng;
# biến chỉ thỏa một điều kiện được giữ lại và lý do được ghi rõ (không loại biến chỉ để
# "đẩy" alpha lên).

# %%
display(Markdown(f"Ngưỡng tương quan biến – tổng hiệu chỉnh: {fmt(MIN_R_DROP, 2)} (Nunnally & "
                 f"Bernstein 1994); alpha chấp nhận được từ {fmt(MIN_ALPHA, 2)}."))
rel_tables = {}
for inst in INSTS:
    with warnings.catch_warnings():
        # an untrustworthy omega is said below, in Vietnamese (OmegaProblem.text)
        warnings.simplefilter("ignore", reliability.OmegaWarning)
        rel_tables[inst] = reliability.reliability_table(data[inst], scales[inst],
                                                         min_r_drop=MIN_R_DROP)
    export.save_table(
        vi_reliability(rel_tables[inst]), f"03_reliability_{inst}",
        title=export.tr(f"Độ tin cậy thang đo ({label[inst]})", f"Scale reliability ({inst})"),
        note=export.tr("Alpha: psych::alpha, hiệp phương sai tính theo từng cặp biến (pairwise), "
                       "n là mọi phiếu của thang đo; KTC 95% Feldt; omega tổng: psych::omega "
                       f"(1 nhân tố); đề xuất loại khi r biến – tổng hiệu chỉnh < {fmt(MIN_R_DROP, 2)} "
                       "và alpha tăng khi bỏ biến.",
                       "alpha: psych::alpha (pairwise covariances; n = all rows); CI: Feldt "
                       f"95%; omega: psych::omega (1 factor); drop rule: r_drop < "
                       f"{MIN_R_DROP:.2f} and alpha rises without the item."),
        simulated=SIM, decimals=3)
    t = rel_tables[inst]
    weak = t[t["alpha"] < MIN_ALPHA]
    drops = t[t["drop"] != ""]
    display(Markdown(
        f"**{label[inst].capitalize()}**: alpha của {len(t)} thang đo từ "
        f"{fmt(t['alpha'].min())} ({t['alpha'].idxmin()}) đến {fmt(t['alpha'].max())} "
        f"({t['alpha'].idxmax()}); {len(weak)} thang đo dưới {fmt(MIN_ALPHA, 2)}. "
        + (f"Đề xuất loại: {'; '.join(f'{s}: {d}' for s, d in drops['drop'].items())}."
           if len(drops) else "Không có biến nào thỏa cả hai điều kiện loại.")
        + "".join(f" {p.text('vi')[:1].upper()}{p.text('vi')[1:]}; không dùng omega này."
                  for _, p in sorted(t.attrs["omega_problems"].items()))))
    display(t)

# %%
# Bootstrap CIs (percentile, N_BOOT draws) next to Feldt's, officials' scales
boot_rows = []
for name, cols in sorted(scales["officials"].items()):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = reliability.cronbach_alpha(officials[cols], bootstrap=N_BOOT, seed=SEED)
    boot_rows.append({"scale": name, "alpha": a.alpha, "feldt_low": a.ci[0],
                      "feldt_high": a.ci[1], "boot_low": a.boot_ci[0], "boot_high": a.boot_ci[1]})
boot_table = pd.DataFrame(boot_rows).set_index("scale")
export.save_table(boot_table.reset_index().rename(columns={
                      "scale": export.tr("Thang đo", "Scale"), "alpha": "Alpha",
                      "feldt_low": export.tr("Feldt: cận dưới", "Feldt: low"),
                      "feldt_high": export.tr("Feldt: cận trên", "Feldt: high"),
                      "boot_low": export.tr("Bootstrap: cận dưới", "Bootstrap: low"),
                      "boot_high": export.tr("Bootstrap: cận trên", "Bootstrap: high")}),
                  "03_alpha_ci_officials",
                  title=export.tr("Khoảng tin cậy 95% của alpha: Feldt và bootstrap (cán bộ, công chức)",
                                  "95% CIs of alpha: Feldt and bootstrap (officials)"),
                  note=export.tr(f"Bootstrap: {N_BOOT} mẫu lặp lấy lại người trả lời, khoảng "
                                 f"phân vị (psych::alpha n.iter), hạt giống {SEED}.",
                                 f"Bootstrap: {N_BOOT} resamples of respondents, percentile interval "
                                 f"(psych::alpha n.iter), seed {SEED}."), simulated=SIM, decimals=3)
widest = (boot_table["boot_high"] - boot_table["boot_low"]).idxmax()
gap = (boot_table["boot_low"] - boot_table["feldt_low"]).abs().max()
display(Markdown(
    f"Khoảng tin cậy bootstrap ({N_BOOT} lần lấy mẫu lại) "
    + ("gần với" if gap < 0.02 else "khác đáng kể so với")
    + f" khoảng Feldt: chênh lệch lớn nhất ở cận dưới là {fmt(gap)}; khoảng rộng nhất thuộc "
    f"thang đo {widest}."))
display(boot_table)

# %% [markdown]
# ### Hiệu ứng thiết kế (design effect)
#
# Người trả lời lồng trong các xã: nếu câu trả lời trong cùng một xã giống nhau hơn giữa các
# xã (ICC > 0), sai số chuẩn của điểm trung bình thang đo bị đánh giá thấp nếu coi như mẫu
# ngẫu nhiên đơn.  Hiệu ứng thiết kế Kish: deff = 1 + (m̄ − 1)·ICC(1).

# %%
deff = {inst: reliability.scale_design_effects(data[inst], scales[inst], cluster=CLUSTER)
        for inst in INSTS}
deff_all = pd.concat(deff, names=["instrument"]).reset_index()
export.save_table(deff_all.rename(columns={
                      "instrument": export.tr("Bảng hỏi", "Instrument"),
                      "effective_n": export.tr("Cỡ mẫu hiệu dụng", "Effective n"),
                      "mean_cluster_size": export.tr("Số phiếu trung bình mỗi xã",
                                                     "Mean cluster size"),
                      "scale": export.tr("Thang đo", "Scale"), "clusters": export.tr("Số xã", "Communes"),
                      "icc": "ICC(1)", "deff": export.tr("Hiệu ứng thiết kế (deff)",
                                                         "Design effect (deff)")})
                  .replace({export.tr("Bảng hỏi", "Instrument"): table_label}),
                  "03_design_effects",
                  title=export.tr("Hiệu ứng thiết kế của điểm trung bình thang đo",
                                  "Design effects of scale means"),
                  note=export.tr("ICC(1): ước lượng ANOVA một chiều; deff = 1 + (số phiếu trung "
                                 "bình mỗi xã − 1)·ICC.", "ICC(1): one-way ANOVA estimator; deff = "
                                 "1 + (mean cluster size - 1) ICC."),
                  simulated=SIM, decimals=3)
top = deff_all.loc[deff_all["deff"].idxmax()]
display(Markdown(
    f"Hiệu ứng thiết kế lớn nhất là {fmt(top['deff'], 2)} (thang đo {top['scale']}, "
    f"{label[top['instrument']]}, ICC = {fmt(top['icc'])}): cỡ mẫu hiệu dụng chỉ còn khoảng "
    f"{top['effective_n']:.0f} thay vì {top['n']}. Vì vậy các so sánh điểm trung bình cần sai "
    "số chuẩn tính theo cụm xã."))
display(deff_all)

# %% [markdown]
# ## 3. Điều kiện phân tích nhân tố: KMO và Bartlett

# %%
for inst in INSTS:
    cols = [i for c in scales[inst].values() for i in c]
    try:
        k, b = factor.kmo(data[inst][cols]), factor.bartlett(data[inst][cols])
    except ModelError as exc:   # e.g. too few complete answers: the correlation matrix is not positive definite
        display(Markdown(f"**{label[inst].capitalize()}**: KMO và kiểm định Bartlett không tính được "
                         f"trên dữ liệu này ({exc})."))
        continue
    low = k.flagged(0.5)
    display(Markdown(
        f"**{label[inst].capitalize()}**: KMO = {fmt(k.overall)} (mức *{k.label_text('vi')}* theo Kaiser "
        f"1974), MSA từng biến từ {fmt(k.per_item.min())} đến {fmt(k.per_item.max())}"
        + (f"; biến có MSA < 0,50: {', '.join(low)}" if low else "") +
        f". Kiểm định Bartlett: χ²({b.df}) = {fmt(b.statistic, 1)}, p {fmt_p(b.p_value)}"
        + " — ma trận tương quan "
        + ("khác ma trận đơn vị, dữ liệu phù hợp để phân tích nhân tố."
           if b.p_value < 0.05 else "không khác ma trận đơn vị.")))

# %% [markdown]
# ## 4. Số nhân tố: phân tích song song và tiêu chí giá trị riêng > 1
#
# Quy tắc "giá trị riêng > 1" (Kaiser 1960, trên giá trị riêng của ma trận tương quan, tức
# của các thành phần chính) thường giữ quá nhiều nhân tố (Zwick & Velicer 1986).  Phân tích
# song song (Horn 1965, như `psych::fa.parallel`) so sánh giá trị riêng quan sát với phân vị
# trên của giá trị riêng từ dữ liệu ngẫu nhiên cùng kích thước, hai lần như psych: với giá
# trị riêng của nhân tố (ma trận tương quan rút gọn, "FA") và với giá trị riêng của thành
# phần chính ("PC"); số được giữ là số giá trị riêng quan sát vượt ngưỡng đó.  Hai con số
# thường khác nhau; EFA dưới đây dùng số khái niệm lý thuyết.

# %%
pa_res = {}
for inst in INSTS:
    items = [i for c in scales[inst].values() for i in c]
    pa_res[inst] = factor.parallel_analysis(data[inst][items], n_iter=N_ITER, seed=SEED)
    fig = factor.scree_figure(pa_res[inst])
    fig.axes[0].set_title(export.tr(f"Biểu đồ scree — {label[inst]}", f"Scree plot — {inst}"))
    export.save_figure(fig, f"03_scree_{inst}", simulated=SIM)
    plt.show()
    p = pa_res[inst]
    n_theory = len(scales[inst])
    kaiser_vs_pa = ("nhiều hơn" if p.n_kaiser > p.n_components else
                    "ít hơn" if p.n_kaiser < p.n_components else "bằng")
    display(Markdown(
        f"**{label[inst].capitalize()}** ({N_ITER} lần mô phỏng, phân vị {pct(p.quantile)}): "
        f"phân tích song song trên giá trị riêng của nhân tố (FA) gợi ý **{p.n_factors} nhân "
        f"tố**, trên giá trị riêng của thành phần chính (PC) gợi ý **{p.n_components} thành "
        f"phần**.  Tiêu chí giá trị riêng > 1 (trên cùng các giá trị riêng PC) giữ "
        f"{p.n_kaiser}, {kaiser_vs_pa} phân tích song song trên PC"
        + (" — ở dữ liệu này quy tắc Kaiser giữ nhiều hơn, như thường thấy"
           if p.n_kaiser > p.n_components else
           " — ở dữ liệu này quy tắc Kaiser không giữ nhiều hơn" if p.n_kaiser < p.n_components
           else "") +
        f".  Thang đo lý thuyết có {n_theory} khái niệm: "
        + ("bằng số nhân tố FA" if p.n_factors == n_theory else
           f"{'nhiều' if n_theory > p.n_factors else 'ít'} hơn số nhân tố FA")
        + ("" if p.n_components == n_theory else
           ", nhiều hơn số thành phần PC: một số khái niệm có tương quan cao với nhau "
           "hoặc có hệ số tải thấp nên không tạo được một thành phần chính riêng vượt mức ngẫu "
           "nhiên" if n_theory > p.n_components else "")
        + "."))

# %% [markdown]
# ## 5. Phân tích nhân tố khám phá (EFA)
#
# EFA theo phương pháp minres (bình phương tối thiểu) với phép xoay promax (xiên, vì các
# khái niệm được kỳ vọng có tương quan), số nhân tố bằng số khái niệm lý thuyết.  Bảng hệ
# số tải được trình bày như trong luận văn: sắp theo nhân tố chính, ẩn hệ số nhỏ; `*`
# đánh dấu biến tải chéo, `!` biến yếu (lý do ở bảng cảnh báo).

# %%
display(Markdown(
    f"Ngưỡng: hệ số tải dưới {fmt(BLANK, 2)} được để trống; biến yếu khi hệ số tải lớn nhất "
    f"dưới {fmt(MIN_LOADING, 2)}; tải chéo khi hệ số thứ hai từ {fmt(0.30, 2)} và cách hệ số "
    f"lớn nhất dưới {fmt(0.20, 2)} (mặc định của `hlstudy.factor.efa`)."))
efa_res = {}
for inst in INSTS:
    items = [i for c in scales[inst].values() for i in c]
    n_f = len(scales[inst])
    efa_res[inst] = factor.efa(data[inst][items], n_f, method="minres", rotation="promax",
                               min_loading=MIN_LOADING, blank=BLANK, cross_loading=0.30,
                               cross_gap=0.20)
    e = efa_res[inst]
    table = e.table()
    export.save_table(
        table.reset_index().rename(columns={"item": export.tr("Biến", "Item"),
                                            "note": export.tr("Ghi chú", "Note")}),
        f"03_efa_loadings_{inst}",
        title=export.tr(f"Ma trận hệ số tải nhân tố sau xoay ({label[inst]})",
                        f"Rotated factor loadings ({inst})"),
        note=export.tr(f"Trích minres, xoay promax (psych::fa); hệ số tải dưới "
                       f"{export.format_number(BLANK, 2)} để trống; * tải chéo, ! biến yếu; h2 "
                       "hệ số chung (communality).",
                       f"minres extraction, promax rotation (psych::fa); loadings < {BLANK:.2f} "
                       "blank; * cross-loading, ! weak item; h2 communality."),
        simulated=SIM)
    cum = e.variance.loc["Cumulative Var"].iloc[-1] if n_f > 1 else e.variance.iloc[1, 0]
    display(Markdown(
        f"**{label[inst].capitalize()}**: {n_f} nhân tố giải thích {fmt(100 * cum, 1)}% "
        f"phương sai; {e.flags['item'].nunique()} biến có cảnh báo"
        + ("" if e.converged else "; **nghiệm không hội tụ**")
        + (f"; trường hợp Heywood: {', '.join(e.heywood)}" if e.heywood else "") + "."))
    display(table)
    if len(e.flags):   # the sentence above says when no item has a warning
        display(e.flags)

# %% [markdown]
# ## 6. Phân tích nhân tố khẳng định (CFA)
#
# Mô hình đo lường đầy đủ của từng bảng hỏi (mỗi khái niệm đo bằng các biến của nó, các
# khái niệm tương quan tự do), ước lượng ML như `lavaan::cfa`.
#
# **Ngưỡng và nguồn của chúng.**  CFI (Bentler 1990) và TLI (Tucker & Lewis 1973) ≥ 0,90 là
# quy ước "chấp nhận được" cũ — mốc 0,90 có từ chỉ số NFI của Bentler & Bonett (1980), sau
# được dùng cho CFI/TLI và được các sách phương pháp như Hair và cộng sự (2019) nhắc lại;
# RMSEA (Steiger & Lind 1980) ≤ 0,08 và khoảng tin cậy của nó theo Browne & Cudeck (1993);
# **Hu & Bentler
# (1999) khuyến nghị chặt hơn: CFI/TLI ≥ 0,95, RMSEA ≤ 0,06, SRMR ≤ 0,08**.  Kết quả dưới đây
# được đọc theo cả hai.  χ² gần như luôn có ý nghĩa với vài trăm phiếu và vài chục biến, nên
# không dùng làm tiêu chí bác bỏ, nhưng vẫn được báo cáo; GFI phụ thuộc cỡ mẫu và số biến
# (Sharma và cộng sự 2005) nên không dùng làm tiêu chí.

# %%
display(Markdown("Ngưỡng: " + ", ".join(
    f"{k.upper().replace('CHI2_DF', 'χ²/df')} {op.replace('>=', '≥').replace('<=', '≤')} "
    f"{fmt(cut, 2)}" for k, (op, cut) in cfa_mod.core.CUTOFFS.items()) + "."))
# The reading of each verdict of hlstudy.cfa.fit_verdict (which cut-offs were met decides it)
FIT_READING = {
    "good": "Mức phù hợp tốt theo cả hai quy ước. ",
    "acceptable": ("Mức phù hợp vì vậy là **chấp nhận được theo quy ước cũ, chưa tốt theo Hu & "
                   "Bentler** — không phải \"đạt mọi tiêu chí\". "),
    "not acceptable": ("Mức phù hợp vì vậy **chưa chấp nhận được, kể cả theo quy ước cũ**: các "
                       "chỉ số từ mô hình này cần đọc thận trọng. "),
}
def fit_note(res):
    """The fit table's note: the estimator, the rows it used and the cut-offs' sources."""
    c, hb = cfa_mod.CUTOFFS, cfa_mod.HU_BENTLER
    n_all = res.n_obs + res.n_dropped
    return export.tr(
        f"Ước lượng ML trên {res.n_obs} phiếu trả lời đủ mọi câu của {n_all} phiếu ({res.n_dropped} "
        "phiếu thiếu ít nhất một câu không được dùng), cố định hệ số tải của biến đầu tiên bằng 1 "
        f"(mặc định của lavaan). Ngưỡng: CFI, TLI ≥ {fmt(c['cfi'][1], 2)} là quy ước \"chấp nhận "
        f"được\" cũ (mốc 0,90 của NFI, Bentler & Bonett 1980; CFI: Bentler 1990; TLI: Tucker & Lewis "
        f"1973; Hu & Bentler 1999 đề nghị ≥ {fmt(hb['cfi'][1], 2)}); "
        f"RMSEA ≤ {fmt(c['rmsea'][1], 2)}; SRMR ≤ {fmt(c['srmr'][1], 2)}; χ²/df ≤ "
        f"{fmt(c['chi2_df'][1], 0)}. GFI không có ngưỡng (phụ thuộc cỡ mẫu và số biến).",
        f"ML estimation on the {res.n_obs} of {n_all} responses that answer every item "
        f"({res.n_dropped} with a missing item not used), marker-variable identification (lavaan "
        f"defaults). Cut-offs: CFI, TLI ≥ {c['cfi'][1]:.2f}, the older 'acceptable' convention "
        f"(the .90 level of NFI, Bentler & Bonett 1980; CFI: Bentler 1990; TLI: Tucker & Lewis 1973; "
        f"Hu & Bentler 1999 propose ≥ {hb['cfi'][1]:.2f}); RMSEA ≤ "
        f"{c['rmsea'][1]:.2f}; SRMR ≤ {c['srmr'][1]:.2f}; χ²/df ≤ {c['chi2_df'][1]:.0f}. GFI has "
        "no cut-off (it depends on the sample size and the number of items).")


#: the measurement claims (hypotheses.csv test type "measurement": T3), judged by the ledger
#: on alpha and HTMT only
_hyp = codebook.hypotheses()
T3_CLAIMS = _hyp.loc[_hyp["test_type"] == "measurement", "claim_id"].tolist()
cfa_res = {}
for inst in INSTS:
    if inst not in FITTABLE:
        display(Markdown(too_few(inst, "CFA theo danh sách của toàn bộ bảng hỏi và CLF")
                         + "  CR, AVE và tiêu chí Fornell–Larcker được đọc từ CFA FIML "
                         "(mục giá trị hội tụ và phân biệt bên dưới)."))
        continue
    with warnings.catch_warnings():
        # an improper solution is said in the text below, in Vietnamese (HeywoodCase.text)
        warnings.simplefilter("ignore", cfa_mod.HeywoodWarning)
        cfa_res[inst] = cfa_mod.cfa(data[inst], scales[inst])
    fit_tab = cfa_res[inst].fit_table()
    FIT_VI = {"chi2": "χ²", "df": "df", "p_value": "p (χ²)", "chi2_df": "χ²/df", "gfi": "GFI",
              "cfi": "CFI", "tli": "TLI", "rmsea": "RMSEA", "srmr": "SRMR"}
    export.save_table(fit_tab.reset_index().replace({fit_tab.index.name or "index": FIT_VI})
                      .rename(columns={fit_tab.index.name or "index": export.tr("Chỉ số", "Index"),
                                       "value": export.tr("Giá trị", "Value"),
                                       "ci.lower": export.tr("KTC 90%: cận dưới", "90% CI: low"),
                                       "ci.upper": export.tr("KTC 90%: cận trên", "90% CI: high"),
                                       "criterion": export.tr("Ngưỡng", "Cut-off"),
                                       "met": export.tr("Đạt", "Met")})
                      .pipe(vi_cells),
                      f"03_cfa_fit_{inst}",
                      title=export.tr(f"Chỉ số phù hợp của mô hình CFA ({label[inst]})",
                                      f"CFA fit indices ({inst})"),
                      note=fit_note(cfa_res[inst]),
                      simulated=SIM, decimals=3)
    export.save_table(cfa_res[inst].loadings_table().rename(columns={
                          "factor": export.tr("Khái niệm", "Factor"),
                          "item": export.tr("Biến", "Item"),
                          "est": export.tr("Hệ số tải (est)", "Loading (est)"), "se": "SE",
                          "z": "z", "p": "p",
                          "std_all": export.tr("Hệ số tải chuẩn hóa (std.all)",
                                               "Standardised loading (std.all)")}),
                      f"03_cfa_loadings_{inst}",
                      title=export.tr(f"Hệ số tải CFA ({label[inst]})",
                                      f"CFA loadings ({inst})"),
                      simulated=SIM, decimals=3)
    r = cfa_res[inst]
    f = r.fit
    fv = cfa_mod.fit_verdict(f)   # the verdict follows the numbers (hlstudy.cfa.fit_verdict)
    fit_vals = {**f, "chi2_df": f["chi2"] / f["df"] if f["df"] > 0 else np.nan}
    n_all = r.n_obs + r.n_dropped
    problems = ([] if r.converged else ["**mô hình KHÔNG hội tụ**"]) + [
        f"**trường hợp Heywood**: {h.text('vi')}" for h in r.heywood]
    display(Markdown(
        f"**{label[inst].capitalize()}**: ước lượng trên {r.n_obs}/{n_all} phiếu trả lời đủ "
        f"mọi biến ({r.n_dropped} phiếu, {fmt(100 * r.n_dropped / n_all, 1)}%, bị loại theo "
        "danh sách như mặc định của lavaan"
        + ("; **mất nhiều quan sát — nên kiểm tra lại bằng FIML (`missing = \"ml\"`)**"
           if r.n_dropped > 0.2 * n_all else "") + "). "
        f"χ²({f['df']:.0f}) = {fmt(f['chi2'], 1)}, "
        f"CFI = {fmt(f['cfi'])}, TLI = {fmt(f['tli'])}, RMSEA = {fmt(f['rmsea'])} "
        f"[{fmt(f['rmsea_ci_low'])}; {fmt(f['rmsea_ci_high'])}], SRMR = {fmt(f['srmr'])}. "
        f"Theo quy ước 0,90 (Bentler & Bonett 1980): đạt {len(fv.conventional_met)}/"
        f"{len(fv.conventional_met) + len(fv.conventional_failed)} ngưỡng"
        + (" (không đạt: " + ", ".join(f"{FIT_VI.get(k, k.upper())} = {fmt(fit_vals[k])}"
                                       for k in fv.conventional_failed) + ")"
           if fv.conventional_failed else "")
        + "; theo Hu & Bentler (1999): "
        + ("**đạt**" if not fv.strict_failed else
           "**không đạt** (" + ", ".join(f"{k.upper()} = {fmt(f[k])}"
                                        for k in fv.strict_failed) + ")")
        + (f".  χ² có ý nghĩa (p {fmt_p(f['p_value'])}) như thường thấy ở cỡ mẫu này; "
           if f["p_value"] < 0.05 else
           f".  χ² không có ý nghĩa (p {fmt_p(f['p_value'])}); ")
        + f"GFI = {fmt(f['gfi'])} không dùng làm tiêu chí. "
        + FIT_READING[fv.verdict]
        + ("; ".join(problems) + "." if problems
           else "Mô hình hội tụ, không có trường hợp Heywood "
                "(phương sai sai số âm hoặc tương quan tiềm ẩn > 1).")))
    display(fit_tab)

# %% [markdown]
# ### Ước lượng lại với FIML và MLR (cán bộ, công chức)
#
# Ước lượng theo danh sách ở trên bỏ mọi phiếu thiếu dù chỉ một câu.  Với phiếu cán bộ,
# công chức điều đó làm mất khoảng một nửa số phiếu: quá ít cho một mô hình hàng trăm tham
# số, và chỉ không thiên lệch khi dữ liệu thiếu hoàn toàn ngẫu nhiên (MCAR).  Mô hình được
# ước lượng lại bằng **FIML** (`missing = "ml"`: mỗi phiếu đóng góp các câu nó có, không
# thiên lệch khi dữ liệu thiếu ngẫu nhiên có điều kiện, MAR) với **MLR** (sai số chuẩn
# Huber–White và χ² hiệu chỉnh Yuan–Bentler, vì phân phối Likert không chuẩn — kiểm định
# Mardia ở mục 1), như `lavaan::cfa(model, data, missing = "ml", estimator = "MLR")`.  Đây
# là mô hình đo lường mà notebook 05 dùng.

# %%
fiml = None
if len(officials) and scales["officials"]:
    off_items = [i for cols in scales["officials"].values() for i in cols]
    try:
        with warnings.catch_warnings(record=True) as fiml_caught:
            warnings.simplefilter("always")
            # lavaan::cfa(model, data, missing = "ml", estimator = "MLR")
            fiml = cfa_mod.cfa_fiml(officials, scales["officials"])
    except ModelError as exc:   # e.g. a singular covariance matrix: too few answers for the items
        display(Markdown(f"CFA FIML/MLR của cán bộ, công chức không ước lượng được trên dữ liệu "
                         f"này ({exc})."))
if fiml is not None:
    fml = fiml.fit_measures()
    lw = cfa_res.get("officials")   # None when too few complete answers for a listwise fit
    sfx = ".robust" if np.isfinite(fml.get("cfi.robust", np.nan)) else ".scaled"
    lw_n = lw.n_obs if lw is not None else int(officials[off_items].notna().all(axis=1).sum())
    fiml_table = pd.DataFrame({
        export.tr("Chỉ số", "Index"): [export.tr("Số phiếu dùng", "Respondents used"), "χ²", "df",
                                      "CFI", "TLI", "RMSEA", "SRMR"],
        export.tr("ML, loại theo danh sách", "ML, listwise"): [lw_n] + (
            [lw.fit[k] for k in ("chi2", "df", "cfi", "tli", "rmsea", "srmr")] if lw is not None
            else [np.nan] * 6),
        export.tr(f"FIML, MLR ({'robust' if sfx == '.robust' else 'hiệu chỉnh'})",
                  f"FIML, MLR ({sfx[1:]})"): [
            fiml.nobs, fml["chisq.scaled"], fml["df"], fml["cfi" + sfx], fml["tli" + sfx],
            fml["rmsea" + sfx], fml["srmr"]]})
    export.save_table(fiml_table, "03_cfa_fiml_officials", simulated=SIM, decimals=3,
                      title=export.tr("CFA cán bộ, công chức: loại theo danh sách và FIML/MLR",
                                      "Officials' CFA: listwise ML and FIML/MLR"),
                      note=export.tr("FIML: lavaan missing = \"ml\"; MLR: χ² Yuan–Bentler, "
                                     f"CFI/TLI/RMSEA bản {sfx[1:]} của lavaan 0.6-14.",
                                     "FIML: lavaan missing = \"ml\"; MLR: Yuan–Bentler χ², "
                                     f"lavaan 0.6-14's {sfx[1:]} CFI/TLI/RMSEA."))
    display(fiml_table)
    pe_f = fiml.parameter_estimates()
    std_f = pe_f[pe_f["op"] == "=~"].set_index(["lhs", "rhs"])["std.all"]
    if lw is not None:
        std_l = lw.loadings_table().set_index(["factor", "item"])["std_all"]
        diff = (std_f - std_l.reindex(std_f.index)).abs()
    fiml_warn = sorted({warning_text(w, "vi") for w in fiml_caught})
    display(Markdown(
        f"FIML dùng **{fiml.nobs}** phiếu (loại {fiml.n_dropped} phiếu không trả lời câu nào), "
        f"so với **{lw_n}** phiếu đủ mọi câu mà ước lượng theo danh sách dùng được"
        + ("" if lw is not None else " (quá ít: CFA theo danh sách đã bị bỏ qua ở trên)")
        + f".  Với FIML/MLR: χ² hiệu chỉnh "
        f"= {fmt(fml['chisq.scaled'], 1)} (df = {fml['df']:.0f}), CFI = {fmt(fml['cfi' + sfx])}, "
        f"TLI = {fmt(fml['tli' + sfx])}, RMSEA = {fmt(fml['rmsea' + sfx])}, SRMR = "
        f"{fmt(fml['srmr'])}"
        + (" (bản 'hiệu chỉnh'; bản 'robust' cho dữ liệu thiếu của lavaan 0.6-14 chưa được "
           "hlstudy tính)" if sfx == ".scaled" else "")
        + (f".  Hệ số tải chuẩn hóa khác ước lượng theo danh sách nhiều nhất "
           f"{fmt(diff.max(), 3)} (trung bình {fmt(diff.mean(), 3)}). " if lw is not None else ". ")
        + ("Mô hình hội tụ." if fiml.converged else "**Mô hình không hội tụ.**")
        + (f" Cảnh báo: {'; '.join(fiml_warn)}." if fiml_warn else "")))

# %% [markdown]
# ### Kiểm tra chéo trên hai nửa mẫu
#
# EFA và CFA trên cùng một mẫu thì CFA chỉ xác nhận lại điều EFA vừa tìm ra.  Ở đây mẫu được
# chia ngẫu nhiên (hạt giống `SEED`) làm hai nửa: EFA trên nửa A (cấu trúc có tái hiện các
# khái niệm lý thuyết không?), CFA của mô hình lý thuyết trên nửa B, đặt cạnh CFA trên toàn
# mẫu.

# %%
def split_reading(half, full):
    """Vietnamese reading of half B's CFA fit beside the full sample's
    (``hlstudy.cfa.fit_verdict`` against the cut-offs of section 6; the baseline model's RMSEA
    against Kenny, Kaniskan & McCoach's 2015 bound below which CFI/TLI say little)."""
    v, vf = cfa_mod.fit_verdict(half.fit), cfa_mod.fit_verdict(full.fit)
    names = {"cfi": "CFI", "tli": "TLI", "rmsea": "RMSEA", "srmr": "SRMR", "chi2_df": "χ²/df"}
    if v.verdict != "not acceptable":
        return ("Trên nửa B mô hình lý thuyết vẫn đạt mọi ngưỡng của quy ước cũ"
                + (" và của Hu & Bentler" if v.verdict == "good" else "")
                + ": cấu trúc được xác nhận trên phần mẫu mà EFA không dùng.")

    def baseline_rmsea(r):   # lavaan's RMSEA formula on the independence model's χ² and df
        return float(cfa_mod.core.rmsea_ci(r.fit["baseline_chi2"], r.fit["baseline_df"], r.n_obs)[0])

    b_half, b_full = baseline_rmsea(half), baseline_rmsea(full)
    met = [names[k] for k in v.conventional_met]
    text = (f"**Trên nửa B mô hình lý thuyết không đạt quy ước cũ**: "
            f"{', '.join(names[k] for k in v.conventional_failed)} dưới ngưỡng"
            + (f", trong khi {', '.join(met)} vẫn đạt" if met else "")
            + f" (toàn mẫu: {'đạt' if vf.verdict != 'not acceptable' else 'cũng không đạt'}).  "
            f"Nửa B chỉ có {half.n_obs} phiếu đủ cho {int(half.fit['npar'])} tham số tự do.")
    if b_half < KENNY_BASELINE_RMSEA:
        text += (f"  RMSEA của mô hình độc lập trên nửa B là {fmt(b_half)} (toàn mẫu "
                 f"{fmt(b_full)}), dưới {fmt(KENNY_BASELINE_RMSEA)}: các biến tương quan yếu "
                 "nên mô hình độc lập cũng không tệ lắm, và khi đó CFI, TLI (so mô hình với mô "
                 "hình độc lập) ít thông tin và giảm mạnh ở mẫu nhỏ (Kenny, Kaniskan & McCoach "
                 "2015)")
    return text + (".  Kiểm tra chéo vì vậy **không xác nhận** được cấu trúc theo CFI/TLI trên "
                   "nửa mẫu: cỡ mẫu của khảo sát này không đủ để vừa khám phá vừa khẳng định trên "
                   "hai nửa riêng.")


split_rows = []
for inst in FITTABLE:
    d = data[inst].reset_index(drop=True)
    perm = np.random.default_rng(SEED).permutation(len(d))
    half_a = d.iloc[np.sort(perm[: len(d) // 2])]
    half_b = d.iloc[np.sort(perm[len(d) // 2:])]
    items = ITEMS[inst]
    try:
        e_a = factor.efa(half_a[items], len(scales[inst]), method="minres", rotation="promax",
                         min_loading=MIN_LOADING, blank=BLANK)
        top = e_a.loadings.abs().idxmax(axis=1)
        # an item is "in place" when it loads highest on the factor most of its construct's
        # items load highest on
        home = {c: top[cols].mode().iloc[0] for c, cols in scales[inst].items()}
        in_place = sum(top[i] == home[c] for c, cols in scales[inst].items() for i in cols)
        c_b = cfa_mod.cfa(half_b, scales[inst])
    except ModelError as exc:   # e.g. too few complete answers in a half (TooFewRowsError)
        display(Markdown(f"**{label[inst].capitalize()}**: kiểm tra chéo không thực hiện được: "
                         f"{exc.text('vi') if isinstance(exc, TooFewRowsError) else exc}."))
        continue
    for part, r in ((export.tr("Toàn mẫu", "Full sample"), cfa_res[inst]),
                    (export.tr("Nửa B", "Half B"), c_b)):
        split_rows.append({export.tr("Bảng hỏi", "Instrument"): table_label[inst],
                           export.tr("Mẫu", "Sample"): part,
                           export.tr("n (đủ mọi biến)", "n (complete)"): r.n_obs,
                           "χ²": r.fit["chi2"], "df": r.fit["df"], "CFI": r.fit["cfi"],
                           "TLI": r.fit["tli"], "RMSEA": r.fit["rmsea"], "SRMR": r.fit["srmr"]})
    display(Markdown(
        f"**{label[inst].capitalize()}**: EFA trên nửa A ({e_a.n_obs} phiếu): "
        f"{in_place}/{len(items)} biến tải mạnh nhất vào nhân tố chung của khái niệm mình.  "
        f"CFA trên nửa B ({c_b.n_obs} phiếu đủ): CFI = {fmt(c_b.fit['cfi'])}, TLI = "
        f"{fmt(c_b.fit['tli'])}, RMSEA = {fmt(c_b.fit['rmsea'])}, SRMR = {fmt(c_b.fit['srmr'])} "
        f"(toàn mẫu: CFI = {fmt(cfa_res[inst].fit['cfi'])}, RMSEA = "
        f"{fmt(cfa_res[inst].fit['rmsea'])}).  " + split_reading(c_b, cfa_res[inst])))
if split_rows:
    split_tab = pd.DataFrame(split_rows)
    export.save_table(split_tab, "03_cfa_split_half",
                      title=export.tr("CFA trên toàn mẫu và trên nửa mẫu không dùng cho EFA",
                                      "CFA on the full sample and on the half not used by EFA"),
                      note=export.tr(f"Chia ngẫu nhiên (hạt giống {SEED}); EFA trên nửa A, CFA "
                                     "trên nửa B.", f"Random split (seed {SEED}); EFA on half "
                                     "A, CFA on half B."), simulated=SIM, decimals=3)
    display(split_tab)

# %% [markdown]
# ### Giá trị hội tụ và phân biệt: CR, AVE, HTMT, Fornell–Larcker
#
# Độ tin cậy tổng hợp CR và phương sai trích AVE (Fornell & Larcker 1981), với ngưỡng CR ≥
# 0,70 theo Hair và cộng sự (2019) và AVE ≥ 0,50 theo Fornell & Larcker (1981); tỷ số HTMT
# (Henseler, Ringle & Sarstedt 2015, ngưỡng 0,85) ở dạng HTMT2 dùng trung bình nhân (Roemer,
# Schuberth & Henseler 2021; mặc định của `semTools::htmt`); tiêu chí Fornell–Larcker: căn
# bậc hai AVE của mỗi khái niệm lớn hơn tương quan của nó với các khái niệm khác.

# %%
HTMT_NOTE = export.tr("semTools::htmt (HTMT2, dùng trung bình nhân).",
                      "semTools::htmt (geometric-mean HTMT2).")
FACTOR = export.tr("Khái niệm", "Factor")
display(Markdown(f"Ngưỡng: CR ≥ {fmt(MIN_CR, 2)}, AVE ≥ {fmt(MIN_AVE, 2)}, "
                 f"HTMT < {fmt(MAX_HTMT, 2)}."))


def validity_source(inst):
    """The fit CR, AVE and Fornell–Larcker read: ``hlstudy.cfa.validity_fit``, the listwise
    CFA above, else (too few complete answers) the FIML fit of the section above (the same
    calls, so kept results); None when neither can be fitted (said)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # an improper solution is said below
            return cfa_mod.validity_fit(data[inst], scales[inst])
    except ModelError as exc:
        display(Markdown(f"**{label[inst].capitalize()}**: CFA FIML không ước lượng được "
                         f"({exc}), nên không tính CR, AVE, Fornell–Larcker."))
        return None


def wording_text(w, n_among_five):
    """Vietnamese sentences on the wording-effect test (``hlstudy.cfa.reversed_within_scales``)."""
    ranks = "; ".join(f"{r.item} thấp thứ {fmt(r.rank, 0)}/{r.n_items} trong {r.factor} "
                      f"({fmt(r.std_all, 2)})" for r in w.items.itertuples())
    text = (f"Trong năm hệ số tải thấp nhất có {n_among_five} câu đảo chiều, nhưng so chung mọi "
            "thang đo thì lẫn hiệu ứng cách diễn đạt với việc câu đó nằm trong thang đo nào (một "
            "thang đo yếu có mọi câu đều yếu), nên câu đảo chiều được so với các câu **cùng thang "
            f"đo**: {ranks}.  Tổng hạng {fmt(w.statistic, 0)} so với kỳ vọng "
            f"{fmt(w.expected, 1)} khi chúng nằm ngẫu nhiên trong thang đo của mình; xác suất "
            f"chính xác của một tổng hạng thấp như vậy hoặc thấp hơn là {fmt(w.p_value, 3)} (đếm "
            f"đủ {w.n_placements} cách đặt; kiểm định hoán vị phân tầng theo thang đo)")
    if not w.more_than_chance:
        return text + (": không thấp hơn mức ngẫu nhiên, nên chưa phải bằng chứng của **hiệu ứng "
                       "cách diễn đạt** (wording effect; Weijters và cộng sự 2013)")
    text += (": thấp hơn mức ngẫu nhiên, dấu hiệu của **hiệu ứng cách diễn đạt** (wording "
             "effect) — người trả lời không đọc câu phủ định như câu khẳng định tương ứng "
             "(Weijters và cộng sự 2013)")
    if SIM:
        from hlstudy.synthetic import LOADING_RANGE, REVERSE_LOADING_RANGE
        text += (f".  Với dữ liệu mô phỏng, đây là điều đã được cài vào mô hình sinh dữ liệu: câu "
                 f"đảo chiều có hệ số tải thật từ {fmt(REVERSE_LOADING_RANGE[0], 2)} đến "
                 f"{fmt(REVERSE_LOADING_RANGE[1], 2)}, các câu khác từ {fmt(LOADING_RANGE[0], 2)} "
                 f"đến {fmt(LOADING_RANGE[1], 2)} — phép kiểm định tìm lại đúng hiệu ứng đã mô "
                 "phỏng, không phải một phát hiện về người trả lời thật")
    return text


for inst in INSTS:
    res = validity_source(inst)
    if res is None:  # no CFA: HTMT (from correlations) only
        ht = cfa_mod.htmt(data[inst], scales[inst])
        export.save_table(ht.reset_index(names=FACTOR), f"03_htmt_{inst}",
                          title=export.tr(f"Tỷ số HTMT ({label[inst]})", f"HTMT ratios ({inst})"),
                          note=HTMT_NOTE, simulated=SIM, decimals=3)
        off = ht.where(~np.eye(len(ht), dtype=bool)).stack()
        display(Markdown(f"**{label[inst].capitalize()}**: không có CFA nên không tính CR, AVE, "
                         f"Fornell–Larcker; HTMT lớn nhất {fmt(off.max())} "
                         f"({int((off >= MAX_HTMT).sum() // 2)} cặp từ {fmt(MAX_HTMT, 2)})."))
        display(ht)
        if ht.attrs["notes"]:
            display(Markdown("**Lưu ý về HTMT:** "
                             + "; ".join(n.text("vi") for n in ht.attrs["notes"]) + "."))
            display(cfa_mod.htmt(data[inst], scales[inst], geometric=False))
        continue
    validity = pd.DataFrame({"CR": cfa_mod.composite_reliability(res),
                             "AVE": cfa_mod.average_variance_extracted(res)})
    ht = cfa_mod.htmt(data[inst], scales[inst])
    fl = cfa_mod.fornell_larcker(res)
    _basis_vi = cfa_mod.fit_basis(res, "vi")   # which fit: said in the notes and the text
    BASIS = export.tr(_basis_vi, cfa_mod.fit_basis(res, "en"))
    export.save_table(validity.reset_index(names=FACTOR), f"03_cr_ave_{inst}",
                      title=export.tr(f"CR và AVE ({label[inst]})", f"CR and AVE ({inst})"),
                      note=BASIS, simulated=SIM, decimals=3)
    export.save_table(ht.reset_index(names=FACTOR), f"03_htmt_{inst}",
                      title=export.tr(f"Tỷ số HTMT ({label[inst]})", f"HTMT ratios ({inst})"),
                      note=HTMT_NOTE, simulated=SIM, decimals=3)
    export.save_table(fl.reset_index(names=FACTOR), f"03_fornell_larcker_{inst}",
                      title=export.tr(f"Tiêu chí Fornell–Larcker ({label[inst]})",
                                      f"Fornell-Larcker criterion ({inst})"),
                      note=export.tr("Đường chéo: căn bậc hai của AVE; ngoài đường chéo: tương quan "
                                     "giữa các khái niệm. ",
                                     "Diagonal: square root of AVE; off-diagonal: latent correlations. ")
                      + BASIS,
                      simulated=SIM, decimals=3)
    off = ht.where(~np.eye(len(ht), dtype=bool)).stack()
    fl_ok = cfa_mod.fornell_larcker_met(res)
    display(Markdown(
        f"**{label[inst].capitalize()}**: CR từ {fmt(validity['CR'].min())} đến "
        f"{fmt(validity['CR'].max())}; AVE từ {fmt(validity['AVE'].min())} đến "
        f"{fmt(validity['AVE'].max())} ({int((validity['AVE'] < MIN_AVE).sum())} khái niệm "
        f"dưới {fmt(MIN_AVE, 2)}; {int((validity['CR'] < MIN_CR).sum())} khái niệm có CR dưới "
        f"{fmt(MIN_CR, 2)}); HTMT lớn nhất {fmt(off.max())} "
        f"({int((off >= MAX_HTMT).sum() // 2)} cặp từ {fmt(MAX_HTMT, 2)}); tiêu chí "
        "Fornell–Larcker đạt ở "
        f"{int(fl_ok.sum())}/{len(fl_ok)} khái niệm.  {_basis_vi}"
        + (f"  **Nghiệm CFA FIML không chính quy** ({'; '.join(h.text('vi') for h in res.heywood)}): "
           "chỉ đọc CR và AVE như chỉ dẫn thô." if res is not cfa_res.get(inst) and res.heywood
           else "")))
    low_ave = validity.index[validity["AVE"] < MIN_AVE].tolist()
    if low_ave:
        std = cfa_mod.standardized_loadings(res)
        weakest = std.sort_values().head(5)
        reverse = codebook.reverse_items(inst)
        rev_weak = [i for _, i in weakest.index if i in reverse]
        # a wording effect is judged within each scale (a weak scale holds weak items, reversed
        # or not): the reversed items' ranks among their own scale's loadings, exact test
        wording = cfa_mod.reversed_within_scales(std, reverse) if reverse else None
        display(Markdown(
            f"**Kết luận về giá trị hội tụ ({label[inst]}): KHÔNG đạt** ở {len(low_ave)}/"
            f"{len(validity)} khái niệm (AVE < {fmt(MIN_AVE, 2)}: {', '.join(low_ave)}"
            + (f"; trong đó có cả {len(set(low_ave) & {'ETH', 'PRO', 'SKL', 'RSP'})}/4 chiều "
               "chất lượng" if set(low_ave) & {"ETH", "PRO", "SKL", "RSP"} else "")
            + ").  Các biến chỉ báo chia sẻ với khái niệm của chúng ít hơn một nửa phương sai.  "
            "Năm hệ số tải chuẩn hóa thấp nhất: "
            + ", ".join(f"{i} ({fmt(v, 2)}{', đảo chiều' if i in rev_weak else ''})"
                        for (_, i), v in weakest.items())
            + (".  " + wording_text(wording, len(rev_weak)) if wording is not None else "")
            + ".  Điều luận văn **vẫn khẳng định được**: độ tin cậy (CR, alpha) đạt ngưỡng ở "
            "phần lớn thang đo, và các khái niệm phân biệt được với nhau (HTMT); điểm thang đo "
            "dùng được như **chỉ số tổng hợp mô tả**.  Điều **không khẳng định được**: rằng mỗi "
            "thang đo đo một khái niệm duy nhất với giá trị hội tụ tốt — các hệ số quan hệ ở "
            "phần III bị suy giảm và phải được đọc với hạn chế này."
            + (f"  Kết luận của luận điểm {', '.join(T3_CLAIMS)} trong sổ đối chiếu (notebook 06) "
               "chỉ dựa vào độ tin cậy (alpha) và khả năng phân biệt (HTMT) — quy tắc của "
               "`hlstudy.evidence` cho nhận định đo lường — nên một kết luận \"được ủng hộ\" ở đó chỉ có nghĩa "
               "là tin cậy và phân biệt được, **không** có nghĩa là đạt giá trị hội tụ, vốn không "
               "đạt như nói ở trên." if T3_CLAIMS and inst == "officials" else "")))
    display(validity, ht, fl)
    if ht.attrs["notes"]:
        # an exact zero correlation decides HTMT2 (semTools' rule): show the arithmetic HTMT too
        display(Markdown(
            "**Lưu ý về HTMT:** có tương quan bằng đúng 0 giữa hai biến quan sát, nên trung bình "
            "nhân của HTMT2 bằng 0 (hoặc không xác định) theo đúng quy tắc của semTools; tỷ số HTMT "
            "trung bình cộng (Henseler và cộng sự 2015) bên dưới là giá trị nên đọc cho các cặp "
            "này. Chi tiết: " + "; ".join(n.text("vi") for n in ht.attrs["notes"]) + "."))
        display(cfa_mod.htmt(data[inst], scales[inst], geometric=False))

# %% [markdown]
# ## 7. Sai lệch do phương pháp chung (common method bias)
#
# Cả biến độc lập và phụ thuộc đều do cùng người trả lời tự đánh giá trong cùng bảng hỏi.
# Hai kiểm tra, cả hai theo Podsakoff và cộng sự (2003): (i) kiểm định một nhân tố của
# Harman — nhân tố đầu tiên chưa xoay không nên giải thích quá một nửa phương sai; (ii) so
# sánh mô hình CFA có và không có một nhân tố tiềm ẩn chung (common latent factor, CLF) tải
# lên mọi biến.

# %%
for inst in INSTS:
    items = [i for c in scales[inst].values() for i in c]
    h = factor.harman_test(data[inst][items])
    harman_text = (f"**{label[inst].capitalize()}**: nhân tố đầu tiên chưa xoay giải thích "
                   f"{fmt(100 * h.pc_share, 1)}% phương sai (phân tích thành phần chính; một "
                   f"nhân tố minres: {fmt(100 * h.fa_share, 1)}%) — "
                   + ("vượt" if h.flagged else "dưới") + f" ngưỡng {pct(h.threshold)}. ")
    if inst not in cfa_res:
        display(Markdown(harman_text + "Không có CFA nên không so sánh với mô hình có CLF."))
        continue
    with warnings.catch_warnings():
        # an improper CLF solution is said in the text below, with what it means
        warnings.simplefilter("ignore", cfa_mod.HeywoodWarning)
        clf = cfa_mod.common_method_factor(data[inst], scales[inst])
    fit_clf = clf.with_clf
    if fit_clf.converged and not fit_clf.heywood and np.isfinite(clf.method_variance):
        clf_text = (f"Thêm CLF làm CFI thay đổi {fmt(clf.delta_cfi)}, Δχ² = "
                    f"{fmt(clf.delta_chi2, 1)}; phương sai do phương pháp chung ≈ "
                    f"{fmt(100 * clf.method_variance, 1)}% phương sai của các biến.")
    elif any(h.kind == "factor_variance" and clf.name in h.names for h in fit_clf.heywood):
        clf_text = ("Mô hình có CLF không cho nghiệm hợp lệ: phương sai ước lượng của CLF không "
                    "dương (nghiệm không chính quy).  Một nghiệm không chính quy **không** cho "
                    "phép kết luận \"không có sai lệch do phương pháp chung\": kiểm định này "
                    "**không kết luận được**; cần một biến đánh dấu (marker variable) hoặc một "
                    "nhân tố phương pháp đo trực tiếp.")
    else:
        clf_text = ("Mô hình có CLF không cho nghiệm hợp lệ ("
                    + "; ".join([h.text("vi") for h in fit_clf.heywood] or ["không hội tụ"])
                    + "); không kết luận được từ kiểm định này.")
    display(Markdown(harman_text + clf_text))
    print(clf.summary(lang="vi"))

# %% [markdown]
# ## 8. Tính bất biến đo lường giữa cán bộ và công chức
#
# Để so sánh điểm thang đo giữa cán bộ (bầu cử) và công chức (tuyển dụng) ở các notebook
# sau, mô hình đo lường phải bất biến: cấu hình (configural), hệ số tải (metric) và hệ số
# chặn (scalar).  Mỗi bước được chấp nhận khi mức giảm CFI và mức tăng RMSEA đủ nhỏ
# (Chen 2007; Cheung & Rensvold 2002).  Trước đó, mô hình cấu hình (mốc so sánh) phải hội
# tụ, không có trường hợp Heywood và đạt các ngưỡng phù hợp của CFA; nếu không, không mức bất
# biến nào được xác lập, dù các bước sau có ΔCFI nhỏ.

# %%
_conf_cut = cfa_mod.compare.CONFIGURAL_CUTOFFS
display(Markdown(
    f"Ngưỡng: ΔCFI ≥ {fmt(cfa_mod.compare.DELTA_CFI_MIN)}, "
    f"ΔRMSEA ≤ {fmt(cfa_mod.compare.DELTA_RMSEA_MAX)}; mô hình cấu hình: "
    + ", ".join(f"{k.upper()} {op.replace('>=', '≥').replace('<=', '≤')} {fmt(c, 2)}"
                for k, (op, c) in _conf_cut.items()) + "."))


kind = legal.official_kind(officials)
kind_label = (ingest.codebook_frames()[1].query("value_set == 'kind'")
              .set_index("code")["label_vi"].to_dict())
if kind is None or kind.nunique() < 2:
    display(Markdown("Bảng hỏi không có biến phân biệt cán bộ / công chức; bỏ qua phần này."))
else:
    inv_data = officials.assign(kind=kind).dropna(subset=["kind"])
    inv = cfa_mod.measurement_invariance(inv_data, scales["officials"], "kind")
if kind is not None and kind.nunique() >= 2 and inv.skipped:
    sz = inv.group_sizes
    display(Markdown(
        "**Bỏ qua kiểm định bất biến:** "
        + ", ".join(f"{kind_label.get(g, g)} có {c} phiếu trả lời đủ mọi biến"
                    for g, c in zip(sz["group"], sz["n_complete"], strict=True))
        + f", trong khi mô hình có {int(sz['n_needed'].iloc[0]) - 1} biến quan sát: CFA đa nhóm "
        f"theo ML cần ít nhất **{int(sz['n_needed'].iloc[0])} phiếu đủ ở mỗi nhóm** (nhiều hơn "
        "số biến, nếu không ma trận hiệp phương sai của nhóm suy biến), và mỗi nhóm có "
        f"{int(sz['free_parameters'].iloc[0])} tham số tự do nên thực tế cần nhiều hơn thế. "
        "Có thể kiểm định từng thang đo riêng, hoặc cần mẫu lớn hơn."))
elif kind is not None and kind.nunique() >= 2:
    def inv_cutoffs(lang: str) -> str:
        """The invariance criteria of hlstudy.cfa.compare, in the note's language."""
        def num(x, d):
            return export.number(x, d, lang=lang).replace("-", "−")
        sign = {">=": "≥", "<=": "≤"}
        base = ", ".join(f"{k.upper()} {sign[op]} {num(cut, 2)}"
                         for k, (op, cut) in cfa_mod.compare.CONFIGURAL_CUTOFFS.items())
        steps = (f"ΔCFI ≥ {num(cfa_mod.compare.DELTA_CFI_MIN, 3)} "
                 f"{'và' if lang == 'vi' else 'and'} "
                 f"ΔRMSEA ≤ {num(cfa_mod.compare.DELTA_RMSEA_MAX, 3)}")
        return (f"{base}; các bước sau: {steps}" if lang == "vi" else
                f"{base}; the later steps: {steps}")

    STEP_VI = {"configural": export.tr("Cấu hình", "Configural"),
               "metric": export.tr("Hệ số tải", "Metric"),
               "scalar": export.tr("Hệ số chặn", "Scalar"), "strict": export.tr("Chặt", "Strict")}
    inv_out = inv.table.reset_index()[["model", "chi2", "df", "cfi", "rmsea", "srmr",
                                       "delta_chi2", "delta_df", "p_delta", "delta_cfi",
                                       "delta_rmsea", "step_ok", "accepted"]]
    inv_out = inv_out.assign(
        model=inv_out["model"].map(STEP_VI),
        step_ok=inv_out["step_ok"].map({True: export.tr("đạt", "yes"),
                                        False: export.tr("không đạt", "no")}),
        accepted=inv_out["accepted"].map({True: export.tr("chấp nhận", "accepted"),
                                          False: export.tr("không chấp nhận", "not accepted")}))
    export.save_table(inv_out.rename(columns={
                          "model": export.tr("Mức", "Level"), "chi2": "χ²", "df": "df",
                          "cfi": "CFI", "rmsea": "RMSEA", "srmr": "SRMR", "delta_chi2": "Δχ²",
                          "delta_df": "Δdf", "p_delta": "p (Δχ²)", "delta_cfi": "ΔCFI",
                          "delta_rmsea": "ΔRMSEA",
                          "step_ok": export.tr("Tiêu chí của bước", "Step criterion"),
                          "accepted": export.tr("Kết luận", "Verdict")}),
                      "03_invariance_kind",
                      title=export.tr("Kiểm định tính bất biến đo lường giữa cán bộ và công chức",
                                      "Measurement invariance, cadres vs civil servants"),
                      note=export.tr(
                          "CFA đa nhóm (lavaan group.equal). Mức cấu hình được chấp nhận khi hội "
                          f"tụ, không có Heywood và {inv_cutoffs('vi')}. Một mức không bao giờ "
                          "được chấp nhận khi mức dưới nó không đạt.",
                          "Multi-group CFA (lavaan group.equal). The configural level is "
                          f"accepted when it converges without Heywood cases and "
                          f"{inv_cutoffs('en')}. A level is never accepted when the level below "
                          "it fails."),
                      simulated=SIM, decimals=3)
    level = inv.highest_level
    LEVEL_VI = {"configural": "cấu hình (configural)", "metric": "hệ số tải (metric)",
                "scalar": "hệ số chặn (scalar)", "strict": "chặt (strict)"}
    conf = inv.fits["configural"]
    items_all = [i for c in scales["officials"].values() for i in c]
    used = inv_data.dropna(subset=items_all)["kind"].value_counts().sort_index()
    counts = inv_data["kind"].value_counts().sort_index()
    base = inv.table.loc["configural"]
    conf_why = "; ".join(
        [f"{k.upper()} = {fmt(base[k])} {'<' if op == '>=' else '>'} {fmt(cut, 2)}"
         for k, (op, cut) in cfa_mod.compare.CONFIGURAL_CUTOFFS.items()
         if not (base[k] >= cut if op == ">=" else base[k] <= cut)]
        + (["không hội tụ"] if not conf.converged else [])
        + [f"Heywood: {h}" for h in conf.heywood])
    steps_text = "; ".join(
        f"{LEVEL_VI.get(name, name)}: ΔCFI = {fmt(row['delta_cfi'])}, ΔRMSEA = {fmt(row['delta_rmsea'])}"
        for name, row in inv.table.iloc[1:].iterrows())
    display(Markdown(
        "Số người theo nhóm (đủ mọi biến / tổng): "
        + ", ".join(f"{kind_label.get(k, k)}: {used.get(k, 0)}/{v}" for k, v in counts.items())
        + f". Mô hình cấu hình: CFI = {fmt(base['cfi'])}, RMSEA = {fmt(base['rmsea'])}, "
        f"SRMR = {fmt(base['srmr'])}"
        + ("" if conf.converged else ", **không hội tụ**")
        + (f", **Heywood**: {'; '.join(conf.heywood)}" if conf.heywood else "") + " — "
        + ("đạt các ngưỡng, dùng làm mốc. " if base["accepted"]
           else f"**không đạt** ({conf_why}). ")
        + f"Các bước tiếp theo: {steps_text}. "
        + (f"Mức bất biến cao nhất đạt được: **{LEVEL_VI.get(level, level)}**"
           + (" — có thể so sánh trung bình thang đo giữa hai nhóm." if level == "scalar"
              else " — so sánh trung bình giữa hai nhóm cần thận trọng.")
           if level else "**Không xác lập được mức bất biến nào**, vì mô hình cấu hình không "
           f"là mốc hợp lệ (mỗi nhóm chỉ có {used.min()}–{used.max()} phiếu đủ cho "
           f"{len(items_all)} biến và {conf.fit['npar'] / len(used):.0f} tham số tự do mỗi "
           "nhóm); ΔCFI nhỏ ở các bước sau không đủ để kết luận. So sánh điểm thang đo giữa "
           "cán bộ và công chức ở các notebook sau chỉ mang tính mô tả và phải nêu rõ hạn chế "
           "này.")))
    display(inv.table)

# %%
# Which n each statistic uses (issue 13, kind 4)
n_lines = []
for inst in INSTS:
    n_lines.append(
        f"- **{label[inst].capitalize()}**: alpha và omega — mọi phiếu ({len(data[inst])}), "
        "hiệp phương sai tính theo từng cặp biến; phân phối từng biến — các phiếu trả lời biến "
        f"đó; Mardia, CFA, CR/AVE, Fornell–Larcker, CLF — các phiếu đủ mọi biến "
        f"({N_COMPLETE[inst]}, loại theo danh sách như lavaan); EFA và phân tích song song — "
        "ma trận tương quan từng cặp trên mọi phiếu; HTMT — các phiếu đủ mọi biến (như semTools).")
display(Markdown("**Cỡ mẫu của từng thống kê:**\n\n" + "\n".join(n_lines)))

# %% [markdown]
# ## Tóm tắt
#
# Các bảng `figures/03_*` (CSV/LaTeX/Word) và biểu đồ scree là đầu vào của phần II luận văn.
# Quyết định loại biến ở mục 2 chỉ là đề xuất có lý do; điểm thang đo được tính từ các biến
# mà codebook gán cho khái niệm, nên một biến chỉ bị loại khi quyết định đó được ghi vào
# codebook.
