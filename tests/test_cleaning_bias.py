"""Cleaning that does not bias the answers (issue 13, kind 7).

Straight-lining is dropped only where a uniform answer is implausible (a run across items of
opposite keying, or a fast completion); duplicates need a corroborating signal; a scale with
too many blanks costs that scale's score, not the record; every log row says what happened in
one vocabulary; :func:`hlstudy.cleaning.rule_sensitivity` shows what each choice changes.
All on the project's real codebook (17 citizens' items without reverse keying, 60 officials'
items with three reverse-keyed ones).
"""

from __future__ import annotations

import math

import matplotlib
import numpy as np
import pandas as pd
import pytest
import rawfactory as rf

from hlstudy import cleaning, ingest, scales
from hlstudy.errors import SurveyDataError
from hlstudy.reliability import cronbach_alpha

matplotlib.use("Agg")

SPEC = {name: ingest.instrument_spec(name) for name in ("officials", "citizens")}
ITEMS = {name: [v.variable for v in spec.variables if v.type == "likert"] for name, spec in SPEC.items()}
REVERSE = {name: [v.variable for v in spec.variables if v.type == "likert" and v.reverse]
           for name, spec in SPEC.items()}


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bias")
    out = {}
    for i, name in enumerate(("officials", "citizens")):
        path = folder / f"{name}.csv"
        rf.generic_rows(name, 60, seed=10 + i).to_csv(path, index=False)
        data = ingest.read_instrument(path).data
        data["_pii_key"] = None  # no personal data collected: only answers, times and background
        out[name] = data
    return out


def log_of(result, rule, action=None):
    log = result.log[result.log["rule"] == rule]
    return log if action is None else log[log["action"] == action]


def ids(frame) -> set:
    return set(frame["record_id"])


# ------------------------------------------------------------------ straight-lining


def test_the_codebook_is_what_these_tests_assume():
    assert REVERSE["citizens"] == [] and len(ITEMS["citizens"]) == 17
    assert 1 <= len(REVERSE["officials"]) < len(ITEMS["officials"])


def test_satisfied_citizens_are_flagged_not_dropped(tables):
    df = tables["citizens"].copy()
    df.loc[[0, 1], ITEMS["citizens"]] = 5.0   # fully satisfied
    df.loc[2, ITEMS["citizens"]] = 1.0        # fully dissatisfied: the same rule both ways
    result = cleaning.clean(df, "citizens")
    assert log_of(result, "straightlining", "drop").empty
    flagged = log_of(result, "straightlining", "flag")
    assert ids(flagged) == {df.at[i, "record_id"] for i in (0, 1, 2)}
    assert (flagged["outcome"] == "flagged").all()
    assert flagged["reason"].str.contains("no reverse-keyed item").all()
    assert ids(flagged) <= set(result.data["record_id"]) and len(result.data) == len(df)
    assert result.flow.set_index("rule").at["straightlining", "flagged"] == 3


def test_uniform_run_across_opposite_keying_is_dropped(tables):
    df = tables["officials"].copy()
    df.loc[3, ITEMS["officials"]] = 4.0
    result = cleaning.clean(df, "officials")
    dropped = log_of(result, "straightlining", "drop")
    assert ids(dropped) == {df.at[3, "record_id"]}
    n_rev = len(REVERSE["officials"])
    assert f"across {n_rev} reverse-keyed and {len(ITEMS['officials']) - n_rev} forward-keyed" in dropped["reason"].iloc[0]


def test_a_run_within_forward_keyed_items_only_is_flagged(tables):
    df = tables["officials"].copy()
    keyed = [v in REVERSE["officials"] for v in ITEMS["officials"]]
    first_reverse = keyed.index(True)
    block = ITEMS["officials"][:first_reverse]          # forward-keyed items before the first reverse one
    crossing = ITEMS["officials"][1:first_reverse + 1]  # as long, but ends on a reverse-keyed item
    df.loc[4, ITEMS["officials"]] = np.tile([1.0, 2.0], 40)[: len(ITEMS["officials"])]
    df.loc[5, ITEMS["officials"]] = np.tile([1.0, 2.0], 40)[: len(ITEMS["officials"])]
    df.loc[4, block] = 4.0
    df.loc[5, crossing] = 4.0
    rules = cleaning.Rules(straightline_min_items=len(block), straightline_share=0.1)
    result = cleaning.clean(df, "officials", rules)
    assert ids(log_of(result, "straightlining", "drop")) == {df.at[5, "record_id"]}
    assert ids(log_of(result, "straightlining", "flag")) == {df.at[4, "record_id"]}


def test_straight_lining_with_a_fast_completion_is_dropped(tables):
    df = tables["citizens"].copy()
    median = df["duration_s"].median()
    df.loc[[6, 7], ITEMS["citizens"]] = 4.0
    df.loc[6, "duration_s"] = 0.40 * median   # above the speeder threshold (0.33), below 0.5
    result = cleaning.clean(df, "citizens")
    assert log_of(result, "speeders").empty
    dropped = log_of(result, "straightlining", "drop")
    assert ids(dropped) == {df.at[6, "record_id"]} and "completed in" in dropped["reason"].iloc[0]
    assert ids(log_of(result, "straightlining", "flag")) == {df.at[7, "record_id"]}
    slower = cleaning.clean(df, "citizens", cleaning.Rules(straightline_speed_share=0.3))
    assert log_of(slower, "straightlining", "drop").empty


def test_modes_any_and_flag(tables):
    df = tables["citizens"].copy()
    df.loc[[0, 1], ITEMS["citizens"]] = 5.0
    old = cleaning.clean(df, "citizens", cleaning.Rules(straightline_drop="any"))
    assert ids(log_of(old, "straightlining", "drop")) == {df.at[0, "record_id"], df.at[1, "record_id"]}
    off = tables["officials"].copy()
    off.loc[3, ITEMS["officials"]] = 4.0
    none = cleaning.clean(off, "officials", cleaning.Rules(straightline_drop="flag"))
    assert log_of(none, "straightlining", "drop").empty
    assert ids(log_of(none, "straightlining", "flag")) == {off.at[3, "record_id"]}
    with pytest.raises(SurveyDataError, match="straightline_drop"):
        cleaning.Rules(straightline_drop="all")
    with pytest.raises(SurveyDataError, match="straightline_speed_share"):
        cleaning.Rules(straightline_speed_share=1.5)


# ------------------------------------------------------------------ duplicates


def resubmit(df, i, *, after, record_id):
    copy = df.iloc[[i]].copy()
    copy["record_id"], copy["source_row"] = record_id, 900 + len(df)
    copy["submitted_at"] = copy["submitted_at"] + after
    return pd.concat([df, copy], ignore_index=True)


def test_identical_answers_alone_are_flagged_not_dropped(tables):
    df = resubmit(tables["citizens"], 8, after=pd.Timedelta(days=3), record_id="C-far")
    result = cleaning.clean(df, "citizens")
    assert log_of(result, "duplicates", "drop").empty
    flagged = log_of(result, "duplicates", "flag")
    assert ids(flagged) == {"C-far"} and "nothing corroborates" in flagged["reason"].iloc[0]
    assert "C-far" in set(result.data["record_id"])


def test_duplicates_corroborated_by_time_window(tables):
    df = resubmit(tables["citizens"], 8, after=pd.Timedelta(minutes=12), record_id="C-near")
    result = cleaning.clean(df, "citizens")
    dropped = log_of(result, "duplicates", "drop")
    assert ids(dropped) == {"C-near"} and "12 min apart (window 60 min)" in dropped["reason"].iloc[0]
    narrow = cleaning.clean(df, "citizens", cleaning.Rules(duplicate_window_minutes=10))
    assert log_of(narrow, "duplicates", "drop").empty and ids(log_of(narrow, "duplicates", "flag")) == {"C-near"}
    # the rule before issue 13: identical answers alone (no window)
    old = cleaning.clean(resubmit(tables["citizens"], 8, after=pd.Timedelta(days=3), record_id="C-far"),
                         "citizens", cleaning.Rules(duplicate_window_minutes=math.inf))
    assert ids(log_of(old, "duplicates", "drop")) == {"C-far"}


def test_duplicates_corroborated_by_a_detailed_background(tables):
    df = resubmit(tables["officials"], 9, after=pd.Timedelta(days=2), record_id="O-far")
    result = cleaning.clean(df, "officials")
    dropped = log_of(result, "duplicates", "drop")
    assert ids(dropped) == {"O-far"} and "identical background on 14 answered fields" in dropped["reason"].iloc[0]
    # the citizens' four background questions are too few to identify anyone
    strict = cleaning.clean(df, "officials", cleaning.Rules(duplicate_min_background=15))
    assert log_of(strict, "duplicates", "drop").empty and ids(log_of(strict, "duplicates", "flag")) == {"O-far"}


def test_duplicates_corroborated_by_the_same_personal_data(tables):
    df = resubmit(tables["citizens"], 8, after=pd.Timedelta(days=3), record_id="C-same")
    df["_pii_key"] = None
    df.loc[[8, len(df) - 1], "_pii_key"] = "same-person"
    result = cleaning.clean(df, "citizens")
    dropped = log_of(result, "duplicates", "drop")
    assert ids(dropped) == {"C-same"} and "the same personal data" in dropped["reason"].iloc[0]


def test_duplicate_thresholds_are_checked():
    with pytest.raises(SurveyDataError, match="duplicate_window_minutes"):
        cleaning.Rules(duplicate_window_minutes=-1)
    with pytest.raises(SurveyDataError, match="duplicate_min_background"):
        cleaning.Rules(duplicate_min_background=0)


# ------------------------------------------------------------------ missing_scale per analysis


@pytest.mark.parametrize("share", [0.25, 0.5, 0.75])
def test_missing_scale_is_exactly_the_missing_score(tables, share):
    df = tables["officials"].copy()
    rng = np.random.default_rng(3)
    blanks = rng.random((len(df), len(ITEMS["officials"]))) < 0.3
    values = df[ITEMS["officials"]].to_numpy(dtype=float, copy=True)
    values[blanks] = np.nan
    df[ITEMS["officials"]] = values
    result = cleaning.clean(df, "officials", cleaning.Rules(max_missing_share=share))
    assert len(result.data) == len(df) and log_of(result, "missing_scale", "drop").empty
    logged = log_of(result, "missing_scale")
    assert (logged["outcome"] == "score_missing").all()
    scores = scales.score_scales(result.data, "officials", min_share=1 - share)
    nan = {(r, c) for c in SPEC["officials"].scales() for r in scores.loc[scores[c].isna(), "record_id"]}
    assert len(nan) > 10 and set(zip(logged["record_id"], logged["column"], strict=True)) == nan
    # the other scores of those records are still there
    lost = scores.set_index("record_id").loc[sorted({r for r, _ in nan})]
    assert lost.notna().sum().sum() > 0


# ------------------------------------------------------------------ the log's vocabulary


def test_one_vocabulary_for_what_happened(tables):
    df = tables["officials"].copy()
    df.loc[0, "TRAIN2"] = 9.0                                          # set to missing
    df.loc[1, ["kind", "position_code"]] = ["cong_chuc", "CT_UBND"]    # recoded (title says can_bo)
    df.loc[2, ["MOT1", "MOT2", "MOT3"]] = np.nan                       # score missing
    df.loc[3, ITEMS["officials"]] = 4.0                                # excluded
    result = cleaning.clean(df, "officials")
    log = result.log
    assert set(log["outcome"]) == {"set_missing", "recoded", "score_missing", "excluded"}
    assert (log["outcome"].map(cleaning.OUTCOMES) == log["action"]).all()
    assert log.loc[log["outcome"] == "recoded", "new_value"].tolist() == ["can_bo"]
    assert log.loc[log["outcome"] == "set_missing", "new_value"].isna().all()
    assert set(cleaning.OUTCOMES) == set(cleaning.OUTCOME_LABELS)
    for vi, en in cleaning.OUTCOME_LABELS.values():
        assert vi and en and "sửa" not in vi.casefold() and vi != en
    assert cleaning.OUTCOME_LABELS["set_missing"][0] == "đặt thành giá trị thiếu"
    assert cleaning.OUTCOME_LABELS["recoded"][0] == "mã hóa lại"


def test_figures_say_what_happened_not_corrected(tables, monkeypatch):
    import matplotlib.pyplot as plt

    from hlstudy import export

    monkeypatch.setattr(export, "language", lambda: "vi")
    monkeypatch.setenv("HLSTUDY_LANG", "vi")
    df = tables["officials"].copy()
    df.loc[0, "TRAIN2"] = 9.0
    result = cleaning.clean(df, "officials")
    fig = cleaning.flow_figure(result.flow.assign(instrument="officials"), instruments=("officials",))
    texts = " ".join(t.get_text() for ax in fig.axes for t in ax.texts)
    plt.close(fig)
    assert "sửa" not in texts and "giá trị bị thay đổi" in texts


# ------------------------------------------------------------------ sensitivity


@pytest.mark.filterwarnings("ignore::UserWarning", "ignore::RuntimeWarning")  # random answers: weak scales
def test_rule_sensitivity_against_direct_computation(tables):
    df = tables["citizens"].copy()
    df.loc[[0, 1, 2, 3], ITEMS["citizens"]] = 5.0
    variants = {"adopted": cleaning.Rules(), "drop every run": cleaning.Rules(straightline_drop="any"),
                "keep all": cleaning.Rules(skip=("straightlining",))}
    out = cleaning.rule_sensitivity({"citizens": df}, variants)
    assert list(out.columns) == cleaning.SENSITIVITY_COLUMNS
    assert out["variant"].unique().tolist() == list(variants)
    assert out["construct"].unique().tolist() == list(SPEC["citizens"].scales())
    by = out.set_index(["variant", "construct"])
    for label, rules in variants.items():
        kept = cleaning.clean(df, "citizens", rules).data
        for construct, members in SPEC["citizens"].scales().items():
            row = by.loc[(label, construct)]
            score = kept[members].mean(axis=1, skipna=True).where(kept[members].notna().mean(axis=1) >= 0.5)
            assert row["n"] == len(kept) and row["n_scored"] == score.notna().sum()
            assert row["mean"] == pytest.approx(score.mean(), abs=1e-12)
            assert row["sd"] == pytest.approx(score.std(ddof=1), abs=1e-12)
            assert row["alpha"] == pytest.approx(cronbach_alpha(kept[members]).alpha, abs=1e-12)
    # dropping every satisfied straight-liner lowers every mean: exclusion on the outcome
    assert (by.loc["drop every run", "n"] == len(df) - 4).all()
    assert (by.loc["drop every run", "d_mean"] < 0).all()
    assert (by.loc["adopted", "d_mean"] == 0).all() and (by.loc["keep all", "d_mean"].abs() < 1e-12).all()


def test_rule_sensitivity_bad_input(tables):
    with pytest.raises(SurveyDataError, match="at least one variant"):
        cleaning.rule_sensitivity({"citizens": tables["citizens"]}, {})
    with pytest.raises(SurveyDataError, match="not cleaning.Rules"):
        cleaning.rule_sensitivity({"citizens": tables["citizens"]}, {"x": {"max_missing_share": 0.5}})
    with pytest.raises(SurveyDataError, match="lacks scale items"):
        cleaning.rule_sensitivity({"citizens": tables["citizens"].drop(columns=["SIPAS1"])},
                                  {"adopted": cleaning.Rules()})


# ------------------------------------------------------------------ notebook 02's exports (kind 9)


def test_notebook_02_vietnamese_tables_print_no_rule_code():
    from dataclasses import fields

    from hlstudy import export
    from hlstudy.paths import FIGURES

    tables = sorted(FIGURES.glob("02_*.csv"))
    assert {p.stem for p in tables} >= {"02_cleaning_rules", "02_cleaning_flow", "02_cleaning_sensitivity"}
    codes = set(cleaning.RULE_NAMES) | set(cleaning.OUTCOMES) | {f.name for f in fields(cleaning.Rules)}
    for path in tables:
        table = export.read_table_csv(path)
        assert export.english_codes(table) == [], path.name
        words = {w.strip(".,;:()") for line in path.read_text(encoding="utf-8").splitlines()
                 for w in line.replace(",", " ").replace("=", " ").split()}
        assert not (codes & words), (path.name, sorted(codes & words))
    rules = export.read_table_csv(FIGURES / "02_cleaning_rules.csv")
    assert rules.iloc[:, 0].tolist() == [cleaning.RULE_LABELS[r][0] for r in cleaning.RULE_NAMES]
