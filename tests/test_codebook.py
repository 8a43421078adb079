"""Tests of the instruments' codebooks (data/instrument) and hlstudy.codebook."""

from __future__ import annotations

import shutil
import unicodedata

import pandas as pd
import pytest

from hlstudy import codebook
from hlstudy.errors import SurveyDataError
from hlstudy.paths import INSTRUMENT, ROOT

OFFICIAL_FACTORS = ["TRAIN", "COMP", "ENV", "FAC", "LEAD", "SUP", "REC", "RES", "MOT", "STAY"]
QUALITY = ["ETH", "PRO", "SKL", "RSP"]


def raw(name):
    return pd.read_csv(INSTRUMENT / name, dtype=str, keep_default_na=False)


def test_variable_codes_and_headers_are_unique_per_instrument():
    cb = codebook.load_codebook()
    assert not cb.duplicated(["instrument", "variable"]).any()
    key = cb["question_vi"].str.casefold()
    assert not cb.assign(k=key).duplicated(["instrument", "k"]).any()
    assert list(cb["instrument"].unique()) == ["officials", "citizens", "personnel"]


def test_constructs_are_those_of_the_issue_with_3_to_6_items():
    assert codebook.constructs("officials") == OFFICIAL_FACTORS + QUALITY
    assert codebook.constructs("citizens") == ["SIPAS", "CFB", "CTRUST", "CSAT"]
    assert codebook.constructs("personnel") == []
    for inst in ("officials", "citizens"):
        for c in codebook.constructs(inst):
            assert 3 <= len(codebook.items(inst, c)) <= 6, c


def test_reverse_keyed_items_include_reluctance_to_change():
    rev = codebook.reverse_items("officials")
    assert {"RES4", "RES5"} <= set(rev)
    # RES is measured mostly by reluctance statements, so most items are not reversed
    assert sum(i.startswith("RES") for i in rev) < len(codebook.items("officials", "RES"))


def test_sipas_carries_the_four_official_items_verbatim():
    facts = [
        "Công chức có thái độ giao tiếp lịch sự",
        "Công chức trả lời, giải đáp đầy đủ các ý kiến của người dân/đại diện tổ chức",
        "Công chức hướng dẫn kê khai hồ sơ tận tình, chu đáo",
        "Công chức tuân thủ đúng quy định trong giải quyết công việc",
    ]
    cb = codebook.load_codebook("citizens")
    sipas = cb.loc[cb["construct"] == "SIPAS", "question_vi"].tolist()
    assert sipas[:4] == facts
    assert len(sipas) == 6


def test_every_claim_id_exists_and_every_claim_is_served():
    ids = codebook.claim_ids()
    served = codebook.claims_served()
    assert set(served["claim_id"]) <= set(ids)
    assert set(served["claim_id"]) == set(ids)


def test_claims_copy_equals_the_seed_when_available():
    seed = ROOT.parent / "shared" / "seed" / "claims.csv"
    if not seed.is_file():
        # the project's seed sits beside the repository only in its authors' workspace
        # (../shared/seed/claims.csv); a clone has just the committed copy, which the other
        # tests of this module check
        pytest.skip("../shared/seed/claims.csv (the authors' seed, beside the repository) is not "
                    "here; data/instrument/claims.csv is the committed copy, checked by the other "
                    "tests of this module")
    assert (INSTRUMENT / "claims.csv").read_bytes() == seed.read_bytes()


def test_value_sets_exist_and_likert_sets_are_coded_1_to_5():
    cb = codebook.load_codebook()
    labels = codebook.value_labels()
    for vs in set(cb.loc[cb["type"].isin(["likert", "category"]), "value_set"]):
        assert vs in set(labels["value_set"])
    for vs in set(cb.loc[cb["type"] == "likert", "value_set"]):
        assert codebook.value_labels(vs)["code"].tolist() == ["1", "2", "3", "4", "5"]


def test_pii_flags():
    assert codebook.pii_columns("officials") == ["full_name", "phone"]
    assert codebook.pii_columns("citizens") == ["comment"]
    assert codebook.pii_columns("personnel") == ["staff_code", "full_name", "phone"]


def test_files_are_nfc():
    for name in ("codebook.csv", "value_labels.csv"):
        text = (INSTRUMENT / name).read_text(encoding="utf-8")
        assert text == unicodedata.normalize("NFC", text)


def test_position_labels_follow_decree33_reference():
    ref = pd.read_csv(ROOT / "data/reference/decree33_positions.csv", dtype=str,
                      keep_default_na=False)
    labels = codebook.value_labels("position")
    assert sorted(labels["code"]) == sorted(ref["position_code"])
    # printed in the decree's order (cadres from the Party secretary down, then civil servants),
    # as a real questionnaire lists them, not alphabetically
    assert list(labels["code"]) == list(ref["position_code"])
    merged = labels.merge(ref, left_on="code", right_on="position_code")
    assert all(t in lab for t, lab in zip(merged["title_vi"], merged["label_vi"], strict=True))


def test_education_codes_match_the_legal_levels():
    ref = pd.read_csv(ROOT / "data/reference/decree33_education_levels.csv", dtype=str)
    prof = set(ref.loc[ref["scale"] == "professional", "level_code"])
    gen = set(ref.loc[ref["scale"] == "general", "level_code"])
    assert set(codebook.value_labels("education_level")["code"]) == prof
    assert set(codebook.value_labels("general_education")["code"]) == gen


def test_field_codes_cover_the_field_fit_table():
    ref = pd.read_csv(ROOT / "data/reference/decree33_field_fit.csv", dtype=str)
    assert set(ref["field"]) <= set(codebook.value_labels("field_of_study")["code"])


def test_ingest_reads_the_codebook():
    from hlstudy.ingest import instrument_spec

    spec = instrument_spec("officials")
    assert spec.scales()["RES"] == codebook.items("officials", "RES")
    assert {v.variable for v in spec.variables if v.pii} == {"full_name", "phone"}


def test_header_prefixes_likert_items_with_their_question_number():
    h = codebook.header("officials", "PRO1")
    order = int(codebook.load_codebook("officials").set_index("variable").loc["PRO1", "order"])
    assert h.startswith(f"Câu {order}. Tôi nắm vững")
    assert codebook.header("officials", "birth_year") == "Năm sinh"


def test_bad_arguments_raise():
    with pytest.raises(SurveyDataError, match="unknown instrument"):
        codebook.load_codebook("mayors")
    with pytest.raises(SurveyDataError, match="no construct"):
        codebook.items("officials", "NOPE")
    with pytest.raises(SurveyDataError, match="unknown value set"):
        codebook.value_labels("nope")


def _broken(tmp_path, name, edit):
    for f in ("codebook.csv", "value_labels.csv", "claims.csv"):
        shutil.copy(INSTRUMENT / f, tmp_path / f)
    df = pd.read_csv(tmp_path / name, dtype=str, keep_default_na=False)
    out = edit(df)
    df = df if out is None else out
    df.to_csv(tmp_path / name, index=False)
    return tmp_path


def _set(df, variable, column, value):
    df.loc[(df["instrument"] == "officials") & (df["variable"] == variable), column] = value


@pytest.mark.parametrize("edit, message", [
    (lambda d: _set(d, "TRAIN2", "variable", "TRAIN1"), "duplicated variable code"),
    (lambda d: _set(d, "TRAIN2", "claims", "T2;Z9"), "claim id not in claims.csv"),
    (lambda d: _set(d, "TRAIN2", "value_set", "agree7"), "value set absent"),
    (lambda d: _set(d, "TRAIN2", "type", "slider"), "type must be one of"),
    (lambda d: _set(d, "STAY3", "construct", "MOT"), "construct 'STAY' has 2 items"),
    (lambda d: _set(d, "TRAIN2", "question_vi", "Năm sinh"), "duplicated printed wording"),
    (lambda d: _set(d, "TRAIN2", "reverse", "yes"), "flag must be 0 or 1"),
    (lambda d: _set(d, "birth_year", "reverse", "1"), "only Likert items"),
    (lambda d: _set(d, "birth_year", "identity", "name_phone"), "identity group may hold personal data only"),
    (lambda d: _set(d, "TRAIN2", "question_vi",
                    unicodedata.normalize("NFD", "Nội dung đào tạo")), "NFC"),
])
def test_broken_codebooks_raise_with_row(tmp_path, edit, message):
    folder = _broken(tmp_path, "codebook.csv", edit)
    with pytest.raises(SurveyDataError, match=message) as err:
        codebook.load_codebook(folder=folder)
    assert "codebook.csv" in str(err.value)
    assert "row " in str(err.value)


def test_likert_set_with_a_gap_in_its_codes_raises(tmp_path):
    # any run of consecutive integer codes is a Likert scale (1..5, 1..7); a gap is not
    def edit(df):
        return df[~((df["value_set"] == "agree5") & (df["code"] == "3"))]

    folder = _broken(tmp_path, "value_labels.csv", edit)
    with pytest.raises(SurveyDataError, match=r"consecutive integer codes.*\['1', '2', '4', '5'\]"):
        codebook.load_codebook(folder=folder)


def test_construct_labels_match_the_codebook():
    labels = codebook.construct_labels()
    assert len(labels) == 18
    assert set(labels.loc[labels["role"] == "quality", "construct"]) == set(QUALITY)
    assert labels["label_vi"].ne("").all()


def test_hypotheses_one_per_claim_with_model_paths():
    from hlstudy.synthetic import DEFAULT_EFFECTS

    h = codebook.hypotheses()
    assert h["claim_id"].tolist() == pd.read_csv(INSTRUMENT / "claims.csv")["claim_id"].tolist()
    paths = {p for ps in h["paths"] for p in ps.split(";") if p}
    assert paths <= set(DEFAULT_EFFECTS)
    assert (h.loc[h["test_type"] == "path", "paths"] != "").sum() >= 10
    # each scale item cites exactly the claims whose hypothesis names its construct: the
    # ledger computes a claim from hypotheses.csv, and the codebook (the instruments table of
    # notebook 01) must not say an item serves a claim it is not used for, nor leave one out
    uses: dict[str, set[str]] = {}
    for r in h.itertuples():
        for construct in (c for c in r.constructs.split(";") if c):
            uses.setdefault(construct, set()).add(r.claim_id)
    served = codebook.claims_served()
    items = codebook.load_codebook()
    items = items[items["construct"].fillna("") != ""]
    wrong = []
    for r in items.itertuples():
        cited = set(served.loc[(served["instrument"] == r.instrument)
                               & (served["variable"] == r.variable), "claim_id"])
        if cited != uses.get(r.construct, set()):
            wrong.append((r.variable, sorted(cited ^ uses.get(r.construct, set()))))
    assert not wrong, wrong


def test_hypotheses_with_unknown_construct_raise(tmp_path):
    def edit(df):
        df.loc[df["claim_id"] == "T2", "paths"] = "TRAIN->WISDOM"

    for f in ("constructs.csv", "hypotheses.csv"):
        shutil.copy(INSTRUMENT / f, tmp_path / f)
    folder = _broken(tmp_path, "hypotheses.csv", edit)
    with pytest.raises(SurveyDataError, match="WISDOM"):
        codebook.hypotheses(folder=folder)


def test_printable_questionnaires_are_generated_from_the_codebook():
    for instrument, name in codebook.QUESTIONNAIRE_FILES.items():
        text = (INSTRUMENT / name).read_text(encoding="utf-8")
        assert text == codebook.questionnaire_markdown(instrument), (
            f"{name} is stale: run `python -m hlstudy.codebook --write-questionnaires`")
    officials = (INSTRUMENT / "questionnaire_officials.md").read_text(encoding="utf-8")
    for v in codebook.items("officials", "PRO"):
        assert codebook.header("officials", v).removeprefix("Câu ").split(". ", 1)[1] in officials
    assert officials.count("| ☐ | ☐ | ☐ | ☐ | ☐ |") == len(
        codebook.load_codebook("officials").query("type == 'likert'"))


def test_hypotheses_ipma_premise_is_optional_and_checked(tmp_path):
    """The ``ipma`` column (a claim's premise about its driver's IPMA rank or quadrant) may be
    absent (no premise) and a value it cannot read names file, row and column."""
    def drop(df):
        return df.drop(columns="ipma")

    for f in ("constructs.csv", "hypotheses.csv"):
        shutil.copy(INSTRUMENT / f, tmp_path / f)
    folder = _broken(tmp_path, "hypotheses.csv", drop)
    assert set(codebook.hypotheses(folder=folder)["ipma"]) == {""}
    assert codebook.hypotheses().set_index("claim_id").at["S7", "ipma"] == "rank<=1"

    def bad(df):
        df.loc[df["claim_id"] == "S7", "ipma"] = "rank<1"

    shutil.copy(INSTRUMENT / "hypotheses.csv", tmp_path / "hypotheses.csv")
    folder = _broken(tmp_path, "hypotheses.csv", bad)
    row = 2 + codebook.hypotheses()["claim_id"].tolist().index("S7")
    with pytest.raises(SurveyDataError,
                       match=rf"hypotheses.csv, row {row}, column 'ipma'.*rank<1.*rank<=K"):
        codebook.hypotheses(folder=folder)
