"""Tests of hlstudy.legal: Decree 33/2023 reference data and their validation."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from hlstudy import legal
from hlstudy.errors import ModelError, SurveyDataError
from hlstudy.paths import REFERENCE, ROOT


def test_positions_cover_the_decree():
    pos = legal.positions()
    assert pos["position_code"].is_unique
    # facts.md: 11 cadre positions (Bí thư, Phó Bí thư, CT/PCT HĐND, CT/PCT UBND, MTTQ,
    # Đoàn, Phụ nữ, Nông dân, Cựu chiến binh) and 6 civil-servant titles.
    assert (pos["kind"] == "can_bo").sum() == 11
    assert (pos["kind"] == "cong_chuc").sum() == 6
    assert not pos["title_vi"].str.contains("Công an").any()
    assert set(pos["confidence"]) <= {"2"}


def test_land_title_differs_between_xa_and_thi_tran():
    assert legal.position_title("DC", "Xã") == "Địa chính – nông nghiệp – xây dựng và môi trường"
    assert legal.position_title("DC", "Thị trấn") == "Địa chính – xây dựng – đô thị và môi trường"
    assert legal.position_title("TP_HT", "Thị trấn") == legal.position_title("TP_HT", "xa")
    with pytest.raises(SurveyDataError):
        legal.position_title("NOPE")


@pytest.mark.parametrize(
    "unit_type, unit_class, staff, part_time",
    [("phường", "I", 23, 14), ("phuong", "II", 21, 12), ("Phường", "III", 19, 10),
     ("Xã", "I", 22, 14), ("xa", "II", 20, 12), ("xã", "III", 18, 10),
     ("Thị trấn", "I", 22, 14), ("thi_tran", "II", 20, 12), ("THỊ TRẤN", "iii", 18, 10)],
)
def test_quota_matches_facts(unit_type, unit_class, staff, part_time):
    assert legal.quota(unit_type, unit_class) == staff
    assert legal.quota(unit_type, unit_class, part_time=True) == part_time


def test_quota_rejects_unknown_inputs():
    with pytest.raises(SurveyDataError, match="unit type"):
        legal.quota("huyện", "I")
    with pytest.raises(SurveyDataError, match="unit class"):
        legal.quota("xã", "IV")


def test_standards_rules_are_consistent():
    st = legal.standards()
    cc = st[st["applies_to"] == "cong_chuc"]
    assert list(cc["rule_id"]) == ["CC_AGE", "CC_SECONDARY", "CC_DEGREE", "CC_FIELD"]
    assert cc.set_index("rule_id").at["CC_AGE", "threshold"] == "18"
    deg = cc.set_index("rule_id").loc["CC_DEGREE"]
    assert (deg["threshold"], deg["exception_threshold"]) == ("university", "intermediate")
    cb = st[st["applies_to"] == "can_bo"]
    assert list(cb["operator"]) == ["not_applicable"]


def test_field_fit_is_labelled_assumption_and_covers_every_title():
    fit = legal.field_fit()
    assert set(fit["confidence"]) == {"assumption"}
    titles = set(legal.positions().query("kind == 'cong_chuc'")["position_code"])
    assert set(fit["position_code"]) == titles


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_bad_confidence_is_reported_with_row(reference_copy):
    _edit(reference_copy / "decree33_headcount.csv", "DECREE_33_2023),2", "x),certain")
    with pytest.raises(SurveyDataError, match=r"row 2.*confidence"):
        legal.headcount(reference_copy)


def test_missing_source_is_rejected(reference_copy):
    _edit(reference_copy / "decree33_positions.csv",
          "Decree 33/2023/NĐ-CP of 10 Jun 2023 Art. 5(1) (cadre positions; legal_frame.csv "
          "DECREE_33_2023),2", ",2")
    with pytest.raises(SurveyDataError, match="source"):
        legal.positions(reference_copy)


def test_unknown_education_level_in_rule_is_rejected(reference_copy):
    _edit(reference_copy / "decree33_standards.csv", "min_level,university", "min_level,phd")
    with pytest.raises(SurveyDataError, match="unknown education level"):
        legal.standards(reference_copy)


def test_duplicate_headcount_key_is_rejected(reference_copy):
    p = reference_copy / "decree33_headcount.csv"
    lines = p.read_text(encoding="utf-8").splitlines()
    p.write_text("\n".join(lines + [lines[1]]) + "\n", encoding="utf-8")
    with pytest.raises(SurveyDataError, match="duplicate"):
        legal.headcount(reference_copy)


def test_reference_codes_agree_with_the_codebook():
    from hlstudy import codebook

    fields = set(codebook.value_labels("field_of_study")["code"])
    assert set(legal.field_fit()["field"]) <= fields
    levels = legal.education_levels()
    prof = set(levels.loc[levels.scale == "professional", "level_code"])
    assert prof == set(codebook.value_labels("education_level")["code"])
    gen = set(levels.loc[levels.scale == "general", "level_code"])
    assert gen == set(codebook.value_labels("general_education")["code"])
    assert set(legal.positions()["position_code"]) == set(codebook.value_labels("position")["code"])


def test_every_registry_unit_has_a_quota():
    from hlstudy.communes import communes

    for unit_type in communes()["unit_type"].unique():
        assert [legal.quota(unit_type, c) for c in legal.UNIT_CLASSES] == [22, 20, 18]


def test_official_kind_prefers_the_answer_then_the_position():
    import pandas as pd

    answered = pd.DataFrame({"kind": ["cong_chuc"], "position_code": ["CT_UBND"]})
    assert legal.official_kind(answered).tolist() == ["cong_chuc"]
    by_position = pd.DataFrame({"position_code": ["CT_UBND", "TP_HT", "XX", None]})
    kinds = legal.official_kind(by_position)
    assert kinds.iloc[:2].tolist() == ["can_bo", "cong_chuc"]
    assert kinds.iloc[2:].isna().all(), "unknown or missing positions have no kind"
    assert legal.official_kind(pd.DataFrame({"x": [1]})) is None


def test_reform_frame_text_is_built_from_the_file(tmp_path):
    vi, en = legal.reform_frame_text("vi"), legal.reform_frame_text("en")
    assert "80/2025/QH15 [2], hiệu lực từ 01/07/2025" in vi and "170/2025/NĐ-CP [2]" in vi
    assert "01/07/2027" in vi and "hướng dẫn sau cải cách [1]" in vi
    assert "placement into positions and ranks by 1 Jul 2027" in en and "hiệu lực" not in en
    assert "facts.md" not in vi + en and "data/reference/legal_frame.csv" in vi
    # a changed row changes the text: nothing in it is typed in
    shutil.copy(REFERENCE / "legal_frame.csv", tmp_path / "legal_frame.csv")
    _edit(tmp_path / "legal_frame.csv", "80/2025/QH15,law", "99/2025/QH15,law")
    assert "99/2025/QH15" in legal.reform_frame_text("vi", tmp_path)
    with pytest.raises(ModelError, match="lang"):
        legal.reform_frame_text("fr")
    short = tmp_path / "short"     # (files are read once per folder)
    short.mkdir()
    text = (REFERENCE / "legal_frame.csv").read_text(encoding="utf-8")
    (short / "legal_frame.csv").write_text(
        "\n".join(line for line in text.splitlines() if not line.startswith("DECREE_170_2025")) + "\n",
        encoding="utf-8")
    with pytest.raises(SurveyDataError, match="DECREE_170_2025"):
        legal.reform_frame_text("vi", short)


def test_no_reference_points_outside_the_repository():
    # the project's reference notes are not part of the repository: a user cannot open them
    for path in [*REFERENCE.glob("*.csv"), ROOT / "README.md", *(ROOT / "docs").glob("*.md"),
                 *(ROOT / "notebooks").glob("*.py")]:
        assert "facts.md" not in path.read_text(encoding="utf-8"), path


# The dates of the legal frame that a source read states (legal_frame.csv, column source):
# consolidated text 25/VBHN-VPQH (Laws 22/2008/QH12 and 52/2019/QH14), the law's page on
# thuvienphapluat.vn (80/2025/QH15), the consolidated Law on Local Government of 2023
# (77/2015/QH13), the Law on Civil Status's header and record (60/2014/QH13), laodong.vn's
# report of Resolution 1672 (in force on adoption; the new communes operate from 1 Jul 2025).
SOURCED_DATES = {
    "LAW_CBCC_2008": ("2008-11-13", "2010-01-01"),
    "LAW_CBCC_2019": ("2019-11-25", "2020-07-01"),
    "LAW_CBCC_2025": ("2025-06-24", "2025-07-01"),
    "LAW_LOCAL_GOV_2015_ART32": ("2015-06-19", "2016-01-01"),
    "TP_HT_CIVIL_STATUS": ("2014-11-20", "2016-01-01"),
    "RES_1672": ("2025-06-16", "2025-06-16"),
}


@pytest.mark.parametrize("doc_id", sorted(SOURCED_DATES))
def test_legal_frame_dates_are_those_the_sources_state(doc_id):
    """The examiners found 52/2019/QH14's dates and 22/2008/QH12's entry into force blank
    although the consolidated text states them, and Resolution 1672 in force on 1 Jul 2025
    (the day the new communes began to operate; the resolution took effect on adoption)."""
    import pandas as pd

    row = legal.legal_frame().set_index("doc_id").loc[doc_id]
    assert (row["issued"], row["in_force"]) == tuple(map(pd.Timestamp, SOURCED_DATES[doc_id]))


def test_a_blank_date_must_say_what_was_searched(reference_copy):
    frame = legal.legal_frame()
    blank = frame[frame["issued"].isna() | frame["in_force"].isna()]
    assert not blank.empty and blank["note"].str.contains("để trống").all() \
        and blank["note"].str.contains("left blank").all()
    # a date blanked without a word on it is an error naming the row and the column
    _edit(reference_copy / "legal_frame.csv", "2016-01-01,2025-06-30,units_2024,Một Phó",
          ",2025-06-30,units_2024,Một Phó")
    with pytest.raises(SurveyDataError, match=r"legal_frame.csv, row 11, column 'in_force'.*blank"):
        legal.legal_frame(reference_copy)


def test_frame_names_name_every_frame_in_both_languages():
    for frame in legal.FRAMES:
        assert legal.frame_name(frame) != legal.frame_name(frame, "en")
    assert "33/2023" in legal.frame_name(legal.frame_on("2024-12-31"))
    assert "80/2025/QH15" in legal.frame_name(legal.frame_on("2025-07-01"), "en")
    with pytest.raises(SurveyDataError, match="unknown legal frame"):
        legal.frame_name("decree_1999")
    with pytest.raises(ModelError):
        legal.frame_name("law_2025", "fr")


def test_the_2008_law_is_cited_for_its_definition_article():
    # Art. 4(3) of Law 22/2008/QH12 defines commune cadres and civil servants; Art. 61 lists titles
    row = legal.legal_frame().set_index("doc_id").loc["LAW_CBCC_2008"]
    assert "Art. 4(3) defines" in row["role_en"] and "Art. 61 lists" in row["role_en"]
    assert "khoản 3 Điều 4 định nghĩa" in row["role_vi"]


def test_resolution_1672_dates_agree_between_reference_tables():
    # adopted and in force on 16 June 2025; the new communes' authorities operate from 1 July 2025
    from hlstudy import district

    res = legal.legal_frame().set_index("doc_id").loc["RES_1672"]
    assert res["issued"] == res["in_force"] == pd.Timestamp("2025-06-16")
    label_vi = district.fact_labels("vi")["n_communes_2025"]
    label_en = district.fact_labels("en")["n_communes_2025"]
    adopted = res["in_force"].strftime("%d/%m/%Y")
    operate = legal.REFORM_DATE.strftime("%d/%m/%Y")
    assert f"có hiệu lực ngày {adopted}" in label_vi and f"hoạt động từ {operate}" in label_vi
    assert f"in force {adopted}" in label_en and f"operate from {operate}" in label_en
    assert f"hiệu lực {operate}" not in label_vi and f"in force {operate}" not in label_en
