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
# # 01 — Theoretical framework / Cơ sở lý luận và mô hình nghiên cứu
#
# **English summary.** Part I of the thesis (1.1 the roles and quality of commune officials,
# 1.2 the factors that shape it) is turned into a testable research model.  Quality has four
# dimensions — political quality and ethics (ETH), professional competence (PRO),
# management/communication/problem-solving skills (SKL), responsibility and initiative (RSP).
# Eight factors act on it along different routes: compensation (COMP) and recognition (REC)
# only through work motivation (MOT); the work environment (ENV) through motivation and
# directly on all four dimensions; facilities (FAC), leadership (LEAD), supervision (SUP) and
# reluctance to change (RES, negatively) directly on all four; training (TRAIN) directly on
# competence and skills only; motivation acts on all four dimensions; compensation and
# environment also act on the intention to stay; education acts on competence and tenure on
# competence and skills; the commune mean of officials' quality drives citizens'
# SIPAS-style assessment, and feedback channels drive citizens' trust and satisfaction.  The
# notebook draws that model as a path diagram, states one hypothesis per claim of the thesis
# (`data/instrument/hypotheses.csv`), describes the two questionnaires and the personnel
# register (constructs, items, scales — from the codebook), the legal frame of Decree
# 33/2023 (positions, headcount ceilings, civil-servant standards — `hlstudy.legal`) and the
# 2025 reform that merged Hữu Lũng's 23 commune-level units into 8 communes
# (`vietnamadminunits`).  Everything shown here is reference data or design, not survey
# answers: no simulated data enter this notebook, so exports carry `simulated=False`.

# %%
import pandas as pd
from IPython.display import Markdown, display

from hlstudy import codebook, district, export, framework, legal, sourcing
from hlstudy.communes import area_gap, communes, new_communes
from hlstudy.display import show_numbers_as_read

show_numbers_as_read()   # data frames shown with 3 decimals, counts without (hlstudy.display)

# ---- Parameters ----
ITEMS_PER_OBSERVATION = 5      # Hair et al.: at least 5 (better 10) observations per item
ITEMS_PER_OBSERVATION_GOOD = 10
CITIZENS_PER_COMMUNE = 30     # design of the citizens' survey (interviews per unit)
MARGIN = 0.05                  # Slovin's margin of error
LANG = export.language()       # "vi" by default; HLSTUDY_LANG=en for English exports
tr = export.tr
num = framework.vi_number      # Vietnamese digits in prose: 121.735 người, 806,74 km², 52,3%

export.use_style()

# %% [markdown]
# ## 1. Khái niệm và mô hình nghiên cứu
#
# Theo mục 1.1 của luận văn, cán bộ, công chức cấp xã là người được bầu cử hoặc tuyển dụng
# vào các vị trí của chính quyền cơ sở, vừa là cầu nối giữa Đảng và nhân dân vừa trực tiếp
# thực hiện chính sách, pháp luật.  Để làm tốt vai trò đó, họ cần phẩm chất đạo đức tốt,
# năng lực chuyên môn vững vàng, khả năng giao tiếp và lắng nghe nhân dân, cùng tinh thần
# trách nhiệm.  Luận văn vì vậy đo "chất lượng cán bộ, công chức" bằng các thành phần sau:

# %%
labels = codebook.construct_labels()
quality = labels[labels["role"] == "quality"]
factors = labels[labels["role"] == "factor"]
display(Markdown("\n".join(
    [f"- **{r.construct}** — {r.label_vi} ({r.label_en})" for r in quality.itertuples()])))
display(Markdown(
    f"Mục 1.2 nêu các yếu tố ảnh hưởng; mô hình dùng **{len(factors)} yếu tố** đo bằng thang "
    f"Likert: " + "; ".join(f"{r.label_vi.lower()} ({r.construct})" for r in factors.itertuples())
    + ", cùng hai đặc điểm khách quan lấy từ phần thông tin chung: trình độ chuyên môn (EDU) "
    "và thâm niên giữ chức danh (TENURE).  Động lực làm việc (MOT) là biến trung gian; ý định "
    "gắn bó (STAY) là kết quả về giữ chân cán bộ.  Phía người dân, đánh giá công chức theo "
    "kiểu SIPAS, niềm tin (CTRUST) và sự hài lòng (CSAT) phụ thuộc vào chất lượng trung bình "
    "của đội ngũ xã (QUAL) và vào kênh thông tin, phản hồi (CFB)."))

# %% [markdown]
# Hình 1 vẽ mô hình nghiên cứu.  Mỗi mũi tên là một quan hệ được một giả thuyết nêu ra,
# nhãn là mã luận điểm của luận văn mà quan hệ đó kiểm định.  Một yếu tố tác động lên cả bốn
# thành phần chất lượng được vẽ bằng một mũi tên tới khung "Chất lượng CBCC"; nhãn của mũi
# tên ghi từng luận điểm với các thành phần nó chạm tới ("D7 → cả 4"; "S4 → cả 4; T4 → PRO":
# S4 nói về cả bốn thành phần, T4 chỉ về năng lực chuyên môn).  Mũi tên tới một ô chỉ tác
# động lên đúng thành phần đó.  Các ô được xếp trước theo quy tắc trọng tâm (mỗi yếu tố đứng
# gần các ô nó tác động tới), rồi từng ô được dời chỗ trong cột của nó khi nhờ đó các mũi tên
# cắt nhau ít hơn (số chỗ cắt đếm trên hình đã vẽ, ghi dưới hình); nhãn nằm trên chính mũi
# tên của nó và không chồng lên nhãn, ô hay mũi tên khác (kiểm tra trên hình đã vẽ).

# %%
paths = framework.hypothesized_paths()
fig = framework.path_diagram(lang=LANG, paths=paths)
export.save_figure(fig, "01_conceptual_model", simulated=False)
n_neg = int((paths["sign"] == "-").sum())
n_cross = len(framework.diagram_crossings(fig))
display(Markdown(
    f"Mô hình có **{len(paths)} quan hệ giả thuyết** giữa {paths['cause'].nunique()} biến "
    f"nguyên nhân và {paths['effect'].nunique()} biến kết quả; {n_neg} quan hệ kỳ vọng âm "
    "(tâm lý ngại thay đổi), còn lại kỳ vọng dương. "
    f"Trên hình, các mũi tên cắt nhau ở {n_cross} chỗ."))

# %% [markdown]
# ## 2. Giả thuyết nghiên cứu
#
# Mỗi luận điểm của luận văn (`claims.csv`: tiền đề T, chẩn đoán D, giải pháp S) được viết
# lại thành một giả thuyết có thể kiểm định, kèm loại kiểm định, các khái niệm (thang đo)
# dùng đến và dấu kỳ vọng.  Các quan hệ trong cột "Đường tác động" dùng đúng tên của mô hình
# cấu trúc, để các phần sau (mô hình các yếu tố, bảng chứng cứ) đối chiếu trực tiếp.

# %%
hyp = framework.hypotheses_table(lang=LANG)
by_type = hyp["test_type"].value_counts()
type_vi = {t: framework.code_label(framework.TEST_TYPE_LABELS, t) for t in by_type.index}
display(Markdown(
    f"**{len(hyp)} giả thuyết**, một cho mỗi luận điểm: "
    + ", ".join(f"{n} {type_vi[t]}" for t, n in by_type.items()) + "."))
# test types and claim kinds in the table's words, not programme codes (issue 13, kind 9)
hyp = hyp.assign(
    test_type=[framework.code_label(framework.TEST_TYPE_LABELS, t, LANG) for t in hyp["test_type"]],
    kind=[framework.code_label(framework.CLAIM_KIND_LABELS, k, LANG) for k in hyp["kind"]])
hyp_out = hyp.rename(columns={
    "claim_id": tr("Mã", "Claim"), "section": tr("Mục", "Section"), "kind": tr("Loại", "Kind"),
    "hypothesis": tr("Giả thuyết", "Hypothesis"), "test_type": tr("Kiểm định", "Test"),
    "constructs": tr("Thang đo", "Constructs"), "paths": tr("Đường tác động", "Paths"),
    "expected_sign": tr("Dấu kỳ vọng", "Expected sign")})
export.save_table(hyp_out, "01_hypotheses", title=tr("Giả thuyết nghiên cứu theo luận điểm",
                                                      "Research hypotheses by claim"),
                  note=framework.hypotheses_note(LANG), simulated=False)
hyp_out

# %% [markdown]
# ## 3. Công cụ khảo sát
#
# Ba công cụ, mỗi công cụ có bảng mã (codebook) máy đọc được trong `data/instrument/` và bản
# in (`questionnaire_officials.md`, `questionnaire_citizens.md`, `register_personnel.md`):
# phiếu khảo sát cán bộ, công chức (tổng điều tra), phiếu khảo sát người dân đã giải quyết
# công việc tại xã, và danh sách trích ngang cán bộ, công chức do xã cung cấp.

# %%
inst = framework.instruments_table(lang=LANG)
cb = codebook.load_codebook()
n_items = cb[cb["type"] == "likert"].groupby("instrument").size()
n_background = cb[~cb["type"].isin(["likert", "timestamp", "duration"])].groupby(
    "instrument").size()
n_pii = cb[cb["pii"] == 1].groupby("instrument").size()
n_rev = int(cb["reverse"].sum())
pii = cb[cb["pii"] == 1].drop_duplicates("variable")
pii_names = [("góp ý tự do có thể nêu tên người" if len(q) > 40 else q[0].lower() + q[1:])
             for q in pii["question_vi"]]  # the long question is the citizens' free comment
n_min = ITEMS_PER_OBSERVATION * int(n_items["officials"])
n_good = ITEMS_PER_OBSERVATION_GOOD * int(n_items["officials"])
ceiling = sum(legal.quota(t, "I") for t in communes()["unit_type"])  # all units loại I
display(Markdown(
    f"Phiếu cán bộ, công chức có **{n_items['officials']} câu Likert** thuộc "
    f"{inst['instrument'].eq('officials').sum()} thang đo và {n_background['officials']} câu "
    f"thông tin chung; phiếu người dân có **{n_items['citizens']} câu Likert** thuộc "
    f"{inst['instrument'].eq('citizens').sum()} thang đo và {n_background['citizens']} câu "
    f"thông tin chung; danh sách trích ngang có {n_background['personnel']} cột.  "
    f"{n_rev} câu được đặt theo chiều ngược (được mã hóa lại trước khi tính điểm).  "
    f"Các cột dữ liệu cá nhân ({', '.join(pii_names)} — {int(n_pii.sum())} cột trên ba công "
    f"cụ) bị loại ngay khi đọc dữ liệu.  Theo quy tắc của Hair và cộng "
    f"sự (ít nhất {ITEMS_PER_OBSERVATION}, tốt hơn {ITEMS_PER_OBSERVATION_GOOD} quan sát cho "
    f"mỗi câu hỏi), phân tích nhân tố toàn bộ {n_items['officials']} câu của phiếu cán bộ một "
    f"lần cần ít nhất {n_min} phiếu ({n_good} là tốt), trong khi trần biên chế của cả huyện "
    f"là {ceiling} người: " + (
        "ngay cả mức tối thiểu cũng vượt quy mô tổng điều tra" if n_min > ceiling else
        "mức tối thiểu đạt được nếu tổng điều tra gần đủ, còn mức tốt thì không" if n_good >
        ceiling else "cả hai mức đều đạt được với tổng điều tra") +
    (". Sổ tay 03 vẫn chạy một EFA cho mỗi phiếu (mọi câu hỏi cùng lúc), nên tỉ lệ quan sát "
     "trên câu hỏi thấp là một giới hạn của nghiên cứu; để bù lại, nó dùng phân tích song song "
     "thay cho quy tắc trị riêng > 1 và kiểm tra chéo trên hai nửa mẫu (EFA trên nửa A, CFA "
     "trên nửa B)." if n_good > ceiling else
     ". Sổ tay 03 chạy một EFA cho mỗi phiếu (mọi câu hỏi cùng lúc), dùng phân tích song song "
     "thay cho quy tắc trị riêng > 1 và kiểm tra chéo trên hai nửa mẫu.")))
inst_out = inst.assign(   # instruments and roles in the table's words, not codes
    instrument=[framework.code_label(framework.INSTRUMENT_LABELS, c, LANG)
                for c in inst["instrument"]],
    role=[framework.code_label(framework.ROLE_LABELS, c, LANG) for c in inst["role"]]).rename(
    columns={
    "instrument": tr("Công cụ", "Instrument"), "construct": tr("Mã", "Code"),
    "label": tr("Thang đo", "Construct"), "role": tr("Vai trò", "Role"),
    "n_items": tr("Số câu", "Items"), "n_reverse": tr("Câu đảo", "Reversed"),
    "items": tr("Biến", "Variables"), "scale": tr("Thang trả lời", "Response scale"),
    "claims": tr("Luận điểm", "Claims")})
export.save_table(inst_out, "01_instruments", title=tr(
    "Thang đo của hai phiếu khảo sát", "Scales of the two questionnaires"),
    note=framework.instruments_note(LANG), simulated=False)
inst_out

# %% [markdown]
# **Cỡ mẫu.** Phiếu cán bộ, công chức là tổng điều tra.  Với mô hình hồi quy các thành phần
# chất lượng theo các yếu tố, quy tắc n ≥ 50 + 8m (m biến độc lập) cho cỡ mẫu tối thiểu
# dưới đây; phiếu người dân được thiết kế với cùng một số người ở mỗi đơn vị để so sánh
# giữa các xã, và được đối chiếu với công thức Slovin.

# %%
m = len(factors) + 3  # eight factors, motivation, education, tenure
n_citizens = CITIZENS_PER_COMMUNE * len(communes())
n_slovin = framework.slovin(district.value("population"), MARGIN)
display(Markdown(
    f"Hồi quy một thành phần chất lượng theo {m} biến cần ít nhất "
    f"**{framework.regression_min_n(m)}** quan sát — tổng điều tra (trần {ceiling} người) đáp "
    f"ứng.  Phiếu người dân: {CITIZENS_PER_COMMUNE} người × {len(communes())} đơn vị = "
    f"**{n_citizens}** phiếu, " + ("lớn hơn" if n_citizens >= n_slovin else "nhỏ hơn") +
    f" cỡ mẫu Slovin {n_slovin} (N = {num(district.value('population'))}, "
    f"e = {num(MARGIN, percent=True)}); "
    f"nhưng mỗi xã chỉ có {CITIZENS_PER_COMMUNE} người nên ước lượng từng xã có khoảng tin "
    f"cậy rộng, và người dân lồng trong xã nên sai số phải tính theo cụm."))

# %% [markdown]
# Bốn câu đầu của thang SIPAS là nguyên văn các câu về công chức trong bộ chỉ số SIPAS
# (Quyết định 2640/QĐ-BNV năm 2017); hai câu sau (lắng nghe, đúng hẹn) do luận văn bổ sung
# để đo khả năng lắng nghe nhân dân mà mục 1.1 nhấn mạnh.

# %%
sip = cb[(cb["instrument"] == "citizens") & (cb["construct"] == "SIPAS")]
sip[["variable", "question_vi", "gloss_en"]].reset_index(drop=True)

# %% [markdown]
# ## 4. Khung pháp lý theo thời điểm
#
# Khung pháp lý thay đổi giữa thời điểm khảo sát và thời điểm các giải pháp được áp dụng:
#
# - **Đến hết 30/6/2025** — 23 đơn vị cấp xã cũ: Luật Cán bộ, công chức 2008 (22/2008/QH12),
#   sửa đổi năm 2019 (52/2019/QH14), mà khoản 3 Điều 4 định nghĩa cán bộ, công chức cấp xã
#   (Điều 61 liệt kê chức vụ, chức danh của họ); và Nghị định 33/2023/NĐ-CP (hiệu lực 01/8/2023) quy định chức vụ, chức danh, **số lượng tối đa**
#   và tiêu chuẩn.
# - **Từ 01/7/2025** — 8 xã mới: Luật Cán bộ, công chức 2025 (80/2025/QH15, thông qua
#   24/6/2025) không còn nhóm "cán bộ, công chức cấp xã" riêng, công chức được quản lý theo vị
#   trí việc làm; Nghị định 170/2025/NĐ-CP (ban hành 30/6/2025) về tuyển dụng, sử dụng và quản
#   lý công chức bãi bỏ các quy định về công chức cấp xã của Nghị định 33.
#
# Bảng dưới đây (`data/reference/legal_frame.csv`) ghi số hiệu, ngày và nguồn của từng văn
# bản; ngày nào chưa kiểm chứng được thì để trống, không đoán.  Cột "Nguồn" của các bảng
# trong mục này in trích dẫn ngắn (cột `citation_vi` của tệp); nguồn gốc đầy đủ (trang, bản
# sao, bộ dữ liệu đã tra) ở cột `source` của từng tệp trong `data/reference/`.  Các mục sau
# của mục này trình bày Nghị định 33/2023, khung của khảo sát.

# %%
frame = legal.legal_frame()
# the unit counts from the registry, the dates as the table's own (dd/mm/yyyy)
_n_old, _n_new = len(communes()), len(new_communes())
APPLIES = {"units_2024": tr(f"{_n_old} đơn vị cũ (đến 30/06/2025)",
                            f"{_n_old} former units (to 30 Jun 2025)"),
           "communes_2025": tr(f"{_n_new} xã mới (từ 01/07/2025)",
                               f"{_n_new} new communes (from 1 Jul 2025)")}


def _day(d):
    return "" if pd.isna(d) else d.strftime("%d/%m/%Y")


frame_out = pd.DataFrame({
    tr("Văn bản", "Document"): frame["number"].str.replace(" Điều ", tr(" Điều ", " Art. "))
    .str.replace("Luật Hộ tịch", tr("Luật Hộ tịch", "Law on Civil Status"))
    .str.replace(" khoản ", tr(" khoản ", " cl. ")),
    tr("Tên", "Title"): frame["title_vi"] if LANG == "vi" else frame["title_en"],
    tr("Ban hành", "Issued"): frame["issued"].map(_day),
    tr("Hiệu lực", "In force"): frame["in_force"].map(_day),
    tr("Hết áp dụng", "Until"): frame["in_force_until"].map(_day),
    tr("Áp dụng cho", "Applies to"): frame["applies_to"].map(APPLIES),
    tr("Nội dung dùng trong đề tài", "Role in the study"): (
        frame["role_vi"] if LANG == "vi" else frame["role_en"]),
    tr("Nguồn", "Source"): sourcing.citations(frame, LANG),
    tr(*sourcing.SOURCES_COLUMN): sourcing.sources_count(frame["confidence"])})
export.save_table(frame_out, "01_legal_frame", title=tr(
    "Khung pháp lý về cán bộ, công chức cấp xã theo thời điểm",
    "The legal frame of commune officials by date"),
    note=tr("Ngày để trống: chưa kiểm chứng được trong nguồn tra cứu.",
            "Blank dates: not verified in the sources searched.") + " " + tr(
        *sourcing.SOURCES_NOTE), simulated=False)
display(Markdown(
    f"Khảo sát (mô phỏng trên 23 đơn vị cũ, trước cải cách) thuộc "
    f"**{legal.frame_name(legal.frame_on('2024-12-31'))}**; từ 01/7/2025 là "
    f"**{legal.frame_name(legal.frame_on('2025-07-01'))}**.  Số lượng Phó Chủ tịch: UBND xã loại I, II tối đa 2, loại III 1 "
    "(Nghị định 08/2016/NĐ-CP sửa đổi bởi Nghị định 69/2020/NĐ-CP, nhiệm kỳ 2021–2026); HĐND xã "
    "1 (Luật Tổ chức chính quyền địa phương 2015, Điều 32)."))
frame_out

# %%
pos = legal.positions()
counts = pos["kind"].value_counts()
display(Markdown(
    f"Nghị định quy định **{counts['can_bo']} chức vụ cán bộ** và **{counts['cong_chuc']} "
    f"chức danh công chức** cấp xã (Trưởng Công an xã không còn là chức danh công chức cấp xã)."))
KIND_VI = {"can_bo": tr("cán bộ", "cadre"), "cong_chuc": tr("công chức", "civil servant")}
# the Vietnamese table prints the official titles only; the English one adds their translation
pos_out = pos.assign(kind=pos["kind"].map(KIND_VI), citation=sourcing.citations(pos, LANG),
                     confidence=sourcing.sources_count(pos["confidence"]))[
    ["kind", "title_vi", *([] if LANG == "vi" else ["title_en"]), "citation", "confidence"]].rename(
    columns={"kind": tr("Loại", "Kind"),
             "title_vi": tr("Chức vụ, chức danh", "Title (vi)"), "title_en": "Title",
             "citation": tr("Nguồn", "Source"), "confidence": tr(*sourcing.SOURCES_COLUMN)})
export.save_table(pos_out, "01_decree33_positions", title=tr(
    "Chức vụ cán bộ và chức danh công chức cấp xã (Nghị định 33/2023)",
    "Commune cadre positions and civil-servant titles (Decree 33/2023)"),
    note=tr(*sourcing.SOURCES_NOTE), simulated=False)
pos_out

# %%
head = legal.headcount()
quota = head.pivot(index="unit_type", columns="unit_class", values="max_staff")
part = head.pivot(index="unit_type", columns="unit_class", values="max_part_time")
reg = communes()
types = reg["unit_type"].value_counts()
lo, hi = int(quota.loc["xã"].min()), int(quota.loc["xã"].max())
display(Markdown(
    f"Số lượng cán bộ, công chức tối đa: xã và thị trấn loại I {quota.loc['xã', 'I']}, loại II "
    f"{quota.loc['xã', 'II']}, loại III {quota.loc['xã', 'III']} người; người hoạt động không "
    f"chuyên trách tối đa {part.loc['xã', 'I']}/{part.loc['xã', 'II']}/{part.loc['xã', 'III']}.  "
    f"Hữu Lũng có {types.get('xã', 0)} xã và {types.get('thị trấn', 0)} thị trấn, nên trần "
    f"của toàn huyện nằm trong khoảng {lo * len(reg)}–{hi * len(reg)} người tùy cách phân "
    f"loại từng đơn vị — cách phân loại này không công khai nên các phần sau coi nó là "
    f"một tham số."))
head_out = head.assign(citation=sourcing.citations(head, LANG))[
    ["unit_type", "unit_class", "max_staff", "max_part_time", "citation", "confidence"]]
head_out = head_out.assign(unit_type=head_out["unit_type"].map(legal.unit_type_label),
                           confidence=sourcing.sources_count(head_out["confidence"])).rename(columns={
    "unit_type": tr("Loại đơn vị", "Unit type"), "unit_class": tr("Phân loại", "Class"),
    "max_staff": tr("Cán bộ, công chức tối đa", "Max. cadres + civil servants"),
    "max_part_time": tr("Không chuyên trách tối đa", "Max. part-time workers"),
    "citation": tr("Nguồn", "Source"), "confidence": tr(*sourcing.SOURCES_COLUMN)})
export.save_table(head_out, "01_decree33_headcount", title=tr(
    "Số lượng cán bộ, công chức cấp xã tối đa theo loại đơn vị (Nghị định 33/2023)",
    "Headcount ceilings by unit type and class (Decree 33/2023)"),
    note=tr(*sourcing.SOURCES_NOTE), simulated=False)
head_out

# %%
std = legal.standards()
std_out = std.assign(applies_to=std["applies_to"].map(KIND_VI),
                     citation=sourcing.citations(std, LANG),
                     confidence=sourcing.sources_count(std["confidence"]))[
    ["applies_to", "label_vi" if LANG == "vi" else "label_en", "citation", "confidence"]]
std_out = std_out.rename(columns={
    "applies_to": tr("Áp dụng", "Applies to"), "label_vi": tr("Tiêu chuẩn", "Standard"),
    "label_en": "Standard", "citation": tr("Nguồn", "Source"),
    "confidence": tr(*sourcing.SOURCES_COLUMN)})
export.save_table(std_out, "01_decree33_standards", title=tr(
    "Tiêu chuẩn công chức cấp xã (Điều 10, Nghị định 33/2023)",
    "Commune civil-servant standards (Art. 10, Decree 33/2023)"),
    note=tr(*sourcing.SOURCES_NOTE), simulated=False)
display(Markdown(
    f"{len(std[std['applies_to'] == 'cong_chuc'])} tiêu chuẩn công chức được mã hóa thành quy "
    "tắc kiểm tra được (tuổi, học vấn phổ thông, trình độ chuyên môn với ngoại lệ trung cấp "
    "cho xã miền núi, chuyên ngành phù hợp chức danh).  Ngoại lệ trung cấp có hai cách đọc "
    "(tỉnh áp dụng hay không), cả hai được trình bày ở notebook 04.  **Cán bộ không được đánh "
    "giá**: họ giữ chức vụ do bầu cử, và tiêu chuẩn ở Điều 8 nhường cho Điều lệ Đảng và điều "
    "lệ các tổ chức — những văn bản đề tài không có; luận văn không tự đặt yêu cầu lý luận "
    "chính trị.  Chỉ huy trưởng quân sự có tiêu chuẩn riêng theo pháp luật về dân quân tự vệ; "
    "công chức tư pháp – hộ tịch theo Luật Hộ tịch 2014 chỉ cần trung cấp luật.  Điều 38 cho "
    "công chức đang giữ chức danh 5 năm để đạt chuẩn."))
std_out

# %% [markdown]
# ## 5. Địa bàn nghiên cứu và cải cách năm 2025
#
# Các số liệu về huyện lấy từ `data/reference/district_facts.csv` (nguồn và số nguồn ở
# từng dòng; số liệu chỉ có một nguồn không nên trình bày như điều chắc chắn).

# %%
facts = district.facts()
shares = district.ethnic_shares()
eth = codebook.value_labels("ethnicity").set_index("code")["label_vi"]
conf = facts.set_index("key")["confidence"].astype(str)
eth_conf = {conf[k] for k in conf.index if k.startswith("ethnic_share_")}
display(Markdown(
    f"Huyện Hữu Lũng rộng {num(district.value('area_km2'), 2)} km²"
    + (" (một nguồn; bảng dân số theo Tổng điều tra 2019 của danso.asia ghi 808 km²)"
       if conf["area_km2"] == "1" else "") + ", dân số "
    f"{num(district.value('population'))} người năm 2019 (thành thị "
    f"{num(district.value('population_urban'))}, nông thôn "
    f"{num(district.value('population_rural'))} — số liệu một nguồn).  Cơ cấu dân tộc năm "
    f"2013 (trên tổng số {num(district.value('population_ethnic_base'))} người): "
    + ", ".join(f"{eth[k]} {num(v, 2 if v < 0.02 else 1, percent=True)}"  # as in the source
                for k, v in shares.items())
    + (" — theo một nguồn duy nhất (phòng dân số huyện, được trích trong một luận văn địa "
       "phương), nên chỉ dùng làm mốc so sánh gần đúng." if eth_conf == {"1"} else ".")))
# each fact's label (and caveat) and unit in the notebook's language; each value printed with
# the decimals the reference file gives it (121.735 người, 806,74 km², 52,3 %)
facts_tab, value_decimals = district.facts_table(LANG)
VALUE = tr("Giá trị", "Value")
facts_out = facts_tab.rename(columns={
    "label": tr("Chỉ tiêu", "Fact"), "value": VALUE, "unit": tr("Đơn vị", "Unit"),
    "year": tr("Năm", "Year"), "source": tr("Nguồn", "Source"),
    "sources": tr(*sourcing.SOURCES_COLUMN)})
export.save_table(facts_out, "01_district_facts", title=tr(
    "Một số thông tin về huyện Hữu Lũng", "Hữu Lũng district facts"),
    note=tr(*sourcing.SOURCES_NOTE), simulated=False, cell_decimals={VALUE: value_decimals})
facts_out

# %%
reform = framework.reform_table(lang=LANG)
new = new_communes()
display(Markdown(
    "Từ 01/7/2025 cấp huyện không còn; Nghị quyết 1672/NQ-UBTVQH15 nhập "
    f"{len(reg)} đơn vị cấp xã của Hữu Lũng thành {len(new)} xã của tỉnh Lạng Sơn.  Khảo sát "
    f"dùng khung {len(reg)} đơn vị cũ; các giải pháp ở phần III hướng tới {len(new)} xã mới, "
    "nên mọi kết quả theo xã được báo cáo trên cả hai khung."))
display(Markdown(
    f"**{len(reg)} đơn vị** ({types.get('thị trấn', 0)} thị trấn, {types.get('xã', 0)} xã) "
    f"thành **{len(new)} xã**: {int((reform['n_units'] == 3).sum())} xã mới gộp ba đơn vị, "
    f"{int((reform['n_units'] == 2).sum())} xã gộp hai đơn vị; diện tích xã mới từ "
    f"{num(reform['area_km2'].min(), 1)} đến {num(reform['area_km2'].max(), 1)} km² (theo "
    f"`vietnamadminunits`, một nguồn)."))
# the 8 communes' areas (the package's, from sapnhap.bando.com.vn) beside the district's area
# (the provincial portal): both from the reference files, the difference left unexplained
gap = area_gap()
display(Markdown(
    f"Cộng diện tích {len(new)} xã mới được **{num(gap['communes_km2'], 2)} km²**, ít hơn diện "
    f"tích huyện ({num(gap['district_km2'], 2)} km², theo Cổng thông tin điện tử tỉnh) "
    f"**{num(gap['gap_km2'], 2)} km²** ({num(gap['gap_share'], 1, percent=True)}), dù Nghị quyết "
    f"1672/NQ-UBTVQH15 sắp xếp toàn bộ diện tích tự nhiên của cả {len(reg)} đơn vị và bảng "
    "chuyển đổi của gói không chia đơn vị nào.  Chênh lệch này **chưa giải thích được**.  Đã "
    "kiểm: diện tích xã mới của gói trùng với số liệu của trang sapnhap.bando.com.vn, nguồn mà "
    "gói ghi; các khoản của Nghị quyết đọc được không ghi diện tích từng xã mới, nên không đối "
    "chiếu được theo xã; diện tích huyện trên cổng thông tin tỉnh không ghi năm đo đạc.  Vì "
    "vậy diện tích xã mới chỉ dùng để so sánh các xã với nhau, không cộng thành diện tích huyện."))
reform_out = reform.rename(columns={
    "commune_2025": tr("Xã mới (2025)", "New commune (2025)"), "code": tr("Mã", "Code"),
    "units_merged": tr("Các đơn vị hợp nhất", "Units merged"),
    "n_units": tr("Số đơn vị", "Units"), "area_km2": tr("Diện tích (km²)", "Area (km²)")})
_km2 = {k: export.number(gap[k], 2, lang=LANG) for k in ("communes_km2", "district_km2", "gap_km2")}
export.save_table(reform_out, "01_reform_2025", title=tr(
    "Sắp xếp đơn vị hành chính cấp xã huyện Hữu Lũng năm 2025",
    "Merger of Hữu Lũng's commune-level units, 2025"), simulated=False, decimals=1, note=tr(
    f"Diện tích: gói vietnamadminunits (số liệu của sapnhap.bando.com.vn); tổng {_km2['communes_km2']} "
    f"km², ít hơn diện tích huyện {_km2['district_km2']} km² (Cổng thông tin điện tử tỉnh Lạng "
    f"Sơn) {_km2['gap_km2']} km², chênh lệch chưa giải thích được.",
    f"Areas: package vietnamadminunits (figures of sapnhap.bando.com.vn); they sum to "
    f"{_km2['communes_km2']} km², {_km2['gap_km2']} km² less than the district's "
    f"{_km2['district_km2']} km² (Lạng Sơn provincial portal), a difference not explained."))
fig = framework.reform_figure(lang=LANG)
export.save_figure(fig, "01_reform_2025_map", simulated=False)
reform_out
