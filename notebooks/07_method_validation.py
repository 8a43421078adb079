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
# many simulated studies in several scenarios (the default truth; recognition → motivation
# switched off; reversed; every path zero; a small sample of officials; stronger
# missingness), and
# compares every estimate and every verdict with that truth.  Each method is judged against
# the truth of *what it estimates*: the latent SEM (items as indicators, FIML, MLR) against
# the simulator's latent standardized paths; the regressions on scale scores (naive, CR2,
# wild cluster bootstrap) and the path model on scores against the population coefficient
# of the same regression on *observed* scores, which measurement error attenuates (Spearman
# 1904; Lord & Novick 1968) and the respondents' acquiescence, a common-method component of
# every scale, shifts (so it is neither a lower bound of the latent path nor its Spearman
# attenuation) — a pseudo-truth computed from one very large pooled simulated
# study (`hlstudy.validation.estimand_truth`).  Reported: bias, RMSE and the coverage of the
# confidence intervals (at the level set by the parameter `LEVEL`, printed under the parameters
# cell) with Monte Carlo bands and exact Clopper–Pearson intervals of the rates; the verdict
# confusion table; the false-positive rate
# when every path is zero; the power of each claim at the demonstration sample size; the
# cleaning's catch rate of the injected faults; whether the results were computed by the
# code and rules as they are now.  Part 2 recomputes from the committed R fixtures, for each
# routine in its table, the worst difference between hlstudy and its R reference against the
# test suite's tolerance (every fixture folder made by an R script has a row; the test suite
# compares further reference values of these folders).  Part 3 lists the software versions.  Every number in
# the prose is computed; tables and figures go to `figures/07_*`.  **All data here are
# simulated** by design.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from hlstudy import cleaning, drivers, export, pathplot, paths
from hlstudy.display import show_numbers_as_read
from hlstudy.evidence import Rules
from hlstudy.paths import ROOT
from hlstudy.scales import scale_items
from hlstudy.validation import LATENT_SEM, attach_icc_estimand, coverage_table, recovery, scenarios
from hlstudy.validation.ragree import (
    NOISE,
    NOT_RECORDED,
    difference_bound,
    python_versions,
    r_agreement,
    r_fixture_folders,
    r_versions,
)
from hlstudy.validation.run import provenance, read_estimand, read_results
from hlstudy.validation.sources import changed_files, currency, dependency_files
from hlstudy.validation.summary import (
    claim_truth_status,
    clopper_pearson,
    coverage_band,
    coverage_by_method,
    false_positive_rate,
    summarize,
    verdict_confusion,
    verdict_rates,
)

show_numbers_as_read()   # data frames shown with 3 decimals, counts without (hlstudy.display)

# Parameters
RESULTS = "data/validation"   # folder written by `python3 make.py validate` (or build/…)
N_RUN = 0       # > 0: run this many fresh replications per scenario here instead (≈ 15 s each)
WORKERS = None  # processes for N_RUN (None: every core)
LEVEL = 0.95
#: Key paths: the hypothesised drivers of quality with a true effect, and two true zeros.
KEY_PATHS = ["TRAIN->PRO", "EDU->PRO", "MOT->RSP", "RES->RSP", "ENV->MOT", "REC->MOT",
             "COMP->STAY", "SUP->SKL", "COMP->PRO"]
SIM = True   # every table and figure of this notebook shows simulated data

export.use_style()
display(Markdown(f"*Level of every confidence interval here (`LEVEL`) / mức tin cậy của mọi khoảng "
                 f"tin cậy:* **{LEVEL:.0%}**."))
if paths.own_study():   # the other notebooks read an own instrument or own data; this one not
    display(Markdown(
        "> **Lưu ý:** notebook này kiểm chứng phương pháp trên **mô hình của luận văn** (các "
        "nghiên cứu mô phỏng từ bộ công cụ của luận văn, `data/instrument`), không phải trên bộ "
        "công cụ hay dữ liệu riêng mà các notebook 02–06 đang đọc: các thang đo, đường tác động "
        "và nhận định dưới đây là của luận văn."))


def fmt(x, d=3):
    return export.number(x, d, lang="vi")


def pct(x, d=1):
    return export.number(x, d, percent=True, lang="vi")


def cell(x, d=3):
    """A number written as text inside an exported table or note: the export language's mark."""
    return export.number(x, d)


def labels(pairs, lang=None):
    """``{code: (vi, en)}`` → ``{code: label}`` in ``lang`` (default: the export language)."""
    en = (lang or export.language()) == "en"
    return {k: en_ if en else vi for k, (vi, en_) in pairs.items()}


SCEN = scenarios()
N_SMALL = SCEN["small"].n_officials   # officials who answer in the small scenario
BLANK = SCEN["missing"].fault_rates["officials"]["item_blank"]   # share of answers left blank

# Column headings and cell labels of the exported tables: (Vietnamese, English)
_HEAD = {
    "path": ("Đường dẫn", "Path"), "latent_truth": ("β tiềm ẩn (thật)", "Latent β (truth)"),
    "estimand": ("β trên điểm thang đo (tổng thể)", "Observed-score β (population)"),
    "ratio": ("Tỷ số", "Ratio"), "spearman": ("√(tin cậy X × tin cậy Y)", "√(reliability X × reliability Y)"),
    "emp_sd": ("SD ước lượng CR2 qua các lần lặp", "SD of the CR2 estimates across replications"),
    "method": ("Phương pháp", "Method"), "truth_used": ("Giá trị thật dùng", "Truth used"),
    "n_intervals": ("Số khoảng tin cậy", "Intervals"), "abs_bias": ("|Độ chệch| TB", "Mean |bias|"),
    "rmse": ("RMSE TB", "Mean RMSE"), "coverage": ("Độ phủ", "Coverage"),
    "band_low": ("Dải dưới", "Band lower"), "band_high": ("Dải trên", "Band upper"),
    "in_band": ("Trong dải", "Within band"),
    "coverage_latent": ("Độ phủ so với β tiềm ẩn", "Coverage of the latent β"),
    "width": ("Độ rộng TB", "Mean width"),
    "construct": ("Khái niệm", "Construct"),
    "icc_truth": ("Tỷ lệ giữa xã (thật)", "Between-commune share (truth)"),
    "icc_mean": ("ICC điểm thang đo TB", "Mean ICC of the scale score"),
    "icc_score_truth": ("ICC thật của điểm thang đo", "True ICC of the scale score"),
    "icc_cov": ("Độ phủ KTC (F): tỷ lệ ẩn", "F-interval coverage: latent share"),
    "icc_mcse": ("MCSE (tỷ lệ ẩn)", "MCSE (latent share)"),
    "icc_cov_score": ("Độ phủ KTC (F): ICC điểm", "F-interval coverage: score ICC"),
    "icc_mcse_score": ("MCSE (ICC điểm)", "MCSE (score ICC)"),
    "rule": ("Công cụ: quy tắc", "Instrument: rule"), "measure": ("Chỉ số", "Measure"),
    "target": ("Giá trị mong muốn", "Target"), "mean": ("Trung bình", "Mean"),
    "range": ("Thấp nhất/cao nhất", "Lowest/highest"),
    "scenario": ("Kịch bản", "Scenario"), "verdict_truth": ("Kết luận đúng", "Truth-implied verdict"),
    "ledger": ("Sổ đối chiếu: {}", "Ledger: {}"), "total": ("Tổng", "Total"),
    "claim": ("Luận điểm", "Claim"), "power": ("Lực kiểm định", "Power"),
    "wrong": ("Tỷ lệ bác bỏ nhầm", "Share wrongly rejected"),
    "inconclusive": ("Tỷ lệ chưa kết luận", "Share inconclusive"),
    "level": ("Mức", "Level"), "fp_rate": ("Tỷ lệ dương tính giả", "False-positive rate"),
    "count": ("Số lần", "Count"),
    "ci_low": ("KTC Clopper–Pearson: dưới", "Clopper–Pearson CI: lower"),
    "ci_high": ("KTC Clopper–Pearson: trên", "Clopper–Pearson CI: upper"),
    "routine": ("Hàm hlstudy", "hlstudy routine"), "r_function": ("Hàm R", "R function"),
    "fixture": ("Thư mục", "Fixture folder"), "cases": ("Trường hợp", "Cases"),
    "n_values": ("Số giá trị", "Values compared"),
    "worst_difference": ("Chênh lệch lớn nhất", "Largest difference"),
    "worst_at": ("Ở đâu", "Where"), "tolerance": ("Ngưỡng", "Tolerance"),
    "metric": ("Cách đo", "Metric"), "within": ("Đạt", "Within"),
    "yes": ("có", "yes"), "no": ("không", "no"),
    "software": ("Phần mềm", "Software"), "pinned": ("Phiên bản ghim", "Pinned version"),
    "installed": ("Phiên bản đang chạy", "Installed version"), "version": ("Phiên bản", "Version"),
    "source": ("Nguồn", "Source"),
}
H = labels(_HEAD)
_SCEN = {"default": ("Giá trị gốc", "Default truth"),
         "path_off": ("Tắt REC → MOT", "REC → MOT off"),
         "path_reversed": ("Đảo dấu REC → MOT", "REC → MOT reversed"),
         "all_zero": ("Mọi đường dẫn bằng 0", "Every path zero"),
         "small": (f"Khoảng {N_SMALL} cán bộ trả lời", f"About {N_SMALL} officials answer"),
         "missing": ("Thiếu dữ liệu nhiều hơn", "More missing answers")}
_METHOD = {"naive": ("OLS, SE thông thường", "OLS, naive SE"),
           "CR2": ("OLS, CR2 (Satterthwaite)", "OLS, CR2 (Satterthwaite)"),
           "wild": ("OLS, bootstrap hoang dã theo cụm", "OLS, wild cluster bootstrap"),
           "SEM (FIML, MLR)": ("SEM điểm thang đo (FIML, MLR)", "SEM on scale scores (FIML, MLR)"),
           LATENT_SEM: ("SEM tiềm ẩn (FIML, MLR)", "Latent SEM (FIML, MLR)"),
           "SEM complete items (listwise)": ("SEM, loại theo danh sách", "SEM, listwise"),
           "SEM complete items (FIML)": ("SEM, FIML", "SEM, FIML"),
           "ledger": ("sổ đối chiếu (Holm)", "ledger (Holm)")}
_VERD = {"supported": ("được ủng hộ", "supported"),
         "inconclusive": ("chưa kết luận được", "inconclusive"),
         "not supported": ("không được ủng hộ", "not supported"),
         "not testable": ("không kiểm định được", "not testable")}
_FP_LEVEL = {"claim (any claim, per replication)": ("ít nhất một luận điểm trong một lần lặp",
                                                    "any claim, per replication"),
             "claim (per verdict)": ("từng kết luận luận điểm", "each claim verdict"),
             "path (per interval)": ("từng khoảng tin cậy của đường dẫn", "each path interval")}
_CLEAN_METRIC = {"catch rate": ("tỷ lệ bắt được lỗi cài vào", "share of injected faults caught"),
                 "false drop rate": ("tỷ lệ loại nhầm phiếu sạch", "share of clean records dropped")}
_INSTRUMENT = {"officials": ("cán bộ", "officials"), "citizens": ("người dân", "citizens"),
               "personnel": ("danh sách trích ngang", "personnel register")}
SCEN_LAB, METHOD_LAB, VERD_LAB = labels(_SCEN), labels(_METHOD), labels(_VERD)


#: the clean records (the false-drop rows), beside the rules' names of notebook 02
_KEPT = {"kept": ("phiếu sạch (mọi quy tắc)", "clean records (every rule)")}


def rule_label(quantity):
    """``officials:duplicates`` → ``cán bộ: Nộp trùng lặp``: the rule's name as notebook 02
    gives it (``cleaning.RULE_LABELS``)."""
    inst, _, rule = str(quantity).partition(":")
    name = labels({**cleaning.RULE_LABELS, **_KEPT}).get(rule, rule)
    return f"{labels(_INSTRUMENT).get(inst, inst)}: {name}" if rule else str(quantity)


est_table, reliability = read_estimand(ROOT / RESULTS)
if N_RUN > 0:
    res = pd.concat([attach_icc_estimand(
        recovery(N_RUN, scenario=s, workers=WORKERS, estimand=est_table[est_table["scenario"] == s]),
        reliability[reliability["scenario"] == s]) for s in SCEN], ignore_index=True)
    manifest = {"replications": dict.fromkeys(SCEN, N_RUN),
                "command": f"notebook 07 (N_RUN = {N_RUN})"}
else:
    res, manifest = read_results(ROOT / RESULTS)
R_REP = res.groupby("scenario")["seed"].nunique()
# Vietnamese labels of the prose (the notebook's language)
SCEN_VI, METHOD_VI = labels(_SCEN, "vi"), labels(_METHOD, "vi")
secs = manifest.get("seconds_total")
PROV = provenance(manifest)
_by_commit = [(c, [SCEN_VI.get(x, x) for x in g["scenario"]]) for c, g in PROV.groupby("commit", sort=False)]
_commits = "; ".join((f"commit `{c[:10]}`" if c else "commit không ghi") + f" ({', '.join(names)})"
                     for c, names in _by_commit)
_no_latent = [SCEN_VI.get(x, x) for x in PROV.loc[~PROV["latent_sem"], "scenario"]]
# do the results match the code and rules as they are now? (hlstudy.validation.sources)
CUR = currency(manifest) if N_RUN == 0 else None


def currency_text(cur):
    """The currency of the results in one paragraph: which scenarios match the code and the
    rules as they are now, and each file changed since the others were computed."""
    if cur is None or cur.empty:
        return ""
    _currency_vi = []
    for status, g in cur.groupby("status", sort=True):
        scen = ", ".join(SCEN_VI.get(x, x) for x in g["scenario"])
        files = changed_files(g)
        _via_vi = " (so với commit đã ghi, qua git: kết quả cũ không ghi mã băm)" if (
            g["basis"] == "git").all() else ""
        if status == "current":
            _currency_vi.append(
                f"Kết quả của kịch bản {scen} **khớp mã nguồn và quy tắc hiện tại**"
                + (_via_vi or f": mã băm SHA-256 của {len(dependency_files())} tệp mà chuỗi "
                   "phân tích chạy và đọc (mã nguồn `hlstudy`, `data/instrument`, "
                   "`data/reference`, `requirements.lock`) đúng bằng mã băm ghi lúc chạy") + ".")
        elif status == "changed":
            shown = ", ".join(f"`{f}`" for f in files[:12])
            _more_vi = f" và {len(files) - 12} tệp khác" if len(files) > 12 else ""
            _currency_vi.append(
                f"**Kết quả của kịch bản {scen} không còn khớp mã hiện tại**{_via_vi}: "
                f"{len(files)} tệp đã đổi từ lúc chạy ({shown}{_more_vi}); chạy lại "
                "`python3 make.py validate` để tính lại với mã hiện tại.")
        else:
            _currency_vi.append(
                f"Không kiểm tra được kết quả của kịch bản {scen} có khớp mã hiện tại hay không "
                "(không có mã băm, không đọc được commit qua git): coi như có thể đã cũ.")
    return "  ".join(_currency_vi) + "  "


display(Markdown(
    f"Kết quả đọc từ `{RESULTS}` (lệnh `{manifest.get('command', '')}`"
    + (f"; mã nguồn: {_commits}" if len(PROV) else "")
    + (f"; chạy mất {fmt(secs / 60, 0)} phút" if secs else "") + "): "
    + "; ".join(f"{SCEN_VI.get(s, s)}: **{int(R_REP.get(s, 0))}** lần lặp" for s in SCEN
                if s in R_REP.index)
    + f" — tổng **{int(res[['scenario', 'seed']].drop_duplicates().shape[0])}** nghiên cứu mô "
    "phỏng, mỗi nghiên cứu đi qua toàn bộ chuỗi phân tích.  Các con số dưới đây dựa trên "
    "chừng ấy lần lặp; sai số Monte Carlo (MCSE) đi kèm mỗi tỷ lệ.  Giá trị thật của hồi quy "
    f"trên điểm thang đo được tính từ **{int(est_table['n_studies'].max())}** nghiên cứu mô "
    f"phỏng gộp lại (khoảng {fmt(est_table['n_officials'].max(), 0)} cán bộ) cho mỗi kịch bản.  "
    + currency_text(CUR)
    + (f"SEM tiềm ẩn không được ước lượng ở kịch bản {', '.join(_no_latent)} (để tiết kiệm thời "
       "gian chạy): các bảng và hình của SEM tiềm ẩn không có kịch bản này." if _no_latent else "")))

# %% [markdown]
# ## 1. Khôi phục tham số
#
# ### 1.1 Hai loại "giá trị thật" của hệ số đường dẫn
#
# Bộ mô phỏng sinh dữ liệu từ một mô hình **tiềm ẩn**: hệ số chuẩn hóa giữa các khái niệm
# (ví dụ môi trường làm việc → động lực, ở bảng dưới) là giá trị thật mà **SEM tiềm ẩn** (các câu
# hỏi là chỉ báo của khái niệm, như notebook 05) nhắm tới.  Hồi quy trên **điểm thang đo**
# (trung bình các câu hỏi) thì khác: điểm thang đo chứa sai số đo lường, nên hệ số của nó bị
# kéo về 0 — hiện tượng suy giảm do độ tin cậy không hoàn hảo (Spearman 1904; Lord & Novick
# 1968): với hồi quy đơn, hệ số chuẩn hóa quan sát được ≈ hệ số tiềm ẩn × √(độ tin cậy X ×
# độ tin cậy Y); trong hồi quy bội, sai số đo của các biến kiểm soát còn chuyển một phần
# tác động sang các biến tương quan với chúng.  Thêm vào đó, thiên hướng đồng ý
# (acquiescence) của người trả lời là một thành phần chung của mọi thang đo (sai số do
# phương pháp chung): nó tạo ra tương quan giữa các điểm thang đo không đến từ các khái
# niệm.  Vì vậy hệ số trên điểm thang đo không phải cận dưới của hệ số tiềm ẩn, cũng không
# đúng bằng mức suy giảm của Spearman (bảng dưới).  Cái mà hồi quy trên điểm thang đo ước lượng
# nhất quán là **hệ số của chính hồi quy đó trong tổng thể điểm quan sát**.  Không có công
# thức đóng cho nó (điểm là trung bình của câu trả lời 5 mức có thiên hướng đồng ý), nên nó
# được tính bằng Monte Carlo: mô phỏng rất nhiều nghiên cứu của cùng kịch bản, cho qua đúng
# quy trình nhập, làm sạch và tính điểm, gộp lại thành một mẫu rất lớn và ước lượng cùng hồi
# quy (`estimand_truth`); sai số Monte Carlo của nó tính bằng trung bình theo lô.  Mỗi
# phương pháp được đánh giá với giá trị thật của đại lượng mà nó ước lượng.

# %%
key_est = est_table[(est_table["scenario"] == "default") & (est_table["estimand"] == "scale scores")
                    & est_table["quantity"].isin(KEY_PATHS)].set_index("quantity").loc[
    [p for p in KEY_PATHS if p in set(est_table["quantity"])]]
rel = reliability[(reliability["scenario"] == "default")
                  & (reliability["estimand"] == "scale scores")].set_index("construct")["reliability"]
xs = [p.split("->")[0] for p in key_est.index]
ys = [p.split("->")[1] for p in key_est.index]
spearman = np.sqrt(rel.reindex(xs).to_numpy() * rel.reindex(ys).to_numpy())
ratio = np.where(key_est["truth"].abs() > 1e-9, key_est["truth_estimand"] / key_est["truth"].where(
    key_est["truth"].abs() > 1e-9), np.nan)
cr2_def = res[(res["scenario"] == "default") & (res["method"] == "CR2")]
emp_se = cr2_def.groupby("quantity")["estimate"].std(ddof=1).reindex(key_est.index)
estimand_tab = pd.DataFrame({
    H["path"]: [p.replace("->", " → ") for p in key_est.index],
    H["latent_truth"]: key_est["truth"].to_numpy(),
    H["estimand"]: key_est["truth_estimand"].to_numpy(),
    "MCSE": key_est["mcse"].to_numpy(), H["ratio"]: ratio,
    H["spearman"]: spearman,
    H["emp_sd"]: emp_se.to_numpy()})
export.save_table(
    estimand_tab, "07_estimand_truth", simulated=SIM, decimals=3,
    title=export.tr("Giá trị thật của hệ số tiềm ẩn và của hồi quy trên điểm thang đo",
                    "Latent truth and observed-score estimand of the key paths"),
    note=export.tr(f"Kịch bản gốc. Hồi quy trên điểm thang đo: {int(key_est['n_studies'].iloc[0])} "
                   f"nghiên cứu gộp ({fmt(key_est['n_officials'].iloc[0], 0)} cán bộ); MCSE theo "
                   "trung bình lô. Độ tin cậy: bình phương tương quan giữa điểm thang đo và khái "
                   "niệm ẩn trong mẫu gộp.",
                   f"Default scenario. Observed-score regression on {int(key_est['n_studies'].iloc[0])}"
                   " pooled studies; MCSE by batch means. Reliability: squared correlation of the "
                   "scale score with its latent construct in the pooled sample."))
display(estimand_tab)
on = np.isfinite(ratio) & (np.abs(key_est["truth"].to_numpy()) >= 0.15)
all_est = est_table[(est_table["scenario"] == "default") & (est_table["estimand"] == "scale scores")]
mc_ratio = float((all_est["mcse"] / cr2_def.groupby("quantity")["estimate"].std(ddof=1)
                  .reindex(all_est["quantity"]).to_numpy()).max())
zero = est_table[(est_table["scenario"] == "all_zero") & (est_table["estimand"] == "scale scores")]
# paths whose scale-score estimand lies further from 0 than the latent path (by > 2 MCSE):
# attenuation alone cannot do that, the common-method (acquiescence) component does
above = all_est[all_est["truth_estimand"].abs() - all_est["truth"].abs() > 2 * all_est["mcse"]]
above_key = [p for p in key_est.index if p in set(above["quantity"])]
gap = np.abs(ratio - spearman)
worst_gap = key_est.index[int(np.nanargmax(np.where(on, gap, np.nan)))]
rec = est_table[(est_table["estimand"] == "scale scores") & (est_table["quantity"] == "REC->MOT")
                ].set_index("scenario")


def path_vi(p):
    return p.replace("->", " → ")


display(Markdown(
    f"Độ tin cậy của các điểm thang đo (tương quan bình phương với khái niệm ẩn) từ "
    f"{fmt(rel.drop(['EDU', 'TENURE'], errors='ignore').min(), 2)} đến "
    f"{fmt(rel.drop(['EDU', 'TENURE'], errors='ignore').max(), 2)}.  Với {int(on.sum())} đường "
    f"dẫn chính có tác động thật từ 0,15 trở lên, tỷ số giữa hệ số trên điểm thang đo và hệ số "
    f"tiềm ẩn chạy từ {fmt(np.nanmin(ratio[on]), 2)} đến {fmt(np.nanmax(ratio[on]), 2)}, trong khi "
    f"hệ số suy giảm √(tin cậy X × tin cậy Y) của Spearman chỉ từ {fmt(np.nanmin(spearman[on]), 2)} "
    f"đến {fmt(np.nanmax(spearman[on]), 2)}: lệch nhiều nhất ở {path_vi(worst_gap)} (tỷ số "
    f"{fmt(ratio[list(key_est.index).index(worst_gap)], 2)} so với "
    f"{fmt(spearman[list(key_est.index).index(worst_gap)], 2)}).  Ví dụ, môi trường → động lực: "
    f"tiềm ẩn {fmt(key_est.at['ENV->MOT', 'truth'], 2)}, trên điểm thang đo "
    f"{fmt(key_est.at['ENV->MOT', 'truth_estimand'])}.  "
    f"Ở **{len(above)}/{len(all_est)}** đường dẫn của mô hình (kịch bản gốc), hệ số trên điểm "
    "thang đo xa 0 hơn hệ số tiềm ẩn (hơn 2 MCSE)"
    + (", trong đó các đường dẫn chính " + "; ".join(
        f"{path_vi(p)} (tiềm ẩn {fmt(key_est.at[p, 'truth'])}, trên điểm thang đo "
        f"{fmt(key_est.at[p, 'truth_estimand'])})" for p in above_key) if above_key else "")
    + (f"; khi tắt khen thưởng → động lực, hệ số tiềm ẩn là {fmt(rec.at['path_off', 'truth'])} "
       f"nhưng hệ số trên điểm thang đo là {fmt(rec.at['path_off', 'truth_estimand'])}"
       if "path_off" in rec.index else "")
    + ".  Suy giảm do sai số đo không thể làm điều đó"
    + (f"; nó cũng không giải thích được kịch bản đảo dấu, nơi hệ số tiềm ẩn "
       f"{fmt(rec.at['path_reversed', 'truth'], 2)} chỉ còn "
       f"{fmt(rec.at['path_reversed', 'truth_estimand'])} trên điểm thang đo (tỷ số "
       f"{fmt(rec.at['path_reversed', 'truth_estimand'] / rec.at['path_reversed', 'truth'], 2)})"
       if "path_reversed" in rec.index else "")
    + ".  Hệ số trên điểm thang đo gộp suy giảm do "
    "sai số đo với một thành phần phương pháp chung (thiên hướng đồng ý), nên nó **không phải "
    "cận dưới** của tác động giữa các khái niệm, cũng **không phải** suy giảm Spearman thuần "
    "túy.  Sai số Monte Carlo của giá trị thật "
    f"này nhỏ: tối đa {fmt(mc_ratio, 2)} lần độ lệch chuẩn của ước lượng CR2 qua các lần lặp, "
    "nên nó không làm sai lệch đáng kể độ phủ."
    + (f"  Khi mọi đường dẫn tiềm ẩn bằng 0, hệ số trên điểm thang đo vẫn khác 0 một chút "
       f"(lớn nhất |β| = {fmt(zero['truth_estimand'].abs().max())}, trung bình "
       f"{fmt(zero['truth_estimand'].abs().mean())}): thiên hướng đồng ý của người trả lời "
       "(acquiescence) là một sai số chung cho mọi thang đo." if len(zero) else "")))

# %% [markdown]
# ### 1.2 Độ phủ của khoảng tin cậy, với dải Monte Carlo

# %%
display(Markdown(
    f"Độ phủ của khoảng tin cậy {pct(LEVEL, 0)} của mỗi phương pháp được đo so với giá trị "
    "thật của đại lượng nó ước lượng: các hồi quy — SE thông thường, CR2, bootstrap hoang dã "
    "theo cụm (wild cluster bootstrap) — và SEM trên điểm thang đo so với hệ số tổng thể trên "
    "điểm thang đo; SEM tiềm ẩn so với hệ số tiềm ẩn.  Một độ phủ là \"đạt\" khi nó nằm trong "
    f"dải {pct(LEVEL, 0)} ± 1,96 × √({fmt(LEVEL, 2)} × {fmt(1 - LEVEL, 2)} / R) với R là số "
    "khoảng tin cậy (Morris, White & Crowther 2019), cắt ở 1: độ phủ là một tỷ lệ, không vượt "
    "1.  Một độ phủ nằm trong dải đúng khi khoảng Wilson của nó chứa "
    f"{pct(LEVEL, 0)} (`coverage_band`).  Cột \"so với β tiềm ẩn\" cho thấy điều xảy ra nếu so "
    "hồi quy trên điểm thang đo với hệ số tiềm ẩn: độ phủ thấp là do suy giảm, không phải do "
    "sai số chuẩn."))

# %%
paths = res[res["kind"] == "path"]
methods = [m for m in _METHOD if m in set(paths["method"])]
pooled = coverage_by_method(paths, level=LEVEL, center="estimand")
pooled_latent = coverage_by_method(paths, level=LEVEL)
per_path = summarize(paths, by=("scenario", "method", "quantity"), level=LEVEL, center="estimand")
err = per_path.groupby(["scenario", "method"]).agg(abs_bias=("bias", lambda b: b.abs().mean()),
                                                  rmse=("rmse", "mean")).reset_index()
tab = pooled.drop(columns=["bias", "rmse"]).merge(err, on=["scenario", "method"]).merge(
    pooled_latent[["scenario", "method", "coverage"]], on=["scenario", "method"],
    suffixes=("", "_latent"))
tab = tab[tab["scenario"] == "default"].set_index("method")
tab = tab.loc[[m for m in methods if m in tab.index]].reset_index()
path_table = pd.DataFrame({
    H["method"]: tab["method"].map(METHOD_LAB),
    H["truth_used"]: np.where(tab["method"] == LATENT_SEM,
                              export.tr("β tiềm ẩn", "latent β"),
                              export.tr("β trên điểm thang đo", "observed-score β")),
    H["n_intervals"]: tab["n_intervals"], H["abs_bias"]: tab["abs_bias"],
    H["rmse"]: tab["rmse"], H["coverage"]: tab["coverage"], "MCSE": tab["coverage_mcse"],
    H["band_low"]: tab["band_low"], H["band_high"]: tab["band_high"],
    H["in_band"]: tab["coverage_ok"].map({True: H["yes"], False: H["no"]}),
    H["coverage_latent"]: tab["coverage_latent"], H["width"]: tab["mean_width"]})
export.save_table(
    path_table, "07_path_recovery", simulated=SIM, decimals=3,
    title=export.tr("Khôi phục hệ số đường dẫn (kịch bản gốc)",
                    "Recovery of the structural paths (default scenario)"),
    note=export.tr(f"{int(R_REP.get('default', 0))} nghiên cứu mô phỏng; gộp mọi đường dẫn của "
                   "mô hình nghiên cứu. Độ chệch và độ phủ so với giá trị thật của đại lượng mỗi "
                   "phương pháp ước lượng. MCSE gộp là cận dưới (các đường dẫn trong một lần lặp "
                   "tương quan với nhau).",
                   f"{int(R_REP.get('default', 0))} simulated studies; all paths pooled. Bias and "
                   "coverage against the truth of what each method estimates. The pooled MCSE is "
                   "a lower bound (paths of one replication are correlated)."))
display(path_table)

# %%
ct = coverage_table(res, KEY_PATHS, scenario="default", level=LEVEL)
ct = ct[ct["method"].isin(methods)]
key_order = [p for p in KEY_PATHS if p in set(ct["quantity"])]
wide = ct.pivot(index="quantity", columns="method", values="coverage").reindex(key_order)
ok = ct.pivot(index="quantity", columns="method", values="coverage_ok").reindex(key_order)
n_int = ct.groupby("method")["n_intervals"].max()
key_table = pd.DataFrame({H["path"]: [p.replace("->", " → ") for p in key_order]})
for m in [m for m in methods if m in wide.columns]:
    key_table[METHOD_LAB[m]] = [
        "–" if not np.isfinite(v) else cell(v, 3) + ("" if o else " ✗")
        for v, o in zip(wide[m], ok[m], strict=True)]
band_text = "; ".join(
    f"{METHOD_LAB[m]}: {cell(coverage_band(LEVEL, n)[0], 3)}–{cell(coverage_band(LEVEL, n)[1], 3)}"
    f" (R = {int(n)})" for m, n in n_int.items() if m in methods)
export.save_table(
    key_table, "07_key_paths", simulated=SIM, decimals=3,
    title=export.tr(f"Độ phủ của KTC {pct(LEVEL, 0)} ở các đường dẫn chính, theo phương pháp",
                    f"Coverage of the {LEVEL:.0%} intervals of the key paths, by method"),
    note=export.tr("Kịch bản gốc; mỗi phương pháp so với giá trị thật của đại lượng nó ước "
                   f"lượng. ✗: ngoài dải Monte Carlo. Dải: {band_text} ({pct(LEVEL, 0)} ± 1,96 "
                   "MCSE, cắt ở 1 vì độ phủ là một tỷ lệ: các độ phủ có khoảng Wilson chứa "
                   f"{pct(LEVEL, 0)}).",
                   "Default scenario; each method against the truth of what it estimates. ✗: "
                   f"outside the Monte Carlo band. Bands: {band_text} ({LEVEL:.0%} ± 1.96 MCSE, "
                   "cut at 1 as a coverage is a proportion: the coverages whose Wilson interval "
                   f"holds {LEVEL:.0%})."),
    allowed_codes=list(key_table.columns))
display(key_table)
summary_lines = []
for m in [m for m in methods if m in set(ct["method"])]:
    g = ct[ct["method"] == m]
    summary_lines.append(
        f"{METHOD_VI[m]}: **{int(g['coverage_ok'].sum())}/{len(g)}** đường dẫn trong dải "
        f"(độ phủ {fmt(g['coverage'].min(), 2)}–{fmt(g['coverage'].max(), 2)}"
        + (f"; so với β tiềm ẩn chỉ {fmt(g['coverage_latent'].min(), 2)}–"
           f"{fmt(g['coverage_latent'].max(), 2)}" if m != LATENT_SEM else "") + ")")
cal = tab.set_index("method")
_struct = drivers.structure()
_used = set(_struct) | {p for preds in _struct.values() for p in preds}
N_LATENT_ITEMS = sum(len(v) for k, v in scale_items("officials").items() if k in _used)
n_lat = int(paths.loc[(paths["scenario"] == "default") & (paths["method"] == LATENT_SEM),
                      "seed"].nunique())
pooled_text = "; ".join(
    f"{METHOD_VI[m]} {pct(cal.at[m, 'coverage'])} (MCSE {pct(cal.at[m, 'coverage_mcse'])}, "
    + ("trong" if cal.at[m, "coverage_ok"] else "ngoài") + " dải)"
    for m in cal.index)
display(Markdown(
    "**Đường dẫn chính, từng đường dẫn:** " + "; ".join(summary_lines) + ".  "
    f"**Gộp mọi đường dẫn (kịch bản gốc):** {pooled_text}.  "
    + (f"Tiêu chí kiểm chứng của CR2 là: ở mỗi đường dẫn chính, độ "
       "phủ của khoảng tin cậy CR2 so với giá trị thật của đại lượng nó ước lượng phải nằm "
       f"trong dải Monte Carlo; tiêu chí này đạt ở "
       f"{int(ct.loc[ct['method'] == 'CR2', 'coverage_ok'].sum())}/"
       f"{int((ct['method'] == 'CR2').sum())} đường dẫn chính.  " if "CR2" in set(ct["method"]) else "")
    + "β trên điểm thang đo gộp suy giảm do sai số đo với thiên hướng đồng ý (mục 1.1), nên "
    "không phải cận dưới của tác động giữa các khái niệm; SEM tiềm ẩn hiệu chỉnh sai số đo "
    "và khoảng tin cậy của nó phủ hệ số tiềm ẩn."
    + (f"  SEM tiềm ẩn ({N_LATENT_ITEMS} câu hỏi, FIML) hội tụ ở **{n_lat}/{int(R_REP.get('default', 0))}** "
       "lần lặp của kịch bản gốc; các lần không hội tụ không có dòng kết quả." if n_lat else "")))

# %%
# as wide as the thesis' text (155 mm at its natural size): axis labels wrapped, the y label once
fig, axes = plt.subplots(1, 2, figsize=(pathplot.PAGE_FIGURE_WIDTH, 3.9))
for ax, m, col, xlab in zip(
        axes, ["CR2", LATENT_SEM], ["C0", "C1"],
        [export.tr("β thật của hồi quy trên điểm thang đo", "True β of the observed-score regression"),
         export.tr("β thật (mô hình tiềm ẩn)", "True β (latent model)")], strict=True):
    s = summarize(paths[(paths["scenario"] == "default") & (paths["method"] == m)],
                  by=("quantity",), level=LEVEL, center="estimand")
    if s.empty:
        ax.set_axis_off()
        continue
    ax.errorbar(s["truth"], s["mean_estimate"], yerr=1.96 * s["emp_se"], fmt="o", ms=4,
                alpha=0.7, color=col)
    lim = [min(s["truth"].min(), s["mean_estimate"].min()) - 0.05,
           max(s["truth"].max(), s["mean_estimate"].max()) + 0.05]
    ax.plot(lim, lim, color="grey", lw=1, ls="--", label=export.tr("Ước lượng = giá trị thật",
                                                                  "Estimate = truth"))
    ax.set_xlabel(pathplot.wrap_label(xlab, 28), fontsize=9)
    if ax is axes[0]:
        ax.set_ylabel(export.tr("β ước lượng (trung bình ± 1,96 SD)", "Estimated β (mean ± 1.96 SD)"),
                      fontsize=9)
    ax.set_title(METHOD_LAB[m], fontsize=9.5)
    ax.tick_params(labelsize=8)
    ax.legend(loc="upper left", fontsize=7.5)
fig.suptitle(export.tr("Giá trị thật và ước lượng của các hệ số đường dẫn",
                       "True and estimated path coefficients"), fontsize=10.5)
fig.tight_layout()
_ = export.save_figure(fig, "07_paths_truth_estimate", simulated=SIM)

# %%
cov_all = coverage_by_method(paths, level=LEVEL, center="estimand")
scen_order = [s for s in SCEN if s in set(cov_all["scenario"])]
# as wide as the thesis' text; scenario names wrapped, the legend in two columns below
fig, ax = plt.subplots(figsize=(pathplot.PAGE_FIGURE_WIDTH, 4.9))
width = 0.8 / max(1, len(methods))
for i, m in enumerate(methods):
    c = cov_all[cov_all["method"] == m]
    c = c.set_index("scenario").reindex(scen_order)
    x = np.arange(len(scen_order)) + (i - (len(methods) - 1) / 2) * width
    ax.errorbar(x, c["coverage"], yerr=1.96 * c["coverage_mcse"], fmt="o", ms=4,
                label=METHOD_LAB[m])
# the band of the most common number of intervals (each method's own band is wider when it
# has fewer intervals, e.g. the wild bootstrap, computed for a few paths only)
n_band = int(cov_all["n_intervals"].mode().iloc[0])
half = 1.96 * np.sqrt(LEVEL * (1 - LEVEL) / n_band)
nominal = f"{LEVEL * 100:.0f}%"
ax.axhline(LEVEL, color="black", lw=1,
           label=export.tr(f"Độ phủ danh nghĩa {nominal}", f"Nominal coverage {nominal}"))
ax.axhspan(LEVEL - half, LEVEL + half, color="grey", alpha=0.15,
           label=export.tr(f"Dải Monte Carlo quanh {nominal} (n = {n_band})",
                           f"Monte Carlo band around {nominal} (n = {n_band})"))
ax.set_xticks(np.arange(len(scen_order)), [pathplot.wrap_label(SCEN_LAB[s], 12) for s in scen_order],
              fontsize=8)
ax.tick_params(axis="y", labelsize=8)
ax.set_ylabel(export.tr(f"Độ phủ của KTC {pct(LEVEL, 0)}\n(so với giá trị thật\ncủa đại lượng "
                        "ước lượng)", f"Coverage of the {LEVEL:.0%} CI\n(against each method's "
                        "estimand)"), fontsize=9)
ax.set_ylim(max(0.0, ax.get_ylim()[0]), 1.0)
ax.legend(fontsize=7, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.16))
ax.set_title(export.tr("Độ phủ của khoảng tin cậy theo phương pháp và kịch bản",
                       "Interval coverage by method and scenario"), fontsize=10.5)
fig.tight_layout()
_ = export.save_figure(fig, "07_coverage", simulated=SIM)

# %% [markdown]
# ### 1.3 Hệ số tải, tương quan nội lớp theo xã và làm sạch dữ liệu
#
# Hệ số tải chuẩn hóa ước lượng bằng CFA (ML, từng thang đo) trên câu trả lời 5 mức; giá trị
# thật là hệ số tải của biến phản hồi liên tục ẩn y*.  Việc cắt y* thành 5 mức làm giảm
# tương quan nên ML trên câu trả lời Likert ước lượng thấp hệ số tải (tương quan
# polychoric sẽ khôi phục y*).  ICC của điểm thang đo cũng nhỏ hơn tỷ lệ phương sai giữa các
# xã của khái niệm ẩn vì sai số đo nằm trong xã; vì vậy khoảng tin cậy F của ICC được đối
# chiếu với hai giá trị: tỷ lệ của khái niệm ẩn, và ICC của chính điểm thang đo trong mẫu gộp
# rất lớn (`estimand_truth`, cột `icc`: cán bộ, công chức; khảo sát người dân không được gộp
# nên không có giá trị này) — giá trị mà ICC của điểm thang đo thực sự ước lượng.

# %%
lo = summarize(res[(res["kind"] == "loading") & (res["scenario"] == "default")],
               by=("quantity",), level=LEVEL)
icc = summarize(res[(res["kind"] == "icc") & (res["scenario"] == "default")],
                by=("method", "quantity"), level=LEVEL)
icc_a = icc[icc["method"] == "ANOVA (F interval)"].set_index("quantity")
icc_rows = res[(res["kind"] == "icc") & (res["scenario"] == "default")
               & (res["method"] == "ANOVA (F interval)")]
icc_e = (summarize(icc_rows, by=("quantity",), level=LEVEL, center="estimand").set_index("quantity")
         if np.isfinite(icc_rows["truth_estimand"]).any() else
         pd.DataFrame(columns=["truth", "coverage", "coverage_mcse"]))
icc_table = pd.DataFrame({H["construct"]: icc_a.index, H["icc_truth"]: icc_a["truth"],
                          H["icc_score_truth"]: icc_e["truth"].reindex(icc_a.index),
                          H["icc_mean"]: icc_a["mean_estimate"],
                          H["icc_cov"]: icc_a["coverage"], H["icc_mcse"]: icc_a["coverage_mcse"],
                          H["icc_cov_score"]: icc_e["coverage"].reindex(icc_a.index),
                          H["icc_mcse_score"]: icc_e["coverage_mcse"].reindex(icc_a.index)}
                         ).reset_index(drop=True)
export.save_table(
    icc_table, "07_icc_recovery", simulated=SIM, decimals=3,
    title=export.tr("Tương quan nội lớp theo xã: giá trị thật và ước lượng",
                    "Commune intraclass correlations: truth and estimates"),
    note=export.tr("ICC ANOVA với khoảng tin cậy F của điểm thang đo; giá trị thật là tỷ lệ "
                   "phương sai giữa các xã của khái niệm ẩn, ICC thật của điểm thang đo là ICC "
                   "của nó trong mẫu gộp (chỉ có cho phiếu cán bộ, công chức; trống: không tính).",
                   "ANOVA ICC of the scale score with its F interval; the truth is the latent "
                   "construct's between-commune share, the score's true ICC its ICC in the pooled "
                   "sample (officials' questionnaire only; blank: not computed)."))
display(icc_table)
clean = summarize(res[(res["kind"] == "cleaning") & (res["scenario"] == "default")],
                  by=("method", "quantity"), level=LEVEL)
clean_table = pd.DataFrame({
    H["rule"]: clean["quantity"].map(rule_label),
    H["measure"]: clean["method"].map(labels(_CLEAN_METRIC)),
    H["target"]: clean["truth"], H["mean"]: clean["mean_estimate"],
    H["range"]: [f"{cell(a, 3)}–{cell(b, 3)}" for a, b in zip(
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
                  allowed_codes=list(clean_table[H["rule"]]))
display(clean_table)
# the construct whose two coverages differ most (the latent share and the score's own ICC)
_icc_gap = ((icc_e["coverage"] - icc_a["coverage"].reindex(icc_e.index)).abs().idxmax()
            if len(icc_e) else None)
catch = clean[clean["method"] == "catch rate"]["mean_estimate"]
false = clean[clean["method"] == "false drop rate"]["mean_estimate"]
display(Markdown(
    f"Hệ số tải CFA: độ chệch trung bình {fmt(lo['bias'].mean())} (RMSE trung bình "
    f"{fmt(lo['rmse'].mean())}) trên {len(lo)} câu hỏi — ước lượng thấp như dự kiến khi phân "
    f"tích câu trả lời 5 mức bằng ML.  ICC: độ phủ trung bình của khoảng tin cậy F là "
    f"{pct(icc_a['coverage'].mean())} so với tỷ lệ giữa xã của khái niệm ẩn ({len(icc_a)} "
    "khái niệm)"
    + (f"; trên {len(icc_e)} khái niệm của phiếu cán bộ, công chức, "
       f"{pct(icc_a['coverage'].reindex(icc_e.index).mean())} so với tỷ lệ ẩn và "
       f"{pct(icc_e['coverage'].mean())} so với ICC thật của chính điểm thang đo "
       f"({int(icc_e['coverage_ok'].sum())}/{len(icc_e)} khái niệm có độ phủ trong dải Monte "
       f"Carlo quanh mức danh nghĩa {pct(LEVEL)}).  Với {int(R_REP.get('default', 0))} lần lặp, "
       f"sai số Monte Carlo của mỗi độ phủ khoảng {pct(icc_e['coverage_mcse'].mean())}; hai cách "
       f"đối chiếu khác nhau nhiều nhất ở {_icc_gap} ({pct(icc_a.at[_icc_gap, 'coverage'])} so "
       f"với tỷ lệ ẩn {fmt(icc_a.at[_icc_gap, 'truth'], 2)}, "
       f"{pct(icc_e.at[_icc_gap, 'coverage'])} so với ICC điểm thang đo "
       f"{fmt(icc_e.at[_icc_gap, 'truth'], 3)}), nơi sai số đo kéo ICC của điểm thang đo xa "
       "khỏi tỷ lệ của khái niệm ẩn" if len(icc_e) else "")
    + f".  Làm sạch: tỷ lệ bắt được lỗi cài vào thấp nhất là "
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
# ### 1.4 Kết luận kiểm định của sổ đối chiếu luận điểm
#
# Với mỗi luận điểm, "kết luận đúng" là kết luận mà chính quy tắc của sổ đối chiếu (notebook 06)
# đưa ra khi khoảng tin cậy co về giá trị thật (cỡ mẫu vô hạn): **được ủng hộ** khi tác động
# thật vượt ngưỡng hiệu ứng nhỏ nhất có ý nghĩa (SESOI) theo đúng chiều, **không được ủng
# hộ** khi nó nhỏ hơn SESOI hoặc ngược chiều.  Chỉ các luận điểm có giá trị thật tính được
# từ mô hình ẩn (đường dẫn, hiệu ứng gián tiếp) được đối chiếu; luận điểm mô tả (tỷ lệ, độ
# tin cậy) không có "giá trị thật" trong bộ mô phỏng.  Với cỡ mẫu hữu hạn, "chưa kết luận
# được" là câu trả lời trung thực khi lực kiểm định thấp; sai lầm là gọi một luận điểm
# sai là được ủng hộ (dương tính giả) hoặc bác bỏ một luận điểm đúng.

# %%
conf = verdict_confusion(res)
conf_table = conf.assign(**{H["scenario"]: conf["scenario"].map(SCEN_LAB),
                            H["verdict_truth"]: conf["verdict_truth"].map(VERD_LAB)})[
    [H["scenario"], H["verdict_truth"], "supported", "inconclusive", "not supported",
     "not testable", "n"]].rename(
    columns={**{k: H["ledger"].format(v) for k, v in VERD_LAB.items()}, "n": H["total"]})
export.save_table(conf_table, "07_verdict_confusion", simulated=SIM, decimals=0,
                  title=export.tr("Kết luận của sổ đối chiếu so với kết luận đúng",
                                  "Ledger verdicts against the truth-implied verdicts"),
                  note=export.tr("Số (lần lặp × luận điểm) có kết luận đúng tính được.",
                                 "Counts of replication × claim with a truth-implied verdict."))
display(conf_table)
rates = verdict_rates(res[res["scenario"] == "default"], level=LEVEL)
power = rates[rates["verdict_truth"] == "supported"]
power_table = pd.DataFrame({H["claim"]: power["quantity"], H["power"]: power["power"],
                            "MCSE": power["mcse"], H["ci_low"]: power["ci_low"],
                            H["ci_high"]: power["ci_high"], H["wrong"]: power["wrong"],
                            H["inconclusive"]: power["share_inconclusive"]})
export.save_table(power_table, "07_power", simulated=SIM, decimals=3,
                  title=export.tr("Lực kiểm định của từng luận điểm ở cỡ mẫu minh họa",
                                  "Power of each claim at the demonstration sample size"),
                  note=export.tr("Tỷ lệ lần lặp mà sổ đối chiếu kết luận 'được ủng hộ' khi luận điểm "
                                 "đúng (kịch bản gốc, toàn bộ cán bộ, công chức); KTC Clopper–"
                                 f"Pearson {pct(LEVEL, 0)} chính xác của tỷ lệ ấy.",
                                 "Share of replications in which the ledger says 'supported' "
                                 "when the claim is true (default scenario, census); exact "
                                 f"Clopper–Pearson {LEVEL:.0%} CI of that share."))
display(power_table)
# a claim is false where its truth-implied verdict is "not supported"; the descriptive claims
# have none and are neither true nor false (hlstudy.validation.summary.claim_truth_status)
status = claim_truth_status(res[res["scenario"] == "default"], level=LEVEL)
false_all = status[status["status"] == "false"]
false_some = status[(status["status"] == "mixed") & (status["n_false"] > 0)]
no_truth = status[status["status"] == "none"]
false_any = status[status["n_false"] > 0]
worst_fp = false_any.loc[false_any["false_positive"].idxmax()] if len(false_any) else None
p_lo = power.loc[power["power"].idxmin()]
display(Markdown(
    "Ở kịch bản gốc, lực kiểm định của các luận điểm đúng từ "
    f"{pct(power['power'].min(), 0)} ({p_lo['quantity']}: KTC Clopper–Pearson {pct(LEVEL, 0)} "
    f"{pct(p_lo['ci_low'], 0)}–{pct(p_lo['ci_high'], 0)}) đến {pct(power['power'].max(), 0)}.  "
    f"**{len(false_all)}** luận điểm sai ở mọi lần lặp (kết luận đúng là 'không được ủng hộ': "
    f"{', '.join(false_all['quantity'])})"
    + "".join(f", {r.quantity} sai ở {r.n_false}/{r.n_rep} lần lặp" for r in false_some.itertuples())
    + f"; **{len(no_truth)}** luận điểm không có kết luận đúng tính được ở lần lặp nào "
    f"({', '.join(no_truth['quantity'])}) nên không được tính là đúng hay sai."
    + (f"  Các luận điểm sai bị gọi nhầm là được ủng hộ ở tối đa "
       f"{int(worst_fp['n_false_supported'])}/{int(worst_fp['n_false'])} lần lặp "
       f"({worst_fp['quantity']}, {pct(worst_fp['false_positive'], 0)}; KTC Clopper–Pearson "
       f"{pct(LEVEL, 0)} {pct(worst_fp['ci_low'], 0)}–{pct(worst_fp['ci_high'], 0)})."
       if worst_fp is not None else "")))

# %%
fp = (false_positive_rate(res, scenario="all_zero", level=LEVEL)
      if "all_zero" in set(res["scenario"]) else None)
if fp is not None and len(fp):
    fp_table = fp.assign(**{H["level"]: fp["level"].map(labels(_FP_LEVEL)),
                            H["method"]: fp["method"].map(METHOD_LAB),
                            H["in_band"]: fp["in_band"].map({True: H["yes"], False: H["no"]})
                            .fillna("–")})[
        [H["level"], H["method"], "rate", "mcse", "ci_low", "ci_high", "band_low", "band_high",
         H["in_band"], "n"]].rename(
        columns={"rate": H["fp_rate"], "mcse": "MCSE", "n": H["count"], "ci_low": H["ci_low"],
                 "ci_high": H["ci_high"], "band_low": H["band_low"], "band_high": H["band_high"]})
    export.save_table(fp_table, "07_false_positives", simulated=SIM, decimals=3,
                      title=export.tr("Dương tính giả khi mọi đường dẫn bằng 0",
                                      "False positives when every path is zero"),
                      note=export.tr(f"{int(R_REP.get('all_zero', 0))} nghiên cứu mô phỏng. KTC "
                                     f"Clopper–Pearson {pct(LEVEL, 0)} chính xác của tỷ lệ; dải "
                                     f"Monte Carlo quanh mức danh nghĩa {pct(1 - LEVEL, 0)} (chỉ "
                                     "cho từng khoảng tin cậy).",
                                     f"{int(R_REP.get('all_zero', 0))} simulated studies. Exact "
                                     f"Clopper–Pearson {LEVEL:.0%} CI of the rate; Monte Carlo "
                                     f"band around the nominal {1 - LEVEL:.0%} (per interval "
                                     "only)."))
    display(fp_table)
    f = fp.set_index(["level", "method"])["rate"]
    fpi = fp.set_index(["level", "method"])
    fam_row = fpi.loc[("claim (any claim, per replication)", "ledger")]
    per_row = fpi.loc[("claim (per verdict)", "ledger")]
    fam, per = fam_row["rate"], per_row["rate"]
    out_band = fp[(fp["level"] == "path (per interval)") & (fp["in_band"] == False)]  # noqa: E712
    cr2_fp = f.get(("path (per interval)", "CR2"), np.nan)
    naive_fp = f.get(("path (per interval)", "naive"), np.nan)
    lat_fp = f.get(("path (per interval)", LATENT_SEM), np.nan)
    z_cov = coverage_by_method(paths[paths["scenario"] == "all_zero"], level=LEVEL,
                               center="estimand").set_index("method")
    z_k = (int(round(z_cov.at["CR2", "coverage"] * z_cov.at["CR2", "n_intervals"])),
           int(z_cov.at["CR2", "n_intervals"])) if "CR2" in z_cov.index else None
    z_ci = clopper_pearson(*z_k, LEVEL) if z_k else None
    display(Markdown(
        f"Khi mọi đường dẫn bằng 0, sổ đối chiếu gọi một luận điểm là được ủng hộ ở "
        f"**{int(per_row['k'])}/{int(per_row['n'])}** kết luận ({pct(per)}; KTC Clopper–Pearson "
        f"{pct(LEVEL, 0)} {pct(per_row['ci_low'])}–{pct(per_row['ci_high'])}), và ở "
        f"**{int(fam_row['k'])}/{int(fam_row['n'])}** lần lặp có ít nhất một luận điểm bị gọi "
        f"nhầm ({pct(fam)}, MCSE {pct(fam_row['mcse'])}; KTC Clopper–Pearson {pct(LEVEL, 0)} "
        f"{pct(fam_row['ci_low'])}–{pct(fam_row['ci_high'])}).  Với {int(fam_row['n'])} lần lặp, "
        f"điều này chỉ cho thấy sai lầm toàn họ của sổ đối chiếu (hiệu chỉnh Holm, α = "
        f"{fmt(Rules().alpha, 2)}) **không vượt quá khoảng {pct(fam_row['ci_high'], 0)}** với độ "
        f"tin cậy {pct(LEVEL, 0)}; nó không đủ để cho thấy sai lầm ấy dưới "
        f"{pct(Rules().alpha, 0)}.  Từng khoảng tin cậy CR2 "
        f"loại trừ 0 ở {pct(cr2_fp)} trường hợp (mức danh nghĩa {pct(1 - LEVEL, 0)}), khoảng "
        "tin cậy thông thường ở "
        f"{pct(naive_fp)}"
        + (f", SEM tiềm ẩn ở {pct(lat_fp)}" if np.isfinite(lat_fp) else "") + ".  "
        + ("Vượt dải Monte Carlo quanh mức danh nghĩa (bảng trên): " + "; ".join(
            f"{METHOD_VI.get(r.method, r.method)} {pct(r.rate)} (MCSE {pct(r.mcse)}; KTC "
            f"Clopper–Pearson {pct(r.ci_low)}–{pct(r.ci_high)}; dải {pct(r.band_low)}–"
            f"{pct(r.band_high)})" for r in out_band.itertuples())
           + " — các khoảng tin cậy này bác bỏ giả thuyết đúng (hệ số bằng 0) nhiều hơn mức "
           "danh nghĩa"
           + (", kể cả SEM tiềm ẩn, mà giá trị thật (hệ số tiềm ẩn bằng 0) không chịu ảnh hưởng "
              "của thiên hướng đồng ý: ở kịch bản này, SEM tiềm ẩn gọi nhầm một đường dẫn bằng 0 "
              "là khác 0 thường hơn mức danh nghĩa của nó."
              if LATENT_SEM in set(out_band["method"]) else ".") + "  " if len(out_band) else "")
        + ("Một phần tỷ lệ của các phương pháp trên điểm thang đo không phải lỗi của sai số "
           "chuẩn: trên điểm thang đo, hệ số "
           "tổng thể không đúng bằng 0 (thiên hướng đồng ý, xem mục 1.1); so với giá trị thật "
           f"của hồi quy trên điểm thang đo, độ phủ của CR2 là {pct(z_cov.at['CR2', 'coverage'])}"
           f" (MCSE {pct(z_cov.at['CR2', 'coverage_mcse'])}; KTC Clopper–Pearson "
           f"{pct(z_ci[0])}–{pct(z_ci[1])})."
           if "CR2" in z_cov.index else "")))

# %%
s5 = res[(res["kind"] == "verdict") & (res["quantity"] == "S5")]
if len(s5):
    s5_tab = (s5.groupby(["scenario", "verdict_truth", "verdict"]).size().unstack("verdict", fill_value=0)
              .reindex(columns=list(_VERD), fill_value=0).rename_axis(columns=None).reset_index())
    s5_tab = s5_tab.assign(**{H["scenario"]: s5_tab["scenario"].map(SCEN_LAB),
                              H["verdict_truth"]: s5_tab["verdict_truth"].map(VERD_LAB)})[
        [H["scenario"], H["verdict_truth"], *_VERD]].rename(
        columns={k: H["ledger"].format(v) for k, v in VERD_LAB.items()})
    export.save_table(s5_tab, "07_switch_s5", simulated=SIM, decimals=0,
                      title=export.tr("Luận điểm S5 (khen thưởng → động lực) khi tắt hoặc đảo "
                                      "dấu đường dẫn", "Claim S5 (recognition → motivation) with "
                                      "the path switched off or reversed"),
                      note=export.tr("Số lần lặp theo kết luận của sổ đối chiếu.",
                                     "Replications by the ledger's verdict."))
    display(s5_tab)
    s5_n = s5.groupby("scenario")["verdict"].value_counts().unstack(fill_value=0).reindex(
        columns=list(_VERD), fill_value=0)
    s5_r = s5.groupby("scenario")["seed"].nunique()

    def s5_count(scen, verdict):
        return f"{int(s5_n.at[scen, verdict])}/{int(s5_r[scen])}"

    have = [x for x in ("default", "path_reversed", "path_off") if x in s5_n.index]
    if len(have) == 3:
        display(Markdown(
            f"Ở cỡ mẫu minh họa, sổ đối chiếu gọi S5 là 'được ủng hộ' ở {s5_count('default', 'supported')} "
            f"lần lặp khi tác động khen thưởng → động lực là thật (lực kiểm định "
            f"{pct(s5_n.at['default', 'supported'] / s5_r['default'], 0)}), nhưng gọi nó là 'không "
            f"được ủng hộ' chỉ ở {s5_count('path_reversed', 'not supported')} lần lặp khi tác động "
            f"bị đảo dấu ({s5_count('path_reversed', 'inconclusive')} 'chưa kết luận được') và "
            f"{s5_count('path_off', 'not supported')} lần lặp khi nó bị tắt "
            f"({s5_count('path_off', 'inconclusive')} 'chưa kết luận được').  Nói thẳng: **ở cỡ "
            "mẫu này, sổ đối chiếu không phân biệt được một tác động khen thưởng → động lực bị "
            "đảo chiều hay không tồn tại với một tác động thật** — phần lớn các lần lặp của cả ba "
            "kịch bản kết thúc ở 'chưa kết luận được'."))

# %%
mis = paths[paths["scenario"] == "missing"]
if len(mis):
    ms = summarize(mis, by=("method",), level=LEVEL, center="estimand").set_index("method")
    n_used = mis.groupby("method")["n"].mean()
    keep = [m for m in ("SEM complete items (listwise)", "SEM complete items (FIML)") if m in ms.index]
    if len(keep) == 2:
        lw, fi = keep
        display(Markdown(
            f"**Thiếu dữ liệu.** Khi {pct(BLANK, 0)} câu trả lời bị bỏ trống và điểm thang đo "
            "chỉ tính khi đủ "
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
        f"**Mẫu nhỏ (khoảng {N_SMALL} cán bộ trả lời; trung vị {fmt(small['n'].median(), 0)} phiếu "
        "dùng trong mô hình).** Lực kiểm định trung bình "
        f"của các luận điểm đúng chỉ còn {pct(sp['power'].mean(), 0)}; {pct(nt, 0)} kết luận là "
        "'không kiểm định được' (xã chỉ có một người trả lời được gộp vào xã khác cùng xã mới "
        "năm 2025 khi tính sai số chuẩn theo cụm, nên các luận điểm vẫn kiểm định được).  Một "
        f"luận văn chỉ khảo sát khoảng {N_SMALL} cán bộ nên dự kiến nhiều kết luận 'chưa kết "
        "luận được'."))

# %% [markdown]
# ## 2. Đối chiếu với R
#
# Mỗi dòng đọc dữ liệu và giá trị R đã lưu trong `tests/fixtures/` (kèm kịch bản R tạo ra
# chúng; dòng `models.sensitivity`: các giá trị công bố của ví dụ Darfur của sensemakr, Cinelli
# & Hazlett 2020, trong `tests/fixtures/models/sensemakr_darfur.json`), tính lại bằng hlstudy
# khi notebook chạy, và cho chênh lệch lớn nhất so với ngưỡng sai số của bộ kiểm thử.

# %%
agree = r_agreement()
# rounding noise (< 1e-10) is machine-dependent in value and place: shown as a bound only
agree_table = agree.assign(
    worst_difference=[difference_bound(d, t) for d, t in
                      zip(agree["worst_difference"], agree["tolerance"], strict=True)],
    worst_at=agree["worst_at"].where(agree["worst_difference"] >= NOISE, ""),
    tolerance=agree["tolerance"].map(lambda v: f"{v:.0e}"),
    within=agree["within"].map({True: H["yes"], False: H["no"]})).rename(columns={
    k: H[k] for k in ("routine", "r_function", "fixture", "cases", "n_values", "worst_difference",
                      "worst_at", "tolerance", "metric", "within")})
export.save_table(agree_table, "07_r_agreement", simulated=False, decimals=3,
                  title=export.tr("Đối chiếu các hàm của hlstudy với R",
                                  "Agreement of hlstudy's routines with R"),
                  note=export.tr("Chênh lệch tuyệt đối (abs) hoặc tương đối khi |giá trị R| > 1; "
                                 "cận trên theo lũy thừa của 10 (dưới 1e-10 là sai số làm tròn; "
                                 "với ngưỡng nhỏ hơn 1e-10, cận là chính ngưỡng; khi lũy thừa của "
                                 "10 vượt ngưỡng, cận ghi thêm chữ số có nghĩa cho đến khi nó nhỏ "
                                 "hơn ngưỡng).",
                                 "Absolute difference (abs), relative when |R value| > 1; upper "
                                 "bound as a power of ten (below 1e-10: rounding noise; with a "
                                 "tolerance below 1e-10, the bound is the tolerance; where the "
                                 "power of ten exceeds the tolerance, the bound has as many "
                                 "significant digits as it takes to fall below it)."),
                  allowed_codes=[*agree_table[H["routine"]], *agree_table[H["r_function"]],
                                 *agree_table[H["cases"]], *agree_table[H["worst_at"]],
                                 *agree_table[H["metric"]], *agree_table[H["fixture"]],
                                 *agree_table[H["worst_difference"]], *agree_table[H["tolerance"]]])
display(agree_table)
FOLDERS = r_fixture_folders()
_WHY_VI = {"spss_labels": "nhãn giá trị đọc bằng haven, không có số để so"}
_read = FOLDERS[FOLDERS["checks"] > 0]
_unread = FOLDERS[FOLDERS["checks"] == 0]
display(Markdown(
    f"{int(agree['within'].sum())}/{len(agree)} hàm khớp R trong ngưỡng trên "
    f"{int(agree['n_values'].sum())} giá trị được so sánh.  Bảng đọc {len(_read)}/{len(FOLDERS)} "
    "thư mục fixture do một kịch bản R tạo ra"
    + (" (không có dòng: " + "; ".join(f"`{f}`, {_WHY_VI.get(f, r) or 'chưa có hàm đối chiếu'}"
                                         for f, r in zip(_unread["fixture"], _unread["reason"],
                                                         strict=True))
       + ")" if len(_unread) else "")
    + "; nó không tính lại mọi giá trị tham chiếu trong các thư mục ấy: các giá trị còn lại "
    "được bộ kiểm thử so sánh."
    + ("" if agree["within"].all() else "  **Các hàm không đạt:** "
       + ", ".join(agree.loc[~agree["within"], "routine"]) + ".")))

# %% [markdown]
# ## 3. Phiên bản phần mềm

# %%
pv = python_versions()
rv = r_versions()
rv["version"] = rv["version"].replace({NOT_RECORDED: export.tr("không ghi", "not recorded")})
display(Markdown(
    f"Python {pv.iloc[0]['installed']}; {len(pv) - 1} gói được ghim trong `requirements.lock`"
    + (f", {int((pv['pinned'] != pv['installed']).iloc[1:].sum())} gói cài khác phiên bản ghim"
       if (pv["pinned"] != pv["installed"]).iloc[1:].any() else ", tất cả cài đúng phiên bản ghim")
    + ".  Giá trị tham chiếu R được tạo với: "
    + "; ".join(f"{s} {v}" for s, v in rv.loc[rv["software"] != "", ["software", "version"]]
                .drop_duplicates("software").itertuples(index=False)) + "."))
export.save_table(pv.rename(columns={k: H[k] for k in ("software", "pinned", "installed")}),
                  "07_python_versions", simulated=False, decimals=0,
                  title=export.tr("Python và các gói", "Python and packages"),
                  allowed_codes=list(pv["software"]))
rv_show = rv.rename(columns={k: H[k] for k in ("fixture", "software", "version", "source")})
export.save_table(rv_show,
                  "07_r_versions", simulated=False, decimals=0,
                  title=export.tr("Phiên bản R của các giá trị tham chiếu",
                                  "R versions of the reference values"),
                  allowed_codes=[*rv["fixture"], *rv["software"], *rv["source"], *rv["version"]])
display(rv_show)   # the table's headings, as exported
