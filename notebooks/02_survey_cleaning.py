# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 — Làm sạch dữ liệu khảo sát / Survey cleaning
#
# **English summary.** This notebook turns the three raw exports (officials' survey, citizens'
# survey, personnel register) into the clean tables every later notebook uses, and shows every
# decision. It reports what was received (files, encodings, counts by commune), how headers and
# commune names were matched, what each named cleaning rule removed, changed or flagged (with a
# CONSORT flow diagram from the sampling frame through non-response and each exclusion to the
# number of respondents each model uses), how much the key results depend on the
# straight-lining and duplicate rules (a sensitivity table), the pattern of item-level
# missing values by item and commune, the final sample against the personnel register
# (coverage by commune), and the privacy step (personal-data columns dropped at ingest,
# pseudonymous record ids). All numbers below are computed by `hlstudy`; the raw files are read,
# never modified. The clean tables are written to the git-ignored `data/processed/` folder;
# later notebooks obtain them with `hlstudy.load_study()`.

# %%
import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

import hlstudy
from hlstudy import cleaning, codebook, export, ingest, legal
from hlstudy.communes import communes as commune_registry
from hlstudy.communes import unit_labels
from hlstudy.config import data_source
from hlstudy.display import show_numbers_as_read
from hlstudy.scales import scale_coverage, scale_items
from hlstudy.study import analysis_counts, consort_counts, coverage_by_commune, raw_tables

show_numbers_as_read()   # data frames shown with 3 decimals, counts without (hlstudy.display)

# Ngưỡng của các quy tắc làm sạch (thay đổi tại đây nếu cần) / cleaning thresholds
RULES = cleaning.Rules(
    unreadable_max_share=0.05,     # ô không đọc được: tối đa 5 % số ô đã trả lời của một cột (ít nhất 1)
    duplicate_min_share=1.0,       # trùng 100 % câu trả lời (cùng xã) là *nghi* nộp trùng ...
    duplicate_window_minutes=60,   # ... chỉ loại khi có bằng chứng thứ hai: nộp cách nhau ≤ 60 phút,
    duplicate_min_background=8,    #     cùng dữ liệu cá nhân, hoặc trùng ≥ 8 câu thông tin nền
    speeder_share_of_median=0.33,  # nhanh hơn 1/3 thời gian trung vị thì coi là trả lời quá nhanh
    straightline_share=1.0,        # cùng một đáp án liên tiếp cho toàn bộ các câu Likert (longstring)
    straightline_min_items=10,     # và ít nhất 10 câu
    straightline_drop="contradictory",  # chỉ loại khi chuỗi qua câu đảo chiều hoặc làm quá nhanh
    straightline_speed_share=0.5,  # "quá nhanh" cho chuỗi: dưới 1/2 thời gian trung vị
    max_missing_share=0.5,         # thiếu quá 50 % số câu của một thang đo: điểm thang đo đó thiếu
    min_age_at_start=18,           # tuổi tối thiểu khi bắt đầu công tác
)
MIN_SHARE = 1 - RULES.max_missing_share  # điểm thang đo = trung bình các câu đã trả lời, cần ≥ 50 % số câu
CITIZENS_PER_COMMUNE = 30  # thiết kế khảo sát người dân (sổ tay 01): số người mỗi đơn vị

export.use_style()
source = data_source()
study = hlstudy.load_study(rules=RULES)
SIM = study.simulated
# the simulated study records its own design; a real study follows the thesis design above
PER_COMMUNE = int(study.manifest.get("n_citizens_per_commune", CITIZENS_PER_COMMUNE))
INSTRUMENTS = list(study.instruments)  # the instruments whose export was read
LIKERT_INSTRUMENTS = [i for i in ("officials", "citizens") if study.has(i)]
ORIGIN_VI = {"argument": "tham số", "environment": "biến môi trường HLSTUDY_DATA",
             "config file": "tệp cấu hình hlstudy.toml", "default": "dữ liệu minh họa data/raw"}
NAMES_VI = {name: vi for name, (vi, _en) in codebook.INSTRUMENT_LABELS.items()}
T = export.tr  # exported labels: Vietnamese by default, English with HLSTUDY_LANG=en
LABEL = {k: T(*label) for k, label in codebook.INSTRUMENT_LABELS.items()}
if study.absent:
    display(Markdown(
        "> **Nghiên cứu chỉ có một phần bộ công cụ:** không có tệp xuất của "
        + ", ".join(f"*{NAMES_VI[i].lower()}*" for i in study.absent)
        + ". Các phần dưới đây chỉ xử lý những bộ công cụ có dữ liệu; phần nào cần bộ công cụ "
        "vắng mặt được bỏ qua, kèm ghi chú."))
study

# %% [markdown]
# ## 1. Dữ liệu nhận được

# %%
files = study.files.assign(**{"bộ công cụ": study.files["instrument"].map(NAMES_VI)})
received_total = sum(study.received.values())
display(Markdown(
    f"Nguồn dữ liệu: **{ORIGIN_VI[source.origin]}**"
    + (" — dữ liệu mô phỏng (có đánh dấu trên mọi hình và bảng)." if SIM else " — dữ liệu thật.")
    + f" Tổng cộng **{received_total}** bản ghi được đọc từ {len(files)} tệp: "
    + "; ".join(
        f"{NAMES_VI[r.instrument]} {r.records} bản ghi ({r.file}, định dạng {r.format}"
        + (f", mã hóa {r.encoding}" if isinstance(r.encoding, str) else "")
        + f", {r.pii_columns_dropped} cột dữ liệu cá nhân bị loại ngay khi đọc)"
        for r in files.itertuples()
    )
    + "."
))
cleaning.reader_table(files, "files", lang=export.language())

# %%
received = (
    study.received_by_commune
    .pivot_table(index="commune", columns="instrument", values="n", fill_value=0, aggfunc="sum")
    .reindex(columns=INSTRUMENTS)
)
received.index = received.index.map(lambda n: unit_labels().get(n, n))   # "TT Hữu Lũng": the town
received = received.loc[export.vi_sorted(received.index)].reset_index()  # Đ after D
received.columns = [T("Xã, thị trấn", "Commune")] + [LABEL[c] for c in INSTRUMENTS]
export.save_table(
    received, "02_received_by_commune", strict_codes=True,
    title=T("Số bản ghi nhận được theo xã, thị trấn và bộ công cụ", "Records received by commune and instrument"),
    note=T("Trước khi làm sạch.", "Before cleaning."), simulated=SIM, count_columns=[LABEL[c] for c in INSTRUMENTS],
)
received

# %% [markdown]
# ### Ánh xạ tiêu đề cột và tên xã
#
# Tiêu đề cột tiếng Việt của nền tảng khảo sát được ánh xạ sang mã biến của bộ mã (codebook),
# chấp nhận khác biệt về chuẩn Unicode (NFC/NFD), khoảng trắng, chữ hoa/thường và tiền tố
# "Câu N."; tên xã được đối chiếu với danh mục chính thức (có/không dấu, tiền tố "xã"/"TT",
# lỗi gõ nhỏ). Mọi trường hợp khớp không chính xác được liệt kê dưới đây.

# %%
communes = study.communes
nonexact = communes[communes["how"].isin(["diacritics", "fuzzy", "ambiguous_code"])]
matched_log = study.cleaning_log[study.cleaning_log["rule"] == "commune_match"]
guessed = matched_log[matched_log["outcome"] != "flagged"]
named_2025 = matched_log[matched_log["outcome"] == "flagged"]
how_counts = communes.groupby("how")["rows"].sum()
header_how = study.headers["how"].value_counts()
display(Markdown(
    f"{len(study.headers)} cột đã được ánh xạ: {header_how.get('exact', 0)} tiêu đề trùng khớp nguyên văn, "
    f"{header_how.get('nfc', 0)} chỉ khác chuẩn Unicode (NFD), {header_how.get('normalised', 0)} khác khoảng "
    f"trắng/chữ hoa/số thứ tự câu. Tên xã: "
    + ", ".join(f"{how_counts.get(k, 0)} bản ghi khớp kiểu *{k}*"
                for k in ["exact", "normalised", "code", "diacritics", "fuzzy", "ambiguous_code"])
    + f"; **{len(nonexact)}** cách viết khác nhau được khớp gần đúng (không dấu hoặc sai chính tả), "
    "không có giá trị nào không khớp (nếu có, quá trình đọc đã dừng với thông báo lỗi). "
    f"Những trường hợp là phỏng đoán được ghi vào nhật ký làm sạch (quy tắc `commune_match`, "
    f"{len(guessed)} bản ghi): tên gần giống một đơn vị (*fuzzy*, ghi tệp, dòng, giá trị gốc, đơn vị "
    f"được chọn và độ tương đồng: {int((guessed['outcome'] == 'recoded').sum())} bản ghi) và mã xã "
    "mà một xã mới năm 2025 đã kế thừa (*ambiguous_code*, ví dụ 06445 vừa là xã Hòa Sơn cũ vừa là "
    "xã Tân Thành mới): không đoán đơn vị trước sáp nhập, chỉ giữ xã mới "
    f"({int((guessed['outcome'] == 'set_missing').sum())} bản ghi; các bản ghi này bị loại ở "
    "quy tắc thiếu thông tin bắt buộc). "
    "Tên một đơn vị trước sáp nhập trùng tên một xã mới năm 2025 (ví dụ Tân Thành: vừa là xã cũ, "
    "vừa là xã mới hình thành từ Hòa Lạc, Hòa Sơn và Tân Thành) được đọc là đơn vị cũ, vì khung "
    "mẫu là các đơn vị trước cải cách; bản ghi được đánh dấu trong nhật ký (tệp, dòng, giá trị "
    f"gốc) khi không có gì cho thấy nó có trước sáp nhập (nộp từ {legal.REFORM_DATE:%d/%m/%Y}, "
    "hoặc không có thời điểm nộp trong một tệp không nêu đơn vị nào chỉ tồn tại trước sáp nhập), "
    "để người dùng có dữ liệu xuất theo xã mới nhận ra rằng khi đó không phân biệt được đơn vị "
    f"cũ (xã năm 2025 thì đúng trong cả hai cách đọc): {len(named_2025)} bản ghi."
))
with pd.option_context("display.max_rows", len(nonexact) + 1):   # every row, not the ends
    display(cleaning.reader_table(nonexact, "commune_matches", lang=export.language()))

# %% [markdown]
# ## 2. Các quy tắc làm sạch
#
# Mỗi quy tắc có tên, được mô tả trong `hlstudy.cleaning`, và ngưỡng là tham số (ô đầu của
# notebook). Mỗi quyết định có một dòng trong nhật ký làm sạch, nói rõ điều gì đã xảy ra bằng
# một bộ từ duy nhất: *loại khỏi dữ liệu* (cả bản ghi), *đặt thành giá trị thiếu* hoặc *mã hóa
# lại* (một giá trị), *điểm thang đo đặt thành thiếu* (một thang đo của một người) và *đánh
# dấu, vẫn giữ lại* (bản ghi giữ nguyên, chỉ ghi chú). Vì vậy **số bản ghi đọc = số bản ghi
# giữ lại + số bản ghi bị loại** cho mọi bộ công cụ.
#
# **Ba quy tắc không được làm lệch câu trả lời.** Loại một bản ghi vì chính câu trả lời của
# nó là loại theo biến kết quả: kết quả còn lại bị lệch. Vì thế:
#
# - *Trả lời một đáp án cho mọi câu* (straight-lining) chỉ bị loại khi chuỗi đó không thể là
#   ý kiến thật: chuỗi đi qua cả câu thuận và câu đảo chiều (đồng ý với một nhận định và với
#   nhận định ngược lại là mâu thuẫn), hoặc phiếu được làm quá nhanh (dưới một nửa thời gian
#   trung vị). Phiếu người dân không có câu đảo chiều: một người dân hài lòng trả lời "đồng ý"
#   cho cả 17 câu là chuyện bình thường, nên những phiếu như vậy chỉ được đánh dấu và vẫn giữ
#   lại (Meade & Craig 2012, *Psychological Methods* 17: 437–455; Curran 2016, *Journal of
#   Experimental Social Psychology* 66: 4–19: kết hợp nhiều dấu hiệu, không loại chỉ vì một).
# - *Nộp trùng lặp*: hai phiếu cùng xã có câu trả lời giống hệt nhau chỉ bị coi là một phiếu
#   nộp hai lần khi có bằng chứng thứ hai — cùng dữ liệu cá nhân, thời điểm nộp cách nhau
#   không quá `duplicate_window_minutes` phút, hoặc trùng toàn bộ thông tin nền đủ chi tiết để
#   nhận ra một người (≥ `duplicate_min_background` câu: có ở phiếu cán bộ, công chức; phiếu
#   người dân chỉ có 4 câu). Chỉ giống câu trả lời thì được đánh dấu, không loại.
#   Ngược lại, hai bản ghi có cùng dữ liệu nhận dạng (mã cán bộ của danh sách trích ngang; họ tên
#   cùng số điện thoại — họ tên không có số điện thoại không nhận ra ai) mà câu trả lời khác
#   nhau là *một người nộp lại*: một người không được tính hai lần, nên chỉ giữ bản nộp sau
#   cùng theo dấu thời gian (không có dấu thời gian thì giữ dòng sau cùng), như nền tảng khảo
#   sát làm khi người trả lời sửa phiếu đã gửi; nhật ký ghi cả hai dòng và các câu khác nhau.
# - *Thiếu quá nửa số câu của một thang đo* không còn loại cả phiếu: chỉ điểm của thang đo đó
#   bị đặt thành thiếu, nên mỗi phân tích chỉ bỏ người trả lời khi nó cần đúng thang đo ấy
#   (FIML ở sổ tay 03 và 05 vẫn dùng các câu người đó đã trả lời).
#
# Quy tắc đầu tiên, `unreadable`, ghi lại các ô mà bước đọc không hiểu được theo kiểu của biến
# (nhãn không có trong bộ mã, chữ trong ô năm sinh, ngày không tồn tại như 31/02): đó là lỗi của
# một người trả lời, nên ô đó được đặt thành thiếu và ghi nhật ký, không làm dừng cả quá trình.
# Chỉ khi số ô như vậy trong một cột vượt ngưỡng `unreadable_max_share` thì chính cột đó không
# khớp với bộ mã (ví dụ cả cột là chữ trong một câu Likert) và quá trình đọc dừng với thông báo lỗi
# nêu tên tệp, dòng và cột.
#
# Quy tắc thứ hai, `dont_know`, ghi lại các câu trả lời "không biết" ("Không biết", "Không rõ",
# "KB"…: các cách viết khai báo trong bộ mã `nonresponse` của `value_labels.csv`). Đó không phải
# ô không đọc được, càng không phải một mức của thang đo: theo thực hành khảo sát, đây là không
# trả lời câu hỏi (item non-response), nên ô được đặt thành thiếu với lý do riêng, mỗi ô một dòng
# nhật ký, và được đếm riêng, tách khỏi các ô bỏ trống.

# %%
rules = cleaning.rules_table(RULES)
rules = rules.assign(
    label=T(rules["label_vi"], rules["label_en"]),
    action=[" / ".join(T(*cleaning.ACTION_LABELS[a]) for a in r.split("/")) for r in rules["actions"]],
    thresholds=T(rules["thresholds_vi"], rules["thresholds_en"]),
)[["label", "action", "thresholds"]]
rules.columns = [T("Quy tắc", "Rule"), T("Quyết định", "Decision"), T("Ngưỡng", "Thresholds")]
export.save_table(rules, "02_cleaning_rules", simulated=SIM, strict_codes=True,
                  title=T("Các quy tắc làm sạch và ngưỡng áp dụng", "Cleaning rules and their thresholds"))
rules

# %%
flow = study.flow.copy()
flow["label"] = flow["rule"].map(lambda r: T(*cleaning.RULE_LABELS[r]))
flow["instrument"] = flow["instrument"].map(LABEL)
# a rule that could not check the data (no duration column) is said so, apart from a 0 found
flow["note"] = [T(*cleaning.UNCHECKED_LABELS[c]) if c else "" for c in flow["unchecked"]]
UNCHECKED = study.flow[study.flow["unchecked"] != ""]
flow_table = flow[["instrument", "label", "n_before", "dropped", "changed", "flagged", "n_after"]
                  + (["note"] if len(UNCHECKED) else [])]
flow_table.columns = [T("Bộ công cụ", "Instrument"), T("Quy tắc", "Rule"), T("Trước", "Before"),
                      T("Loại", "Dropped"), T("Giá trị thay đổi", "Values changed"),
                      T("Đánh dấu, vẫn giữ", "Flagged, kept"), T("Sau", "After")] + (
                      [T("Ghi chú", "Note")] if len(UNCHECKED) else [])
export.save_table(flow_table, "02_cleaning_flow", simulated=SIM, strict_codes=True,
                  title=T("Số bản ghi qua từng bước làm sạch", "Records through each cleaning step"),
                  note=T("Số bản ghi cấp huyện, không mô tả cá nhân nào.",
                         "District-level record counts; no cell describes an individual."))
checks = {name: study.received[name] == study.kept[name] + study.dropped[name] for name in INSTRUMENTS}
display(Markdown(
    "Kiểm tra cân đối: "
    + "; ".join(
        f"{NAMES_VI[n]}: đọc {study.received[n]} = giữ {study.kept[n]} + loại {study.dropped[n]}"
        + (" ✓" if checks[n] else " ✗")
        for n in INSTRUMENTS
    )
))
resubmitted = study.cleaning_log[
    (study.cleaning_log["rule"] == "duplicates") & (study.cleaning_log["action"] == "drop")
    & study.cleaning_log["reason"].str.startswith("resubmission")].groupby("instrument").size()
display(Markdown(
    "**Quy tắc không kiểm tra được đầy đủ** (số 0 ở các dòng này không có nghĩa là đã kiểm tra "
    "và không có trường hợp nào): "
    + "; ".join(f"{NAMES_VI[r.instrument]} — {cleaning.RULE_LABELS[r.rule][0].lower()}: "
                f"{cleaning.UNCHECKED_LABELS[r.unchecked][0]}" for r in UNCHECKED.itertuples())
    + ". Tệp xuất không có thời gian làm phiếu (Google Forms, bảng Excel nhập tay) thì không "
    "nhận ra được phiếu làm quá nhanh."
    if len(UNCHECKED) else
    "Mọi quy tắc áp dụng được đều đã kiểm tra đầy đủ trên dữ liệu này (không quy tắc nào thiếu "
    "cột cần thiết): số 0 của một quy tắc áp dụng được là đã kiểm tra và không có trường hợp nào."))
display(Markdown(
    "Nộp lại (cùng dữ liệu nhận dạng, câu trả lời khác; giữ bản nộp sau cùng): "
    + "; ".join(f"{NAMES_VI[n]}: {int(resubmitted.get(n, 0))} bản ghi cũ bị loại" for n in INSTRUMENTS) + "."
))
flow_table

# %% [markdown]
# ### Sơ đồ luồng (CONSORT)
#
# Từ khung mẫu đến số phiếu mỗi mô hình dùng. Khung mẫu của khảo sát cán bộ, công chức là
# danh sách trích ngang (toàn bộ người đang giữ chức danh); không trả lời = khung mẫu − số
# người đã trả lời (số bản ghi nhận được trừ các bản nộp trùng).  Khảo sát người dân không có
# khung mẫu: nó có **chỉ tiêu mẫu** theo thiết kế (số người mỗi đơn vị × số đơn vị hành chính
# trong danh mục), nên phần thiếu so với chỉ tiêu không phải là "không trả lời" và số phiếu
# trên chỉ tiêu không phải là tỉ lệ trả lời — tỉ lệ đó cần số người đã được mời trả lời, mà
# dữ liệu xuất không ghi.  Mọi con số được tính từ dữ liệu (`hlstudy.study.consort_counts`).

# %%
units = len(commune_registry())  # the 23 pre-reform units of the registry, each sampled by design
consort = consort_counts(study, frames={"citizens": PER_COMMUNE * units if study.has("citizens") else None})
fig = cleaning.consort_figure(consort)
export.save_figure(fig, "02_consort_flow", simulated=SIM)
plt.show()


def box(instrument, stage_name):
    c = consort[(consort["instrument"] == instrument) & (consort["stage"] == stage_name)]
    return None if c.empty or pd.isna(c["n"].iloc[0]) else int(c["n"].iloc[0])


def show(n):
    return "không rõ" if n is None else export.number(n, 0, lang="vi")


models = analysis_counts(study).set_index(["instrument", "analysis"])["n"]
parts = []
for name in LIKERT_INSTRUMENTS:
    frame, resp, kept = box(name, "frame"), box(name, "respondents"), box(name, "kept")
    share = f" ({export.number(resp / frame, 0, percent=True, lang='vi')}" if frame else ""
    if name == "officials":
        reached = (f"khung mẫu {show(frame)}, trả lời {show(resp)}"
                   f"{share + ' — tỉ lệ trả lời)' if share else ''}, "
                   f"không trả lời {show(box(name, 'nonresponse'))}")
    else:   # a quota: what was reached, not a response rate
        reached = (f"chỉ tiêu mẫu {show(frame)} ({PER_COMMUNE} người × {units} đơn vị), thu được "
                   f"{show(resp)} phiếu{share + ' chỉ tiêu, không phải tỉ lệ trả lời)' if share else ''}"
                   f", thiếu so với chỉ tiêu {show(box(name, 'nonresponse'))}")
    parts.append(
        f"**{NAMES_VI[name]}**: {reached}; giữ lại {show(kept)}; CFA loại theo danh sách "
        f"dùng {show(models.get((name, 'cfa_listwise')))} phiếu, FIML dùng {show(models.get((name, 'cfa_fiml')))}"
        + (f", SEM của sổ tay 05 dùng {show(models.get((name, 'sem_fiml')))} (cần đủ trình độ và thâm niên)"
           if (name, "sem_fiml") in models.index else "") + ".")
display(Markdown(" ".join(parts)))

# %% [markdown]
# Nhật ký làm sạch tóm tắt theo quy tắc và điều đã xảy ra, và một dòng minh họa cho mỗi quy tắc
# (lý do ghi bằng tiếng Anh như trong nhật ký gốc). Với ô không đọc được, giá trị cũ và lý do
# hiện là "…": văn bản gốc có thể là chữ tự do của người trả lời (có thể có thông tin cá nhân),
# nên chỉ nằm trong nhật ký đầy đủ `processed/cleaning_log.csv`, kèm số cột và tiêu đề cột của
# tệp xuất để tìm lại ô đó.

# %%
log = study.cleaning_log
summary = (
    log.groupby(["instrument", "rule", "outcome"], sort=False).size().rename("n").reset_index()
    if len(log) else pd.DataFrame(columns=["instrument", "rule", "outcome", "n"])
)
summary = pd.DataFrame({
    "Bộ công cụ": summary["instrument"].map(NAMES_VI), "Quy tắc": summary["rule"].map(lambda r: cleaning.RULE_LABELS[r][0]),
    "Điều đã xảy ra": summary["outcome"].map(lambda o: cleaning.OUTCOME_LABELS[o][0]), "Số dòng nhật ký": summary["n"]})
display(summary)
examples = log.groupby(["instrument", "rule"], sort=False).head(1).copy()
# văn bản gốc của ô không đọc được có thể là chữ tự do: chỉ lưu trong nhật ký, không hiển thị ở đây
examples.loc[examples["rule"] == "unreadable", ["old_value", "reason"]] = "…"
pd.DataFrame({
    "Bộ công cụ": examples["instrument"].map(NAMES_VI), "Mã bản ghi": examples["record_id"],
    "Quy tắc": examples["rule"].map(lambda r: cleaning.RULE_LABELS[r][0]),
    "Điều đã xảy ra": examples["outcome"].map(lambda o: cleaning.OUTCOME_LABELS[o][0]),
    "Biến": examples["column"], "Giá trị cũ": examples["old_value"], "Giá trị mới": examples["new_value"],
    "Lý do (nhật ký)": examples["reason"],
}).fillna("").reset_index(drop=True)

# %% [markdown]
# ### Độ nhạy của kết quả với các quy tắc
#
# Các kết quả chính (số phiếu, điểm trung bình và hệ số alpha của từng thang đo) được tính lại
# khi làm sạch theo cách khác: (a) quy tắc đã chọn; (b) loại *mọi* phiếu trả lời một đáp án
# cho mọi câu (quy tắc cũ); (c) giữ lại mọi phiếu như vậy; (d) coi mọi cặp phiếu giống hệt câu
# trả lời là nộp trùng, không cần bằng chứng thứ hai (quy tắc cũ). Chênh lệch lớn ở (b) so với
# (a) là dấu hiệu quy tắc cũ đã loại người trả lời theo chính câu trả lời của họ.

# %%
VARIANTS = {
    T("(a) quy tắc đã chọn", "(a) adopted rules"): RULES,
    T("(b) loại mọi chuỗi một đáp án", "(b) drop every straight-liner"): RULES.with_(straightline_drop="any"),
    T("(c) giữ mọi chuỗi một đáp án", "(c) keep every straight-liner"): RULES.with_(straightline_drop="flag"),
    T("(d) nộp trùng: chỉ cần giống câu trả lời", "(d) duplicates on identical answers alone"):
        RULES.with_(duplicate_window_minutes=float("inf")),
}
tables = {k: v for k, v in raw_tables(rules=RULES).items() if k in LIKERT_INSTRUMENTS}
sens = cleaning.rule_sensitivity(tables, VARIANTS)
wide = sens.pivot_table(index=["instrument", "construct"], columns="variant", values=["n_scored", "mean", "alpha"],
                        sort=False)
order = [(i, c) for i, c in dict.fromkeys(zip(sens["instrument"], sens["construct"], strict=True))]
wide = wide.reindex(order)
names = list(VARIANTS)
sens_table = pd.DataFrame({
    T("Bộ công cụ", "Instrument"): [LABEL[i] for i, _ in order],
    T("Thang đo", "Scale"): [c for _, c in order],
    **{T(f"n {v[:3]}", f"n {v[:3]}"): wide[("n_scored", v)].astype(int).to_numpy() for v in names},
    **{T(f"Trung bình {v[:3]}", f"Mean {v[:3]}"): wide[("mean", v)].round(3).to_numpy() for v in names},
    **{T(f"Alpha {v[:3]}", f"Alpha {v[:3]}"): wide[("alpha", v)].round(3).to_numpy() for v in names},
})
export.save_table(
    sens_table, "02_cleaning_sensitivity", simulated=SIM, strict_codes=True, decimals=3,
    title=T("Độ nhạy của kết quả chính với quy tắc làm sạch", "Sensitivity of the key results to the cleaning rules"),
    note=T("Các phương án: " + "; ".join(names) + ". n: số người có điểm thang đo; trung bình của điểm "
           "thang đo (1–5, sau khi đảo chiều); alpha: Cronbach (psych::alpha).",
           "Variants: " + "; ".join(names) + ". n: respondents with a scale score; mean of the scale "
           "score (1–5, after reverse-keying); alpha: Cronbach (psych::alpha)."))
worst = sens.loc[sens["d_mean"].abs().idxmax()]
worst_alpha = sens.loc[sens["d_alpha"].abs().idxmax()]
kept_n = sens.groupby(["variant", "instrument"], sort=False)["n"].first()
display(Markdown(
    "Số phiếu giữ lại theo phương án: "
    + "; ".join(f"{NAMES_VI[i].lower()} {v}: {n}" for (v, i), n in kept_n.items()) + ". "
    + f"Chênh lệch lớn nhất của điểm trung bình so với (a): **{export.number(worst['d_mean'], 3, lang='vi')}** "
    f"({worst['construct']}, {NAMES_VI[worst['instrument']].lower()}, phương án {worst['variant']}); "
    f"của alpha: **{export.number(worst_alpha['d_alpha'], 3, lang='vi')}** ({worst_alpha['construct']}, "
    f"phương án {worst_alpha['variant']})."))
sens_table

# %% [markdown]
# ## 3. Giá trị thiếu theo câu hỏi và theo xã
#
# Sau khi làm sạch, giá trị thiếu còn lại ở từng câu được báo cáo theo xã. Cách xử lý đã
# chọn: không loại cả phiếu vì một thang đo thiếu; điểm thang đo là trung bình các câu đã trả
# lời khi có ít nhất một nửa số câu (`hlstudy.scales.score_scales`, tương đương
# `psych::scoreItems(impute = "none")` trong R), nếu không thì điểm của *riêng thang đo đó*
# bị đặt thành thiếu (quy tắc `missing_scale` ghi lại từng trường hợp) và mỗi phân tích chỉ
# bỏ người đó khi cần đúng thang đo ấy. Bảng cuối mục này cho biết số người có điểm ở mỗi
# thang đo.

# %%
likert = {name: [v for items in scale_items(name).values() for v in items] for name in LIKERT_INSTRUMENTS}
fig = cleaning.missing_heatmap(study.missing, likert)
export.save_figure(fig, "02_missing_heatmap", simulated=SIM)
plt.show()

# %%
by_item = (
    study.missing.groupby(["instrument", "variable"], sort=False)[["missing", "n"]].sum()
    .assign(share=lambda d: d["missing"] / d["n"]).reset_index()
)
top = by_item.sort_values("share", ascending=False).head(8)
overall = study.missing["missing"].sum() / study.missing["n"].sum()
display(Markdown(
    f"Tỷ lệ thiếu chung (mọi câu, mọi xã): **{export.number(overall, 1, percent=True, lang='vi')}**. "
    "Câu thiếu nhiều nhất: "
    + ", ".join(f"{r.variable} — {NAMES_VI[r.instrument].lower()} "
                f"({export.number(r.share, 1, percent=True, lang='vi')})" for r in top.head(3).itertuples())
    + "."
))
_field_text = []
for _inst in ("officials", "personnel"):   # the item is optional where it is asked
    _t = study.table(_inst)
    if {"field_of_study", "education_level"} <= set(_t.columns):
        blank_field = _t.loc[_t["field_of_study"].isna(), "education_level"]
        untrained = int((blank_field == "none").sum())
        _field_text.append(   # counts of 1-4 people print as "dưới 5" (export.people_count)
            f"ở {codebook.INSTRUMENT_NOUNS[_inst][0]}, "
            f"{export.people_count(len(blank_field), lang='vi')} bản ghi để trống, "
            f"{export.people_count(untrained, lang='vi')} là người chưa qua đào tạo "
            "chuyên môn" + (" (tất cả)" if untrained == len(blank_field) and untrained else ""))
if _field_text:
    display(Markdown(
        "Câu *chuyên ngành đào tạo* (field_of_study) không bắt buộc: " + "; ".join(_field_text)
        + ".  Người chưa qua đào tạo chuyên môn không có chuyên ngành để khai, nên các ô trống "
        "của họ là giá trị thiếu có lý do, không phải lỗi."))
coverage_tables = {name: scale_coverage(study.table(name), name, min_share=MIN_SHARE).table for name in LIKERT_INSTRUMENTS}
cleaning.reader_table(pd.concat(coverage_tables, names=["instrument"]).reset_index(level=0),
                      "scale_coverage", lang=export.language())

# %% [markdown]
# ## 4. Mẫu cuối cùng so với danh sách trích ngang
#
# Tỷ lệ bao phủ của mỗi xã = số phiếu cán bộ, công chức hợp lệ / số người trong danh sách
# trích ngang (sau làm sạch). Bảng xuất ra ẩn các ô dưới 5 người.

# %%
HAS_REGISTER = study.has("personnel")
if HAS_REGISTER:
    coverage = coverage_by_commune(study)  # in Vietnamese alphabetical order
    district = coverage["officials"].sum() / coverage["register"].sum()
    # the three lowest coverages and every commune tied with them
    low = coverage[coverage["coverage"] <= coverage["coverage"].nsmallest(3).max()].sort_values(
        "coverage", kind="stable")
    display(Markdown(
        f"Toàn huyện: {coverage['officials'].sum()} phiếu hợp lệ trên {coverage['register'].sum()} người "
        f"trong danh sách (**{export.number(district, 0, percent=True, lang='vi')}**). Thấp nhất: "
        + ", ".join(f"{r.commune} ({export.number(r.coverage, 0, percent=True, lang='vi')}; "
                    f"{r.officials}/{r.register})" for r in low.itertuples()) + "."
    ))
    COV = {"commune": T("Xã, thị trấn", "Commune"), "commune_2025": T("Xã mới (2025)", "New commune (2025)"),
           "register": T(*codebook.INSTRUMENT_LABELS["personnel"]), "officials": T("Phiếu hợp lệ", "Valid responses"),
           "coverage": T("Tỷ lệ bao phủ", "Coverage"), "citizens": T("Phiếu người dân", "Citizen responses")}
    cov_table = coverage.assign(coverage=coverage["coverage"].round(3)).drop(columns="commune_code").rename(columns=COV)
    export.save_table(
        cov_table, "02_coverage_by_commune", simulated=SIM, strict_codes=True,
        title=T("Mẫu cuối cùng so với danh sách trích ngang theo xã", "Final sample against the personnel register by commune"),
        count_columns=[COV["register"], COV["officials"], COV["citizens"]],
        dependent={COV["officials"]: [COV["coverage"]]},
    )
    display(cov_table)
else:
    display(Markdown(study.skip_note("Mục 4 (mẫu so với danh sách trích ngang)", "personnel")))

# %%
if HAS_REGISTER:
    fig = cleaning.coverage_figure(coverage)  # the legend below the bars, hiding none
    export.save_figure(fig, "02_coverage_by_commune", simulated=SIM)
    plt.show()

# %% [markdown]
# ## 5. Bảo vệ dữ liệu cá nhân
#
# Các cột được đánh dấu `pii = 1` trong bộ mã (họ tên, số điện thoại, mã cán bộ của danh sách
# trích ngang — mã này chỉ tới một người có tên trong hồ sơ của xã —, ý kiến tự do có thể nhận diện người trả lời)
# bị loại ngay khi đọc tệp, trước khi bất kỳ giá trị nào được xử lý; chúng
# không có mặt trong bảng đã xử lý, nhật ký làm sạch, hình hay bảng xuất. Mỗi bản ghi nhận một
# mã giả danh `record_id` ổn định (băm có muối của tên bộ công cụ và vị trí dòng trong tệp gốc),
# không suy ra được danh tính.

# %%
codebook, _ = ingest.codebook_frames()
pii = codebook[codebook["pii"].astype(str).str.strip() == "1"][["instrument", "variable", "question_vi"]]
leaks = [c for name in INSTRUMENTS for c in pii["variable"] if c in study.table(name).columns and
         c in set(pii.loc[pii["instrument"] == name, "variable"])]
display(Markdown(
    f"{len(pii)} biến dữ liệu cá nhân trong bộ mã; số biến còn lại trong các bảng đã xử lý: **{len(leaks)}**. "
    f"Ví dụ mã giả danh: `{study.officials['record_id'].iloc[0]}`."
))
cleaning.reader_table(pii, "pii", lang=export.language())

# %% [markdown]
# ## 6. Lưu bảng đã xử lý
#
# Các bảng sạch và nhật ký được ghi vào thư mục `data/processed/` (không đưa vào git; với dữ
# liệu riêng: thư mục `processed/` trong thư mục kết quả, ví dụ `build/own-data/processed/`).
# Các notebook sau gọi `hlstudy.load_study()` để nhận đúng các bảng này.

# %%
written = study.write_processed()
cleaning.reader_table(pd.DataFrame({"table": list(written), "file": [p.name for p in written.values()]}),
                      "processed", lang=export.language())
