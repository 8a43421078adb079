"""Ingest: readers, encodings, header mapping, value conversion, commune matching."""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pytest
import rawfactory as rf

from hlstudy import ingest
from hlstudy.errors import SurveyDataError

CB, VL = rf.codebook(), rf.value_labels()


def read(path, instrument=None):
    return ingest.read_instrument(path, instrument, codebook=CB, value_labels=VL, registry=rf.REGISTRY)


def csv_text(rows: pd.DataFrame, instrument: str, headers: dict | None = None) -> str:
    spec = {r[1]: r for r in rf.spec_rows(instrument)}
    out = rows.copy()
    out.columns = [(headers or {}).get(c, rf.header(spec[c])) for c in rows.columns]
    return out.to_csv(index=False)


# ------------------------------------------------------------------ encodings


@pytest.mark.parametrize(
    ("encoding", "expected"), [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1258", "cp1258")]
)
def test_csv_encodings_are_detected_and_text_is_nfc(tmp_path, encoding, expected):
    rows = rf.make_rows("officials", 6)
    text = csv_text(rows, "officials")
    path = tmp_path / "officials.csv"
    path.write_bytes(ingest.encode_cp1258(text) if encoding == "cp1258" else text.encode(encoding))
    table = read(path)
    assert table.encoding == expected
    assert table.n == 6
    assert table.data["commune"].tolist()[:2] == ["Hữu Liên", "Hòa Lạc"]
    for value in table.data["commune"]:
        assert unicodedata.is_normalized("NFC", value)
    # Likert labels with diacritics were recognised in every encoding
    assert table.data["TRAIN1"].notna().all()


def test_cp1258_bytes_really_are_windows_1258_with_combining_tones():
    data = ingest.encode_cp1258("Hữu Lũng")
    assert data.decode("cp1258") != "Hữu Lũng"  # decomposed tone marks...
    assert unicodedata.normalize("NFC", data.decode("cp1258")) == "Hữu Lũng"  # ...compose back
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")


# ------------------------------------------------------------------ headers


def test_header_variants_map_to_codebook_items(tmp_path):
    rows = rf.make_rows("officials", 5)
    spec = {r[1]: r for r in rf.spec_rows("officials")}
    variants = {
        "TRAIN1": unicodedata.normalize("NFD", rf.header(spec["TRAIN1"])),  # NFD
        "TRAIN2": "  Câu   10.   Nội dung   đào tạo phù hợp với công việc  ",  # spaces
        "PRO1": "Câu 99: TÔI NẮM VỮNG QUY ĐỊNH PHÁP LUẬT TRONG LĨNH VỰC PHỤ TRÁCH",  # case, other number
        "PRO2": "Tôi giải quyết hồ sơ đúng hạn",  # no prefix
        "MOT1": "mot1",  # the item code itself
        "birth_year": "Năm sinh *",  # required-marker
    }
    path = tmp_path / "officials.csv"
    path.write_text(csv_text(rows, "officials", variants), encoding="utf-8")
    table = read(path)
    mapped = dict(zip(table.headers["variable"], table.headers["header"], strict=True))
    assert mapped["TRAIN2"].startswith("Câu 10.")
    assert {"TRAIN1", "TRAIN2", "PRO1", "PRO2", "MOT1", "birth_year"} <= set(table.data.columns)
    expected = rows["PRO2"].map({v: k for k, v in rf.LIKERT_LABELS.items()}).astype(float)
    assert table.data["PRO2"].tolist() == expected.tolist()


def test_header_key_strips_numbering_and_normalises():
    assert ingest.header_key("Câu 12. Tôi  được đào tạo") == ingest.header_key("tôi được đào tạo")
    assert ingest.header_key(unicodedata.normalize("NFD", "Họ và tên")) == "họ và tên"
    assert ingest.header_key("Q3) Tuổi") == "tuổi"


def test_unknown_column_names_it_and_closest_item(tmp_path):
    rows = rf.make_rows("officials", 3)
    path = tmp_path / "officials.csv"
    path.write_text(csv_text(rows, "officials", {"PRO3": "Câu 15. Tôi sử dụng thành thạo phần mền một của"}), encoding="utf-8")
    with pytest.raises(SurveyDataError) as err:
        read(path)
    message = str(err.value)
    assert "officials.csv" in message and "unknown column" in message
    assert "phần mền một của" in message
    assert "PRO3" in message  # the closest codebook item


def test_missing_column_names_variable(tmp_path):
    rows = rf.make_rows("officials", 3).drop(columns=["MOT2"])
    path = tmp_path / "officials.csv"
    path.write_text(csv_text(rows, "officials"), encoding="utf-8")
    with pytest.raises(SurveyDataError, match=r"officials\.csv: missing column: the file has no column for item MOT2"):
        read(path)


def test_optional_columns_may_be_absent(tmp_path):
    rows = rf.make_rows("officials", 3).drop(columns=["full_name", "phone", "comment", "submitted_at", "duration_s"])
    path = tmp_path / "officials.csv"
    path.write_text(csv_text(rows, "officials"), encoding="utf-8")
    table = read(path)
    assert table.data["duration_s"].isna().all()
    assert table.pii_dropped == []


# ------------------------------------------------------------------ values


def test_likert_labels_numbers_and_prefixed_labels_give_codes(tmp_path):
    rows = rf.make_rows("officials", 6)
    rows["TRAIN1"] = ["Hoàn toàn đồng ý", "4", 3, "2. Không đồng ý", "hoan toan khong dong y", ""]
    rows["TRAIN2"] = ["Strongly agree", "7", "", "Đồng  ý", "N/A", "1.0"]
    path = tmp_path / "officials.csv"
    path.write_text(csv_text(rows, "officials"), encoding="utf-8")
    data = read(path).data
    assert data["TRAIN1"].tolist()[:5] == [5.0, 4.0, 3.0, 2.0, 1.0] and np.isnan(data["TRAIN1"].iloc[5])
    got = data["TRAIN2"].tolist()
    assert got[0] == 5.0 and got[1] == 7.0 and np.isnan(got[2]) and got[3] == 4.0 and np.isnan(got[4]) and got[5] == 1.0


def test_trailing_unnamed_empty_columns_are_ignored(tmp_path):
    rows = rf.make_rows("officials", 4)
    path = tmp_path / "officials.csv"
    plain = read(rf.write_export(rows, path)).data
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(line + ",," for line in lines) + "\n", encoding="utf-8")
    pd.testing.assert_frame_equal(read(path).data, plain)
    lines = [line + ",," for line in lines]
    lines[2] = lines[2][:-1] + "x"  # a value under an unnamed column is not ignored
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SurveyDataError, match="column 23 has an empty header"):
        read(path)


def test_a_decimal_is_never_read_as_a_numbered_label(tmp_path):
    """"2.5" is not "2." + "5": it is an unreadable Likert answer, and "2. Đồng ý" contradicts itself."""
    rows = rf.make_rows("officials", 40)
    rows.loc[0, "TRAIN1"] = "2.5"
    rows.loc[1, "TRAIN1"] = "(4) Đồng ý"
    rows.loc[2, "TRAIN1"] = "3,0"
    rows.loc[3, "TRAIN2"] = "2. Đồng ý"
    path = tmp_path / "officials.csv"
    path.write_text(csv_text(rows, "officials"), encoding="utf-8")
    data = read(path).data
    assert np.isnan(data.at[0, "TRAIN1"]) and data.at[1, "TRAIN1"] == 4.0 and data.at[2, "TRAIN1"] == 3.0
    assert np.isnan(data.at[3, "TRAIN2"])
    bad = {cell[0]: cell for cells in data[ingest.UNREADABLE].dropna() for cell in cells}
    assert bad["TRAIN1"][1] == "2.5" and "not a whole-number code" in bad["TRAIN1"][2]
    assert "the number 2 contradicts the label 'Đồng ý'" in bad["TRAIN2"][2]


def test_category_labels_to_codes_and_dates_in_two_formats(tmp_path):
    rows = rf.make_rows("officials", 3)
    rows["education"] = ["Đại học", "4", "trung cấp"]
    rows["appointed"] = ["2023-05-17", "17/05/2023", ""]
    path = tmp_path / "officials.csv"
    path.write_text(csv_text(rows, "officials"), encoding="utf-8")
    data = read(path).data
    assert data["education"].tolist() == ["4", "4", "2"]
    assert data["appointed"].iloc[0] == data["appointed"].iloc[1] == pd.Timestamp("2023-05-17")
    assert pd.isna(data["appointed"].iloc[2])


def test_spss_value_labels_are_applied(tmp_path):
    rows = rf.make_rows("officials", 5, likert_as="code")
    path = rf.write_export(rows, tmp_path / "officials.sav")
    import pyreadstat

    _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    assert meta.variable_value_labels["TRAIN1"][5.0] == "Hoàn toàn đồng ý"
    data = read(path).data
    assert data["TRAIN1"].tolist() == rows["TRAIN1"].astype(float).tolist()


def test_xlsx_only_sheet_is_used_whatever_its_name(tmp_path):
    from openpyxl import load_workbook

    path = rf.write_export(rf.make_rows("citizens", 4), tmp_path / "citizens.xlsx")
    wb = load_workbook(path)
    wb.active.title = "Trang tính1"
    wb.save(path)
    table = read(path)
    assert table.sheet == "Trang tính1" and table.n == 4


def test_same_records_from_csv_xlsx_and_sav_are_identical(tmp_path):
    for instrument in ("officials", "citizens", "personnel"):
        rows = rf.make_rows(instrument, 9, seed=4)
        frames = [read(rf.write_export(rows, tmp_path / fmt / f"{instrument}.{fmt}")).data for fmt in ("csv", "xlsx", "sav")]
        pd.testing.assert_frame_equal(frames[0], frames[1])
        pd.testing.assert_frame_equal(frames[0], frames[2])


# ------------------------------------------------------------------ communes


@pytest.mark.parametrize(
    ("value", "name", "how"),
    [
        ("Hữu Liên", "Hữu Liên", "exact"),
        ("xã Hữu Liên", "Hữu Liên", "normalised"),
        ("Xã  HỮU LIÊN", "Hữu Liên", "normalised"),
        ("TT Hữu Lũng", "Hữu Lũng", "normalised"),
        ("Thị trấn Hữu Lũng", "Hữu Lũng", "normalised"),
        ("huu lien", "Hữu Liên", "diacritics"),
        ("Hoà Lạc", "Hòa Lạc", "diacritics"),  # old-style tone placement
        ("Hữu Liênn", "Hữu Liên", "fuzzy"),
        ("Yen Binhh", "Yên Bình", "fuzzy"),
        ("06241", "Hòa Lạc", "code"),
        ("Chi Lăng", None, "outside"),  # a Lạng Sơn commune elsewhere
        ("Đồng Đăng", None, "outside"),  # Cao Lộc: not a typo of Đồng Tân (fuzzy ratio 0.82)
        ("Tam Thanh", None, "outside"),  # city of Lạng Sơn: not Tân Thành (0.89)
        ("Tuấn Sơn", None, "outside"),  # Hữu Lũng's 2025 commune: several old units, not Thanh Sơn
        ("Tan Thanh", "Tân Thành", "diacritics"),  # a Hữu Lũng name without diacritics wins
        ("Hà Nội", None, "unmatched"),
    ],
)
def test_match_commune(value, name, how):
    if how == "outside" or name == "Tân Thành":
        from hlstudy.communes import communes

        registry = communes()  # the full registry: Đồng Tân, Tân Thành, Thanh Sơn are in it
        match = ingest.match_commune(value, registry)
        assert (match.name, match.how) == (name, how)
        return
    match = ingest.match_commune(value, rf.REGISTRY)
    assert (match.name, match.how) == (name, how)


def test_every_non_exact_commune_match_is_reported(tmp_path):
    rows = rf.make_rows("citizens", 4)
    rows["commune"] = ["Hữu Liên", "huu lien", "Hữu Liênn", "Hữu Liên"]
    path = tmp_path / "citizens.csv"
    path.write_text(csv_text(rows, "citizens"), encoding="utf-8")
    table = read(path)
    report = table.communes.set_index("value")
    assert report.loc["huu lien", "how"] == "diacritics"
    assert report.loc["Hữu Liênn", "how"] == "fuzzy"
    assert report.loc["Hữu Liên", "rows"] == 2
    assert set(table.data["commune"]) == {"Hữu Liên"}
    assert set(table.data["commune_code"]) == {"06256"}


def test_unmatched_communes_are_all_listed(tmp_path):
    rows = rf.make_rows("citizens", 4)
    rows["commune"] = ["Hữu Liên", "Chi Lăng", "Bắc Sơn", "Chi Lăng"]
    path = tmp_path / "citizens.csv"
    path.write_text(csv_text(rows, "citizens"), encoding="utf-8")
    with pytest.raises(SurveyDataError) as err:
        read(path)
    message = str(err.value)
    assert "2 commune name(s) not in the Hữu Lũng registry" in message
    assert "'Chi Lăng' (rows 3, 5" in message and "'Bắc Sơn' (rows 4" in message
    assert "outside Hữu Lũng" in message
    assert "citizens.csv" in message and "row 3" in message
    # the fix, for what was found: both outside Hữu Lũng, so no spelling advice
    assert "Fix: a record from a commune outside Hữu Lũng does not belong to this study" in message
    assert "5-digit" not in message


def _citizens_from(tmp_path, communes: list[str]):
    """A citizens' CSV export of one record per commune name given."""
    rows = rf.make_rows("citizens", len(communes))
    rows["commune"] = communes
    path = tmp_path / "citizens.csv"
    path.write_text(csv_text(rows, "citizens"), encoding="utf-8")
    return path


def test_a_commune_name_not_found_says_how_to_write_it(tmp_path):
    path = _citizens_from(tmp_path, ["Hữu Liên", "Xã Không Có Thật", "Hữu Liên"])
    with pytest.raises(SurveyDataError) as err:
        read(path)
    message = str(err.value)
    assert message.startswith(f"{path}, row 3, column 'commune': 1 commune name(s)")
    assert "'Xã Không Có Thật' (rows 3; closest: " in message
    assert ("Fix: write each commune as the column 'name' of data/reference/communes.csv names it "
            "(accents may be left out), or as its 5-digit 'code' there") in message
    assert "outside Hữu Lũng" not in message


def test_a_2025_huu_lung_commune_says_to_write_its_unit_not_to_drop_it(tmp_path):
    """Tuấn Sơn is Hữu Lũng's (a 2025 commune of merged units): the record belongs to the study,
    so the fix is to write its unit before the merger, named from the registry, not to drop it."""
    from hlstudy.communes import communes

    units = communes().query("commune_2025 == 'Tuấn Sơn'")["name"].tolist()
    assert len(units) > 1
    path = _citizens_from(tmp_path, ["Hữu Liên", "Tuấn Sơn", "Hữu Liên"])
    with pytest.raises(SurveyDataError) as err:  # the full registry: its units of Tuấn Sơn
        ingest.read_instrument(path, codebook=CB, value_labels=VL, registry=communes())
    message = str(err.value)
    assert message.startswith(f"{path}, row 3, column 'commune': 1 commune name(s)")
    fix = message.split("Fix: ", 1)[1]
    assert fix.startswith("Tuấn Sơn (formed from ")
    assert all(unit in fix for unit in units)
    assert ("write each such record's unit before the merger as the column 'name' of "
            "data/reference/communes.csv names it, or as its 5-digit 'code' there") in fix
    assert "does not belong to this study" not in message and "leave it out" not in message


def test_a_commune_outside_huu_lung_says_to_leave_the_record_out(tmp_path):
    path = _citizens_from(tmp_path, ["Hữu Liên", "Hữu Liên", "Đồng Đăng"])  # Cao Lộc
    with pytest.raises(SurveyDataError) as err:
        read(path)
    message = str(err.value)
    assert message.startswith(f"{path}, row 4, column 'commune': 1 commune name(s)")
    assert message.endswith("Fix: a record from a commune outside Hữu Lũng does not belong to this "
                            "study: leave it out of a copy of the export (hlstudy never changes "
                            "the raw file)")
    assert "unit before the merger" not in message


def test_unmatched_fix_follows_each_kind_of_match():
    from hlstudy.communes import communes
    from hlstudy.ingest import places

    registry = communes()
    inside, outside, unknown = (ingest.match_commune(v, registry) for v in ("Tuấn Sơn", "Chi Lăng", "Hà Nội"))
    assert (inside.how, inside.commune_2025) == ("outside", "Tuấn Sơn")
    assert (outside.how, outside.commune_2025) == ("outside", None)
    assert places.unmatched_fix([]) == ""
    clauses = places.unmatched_fix([outside, inside, unknown, inside], registry).split("; ")
    assert len(clauses) == 3
    assert clauses[0].startswith("write each commune as the column 'name'")
    assert clauses[1].startswith("Tuấn Sơn (formed from ") and "unit before the merger" in clauses[1]
    assert clauses[2].startswith("a record from a commune outside Hữu Lũng does not belong")
    # another 2025 commune, as a list of other names that noted it would give it
    other = places.CommuneMatch("Thiện Tân", None, None, "outside", 0.0, "merged", "Thiện Tân")
    two = places.unmatched_fix([inside, other], registry)
    assert "Tuấn Sơn (formed from " in two and "Thiện Tân (formed from " in two
    assert "are Hữu Lũng communes of 1 July 2025" in two and "does not belong" not in two


def test_places_docstring_examples_run():
    import doctest

    from hlstudy.ingest import places

    result = doctest.testmod(places)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------ ids and privacy at ingest


def test_record_id_is_stable_pseudonymous_and_format_independent(tmp_path):
    rows = rf.make_rows("officials", 5)
    a = read(rf.write_export(rows, tmp_path / "a" / "officials.csv")).data["record_id"]
    b = read(rf.write_export(rows, tmp_path / "b" / "officials.xlsx")).data["record_id"]
    assert a.tolist() == b.tolist()
    assert a.is_unique
    # changing a person's answers or name does not change the id; it reveals neither
    rows2 = rows.copy()
    rows2.loc[0, "full_name"] = "Người Khác"
    rows2.loc[0, "TRAIN1"] = "Phân vân"
    c = read(rf.write_export(rows2, tmp_path / "c" / "officials.csv")).data["record_id"]
    assert c.tolist() == a.tolist()
    assert ingest.record_id("officials", 2) != ingest.record_id("citizens", 2)
    assert all(name.split()[0] not in rid for rid in a for name in rf.NAMES)


def test_pii_columns_are_not_in_the_table(tmp_path):
    table = read(rf.write_export(rf.make_rows("officials", 5), tmp_path / "officials.csv"))
    assert {"full_name", "phone", "comment"}.isdisjoint(table.data.columns)
    assert sorted(table.pii_dropped) == ["comment", "full_name", "phone"]


def test_reading_never_modifies_the_raw_file(tmp_path):
    for fmt in ("csv", "xlsx", "sav"):
        path = rf.write_export(rf.make_rows("officials", 5), tmp_path / f"officials.{fmt}")
        before = ingest.file_digest(path)
        stat = path.stat().st_mtime_ns
        read(path)
        assert ingest.file_digest(path) == before and path.stat().st_mtime_ns == stat


def test_dash_variants_in_labels_and_headers(tmp_path):
    rows = rf.make_rows("personnel", 3)
    rows["position"] = ["Văn phòng – thống kê", "Văn phòng-thống kê", "Tư pháp — hộ tịch"]
    path = tmp_path / "personnel.csv"
    path.write_text(csv_text(rows, "personnel"), encoding="utf-8")
    assert read(path).data["position"].tolist() == ["2", "2", "3"]


def _google_sheets_workbook(tmp_path, second_rows=0):
    """A Google Sheets download: the answers on "Câu trả lời biểu mẫu 1", then "Sheet2"."""
    from openpyxl import load_workbook

    path = rf.write_export(rf.make_rows("citizens", 4), tmp_path / "citizens.xlsx")
    wb = load_workbook(path)
    wb.active.title = "Câu trả lời biểu mẫu 1"
    extra = wb.create_sheet("Sheet2")
    extra.append(["ghi chú"])
    for k in range(second_rows):
        extra.append([f"dòng {k}"])
    wb.save(path)
    return path


def test_xlsx_the_only_sheet_with_data_is_read_and_said(tmp_path):
    table = read(_google_sheets_workbook(tmp_path))  # Sheet2 has a header only: no data
    assert table.sheet == "Câu trả lời biểu mẫu 1" and table.n == 4
    assert "the only sheet with data (4 rows; empty: 'Sheet2')" in table.sheet_note
    assert table.sheet_note in table.summary()


def test_xlsx_several_sheets_with_data_name_each_and_how_to_choose(tmp_path, monkeypatch):
    import hlstudy.config

    path = _google_sheets_workbook(tmp_path, second_rows=2)
    with pytest.raises(SurveyDataError) as err:
        read(path)
    message = str(err.value)
    assert "'Câu trả lời biểu mẫu 1': 4 data rows; 'Sheet2': 2 data rows" in message
    assert "[sheets]" in message and "hlstudy.toml" in message and "citizens.xlsx" in message
    monkeypatch.setattr(hlstudy.config, "ROOT", tmp_path)  # hlstudy.toml is read from here
    (tmp_path / "hlstudy.toml").write_text('[sheets]\ncitizens = "Câu trả lời biểu mẫu 1"\n', encoding="utf-8")
    table = read(path)
    assert table.n == 4 and "hlstudy.toml [sheets]" in table.sheet_note
    assert hlstudy.config.sheet_settings() == {"citizens": "Câu trả lời biểu mẫu 1"}
    (tmp_path / "hlstudy.toml").write_text('[sheets]\ncitizens = "Trang 3"\n', encoding="utf-8")
    with pytest.raises(SurveyDataError, match="names sheet 'Trang 3' for citizens"):
        read(path)


def test_quoted_line_breaks_keep_spreadsheet_rows_and_ids(tmp_path):
    rows = rf.make_rows("citizens", 4)
    rows["name"] = ["A\nB", "C", "D\r\nE", "F"]
    a = read(rf.write_export(rows, tmp_path / "a" / "citizens.csv")).data
    b = read(rf.write_export(rows, tmp_path / "b" / "citizens.xlsx")).data
    assert a["source_row"].tolist() == [2, 3, 4, 5]
    pd.testing.assert_frame_equal(a, b)


def test_header_report_says_how_each_header_matched(tmp_path):
    rows = rf.make_rows("officials", 3)
    spec = {r[1]: r for r in rf.spec_rows("officials")}
    variants = {"TRAIN1": unicodedata.normalize("NFD", rf.header(spec["TRAIN1"])), "TRAIN2": "câu 10.  nội dung đào tạo phù hợp với công việc"}
    path = tmp_path / "officials.csv"
    path.write_text(csv_text(rows, "officials", variants), encoding="utf-8")
    how = read(path).headers.set_index("variable")["how"]
    assert (how["TRAIN1"], how["TRAIN2"], how["TRAIN3"]) == ("nfc", "normalised", "exact")


# ------------------------------------------------------------------ the project's real codebook


def test_town_name_of_the_land_administration_title_is_the_same_code(tmp_path):
    """A thị trấn calls title DC "Địa chính – xây dựng – đô thị và môi trường" (Decree 33)."""
    from hlstudy.legal import positions

    pos = positions().set_index("position_code")
    urban = pos.at["DC", "title_vi_urban"]
    assert urban and urban != pos.at["DC", "title_vi"]
    frame = rf.generic_rows("personnel", 6, seed=3)
    frame["Cán bộ/Công chức"] = "Công chức"
    frame["Chức danh"] = [urban, pos.at["DC", "title_vi"], urban.replace("–", "-"),
                          urban.upper(), "Văn phòng – thống kê", urban]
    path = tmp_path / "personnel.csv"
    frame.to_csv(path, index=False)
    data = ingest.read_instrument(path).data
    assert data["position_code"].tolist() == ["DC", "DC", "DC", "DC", "VP_TK", "DC"]


def test_every_urban_title_of_decree33_is_an_accepted_alias():
    from hlstudy import codebook
    from hlstudy.legal import positions

    labels = codebook.value_labels("position").set_index("code")
    for r in positions().itertuples():
        if r.title_vi_urban:
            assert r.title_vi_urban in labels.at[r.position_code, "aliases_vi"].split(";")


def test_alias_of_another_code_is_rejected(tmp_path):
    import shutil

    from hlstudy import codebook
    from hlstudy.paths import INSTRUMENT

    for f in ("codebook.csv", "value_labels.csv", "claims.csv"):
        shutil.copy(INSTRUMENT / f, tmp_path / f)
    vl = pd.read_csv(tmp_path / "value_labels.csv", dtype=str, keep_default_na=False)
    vl.loc[(vl["value_set"] == "position") & (vl["code"] == "DC"), "aliases_vi"] = "Tư pháp – hộ tịch"
    vl.to_csv(tmp_path / "value_labels.csv", index=False)
    with pytest.raises(SurveyDataError, match=r"value_labels.csv.*alias is the label of another code"):
        codebook.load_codebook(folder=tmp_path)


def test_staff_code_is_personal_data_and_never_reaches_the_table(tmp_path):
    """The register's staff code links to a named HR file: dropped at ingest like a name."""
    frame = rf.generic_rows("personnel", 8, seed=5)
    codes = [f"HL06385-{i:02d}" for i in range(8)]
    frame["Mã cán bộ"] = codes
    path = tmp_path / "personnel.csv"
    frame.to_csv(path, index=False)
    table = ingest.read_instrument(path)
    assert "staff_code" in table.pii_dropped and "staff_code" not in table.data
    text = table.data.to_csv(index=False)
    assert not any(code in text for code in codes)
    # a register without the column is still read (personal-data columns may be absent)
    frame.drop(columns=["Mã cán bộ"]).to_csv(path, index=False)
    assert len(ingest.read_instrument(path).data) == 8


def test_unreadable_cells_are_logged_alike_from_csv_xlsx_and_sav(tmp_path):
    rows = rf.make_rows("officials", 30)
    rows = rows.astype(object)
    rows.loc[2, "education"] = 9  # a code outside the value set: unreadable, from every format
    logs = {}
    for fmt in ("csv", "xlsx", "sav"):
        data = read(rf.write_export(rows, tmp_path / fmt / f"officials.{fmt}")).data
        logs[fmt] = data[ingest.UNREADABLE].dropna().tolist()
    # the reason says where the cell is in the export, as the file shows it: its column
    # number and header (an SPSS file's variable name)
    reason = "code '9' is not in value set 'edu' (codes: ['1', '2', '3', '4', '5'])"
    assert logs["csv"] == [(("education", "9",
                             f"{reason} (column 6 'Trình độ chuyên môn cao nhất')"),)]
    assert logs["xlsx"] == logs["csv"]
    assert logs["sav"] == [(("education", "9", f"{reason} (column 6 'education')"),)]


def test_logged_raw_cell_is_format_independent_and_short():
    assert ingest._shorten(9.0) == ingest._shorten(9) == ingest._shorten("9") == "9"
    assert ingest._shorten(2.5) == "2.5" and ingest._shorten(float("inf")) == "inf"
    assert len(ingest._shorten("x" * 300)) == 40


def test_instrument_spec_memo_follows_the_codebook_content():
    """Specs are memoised by the codebook's content: an edited copy gets its own spec, an
    equal copy the same variables."""
    from hlstudy.ingest import spec as spec_mod

    cb, vl = spec_mod.codebook_frames()
    base = spec_mod.instrument_spec("officials", cb, vl)
    same = spec_mod.instrument_spec("officials", cb.copy(deep=True), vl.copy(deep=True))
    assert [v.variable for v in same.variables] == [v.variable for v in base.variables]
    edited = cb.copy(deep=True)
    row = edited.index[(edited["instrument"] == "officials") & (edited["variable"] == "TRAIN1")][0]
    edited.loc[row, "question_vi"] = "Một câu hỏi khác"
    assert spec_mod._fingerprint(edited) != spec_mod._fingerprint(cb)
    changed = spec_mod.instrument_spec("officials", edited, vl)
    assert changed.by_name["TRAIN1"].question_vi == "Một câu hỏi khác"
    assert base.by_name["TRAIN1"].question_vi != "Một câu hỏi khác"
    assert spec_mod.instrument_spec("officials", cb, vl).by_name["TRAIN1"].question_vi == \
        base.by_name["TRAIN1"].question_vi


def test_value_set_entries_equal_the_row_dicts_of_the_value_sets():
    """Entries are read column-wise; they equal those built from ``to_dict(orient="records")``
    (every value set of both instruments, aliases included, and a value set whose label
    columns are missing)."""
    from hlstudy.ingest import values
    from hlstudy.ingest.spec import instrument_spec

    def by_rows(frame):
        out = []
        for r in frame.to_dict(orient="records"):
            code = ingest.clean_text(r["code"])
            out.append((code, ingest.clean_text(r.get("label_vi", "")),
                        ingest.clean_text(r.get("label_en", ""))))
            out.extend((code, a, a) for a in values._aliases(r))
        return tuple(out)

    n_aliases = 0
    for name in ingest.INSTRUMENTS:
        spec = instrument_spec(name)
        for vs, frame in spec.value_sets.items():
            got = values._value_set_entries(spec, vs)
            assert got == by_rows(frame), (name, vs)
            n_aliases += len(got) - len(frame)
    assert n_aliases > 0                       # aliases were compared too
    spec.value_sets["bare"] = pd.DataFrame({"code": ["1", " 2 "], "aliases_vi": ["x; y", None]})
    assert values._value_set_entries(spec, "bare") == by_rows(spec.value_sets["bare"]) == (
        ("1", "", ""), ("1", "x", "x"), ("1", "y", "y"), ("2", "", ""))


def test_repeated_header_check_decides_as_the_cell_by_cell_comparison():
    """_check_repeated_header keys each distinct text of a column once; on random tables
    (texts equal to a header up to case, spacing and numbering, numbers, blanks, short and
    long rows) it raises exactly where the cell-by-cell count reaches its threshold, at the
    same row."""
    from pathlib import Path

    from hlstudy.ingest import files
    from hlstudy.ingest.headers import header_key

    def first_repeat(table):
        keys = [None if files._blank(h) else header_key(h) for h in table.headers]
        named = sum(k is not None for k in keys)
        if named < 2:
            return None
        for record, row_no in zip(table.rows, table.row_numbers, strict=True):
            same = sum(1 for k, cell in zip(keys, record, strict=False)
                       if k is not None and isinstance(cell, str) and header_key(cell) == k)
            if same >= max(2, named // 2):
                return row_no, same
        return None

    rng = np.random.default_rng(8)
    headers = ["Câu 1. Anh/chị được ĐÀO TẠO", "Tuổi", "Xã", "", None, "Ghi chú *"]
    variants = {0: ["anh/chị được đào tạo", "1. Anh/chị được đào tạo ", "Đồng ý"],
                1: ["tuổi", "TUỔI", "35"], 2: ["xã", "Xã Minh Sơn"], 3: ["", "x"],
                4: ["y"], 5: ["ghi chú", "ok"]}
    outcomes = set()
    for _ in range(300):
        rows = []
        for _r in range(int(rng.integers(1, 8))):
            width = int(rng.integers(0, len(headers) + 3))
            row = []
            for j in range(width):
                pool = variants.get(j, ["extra"]) + [None, 3.0]
                row.append(pool[int(rng.integers(len(pool)))])
            rows.append(row)
        table = files.RawTable(Path("t.csv"), "csv", "utf-8", headers[: int(rng.integers(1, 7))],
                               rows, list(range(2, len(rows) + 2)))
        want = first_repeat(table)
        if want is None:
            files._check_repeated_header(table)
            outcomes.add("none")
        else:
            with pytest.raises(SurveyDataError, match=rf"\({want[1]} of .*row {want[0]}|"
                                                      rf"row {want[0]}.*\({want[1]} of"):
                files._check_repeated_header(table)
            outcomes.add("raised")
    assert outcomes == {"none", "raised"}


def test_columns_and_sheets_tables_of_hlstudy_toml_are_checked(tmp_path):
    from hlstudy import config
    from hlstudy.errors import SurveyDataError

    toml = tmp_path / "hlstudy.toml"
    toml.write_text('[columns]\n" Họ tên " = " NAME "\n[sheets]\n" officials " = " Trang 1 "\n', encoding="utf-8")
    assert config.column_settings(tmp_path) == {" Họ tên ": "NAME"}      # header kept as written
    assert config.sheet_settings(tmp_path) == {"officials": "Trang 1"}
    toml.write_text("[columns]\nA = 1\n", encoding="utf-8")
    with pytest.raises(SurveyDataError, match=r"\[columns\].*got \{'A': 1\}"):
        config.column_settings(tmp_path)
    toml.write_text('[sheets]\nofficials = ""\n', encoding="utf-8")
    with pytest.raises(SurveyDataError, match=r"\[sheets\].*got"):
        config.sheet_settings(tmp_path)
    toml.write_text('sheets = "x"\n', encoding="utf-8")
    with pytest.raises(SurveyDataError, match=r"\[sheets\] must be a table"):
        config.sheet_settings(tmp_path)


@pytest.mark.parametrize(("text", "names"), [
    ('[dta]\nsource = "my_export"\n', r"\[dta\] is not a table.*did you mean 'data'"),
    ("[study]\nreference_yr = 2025\n", r"\[study\] reference_yr is not a setting.*'reference_year'"),
    ('[data]\nsorce = "x"\n', r"\[data\] sorce.*'source'"),
    ('[export]\nformats = ["pdf"]\n', r"\[export\] formats.*figure_formats"),
])
def test_a_misspelt_setting_of_hlstudy_toml_is_an_error(tmp_path, text, names):
    """A misspelt table or key was ignored: ``[dta] source`` ran on the committed data and
    ``reference_yr`` gave the generic "reference year unknown" error."""
    from hlstudy import config
    from hlstudy.errors import SurveyDataError

    (tmp_path / "hlstudy.toml").write_text(text, encoding="utf-8")
    with pytest.raises(SurveyDataError, match=names) as err:
        config.data_source(root=tmp_path)
    assert "hlstudy.toml" in str(err.value)
    (tmp_path / "hlstudy.toml").write_text(
        '[data]\nsource = "x"\n[columns]\n"Họ tên" = "NAME"\n[study]\nreference_year = 2025\n',
        encoding="utf-8")
    assert config.data_source(root=tmp_path).path == tmp_path / "x"


def test_missing_column_suggests_only_headers_not_mapped_and_says_the_fix(tmp_path):
    # Google Forms grid headers ("Group [item]") are mapped through the item in brackets; the
    # closest header to the missing MOT2 is MOT1's, already mapped: it was suggested
    rows = rf.make_rows("officials", 3).drop(columns=["MOT2"])
    spec = {r[1]: r for r in rf.spec_rows("officials")}
    grid = {v: f"Động lực [{spec[v][5]}]" for v in ("MOT1", "MOT3")}
    path = tmp_path / "officials.csv"
    path.write_text(csv_text(rows, "officials", grid), encoding="utf-8")
    with pytest.raises(SurveyDataError, match=r"missing column: the file has no column for item MOT2") as err:
        read(path)
    message = str(err.value)
    assert "Động lực [" not in message   # no header mapped to MOT1 or MOT3
    assert "Closest header" not in message and "none to suggest" in message
    assert "columns.csv" in message and "[columns]" in message and "HLSTUDY_INSTRUMENT" in message
    # a header no item claims (here set aside by the user's mapping) is suggested, with the
    # line that maps it
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame["Tôi sẵn sàng làm thêm khi cần"] = "Đồng ý"
    frame.to_csv(path, index=False)
    with pytest.raises(SurveyDataError, match=r"Closest header not mapped to any item: Tôi sẵn sàng "
                       r"làm thêm khi cần.*the line  Tôi sẵn sàng làm thêm khi cần,MOT2 "):
        ingest.read_instrument(path, codebook=CB, value_labels=VL, registry=rf.REGISTRY,
                               columns={"Tôi sẵn sàng làm thêm khi cần": "ignore"})


# ------------------------------------------------------------------ platform timestamps

FORMS_TIMES = [
    # as written by … → read as the wall-clock time written
    ("2024/03/01 8:24:53 AM GMT+7", "2024-03-01 08:24:53"),      # Google Forms, CSV download
    ("2024/03/02 12:05:00 AM GMT+7", "2024-03-02 00:05:00"),     # midnight on a 12-hour clock
    ("2024/03/03 1:09:32 PM GMT+07:00", "2024-03-03 13:09:32"),
    ("03/03/2024 1:09:32 CH", "2024-03-03 13:09:32"),            # Vietnamese locale: SA/CH
    ("2024-03-04T09:15:03.120+07:00", "2024-03-04 09:15:03"),    # KoboToolbox start/end
    ("04/03/2024 09:15", "2024-03-04 09:15:00"),                 # Excel (Vietnamese locale) CSV
]


def _with_times(tmp_path, times):
    rows = rf.make_rows("officials", len(times)).astype(object)
    rows["submitted_at"] = times
    path = tmp_path / "officials.csv"
    path.write_text(csv_text(rows, "officials"), encoding="utf-8")
    return path


def test_timestamps_as_forms_kobo_and_excel_write_them_are_read(tmp_path):
    raw, expected = zip(*FORMS_TIMES, strict=True)
    table = read(_with_times(tmp_path, list(raw)))
    assert table.data["submitted_at"].tolist() == [pd.Timestamp(t) for t in expected]
    assert ingest.UNREADABLE not in table.data


def test_one_unreadable_timestamp_is_one_records_loss_not_a_stop(tmp_path):
    # the platform's time is no answer: beyond the share tolerated in answer columns (here
    # 2 of 6 cells), an unreadable value is still one record's missing time, logged
    times = [t for t, _ in FORMS_TIMES]
    times[1] = times[4] = "hôm qua"
    table = read(_with_times(tmp_path, times))
    stamps = table.data["submitted_at"]
    assert stamps.isna().tolist() == [False, True, False, False, True, False]
    flagged = table.data[ingest.UNREADABLE].dropna()
    assert [entry[0][:2] for entry in flagged] == [("submitted_at", "hôm qua")] * 2
    # the reason each cleaning-log row carries: two examples and where the formats are listed,
    # not the whole list (~520 characters a row)
    reason = str(flagged.iloc[0][0][2])
    assert len(reason) < 250, reason   # 546 before
    assert "2025-03-04 14:05:09" in reason and "README, 'Using your own survey export'" in reason


def test_a_timestamp_column_of_which_nothing_can_be_read_stops_with_the_fix(tmp_path):
    path = _with_times(tmp_path, ["hôm qua", "", "sáng thứ Hai", "hôm qua"])
    with pytest.raises(SurveyDataError) as err:
        read(path)
    message = str(err.value)
    assert message.startswith(f"{path}, column 'Thời gian nộp': no value of this column can be "
                              "read as a timestamp (submitted_at): 3 of 3 filled-in values "
                              "unreadable, e.g. 'hôm qua' in row 2.  Accepted formats: ")
    assert "YYYY/MM/DD H:MM:SS AM GMT+7" in message                    # the formats read
    assert "Thời gian nộp,ignore" in message and "reference_year" in message   # or skip it


def test_a_column_of_unknown_labels_says_which_file_maps_labels(tmp_path):
    rows = rf.make_rows("officials", 6).astype(object)
    rows.loc[[2, 3], "TRAIN3"] = "Rất tốt"
    path = tmp_path / "officials.csv"
    path.write_text(csv_text(rows, "officials"), encoding="utf-8")
    with pytest.raises(SurveyDataError, match=r"column 'Câu 11\..*row 4: label 'Rất tốt' is not in "
                       r"value set 'agree5'.*\.  Fix: .*aliases_vi"
                       r".*value_labels\.csv.*HLSTUDY_INSTRUMENT"):
        read(path)
