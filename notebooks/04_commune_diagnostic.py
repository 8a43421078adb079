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
# # 04 — Commune diagnostic / Thực trạng đội ngũ cán bộ, công chức cấp xã
#
# **English summary.** Part II of the thesis claims that commune officials' qualifications and
# competence fall short of requirements and are unevenly spread across communes (claims
# D1–D5).  This notebook tests those claims commune by commune, following thesis section 2.1:
# (1) staffing of the 23 pre-2025 units against the Decree 33/2023 headcount quota of their
# class (the class of each commune is not public, so it is a labelled, simulated parameter,
# shown beside the three possible quotas); (2) each civil servant's compliance with the
# Decree 33/2023 qualification standards, evaluated rule by rule from the reference data
# (`data/reference/decree33_*.csv`), with the intermediate-level exception for mountainous and
# ethnic-minority communes as an explicit parameter and a sensitivity analysis; (3) the
# profile of the workforce (age, tenure, gender overall and in leadership posts, ethnicity
# against the district's composition, education, political theory, state-management training,
# recent training); (4) quality scores (ETH, PRO, SKL, RSP) and the citizens' assessment by
# commune, read with the reliability and validity results of notebook 03 (recomputed and
# stated before the scores are used), with empirical-Bayes intervals from a random-intercept
# model, caterpillar plots (one axis range per figure, a legend for the reference lines),
# the intraclass correlation and a schematic Voronoi map; (5) the same tables for the 8
# communes created on 1 July 2025; (6) a computed statement per claim D1–D5 for notebook 06.
# Every rate carries its denominator; a rate from the officials' survey carries a 95% interval,
# one from the personnel register (a census) none, as it is exact; rates of fewer than 5 people
# are suppressed in the exported and the displayed tables alike (the committed notebook is
# published too).  All logic lives in `hlstudy.diagnostic` and `hlstudy.legal`, tested against R (prop.test, t.test, cor.test, chisq.test, lme4).

# %%
import json
import os
import warnings

# One BLAS thread, as notebook 03: the CFA refitted below runs faster on a small shared machine
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from hlstudy import cfa as cfa_mod
from hlstudy import codebook, district, export, legal, load_study, reliability
from hlstudy import diagnostic as dg
from hlstudy.communes import communes as registry_communes
from hlstudy.communes import sort_communes, unit_label
from hlstudy.diagnostic import findings as fd
from hlstudy.diagnostic import mapping, merger, plots, profile, quality, staffing
from hlstudy.display import show_numbers_as_read
from hlstudy.errors import ModelError
from hlstudy.evidence import Rules, claim_verdicts, evaluate
from hlstudy.scales import scale_items, score_scales
from hlstudy.study import INSTRUMENT_NAMES_VI, reference_year

show_numbers_as_read()   # data frames shown with 3 decimals, counts without (hlstudy.display)

# ---- Parameters (stated here, used everywhere below) ----
SEED = 2026
# Likert range of the officials' items, from the value set (1–5 here; a 7-point scale works too)
LIKERT_LO, LIKERT_HI = codebook.likert_range("officials")
WEAK_CUTOFF = (LIKERT_LO + LIKERT_HI) / 2   # a scale score below the midpoint (3 on 1–5) is "weak"
SHORT_TENURE_YEARS = 5       # fewer years in the current post = "little experience"
# Measurement cut-offs, the same as notebook 03: alpha (Nunnally & Bernstein 1994), CR and AVE
# (Fornell & Larcker 1981)
MIN_ALPHA, MIN_CR, MIN_AVE = 0.70, 0.70, 0.50
DEGREE_LEVELS = {"university", "master", "doctorate"}    # "university degree or above" (D4)
LOW_POLITICAL_THEORY = {"none", "elementary"}            # "no or elementary political theory"
NO_STATE_MANAGEMENT = {"none"}                           # "no state-management training"
N_SIM = 2000                 # Monte-Carlo draws of the chi-square test (degree × commune)
MIN_CELL = 5                 # no rate of fewer than 5 people is exported
# Intermediate-level exception (Decree 33/2023 Art. 10): whether Lạng Sơn applies it and
# which communes count as mountainous / ethnic-minority / remote is NOT public.
# Main analysis: not applied.  Sensitivity: applied to every xã (the thị trấn excluded) —
# an assumption of this project, labelled as such.
EXCEPTION_MAIN = dg.ExceptionPolicy(False, basis=("không áp dụng", "not applied"))
# Unit class (loại I/II/III) of each commune: not public.  With real data, put the province's
# classification here ({code: "I" | "II" | "III"}); otherwise the classes are drawn at random
# (p below), with the seed of the simulated study's manifest so that they are the classes the
# simulator staffed against — labelled "sim" in every table.
UNIT_CLASSES = None
UNIT_CLASS_P = (0.3, 0.5, 0.2)
QUALITY = list(codebook.construct_labels("officials").query("role == 'quality'")["construct"])
CLUSTER = "commune_code"
# The verdict of each claim D1–D5 is the claims ledger's (notebook 06), under its rules: the
# ledger's defaults, which notebook 06 states one by one (docs/evidence.md)
LEDGER_RULES = Rules()

export.use_style()
study = load_study()
SIM = study.simulated
# said after a sentence counting the officials from simulated data ("" for real data)
QUAL_OFFICIALS = (" " + study.qualifier("officials")) if SIM else ""
reg = registry_communes()
personnel, officials, citizens = study.personnel, study.officials, study.citizens
# the survey year, by the one rule cleaning counted ages in (hlstudy.study.reference_year: the
# setting HLSTUDY_REFERENCE_YEAR or [study] reference_year in hlstudy.toml, else the year of the
# officials' submissions; a clear error when there is none); only the register's parts use it
REFERENCE_YEAR = reference_year(study) if study.has("personnel") else None
names = reg.set_index("code")["name"]
short = pd.Series([unit_label(n, t) for n, t in zip(reg["name"], reg["unit_type"], strict=True)],
                  index=reg["code"], name="label")   # "TT Hữu Lũng": the pre-reform town
scores = score_scales(officials, "officials")
cit_scores = score_scales(citizens, "citizens")
HAS_PERSONNEL, HAS_CITIZENS = study.has("personnel"), study.has("citizens")
TH = fd.Thresholds(weak_cutoff=WEAK_CUTOFF, scale_min=LIKERT_LO, scale_max=LIKERT_HI, short_tenure_years=SHORT_TENURE_YEARS,
                   degree_levels=frozenset(DEGREE_LEVELS),
                   low_political_theory=frozenset(LOW_POLITICAL_THEORY),
                   no_state_management=frozenset(NO_STATE_MANAGEMENT), min_cell=MIN_CELL)
EXCEPTION_SENS = dg.ExceptionPolicy(
    True, frozenset(reg.loc[reg["unit_type"] == "xã", "code"]),
    basis=("giả định: mọi xã (trừ thị trấn)",
           "assumption: every rural commune, not the district town"))
CLASSES = (staffing.UnitClasses(UNIT_CLASSES, basis="quyết định phân loại của tỉnh")
           if UNIT_CLASSES is not None else
           staffing.simulate_unit_classes(reg["code"], seed=int(study.manifest.get("seed", SEED)),
                                          p=UNIT_CLASS_P))


def fmt(x, d=1):
    """Numbers in the (Vietnamese) prose: hlstudy.export.number."""
    return export.number(x, d, lang="vi")


def pct(x, d=1):
    return export.number(100 * x, d, lang="vi")


# Column headings of exported tables (Vietnamese, or English with HLSTUDY_LANG=en)
HEAD = {k: export.tr(vi, en) for k, (vi, en) in {
    "commune": ("Xã/thị trấn", "Commune"), "unit_type": ("Loại hình", "Unit type"),
    "unit_class": (("Loại (mô phỏng)", "Class (simulated)") if CLASSES.basis.startswith("sim")
                   else ("Loại", "Class")), "n_can_bo": ("Cán bộ", "Cadres"),
    "n_cong_chuc": ("Công chức", "Civil servants"), "n_staff": ("Tổng", "Total"),
    "quota": ("Số lượng tối đa", "Maximum number"), "gap": ("So với mức tối đa",
                                                            "Against the maximum"),
    "status": ("Tình trạng", "Status"), "rule": ("Tiêu chuẩn", "Standard"),
    "ethnicity_label": ("Dân tộc", "Ethnicity"),
    "population_share": ("Tỷ lệ dân số", "Population share"),
    "ratio": ("Tỷ số đại diện", "Representation ratio"),
    "commune_2025": ("Xã mới", "New commune"), "n_units": ("Số đơn vị cũ", "Former units"),
}.items()}
# Decree 33/2023's headcounts are ceilings (số lượng tối đa), raised for population and area
# and allocated by the province: below the ceiling is not a "shortage".
STATUS = {"vacancies": export.tr("dưới mức tối đa", "below the maximum"),
          "at quota": export.tr("bằng mức tối đa", "at the maximum"),
          "over": export.tr("vượt mức tối đa", "above the maximum")}
# Shares from the personnel register are exact (a census of all officials): no interval
# (docs/inference.md).  Column headings of share tables, after suppression:
SHARE_HEAD = {"share": export.tr("Tỷ lệ", "Share"),
              "n_missing": export.tr("Thiếu dữ liệu", "Missing")}
NOTE_SHARES = export.tr(
    "n: số người có dữ liệu; k: số người có đặc điểm; Tỷ lệ: k/n.  Số liệu lấy từ toàn bộ "
    "danh sách trích ngang cán bộ, công chức (tổng điều tra, không phải mẫu) nên tỷ lệ là chính xác, không có "
    "khoảng tin cậy.",
    "n: people with data; k: people with the feature; Share: k/n.  From the whole personnel "
    "register (a census, not a sample): exact shares, no interval.")


def show(df, *, count_columns=None, extra=(), within=(), missing=None):
    """What the notebook displays obeys the same small-cell rule as the exported tables.

    ``within``: groups of rows whose counts add up to a published total, so that a lone
    suppressed cell is protected by a second one; ``missing``: a column of people without
    data, protected with the row's n (hlstudy.diagnostic.profile.suppress_shares).
    """
    if count_columns is not None:
        return export.suppress_small_cells(df, count_columns, min_cell=MIN_CELL)
    return profile.suppress_shares(df, within=within, extra=extra, min_cell=MIN_CELL,
                                   missing=missing)


def save_share_table(df, stem, title, note="", *, within=(), extra=(), drop=(), decimals=2,
                     missing=None):
    """Export a table of register shares, small cells suppressed (primary ``<5`` and
    complementary ``x``; the export's note explains both and counts them).  The register is
    a census: ``lo``/``hi`` columns are dropped (docs/inference.md).

    ``within``, ``extra`` and ``drop`` name columns before their HEAD renaming; ``decimals``:
    places of the LaTeX and Word tables."""
    h = lambda c: HEAD.get(c, c)  # noqa: E731
    out = show(df, within=[[h(c) for c in g] for g in within],
               extra=[h(c) for c in extra],
               missing=None if missing is None else h(missing)).drop(columns=[h(c) for c in drop])
    out = out.drop(columns=[c for c in ("lo", "hi", "ratio_lo", "ratio_hi") if c in out])
    export.save_table(out.rename(columns=SHARE_HEAD), stem, title=title,
                      note=f"{NOTE_SHARES} {note}".strip(), simulated=SIM, decimals=decimals)


display(Markdown(
    f"Dữ liệu: **{len(personnel)}** người trong danh sách trích ngang, **{len(officials)}** phiếu tự đánh "
    f"giá và **{len(citizens)}** phiếu người dân tại **{reg.shape[0]}** xã, thị trấn"
    + (f"; năm tham chiếu **{REFERENCE_YEAR}**" if REFERENCE_YEAR is not None else "")
    + (" — *dữ liệu mô phỏng*." if SIM else ".")))
lab_edu, lab_pol, lab_qlnn = (
    codebook.value_labels(v).set_index("code")["label_vi"].str.lower()
    for v in ("education_level", "political_theory", "state_mgmt_training"))
display(Markdown(
    f"Ngưỡng phân tích: điểm thang đo dưới **điểm giữa thang ({fmt(WEAK_CUTOFF)})** — không "
    f"phải \"mức yêu cầu\": không văn bản nào quy định mức điểm yêu cầu; giữ chức danh "
    f"dưới **{SHORT_TENURE_YEARS}** năm là \"ít kinh nghiệm\"; \"có trình độ đại học trở "
    f"lên\": {', '.join(lab_edu[c] for c in sorted(DEGREE_LEVELS))}; \"lý luận chính trị chưa "
    f"có hoặc sơ cấp\": {', '.join(lab_pol[c] for c in sorted(LOW_POLITICAL_THEORY))}; "
    f"\"chưa bồi dưỡng quản lý nhà nước\": "
    f"{', '.join(lab_qlnn[c] for c in sorted(NO_STATE_MANAGEMENT))}; không công bố tỷ lệ của "
    f"dưới **{MIN_CELL}** người."))
for note in (study.skip_note("các mục 2.1.1–2.1.3, phần số lượng tối đa và tiêu chuẩn của mục 2.1.5, "
                             "nhận định D4 và các phần của D1–D3 đọc danh sách trích ngang (tiêu chuẩn, thâm "
                             "niên, trình độ theo xã)", "personnel"),
             study.skip_note("đánh giá của người dân ở mục 2.1.4 và phần tương quan với người "
                             "dân của nhận định D5", "citizens")):
    if note:
        display(Markdown(note))
# every caterpillar (23 units and 8 new communes) shows the same estimator, named on its axis
SCORE_AXIS = export.tr(f"Điểm ({LIKERT_LO}–{LIKERT_HI}): ước lượng co (Bayes thực nghiệm), "
                       "KTC 95%",
                       f"Score ({LIKERT_LO}–{LIKERT_HI}): shrunken (empirical-Bayes) "
                       "estimate, 95% CI")
MEAN_LABEL = export.tr("Trung bình huyện", "District mean")
CUTOFF_LABEL = export.tr("Điểm giữa thang", "Scale midpoint")

# %% [markdown]
# ## 2.1.1. Số lượng và cơ cấu đội ngũ so với số lượng tối đa
#
# Khung pháp lý theo thời điểm (`legal.frame_on`): đến hết 30/6/2025, 23 đơn vị cũ chịu
# Nghị định 33/2023/NĐ-CP (và Luật Cán bộ, công chức 2008, sửa đổi 2019); từ 1/7/2025, 8 xã
# mới chịu Luật Cán bộ, công chức 2025 (80/2025/QH15) và Nghị định 170/2025/NĐ-CP — mục
# 2.1.5 không đo các xã mới bằng số lượng và chức danh của Nghị định 33.
#
# Nghị định 33/2023 quy định **số lượng tối đa** cán bộ, công chức theo loại đơn vị hành
# chính (bảng dưới, đọc từ `decree33_headcount.csv`): đó là mức trần, được cộng thêm khi dân
# số, diện tích lớn hơn quy định, và do tỉnh giao cụ thể cho từng xã.  Vì vậy số người
# **dưới mức tối đa** không phải là "thiếu biên chế".  Việc phân loại từng xã của huyện Hữu
# Lũng không được công bố trong nguồn tham chiếu, nên loại đơn vị dưới đây là **tham số mô
# phỏng** (ghi rõ trong bảng); bảng thứ hai cho biết kết luận theo cả ba loại có thể.

# %%
if HAS_PERSONNEL:
    hc = legal.headcount()
    display(hc[["unit_type", "unit_class", "max_staff", "max_part_time", "confidence"]])
    display(Markdown("Xã, thị trấn: " + "; ".join(
        f"loại {c} tối đa **{legal.quota('xã', c)}** người" for c in legal.UNIT_CLASSES) + "."))
    staff = staffing.staffing_vs_quota(personnel, reg, CLASSES)
    st = staffing.staffing_summary(staff)
    class_counts = pd.Series(CLASSES.classes).value_counts().reindex(legal.UNIT_CLASSES, fill_value=0)
    class_text = ("loại đơn vị " + ("mô phỏng" if CLASSES.basis.startswith("sim") else "theo tỉnh")
                  + ": " + ", ".join(f"loại {k}: {v} xã" for k, v in class_counts.items()))
    display(Markdown(
        f"Tổng số **{st['n_staff']}** cán bộ, công chức ({st['n_can_bo']} cán bộ, "
        f"{st['n_cong_chuc']} công chức) so với tổng số lượng tối đa **{st['quota']}** "
        f"({class_text}): **{st['n_vacancies_units']}** xã dưới mức tối đa "
        f"({st['vacant_posts']} người), **{st['n_over_units']}** xã vượt ({st['excess_posts']} "
        f"người — hợp lệ nếu tỉnh giao thêm theo dân số, diện tích), "
        f"**{st['n_at_quota_units']}** xã bằng mức tối đa.  Tỷ lệ công chức trong đội ngũ của từng xã "
        f"dao động {pct(staff['share_cong_chuc'].min(), 0)}%–{pct(staff['share_cong_chuc'].max(), 0)}% "
        f"(toàn huyện {pct(st['n_cong_chuc'] / (st['n_can_bo'] + st['n_cong_chuc']))}%)"
        f"{QUAL_OFFICIALS}."))
    staff_show = staff.assign(commune=staff["commune_code"].map(short),
                              status=staff["status"].map(STATUS))[
        ["commune", "unit_type", "unit_class", "n_can_bo", "n_cong_chuc", "n_staff", "quota", "gap",
         "status"]]
    staff_show = staff_show.sort_values("commune", key=lambda s: s.map(export.vi_sort_key),
                                        ignore_index=True)   # Vietnamese alphabetical order
    display(staff_show)
    export.save_table(
        staff_show.assign(unit_type=staff_show["unit_type"].map(legal.unit_type_label))
        .rename(columns=HEAD),
        "04_staffing_quota", title=export.tr("Số lượng cán bộ, công chức so với số lượng tối đa "
                                             "theo Nghị định 33/2023", "Headcount against the "
                                             "Decree 33/2023 maximum"),
        note=export.tr(f"Loại đơn vị: {'mô phỏng' if CLASSES.basis.startswith('sim') else CLASSES.basis}. "
                       "Số lượng tối đa là mức trần, được cộng thêm theo dân số, diện tích và do "
                       "tỉnh giao: dưới mức tối đa không phải là thiếu.",
                       f"Unit class: {'simulated' if CLASSES.basis.startswith('sim') else CLASSES.basis}. "
                       "The maximum is a ceiling, raised for population and area and allocated "
                       "by the province: below the maximum is not a shortage."),
        simulated=SIM, decimals=0)
    scen = staffing.quota_scenarios(personnel, reg)
    robust = {c: int((scen[f"gap_{c}"] < 0).sum()) for c in legal.UNIT_CLASSES}
    display(Markdown(
        "Số xã dưới mức tối đa nếu mọi xã cùng loại: "
        + ", ".join(f"loại {c}: **{v}**" for c, v in robust.items())
        + f"; dưới mức tối đa dù thuộc loại III (mức thấp nhất): **{robust['III']}** xã{QUAL_OFFICIALS}."))
    # holders per title per unit against the legal maximum (title_limits.csv)
    tc = staffing.title_counts(personnel, reg, CLASSES)
    over_t = tc[tc["over"]]
    display(Markdown(
        "Số người giữ mỗi chức danh có giới hạn (Phó Chủ tịch UBND: tối đa 2 ở loại I, II và 1 "
        "ở loại III — Nghị định 08/2016/NĐ-CP sửa đổi bởi Nghị định 69/2020/NĐ-CP, nhiệm kỳ "
        "2021–2026; Phó Chủ tịch HĐND: 1 — Luật Tổ chức chính quyền địa phương 2015, Điều 32; "
        "các chức danh chủ tịch, bí thư, chỉ huy trưởng: 1 người): "
        + (f"**{len(over_t)}** trường hợp vượt ("
           + "; ".join(f"{short[r.commune_code]}: {r.position_code} {r.n}/{r.max_count}, "
                       f"loại {r.unit_class}" for r in over_t.itertuples())
           + ")" + QUAL_OFFICIALS + "." if len(over_t) else "không đơn vị nào vượt.")))
    fig = plots.staffing_plot(staff.assign(label=staff["commune_code"].map(short)), label="label",
                              xlabel=export.tr("Số người", "People"),
                              title=export.tr("Số cán bộ, công chức so với số lượng tối đa theo xã",
                                              "Officials per commune against the maximum number"),
                              kind_labels=(export.tr("Cán bộ", "Cadres"),
                                           export.tr("Công chức", "Civil servants")),
                              quota_label=(export.tr("Số lượng tối đa (loại mô phỏng)",
                                                     "Maximum (simulated class)")
                                           if CLASSES.basis.startswith("sim") else
                                           export.tr("Số lượng tối đa", "Maximum")))
    export.save_figure(fig, "04_staffing_quota", simulated=SIM)
    plt.show()

else:
    display(Markdown(study.skip_note("Mục 2.1.1 (số lượng so với số lượng tối đa)", "personnel")))
# %% [markdown]
# ## 2.1.2. Mức độ đáp ứng tiêu chuẩn công chức (Điều 10, Nghị định 33/2023)
#
# Mỗi tiêu chuẩn là một dòng của `decree33_standards.csv` và được đánh giá cho từng công chức:
# **đạt**, **không đạt**, **không áp dụng** (kèm lý do) hoặc **thiếu dữ liệu**; bảng phù hợp
# giữa chuyên ngành và chức danh là **giả định** của đề tài.
#
# **Cán bộ không được đánh giá**, và đây là lý do: cán bộ là chức vụ bầu cử; tiêu chuẩn của
# họ (Điều 8: Bí thư, Phó Bí thư, người đứng đầu Mặt trận và các đoàn thể tốt nghiệp đại học)
# nhường cho Điều lệ Đảng và điều lệ của từng tổ chức khi các văn bản này quy định khác —
# những văn bản đề tài không có; nội dung Điều 8 cũng chỉ có một nguồn (`legal_frame.csv`,
# DECREE_33_ART8).  Kết luận của mục này vì vậy chỉ nói về **công chức**.
#
# Ba điểm làm thay đổi cách đọc:
# - **Chỉ huy trưởng Ban Chỉ huy Quân sự** có tiêu chuẩn riêng theo pháp luật về dân quân tự
#   vệ (chưa kiểm chứng được trong nguồn tra cứu): áp tiêu chuẩn đại học chung cho chức danh
#   này là một giả định.
# - **Tư pháp – hộ tịch**: Luật Hộ tịch 2014 (Điều 72) chỉ đòi trung cấp luật — luật quy định
#   khác nên thay Điều 10 (một nguồn; chưa đưa vào quy tắc đánh giá).
# - **Điều khoản chuyển tiếp (Điều 38)**: công chức đang giữ chức danh nhưng chưa đạt tiêu chuẩn
#   có 5 năm kể từ 1/8/2023 để đạt chuẩn.  Năm tham chiếu nằm trong thời hạn đó, nên "chưa đạt"
#   là **khoảng cách cần chuẩn hóa**, không phải vi phạm.

# %%
if HAS_PERSONNEL:
    display(legal.standards()[["rule_id", "applies_to", "operator", "threshold",
                               "exception_threshold", "label_vi", "confidence"]])
    comp = dg.evaluate_standards(personnel, reference_year=REFERENCE_YEAR, policy=EXCEPTION_MAIN)
    comp_sens = dg.evaluate_standards(personnel, reference_year=REFERENCE_YEAR,
                                      policy=EXCEPTION_SENS)
    # one table of counts per standard (no per-person rows: commune + title identifies a
    # person).  A second table of the statuses' counts (met = n - k, missing = n_missing)
    # gave back by subtraction the cells this one hides: not shown.
    rule_lab = {k: v[0].upper() + v[1:] for k, v in
                ({**fd.RULES_EN, dg.compliance.ANY_RULE: "at least one standard"}
                 if export.language() == "en" else
                 {**fd.RULES_VI, dg.compliance.ANY_RULE: "ít nhất một tiêu chuẩn"}).items()}
    ov = comp.overall[comp.overall["n"] > 0].copy()
    ov_s = comp_sens.overall.set_index("rule_id").reindex(ov["rule_id"])
    ov["share_exception"] = ov_s["share"].to_numpy()
    ov["rule"] = ov["rule_id"].map(rule_lab)
    # a census: exact shares, no interval shown (as in the exported table; docs/inference.md)
    ov_pub = show(ov[["rule", "n", "k", "share", "lo", "hi", "n_missing", "share_exception"]],
                  extra=["share_exception"], missing="n_missing").drop(columns=["lo", "hi"])
    display(ov_pub)
    anyr = ov.set_index("rule_id").loc["ANY"]
    deg = ov.set_index("rule_id").loc["CC_DEGREE"]
    any_s = ov.set_index("rule_id").loc["ANY", "share_exception"]
    pub = ov_pub.set_axis(ov["rule_id"])

    def published(rule, column, text):
        """The prose gives a number only where the table above shows it."""
        mark = pub.at[rule, column]
        return (f"không công bố (ô «{mark}» của bảng trên)" if mark in export.HIDDEN_MARKS
                else text)

    display(Markdown(
        "**Hai cách đọc ngoại lệ trung cấp** (Điều 10: tỉnh có thể chấp nhận trình độ trung cấp "
        "ở xã miền núi, vùng dân tộc thiểu số, vùng sâu, vùng xa)"
        f"{' ' + study.qualifier('officials') if SIM else ''}:\n\n"
        f"- *Không áp dụng ngoại lệ*: **{int(anyr['k'])}/{int(anyr['n'])}** công chức "
        f"({pct(anyr['share'])}%) chưa đạt ít nhất một tiêu chuẩn; riêng trình độ đại học "
        f"{published('CC_DEGREE', 'share', pct(deg['share']) + '%')}.\n"
        f"- *Áp dụng ngoại lệ cho mọi xã* (thị trấn trừ ra): **{pct(any_s)}%** chưa đạt ít nhất "
        f"một tiêu chuẩn; riêng trình độ "
        f"{published('CC_DEGREE', 'share_exception', pct(deg['share_exception']) + '%')}.\n\n"
        "Cách đọc nào áp dụng?  Hữu Lũng là huyện miền núi, người Nùng chiếm đa số "
        f"({fmt(100 * district.ethnic_shares()['nung'])}% dân số năm 2013, các dân tộc thiểu số "
        f"cộng lại {fmt(100 * (1 - district.ethnic_shares()['kinh']))}%): các xã của huyện "
        "thuộc đúng đối tượng mà Nghị định cho phép áp dụng ngoại lệ, nên cách đọc thứ hai là "
        "cách đọc có khả năng đúng hơn.  Nhưng quyết định áp dụng của tỉnh Lạng Sơn không tìm "
        "thấy trong nguồn công khai.  Vì vậy đề tài chỉ khẳng định điều đúng theo **cả hai** cách "
        f"đọc: từ {pct(any_s)}% đến {pct(anyr['share'])}% công chức chưa đạt ít nhất một tiêu "
        "chuẩn, và khoảng cách này còn trong thời hạn chuẩn hóa của Điều 38.  Nhận định D1 dưới "
        "đây dùng cả hai tỷ lệ."))
    save_share_table(ov[["rule", "n", "k", "share", "lo", "hi", "n_missing"]]
                     .rename(columns=HEAD),
                     "04_compliance_overall",
                     export.tr("Tỷ lệ công chức chưa đạt tiêu chuẩn Nghị định 33/2023",
                               "Civil servants not meeting the Decree 33/2023 standards"),
                     note=export.tr("Ở đây n là số công chức được đánh giá, k là số chưa đạt. "
                                    "Ngoại lệ trung cấp: không áp dụng (cách đọc chặt; cách đọc "
                                    "còn lại ở notebook).",
                                    "n: civil servants assessed; k: not meeting. Intermediate-"
                                    "level exception not applied (the strict reading)."),
                     missing="n_missing")
    fig = plots.share_bars(ov_pub.assign(lo=ov_pub["share"], hi=ov_pub["share"]), label="rule",
                           min_cell=MIN_CELL,
                           xlabel=export.tr("% công chức chưa đạt (toàn bộ danh sách trích ngang)",
                                            "% of civil servants not meeting (whole register)"),
                           title=export.tr("Công chức chưa đạt tiêu chuẩn Nghị định 33/2023",
                                           "Civil servants not meeting the Decree 33/2023 standards"))
    export.save_figure(fig, "04_compliance_overall", simulated=SIM)
    plt.show()

else:
    display(Markdown(study.skip_note("Mục 2.1.2 (tiêu chuẩn công chức)", "personnel")))
# %%
if HAS_PERSONNEL:
    bu = comp.by_unit[comp.by_unit["rule_id"].isin(["CC_DEGREE", "CC_FIELD", "ANY"])].copy()
    bu["rule"] = bu["rule_id"].map(rule_lab)
    # A table of shares per commune would hide most of its cells (about 7 civil servants per
    # commune: 65–78% of the cells were hidden).  Published instead: how many communes fall
    # in each band of the share not meeting the standard — counts of communes, not people.
    BANDS = [export.tr("0%", "0%"), export.tr("dưới 50%", "below 50%"),
             export.tr("từ 50% trở lên", "50% or more"),
             export.tr("không có công chức được đánh giá", "no civil servant assessed")]
    bu["band"] = np.select([bu["n"] == 0, bu["k"] == 0, bu["share"] < 0.5],
                           [BANDS[3], BANDS[0], BANDS[1]], default=BANDS[2])
    band_tab = (bu.groupby(["rule", "band"]).size().unstack(fill_value=0)
                .reindex(columns=BANDS, fill_value=0).reset_index()
                .rename(columns={"rule": HEAD["rule"]}))
    band_tab = band_tab.loc[:, (band_tab != 0).any(axis=0)]
    display(band_tab)
    export.save_table(band_tab, "04_compliance_by_commune",
                      title=export.tr("Số xã theo tỷ lệ công chức chưa đạt tiêu chuẩn",
                                      "Communes by the share of civil servants not meeting "
                                      "the standards"),
                      note=export.tr("Mỗi ô là số xã, thị trấn (không phải số người); "
                                     f"{len(reg)} đơn vị cũ. Tỷ lệ theo từng xã không được công "
                                     "bố vì mỗi xã chỉ có vài công chức; xem bảng theo 8 xã mới.",
                                     "Each cell counts communes (not people); the share of each "
                                     "commune is not published (a few civil servants each)."),
                      simulated=SIM, decimals=0)
    # the shares by commune are not displayed either: what the export withholds, the notebook
    # (committed with its outputs) withholds too

# %% [markdown]
# ## 2.1.3. Cơ cấu đội ngũ
#
# Độ tuổi, thâm niên giữ chức danh, giới tính (chung và ở các chức danh lãnh đạo: Bí thư,
# Phó Bí thư Đảng ủy, Chủ tịch, Phó Chủ tịch HĐND và UBND), dân tộc so với cơ cấu dân số
# của huyện (tỷ số đại diện = tỷ lệ trong đội ngũ / tỷ lệ trong dân số, số liệu dân số năm
# 2013), trình độ chuyên môn, lý luận chính trị, quản lý nhà nước và số lớp bồi dưỡng trong 24
# tháng qua.  Nguồn: danh sách trích ngang cán bộ, công chức.

# %%
if HAS_PERSONNEL:
    orders = {k: list(codebook.value_labels(v)["code"]) for k, v in
              {"education": "education_level", "general_education": "general_education",
               "political_theory": "political_theory",
               "state_management": "state_mgmt_training"}.items()}
    LABEL = "label_en" if export.language() == "en" else "label_vi"
    labels = {k: codebook.value_labels(v).set_index("code")[LABEL].to_dict() for k, v in
              {"education": "education_level", "political_theory": "political_theory",
               "state_management": "state_mgmt_training", "ethnicity": "ethnicity"}.items()}
    prof = profile.workforce_profile(personnel, reference_year=REFERENCE_YEAR,
                                     population_shares=district.ethnic_shares().to_dict(),
                                     orders=orders)
    women = prof["women"]
    display(show(women))
    w = women.set_index("group")
    display(Markdown(
        f"Nữ chiếm **{pct(w.at['all', 'share'])}%** đội ngũ ({int(w.at['all', 'k'])}/"
        f"{int(w.at['all', 'n'])}) nhưng **{pct(w.at['leadership', 'share'])}%** ở các chức "
        f"danh lãnh đạo ({int(w.at['leadership', 'k'])}/{int(w.at['leadership', 'n'])}); toàn "
        f"bộ danh sách trích ngang, nên đây là tỷ lệ chính xác, không có khoảng tin cậy{QUAL_OFFICIALS}."))
    eth = prof["ethnicity"].assign(
        ethnicity_label=lambda d: d["ethnicity"].map(labels["ethnicity"]))
    RATIO = ["ratio", "ratio_lo", "ratio_hi"]  # the ratio is k rescaled: suppressed with k
    display(show(eth[["ethnicity_label", "k", "n", "share", "lo", "hi", "population_share", *RATIO]],
                 extra=RATIO, within=[[]])   # exact shares of a census: no interval shown
            .drop(columns=["lo", "hi", "ratio_lo", "ratio_hi"]))
    save_share_table(eth[["ethnicity_label", "n", "k", "share", "lo", "hi", "population_share",
                          *RATIO]].round({"population_share": 4})
                     .rename(columns=HEAD),
                     "04_ethnicity_representation",
                     export.tr("Dân tộc của đội ngũ so với cơ cấu dân số huyện",
                               "Officials' ethnicity against the district population"),
                     note=export.tr("Tỷ lệ dân số: năm 2013 (Phòng Dân số huyện, trích trong luận "
                                    "văn địa phương; độ tin cậy: 1 nguồn; số liệu dân tộc theo "
                                    "huyện của Tổng điều tra 2019 không tìm thấy). Tỷ số đại "
                                    "diện = tỷ lệ trong đội ngũ / tỷ lệ trong dân số.",
                                    "Population shares: 2013 (district population office, quoted "
                                    "in a local thesis; one source; the 2019 census figure by "
                                    "district was not found). Representation ratio = share among "
                                    "officials / share in the population."),
                     within=[[]], extra=RATIO,
                     decimals=4)   # population shares of 0.0014 and 0.0044 need 4 places

else:
    display(Markdown(study.skip_note("Mục 2.1.3 (cơ cấu đội ngũ)", "personnel")))
# %%
if HAS_PERSONNEL:
    panels = [("age", export.tr("Nhóm tuổi", "Age group"), None),
              ("tenure", export.tr("Số năm giữ chức danh", "Years in post"), None),
              ("education", export.tr("Trình độ chuyên môn", "Education"), labels["education"]),
              ("political_theory", export.tr("Lý luận chính trị", "Political theory"),
               labels["political_theory"]),
              ("state_management", export.tr("Quản lý nhà nước", "State management"),
               labels["state_management"]),
              ("trainings", export.tr("Số lớp bồi dưỡng (24 tháng)", "Courses (24 months)"), None)]
    # merge adjacent levels with fewer than MIN_CELL people (the same merge for cán bộ,
    # công chức and all) before anything is hidden: a merged band is published, a hidden
    # cell is not (issue 13, kind 1)
    prof_tab = pd.concat(
        [profile.merge_small_levels(prof[k].assign(level=lambda d, lab=lab: d["level"].map(lab)
                                                   if lab else d["level"]),
                                    by="kind", min_cell=MIN_CELL).assign(table=k)
         for k, _, lab in panels], ignore_index=True)
    # census: the register holds every official, no interval
    prof_tab["lo"], prof_tab["hi"] = prof_tab["share"], prof_tab["share"]
    # levels add up to n, and all = cán bộ + công chức: a lone small cell gets a second one
    WITHIN_PROFILE = [["table", "kind"], ["table", "level"]]
    prof_shown = show(prof_tab, within=WITHIN_PROFILE)  # the figure hides what the table hides
    fig, axes = plt.subplots(3, 2, figsize=(plots.FIG_WIDTH, 7.8))   # fits the text block
    for ax, (key, title, _lab) in zip(axes.ravel(), panels, strict=True):
        t = prof_shown[(prof_shown["table"] == key) & (prof_shown["kind"] == "all")].copy()
        t["level_label"] = t["level"]
        plots.share_bars(t, label="level_label", title=title, ax=ax, min_cell=MIN_CELL, wrap=16,
                         xlabel=export.tr("% (toàn bộ danh sách)", "% (whole register)"))
    fig.suptitle(export.tr("Cơ cấu đội ngũ cán bộ, công chức cấp xã (toàn bộ danh sách)",
                           "Profile of the commune officials (whole register)"))
    fig.tight_layout()
    plots.add_suppression_note(fig)   # what "<5" and "x" in the panels mean
    export.save_figure(fig, "04_profile", simulated=SIM)
    plt.show()
    KIND_LAB = {"all": export.tr("Toàn bộ", "All"), "can_bo": export.tr("Cán bộ", "Cadres"),
                "cong_chuc": export.tr("Công chức", "Civil servants")}
    PANEL_LAB = {k: title for k, title, _ in panels}
    prof_out = show(prof_tab, within=WITHIN_PROFILE).assign(
        table=lambda d: d["table"].map(PANEL_LAB), kind=lambda d: d["kind"].map(KIND_LAB))
    export.save_table(
        prof_out[["table", "kind", "level", "n", "k", "share"]].rename(columns={
            "table": export.tr("Chỉ tiêu", "Item"), "kind": export.tr("Nhóm", "Group"),
            "level": export.tr("Mức", "Level"), **SHARE_HEAD}),
        "04_profile", title=export.tr("Cơ cấu đội ngũ cán bộ, công chức cấp xã",
                                      "Profile of commune officials"),
        note=export.tr(f"{NOTE_SHARES} Các mức có dưới {MIN_CELL} người được gộp với mức liền "
                       "kề trước khi ẩn ô.",
                       f"{NOTE_SHARES} Levels with fewer than {MIN_CELL} people are merged "
                       "with the adjacent level before any cell is hidden."),
        simulated=SIM)

# %% [markdown]
# ## 2.1.4. Chất lượng đội ngũ giữa các xã
#
# Điểm của từng xã là ước lượng co (shrinkage) theo phương pháp Bayes thực nghiệm
# (empirical Bayes) từ mô hình hệ số chặn ngẫu nhiên: điểm của xã có ít người trả lời được
# kéo gần về trung bình toàn huyện, và khoảng tin cậy rộng hay hẹp tùy số người của xã — vì
# vậy thứ hạng các xã được trình bày kèm khoảng thứ hạng, không chỉ bằng một con số.
# Hệ số tương quan nội lớp (ICC) cho biết tỷ lệ phương sai nằm *giữa* các xã — kiểm định trực
# tiếp nhận định "phân bổ không đồng đều".
#
# ### Điểm thang đo dùng ở đây và kết quả đo lường của notebook 03
#
# Điểm chất lượng (ETH, PRO, SKL, RSP) và đánh giá của người dân (SIPAS, CSAT) là trung bình
# các câu của mỗi thang đo.  Notebook 03 kiểm định các thang đo này trước khi chúng được dùng
# ở đây: độ tin cậy (alpha, CR) và giá trị hội tụ (AVE).  Ô dưới đây tính lại đúng các kết quả
# đó trên cùng dữ liệu, bằng cùng các hàm (`reliability.reliability_table`, `cfa.validity_fit`
# — CFA của mô hình đo lường đầy đủ trên các phiếu trả lời đủ mọi câu, hoặc CFA FIML khi quá
# ít phiếu đủ —, `composite_reliability`, `average_variance_extracted`) và cùng ngưỡng,
# rồi nói chúng có nghĩa gì cho việc đọc so sánh giữa các xã.

# %%
IMPROPER = {}   # instrument -> Heywood cases of its CFA, said in the text below (in Vietnamese)
BASIS = {}      # instrument -> which CFA its CR and AVE come from (cfa.fit_basis), said below


def measurement_results(frame, inst, used):
    """alpha, CR and AVE of the scales ``used`` as notebook 03 computes them (CR/AVE from the
    CFA of the instrument's full measurement model: on complete rows, or by FIML when too few
    answer every item, ``cfa.validity_fit``; NaN when neither can be fitted, as notebook 03
    says); an improper CFA solution goes to ``IMPROPER``."""
    items = scale_items(inst)
    used = [s for s in used if s in items]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", reliability.OmegaWarning)   # omega is not used here
        rel = reliability.reliability_table(frame, {s: items[s] for s in used})
    out = pd.DataFrame({"instrument": inst, "scale": used,
                        "alpha": rel.loc[used, "alpha"].to_numpy(float)})
    try:
        with warnings.catch_warnings():
            # an improper solution is said below (IMPROPER); the FIML fit's other warnings
            # are notebook 03's
            warnings.simplefilter("ignore")
            res = cfa_mod.validity_fit(frame, items)
    except ModelError:   # e.g. a singular covariance matrix: notebook 03 says why
        out["CR"] = out["AVE"] = np.nan
        return out
    if res.heywood:
        IMPROPER[inst] = list(res.heywood)
    BASIS[inst] = cfa_mod.fit_basis(res, "vi")
    out["CR"] = cfa_mod.composite_reliability(res).reindex(used).to_numpy(float)
    out["AVE"] = cfa_mod.average_variance_extracted(res).reindex(used).to_numpy(float)
    return out


meas = pd.concat([measurement_results(officials, "officials", QUALITY)]
                 + ([measurement_results(citizens, "citizens", ["SIPAS", "CSAT"])]
                    if HAS_CITIZENS else []), ignore_index=True)
meas["reliable"] = (meas["alpha"] >= MIN_ALPHA) & ~(meas["CR"] < MIN_CR)
meas["convergent"] = np.where(meas["AVE"].isna(), None, meas["AVE"] >= MIN_AVE)
display(meas)
_rel_ok = meas.loc[meas["reliable"], "scale"].tolist()
_rel_bad = meas.loc[~meas["reliable"], "scale"].tolist()
_conv_ok = meas.loc[meas["convergent"].eq(True), "scale"].tolist()
_conv_bad = meas.loc[meas["convergent"].eq(False), "scale"].tolist()
_conv_na = meas.loc[meas["convergent"].isna(), "scale"].tolist()
_cr_na = meas.loc[meas["CR"].isna(), "scale"].tolist()   # reliability then rests on alpha alone


def _list(xs):
    return ", ".join(xs) if xs else "không thang đo nào"


def _why(r):
    """The values that fail a cut-off, e.g. 'SKL (CR 0,68)'."""
    bad = []
    if r.alpha < MIN_ALPHA:   # never printed equal to the cut-off it fails
        bad.append(f"alpha {export.number_beside(r.alpha, MIN_ALPHA, lang='vi')}")
    if r.CR < MIN_CR:
        bad.append(f"CR {export.number_beside(r.CR, MIN_CR, lang='vi')}")
    return f"{r.scale} ({', '.join(bad)})"


_rel_bad_why = [_why(r) for r in meas[~meas["reliable"]].itertuples()]
_ave_bad = meas.loc[meas["convergent"].eq(False), "AVE"]   # the range of the failing scales
display(Markdown(
    f"**Kết quả đo lường (notebook 03) của {len(meas)} thang đo dùng ở đây.**  Độ tin cậy "
    f"(alpha ≥ {fmt(MIN_ALPHA, 2)} và CR ≥ {fmt(MIN_CR, 2)}) đạt ở: {_list(_rel_ok)}; không đạt "
    f"ở: {_list(_rel_bad_why)}"
    + (f" (CR không tính được ở {_list(_cr_na)}: độ tin cậy của "
       f"{'chúng' if len(_cr_na) > 1 else 'thang đo này'} chỉ dựa vào alpha)" if _cr_na else "")
    + f".  Giá trị hội tụ (AVE ≥ {fmt(MIN_AVE, 2)}) đạt ở: "
    f"{_list(_conv_ok)}; **không đạt** ở: {_list(_conv_bad)}"
    + (f" (AVE từ {fmt(_ave_bad.min(), 2)} đến {export.number_beside(_ave_bad.max(), MIN_AVE, lang='vi')})"
       if _ave_bad.notna().any() else "")
    + (f"; không tính được (CFA không ước lượng được): {_list(_conv_na)}" if _conv_na
       else "") + ".  "
    + "".join(f"CR và AVE của {INSTRUMENT_NAMES_VI[inst]}: "
              f"{basis[0].lower() + basis[1:]}  " for inst, basis in BASIS.items())
    + "".join(f"**CR và AVE của {INSTRUMENT_NAMES_VI[inst]} đến từ một nghiệm CFA không chính "
              f"quy** ({'; '.join(h.text('vi') for h in cases)}), như notebook 03 báo: chỉ đọc "
              "chúng như chỉ dẫn thô.  " for inst, cases in sorted(IMPROPER.items()))
    + ("**Điều này có nghĩa là** điểm của các thang đo không đạt giá trị hội tụ được đọc như "
       "**chỉ số tổng hợp mô tả** của các câu tự đánh giá, không như phép đo một năng lực duy "
       "nhất: so sánh giữa các xã dưới đây là so sánh chỉ số này.  Trung bình hơn một nửa "
       "phương sai của các câu không thuộc khái niệm, nên sai số đo làm tương quan nội lớp (ICC) "
       "thấp đi và khoảng tin cậy của từng xã rộng ra: một khác biệt nhỏ giữa hai xã không "
       "phải là bằng chứng, và việc không thấy khác biệt cũng không chứng minh các xã như nhau.  "
       if _conv_bad else
       "Các thang đo đạt giá trị hội tụ: so sánh giữa các xã đọc được như so sánh các khái niệm "
       "được đo.  " if _conv_ok and not _conv_na else
       f"Các thang đo tính được AVE đều đạt giá trị hội tụ ({_list(_conv_ok)}); với "
       f"{_list(_conv_na)}, giá trị hội tụ chưa được kiểm tra, nên điểm của chúng được đọc như "
       "**chỉ số tổng hợp mô tả** của các câu tự đánh giá.  " if _conv_ok else
       "**Giá trị hội tụ chưa được kiểm tra ở thang đo nào**: không có bằng chứng rằng các câu "
       "của mỗi thang đo đo cùng một khái niệm, nên điểm các thang đo được đọc như **chỉ số "
       "tổng hợp mô tả** của các câu tự đánh giá, và so sánh giữa các xã dưới đây là so sánh "
       "các chỉ số này.  ")
    + (f"Với thang đo có độ tin cậy dưới ngưỡng ({_list(_rel_bad)}), thứ hạng các xã trong "
       "hình và bảng dưới đây chỉ để tham khảo." if _rel_bad else
       "Độ tin cậy đạt ở mọi thang đo: điểm trung bình đủ ổn định để so sánh giữa các xã.")))

# %%
cm = quality.commune_means(scores, QUALITY, CLUSTER, method="mixed")
cm_cit = (quality.commune_means(cit_scores, ["SIPAS"], CLUSTER, method="mixed") if HAS_CITIZENS
          else cm.iloc[:0])
iccs = pd.concat([quality.icc_table(scores, QUALITY, CLUSTER)]
                 + ([quality.icc_table(cit_scores, ["SIPAS", "CSAT"], CLUSTER)] if HAS_CITIZENS
                    else []), ignore_index=True)
display(iccs[["variable", "n", "n_groups", "icc", "icc_anova", "icc_anova_lo", "icc_anova_hi",
              "f_stat", "p_value"]].round(4))
ICC_HEAD = {"variable": export.tr("Thang đo", "Scale"), "n_groups": export.tr("Số xã", "Communes"),
            "tau2": export.tr("τ² (giữa các xã)", "τ² (between)"),
            "sigma2": export.tr("σ² (trong xã)", "σ² (within)"),
            "icc": export.tr("ICC (REML)", "ICC (REML)"),
            "icc_anova": export.tr("ICC(1) ANOVA", "ICC(1) ANOVA"),
            "icc_anova_lo": export.tr("KTC 95% dưới", "95% CI low"),
            "icc_anova_hi": export.tr("KTC 95% trên", "95% CI high"), "p_value": "p"}
export.save_table(iccs[["variable", "n", "n_groups", "tau2", "sigma2", "icc", "icc_anova",
                        "icc_anova_lo", "icc_anova_hi", "p_value"]].rename(columns=ICC_HEAD),
                  "04_icc", title=export.tr("Tương quan nội lớp theo xã",
                                            "Intraclass correlation by commune"),
                  note=export.tr("ICC: tương quan nội lớp, mô hình hệ số chặn ngẫu nhiên (REML); "
                                 "ICC(1) ANOVA với KTC 95% theo phân phối F.",
                                 "ICC: random-intercept model (REML); ICC(1) ANOVA with its "
                                 "F-based 95% CI."), simulated=SIM, decimals=3)
panels_q = [(cm, "PRO", export.tr("Năng lực chuyên môn (PRO)", "Professional competence (PRO)"))]
if HAS_CITIZENS:
    panels_q.append((cm_cit, "SIPAS", export.tr("Đánh giá của người dân", "Citizens' assessment")))
# one x range across the panels and one legend for the reference lines (plots.caterpillar_panels);
# a commune left out by the small-cell rule is named in the figure itself (plots.hidden_labels)
HIDDEN_NOTE = export.tr("Không vẽ các xã có dưới {min_cell} người trả lời (bảo vệ thông tin cá "
                        "nhân): {names}.",
                        "Not shown (fewer than {min_cell} respondents, to protect personal "
                        "data): {names}.")
q_panels = []
for tab, var, lab in panels_q:
    # citizens: commune populations are not published, so no population weights — the
    # district figure is the mean over communes, each weighted equally (docs/inference.md)
    centre = (quality.district_mean(scores, var, CLUSTER)["mean"] if var != "SIPAS" else
              float(cit_scores.groupby(CLUSTER)[var].mean().mean()))
    q_panels.append({"table": tab[tab["variable"] == var].assign(
                       label=lambda d: d[CLUSTER].map(short)),
                   "title": lab, "reference": centre,
                   "reference_label": (MEAN_LABEL if var != "SIPAS" else
                                       export.tr("Trung bình các xã (trọng số bằng nhau)",
                                                 "Mean over communes (equal weights)")),
                   "reference_style": "--" if var != "SIPAS" else "-."})
fig = plots.caterpillar_panels(q_panels, label="label", ncols=2, hidden_note=HIDDEN_NOTE,
                               min_cell=MIN_CELL, threshold=WEAK_CUTOFF,
                               threshold_label=CUTOFF_LABEL, xlabel=SCORE_AXIS,
                               suptitle=(export.tr("Năng lực chuyên môn và đánh giá của người "
                                                   "dân theo xã", "Professional competence and "
                                                   "citizens' assessment by commune")
                                         if HAS_CITIZENS else
                                         export.tr("Năng lực chuyên môn theo xã",
                                                   "Professional competence by commune")))
QUALITY_XLIM = fig.axes[0].get_xlim()   # the 2025 figure is drawn on the same scale
export.save_figure(fig, "04_caterpillar_quality", simulated=SIM)
plt.show()
# a commune with fewer than MIN_CELL respondents is left out of a panel (privacy): said here
_hidden = {p["title"]: plots.hidden_labels(p["table"], "label", MIN_CELL) for p in q_panels}
if any(_hidden.values()):
    display(Markdown("Hình không vẽ các xã có dưới " + str(MIN_CELL) + " người trả lời (bảo "
                     "vệ thông tin cá nhân): " + "; ".join(
                         f"{t}: {len(v)} xã ({', '.join(v)})" for t, v in _hidden.items() if v)
                     + "."))
_own = codebook.construct_labels("officials").set_index("construct")
dim_names = {d: export.tr(fd.NAMES_VI.get(d, _own.at[d, "label_vi"]),
                          fd.NAMES_EN.get(d, _own.at[d, "label_en"])) for d in QUALITY}
fig = plots.caterpillar_panels(
    [{"table": cm[cm["variable"] == var].assign(label=lambda d: d[CLUSTER].map(short)),
      "title": f"{var}: {dim_names[var]}",
      "reference": quality.district_mean(scores, var, CLUSTER)["mean"]} for var in QUALITY],
    label="label", ncols=2, title_size=9, min_cell=MIN_CELL, hidden_note=HIDDEN_NOTE,
    show_n=False, reference_label=MEAN_LABEL, threshold=WEAK_CUTOFF,
    threshold_label=CUTOFF_LABEL, xlabel=SCORE_AXIS,
    suptitle=export.tr("Bốn chiều chất lượng đội ngũ theo xã", "Four quality dimensions by commune"))
export.save_figure(fig, "04_caterpillar_dimensions", simulated=SIM)
plt.show()
cm_tab = pd.concat([cm, cm_cit], ignore_index=True).assign(
    commune=lambda d: d[CLUSTER].map(short))
QB_HEAD = {"variable": export.tr("Thang đo", "Scale"), "commune": HEAD["commune"],
           "mean": export.tr("Trung bình", "Mean"),
           "estimate": export.tr("Ước lượng co (Bayes thực nghiệm)", "Shrunken estimate (EB)"),
           "lo": export.tr("KTC 95% dưới", "95% CI low"),
           "hi": export.tr("KTC 95% trên", "95% CI high"), "rank": export.tr("Thứ hạng", "Rank"),
           "rank_lo": export.tr("Thứ hạng: cận dưới", "Rank: low"),
           "rank_hi": export.tr("Thứ hạng: cận trên", "Rank: high")}
cm_tab = cm_tab.sort_values(["variable", "commune"], key=lambda s: s.map(export.vi_sort_key)
                            if s.name == "commune" else s, ignore_index=True)
export.save_table(cm_tab[["variable", "commune", "n", "mean", "estimate", "lo", "hi", "rank",
                          "rank_lo", "rank_hi"]].rename(columns=QB_HEAD),
                  "04_quality_by_commune",
                  title=export.tr("Điểm chất lượng theo xã (ước lượng co (Bayes thực nghiệm), "
                                  "KTC 95%)",
                                  "Quality scores by commune (shrunken estimates, 95% CI)"),
                  note=export.tr("Khoảng thứ hạng: các thứ hạng tương thích với các khoảng tin "
                                 "cậy.", "Rank interval: ranks compatible with the intervals."),
                  simulated=SIM, count_columns=["n"],
                  dependent={"n": [QB_HEAD[c] for c in ("mean", "estimate", "lo", "hi", "rank",
                                                        "rank_lo", "rank_hi")]})
ip = iccs.set_index("variable")
display(Markdown(
    f"ICC (REML) của năng lực chuyên môn (PRO) = **{fmt(ip.at['PRO', 'icc'], 3)}** (ICC(1) "
    f"ANOVA {fmt(ip.at['PRO', 'icc_anova'], 3)}, KTC 95% của ICC(1): "
    f"{fmt(ip.at['PRO', 'icc_anova_lo'], 3)}–{fmt(ip.at['PRO', 'icc_anova_hi'], 3)}; nhận định "
    "D3 đọc ICC(1) cùng khoảng tin cậy và kiểm định F của nó); của phẩm chất đạo đức (ETH) = "
    f"**{fmt(ip.at['ETH', 'icc'], 3)}**"
    + (f"; của đánh giá của người dân = **{fmt(ip.at['SIPAS', 'icc'], 3)}**." if HAS_CITIZENS
       else "; không có phiếu người dân.")))

# %%
pro_t = cm[cm["variable"] == "PRO"].set_index(CLUSTER)
# classes the intervals support, not a continuous colour scale over a narrow range that
# suggests contrasts the intervals do not support (issue 13, kind 8)
pro_centre = quality.district_mean(scores, "PRO", CLUSTER)["mean"]
CLASS_LAB = [export.tr("cao hơn trung bình huyện", "above the district mean"),
             export.tr("không khác trung bình huyện", "not different from the mean"),
             export.tr("thấp hơn trung bình huyện", "below the district mean")]
pro_class = pd.Series(np.select([pro_t["lo"] > pro_centre, pro_t["hi"] < pro_centre],
                                [CLASS_LAB[0], CLASS_LAB[2]], default=CLASS_LAB[1]),
                      index=pro_t.index, dtype=object).where(pro_t["n"] >= MIN_CELL)
moved = mapping.separate_duplicates(reg)
# the moved point marked and explained as on the reform map of notebook 01 (one rule)
n_new = reg["commune_2025"].nunique()
note_map = export.tr("Ô Voronoi quanh tọa độ trung tâm xã (không phải địa giới); viền đậm: "
                     f"{n_new} xã mới từ 1/7/2025; lớp theo khoảng tin cậy 95% của ước lượng co "
                     "(Bayes thực nghiệm).",
                     "Voronoi cells around commune centres (not boundaries); thick lines: the "
                     f"{n_new} communes of 1 July 2025; classes from the 95% intervals of the "
                     "shrunken (empirical Bayes) estimates."
                     ) + " " + mapping.moved_note(reg, export.language())
fig = mapping.plot_map(reg.assign(name=reg["code"].map(short)), categories=pro_class,
                       category_colors=dict(zip(CLASS_LAB, ["#1b9e77", "#d9d9d9", "#d95f02"],
                                                strict=True)),
                       flagged=mapping.moved_flags(reg),
                       missing_label=export.tr(f"ẩn: dưới {MIN_CELL} người trả lời",
                                               f"hidden: fewer than {MIN_CELL} respondents"),
                       label=export.tr("PRO so với trung bình huyện", "PRO vs district mean"),
                       title=export.tr("Năng lực chuyên môn (PRO) theo xã so với trung bình huyện",
                                       "Professional competence (PRO) by commune against the "
                                       "district mean"),
                       note=note_map)
export.save_figure(fig, "04_map_pro", simulated=SIM)
plt.show()
display(Markdown(
    "Tọa độ trùng nhau trong danh mục `vietnamadminunits` — xã Tân Thành (cũ) mang tọa độ của "
    "thị trấn Hữu Lũng, một lỗi của nguồn; không tìm thấy nguồn thứ hai cho tọa độ đúng, nên "
    f"điểm được dịch để vẽ và đánh dấu {mapping.MOVED_MARK} theo cùng một quy tắc trên cả hai "
    "bản đồ (bản đồ này và bản đồ sắp xếp năm 2025 ở notebook 01): "
    + ", ".join(moved.loc[moved["moved"], "code"].map(short)) + "."))

# %% [markdown]
# ## 2.1.5. Đội ngũ mà 8 xã mới tiếp nhận (từ 1/7/2025)
#
# Từ 1/7/2025 (`legal.frame_on`), 8 xã mới không còn chịu Nghị định 33/2023: Luật Cán bộ,
# công chức 2025 (80/2025/QH15) bỏ nhóm "cán bộ, công chức cấp xã" riêng và quản lý công chức
# theo vị trí việc làm; Nghị định 170/2025/NĐ-CP bãi bỏ các quy định về công chức cấp xã của
# Nghị định 33.  Vì vậy các bảng dưới đây **không** so các xã mới với số lượng tối đa hay chức
# danh của Nghị định 33: chúng mô tả **đội ngũ mà các xã mới tiếp nhận** (cộng dồn theo Nghị
# quyết 1672/NQ-UBTVQH15; tỷ lệ tính lại từ tử số và mẫu số đã cộng).  Quy định sau cải cách
# có thể áp dụng: công chức người dân tộc thiểu số hoặc ở vùng đặc biệt khó khăn chưa có bằng
# đại học có 5 năm kể từ khi xã mới thành lập để đạt chuẩn (hướng dẫn sau cải cách, một nguồn).
# **Chưa được quy định** trong dữ liệu tham chiếu: số lượng và vị trí việc làm của từng xã mới,
# tiêu chuẩn theo vị trí việc làm (phải bố trí xong trước 1/7/2027).

# %%
if HAS_PERSONNEL:
    counts = ["n_can_bo", "n_cong_chuc", "n_staff"]   # no Decree 33 maximum after 1/7/2025
    staff25 = merger.to_2025(staff, reg, sum_columns=counts)
    assert (staff25[counts].sum() == staff[counts].sum()).all()  # totals equal across levels
    staff25 = staff25.sort_values("commune_2025", key=lambda s: s.map(export.vi_sort_key),
                                  ignore_index=True)
    display(staff25)
    comp25 = merger.to_2025(comp.by_unit, reg, sum_columns=["n", "k", "n_missing"], by=["rule_id"])
    for r in comp25["rule_id"].unique():
        a = comp25[comp25.rule_id == r][["n", "k"]].sum()
        b = comp.by_unit[comp.by_unit.rule_id == r][["n", "k"]].sum()
        assert (a == b).all()
    # the one post-reform rule that exists: a university degree (5-year deadline for
    # ethnic-minority staff); Decree 33's field and secondary standards no longer apply
    comp25 = comp25[comp25["rule_id"].isin(["CC_DEGREE"])]
    comp25 = comp25.sort_values("commune_2025", key=lambda s: s.map(export.vi_sort_key),
                                ignore_index=True)
    # n_missing: the staffing table's civil servants minus n would give back a small one
    save_share_table(comp25[["commune_2025", "n", "k", "share", "lo", "hi", "n_missing"]]
                     .rename(columns=HEAD),
                     "04_compliance_2025",
                     export.tr("Công chức chưa có bằng đại học trong đội ngũ 8 xã mới tiếp nhận",
                               "Civil servants without a university degree inherited by the 8 "
                               "new communes"),
                     note=export.tr("n: công chức có dữ liệu trình độ; k: chưa có bằng đại học. "
                                    "Sau cải cách: người dân tộc thiểu số hoặc ở vùng đặc biệt khó "
                                    "khăn có 5 năm kể từ khi xã mới thành lập để đạt chuẩn.",
                                    "n: civil servants with a known level; k: without a degree. "
                                    "After the reform ethnic-minority staff have 5 years from the "
                                    "new commune's creation."),
                     within=[[]], missing="n_missing")
    export.save_table(staff25[["commune_2025", *counts]].rename(columns=HEAD),
                      "04_staffing_2025",
                      title=export.tr("Đội ngũ cán bộ, công chức mà 8 xã mới tiếp nhận",
                                      "Officials inherited by the 8 new communes"),
                      note=export.tr("Số người của các đơn vị cũ hợp nhất; số lượng tối đa của "
                                     "xã mới chưa được quy định trong dữ liệu tham chiếu.",
                                     "Officials of the merged former units; the new communes' "
                                     "maximum is not in the reference data."),
                      simulated=SIM, decimals=0)
# one interval rule (docs/inference.md): a new commune's mean is a stratified estimate over
# its former units (strata), with the finite-population correction from the register
FRAME = (personnel.groupby("commune_code").size().to_dict() if HAS_PERSONNEL else None)
rows25 = []
for (var, c25), g in scores.melt(id_vars=[CLUSTER, "commune_2025"], value_vars=QUALITY,
                                 var_name="variable").groupby(["variable", "commune_2025"]):
    g = g.dropna(subset=["value"])
    try:
        if FRAME is None:
            raise ModelError("no register: no frame sizes")
        r = dg.intervals.stratified_mean(g["value"], g[CLUSTER], FRAME)
        rows25.append({"variable": var, "commune_2025": c25, "n": r["n"], "mean": r["estimate"],
                       "estimate": r["estimate"], "lo": r["lo"], "hi": r["hi"]})
    except ModelError:   # no register, or a former unit with one respondent: plain t
        m, lo, hi, n = dg.t_interval(g["value"])
        rows25.append({"variable": var, "commune_2025": c25, "n": n, "mean": m, "estimate": m,
                       "lo": lo, "hi": hi})
cm25 = pd.DataFrame(rows25).sort_values(["variable", "estimate"], ascending=[True, False],
                                        ignore_index=True)
display(sort_communes(cm25.pivot(index="commune_2025", columns="variable", values="estimate")
                     .round(2).reset_index(), "commune_2025").set_index("commune_2025"))
RN25 = {"variable": export.tr("Thang đo", "Scale"), "commune_2025": HEAD["commune_2025"],
        "mean": export.tr("Trung bình", "Mean"), "lo": export.tr("KTC 95% dưới", "95% CI low"),
        "hi": export.tr("KTC 95% trên", "95% CI high")}
export.save_table(cm25[["variable", "commune_2025", "n", "mean", "lo", "hi"]].rename(columns=RN25),
                  "04_quality_2025",
                  title=export.tr("Điểm chất lượng theo 8 xã mới (phân tầng theo đơn vị cũ, có "
                                  "hiệu chỉnh tổng thể hữu hạn)",
                                  "Quality scores by new commune (stratified by former unit, "
                                  "finite-population correction)"),
                  note=export.tr("KTC 95% (phân phối t) của ước lượng phân tầng theo đơn vị cũ, "
                                 "tổng thể là danh sách trích ngang; phương sai theo Cochran (1977, "
                                 "Sampling Techniques, xuất bản lần 3, công thức 5.1, 5.6).",
                                 "95% t interval of the stratified estimate over former units; "
                                 "the frame is the personnel register; variance as in Cochran "
                                 "(1977, Sampling Techniques, 3rd ed., eqs. 5.1, 5.6)."),
                  simulated=SIM, count_columns=["n"],
                  dependent={"n": [RN25["mean"], RN25["lo"], RN25["hi"]]})
icc25 = quality.icc_table(scores, QUALITY, "commune_2025")
display(icc25[["variable", "n_groups", "icc", "icc_anova", "icc_anova_lo", "icc_anova_hi"]])
pro25 = cm25[cm25["variable"] == "PRO"]
# the figure uses the estimator of its 23-unit sibling (04_caterpillar_quality): shrunken
# (empirical-Bayes) means from a random-intercept model, here with the 8 new communes as groups,
# on the same x range; the table above keeps the design-based stratified estimate
eb25 = quality.commune_means(scores, ["PRO"], "commune_2025", method="mixed")
fig = plots.caterpillar(eb25, label="commune_2025", min_cell=MIN_CELL, hidden_note=HIDDEN_NOTE,
                        reference=quality.district_mean(scores, "PRO", CLUSTER)["mean"],
                        reference_label=MEAN_LABEL, threshold=WEAK_CUTOFF,
                        threshold_label=CUTOFF_LABEL,
                        xlim=plots.caterpillar_range([eb25], lines=QUALITY_XLIM, pad=0),
                        title=export.tr("Năng lực chuyên môn (PRO) theo 8 xã mới",
                                        "Professional competence (PRO) by new commune"),
                        xlabel=SCORE_AXIS)
export.save_figure(fig, "04_caterpillar_2025", simulated=SIM)
plt.show()
low25, high25 = pro25.iloc[-1], pro25.iloc[0]
_eb_high = eb25.set_index("commune_2025").loc[high25["commune_2025"]]   # the figure's interval
i25 = icc25.set_index("variable")
display(Markdown(
    f"Theo 8 xã mới{' ' + study.qualifier('communes') if SIM else ''}, điểm PRO cao nhất ở "
    f"**{high25['commune_2025']}** ({fmt(high25['mean'], 2)}; "
    f"KTC 95%: {fmt(high25['lo'], 2)}–{fmt(high25['hi'], 2)}) và thấp nhất ở "
    f"**{low25['commune_2025']}** ({fmt(low25['mean'], 2)}; KTC 95%: {fmt(low25['lo'], 2)}–"
    f"{fmt(low25['hi'], 2)}); ICC (REML) của PRO giữa 8 xã mới là {fmt(i25.at['PRO', 'icc'], 3)} "
    f"(giữa 23 đơn vị cũ: {fmt(ip.at['PRO', 'icc'], 3)}).  Khoảng tin cậy của mỗi xã mới là "
    "của ước lượng phân tầng theo 2–3 đơn vị cũ, có hiệu chỉnh tổng thể hữu hạn "
    "(docs/inference.md).  Hình vẽ dùng cùng cách ước lượng với hình của 23 đơn vị cũ — ước "
    "lượng co (Bayes thực nghiệm) từ mô hình hệ số chặn ngẫu nhiên, nhóm là 8 xã mới — và "
    "cùng thang trục, để hai hình so được với nhau.  "
    f"Hai khoảng trả lời hai câu hỏi khác nhau, nên độ rộng khác nhau: với **{high25['commune_2025']}**, "
    f"khoảng của bảng rộng {fmt(high25['hi'] - high25['lo'], 2)} điểm, khoảng của hình "
    f"({fmt(_eb_high['lo'], 2)}–{fmt(_eb_high['hi'], 2)}) rộng {fmt(_eb_high['hi'] - _eb_high['lo'], 2)} "
    "điểm.  Khoảng của bảng mô tả chính những cán bộ, công chức của xã (tổng thể hữu hạn là "
    "danh sách trích ngang; sai số chỉ đến từ những người chưa trả lời, coi như vắng ngẫu nhiên); khoảng của hình "
    "coi những người trả lời như một mẫu từ một tổng thể không hạn chế (không hiệu chỉnh tổng "
    "thể hữu hạn) và kéo ước lượng của mỗi xã về trung bình chung theo mô hình hệ số chặn ngẫu "
    "nhiên.  Đọc bảng khi mô tả đội ngũ hiện có của một xã; đọc hình khi so sánh các xã."))

# %% [markdown]
# ## 2.1.6. Nhận định được kiểm chứng (D1–D5)
#
# Mỗi nhận định của phần II được đối chiếu với số liệu ở trên.  Câu mô tả dưới đây được tính
# tự động; **kết luận** của mỗi nhận định là kết luận của sổ đối chiếu ở notebook 06
# (`hlstudy.evidence`), tính bằng cùng một đoạn mã, cùng quy tắc và cùng ngưỡng (ngưỡng trong
# `Rules`), nên một nhận định chỉ có một kết luận.  Lý do đi kèm nêu từng thành phần của nhận
# định, tiêu chí và số liệu của nó.  Câu mô tả có thể nêu thêm số liệu mà kết luận không dùng
# (điểm trung bình, χ², số xã tách khỏi trung bình huyện): đó là mô tả, không phải tiêu chí.
# Bảng được lưu ở `figures/04_findings.csv`.

# %%
def not_testable(claim_id, *needs):
    """A ledger row for a claim whose data are absent: kept, marked not testable."""
    vi = ", ".join(INSTRUMENT_NAMES_VI[n] for n in needs)
    en = ", ".join(needs)
    return fd.Finding(claim_id, f"Không kiểm định được: cần {vi}, không có trong dữ liệu.",
                      f"Not testable: needs the {en} data, absent from this study.",
                      {"testable": False, "missing": list(needs)})


def with_frame(finding, *args, **kwargs):
    """``finding(..., frame=FRAME)``; at thesis size a commune may have one respondent, whose
    stratum variance cannot be estimated: then the design-effect interval (no frame), said."""
    try:
        return finding(*args, frame=FRAME, **kwargs)
    except ModelError as exc:
        if "one respondent" not in str(exc):
            raise
        display(Markdown(
            f"*Ghi chú ({finding.__name__[-2:].upper()}):* có xã chỉ có một người trả lời nên "
            "không ước lượng được phương sai của ước lượng phân tầng theo xã; khoảng tin cậy "
            "dùng hiệu ứng thiết kế theo cụm xã, không có hiệu chỉnh tổng thể hữu hạn."))
        return finding(*args, frame=None, **kwargs)


if HAS_PERSONNEL:
    pers_t = personnel.assign(
        tenure=dg.columns.years_in_post(personnel, REFERENCE_YEAR))
    found = [
        with_frame(fd.finding_d1, comp, scores, group=CLUSTER, th=TH, compliance_alt=comp_sens),
        fd.finding_d2(pers_t, scores, group=CLUSTER, tenure="tenure", th=TH),
        fd.finding_d3(scores, personnel, group=CLUSTER, education="education_level", th=TH,
                      n_sim=N_SIM, seed=SEED),
        fd.finding_d4(personnel, group=CLUSTER, education="education_level",
                      political_theory="political_theory", state_management="state_mgmt_training",
                      trainings="trainings_24m", th=TH),
    ]
else:
    # without the register each claim keeps the parts the survey answers (the ledger judges
    # them: hlstudy.evidence); the statement says which parts need the register
    found = [
        with_frame(fd.finding_d1, None, scores, group=CLUSTER, th=TH),
        fd.finding_d2(None, scores, group=CLUSTER, tenure="tenure", th=TH),
        fd.finding_d3(scores, None, group=CLUSTER, education="education_level", th=TH,
                      n_sim=N_SIM, seed=SEED),
        not_testable("D4", "personnel"),
    ]
# without the citizens' survey D5 keeps the officials' RSP numbers, its correlation said absent
cit_commune = cit_scores.groupby(CLUSTER)["SIPAS"].mean() if HAS_CITIZENS else None
found.append(with_frame(fd.finding_d5, scores, cit_commune, group=CLUSTER, th=TH))
ledger_res = evaluate(study, rules=LEDGER_RULES)
ledger = fd.findings_table(found, verdicts=claim_verdicts(ledger_res, [f.claim_id for f in found]))
for row in ledger.itertuples(index=False):
    # a finding computed from simulated data says so; a claim not testable states no number
    qual = (study.qualifier("officials")
            if json.loads(row.key_numbers).get("testable", True) else "")
    display(Markdown(f"**{row.claim_id}.** {row.statement_vi}{' ' + qual if qual else ''}  \n"
                     f"*Kết luận (sổ đối chiếu, notebook 06):* {row.verdict_vi}"))
display(Markdown(
    "Tỷ lệ từ danh sách trích ngang (tổng điều tra) là giá trị chính xác, không có khoảng tin cậy, ở "
    "cả câu mô tả lẫn kết luận; tỷ lệ và điểm trung bình từ khảo sát cán bộ, công chức có "
    "khoảng tin cậy phân tầng theo xã, có hiệu chỉnh tổng thể hữu hạn (docs/inference.md), "
    "cũng ở cả hai."))
# the thesis table in the export language: claim, statement and verdict under the language's
# headers (the other language's columns, the verdict code and the key numbers' JSON stay in
# `ledger`, hlstudy.diagnostic.findings.findings_table)
export.save_table(export.language_columns(ledger, {
                      "claim_id": ("Mã", "Claim"), "statement": ("Kết quả chẩn đoán", "Finding"),
                      "verdict": ("Kết luận", "Verdict")}), "04_findings",
                  title=export.tr("Kết quả chẩn đoán theo nhận định D1–D5",
                                  "Diagnostic findings for claims D1–D5"),
                  note=export.tr(f"Mô tả: điểm giữa thang {fmt(WEAK_CUTOFF)}; giữ chức danh "
                                 f"dưới {SHORT_TENURE_YEARS} năm là ít kinh nghiệm. Kết luận: của "
                                 f"bảng sổ đối chiếu nhận định; \"nhiều\" là từ "
                                 f"{pct(LEDGER_RULES.descriptive_share, 0)}%, \"phần lớn\" là "
                                 f"trên {pct(LEDGER_RULES.majority_share, 0)}%.",
                                 f"Description: scale midpoint {WEAK_CUTOFF:.1f}; under "
                                 f"{SHORT_TENURE_YEARS} years in post counts as short tenure. "
                                 f"Verdicts: the claims ledger "
                                 f"table's; 'many' from "
                                 f"{LEDGER_RULES.descriptive_share:.0%}, 'most' above "
                                 f"{LEDGER_RULES.majority_share:.0%}."),
                  simulated=SIM)
print(json.dumps(json.loads(ledger.set_index("claim_id").at["D3", "key_numbers"]), indent=1,
                 ensure_ascii=False))
