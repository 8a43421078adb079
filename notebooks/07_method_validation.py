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
# # 07 — Method validation / Kiểm chứng phương pháp
#
# **English summary.** Reviewers trust a pipeline that has been shown to find what is there
# and nothing else.  `hlstudy.synthetic.simulate(seed, effects=…)` knows the truth it
# generated; this notebook reads the results of `python3 make.py validate`, which ran the
# whole chain — raw exports → ingest and cleaning → measurement → models → claims ledger — on
# many simulated studies in six scenarios (the default truth; recognition → motivation
# switched off; reversed; every path zero; about 120 officials; stronger missingness), and
# compares every estimate and every verdict with that truth: bias, RMSE and the coverage of
# the 95% intervals (naive, CR2, wild cluster bootstrap, SEM with FIML/MLR) with Monte Carlo
# standard errors; the verdict confusion table; the false-positive rate when every path is
# zero; the power of each claim at the demonstration sample size; the cleaning's catch rate
# of the injected faults.  Part 2 recomputes, from the committed R fixtures, the worst
# difference between each hlstudy routine and its R reference (psych, lavaan, semTools,
# clubSandwich, sandwich, car, lmerTest, lme4) against the test suite's tolerance.  Part 3
# lists the software versions.  Every number in the prose is computed; tables and figures go
# to `figures/07_*`.  **All data here are simulated** by design.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from hlstudy import export
from hlstudy.paths import ROOT
from hlstudy.validation import recovery, scenarios
from hlstudy.validation.ragree import (
    NOISE,
    difference_bound,
    python_versions,
    r_agreement,
    r_versions,
)
from hlstudy.validation.run import read_results
from hlstudy.validation.summary import (
    coverage_by_method,
    false_positive_rate,
    summarize,
    verdict_confusion,
    verdict_rates,
)

# Parameters
RESULTS = "data/validation"   # folder written by `python3 make.py validate` (or build/…)
N_RUN = 0       # > 0: run this many fresh replications per scenario here instead (≈ 30 s each)
WORKERS = None  # processes for N_RUN (None: every core)
LEVEL = 0.95
#: Key paths: the hypothesised drivers of quality with a true effect, and two true zeros.
KEY_PATHS = ["TRAIN->PRO", "EDU->PRO", "MOT->RSP", "RES->RSP", "ENV->MOT", "REC->MOT",
             "COMP->STAY", "SUP->SKL", "COMP->PRO"]
SIM = True   # every table and figure of this notebook shows simulated data

export.use_style()
VI = export.language() == "vi"


def fmt(x, d=3):
    return export.number(x, d, lang="vi")


def pct(x, d=1):
    return export.number(x, d, percent=True, lang="vi")


SCEN = scenarios()
if N_RUN > 0:
    res = pd.concat([recovery(N_RUN, scenario=s, workers=WORKERS) for s in SCEN],
                    ignore_index=True)
    manifest = {"replications": N_RUN, "command": f"notebook 07 (N_RUN = {N_RUN})"}
else:
    res, manifest = read_results(ROOT / RESULTS)
R_REP = res.groupby("scenario")["seed"].nunique()
SCEN_VI = {"default": "Giá trị gốc", "path_off": "Tắt REC → MOT", "path_reversed": "Đảo dấu REC → MOT",
           "all_zero": "Mọi đường dẫn bằng 0", "small": "Khoảng 120 cán bộ",
           "missing": "Thiếu dữ liệu nhiều hơn"}
METHOD_VI = {"naive": "OLS, SE thông thường", "CR2": "OLS, CR2 (Satterthwaite)",
             "wild": "OLS, wild cluster bootstrap", "SEM (FIML, MLR)": "SEM điểm thang đo (FIML, MLR)",
             "SEM complete items (listwise)": "SEM, loại theo danh sách",
             "SEM complete items (FIML)": "SEM, FIML"}
display(Markdown(
    f"Kết quả đọc từ `{RESULTS}` (lệnh `{manifest.get('command', '')}`): "
    + "; ".join(f"{SCEN_VI.get(s, s)}: **{int(R_REP.get(s, 0))}** lần lặp" for s in SCEN
                if s in R_REP.index)
    + f" — tổng **{int(res[['scenario', 'seed']].drop_duplicates().shape[0])}** nghiên cứu mô "
    "phỏng, mỗi nghiên cứu đi qua toàn bộ chuỗi phân tích.  Các con số dưới đây dựa trên "
    "chừng ấy lần lặp; sai số Monte Carlo (MCSE) đi kèm mỗi tỷ lệ."))

# %% [markdown]
# ## 1. Khôi phục tham số
#
# ### 1.1 Hệ số đường dẫn: độ chệch, RMSE và độ phủ của khoảng tin cậy 95%
#
# Giá trị thật là hệ số chuẩn hóa của mô hình tiềm ẩn mà bộ mô phỏng dùng.  Hồi quy và SEM
# ở đây chạy trên **điểm thang đo** (trung bình các câu hỏi), vốn chứa sai số đo lường, nên
# hệ số bị kéo về 0 (suy giảm do sai số đo lường): độ phủ so với giá trị thật thấp hơn 95%
# ở các đường dẫn lớn là hệ quả của sai số đo, không phải của sai số chuẩn.  Vì vậy bảng
# cũng cho **độ phủ hiệu chuẩn** (so với trung bình các ước lượng qua các lần lặp): nó cho
# biết khoảng tin cậy có rộng đúng bằng độ biến thiên thật của ước lượng hay không — đây là
# câu hỏi CR2 so với sai số chuẩn thông thường.

# %%
paths = res[res["kind"] == "path"]
methods = [m for m in METHOD_VI if m in set(paths["method"])]
pooled = coverage_by_method(paths, level=LEVEL)
calib = coverage_by_method(paths, level=LEVEL, center="mean")
per_path = summarize(paths, by=("scenario", "method", "quantity"), level=LEVEL)
err = per_path.groupby(["scenario", "method"]).agg(abs_bias=("bias", lambda b: b.abs().mean()),
                                                  rmse=("rmse", "mean")).reset_index()
tab = pooled.drop(columns=["bias", "rmse"]).merge(err, on=["scenario", "method"]).merge(
    calib[["scenario", "method", "coverage", "coverage_mcse", "coverage_ok"]],
    on=["scenario", "method"], suffixes=("", "_calib"))
tab = tab[tab["scenario"] == "default"].set_index("method")
tab = tab.loc[[m for m in methods if m in tab.index]].reset_index()
path_table = pd.DataFrame({
    "Phương pháp": tab["method"].map(METHOD_VI), "Số khoảng tin cậy": tab["n_intervals"],
    "|Độ chệch| TB": tab["abs_bias"], "RMSE TB": tab["rmse"],
    "Độ phủ (giá trị thật)": tab["coverage"], "MCSE": tab["coverage_mcse"],
    "Độ phủ hiệu chuẩn": tab["coverage_calib"], "MCSE hiệu chuẩn": tab["coverage_mcse_calib"],
    "Độ rộng TB": tab["mean_width"]})
export.save_table(
    path_table, "07_path_recovery", simulated=SIM, decimals=3,
    title=export.tr("Khôi phục hệ số đường dẫn (kịch bản gốc)",
                    "Recovery of the structural paths (default scenario)"),
    note=export.tr(f"{int(R_REP.get('default', 0))} nghiên cứu mô phỏng; gộp mọi đường dẫn của "
                   "mô hình nghiên cứu. |Độ chệch| và RMSE: trung bình qua các đường dẫn. Độ phủ "
                   "hiệu chuẩn: so với trung bình các ước lượng của từng đường dẫn qua các lần lặp.",
                   f"{int(R_REP.get('default', 0))} simulated studies; all paths of the research "
                   "model pooled. |Bias| and RMSE: averaged over paths. Calibration coverage: of "
                   "each path's mean estimate across replications."))
display(path_table.round(3))

# %%
key = paths[paths["quantity"].isin(KEY_PATHS) & (paths["scenario"] == "default")]
ks = summarize(key, by=("method", "quantity"), level=LEVEL)
kc = summarize(key, by=("method", "quantity"), level=LEVEL, center="mean")
ks = ks.merge(kc[["method", "quantity", "coverage", "coverage_ok"]], on=["method", "quantity"],
              suffixes=("", "_calib"))
cr2 = ks[ks["method"] == "CR2"].set_index("quantity").loc[
    [p for p in KEY_PATHS if p in set(ks["quantity"])]]
key_table = pd.DataFrame({
    "Đường dẫn": [p.replace("->", " → ") for p in cr2.index], "β thật": cr2["truth"],
    "β ước lượng TB": cr2["mean_estimate"], "Độ chệch": cr2["bias"], "MCSE độ chệch": cr2["bias_mcse"],
    "Độ phủ CR2": cr2["coverage"], "Độ phủ hiệu chuẩn CR2": cr2["coverage_calib"],
    "Dải Monte Carlo dưới": cr2["band_low"], "Dải Monte Carlo trên": cr2["band_high"],
    "Tỷ lệ bác bỏ β = 0": cr2["rejection"]})
export.save_table(
    key_table, "07_key_paths", simulated=SIM, decimals=3,
    title=export.tr("Các đường dẫn chính: hồi quy CR2 trên điểm thang đo",
                    "Key paths: CR2 regressions on scale scores"),
    note=export.tr("Dải Monte Carlo: 95% ± 1,96 × MCSE ở mức danh nghĩa. Tỷ lệ bác bỏ là lực "
                   "kiểm định khi β thật ≠ 0 và sai lầm loại I khi β thật = 0.",
                   "Monte Carlo band: 95% ± 1.96 × MCSE at the nominal level. The rejection rate "
                   "is the power when the true β ≠ 0 and the type-I error when it is 0."))
display(key_table.round(3))
n_ok = int(cr2["coverage_calib_ok"].fillna(False).sum()) if "coverage_calib_ok" in cr2 else int(
    ((cr2["coverage_calib"] >= cr2["band_low"]) & (cr2["coverage_calib"] <= cr2["band_high"])).sum())
cal = tab.set_index("method")
display(Markdown(
    f"Ở kịch bản gốc, khoảng tin cậy CR2 phủ trung bình các ước lượng ở "
    f"**{pct(cal.at['CR2', 'coverage_calib'])}** trường hợp (MCSE {pct(cal.at['CR2', 'coverage_mcse_calib'])}), "
    f"khoảng tin cậy thông thường (bỏ qua cụm xã) ở {pct(cal.at['naive', 'coverage_calib'])}"
    + (f", wild bootstrap ở {pct(cal.at['wild', 'coverage_calib'])}" if "wild" in cal.index else "")
    + f".  Với {len(cr2)} đường dẫn chính, độ phủ hiệu chuẩn của CR2 nằm trong dải Monte Carlo "
    f"quanh 95% ở **{n_ok}/{len(cr2)}** đường dẫn.  So với giá trị thật của mô hình tiềm ẩn, "
    f"độ phủ của CR2 chỉ là {pct(cal.at['CR2', 'coverage'])}: hệ số trên điểm thang đo bị "
    f"suy giảm (|độ chệch| trung bình {fmt(cal.at['CR2', 'abs_bias'])}, lớn nhất "
    f"{fmt(cr2['bias'].abs().max())} ở {cr2['bias'].abs().idxmax().replace('->', ' → ')}; RMSE "
    f"trung bình {fmt(cal.at['CR2', 'rmse'])}).  "
    "Luận văn nên nói rõ điều này: β trên điểm thang đo là cận dưới của tác động giữa các "
    "khái niệm; SEM tiềm ẩn (notebook 05) hiệu chỉnh sai số đo."))

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
for ax, m in zip(axes, ["CR2", "SEM (FIML, MLR)"], strict=True):
    s = summarize(paths[(paths["scenario"] == "default") & (paths["method"] == m)],
                  by=("quantity",), level=LEVEL)
    ax.errorbar(s["truth"], s["mean_estimate"], yerr=1.96 * s["emp_se"], fmt="o", ms=4,
                alpha=0.7, color="C0" if m == "CR2" else "C1")
    lim = [min(s["truth"].min(), s["mean_estimate"].min()) - 0.05,
           max(s["truth"].max(), s["mean_estimate"].max()) + 0.05]
    ax.plot(lim, lim, color="grey", lw=1, ls="--", label=export.tr("Ước lượng = giá trị thật",
                                                                  "Estimate = truth"))
    ax.set_xlabel(export.tr("β thật (mô hình tiềm ẩn)", "True β (latent model)"))
    ax.set_ylabel(export.tr("β ước lượng (trung bình ± 1,96 SD)", "Estimated β (mean ± 1.96 SD)"))
    ax.set_title(METHOD_VI[m] if VI else m)
    ax.legend(loc="upper left", fontsize=8)
fig.suptitle(export.tr("Giá trị thật và ước lượng của các hệ số đường dẫn",
                       "True and estimated path coefficients"))
fig.tight_layout()
_ = export.save_figure(fig, "07_paths_truth_estimate", simulated=SIM)

# %%
cov_all = coverage_by_method(paths, level=LEVEL, center="mean")
scen_order = [s for s in SCEN if s in set(cov_all["scenario"])]
fig, ax = plt.subplots(figsize=(10, 4.8))
width = 0.8 / max(1, len(methods))
for i, m in enumerate(methods):
    c = cov_all[cov_all["method"] == m]
    c = c.set_index("scenario").reindex(scen_order)
    x = np.arange(len(scen_order)) + (i - (len(methods) - 1) / 2) * width
    ax.errorbar(x, c["coverage"], yerr=1.96 * c["coverage_mcse"], fmt="o", ms=5,
                label=METHOD_VI[m] if VI else m)
# the band of the most common number of intervals (each method's own band is wider when it
# has fewer intervals, e.g. the wild bootstrap, computed for a few paths only)
n_band = int(cov_all["n_intervals"].mode().iloc[0])
half = 1.96 * np.sqrt(LEVEL * (1 - LEVEL) / n_band)
ax.axhline(LEVEL, color="black", lw=1)
ax.axhspan(LEVEL - half, LEVEL + half, color="grey", alpha=0.15,
           label=export.tr(f"Dải Monte Carlo quanh 95% (n = {n_band})",
                           f"Monte Carlo band around 95% (n = {n_band})"))
ax.set_xticks(np.arange(len(scen_order)), [SCEN_VI[s] if VI else s for s in scen_order],
              rotation=15)
ax.set_ylabel(export.tr("Độ phủ hiệu chuẩn của KTC 95%", "Calibration coverage of the 95% CI"))
ax.set_ylim(max(0.0, ax.get_ylim()[0]), 1.0)
ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.2))
ax.set_title(export.tr("Độ phủ của khoảng tin cậy theo phương pháp và kịch bản",
                       "Interval coverage by method and scenario"))
fig.tight_layout()
_ = export.save_figure(fig, "07_coverage", simulated=SIM)

# %% [markdown]
# ### 1.2 Hệ số tải, tương quan nội lớp theo xã và làm sạch dữ liệu
#
# Hệ số tải chuẩn hóa ước lượng bằng CFA (ML, từng thang đo) trên câu trả lời 5 mức; giá trị
# thật là hệ số tải của biến phản hồi liên tục ẩn y*.  Việc cắt y* thành 5 mức làm giảm
# tương quan nên ML trên câu trả lời Likert ước lượng thấp hệ số tải (tương quan
# polychoric sẽ khôi phục y*).  ICC của điểm thang đo cũng nhỏ hơn tỷ lệ phương sai giữa các
# xã của khái niệm ẩn vì sai số đo nằm trong xã.

# %%
lo = summarize(res[(res["kind"] == "loading") & (res["scenario"] == "default")],
               by=("quantity",), level=LEVEL)
icc = summarize(res[(res["kind"] == "icc") & (res["scenario"] == "default")],
                by=("method", "quantity"), level=LEVEL)
icc_a = icc[icc["method"] == "ANOVA (F interval)"].set_index("quantity")
icc_table = pd.DataFrame({"Khái niệm": icc_a.index, "Tỷ lệ giữa xã (thật)": icc_a["truth"],
                          "ICC điểm thang đo TB": icc_a["mean_estimate"],
                          "Độ phủ KTC (F)": icc_a["coverage"], "MCSE": icc_a["coverage_mcse"]})
export.save_table(
    icc_table, "07_icc_recovery", simulated=SIM, decimals=3,
    title=export.tr("Tương quan nội lớp theo xã: giá trị thật và ước lượng",
                    "Commune intraclass correlations: truth and estimates"),
    note=export.tr("ICC ANOVA với khoảng tin cậy F của điểm thang đo; giá trị thật là tỷ lệ "
                   "phương sai giữa các xã của khái niệm ẩn.", "ANOVA ICC of the scale score with "
                   "its F interval; the truth is the latent construct's between-commune share."))
display(icc_table.round(3))
clean = summarize(res[(res["kind"] == "cleaning") & (res["scenario"] == "default")],
                  by=("method", "quantity"), level=LEVEL)
clean_table = pd.DataFrame({
    "Công cụ: quy tắc": clean["quantity"].str.replace("officials:", "cán bộ: ").str.replace(
        "citizens:", "người dân: ").str.replace("personnel:", "trích ngang: "),
    "Chỉ số": clean["method"].map({"catch rate": "tỷ lệ bắt được lỗi cài vào",
                                   "false drop rate": "tỷ lệ loại nhầm phiếu sạch"}),
    "Giá trị mong muốn": clean["truth"], "Trung bình": clean["mean_estimate"],
    "Thấp nhất/cao nhất": [f"{fmt(a, 3)}–{fmt(b, 3)}" for a, b in zip(
        res[(res["kind"] == "cleaning") & (res["scenario"] == "default")].groupby(
            ["method", "quantity"])["estimate"].min(),
        res[(res["kind"] == "cleaning") & (res["scenario"] == "default")].groupby(
            ["method", "quantity"])["estimate"].max(), strict=True)]})
export.save_table(clean_table, "07_cleaning_recovery", simulated=SIM, decimals=3,
                  title=export.tr("Làm sạch dữ liệu: lỗi cài vào được phát hiện",
                                  "Cleaning: injected faults caught"),
                  note=export.tr("Mỗi phiếu mà bộ mô phỏng đánh dấu phải bị loại bởi đúng quy "
                                 "tắc đó; phiếu sạch không được bị loại.",
                                 "Every record the simulator marked must be dropped by that "
                                 "rule; no clean record may be dropped."),
                  allowed_codes=list(clean_table["Công cụ: quy tắc"]))
display(clean_table)
catch = clean[clean["method"] == "catch rate"]["mean_estimate"]
false = clean[clean["method"] == "false drop rate"]["mean_estimate"]
display(Markdown(
    f"Hệ số tải CFA: độ chệch trung bình {fmt(lo['bias'].mean())} (RMSE trung bình "
    f"{fmt(lo['rmse'].mean())}) trên {len(lo)} câu hỏi — ước lượng thấp như dự kiến khi phân "
    f"tích câu trả lời 5 mức bằng ML.  ICC: độ phủ trung bình của khoảng tin cậy F là "
    f"{pct(icc_a['coverage'].mean())}.  Làm sạch: tỷ lệ bắt được lỗi cài vào thấp nhất là "
    f"**{pct(catch.min())}**, tỷ lệ loại nhầm phiếu sạch cao nhất là **{pct(false.max(), 2)}**."))

fig, ax = plt.subplots(figsize=(5.5, 5))
ax.scatter(lo["truth"], lo["mean_estimate"], s=12, alpha=0.7)
ax.plot([0.4, 0.9], [0.4, 0.9], color="grey", ls="--", lw=1,
        label=export.tr("Ước lượng = giá trị thật", "Estimate = truth"))
ax.set_xlabel(export.tr("Hệ số tải thật (y*)", "True loading (y*)"))
ax.set_ylabel(export.tr("Hệ số tải CFA chuẩn hóa (trung bình)", "Standardized CFA loading (mean)"))
ax.set_title(export.tr("Hệ số tải: giá trị thật và ước lượng", "Loadings: truth and estimates"))
ax.legend(fontsize=8)
fig.tight_layout()
_ = export.save_figure(fig, "07_loadings", simulated=SIM)

# %% [markdown]
# ### 1.3 Kết luận kiểm định của sổ cái luận điểm
#
# Với mỗi luận điểm, "kết luận đúng" là kết luận mà chính quy tắc của sổ cái (notebook 06)
# đưa ra khi khoảng tin cậy co về giá trị thật (cỡ mẫu vô hạn): **được ủng hộ** khi tác động
# thật vượt ngưỡng tác động nhỏ nhất có ý nghĩa (SESOI) theo đúng chiều, **không được ủng
# hộ** khi nó nhỏ hơn SESOI hoặc ngược chiều.  Chỉ các luận điểm có giá trị thật tính được
# từ mô hình ẩn (đường dẫn, hiệu ứng gián tiếp) được đối chiếu; luận điểm mô tả (tỷ lệ, độ
# tin cậy) không có "giá trị thật" trong bộ mô phỏng.  Với cỡ mẫu hữu hạn, "chưa kết luận
# được" là câu trả lời trung thực khi lực kiểm định thấp; sai lầm là gọi một luận điểm
# sai là được ủng hộ (dương tính giả) hoặc bác bỏ một luận điểm đúng.

# %%
VERD_VI = {"supported": "được ủng hộ", "inconclusive": "chưa kết luận được",
           "not supported": "không được ủng hộ", "not testable": "không kiểm định được"}
conf = verdict_confusion(res)
conf_table = conf.assign(**{"Kịch bản": conf["scenario"].map(SCEN_VI),
                            "Kết luận đúng": conf["verdict_truth"].map(VERD_VI)})[
    ["Kịch bản", "Kết luận đúng", "supported", "inconclusive", "not supported", "not testable",
     "n"]].rename(columns={**{k: f"Sổ cái: {v}" for k, v in VERD_VI.items()}, "n": "Tổng"})
export.save_table(conf_table, "07_verdict_confusion", simulated=SIM, decimals=0,
                  title=export.tr("Kết luận của sổ cái so với kết luận đúng",
                                  "Ledger verdicts against the truth-implied verdicts"),
                  note=export.tr("Số (lần lặp × luận điểm) có kết luận đúng tính được.",
                                 "Counts of replication × claim with a truth-implied verdict."))
display(conf_table)
rates = verdict_rates(res[res["scenario"] == "default"])
power = rates[rates["verdict_truth"] == "supported"]
power_table = pd.DataFrame({"Luận điểm": power["quantity"], "Lực kiểm định": power["power"],
                            "MCSE": power["mcse"], "Tỷ lệ bác bỏ nhầm": power["wrong"],
                            "Tỷ lệ chưa kết luận": power["share_inconclusive"]})
export.save_table(power_table, "07_power", simulated=SIM, decimals=3,
                  title=export.tr("Lực kiểm định của từng luận điểm ở cỡ mẫu minh họa",
                                  "Power of each claim at the demonstration sample size"),
                  note=export.tr("Tỷ lệ lần lặp mà sổ cái kết luận 'được ủng hộ' khi luận điểm "
                                 "đúng (kịch bản gốc, toàn bộ cán bộ, công chức).",
                                 "Share of replications in which the ledger says 'supported' "
                                 "when the claim is true (default scenario, census)."))
display(power_table.round(3))
wrong_default = rates[rates["verdict_truth"] != "supported"]
display(Markdown(
    "Ở kịch bản gốc, lực kiểm định của các luận điểm đúng từ "
    f"{pct(power['power'].min(), 0)} đến {pct(power['power'].max(), 0)}; các luận điểm sai bị "
    f"gọi nhầm là được ủng hộ ở tối đa {pct(wrong_default['false_positive'].max(), 0)} số lần lặp "
    f"({len(wrong_default)} luận điểm sai)."))

# %%
fp = false_positive_rate(res, scenario="all_zero") if "all_zero" in set(res["scenario"]) else None
if fp is not None and len(fp):
    fp_table = fp.assign(**{"Mức": fp["level"].map({
        "claim (any claim, per replication)": "ít nhất một luận điểm trong một lần lặp",
        "claim (per verdict)": "từng kết luận luận điểm",
        "path (per interval)": "từng khoảng tin cậy của đường dẫn"}),
        "Phương pháp": fp["method"].map({**METHOD_VI, "ledger": "sổ cái (Holm)"})})[
        ["Mức", "Phương pháp", "rate", "mcse", "n"]].rename(
        columns={"rate": "Tỷ lệ dương tính giả", "mcse": "MCSE", "n": "Số lần"})
    export.save_table(fp_table, "07_false_positives", simulated=SIM, decimals=3,
                      title=export.tr("Dương tính giả khi mọi đường dẫn bằng 0",
                                      "False positives when every path is zero"),
                      note=export.tr(f"{int(R_REP.get('all_zero', 0))} nghiên cứu mô phỏng.",
                                     f"{int(R_REP.get('all_zero', 0))} simulated studies."))
    display(fp_table.round(3))
    f = fp.set_index(["level", "method"])["rate"]
    fam = f.get(("claim (any claim, per replication)", "ledger"), np.nan)
    per = f.get(("claim (per verdict)", "ledger"), np.nan)
    cr2_fp = f.get(("path (per interval)", "CR2"), np.nan)
    naive_fp = f.get(("path (per interval)", "naive"), np.nan)
    display(Markdown(
        f"Khi mọi đường dẫn bằng 0, sổ cái gọi một luận điểm là được ủng hộ ở **{pct(per)}** "
        f"kết luận, và ở {pct(fam)} lần lặp có ít nhất một luận điểm bị gọi nhầm (hiệu chỉnh "
        f"Holm giữ sai lầm toàn họ dưới 5%).  Từng khoảng tin cậy CR2 loại trừ 0 ở "
        f"{pct(cr2_fp)} trường hợp (mức danh nghĩa 5%), khoảng tin cậy thông thường ở "
        f"{pct(naive_fp)}."))

# %%
s5 = res[(res["kind"] == "verdict") & (res["quantity"] == "S5")]
if len(s5):
    s5_tab = (s5.groupby(["scenario", "verdict_truth", "verdict"]).size().unstack("verdict", fill_value=0)
              .reindex(columns=list(VERD_VI), fill_value=0).reset_index())
    s5_tab = s5_tab.assign(**{"Kịch bản": s5_tab["scenario"].map(SCEN_VI),
                              "Kết luận đúng": s5_tab["verdict_truth"].map(VERD_VI)})[
        ["Kịch bản", "Kết luận đúng", *VERD_VI]].rename(
        columns={k: f"Sổ cái: {v}" for k, v in VERD_VI.items()})
    export.save_table(s5_tab, "07_switch_s5", simulated=SIM, decimals=0,
                      title=export.tr("Luận điểm S5 (khen thưởng → động lực) khi tắt hoặc đảo "
                                      "dấu đường dẫn", "Claim S5 (recognition → motivation) with "
                                      "the path switched off or reversed"),
                      note=export.tr("Số lần lặp theo kết luận của sổ cái.",
                                     "Replications by the ledger's verdict."))
    display(s5_tab)

# %%
mis = paths[paths["scenario"] == "missing"]
if len(mis):
    ms = summarize(mis, by=("method",), level=LEVEL).set_index("method")
    n_used = mis.groupby("method")["n"].mean()
    keep = [m for m in ("SEM complete items (listwise)", "SEM complete items (FIML)") if m in ms.index]
    if len(keep) == 2:
        lw, fi = keep
        display(Markdown(
            "**Thiếu dữ liệu.** Khi 3% câu trả lời bị bỏ trống và điểm thang đo chỉ tính khi đủ "
            f"mọi câu, loại theo danh sách chỉ giữ trung bình {fmt(n_used[lw], 0)} phiếu, FIML "
            f"giữ {fmt(n_used[fi], 0)} (FIML của lavaan với biến ngoại sinh cố định vẫn bỏ các "
            "phiếu thiếu biến giải thích).  Khoảng tin cậy của FIML hẹp hơn: độ rộng trung bình "
            f"{fmt(ms.at[fi, 'mean_width'])} so với {fmt(ms.at[lw, 'mean_width'])}; RMSE "
            f"{fmt(ms.at[fi, 'rmse'])} so với {fmt(ms.at[lw, 'rmse'])}."))
small = res[(res["scenario"] == "small") & (res["kind"] == "verdict")]
if len(small):
    nt = (small["verdict"] == "not testable").mean()
    sp = verdict_rates(small)
    sp = sp[sp["verdict_truth"] == "supported"]
    display(Markdown(
        f"**Mẫu nhỏ (khoảng {fmt(small['n'].median(), 0)} cán bộ).** Lực kiểm định trung bình "
        f"của các luận điểm đúng chỉ còn {pct(sp['power'].mean(), 0)}; {pct(nt, 0)} kết luận là "
        "'không kiểm định được' (xã chỉ có một người trả lời được gộp vào xã khác cùng xã mới "
        "năm 2025 khi tính sai số chuẩn theo cụm, nên các luận điểm vẫn kiểm định được).  Một "
        "luận văn chỉ khảo sát khoảng một trăm cán bộ nên dự kiến nhiều kết luận 'chưa kết luận "
        "được'."))

# %% [markdown]
# ## 2. Đối chiếu với R
#
# Mỗi dòng đọc dữ liệu và giá trị R đã lưu trong `tests/fixtures/` (kèm kịch bản R tạo ra
# chúng), tính lại bằng hlstudy khi notebook chạy, và cho chênh lệch lớn nhất so với ngưỡng
# sai số của bộ kiểm thử.

# %%
agree = r_agreement()
# rounding noise (< 1e-10) is machine-dependent in value and place: shown as a bound only
agree_table = agree.assign(
    worst_difference=agree["worst_difference"].map(difference_bound),
    worst_at=agree["worst_at"].where(agree["worst_difference"] >= NOISE, ""),
    tolerance=agree["tolerance"].map(lambda v: f"{v:.0e}"),
    within=agree["within"].map({True: "có", False: "không"})).rename(columns={
    "routine": "Hàm hlstudy", "r_function": "Hàm R", "fixture": "Thư mục", "cases": "Trường hợp",
    "n_values": "Số giá trị", "worst_difference": "Chênh lệch lớn nhất", "worst_at": "Ở đâu",
    "tolerance": "Ngưỡng", "metric": "Cách đo", "within": "Đạt"})
export.save_table(agree_table, "07_r_agreement", simulated=False, decimals=3,
                  title=export.tr("Đối chiếu các hàm của hlstudy với R",
                                  "Agreement of hlstudy's routines with R"),
                  note=export.tr("Chênh lệch tuyệt đối (abs) hoặc tương đối khi |giá trị R| > 1; "
                                 "cận trên theo lũy thừa của 10 (dưới 1e-10 là sai số làm tròn).",
                                 "Absolute difference (abs), relative when |R value| > 1; upper "
                                 "bound as a power of ten (below 1e-10: rounding noise)."),
                  allowed_codes=[*agree_table["Hàm hlstudy"], *agree_table["Hàm R"],
                                 *agree_table["Trường hợp"], *agree_table["Ở đâu"],
                                 *agree_table["Cách đo"], *agree_table["Thư mục"],
                                 *agree_table["Chênh lệch lớn nhất"], *agree_table["Ngưỡng"]])
display(agree_table)
display(Markdown(
    f"{int(agree['within'].sum())}/{len(agree)} hàm khớp R trong ngưỡng trên "
    f"{int(agree['n_values'].sum())} giá trị được so sánh."
    + ("" if agree["within"].all() else "  **Các hàm không đạt:** "
       + ", ".join(agree.loc[~agree["within"], "routine"]) + ".")))

# %% [markdown]
# ## 3. Phiên bản phần mềm

# %%
pv = python_versions()
rv = r_versions()
display(Markdown(
    f"Python {pv.iloc[0]['installed']}; {len(pv) - 1} gói được ghim trong `requirements.lock`"
    + (f", {int((pv['pinned'] != pv['installed']).iloc[1:].sum())} gói cài khác phiên bản ghim"
       if (pv["pinned"] != pv["installed"]).iloc[1:].any() else ", tất cả cài đúng phiên bản ghim")
    + ".  Giá trị tham chiếu R được tạo với: "
    + "; ".join(f"{s} {v}" for s, v in rv.loc[rv["software"] != "", ["software", "version"]]
                .drop_duplicates("software").itertuples(index=False)) + "."))
export.save_table(pv.rename(columns={"software": "Phần mềm", "pinned": "Phiên bản ghim",
                                     "installed": "Phiên bản đang chạy"}),
                  "07_python_versions", simulated=False, decimals=0,
                  title=export.tr("Python và các gói", "Python and packages"),
                  allowed_codes=list(pv["software"]))
export.save_table(rv.rename(columns={"fixture": "Thư mục", "software": "Phần mềm",
                                     "version": "Phiên bản", "source": "Nguồn"}),
                  "07_r_versions", simulated=False, decimals=0,
                  title=export.tr("Phiên bản R của các giá trị tham chiếu",
                                  "R versions of the reference values"),
                  allowed_codes=[*rv["fixture"], *rv["software"], *rv["source"], *rv["version"]])
display(rv)
