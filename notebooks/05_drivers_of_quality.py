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
# # 05 — Drivers of quality / Các yếu tố ảnh hưởng đến chất lượng cán bộ, công chức
#
# **English summary.** Part III of the thesis argues that training, pay, the work
# environment, facilities, leadership, supervision, recognition and (negatively) reluctance
# to change drive the quality of commune officials, partly through work motivation.  This
# notebook estimates those paths in three ways and says where they agree: (1) the full
# structural equation model of the research model (notebook 01) with the constructs latent,
# full-information maximum likelihood (FIML) for missing answers and robust (MLR) standard
# errors and fit statistics, as `lavaan::sem(..., missing = "ml", estimator = "MLR")`; (2)
# regressions of each quality dimension on standardized scale scores with CR2
# cluster-robust standard errors and Satterthwaite degrees of freedom (officials are nested
# in 23 communes) and the wild cluster restricted bootstrap, plus a random-intercept model;
# (3) the indirect effects of pay, environment and recognition through motivation with
# bootstrap intervals.  It then links officials' quality to citizens' assessment across the
# 23 communes (an honest n = 23), asks how strong an unmeasured confounder would have to be
# to explain each association away (robustness values, Cinelli & Hazlett 2020), and gives
# the minimum detectable effect of each regression.  All estimators are in `hlstudy.sem`
# and `hlstudy.models`, checked against lavaan, clubSandwich, sandwich, car and lmerTest in
# the test suite.  Cross-sectional self-reports show associations, not causes: the prose
# says "gắn với", "liên hệ" (is associated with), never "gây ra" or "tác động" (affects),
# except in the SEM term "tác động gián tiếp" (indirect effect, a product of two paths).
# Where an estimate points against the thesis' direction (a commune-level correlation or a
# hypothesized path of the other sign), the notebook says so, and how sure that is.  **The survey data are simulated**:
# the numbers show what the method finds, not facts about real officials.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import warnings

import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from hlstudy import cfa as cfa_mod
from hlstudy import (
    codebook,
    communes,
    drivers,
    export,
    framework,
    load_study,
    models,
    pathplot,
    reliability,
)
from hlstudy import sem as sem_mod
from hlstudy.display import show_numbers_as_read
from hlstudy.errors import ModelError, warning_text
from hlstudy.evidence import commune_reversals
from hlstudy.evidence.rules import opposite
from hlstudy.scales import scale_items

show_numbers_as_read()   # data frames shown with 3 decimals, counts without (hlstudy.display)

# Parameters
SEED = 2026
N_BOOT = 1000        # bootstrap draws for the indirect effects (path model on scale scores)
WILD_REPS = 9999     # wild cluster bootstrap draws (Rademacher; Webb when ≤ 12 clusters)
ALPHA = 0.05
SE_TOLERANCE = 0.10  # naive/CR2 standard errors within ±10% of each other read "about equal"
CLUSTER = "commune_code"
BENCHMARK = "EDU"    # observed covariate on which the confounder's strength is benchmarked
POWER = 0.80
# Fit cut-offs, as hlstudy.cfa holds them: Hu & Bentler (1999) for CFI/TLI, RMSEA and SRMR;
# CFI/TLI ≥ .90 is the older "acceptable" convention (Bentler & Bonett 1980).
CFI_GOOD, RMSEA_MAX, SRMR_MAX = (cfa_mod.HU_BENTLER[k][1] for k in ("cfi", "rmsea", "srmr"))
CFI_OK = cfa_mod.CUTOFFS["cfi"][1]

export.use_style()
study = load_study()
SIM = study.simulated
roles = drivers.constructs_by_role()
QUALITY, FACTORS = roles["quality"], roles["factor"]
EN = export.language() == "en"
_constructs = codebook.construct_labels()
labels_vi = dict(zip(_constructs["construct"], _constructs["label_vi"], strict=True))
labels_en = dict(zip(_constructs["construct"], _constructs["label_en"], strict=True))
COVARIATE_LABELS = {"EDU": ("Trình độ chuyên môn (bậc)", "Professional education (rank)"),
                    "TENURE": ("Thâm niên ở vị trí (năm)", "Years in post")}
labels_vi.update({k: vi for k, (vi, _en) in COVARIATE_LABELS.items()})
labels_en.update({k: en for k, (_vi, en) in COVARIATE_LABELS.items()})
#: Labels of variables in exported tables and figures (the export language).
LABELS = labels_en if EN else labels_vi
# Column headings and cell labels of the exported tables: (Vietnamese, English)
_HEAD = {
    "outcome": ("Biến phụ thuộc", "Dependent variable"),
    "predictors": ("Các biến giải thích", "Explanatory variables"),
    "n_predictors": ("Số biến", "Number of variables"),
    "term": ("Biến giải thích", "Explanatory variable"),
    "index": ("Chỉ số", "Measure"), "value": ("Giá trị", "Value"),
    "se_robust": ("SE (robust)", "SE (robust)"),
    "beta_lo": ("β: KTC 95% dưới", "β: 95% CI lower"),
    "beta_hi": ("β: KTC 95% trên", "β: 95% CI upper"),
    "dimension": ("Thành phần chất lượng", "Quality dimension"),
    "cr2_lo": ("CR2: KTC 95% dưới", "CR2: 95% CI lower"),
    "cr2_hi": ("CR2: KTC 95% trên", "CR2: 95% CI upper"),
    "df": ("Bậc tự do (Satterthwaite)", "df (Satterthwaite)"),
    "p_cr2": ("p (CR2)", "p (CR2)"), "p_wild": ("p (bootstrap hoang dã)", "p (wild bootstrap)"),
    "wild_lo": ("Bootstrap hoang dã: KTC 95% dưới", "Wild: 95% CI lower"),
    "wild_hi": ("Bootstrap hoang dã: KTC 95% trên", "Wild: 95% CI upper"),
    "indirect": ("Hiệu ứng gián tiếp", "Indirect effect"),
    "ab_scores": ("a·b chuẩn hóa (điểm thang đo)", "Standardized a·b (scale scores)"),
    "boot_lo": ("KTC bootstrap dưới", "Bootstrap CI lower"),
    "boot_hi": ("KTC bootstrap trên", "Bootstrap CI upper"),
    "ab_latent": ("a·b chuẩn hóa (SEM tiềm ẩn)", "Standardized a·b (latent SEM)"),
    "p_delta": ("p (SEM, delta)", "p (SEM, delta)"),
    "citizen": ("Đánh giá của người dân", "Citizens' assessment"),
    "n_communes": ("Số xã", "Communes"), "rho": ("ρ Spearman", "Spearman ρ"),
    "ci_lo": ("KTC 95% dưới", "95% CI lower"), "ci_hi": ("KTC 95% trên", "95% CI upper"),
    "ci90_lo": ("KTC 90% dưới", "90% CI lower"), "ci90_hi": ("KTC 90% trên", "90% CI upper"),
    "part": ("Thành phần", "Dimension"),
    "partial_r2": ("R² riêng phần (%)", "Partial R² (%)"), "rv": ("RV (%)", "RV (%)"),
    "rv_a": ("RV α (%)", "RV α (%)"),
    "beta_edu": ("β nếu nhiễu mạnh như EDU", "β if confounding as strong as EDU"),
    "mde": ("MDE (β, theo hiệu ứng thiết kế)", "MDE (β, design effect)"), "deff": ("Hiệu ứng thiết kế", "Design effect"),
    "claim": ("Luận điểm", "Claim"), "path": ("Đường dẫn", "Path"),
    "sign": ("Dấu kỳ vọng", "Expected sign"), "beta_sem": ("β (SEM)", "β (SEM)"),
    "reading": ("Đọc", "Reading"),
}
H = {k: export.tr(vi, en) for k, (vi, en) in _HEAD.items()}
#: How a hypothesised path reads against the SEM (codes → labels)
_READING = {"consistent": ("phù hợp", "consistent"),
            # a 95% CI containing 0 shows neither an effect nor its absence: not the ledger's
            # "not supported" (kept for a negligible effect, TOST; notebook 06)
            "unsupported": ("KTC chứa 0: chưa đủ bằng chứng", "CI includes 0: not shown"),
            "contradicts": ("mâu thuẫn với giả thuyết", "contradicts the hypothesis")}
READING = {k: export.tr(vi, en) for k, (vi, en) in _READING.items()}


def fmt(x, d=3):
    return export.number(x, d, lang="vi")


def fmt_p(p):
    return export.p_text(p, 3, lang="vi")


def name(code):
    """A variable's label in the export language, with its code (once: a label may hold it)."""
    label = LABELS.get(code, code)
    return label if label == code or label.endswith(f"({code})") else f"{label} ({code})"


data = drivers.driver_data(study)
struct = drivers.structure()
display(Markdown(
    f"Dữ liệu: **{len(data)}** phiếu cán bộ, công chức ở **{data[CLUSTER].nunique()}** xã"
    + (" — *dữ liệu mô phỏng*." if SIM else ".")))

# %% [markdown]
# ## 1. Mô hình nghiên cứu được ước lượng
#
# Mô hình cấu trúc lấy từ các tệp của bộ công cụ (`constructs.csv`, `hypotheses.csv`):
# động lực làm việc (biến trung gian) được giải thích bởi mọi yếu tố; ý định gắn bó bởi các
# yếu tố mà giả thuyết nêu và động lực; mỗi thành phần chất lượng bởi mọi yếu tố, động lực,
# trình độ chuyên môn và thâm niên.  Mọi đường từ yếu tố đến chất lượng đều được ước lượng
# (không chỉ các đường có giả thuyết), để một đường bị bỏ sót không làm lệch các đường khác.
# Phần dư của bốn thành phần chất lượng được phép tương quan (một thành phần chung mà các
# yếu tố không giải thích).

# %%
structure_table = pd.DataFrame([
    {H["outcome"]: name(o), H["predictors"]: ", ".join(p), H["n_predictors"]: len(p)}
    for o, p in struct.items()])
display(structure_table)
items = scale_items("officials")
defined = drivers.indirect_effects(struct)
syntax = drivers.lavaan_syntax(struct, items=items, defined=defined,
                               correlated_residuals=drivers.quality_residual_pairs())
n_lines = len(syntax.splitlines())
print("\n".join(syntax.splitlines()[:len(items) + len(struct)]))
print(f"... ({n_lines} dòng cú pháp lavaan, gồm {len(defined)} hiệu ứng gián tiếp/tổng)")

# %% [markdown]
# ## 2. Mô hình cấu trúc tuyến tính (SEM) với FIML và MLR
#
# Các thang đo là biến tiềm ẩn đo bởi các câu hỏi.  Câu trả lời thiếu được xử lý bằng
# FIML (ước lượng hợp lý cực đại thông tin đầy đủ: mỗi phiếu đóng góp phần câu trả lời nó
# có), thay vì loại cả phiếu như mặc định của lavaan; sai số chuẩn và χ² được hiệu chỉnh
# cho phân phối không chuẩn của câu Likert (MLR, Yuan–Bentler), vì kiểm định Mardia ở
# notebook 03 bác bỏ phân phối chuẩn đa biến.

# %%
observed = [c for its in items.values() for c in its]
sem_data = study.officials[observed].copy()
for c in drivers.COVARIATES:
    sem_data[c] = data[c].to_numpy()
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        fit, sem_error = sem_mod.sem(sem_data, syntax, missing="ml", estimator="MLR"), None
    except ModelError as exc:   # e.g. a singular sample covariance matrix (own data)
        fit, sem_error = None, str(exc)
# the warnings in Vietnamese words (warning_text), as said in the prose below
sem_warnings = sorted({warning_text(w, "vi") for w in caught})
n_complete = int(sem_data.notna().all(axis=1).sum())
#: The latent SEM is read only when it could be estimated: when its information matrix cannot
#: be inverted (the model is not identified on these data) its estimates are one point of a
#: flat likelihood, without standard errors or robust fit measures.
SEM_OK = fit is not None and fit.identified
if not SEM_OK:
    display(Markdown(
        "> **Không ước lượng được mô hình SEM trên dữ liệu này** — "
        + (f"ước lượng dừng lại: {sem_error}.  " if fit is None else
           f"mô hình không được xác định trên {fit.nobs} phiếu (FIML; {n_complete} phiếu đủ "
           f"mọi câu) với {int(fit.fit_measures()['npar'])} tham số tự do: "
           + ("ma trận thông tin không nghịch đảo được, nên không có sai số chuẩn, χ² hiệu "
              "chỉnh và các chỉ số phù hợp MLR" if np.isnan(fit.vcov).all() else
              "sai số chuẩn lớn bất thường")
           + ", và các hệ số không xác định duy nhất.  ")
        + (f"Cảnh báo khi ước lượng: {'; '.join(sem_warnings)}.  " if sem_warnings else "")
        + "Các phần dựa vào SEM (bảng chỉ số phù hợp và hệ số đường dẫn ở mục 2, cột SEM của "
        "hiệu ứng gián tiếp ở mục 4, sơ đồ đường dẫn ở mục 7, đối chiếu giả thuyết ở mục 8) "
        "được bỏ qua; các hồi quy trên điểm thang đo (mục 3–6), mà bảng luận điểm ở notebook 06 "
        "dùng, vẫn được thực hiện.  Cần nhiều phiếu hơn, hoặc một mô hình ít tham số hơn."))
else:
    fm = fit.fit_measures()
    n_free = int(fm["npar"])
    # With FIML, lavaan 0.6-14's "robust" CFI/TLI/RMSEA are those of Zhang & Savalei (2023),
    # which hlstudy.sem does not compute: the scaled versions are reported then, and named so.
    sfx = ".robust" if np.isfinite(fm.get("cfi.robust", np.nan)) else ".scaled"
    sfx_vi = "robust" if sfx == ".robust" else "hiệu chỉnh"
    sfx_lab = "robust" if sfx == ".robust" else export.tr("hiệu chỉnh", "scaled")
    fit_rows = [("chisq.scaled", export.tr("χ² (hiệu chỉnh Yuan–Bentler)", "χ² (Yuan–Bentler scaled)")),
                ("df", export.tr("Bậc tự do", "Degrees of freedom")),
                ("pvalue.scaled", "p"), ("cfi" + sfx, f"CFI ({sfx_lab})"), ("tli" + sfx, f"TLI ({sfx_lab})"),
                ("rmsea" + sfx, f"RMSEA ({sfx_lab})"), ("srmr", "SRMR")]
    # RMSEA with its 90% interval (lavaan fitMeasures rmsea.ci.lower/upper of the same kind)
    fit_table = pd.DataFrame({H["index"]: [lab for _, lab in fit_rows],
                              H["value"]: [fm.get(k, np.nan) for k, _ in fit_rows],
                              H["ci90_lo"]: [fm.get(k.replace("rmsea", "rmsea.ci.lower"), np.nan)
                                             if k.startswith("rmsea") else np.nan for k, _ in fit_rows],
                              H["ci90_hi"]: [fm.get(k.replace("rmsea", "rmsea.ci.upper"), np.nan)
                                             if k.startswith("rmsea") else np.nan for k, _ in fit_rows]})
    export.save_table(
        fit_table, "05_sem_fit", simulated=SIM, decimals=3,
        title=export.tr("Chỉ số phù hợp của mô hình SEM (MLR)", "SEM fit measures (MLR)"),
        note=export.tr(f"FIML: n = {fit.nobs} (đủ mọi câu: {n_complete}). Ngưỡng: "
                       f"Hu & Bentler (1999) CFI/TLI ≥ {fmt(CFI_GOOD, 2)}, RMSEA ≤ "
                       f"{fmt(RMSEA_MAX, 2)}, SRMR ≤ {fmt(SRMR_MAX, 2)}; CFI/TLI ≥ "
                       f"{fmt(CFI_OK, 2)} là quy ước 'chấp nhận được' cũ hơn (Bentler & Bonett 1980).",
                       f"FIML: n = {fit.nobs} (complete: {n_complete}). Cut-offs: Hu & Bentler "
                       f"(1999) CFI/TLI ≥ {CFI_GOOD:.2f}, RMSEA ≤ {RMSEA_MAX:.2f}, SRMR ≤ "
                       f"{SRMR_MAX:.2f}; CFI/TLI ≥ {CFI_OK:.2f} is the older 'acceptable' "
                       "convention (Bentler & Bonett 1980)."))
    display(fit_table)
    cfi, rmsea, srmr = fm["cfi" + sfx], fm["rmsea" + sfx], fm["srmr"]
    verdict = ("đạt ngưỡng chặt của Hu & Bentler (1999)" if cfi >= CFI_GOOD and rmsea <= RMSEA_MAX
               and srmr <= SRMR_MAX else
               "chỉ đạt quy ước 'chấp nhận được' CFI ≥ 0,90, chưa đạt ngưỡng 0,95 của Hu & Bentler"
               if cfi >= CFI_OK and rmsea <= RMSEA_MAX and srmr <= SRMR_MAX else
               "không đạt các ngưỡng thông dụng: các hệ số đường dẫn dưới đây cần được đọc thận trọng")
    display(Markdown(
        f"**Số phiếu mỗi mô hình dùng.** FIML dùng **{fit.nobs}** phiếu "
        + (f"({fit.n_dropped} phiếu thiếu biến giải thích ngoại sinh "
           f"{', '.join(fit.model.ov_x)} bị loại: FIML của lavaan với biến ngoại sinh cố định "
           "(fixed.x) không giữ các phiếu này)" if list(fit.model.ov_x) else
           f"({fit.n_dropped} phiếu không trả lời biến nào của mô hình bị loại)")
        + "; ước lượng loại theo "
        f"danh sách (mặc định của lavaan) chỉ giữ được **{n_complete}** phiếu "
        f"({len(sem_data) - n_complete} phiếu, "
        f"{export.number(100 * (len(sem_data) - n_complete) / len(sem_data), 1, lang='vi')}%, bị loại "
        f"vì thiếu ít nhất một câu).  Mô hình có {n_free} tham số tự do: loại theo danh sách chỉ "
        f"còn {fmt(n_complete / n_free, 2)} phiếu cho mỗi tham số, nên FIML là lựa chọn đúng.  "
        + ("" if sfx == ".robust" else "CFI, TLI, RMSEA 'robust' cho dữ liệu thiếu (Zhang & Savalei "
           "2023, lavaan 0.6-14) chưa được hlstudy tính; bảng báo cáo bản 'hiệu chỉnh' (scaled).  ")
        + f"**Độ phù hợp (FIML, MLR):** χ² hiệu chỉnh = {fmt(fm['chisq.scaled'], 1)} với "
        f"{fm['df']:.0f} bậc tự do (p {fmt_p(fm['pvalue.scaled'])}; với n lớn và hàng nghìn bậc tự "
        f"do, kiểm định χ² gần như luôn bác bỏ, nên không dùng một mình), CFI ({sfx_vi}) = "
        f"{fmt(cfi)}, TLI ({sfx_vi}) = {fmt(fm['tli' + sfx])}, RMSEA ({sfx_vi}) = {fmt(rmsea)}, "
        f"SRMR = {fmt(srmr)}: mô hình {verdict}.  Mô hình "
        + ("hội tụ." if fit.converged else "**không hội tụ** — kết quả không dùng được.")
        + (f"  Cảnh báo khi ước lượng: {'; '.join(sem_warnings)}." if sem_warnings else "")))

# %%
if SEM_OK:
    paths_sem = drivers.sem_paths(fit.parameter_estimates())
    r2 = pd.Series(fit.r2)
    sem_table = paths_sem.assign(
        **{H["outcome"]: paths_sem["outcome"].map(name), H["term"]: paths_sem["term"].map(name)}
    )[[H["outcome"], H["term"], "est", "se", "estimate", "ci_low", "ci_high", "p"]].rename(
        columns={"est": "B", "se": H["se_robust"], "estimate": "β", "ci_low": H["beta_lo"],
                 "ci_high": H["beta_hi"], "p": "p"})
    export.save_table(
        sem_table, "05_sem_paths", simulated=SIM, decimals=3,
        title=export.tr("Hệ số đường dẫn của mô hình SEM (FIML, MLR)",
                        "Structural paths of the SEM (FIML, MLR)"),
        note=export.tr("B: hệ số chưa chuẩn hóa; β: hệ số chuẩn hóa (std.all của lavaan); KTC của β "
                       "là KTC của B nhân với β/B.", "B: unstandardized; β: std.all; the interval of β "
                       "is that of B rescaled by β/B."))
    r2_table = pd.DataFrame({H["outcome"]: [name(k) for k in struct], "R²": [r2.get(k) for k in struct]})
    display(r2_table)
    display(sem_table)

# %% [markdown]
# ## 3. Hồi quy trên điểm thang đo với sai số chuẩn theo cụm xã
#
# Cùng câu hỏi, bằng hồi quy bình phương nhỏ nhất của từng thành phần chất lượng trên
# điểm thang đo đã chuẩn hóa (hệ số là β chuẩn hóa).  Mỗi hồi quy dùng các phiếu đủ mọi biến
# của nó, và mọi biến được chuẩn hóa trên chính các phiếu ấy (như
# `lm(scale(y) ~ scale(x1) + ...)` của R trên các phiếu đủ dữ liệu): đó cũng là mẫu và cách
# chuẩn hóa của sổ đối chiếu ở notebook 06, nên β, khoảng tin cậy CR2 và n ở đây là đúng các
# số mà sổ đối chiếu dùng cho cùng đường dẫn.  Cán bộ, công chức cùng xã không độc
# lập với nhau, và với chỉ 23 xã, sai số chuẩn vững theo cụm thông thường (CR1) bác bỏ quá
# nhiều.  Vì vậy báo cáo **CR2 với bậc tự do Satterthwaite** (Bell & McCaffrey 2002;
# Pustejovsky & Tipton 2018; như `clubSandwich::coef_test`) và giá trị p, khoảng tin cậy
# của **bootstrap hoang dã theo cụm có ràng buộc** (restricted wild cluster bootstrap;
# Rademacher; thư viện `wildboottest`).

# %%
score_cols = sorted({c for preds in struct.values() for c in preds} | set(struct))
# each regression's sample: the rows complete on its variables, z-scored on those rows (the
# standardized β of lm(scale(y) ~ scale(x)) on the complete cases, the sample the ledger of
# notebook 06 uses too); a commune with a single respondent gives no within-cluster
# information (CR2 refuses it): merged into its 2025 commune for the cluster-robust inference
samples, merged = {}, set()
for q in QUALITY:
    samples[q], merged_q = drivers.regression_sample(data, q, struct[q], cluster=CLUSTER)
    merged.update(merged_q)
if merged:
    labels = communes.code_labels()   # named, not coded, in the prose
    merged_names = ", ".join(sorted((labels.get(c, c) for c in merged), key=export.vi_sort_key))
    display(Markdown(
        f"*{len(merged)} xã chỉ có một phiếu đủ dữ liệu ({merged_names}) được gộp vào "
        "xã mới năm 2025 chứa nó khi tính sai số chuẩn theo cụm.*"))
fits, naive = {}, {}
for q in QUALITY:
    formula = drivers.regression_formula(q, struct)
    fits[q] = models.ols(samples[q], formula, cluster="cluster", vcov="CR2", wild=True,
                         wild_reps=WILD_REPS, seed=SEED, alpha=ALPHA)
    naive[q] = models.ols(samples[q], formula, vcov="naive", wild=False, alpha=ALPHA)
reg = drivers.regression_paths(fits)
reg_naive = drivers.regression_paths(naive, method="naive")
reg_table = reg.assign(**{H["dimension"]: reg["outcome"].map(name),
                          H["term"]: reg["term"].map(name)})[
    [H["dimension"], H["term"], "n", "estimate", "ci_low", "ci_high", "df", "p",
     "p_wild", "ci_low_wild", "ci_high_wild"]].rename(columns={
        "estimate": "β", "ci_low": H["cr2_lo"], "ci_high": H["cr2_hi"],
        "df": H["df"], "p": H["p_cr2"], "p_wild": H["p_wild"],
        "ci_low_wild": H["wild_lo"], "ci_high_wild": H["wild_hi"]})
n_reg = sorted({f.nobs for f in fits.values()})
n_reg_text = str(n_reg[0]) if len(n_reg) == 1 else f"{n_reg[0]}–{n_reg[-1]}"
export.save_table(
    reg_table, "05_regressions", simulated=SIM, decimals=3,
    title=export.tr("Hồi quy các thành phần chất lượng trên điểm thang đo chuẩn hóa",
                    "Regressions of the quality dimensions on standardized scale scores"),
    note=export.tr(f"n = {n_reg_text} cán bộ, công chức trong "
                   f"{fits[QUALITY[0]].n_clusters} xã (cột n: số phiếu đủ mọi biến của từng hồi "
                   "quy); mọi biến chuẩn hóa trên chính các phiếu ấy; CR2 với bậc tự do "
                   f"Satterthwaite; bootstrap hoang dã theo cụm (wild cluster bootstrap) có ràng "
                   f"buộc, {WILD_REPS} lần.",
                   f"n = {n_reg_text} officials in {fits[QUALITY[0]].n_clusters} "
                   "communes (column n: the rows complete on each regression's variables); every "
                   "variable standardized on those rows; CR2 with Satterthwaite df; restricted "
                   f"wild cluster bootstrap, {WILD_REPS} draws."))
display(reg_table)
ratio = (reg_naive.set_index(["outcome", "term"])["se"]
         / reg.set_index(["outcome", "term"])["se"])
agree = ((reg["p"] < ALPHA) == (reg["p_wild"] < ALPHA)).mean()
max_vif = max(float(f.vif["GVIF"].max()) for f in fits.values())
se_read = drivers.se_ratio_reading(ratio, tolerance=SE_TOLERANCE)
display(Markdown(
    f"Sai số chuẩn thông thường (bỏ qua cụm xã) bằng trung vị **{fmt(se_read['median'], 2)}** "
    f"lần sai số chuẩn CR2 (từ {fmt(se_read['min'], 2)} đến {fmt(se_read['max'], 2)}): "
    + {"narrower": "bỏ qua cụm xã làm khoảng tin cậy hẹp quá mức ở phần lớn hệ số",
       "about equal": "xét chung, hai loại sai số chuẩn xấp xỉ bằng nhau",
       "wider": "bỏ qua cụm xã làm khoảng tin cậy rộng hơn ở phần lớn hệ số"}[se_read["reading"]]
    + f" (chênh quá {fmt(100 * SE_TOLERANCE, 0)}%: hẹp hơn ở {se_read['n_narrower']}, rộng hơn "
    f"ở {se_read['n_wider']}, xấp xỉ bằng ở {se_read['n_about_equal']}/{se_read['n']} hệ số"
    + ("; với các hệ số có sai số chuẩn thông thường hẹp hơn, bỏ qua cụm xã sẽ phóng đại mức "
       "ý nghĩa). " if se_read["n_narrower"] else "). ")
    + f"CR2 và bootstrap hoang dã cho cùng kết luận ở mức {fmt(ALPHA, 2)} cho "
    f"{export.number(100 * agree, 0, lang='vi')}% hệ số.  VIF lớn nhất là {fmt(max_vif, 2)} "
    + ("(dưới 5: đa cộng tuyến không đáng lo)." if max_vif < 5 else
       "(từ 5 trở lên: các hệ số liên quan cần đọc thận trọng).")))

# %% [markdown]
# ### Kiểm tra giả định của hồi quy
#
# Phương sai sai số thay đổi (Breusch–Pagan), phân phối của phần dư và các quan sát có ảnh
# hưởng lớn (khoảng cách Cook) cho từng mô hình.  Sai số chuẩn CR2 vẫn đúng khi phương sai
# sai số thay đổi; phần dư không chuẩn ít ảnh hưởng với n vài trăm.

# %%
display(models.diagnostics_table({name(q): f for q, f in fits.items()},
                                 lang=export.language()))
n_infl = {q: len(f.influential) for q, f in fits.items()}
_reject = {check: [name(q) for q, f in fits.items() if f.diagnostics.at[check, "p"] < ALPHA]
           for check in ("breusch_pagan", "jarque_bera")}


def _rejected(check: str, what: str) -> str:
    """How many models the check rejects, named."""
    who = _reject[check]
    return (f"{models.DIAGNOSTIC_LABELS[check][0][0]} bác bỏ {what} ở "
            f"{len(who)}/{len(fits)} mô hình" + (f" ({', '.join(who)})" if who else ""))


display(Markdown(
    ", ".join(f"{name(q)}: {n} quan sát có ảnh hưởng lớn (khoảng cách Cook > 4/N)"
              for q, n in n_infl.items()) + ".  "
    + f"Ở mức {fmt(ALPHA, 2)}, {_rejected('breusch_pagan', 'giả định phương sai sai số không đổi')}; "
    + f"{_rejected('jarque_bera', 'giả định phần dư phân phối chuẩn')}.  "
    + ("Điều này không làm sai các kết luận ở trên: sai số chuẩn CR2 (với bậc tự do "
       "Satterthwaite) và bootstrap hoang dã theo cụm không giả định phương sai sai số không đổi, "
       "cũng không giả định phần dư phân phối chuẩn, và hệ số OLS vẫn không chệch khi hai giả "
       "định này sai; chỉ sai số chuẩn thông thường (đối chiếu ở trên) cần chúng."
       if any(_reject.values()) else
       "Hai giả định này không bị bác bỏ; dù vậy các suy luận ở trên dựa vào CR2 và bootstrap "
       "hoang dã theo cụm, vốn không cần chúng.")))

# %% [markdown]
# ### Mô hình hệ số chặn ngẫu nhiên theo xã (kiểm tra độ vững)
#
# Thay cho sai số chuẩn theo cụm, mô hình đa cấp cho mỗi xã một hệ số chặn riêng
# (`lmerTest::lmer(y ~ x + (1 | xã))`, bậc tự do Satterthwaite).

# %%
mixed_rows = []
for q in QUALITY:
    mres = models.mixed(samples[q], drivers.regression_formula(q, struct), group="cluster",
                        alpha=ALPHA)
    co = mres.coefficients.drop(index="Intercept", errors="ignore")
    for term, r in co.iterrows():
        mixed_rows.append({"outcome": q, "term": term, "method": "mixed", "estimate": r["estimate"],
                           "ci_low": r["ci_low"], "ci_high": r["ci_high"], "p": r["p"],
                           "icc": mres.icc})
mixed_tab = pd.DataFrame(mixed_rows)
both = reg.merge(mixed_tab, on=["outcome", "term"], suffixes=("_cr2", "_mixed"))
same = ((both["p_cr2"] < ALPHA) == (both["p_mixed"] < ALPHA)).mean()
max_diff = (both["estimate_cr2"] - both["estimate_mixed"]).abs().max()
display(Markdown(
    f"Mô hình đa cấp cho hệ số khác hồi quy CR2 nhiều nhất {fmt(max_diff, 3)} (đơn vị độ lệch "
    f"chuẩn) và cùng kết luận về ý nghĩa thống kê ở {export.number(100 * same, 0, lang='vi')}% "
    f"hệ số; tương quan nội lớp của phần dư theo xã từ {fmt(mixed_tab['icc'].min(), 3)} đến "
    f"{fmt(mixed_tab['icc'].max(), 3)}."))

# %% [markdown]
# ## 4. Hiệu ứng gián tiếp qua động lực làm việc
#
# Giả thuyết T5, S3, S4, S5 cho rằng đãi ngộ, môi trường làm việc và khen thưởng gắn với
# chất lượng (và ý định gắn bó) **qua** động lực làm việc.  Trong SEM, phần liên hệ đi qua
# biến trung gian gọi là *tác động gián tiếp* (indirect effect): một thuật ngữ chỉ tích hai
# hệ số đường dẫn (a·b), trên dữ liệu quan sát vẫn là mối liên hệ, không phải bằng chứng nhân
# quả; dưới đây gọi là hiệu ứng gián tiếp.  Hiệu ứng gián tiếp là tích
# hai hệ số (a·b); khoảng tin cậy bootstrap phân vị (như `lavaan` với
# `boot.ci.type = "perc"`) không giả định tích này phân phối chuẩn.  Mỗi mẫu lặp rút lại
# **cả xã** (bootstrap theo cụm), vì cán bộ, công chức cùng xã không độc lập; các hệ số
# được ước lượng lại bằng hồi quy trên điểm thang đo (Preacher & Hayes 2008), chuẩn hóa trên
# các phiếu đủ dữ liệu của mô hình (như các hồi quy ở mục 3 và sổ đối chiếu ở notebook 06),
# nên a·b là tích hai hệ số chuẩn hóa.  SEM tiềm ẩn ở mục 2 cho ước lượng điểm chuẩn hóa
# (std.all) và giá trị p theo phương pháp delta để đối chiếu.

# %%
# the path model's complete rows, z-scored on them: a·b of standardized paths, as the ledger
ind_all = drivers.indirect_bootstrap(drivers.standardized_sample(data, score_cols, cluster=CLUSTER),
                                     struct, bootstrap=N_BOOT, seed=SEED, cluster=CLUSTER)
# (a cluster bootstrap resamples whole communes; a commune of one respondent is a valid draw)
ind = ind_all[ind_all["kind"] == "indirect"]
ind_columns = {
    H["indirect"]: [f"{r.cause} → {r.mediator} → {r.outcome}" for r in ind.itertuples()],
    H["ab_scores"]: ind["est"].to_numpy(),
    H["boot_lo"]: ind["ci.lower"].to_numpy(),
    H["boot_hi"]: ind["ci.upper"].to_numpy()}
if SEM_OK:   # the latent SEM's a·b and delta-method p beside them
    pe_lat = fit.parameter_estimates()
    lat = pe_lat[pe_lat["op"] == ":="].set_index("lhs")
    ind_columns[H["ab_latent"]] = lat.loc[ind["effect"], "std.all"].to_numpy()
    ind_columns[H["p_delta"]] = lat.loc[ind["effect"], "pvalue"].to_numpy()
ind_table = pd.DataFrame(ind_columns)
export.save_table(
    ind_table, "05_indirect_effects", simulated=SIM, decimals=3,
    title=export.tr("Hiệu ứng gián tiếp qua động lực làm việc",
                    "Indirect effects through work motivation"),
    note=export.tr(f"Bootstrap phân vị theo cụm xã, {N_BOOT} mẫu lặp (hồi quy trên điểm thang đo "
                   f"chuẩn hóa trên {ind['n'].iloc[0]} phiếu đủ dữ liệu); SEM tiềm ẩn: "
                   + ("FIML, MLR, hệ số chuẩn hóa (std.all); p của hệ số chưa chuẩn hóa, sai số "
                      "chuẩn delta."
                      if SEM_OK else
                      "không ước lượng được trên dữ liệu này (mục 2)."),
                   f"Commune-cluster percentile bootstrap, {N_BOOT} draws (regressions on scale "
                   f"scores standardized on the {ind['n'].iloc[0]} complete rows); latent SEM: "
                   + ("FIML, MLR, std.all; p of the unstandardized estimate, delta-method SE."
                      if SEM_OK else
                      "could not be estimated on these data (section 2).")))
display(ind_table)
agree_ind = drivers.indirect_agreement(
    ind_table[H["indirect"]], ind_table[H["boot_lo"]], ind_table[H["boot_hi"]],
    ind_table[H["p_delta"]] if SEM_OK else None, alpha=ALPHA)
clear_ind = agree_ind[agree_ind["bootstrap_excludes_0"]]
n_undefined = int(ind["n_undefined"].iloc[0])
if SEM_OK:
    sig_ind = agree_ind[agree_ind["delta_significant"].fillna(False)]
    differ = agree_ind[~agree_ind["agree"].fillna(True)]
    both_text = (
        f"  Theo SEM tiềm ẩn (sai số chuẩn delta), {len(sig_ind)}/{len(agree_ind)} hiệu ứng có "
        f"p < {fmt(ALPHA, 2)}. "
        + ("Hai cách cho cùng kết luận ở mọi hiệu ứng." if differ.empty else
           f"Hai cách **khác kết luận** ở {len(differ)}/{len(agree_ind)} hiệu ứng: "
           + "; ".join(
               f"{r.effect} (bootstrap {'không chứa' if r.bootstrap_excludes_0 else 'chứa'} 0, "
               f"p delta {fmt_p(ind_table.loc[i, H['p_delta']])})"
               for i, r in differ.iterrows())
           + ".  Phương pháp delta giả định tích a·b phân phối chuẩn, điều thường sai với "
             "hiệu ứng gián tiếp, nên khoảng bootstrap đáng tin hơn; nhưng hai mô hình cũng "
             "khác nhau (điểm thang đo và SEM tiềm ẩn), nên các hiệu ứng này chỉ được xem là "
             "có bằng chứng theo một cách, chưa vững theo cả hai."))
else:
    both_text = ""
display(Markdown(
    f"{len(clear_ind)}/{len(ind_table)} hiệu ứng gián tiếp có khoảng tin cậy bootstrap không "
    "chứa 0: " + (", ".join(clear_ind["effect"]) if len(clear_ind) else "không có") + "."
    + both_text
    + f"  Bootstrap dùng {N_BOOT} mẫu lặp"
    + (f" ({n_undefined} mẫu không ước lượng được bị loại và được đếm)." if n_undefined else
       ", mẫu nào cũng ước lượng được.")))

# %% [markdown]
# ## 5. Chất lượng đội ngũ và đánh giá của người dân theo xã
#
# Giả thuyết T1, T7, D5 nói về xã: xã có đội ngũ tốt hơn thì người dân đánh giá cao hơn
# (tương quan dương); một tương quan âm là ngược chiều luận văn, và phần dưới nói rõ.
# Đơn vị phân tích là xã, nên n chỉ là số xã (23): tương quan Spearman với khoảng tin cậy
# rộng, đọc như mô tả, không phải bằng chứng nhân quả.

# %%
if study.has("citizens"):
    link = drivers.commune_link(study)
    citizen_scales = [c for c in link.columns if c in scale_items("citizens")]
    corr = drivers.commune_correlations(link, "QUAL", citizen_scales)
    corr_table = corr.assign(y=corr["y"].map(name))[["y", "n", "rho", "ci_low", "ci_high", "p"]].rename(
        columns={"y": H["citizen"], "n": H["n_communes"], "rho": H["rho"],
                 "ci_low": H["ci_lo"], "ci_high": H["ci_hi"]})
    export.save_table(
        corr_table, "05_commune_link", simulated=SIM, decimals=3,
        title=export.tr("Tương quan giữa chất lượng đội ngũ và đánh giá của người dân theo xã",
                        "Commune-level correlation of officials' quality and citizens' assessment"),
        note=export.tr("Chất lượng: trung bình bốn thành phần tự đánh giá theo xã. KTC: Fisher z, "
                       "sai số chuẩn Bonett & Wright (2000); p: kiểm định t của ρ Spearman "
                       "(scipy.stats.spearmanr). "
                       "Hai phương pháp khác nhau nên gần ngưỡng có thể khác kết luận: KTC chứa 0 "
                       "trong khi p < 0,05.", "Quality: commune mean of the four "
                       "self-rated dimensions. CI: Fisher z with the Bonett–Wright SE; p: t test of "
                       "Spearman's ρ (scipy.stats.spearmanr). The two methods differ and may "
                       "disagree near the threshold: a CI containing 0 beside p < .05."))
    display(corr_table)
    fig = pathplot.commune_scatter(
        link, "QUAL", "SIPAS", xlabel=export.tr("Chất lượng đội ngũ (tự đánh giá, trung bình xã)",
                                                "Officials' quality (self-rated, commune mean)"),
        ylabel=export.tr("Đánh giá của người dân (SIPAS, trung bình xã)",
                         "Citizens' assessment (SIPAS, commune mean)"),
        fit_label=export.tr("Đường hồi quy", "Least-squares line"),
        title=export.tr("Chất lượng đội ngũ và đánh giá của người dân theo xã",
                        "Officials' quality and citizens' assessment by commune"),
        decimal="," if export.language() == "vi" else ".")
    export.save_figure(fig, "05_commune_scatter", simulated=SIM)
    _disagree = corr[(corr["p"] < ALPHA) & (corr["ci_low"] <= 0) & (corr["ci_high"] >= 0)]
    # the correlations against the sign of the commune-level claim naming them (each claim's
    # own sign, hypotheses.csv), with how sure each reversal is (one rule, the ledger's)
    _against = commune_reversals(corr, alpha=ALPHA).drop_duplicates("y")
    _hyp = codebook.hypotheses().query("test_type == 'commune_association'")
    _named = set(_hyp["constructs"].str.split(";").explode())
    _unclaimed = [y for y in corr["y"] if y not in _named]   # no thesis direction to compare
    _disagree = _disagree[~_disagree["y"].isin(_against["y"])]   # a reversal says it itself
    _HOW_SURE = {
        "established": "cả p lẫn khoảng tin cậy đều cho thấy tương quan ngược chiều có ý nghĩa",
        "p_only": (f"p < {fmt(ALPHA, 2)} nhưng khoảng tin cậy chứa 0, nên chiều ngược chưa được "
                   "khẳng định; dù vậy, dữ liệu không ủng hộ chiều mà luận văn nêu"),
        "not_significant": ("không có ý nghĩa thống kê, nhưng ước lượng cũng không theo chiều "
                            "luận văn nêu")}

    def _how_sure(r) -> str:
        """How sure a reversal is (evidence.rules.reversal_certainty), in words."""
        return _HOW_SURE[r.certainty]

    display(Markdown(
        f"Giữa {int(corr['n'].max())} xã, chất lượng đội ngũ tương quan với đánh giá của người "
        "dân: " + "; ".join(
            f"{name(r.y)}: ρ = {fmt(r.rho, 2)} (KTC 95% {fmt(r.ci_low, 2)} đến {fmt(r.ci_high, 2)}, "
            f"p {fmt_p(r.p)})" for r in corr.itertuples()) + "."
        + ("  **Ngược chiều luận văn** (luận văn cho rằng xã có đội ngũ tốt hơn thì người dân "
           "đánh giá cao hơn): " + "; ".join(
               f"{name(r.y)}, ρ = {fmt(r.rho, 2)} (p {fmt_p(r.p)}): {_how_sure(r)}"
               for r in _against.itertuples()) + "." if len(_against) else
           f"  Không tương quan nào ngược chiều nhận định cấp xã của luận văn "
           f"({', '.join(_hyp['claim_id'])}).")
        + (f"  {', '.join(name(y) for y in _unclaimed)}: không nhận định cấp xã nào của luận văn "
           "nêu chiều của tương quan này, nên không đối chiếu." if _unclaimed else "")
        + (f"  Với {', '.join(name(y) for y in _disagree['y'])}, khoảng tin cậy chứa 0 trong khi p < "
           f"{fmt(ALPHA, 2)}: hai phương pháp (Fisher z và kiểm định t) khác kết luận ở sát "
           "ngưỡng, nên tương quan này chưa được xem là có bằng chứng." if len(_disagree) else "")
        + "  Tương quan giữa các xã là mối liên hệ, không chứng minh quan hệ nhân quả, và với "
        f"{int(corr['n'].max())} xã mỗi hệ số có sai số lớn."))
else:
    display(Markdown("*Bộ dữ liệu không có phiếu khảo sát người dân: phần này không thực hiện "
                     "được (các luận điểm T1, T7, D5, S8 là 'không kiểm định được').*"))

# %% [markdown]
# ## 6. Độ vững trước biến gây nhiễu chưa đo và hiệu ứng nhỏ nhất phát hiện được
#
# Một khảo sát cắt ngang tự đánh giá không chứng minh được rằng đào tạo *gây ra* năng lực.
# Với mỗi hệ số, **giá trị độ vững** (robustness value, RV; Cinelli & Hazlett 2020) cho
# biết một biến gây nhiễu chưa đo phải giải thích bao nhiêu phần phương sai (phần dư) của
# cả biến giải thích lẫn biến phụ thuộc thì mới xóa được hệ số (RV) hoặc làm nó mất ý
# nghĩa thống kê (RV ở mức α).  Đối chiếu: một biến gây nhiễu mạnh như trình độ chuyên môn
# (`EDU`).  **Hiệu ứng nhỏ nhất phát hiện được** (MDE, lực kiểm định 80%) với n và hiệu ứng thiết
# kế của xã cho biết "không thấy mối liên hệ" có nghĩa hay chỉ là mẫu quá nhỏ.

# %%
sens_rows, sens_keys = [], []
for q in QUALITY:
    deff = reliability.design_effect(data[q], data[CLUSTER]).deff
    k = len(struct[q])
    r2_other = fits[q].r2
    mde = models.min_detectable_effect(fits[q].nobs, design_effect=deff, k_covariates=k - 1,
                                       alpha=ALPHA, power=POWER)
    for term in FACTORS + roles.get("mediator", []):
        s = models.sensitivity(fits[q], term, benchmark=BENCHMARK, alpha=ALPHA)
        base = s[s["bound"] == "none"].iloc[0]
        bound = s[s["bound"] != "none"].iloc[0] if (s["bound"] != "none").any() else None
        sens_keys.append((q, term))
        sens_rows.append({
            H["part"]: name(q), H["term"]: name(term), "β": base["estimate"],
            H["partial_r2"]: 100 * base["r2yd_x"], H["rv"]: 100 * base["rv_q"],
            H["rv_a"]: 100 * base["rv_qa"],
            H["beta_edu"]: bound["adj_estimate"] if bound is not None else np.nan,
            H["mde"]: mde, H["deff"]: deff})
sens_table = pd.DataFrame(sens_rows)
export.save_table(
    sens_table, "05_sensitivity", simulated=SIM, decimals=3,
    title=export.tr("Độ vững của các hệ số trước biến gây nhiễu chưa đo và hiệu ứng nhỏ nhất "
                    "phát hiện được", "Robustness values and minimum detectable effects"),
    note=export.tr(f"RV, RV α: Cinelli & Hazlett (2020), α = {fmt(ALPHA, 2)}; MDE: lực kiểm "
                   f"định {POWER:.0%}, n hiệu dụng = n / hiệu ứng thiết kế.",
                   f"RV, RV_α: Cinelli & Hazlett (2020), α = {export.number(ALPHA, 2, lang='en')}; "
                   f"MDE at {POWER:.0%} power, "
                   "effective n = n / design effect."))
display(sens_table)
# RV α is computed on the classical OLS t (Cinelli & Hazlett), not on the commune-clustered
# tests: "significant" below means significant by CR2 (and said when the wild bootstrap differs)
sens_p = reg.set_index(["outcome", "term"])[["p", "p_wild"]].reindex(sens_keys)
sens_cr2 = sens_table.assign(p_cr2=sens_p["p"].to_numpy(), p_wild=sens_p["p_wild"].to_numpy())
weak = sens_cr2[(sens_cr2[H["rv_a"]] > 0) & (sens_cr2["p_cr2"] < ALPHA)].sort_values(H["rv_a"])
only_naive = sens_cr2[(sens_cr2[H["rv_a"]] > 0) & ~(sens_cr2["p_cr2"] < ALPHA)]
display(Markdown(
    f"MDE của các hồi quy từ {fmt(sens_table[H['mde']].min(), 3)} đến "
    f"{fmt(sens_table[H['mde']].max(), 3)} độ lệch chuẩn: hệ số nhỏ hơn mức này có thể không "
    "được phát hiện dù có thật.  Đây là một MDE chung cho mỗi hồi quy, tính từ n và hiệu ứng "
    "thiết kế của biến phụ thuộc; sổ đối chiếu ở notebook 06 cho mỗi hệ số một MDE riêng, tính "
    "từ sai số chuẩn CR2 và bậc tự do Satterthwaite của chính hệ số đó, nên hai số khác nhau "
    "dù cùng một hồi quy.  β và RV ở bảng này là đúng các số của sổ đối chiếu (RV ở đây tính "
    "bằng %, sổ đối chiếu ghi dạng tỷ lệ).  RV α được tính trên thống kê t của hồi quy thông thường (không "
    "theo cụm xã, như Cinelli & Hazlett định nghĩa): RV α > 0 nghĩa là hệ số có ý nghĩa theo "
    "sai số chuẩn thông thường, chưa chắc theo CR2.  "
    + (f"Trong các hệ số có ý nghĩa theo CR2 (p < {fmt(ALPHA, 2)}), hệ số kém vững nhất là "
       f"{weak.iloc[0][H['term']]} → {weak.iloc[0][H['part']]} (RV α = "
       f"{fmt(weak.iloc[0][H['rv_a']], 1)}%; p CR2 {fmt_p(weak.iloc[0]['p_cr2'])}): một biến gây "
       "nhiễu giải thích chừng ấy phương sai là đủ để làm nó mất ý nghĩa.  " if len(weak) else
       "Không hệ số nào vừa có ý nghĩa theo CR2 vừa có RV α > 0.  ")
    + (f"{len(only_naive)} hệ số có RV α > 0 nhưng **không** có ý nghĩa theo CR2: "
       + "; ".join(f"{r[H['term']]} → {r[H['part']]} (RV α = {fmt(r[H['rv_a']], 1)}%, p CR2 "
                   f"{fmt_p(r['p_cr2'])}, p wild {fmt_p(r['p_wild'])})"
                   for _, r in only_naive.iterrows())
       + " — các hệ số này không được coi là có ý nghĩa." if len(only_naive) else "")))

# %% [markdown]
# ## 7. Hình: hệ số chuẩn hóa và sơ đồ đường dẫn ước lượng

# %%
coef = pd.concat([
    *([paths_sem[["outcome", "term", "method", "estimate", "ci_low", "ci_high"]]] if SEM_OK else []),
    reg[["outcome", "term", "method", "estimate", "ci_low", "ci_high"]],
    reg[["outcome", "term"]].assign(method="wild", estimate=reg["estimate"],
                                    ci_low=reg["ci_low_wild"], ci_high=reg["ci_high_wild"])],
    ignore_index=True)
fig = pathplot.coefficient_plot(
    coef, outcomes=QUALITY, terms=struct[QUALITY[0]],
    methods=["SEM", "CR2", "wild"] if SEM_OK else ["CR2", "wild"],
    outcome_labels={q: LABELS[q] for q in QUALITY},
    title=export.tr("Hệ số chuẩn hóa của các yếu tố với bốn thành phần chất lượng",
                    "Standardized coefficients of the drivers on the four quality dimensions"),
    method_labels={"SEM": export.tr("SEM (FIML, MLR)", "SEM (FIML, MLR)"),
                   "CR2": export.tr("Hồi quy, KTC CR2", "OLS, CR2 interval"),
                   "wild": export.tr("Hồi quy, KTC wild bootstrap", "OLS, wild bootstrap interval")},
    xlabel=export.tr("Hệ số chuẩn hóa β (KTC 95%)", "Standardized β (95% CI)"),
    zero_label=export.tr("Không tác động", "No effect"),
    decimal="," if export.language() == "vi" else ".")
_ = export.save_figure(fig, "05_coefficients", simulated=SIM)

if SEM_OK:
    fig = pathplot.path_diagram(
        fit.parameter_estimates(), struct,
        node_labels=LABELS,
        title=export.tr("Mô hình cấu trúc ước lượng (hệ số chuẩn hóa, SEM FIML/MLR)",
                        "Estimated structural model (standardized, SEM FIML/MLR)"),
        significant_label=export.tr("KTC 95% không chứa 0 (dương)", "95% CI excludes 0 (positive)"),
        negative_label=export.tr("KTC 95% không chứa 0 (âm)", "95% CI excludes 0 (negative)"),
        other_label=export.tr("KTC 95% chứa 0", "95% CI includes 0"),
        width_label=export.tr("độ dày: |β| {}", "width: |β| {}"),
        decimal="," if export.language() == "vi" else ".")
    _ = export.save_figure(fig, "05_path_diagram", simulated=SIM)
else:
    display(Markdown("*Hình trên chỉ có các hệ số hồi quy; sơ đồ đường dẫn ước lượng không vẽ được "
                     "vì mô hình SEM không ước lượng được trên dữ liệu này (mục 2).*"))

# %% [markdown]
# ## 8. Dữ liệu nói gì về các giả thuyết của luận văn
#
# Mỗi đường dẫn có giả thuyết (notebook 01) được đối chiếu với SEM: cùng dấu và khoảng tin
# cậy không chứa 0 là **phù hợp**; khoảng tin cậy chứa 0 là **chưa đủ bằng chứng** (dữ liệu
# không cho thấy có mối liên hệ, nhưng cũng không cho thấy mối liên hệ không đáng kể); ngược
# dấu và không chứa 0 là **mâu thuẫn với giả thuyết** (ước lượng ngược dấu mà khoảng tin cậy
# chứa 0 cũng được nêu tên).  Đây là cách đọc sơ bộ, không phải kết luận
# kiểm định: kết luận cho từng luận điểm (với hiệu chỉnh kiểm định bội, ngưỡng hiệu ứng nhỏ
# nhất có ý nghĩa và kiểm định tương đương TOST, theo cùng một quy tắc) ở sổ đối chiếu của
# notebook 06, nơi "không được ủng hộ" chỉ dành cho mối liên hệ ngược chiều hoặc không đáng kể.
#
# Sổ đối chiếu không dùng β của SEM ở bảng dưới mà dùng β của các hồi quy trên điểm thang đo
# (mục 3 cho các thành phần chất lượng; cùng cách cho động lực và ý định gắn bó), nên số của
# hai nơi khác nhau, và không phải do sai sót: SEM ước lượng quan hệ giữa các biến tiềm ẩn,
# đã tách sai số đo, trên mọi phiếu nhờ FIML; hồi quy
# dùng điểm thang đo, còn chứa sai số đo, trên các phiếu đủ dữ liệu.

# %%
if SEM_OK:
    hyp = framework.hypothesized_paths()
    sem_idx = paths_sem.set_index(["outcome", "term"])
    rows = []
    for h in hyp.itertuples(index=False):
        if (h.effect, h.cause) not in sem_idx.index:
            continue
        r = sem_idx.loc[(h.effect, h.cause)]
        sign = 1 if h.sign == "+" else -1
        if r["ci_low"] > 0 or r["ci_high"] < 0:
            reading = "consistent" if np.sign(r["estimate"]) == sign else "contradicts"
        else:
            reading = "unsupported"
        rows.append({H["claim"]: h.claims, H["path"]: f"{h.cause} → {h.effect}",
                     H["sign"]: h.sign.replace("-", export.MINUS), H["beta_sem"]: r["estimate"], H["ci_lo"]: r["ci_low"],
                     H["ci_hi"]: r["ci_high"], "reading": reading})
    hyp_codes = pd.DataFrame(rows)
    hyp_table = hyp_codes.drop(columns="reading").assign(
        **{H["reading"]: hyp_codes["reading"].map(READING)})
    export.save_table(
        hyp_table, "05_hypotheses_paths", simulated=SIM, decimals=3,
        title=export.tr("Các đường dẫn có giả thuyết: dữ liệu có ủng hộ không?",
                        "Hypothesized paths: do the data support them?"),
        note=export.tr("SEM FIML/MLR; 'phù hợp' chưa tính hiệu chỉnh kiểm định bội (hiệu chỉnh ở "
                       "bảng sổ đối chiếu nhận định).",
                       "SEM FIML/MLR; 'consistent' before the multiple-testing correction (made in "
                       "the claims ledger table)."))
    display(hyp_table)
    counts = hyp_codes["reading"].value_counts()
    not_shown = hyp_table[hyp_codes["reading"] == "unsupported"]
    against = hyp_table[hyp_codes["reading"] == "contradicts"]
    # a point estimate of the other sign whose interval contains 0: named, not "contradicts"
    turned = hyp_table[(hyp_codes["reading"] == "unsupported").to_numpy()
                       & np.array([opposite(b, s) for b, s in zip(
                           hyp_codes[H["beta_sem"]], hyp_codes[H["sign"]], strict=True)])]
    display(Markdown(
        f"Trong {len(hyp_table)} đường dẫn có giả thuyết: {counts.get('consistent', 0)} phù hợp, "
        f"{counts.get('unsupported', 0)} chưa đủ bằng chứng (KTC chứa 0), "
        f"{counts.get('contradicts', 0)} mâu thuẫn với giả thuyết.  "
        + ("**Chưa đủ bằng chứng** cho các đường dẫn: "
           + "; ".join(f"{r[H['path']]} ({r[H['claim']]})" for _, r in not_shown.iterrows())
           + " — luận văn chưa thể khẳng định các mối liên hệ này (kết luận kiểm định ở "
             "notebook 06).  " if len(not_shown) else "")
        + ("Trong số đó, ước lượng **ngược chiều giả thuyết** (khoảng tin cậy chứa 0, nên chưa "
           "phải mâu thuẫn có ý nghĩa): " + "; ".join(
               f"{r[H['path']]} ({r[H['claim']]}: β = {fmt(r[H['beta_sem']], 3)}, KTC 95% "
               f"{fmt(r[H['ci_lo']], 3)} đến {fmt(r[H['ci_hi']], 3)})"
               for _, r in turned.iterrows()) + ".  " if len(turned) else "")
        + ("**Dữ liệu mâu thuẫn với giả thuyết** ở các đường dẫn: "
           + "; ".join(f"{r[H['path']]} ({r[H['claim']]})" for _, r in against.iterrows())
           + "." if len(against) else "")
        + ("Mọi đường dẫn có giả thuyết đều phù hợp với dữ liệu."
           if not len(not_shown) and not len(against) else "")))
    # paths no hypothesis names whose interval excludes 0: associations the thesis did not
    # predict, named here (a negative one runs against its theory of the factors)
    beyond = framework.paths_beyond_hypotheses(paths_sem)
    negative = beyond[beyond["against_theory"]]   # the sign the theory gives, reversed
    beyond_text = (
        f"**Ngoài các giả thuyết**, {len(beyond)} đường dẫn của SEM có khoảng tin cậy không "
        "chứa 0 dù luận văn không nêu giả thuyết nào cho chúng: " + "; ".join(
            f"{r.term} → {r.outcome} (β = {fmt(r.estimate, 3)}, KTC 95% {fmt(r.ci_low, 3)} "
            f"đến {fmt(r.ci_high, 3)})" for r in beyond.itertuples()) + "."
        if len(beyond) else
        "Không đường dẫn nào ngoài các giả thuyết có khoảng tin cậy không chứa 0.")
    if len(negative):
        beyond_text += (
            "  **Ngược chiều lý thuyết của luận văn** (yếu tố thuận lợi hơn thì chất lượng, "
            "động lực cao hơn; tâm lý ngại thay đổi thì ngược lại): " + ", ".join(
                f"{r.term} → {r.outcome} ({'âm' if r.estimate < 0 else 'dương'})"
                for r in negative.itertuples())
            + ": khi giữ các yếu tố khác không đổi, người đánh giá yếu tố này cao hơn lại có "
            "điểm biến phụ thuộc theo chiều ngược với lý thuyết.  Đây là mối liên hệ trên dữ liệu quan sát, "
            "chưa hiệu chỉnh kiểm định bội và không nằm trong sổ đối chiếu, nhưng cần được nêu "
            "khi bàn giải pháp tương ứng.")
    display(Markdown(beyond_text))
else:
    display(Markdown(
        "> **Không đối chiếu được:** mô hình SEM không ước lượng được trên dữ liệu này (mục 2), "
        "nên các đường dẫn có giả thuyết *không kiểm định được* bằng SEM ở đây.  Notebook 06 "
        "vẫn cho phán quyết từng luận điểm, dựa vào các hồi quy trên điểm thang đo (mục 3)."))
