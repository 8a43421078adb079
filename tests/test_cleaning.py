"""Cleaning rules: each catches its fault, respects its threshold, and logs every decision."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rawfactory as rf

from hlstudy import cleaning, config, ingest, scales
from hlstudy.errors import ModelError, SurveyDataError
from hlstudy.study import load_study

CB, VL = rf.codebook(), rf.value_labels()
SPEC = {name: ingest.instrument_spec(name, CB, VL) for name in ("officials", "citizens", "personnel")}
ITEMS = [v.variable for v in SPEC["officials"].variables if v.type == "likert"]


@pytest.fixture(scope="module")
def officials(tmp_path_factory) -> pd.DataFrame:
    path = rf.write_export(rf.make_rows("officials", 40, seed=7), tmp_path_factory.mktemp("raw") / "officials.csv")
    return ingest.read_instrument(path, codebook=CB, value_labels=VL, registry=rf.REGISTRY).data


def run(df, rules=None, instrument="officials", **kw):
    return cleaning.clean(df, instrument, rules, spec=SPEC[instrument], **kw)


def assert_accounted(df, result):
    log = result.log
    dropped = log.loc[log["action"] == "drop", "record_id"]
    assert len(df) == len(result.data) + len(dropped)
    assert set(dropped).isdisjoint(result.data["record_id"])
    assert set(dropped) | set(result.data["record_id"]) == set(df["record_id"])
    assert list(log.columns) == cleaning.LOG_COLUMNS
    assert log["action"].isin(cleaning.ACTIONS).all()
    assert (log["outcome"].map(cleaning.OUTCOMES) == log["action"]).all()


def dropped_by(result, rule):
    log = result.log
    return set(log.loc[(log["action"] == "drop") & (log["rule"] == rule), "record_id"])


def test_clean_data_pass_untouched(officials):
    result = run(officials)
    assert len(result.data) == len(officials) and result.log.empty
    assert_accounted(officials, result)
    assert (result.flow["n_after"] == len(officials)).all()


def test_duplicates_exact_and_near(officials):
    df = officials.copy()
    copy = df.iloc[[3]].copy()
    copy["record_id"], copy["source_row"] = "O-dup1", 900
    copy["submitted_at"] = copy["submitted_at"] + pd.Timedelta(hours=1)  # resubmitted later
    near = df.iloc[[5]].copy()
    near["record_id"], near["source_row"] = "O-dup2", 901
    near["MOT3"] = 6 - near["MOT3"].iloc[0] if near["MOT3"].iloc[0] != 3 else 1.0  # one answer differs
    df = pd.concat([df, copy, near], ignore_index=True)
    strict = run(df)
    assert dropped_by(strict, "duplicates") == {"O-dup1"}
    assert "repeats record " + df.at[3, "record_id"] in strict.log.loc[strict.log["record_id"] == "O-dup1", "reason"].iloc[0]
    loose = run(df, cleaning.Rules(duplicate_min_share=0.9))
    assert dropped_by(loose, "duplicates") == {"O-dup1", "O-dup2"}
    assert_accounted(df, strict)
    assert_accounted(df, loose)


def test_duplicate_keeps_the_earliest_submission(officials):
    df = officials.copy()
    early = df.iloc[[2]].copy()
    early["record_id"], early["source_row"] = "O-early", 950
    early["submitted_at"] = early["submitted_at"] - pd.Timedelta(days=1)
    df = pd.concat([df, early], ignore_index=True)
    assert dropped_by(run(df), "duplicates") == {df.at[2, "record_id"]}


def test_missing_required_commune(officials):
    df = officials.copy()
    df.loc[4, ["commune_code", "commune", "commune_2025"]] = pd.NA
    result = run(df)
    assert dropped_by(result, "missing_required") == {df.at[4, "record_id"]}
    assert_accounted(df, result)


def test_speeders_threshold_is_a_parameter(officials):
    df = officials.copy()
    median = df["duration_s"].median()
    df.loc[1, "duration_s"] = 0.2 * median
    df.loc[2, "duration_s"] = 0.45 * median
    assert dropped_by(run(df), "speeders") == {df.at[1, "record_id"]}
    assert dropped_by(run(df, cleaning.Rules(speeder_share_of_median=0.5)), "speeders") == {
        df.at[1, "record_id"], df.at[2, "record_id"]
    }
    no_timing = df.assign(duration_s=np.nan)
    assert dropped_by(run(no_timing), "speeders") == set()


def test_out_of_range_changes_values_and_logs_old_value(officials):
    df = officials.copy()
    df.loc[0, "TRAIN2"] = 7.0
    df.loc[1, "PRO1"] = 0.0
    df.loc[2, "birth_year"] = 1890
    result = run(df)
    changes = result.log[(result.log["rule"] == "out_of_range")]
    assert set(zip(changes["record_id"], changes["column"], changes["old_value"], strict=True)) == {
        (df.at[0, "record_id"], "TRAIN2", "7"), (df.at[1, "record_id"], "PRO1", "0"),
        (df.at[2, "record_id"], "birth_year", "1890"),
    }
    assert changes["new_value"].isna().all() and (changes["action"] == "change").all()
    kept = result.data.set_index("record_id")
    assert np.isnan(kept.at[df.at[0, "record_id"], "TRAIN2"])
    assert pd.isna(kept.at[df.at[2, "record_id"], "birth_year"])
    assert len(result.data) == len(df)


def test_inconsistent_background(officials):
    df = officials.copy()
    df.loc[0, ["birth_year", "years_in_post"]] = [1990, 30]  # started at 4 (survey 2024)
    df.loc[1, ["birth_year", "education", "years_in_post"]] = [2006, "4", 0]  # degree at 18
    df.loc[2, ["birth_year", "years_in_post"]] = [1990, 16]  # started at 18: fine
    result = run(df)
    changes = result.log[result.log["rule"] == "inconsistent"]
    assert set(zip(changes["record_id"], changes["column"], strict=True)) == {
        (df.at[0, "record_id"], "years_in_post"), (df.at[1, "record_id"], "education")
    }
    strict = run(df, cleaning.Rules(min_age_at_start=19))
    assert (df.at[2, "record_id"], "years_in_post") in set(
        zip(strict.log["record_id"], strict.log["column"], strict=True)
    )


def test_straightlining_by_longstring(officials):
    df = officials.copy()
    df.loc[3, ITEMS] = 4.0
    df.loc[4, ITEMS] = 4.0
    df.loc[4, "MOT3"] = 5.0  # the last item differs: run of 10 of 11
    df.loc[5, ITEMS] = 2.0
    df.loc[5, "PRO2"] = np.nan  # a blank breaks the run
    result = run(df)
    assert dropped_by(result, "straightlining") == {df.at[3, "record_id"]}
    reason = result.log.loc[result.log["rule"] == "straightlining", "reason"].iloc[0]
    assert "to 11 consecutive Likert items of 11" in reason
    relaxed = run(df, cleaning.Rules(straightline_share=0.9))
    assert dropped_by(relaxed, "straightlining") == {df.at[3, "record_id"], df.at[4, "record_id"]}
    assert dropped_by(run(df, cleaning.Rules(straightline_min_items=12)), "straightlining") == set()
    assert_accounted(df, result)


def test_longstring_matches_r_rle():
    # R 4.x: x <- rbind(c(4,4,4,2), c(1,NA,1,1), c(3,3,3,3))
    #        apply(x, 1, function(r) max(rle(r)$lengths))  ->  3 2 4
    x = pd.DataFrame([[4, 4, 4, 2], [1, np.nan, 1, 1], [3, 3, 3, 3]], dtype=float)
    assert cleaning.longstring(x).tolist() == [3, 2, 4]


def score_missing(result):
    log = result.log
    hit = log[(log["rule"] == "missing_scale")]
    assert (hit["action"] == "flag").all() and (hit["outcome"] == "score_missing").all()
    return set(zip(hit["record_id"], hit["column"], strict=True))


def test_missing_scale_share(officials):
    df = officials.copy()
    df.loc[5, ["MOT1", "MOT2"]] = np.nan  # 2 of 3 missing: 67 % > 50 %
    df.loc[6, ["TRAIN1", "TRAIN2"]] = np.nan  # 2 of 4 missing: 50 %, kept
    result = run(df)
    # no record is dropped for a missing scale: only that scale's score is missing
    assert dropped_by(result, "missing_scale") == set() and len(result.data) == len(df)
    assert score_missing(result) == {(df.at[5, "record_id"], "MOT")}
    assert result.flow.set_index("rule").at["missing_scale", "flagged"] == 1
    stricter = run(df, cleaning.Rules(max_missing_share=0.25))
    assert score_missing(stricter) == {(df.at[5, "record_id"], "MOT"), (df.at[6, "record_id"], "TRAIN")}
    assert_accounted(df, stricter)


def test_each_record_dropped_once_even_with_several_faults(officials):
    df = officials.copy()
    df.loc[7, ITEMS] = 5.0
    df.loc[7, "duration_s"] = 1.0  # speeder and straight-liner: dropped by the first rule only
    result = run(df)
    drops = result.log[result.log["action"] == "drop"]
    assert drops["record_id"].tolist() == [df.at[7, "record_id"]]
    assert drops["rule"].tolist() == ["speeders"]
    assert_accounted(df, result)


def test_skip_and_invalid_thresholds():
    with pytest.raises(SurveyDataError, match="max_missing_share"):
        cleaning.Rules(max_missing_share=1.5)
    with pytest.raises(SurveyDataError, match="unknown rule"):
        cleaning.Rules(skip=("nonsense",))


def test_skipped_rule_does_nothing(officials):
    df = officials.copy()
    df.loc[1, "duration_s"] = 1.0
    result = run(df, cleaning.Rules(skip=("speeders",)))
    assert len(result.data) == len(df)


def test_reverse_keying(officials):
    result = run(officials)
    before = officials.set_index("record_id")
    after = result.data.set_index("record_id")
    assert (after["TRAIN4"] == 6 - before["TRAIN4"]).all()
    assert (after["TRAIN1"] == before["TRAIN1"]).all()
    unreversed = run(officials, reverse=False).data.set_index("record_id")
    assert (unreversed["TRAIN4"] == before["TRAIN4"]).all()


def test_missing_report_by_item_and_commune(officials):
    df = officials.copy()
    hl = df.index[df["commune"] == "Hữu Liên"]
    df.loc[hl[:2], "PRO3"] = np.nan
    report = cleaning.missing_report(df, "officials", spec=SPEC["officials"])
    row = report[(report["commune"] == "Hữu Liên") & (report["variable"] == "PRO3")].iloc[0]
    assert row["missing"] == 2 and row["n"] == len(hl)
    assert row["share"] == pytest.approx(2 / len(hl))
    assert report.loc[report["variable"] == "PRO3", "missing"].sum() == 2
    assert {"full_name", "phone", "comment"}.isdisjoint(report["variable"])


def test_scale_scores_minimum_items():
    df = pd.DataFrame({
        "record_id": list("abcd"),
        "A1": [4, 2, np.nan, np.nan], "A2": [5, np.nan, np.nan, 3], "A3": [3, 4, np.nan, np.nan],
        "A4": [4, np.nan, 1, np.nan],
    })
    out = scales.score_scales(df, {"A": ["A1", "A2", "A3", "A4"]}, min_share=0.5)
    assert out["A"].iloc[0] == pytest.approx(4.0)
    assert out["A"].iloc[1] == pytest.approx(3.0)  # 2 of 4 answered: scored
    assert np.isnan(out["A"].iloc[2]) and np.isnan(out["A"].iloc[3])  # 1 of 4: not scored
    strict = scales.score_scales(df, {"A": ["A1", "A2", "A3", "A4"]}, min_share=0.75)
    assert np.isnan(strict["A"].iloc[1])
    cov = scales.scale_coverage(df, {"A": ["A1", "A2", "A3", "A4"]})
    assert cov.table.iloc[0][["scored", "complete", "partial", "unscored"]].tolist() == [2, 1, 1, 2]
    with pytest.raises(ModelError):
        scales.score_scales(df, {"A": ["A1", "Z9"]})
    assert scales.min_items(3, 0.5) == 2 and scales.min_items(4, 0.5) == 2


def test_rules_table_lists_every_rule_with_its_threshold():
    table = cleaning.rules_table(cleaning.Rules(max_missing_share=0.3))
    assert table["rule"].tolist() == list(cleaning.RULE_NAMES)
    assert "max_missing_share=0.3" in table.set_index("rule").at["missing_scale", "parameters"]


def test_identical_answers_of_different_people_are_not_duplicates(officials):
    assert "_pii_key" in officials  # ingest hashed the personal data for this rule
    df = officials.copy()
    twin = df.iloc[[8]].copy()
    twin["record_id"], twin["source_row"] = "O-twin", 990
    twin["_pii_key"] = "another-person"
    same = df.iloc[[8]].copy()
    same["record_id"], same["source_row"] = "O-same", 991
    df = pd.concat([df, twin, same], ignore_index=True)
    result = run(df)
    assert dropped_by(result, "duplicates") == {"O-same"}
    assert "_pii_key" not in result.data.columns


# ------------------------------------------------------------------ on the project's real codebook


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    folder = tmp_path_factory.mktemp("real")
    out = {}
    for i, name in enumerate(("officials", "personnel")):
        path = folder / f"{name}.csv"
        rf.generic_rows(name, 30, seed=i).to_csv(path, index=False)
        out[name] = ingest.read_instrument(path).data
    return out


def test_real_codebook_background_checks(real):
    per = real["personnel"].copy()
    per.loc[0, ["birth_date", "start_year"]] = [pd.Timestamp("1990-05-01"), 2000]  # in post at 10
    per.loc[1, ["general_education", "education_level", "birth_date", "start_year"]] = [
        "lower_secondary", "university", pd.Timestamp("1980-01-01"), 2010]
    per.loc[2, ["kind", "position_code"]] = ["cong_chuc", "CT_UBND"]  # the chair is a cadre post
    per.loc[3, ["kind", "position_code"]] = ["cong_chuc", "TP_HT"]  # consistent
    result = cleaning.clean(per, "personnel")
    log = result.log[result.log["rule"] == "inconsistent"].set_index("record_id")
    assert log.at[per.at[0, "record_id"], "column"] == "start_year"
    assert log.at[per.at[1, "record_id"], "column"] == "education_level"
    row = log.loc[per.at[2, "record_id"]]
    assert (row["column"], row["old_value"], row["new_value"]) == ("kind", "cong_chuc", "can_bo")
    assert per.at[3, "record_id"] not in log.index
    kept = result.data.set_index("record_id")
    assert kept.at[per.at[2, "record_id"], "kind"] == "can_bo"
    assert pd.isna(kept.at[per.at[0, "record_id"], "start_year"])


def test_real_codebook_officials_tenure_vs_age(real):
    off = real["officials"].copy()
    year = int(off["submitted_at"].dt.year.max())
    off.loc[0, ["birth_year", "years_in_post"]] = [year - 24, 30]
    result = cleaning.clean(off, "officials")
    changes = result.log[result.log["rule"] == "inconsistent"]
    assert (off.at[0, "record_id"], "years_in_post") in set(zip(changes["record_id"], changes["column"], strict=True))
    assert len(result.data) == len(off)


def _resubmitted(instrument, tmp_path, change, *, seed=3, n=30, copy_of=5, later=True, edit=None):
    """An export of the real codebook with record ``copy_of`` entered again (the same
    personal data) after ``change(row)`` altered it; returns (typed table, rows)."""
    rows = rf.generic_rows(instrument, n, seed=seed)
    again = rows.iloc[[copy_of]].copy()
    change(again)
    rows = pd.concat([rows, again], ignore_index=True)
    if edit is not None:
        edit(rows)
    path = tmp_path / f"{instrument}.csv"
    rows.to_csv(path, index=False)
    return ingest.read_instrument(path).data, rows


def _header(instrument, variable):
    spec = ingest.instrument_spec(instrument)
    v = spec.by_name[variable]
    return f"Câu {v.order}. {v.question_vi}" if v.type == "likert" else v.question_vi


def test_resubmission_by_the_same_person_keeps_the_latest(tmp_path):
    stamp, item = _header("officials", "submitted_at"), _header("officials", "ENV4")

    def resubmit(row):  # three days later, one Likert answer changed
        row[stamp] = "2025-03-30 09:00:00"
        row[item] = "Đồng ý" if row[item].iloc[0] != "Đồng ý" else "Không đồng ý"

    table, _ = _resubmitted("officials", tmp_path, resubmit)
    result = cleaning.clean(table, "officials")
    assert_accounted(table, result)
    first, second = 7, 32  # spreadsheet rows of the record and of its resubmission
    rows = dict(zip(table["source_row"], table["record_id"], strict=True))
    assert dropped_by(result, "duplicates") == {rows[first]}
    assert rows[second] in set(result.data["record_id"])
    log = result.log.set_index("source_row")
    assert "resubmission" in log.at[first, "reason"] and f"(row {second})" in log.at[first, "reason"]
    assert "latest submission" in log.at[first, "reason"] and "ENV4" in log.at[first, "reason"]
    assert log.at[second, "action"] == "flag" and f"row {first}" in log.at[second, "reason"]
    assert len(result.data) == len(table) - 1
    assert "_id_key" not in result.data


def test_resubmission_sent_earlier_in_time_is_the_one_dropped(tmp_path):
    stamp, item = _header("officials", "submitted_at"), _header("officials", "ENV4")

    def resubmit(row):  # a later row, but submitted before the original (sorted export)
        row[stamp] = "2025-02-01 09:00:00"
        row[item] = "Đồng ý" if row[item].iloc[0] != "Đồng ý" else "Không đồng ý"

    table, _ = _resubmitted("officials", tmp_path, resubmit)
    result = cleaning.clean(table, "officials")
    rows = dict(zip(table["source_row"], table["record_id"], strict=True))
    assert dropped_by(result, "duplicates") == {rows[32]}


def test_a_name_without_the_phone_identifies_no_one(tmp_path):
    phone, item = _header("officials", "phone"), _header("officials", "ENV4")

    def resubmit(row):
        row[item] = "Đồng ý" if row[item].iloc[0] != "Đồng ý" else "Không đồng ý"

    def blank_phones(rows):
        rows.loc[[5, len(rows) - 1], phone] = ""

    table, _ = _resubmitted("officials", tmp_path, resubmit, edit=blank_phones)
    result = cleaning.clean(table, "officials")
    assert len(result.data) == len(table) and "duplicates" not in set(result.log["rule"])


def test_register_with_a_staff_code_twice_counts_the_person_once(tmp_path):
    code, trainings = _header("personnel", "staff_code"), _header("personnel", "trainings_24m")
    name = _header("personnel", "full_name")

    def again(row):  # the same staff code, another spelling of the name, one field changed
        row[trainings] = int(row[trainings].iloc[0]) + 1
        row[name] = "khác"

    table, rows = _resubmitted("personnel", tmp_path, again)
    result = cleaning.clean(table, "personnel")
    assert_accounted(table, result)
    assert len(result.data) == rows[code].nunique() == len(table) - 1
    log = result.log[result.log["rule"] == "duplicates"].set_index("source_row")
    assert log.at[7, "action"] == "drop" and "staff_code" in log.at[7, "reason"]
    assert "the last row" in log.at[7, "reason"] and log.at[32, "action"] == "flag"


def test_raw_cache_codes_keep_the_identity_group():
    from hlstudy import study

    data = pd.DataFrame({"_pii_key": ["a", "a", None], "_id_key": ["staff_code:x1", "staff_code:x1", None]})
    coded = study._pii_codes(data)
    assert coded["_id_key"].tolist()[:2] == ["staff_code:k00001"] * 2 and pd.isna(coded["_id_key"].iloc[2])
    assert coded["_pii_key"].tolist()[:2] == ["k00001"] * 2


def test_guessed_communes_are_logged_and_ambiguous_codes_not_guessed(tmp_path):
    """Seen on own data: 'Xã Hữu Lũng mới' matched at 0.80 to the old town and code 06445
    (new Tân Thành, old Hòa Sơn) placed on the pre-reform unit, both only in Study.communes."""
    commune = _header("officials", "commune")
    rows = rf.generic_rows("officials", 30, seed=4)
    rows.loc[3, commune] = "Xã Hữu Lũng mới"   # a close spelling (score 0.80)
    rows.loc[5, commune] = "06445"             # a 2025 commune's code, also a pre-reform unit's
    rows.loc[6, commune] = "06442"             # old Tân Thành's own code: not ambiguous
    path = tmp_path / "officials.csv"
    rows.to_csv(path, index=False)
    table = ingest.read_instrument(path)
    places = table.communes.set_index("value")
    assert places.at["06445", "how"] == "ambiguous_code" and pd.isna(places.at["06445", "code"])
    data = table.data.set_index("source_row")
    assert pd.isna(data.at[7, "commune_code"]) and data.at[7, "commune_2025"] == "Tân Thành"
    assert data.at[8, "commune_code"] == "06442"
    result = cleaning.clean(table.data, "officials")
    assert_accounted(table.data, result)
    log = result.log[(result.log["rule"] == "commune_match")
                     & (result.log["outcome"] != "flagged")].set_index("source_row")
    assert sorted(log.index) == [5, 7]
    fuzzy = log.loc[5]
    assert (fuzzy["outcome"], fuzzy["old_value"], fuzzy["new_value"]) == ("recoded", "Xã Hữu Lũng mới", "06385 Hữu Lũng")
    assert fuzzy["reason"].startswith("officials.csv: ") and "score 0.800" in fuzzy["reason"]
    code = log.loc[7]
    assert (code["outcome"], code["old_value"]) == ("set_missing", "06445")
    assert "Hòa Sơn" in code["reason"] and "Tân Thành" in code["reason"] and "not guessed" in code["reason"]
    required = result.log[result.log["rule"] == "missing_required"]
    assert 7 in set(required["source_row"])   # then excluded, logged, not placed by a guess
    with pytest.raises(SurveyDataError, match="commune_match rule cannot be skipped"):
        cleaning.Rules(skip=("commune_match",))


def test_every_rule_accounts_for_its_records(officials):
    """One fault for every rule at once: each rule's flow row matches its log rows."""
    df = officials.copy()
    dup = df.iloc[[3]].copy()
    dup["record_id"], dup["source_row"] = "O-dup", 900
    df = pd.concat([df, dup], ignore_index=True)
    df.loc[4, ["commune_code", "commune", "commune_2025"]] = pd.NA      # missing_required
    df.loc[5, "duration_s"] = 1.0                                       # speeders
    df.loc[6, "TRAIN2"] = 9.0                                           # out_of_range
    df.loc[7, ["birth_year", "years_in_post"]] = [1990, 30]             # inconsistent
    df.loc[8, ITEMS] = 3.0                                              # straightlining
    df.loc[9, ["MOT1", "MOT2"]] = np.nan                                # missing_scale
    df["_unreadable"] = None
    df["_unreadable"] = df["_unreadable"].astype(object)
    df.at[10, "_unreadable"] = (("sex", "Khác", "label 'Khác' is not in value set 'sex'"),)
    df["_dont_know"] = None                                             # dont_know
    df["_dont_know"] = df["_dont_know"].astype(object)
    df.at[12, "_dont_know"] = (("TRAIN1", "Không biết", "column 19 'Câu 18'"),)
    df["_commune_match"] = None                                         # commune_match
    df["_commune_match"] = df["_commune_match"].astype(object)
    df.at[11, "_commune_match"] = (("commune", "Huu Lienn", df.at[11, "commune_code"], df.at[11, "commune"],
                                    "recoded", "officials.csv: commune 'Huu Lienn' matched by a close spelling"),)
    result = run(df)
    assert_accounted(df, result)
    assert "_commune_match" not in result.data and "_dont_know" not in result.data
    log, flow = result.log, result.flow.set_index("rule")
    assert list(flow.index) == list(cleaning.RULE_NAMES)
    for name in cleaning.RULE_NAMES:
        mine = log[log["rule"] == name]
        assert flow.at[name, "dropped"] == (mine["action"] == "drop").sum(), name
        assert flow.at[name, "changed"] == (mine["action"] == "change").sum(), name
        assert flow.at[name, "flagged"] == (mine["action"] == "flag").sum(), name
        assert flow.at[name, "n_before"] - flow.at[name, "dropped"] == flow.at[name, "n_after"], name
        assert len(mine) >= 1, f"the fixture has no fault for rule {name}"
    assert (flow["n_after"].iloc[:-1].to_numpy() == flow["n_before"].iloc[1:].to_numpy()).all()
    assert flow["n_before"].iloc[0] == len(df) and flow["n_after"].iloc[-1] == len(result.data)


def test_a_rule_that_loses_a_record_is_caught(officials, monkeypatch):
    def leaky(df, spec, rules, instrument):
        return df.iloc[1:], []  # drops a record without logging it

    rules = [(n, leaky if n == "speeders" else f) for n, f in cleaning.RULES]
    monkeypatch.setattr(cleaning, "RULES", rules)
    with pytest.raises(SurveyDataError, match="accounting failed for officials at rule speeders"):
        run(officials)


def test_birth_date_in_the_future_is_out_of_range_not_an_inconsistent_tenure(real):
    per = real["personnel"].copy()
    per.loc[0, "birth_date"] = pd.Timestamp("2031-05-12")
    result = cleaning.clean(per, "personnel")
    log = result.log[result.log["record_id"] == per.at[0, "record_id"]]
    assert log[["rule", "column", "old_value"]].values.tolist() == [["out_of_range", "birth_date", "2031-05-12"]]
    assert pd.isna(result.data.set_index("record_id").at[per.at[0, "record_id"], "birth_date"])


def test_title_check_never_silently_skipped(real, monkeypatch, tmp_path):
    from hlstudy import legal

    monkeypatch.setattr(legal, "REFERENCE", tmp_path)  # no decree33_positions.csv there
    legal._positions.cache_clear()
    try:
        with pytest.raises(SurveyDataError, match="decree33_positions.csv"):
            cleaning.clean(real["personnel"], "personnel")
    finally:
        legal._positions.cache_clear()


# ------------------------------------------------------------------ the duplicates rule's shortcut


def _text_rows_distinct(df, columns) -> bool:
    """No two rows equal on ``columns`` as the duplicates rule compares them (text codes)."""
    codes = cleaning._text_code_matrix(df[columns])
    return len({tuple(r) for r in codes.tolist()}) == len(df)


def test_all_distinct_never_misses_rows_equal_as_text():
    """``_all_distinct`` (which lets ``rule_duplicates`` stop early) says True only when no two
    rows are equal as text: every NaN payload alike, NA and the missing marker's text alike,
    NaT alike; -0.0 and 0.0 (different texts) may only make it say False.  Checked with a
    float column (only the floats keyed) and without (strings, Int64, datetimes keyed)."""
    nan2 = np.array([0x7FF8000000000001], dtype=np.int64).view(np.float64)[0]  # another NaN
    base = pd.DataFrame({
        "f": [1.0, np.nan, 2.0, -0.0],
        "g": [5.0, 5.0, 5.0, 5.0],
        "s": pd.array(["a", None, "\x00NA", "b"], dtype="string"),
        "i": pd.array([1, None, 3, 4], dtype="Int64"),
        "t": pd.to_datetime(["2024-01-01", None, "2024-01-02", "2024-01-03"]),
        "o": pd.Series([1, "1", None, 2.5], dtype=object),  # not keyed: left to the texts
    })
    with_floats, without = list(base.columns), ["s", "i", "t", "o"]
    for columns in (with_floats, without):
        assert cleaning._all_distinct(base, columns) and _text_rows_distinct(base, columns)
    for name in ("another NaN payload", "NA as the missing marker's text", "NaT"):
        # row 2 made equal as text to row 1 (NaN, the missing marker, NaT, ...) on every column
        df = base.copy()
        df.loc[2] = df.loc[1]
        if name == "another NaN payload":  # set as an array: pandas' setitem makes NaNs alike
            df["f"] = np.array([1.0, np.nan, nan2, -0.0])
            assert df["f"].to_numpy().view(np.int64)[2] != df["f"].to_numpy().view(np.int64)[1]
            cases = [with_floats, ["f"]]
        elif name == "NaT":
            df["t"] = pd.to_datetime(["2024-01-01", None, None, "2024-01-03"])
            cases = [without, ["t"]]
        else:
            df["s"] = pd.array(["a", "\x00NA", None, "b"], dtype="string")
            cases = [without, ["s"]]
        for columns in cases:
            assert not _text_rows_distinct(df, columns), (name, columns)
            assert not cleaning._all_distinct(df, columns), (name, columns)
    zero = base.copy()
    zero.loc[0] = zero.loc[3]
    zero.loc[0, "f"] = 0.0  # 0.0 and -0.0: different texts, one key
    assert _text_rows_distinct(zero, with_floats) and not cleaning._all_distinct(zero, with_floats)
    # rows equal on the keyed columns: the object column (1 and "1", equal as text) is not
    # keyed by value, which would tell them apart
    obj = base.copy()
    obj.loc[1, ["f", "s", "i", "t"]] = obj.loc[0, ["f", "s", "i", "t"]]
    for columns in (with_floats, without):
        assert not _text_rows_distinct(obj, columns) and not cleaning._all_distinct(obj, columns)
    obj.loc[1, "o"] = 7  # now distinct as text; the keys cannot tell: False, the texts decide
    assert _text_rows_distinct(obj, without) and not cleaning._all_distinct(obj, without)
    # equal floats, other columns distinct: only the floats are keyed, so False
    assert _text_rows_distinct(base, ["g", "i"]) and not cleaning._all_distinct(base, ["g", "i"])
    assert not cleaning._all_distinct(base, ["o"])  # nothing keyed: no shortcut


@pytest.mark.parametrize("share", [1.0, 0.9])
def test_duplicates_shortcut_decides_as_the_full_comparison(officials, monkeypatch, share):
    """With and without the shortcut (``_all_distinct`` forced False), the same table and log,
    on tables with no repeat (the shortcut taken), an exact repeat, a near repeat and NaN."""
    spec, rules = SPEC["officials"], cleaning.Rules(duplicate_min_share=share)
    df = officials.reset_index(drop=True)
    repeat = df.iloc[[3]].assign(record_id="O-rep", source_row=900)
    near = df.iloc[[5]].assign(record_id="O-near", source_row=901, MOT3=np.nan)
    blanks = df.assign(TRAIN1=np.nan, PRO2=-0.0)
    tables = {"clean": df, "repeat": pd.concat([df, repeat], ignore_index=True),
              "near": pd.concat([df, near], ignore_index=True), "blanks": blanks,
              "blank repeat": pd.concat([blanks, blanks.iloc[[7]].assign(record_id="O-b", source_row=902)],
                                        ignore_index=True)}
    shortcut, compared = [], []
    text_codes = cleaning._text_code_matrix
    monkeypatch.setattr(cleaning, "_text_code_matrix", lambda frame: compared.append(1) or text_codes(frame))
    for name, table in tables.items():
        compared.clear()
        fast = cleaning.rule_duplicates(table, spec, rules, "officials")
        shortcut.append(not compared)  # the texts were not compared
        with monkeypatch.context() as m:
            m.setattr(cleaning, "_all_distinct", lambda *a: False)
            full = cleaning.rule_duplicates(table, spec, rules, "officials")
        pd.testing.assert_frame_equal(fast[0], full[0], obj=name)
        assert fast[1] == full[1], name
        assert (len(full[1]) > 0) == (name in ("repeat", "blank repeat") or (share < 1 and name == "near")), name
    # the shortcut is taken on the tables without an exact repeat, and only with share 1
    assert shortcut == [share == 1, False, share == 1, share == 1, False]


def test_codes_matching_searches_labels_as_pandas_does():
    """The label search of ``rule_inconsistent`` (a regular-expression search in the casefolded
    "label_en label_vi", in Python) finds the codes ``str.contains`` finds; a value set with a
    missing label takes the pandas route."""
    labels = pd.DataFrame({
        "value_set": "edu", "code": ["1", "2", "3", "4", "5", "6"],
        "label_vi": ["Trung cấp", "CAO ĐẲNG", "Đại học", "Thạc sĩ", "Tiến Sĩ", "không"],
        "label_en": ["Intermediate", "College", "University", "MASTER", "Doctorate", "none (Bachelor?)"],
    })
    spec = ingest.instrument_spec("officials", CB, pd.concat([VL[VL["value_set"] != "edu"], labels]))
    words = cleaning._DEGREE_WORDS
    text = (labels["label_en"] + " " + labels["label_vi"]).str.casefold()
    expected = set(labels.loc[text.str.contains(words), "code"]) | {"1"}
    assert cleaning._codes_matching(spec, "education", ("1",), words) == expected == {"1", "2", "3", "4", "5", "6"}
    assert cleaning._codes_matching(spec, "education", (), "^col|sĩ$") == {"2", "4", "5"}
    with_na = labels.astype(object)
    with_na.loc[5, "label_en"] = None  # "None none" is not a degree word, "không" neither
    spec.value_sets["edu"] = with_na
    assert cleaning._codes_matching(spec, "education", (), words) == {"2", "3", "4", "5"}


def test_survey_year_is_the_latest_timestamps_year():
    spec = SPEC["officials"]
    stamps = pd.to_datetime(["1965-12-31 23:59:59", None, "1969-06-01 00:00:00", "1900-01-01 12:00:00"])
    df = pd.DataFrame({"submitted_at": stamps, "record_id": ["a", "b", "c", "d"]})
    assert cleaning._survey_year(df, spec, cleaning.Rules()) == 1969 == int(stamps.dropna().year.max())
    df["submitted_at"] = pd.to_datetime(["2024-12-31 23:59:59", "2025-01-01 00:00:00", None, None])
    assert cleaning._survey_year(df, spec, cleaning.Rules()) == 2025
    df["submitted_at"] = df["submitted_at"].dt.tz_localize("Asia/Ho_Chi_Minh")  # not numpy: pandas' year
    assert cleaning._survey_year(df, spec, cleaning.Rules()) == 2025
    df["submitted_at"] = pd.NaT
    assert cleaning._survey_year(df, spec, cleaning.Rules()) is None
    assert cleaning._survey_year(df, spec, cleaning.Rules(survey_year=2023)) == 2023


def _dont_know_rows():
    rows = rf.generic_rows("officials", 40, seed=5).astype(object)
    train1, train2 = _header("officials", "TRAIN1"), _header("officials", "TRAIN2")
    for i, text in enumerate(["ko biết", "Không biết", "không rõ", "KB"]):
        rows.loc[i, train1] = text           # the spellings seen in an own export
    rows.loc[10:19, train2] = "Không biết"   # 10 of 40: a column's worth of non-response
    rows.loc[4, _header("officials", "education_level")] = "Không rõ"
    rows.loc[5, _header("officials", "birth_year")] = "không biết"
    rows.loc[6, _header("officials", "commune")] = "Không biết"   # then missing_required, logged
    return rows


def test_dont_know_is_logged_item_nonresponse_never_a_scale_label(tmp_path):
    """Seen on own data: 'ko biết' in a Likert column reported as unreadable with the hint
    "closest: 'Hoàn toàn đồng ý'" (strongly agree).  A "don't know" is item non-response:
    missing, one ``dont_know`` log row each, counted apart from blanks and unreadable cells,
    and never a misfit of the column (10 of 40 answers of TRAIN2)."""
    path = tmp_path / "officials.csv"
    _dont_know_rows().to_csv(path, index=False)
    table = ingest.read_instrument(path)
    data = table.data.set_index("source_row")
    assert data.loc[[2, 3, 4, 5], "TRAIN1"].isna().all() and data.loc[12:21, "TRAIN2"].isna().all()
    assert pd.isna(data.at[6, "education_level"]) and pd.isna(data.at[7, "birth_year"])
    result = cleaning.clean(table.data, "officials")
    assert_accounted(table.data, result)
    log = result.log
    assert not (log["rule"] == "unreadable").any()
    dk = log[log["rule"] == "dont_know"]
    got = sorted(zip(dk["source_row"], dk["column"], dk["old_value"], strict=True))
    expected = sorted([(2, "TRAIN1", "ko biết"), (3, "TRAIN1", "Không biết"), (4, "TRAIN1", "không rõ"),
                       (5, "TRAIN1", "KB"), (6, "education_level", "Không rõ"), (7, "birth_year", "không biết"),
                       (8, "commune", "Không biết")]
                      + [(r, "TRAIN2", "Không biết") for r in range(12, 22)])
    assert got == expected
    assert (dk["outcome"] == "set_missing").all() and dk["new_value"].isna().all()
    for reason in dk["reason"]:
        assert "item non-response" in reason and "closest" not in reason
        assert not any(label in reason for label in ("đồng ý", "Trung lập", "Strongly"))
    assert result.flow.set_index("rule").at["dont_know", "changed"] == 17
    assert "dont_know 17" in cleaning.change_summary(log)
    assert log.loc[log["rule"] == "missing_required", "source_row"].tolist() == [8]


def test_dont_know_phrases_come_from_the_instrument(tmp_path):
    """The phrases are the labels and aliases of value set ``nonresponse`` of the instrument's
    ``value_labels.csv``: a copied instrument may add its own; without the set there are none;
    a value set whose own choice is "Không biết" keeps it as that choice."""
    cb, vl = ingest.codebook_frames()
    rows = rf.generic_rows("officials", 40, seed=5).astype(object)
    train1 = _header("officials", "TRAIN1")
    rows.loc[0, train1] = "Không nắm được"
    rows.loc[1, train1] = "Không biết"
    rows.loc[2, _header("officials", "ethnic_language_cert")] = "Không biết"
    path = tmp_path / "officials.csv"
    rows.to_csv(path, index=False)
    own = vl.copy()
    at = own.index[own["value_set"] == ingest.NONRESPONSE_SET][0]
    own.at[at, "aliases_vi"] = own.at[at, "aliases_vi"] + ";Không nắm được"
    yes_no = own[own["value_set"] == "yes_no"].iloc[[0]].assign(code="dk", label_vi="Không biết",
                                                                 label_en="Does not know", aliases_vi="")
    own = pd.concat([own, yes_no], ignore_index=True)
    table = ingest.read_instrument(path, codebook=cb, value_labels=own)
    data = table.data.set_index("source_row")
    assert data.at[4, "ethnic_language_cert"] == "dk"     # the value set's own choice
    result = cleaning.clean(table.data, "officials", spec=ingest.instrument_spec("officials", cb, own))
    dk = result.log[result.log["rule"] == "dont_know"]
    assert sorted(zip(dk["source_row"], dk["old_value"], strict=True)) == [(2, "Không nắm được"), (3, "Không biết")]
    without = vl[vl["value_set"] != ingest.NONRESPONSE_SET]
    table = ingest.read_instrument(path, codebook=cb, value_labels=without)
    result = cleaning.clean(table.data, "officials", spec=ingest.instrument_spec("officials", cb, without))
    assert not (result.log["rule"] == "dont_know").any()
    assert set(result.log.loc[result.log["rule"] == "unreadable", "source_row"]) >= {2, 3}
    with pytest.raises(SurveyDataError, match="dont_know rule cannot be skipped"):
        cleaning.Rules(skip=("dont_know",))


def test_a_name_both_pre_reform_and_2025_is_the_unit_and_flagged_after_the_merger(tmp_path):
    """Seen on own data: "Tân Thành" (a pre-reform unit, and since 1 July 2025 the commune
    formed from Hòa Lạc, Hòa Sơn and Tân Thành) matched the unit silently.  The survey frame
    is the pre-reform units, so the name is the unit; a record not shown to predate the merger
    (submitted from 1 July 2025, or without a submission time) is flagged in the log with
    file, row and value, so that a post-reform export is noticed."""
    commune, stamp = _header("officials", "commune"), _header("officials", "submitted_at")
    rows = rf.generic_rows("officials", 30, seed=4).astype(object)
    rows[commune] = "Hòa Lạc"                  # a pre-reform unit only: no note
    rows[stamp] = "15/09/2025 08:00:00"        # after the merger
    rows.loc[2, commune] = "Tân Thành"         # exact
    rows.loc[3, commune] = "xã Tan Thanh"      # without diacritics, with a prefix
    rows.loc[4, commune] = "Tân Thànhh"        # a close spelling: its reason says it too
    rows.loc[5, commune] = "TT Hữu Lũng"       # a thị trấn: only the pre-reform town
    rows.loc[6, commune] = "06442"             # old Tân Thành's own code
    rows.loc[7, [commune, stamp]] = ["Tân Thành", "15/03/2025 08:00:00"]   # before the merger
    rows.loc[8, [commune, stamp]] = ["Tân Thành", None]     # no time, but Hòa Lạc in the file
    path = tmp_path / "officials.csv"
    rows.to_csv(path, index=False)
    table = ingest.read_instrument(path)
    data = table.data.set_index("source_row")
    assert (data.loc[[4, 5, 6, 8, 9, 10], "commune_code"] == "06442").all()   # the pre-reform unit
    assert (data.loc[[4, 5, 6, 8, 9, 10], "commune_2025"] == "Tân Thành").all()
    result = cleaning.clean(table.data, "officials")
    assert_accounted(table.data, result)
    log = result.log[result.log["rule"] == "commune_match"].set_index("source_row")
    flagged = log[log["outcome"] == "flagged"]
    assert sorted(flagged.index) == [4, 5]
    assert (flagged["action"] == "flag").all() and (flagged["column"] == "commune").all()
    assert flagged.loc[4, "old_value"] == "Tân Thành" and flagged.loc[5, "old_value"] == "xã Tan Thanh"
    assert (flagged["new_value"] == "06442 Tân Thành").all()
    reason = flagged.loc[4, "reason"]
    assert reason.startswith("officials.csv: commune 'Tân Thành' is read as the pre-reform unit Tân Thành (06442)")
    assert "formed on 1 July 2025 from Hòa Lạc, Hòa Sơn, Tân Thành" in reason
    assert reason.endswith("(submitted 15/09/2025, after the merger)")
    close = log.loc[6]
    assert close["outcome"] == "recoded" and "close spelling" in close["reason"]
    assert "also the name of the commune formed on 1 July 2025" in close["reason"]
    assert not {7, 8, 9, 10} & set(log.index)
    assert len(result.data) == len(table.data)
    assert "flagged, kept — commune_match 2" in cleaning.change_summary(result.log)
    # a file without submission times (a register): flagged unless the file names a unit that
    # exists only before the merger (here every other record names Hòa Lạc: not flagged)
    undated = rows.drop(columns=[stamp])
    undated.to_csv(path, index=False)
    log = cleaning.clean(ingest.read_instrument(path).data, "officials").log
    assert not (log["outcome"] == "flagged").any()
    undated[commune] = ["Tân Thành", "Cai Kinh"] * (len(undated) // 2)
    undated.to_csv(path, index=False)
    log = cleaning.clean(ingest.read_instrument(path).data, "officials").log
    assert (log["outcome"] == "flagged").sum() == len(undated)
    assert log.loc[log["outcome"] == "flagged", "reason"].str.endswith(
        "names no unit that exists only before it)").all()


def test_change_summary_in_vietnamese_counts_as_the_english_one():
    """load_study prints the summary in the notebooks' language: the same instruments, rules and
    counts, Vietnamese words; the log's identifiers (instrument, rule) are kept in both."""
    log = pd.DataFrame({"instrument": ["officials"] * 4 + ["citizens"],
                        "action": ["drop", "change", "change", "flag", "drop"],
                        "rule": ["duplicates", "out_of_range", "out_of_range", "straightlining", "speeders"]})
    flow = pd.DataFrame({"instrument": ["officials", "citizens", "personnel"],
                         "n_before": [10, 8, 3], "n_after": [9, 7, 3]})
    en = cleaning.change_summary(log, flow)
    vi = cleaning.change_summary(log, flow, lang="vi")
    assert vi.splitlines() == [
        "làm sạch dữ liệu (nhật ký đầy đủ: Study.cleaning_log)",
        "  officials: đọc 10, giữ 9; loại — duplicates 1; sửa giá trị — out_of_range 2; "
        "đánh dấu, vẫn giữ — straightlining 1",
        "  citizens: đọc 8, giữ 7; loại — speeders 1",
        "  personnel: đọc 3, giữ 3",
    ]
    assert re.findall(r"\d+", en) == re.findall(r"\d+", vi)
    with pytest.raises(ModelError, match="lang"):
        cleaning.change_summary(log, lang="fr")


def test_load_study_prints_the_summary_in_the_label_language(monkeypatch, capsys):
    from hlstudy import export

    monkeypatch.setattr(export, "_language", "vi")   # the notebooks' language
    study = load_study()
    out = capsys.readouterr().out.rstrip("\n")
    assert out.startswith("làm sạch dữ liệu"), out
    assert out == cleaning.change_summary(study.cleaning_log, study.flow, lang="vi")
    assert out != cleaning.change_summary(study.cleaning_log, study.flow, lang="en")


def test_reader_table_heads_and_labels_notebook_02s_tables():
    from hlstudy.cleaning import READER_TABLES, reader_table

    files = pd.DataFrame({"instrument": ["officials", "citizens"], "file": ["o.csv", "c.csv"],
                          "format": ["csv", "csv"], "encoding": ["utf-8", None],
                          "sheet": [None, None], "records": [3, 4], "pii_columns_dropped": [2, 1]})
    vi = reader_table(files, "files")
    assert list(vi.columns) == [h[0] for h in READER_TABLES["files"][0].values()]
    assert vi["Bộ công cụ"].tolist() == ["Cán bộ, công chức", "Người dân"]
    assert "sheet" not in vi.columns
    en = reader_table(files, "files", lang="en")
    assert en["Instrument"].tolist() == ["Officials", "Citizens"]
    matches = pd.DataFrame({"instrument": ["personnel"], "value": ["Hoa Binh"],
                            "name": ["Hòa Bình"], "how": ["diacritics"], "score": [1.0],
                            "rows": [2]})
    assert reader_table(matches, "commune_matches").at[0, "Cách khớp"] == "khác dấu hoặc không dấu"
    with pytest.raises(SurveyDataError, match="no label for how"):
        reader_table(matches.assign(how="guess"), "commune_matches")
    with pytest.raises(SurveyDataError, match="lacks columns"):
        reader_table(files.drop(columns="records"), "files")
    with pytest.raises(SurveyDataError, match="kind"):
        reader_table(files, "nope")
    # a bad lang is a bad argument, raised by the check every other function uses
    with pytest.raises(ModelError, match="lang must be 'vi' or 'en', got 'fr'"):
        reader_table(files, "files", lang="fr")


def test_a_timing_rule_without_a_duration_column_says_it_could_not_check(officials):
    """A Google Forms export or an Excel sheet typed by hand has no completion time: the
    speeders rule showed "0 dropped", as if it had looked, and straight-lining lost its
    "completed fast" condition without a word."""
    timed = run(officials).flow.set_index("rule")["unchecked"]
    assert (timed == "").all()   # the rule ran: its 0 means "none found"
    for untimed in (officials.drop(columns="duration_s"), officials.assign(duration_s=np.nan)):
        result = run(untimed)
        flow = result.flow.set_index("rule")
        assert flow.at["speeders", "unchecked"] == "no_duration" and flow.at["speeders", "dropped"] == 0
        assert flow.at["straightlining", "unchecked"] == "no_duration_fast"
        assert (flow.drop(index=["speeders", "straightlining"])["unchecked"] == "").all()
        summary = cleaning.change_summary(result.log.assign(instrument="officials"),
                                          result.flow.assign(instrument="officials"))
        assert "speeders not checked: no duration column" in summary
        assert "straightlining checked in part: no duration column" in summary
        vi = cleaning.change_summary(result.log.assign(instrument="officials"),
                                     result.flow.assign(instrument="officials"), lang="vi")
        assert "speeders không kiểm tra được: không có cột thời lượng" in vi
    # only the contradiction condition of straight-lining needs no time
    flow = run(untimed, cleaning.Rules(straightline_drop="any")).flow.set_index("rule")
    assert flow.at["straightlining", "unchecked"] == ""
    flow = run(untimed, cleaning.Rules(skip=("speeders",))).flow.set_index("rule")
    assert flow.at["speeders", "unchecked"] == "skipped"
    assert set(cleaning.UNCHECKED_LABELS) == {"no_duration", "no_duration_fast", "no_survey_year", "skipped"}
    # a misspelt rule is an error, not "checked in full" (it returned "")
    with pytest.raises(ModelError, match="no cleaning rule 'speeder': the rules are .*speeders"):
        cleaning.rule_unchecked("speeder", untimed, SPEC["officials"], cleaning.Rules())
    assert cleaning.rule_unchecked("speeders", untimed, SPEC["officials"],
                                   cleaning.Rules()) == "no_duration"


def test_an_instrument_without_timing_has_no_timing_rule_to_miss():
    # the personnel register has no duration in its codebook: nothing was left unchecked
    rows = rf.make_rows("personnel", 6)
    df = rows.assign(record_id=[f"P{i}" for i in range(6)], source_row=range(2, 8),
                     commune_code="06217")
    flow = cleaning.clean(df, "personnel", spec=SPEC["personnel"]).flow.set_index("rule")
    assert (flow.loc[["speeders", "straightlining"], "unchecked"] == "").all()
    assert ["rule", *flow.columns] == cleaning.FLOW_COLUMNS


def test_ages_without_a_survey_year_are_said_unchecked_and_the_setting_supplies_it(officials, monkeypatch):
    """An export without submission times has no year to count ages in: the age checks of
    ``inconsistent`` did nothing, silently; the reference-year setting (notebook 04's) is the
    year cleaning counts in too."""
    monkeypatch.delenv("HLSTUDY_REFERENCE_YEAR", raising=False)
    monkeypatch.setattr(config, "ROOT", Path("/nonexistent"))   # no hlstudy.toml
    df = officials.drop(columns="submitted_at")
    df.loc[0, ["birth_year", "years_in_post"]] = [2000, 20]   # in post since age 4 in 2024
    result = run(df)
    assert result.flow.set_index("rule").at["inconsistent", "unchecked"] == "no_survey_year"
    assert result.log.empty
    monkeypatch.setenv("HLSTUDY_REFERENCE_YEAR", "2024")
    result = run(df)
    assert result.rules.survey_year == 2024
    assert result.flow.set_index("rule").at["inconsistent", "unchecked"] == ""
    change = result.log[result.log["rule"] == "inconsistent"]
    assert change[["record_id", "column"]].values.tolist() == [[df.at[0, "record_id"], "years_in_post"]]
    assert run(officials).flow.set_index("rule").at["inconsistent", "unchecked"] == ""   # timestamps
