"""Fast paths of cleaning and reading (issue 15): each equals the direct computation.

* ``clean(..., _stages=...)`` (used by ``rule_sensitivity``): rule outputs shared by variants
  whose rules agree on a prefix of ``RULES``; every variant's table, log and flow equal a
  cleaning of its own, and ``RULE_FIELDS`` names exactly the thresholds each rule reads.
* ``study.raw_tables`` kept on disk by content: a hit equals a miss and a fresh ingest (with
  the personal-data key coded), a changed export or threshold misses.
* vectorised rules (``missing_required``, ``out_of_range``, ``missing_scale``) equal their
  row-by-row versions, and ``change_summary`` the former ``value_counts`` route: those reference
  routes are kept in tests/fixtures/speed/make_cleaning_rules.py, which stores the digests of
  their exact output (text) on this module's inputs; ``rule_duplicates``' codes and candidate
  screen equal the direct ones.
* ``match_commune``'s fuzzy scores remembered per strings: a hit equals difflib.
"""

from __future__ import annotations

import inspect
import re

import numpy as np
import pandas as pd
import pytest
from speedfixtures import generator

import hlstudy
from hlstudy import cleaning, ingest
from hlstudy import study as study_mod

#: The row-by-row rules and the former change summary (the reference routes), the inputs they
#: read and their stored digests: tests/fixtures/speed/make_cleaning_rules.py.
gen = generator("cleaning_rules")
ROWS = gen.ROWS  # records of each committed export the tests read (the suite's time counts)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The first ROWS records of each committed export (data/raw is never written)."""
    return gen.write_raw_folder(tmp_path_factory.mktemp("raw"))


@pytest.fixture(scope="module")
def raw(folder):
    return study_mod.raw_tables(folder, cache=False)


VARIANTS = {
    "adopted": cleaning.Rules(),
    "any": cleaning.Rules(straightline_drop="any"),
    "window": cleaning.Rules(duplicate_window_minutes=float("inf")),
    "skip": cleaning.Rules(skip=("speeders",), straightline_drop="flag"),
    "others": cleaning.Rules(required=("commune", "birth_year"), min_age_at_start=25, max_missing_share=0.2),
    "adopted again": cleaning.Rules(),
}


def _same(a: cleaning.CleaningResult, b: cleaning.CleaningResult) -> None:
    pd.testing.assert_frame_equal(a.data, b.data, check_exact=True)
    pd.testing.assert_frame_equal(a.log, b.log, check_exact=True)
    pd.testing.assert_frame_equal(a.flow, b.flow, check_exact=True)


@pytest.fixture(scope="module")
def adopted(raw):
    """Each instrument cleaned on its own with the adopted rules (read by several tests)."""
    return gen.adopted_cleanings(raw)


@pytest.mark.parametrize("instrument", ["officials", "citizens", "personnel"])
def test_shared_stages_give_each_variant_its_own_cleaning(raw, adopted, instrument):
    data = raw[instrument]
    spec = ingest.instrument_spec(instrument)
    stages: dict = {}
    for rules in VARIANTS.values():
        # the cleaning of its own: the adopted rules' (two variants) made once, by the fixture
        # (which cleans the other instruments in the officials' year, as load_study does)
        own = (adopted[instrument] if rules == cleaning.Rules() and instrument == "officials"
               else cleaning.clean(data, instrument, rules, spec=spec))
        _same(cleaning.clean(data, instrument, rules, spec=spec, _stages=stages), own)
    # reuse happened: fewer distinct prefixes than variants x rules
    assert 2 * len(cleaning.RULES) <= len(stages) < len(VARIANTS) * len(cleaning.RULES) - 10


def test_rule_fields_are_what_each_rule_reads():
    helpers = {"inconsistent": [cleaning._survey_year, cleaning.reference_year]}
    for name, function in cleaning.RULES:
        text = "".join(inspect.getsource(f) for f in [function, *helpers.get(name, [])])
        read = set(re.findall(r"\brules\.(\w+)", text))
        assert read == set(cleaning.RULE_FIELDS[name]), name
    assert set(cleaning.RULE_FIELDS) == set(cleaning.RULE_NAMES)


def test_rule_sensitivity_equals_variant_by_variant(raw, monkeypatch):
    from hlstudy import reliability

    tables = {"citizens": raw["citizens"]}
    # "flag" keeps the citizens "adopted" keeps (their straight-liners are flagged either way):
    # its summary is shared; the others keep other records and must not be
    variants = {"adopted": VARIANTS["adopted"], "flag": cleaning.Rules(straightline_drop="flag"),
                **{k: VARIANTS[k] for k in ("any", "window", "skip")}}
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return alpha(*args, **kwargs)

    alpha = reliability.cronbach_alpha
    monkeypatch.setattr(reliability, "cronbach_alpha", counted)
    fast = cleaning.rule_sensitivity(tables, variants)
    scales = len([m for m in ingest.instrument_spec("citizens").scales().values() if len(m) >= 2])
    assert scales <= len(calls) <= (len(variants) - 1) * scales  # "flag" computed nothing
    monkeypatch.setattr(reliability, "cronbach_alpha", alpha)
    # the direct computation: each variant on its own call (no stage is shared across calls)
    direct = pd.concat([cleaning.rule_sensitivity(tables, {label: rules}) for label, rules in variants.items()],
                       ignore_index=True)
    first = fast["variant"] == "adopted"
    reference = fast[first].set_index(["instrument", "construct"])
    key = pd.MultiIndex.from_frame(direct[["instrument", "construct"]])
    direct["d_mean"] = direct["mean"].to_numpy() - reference["mean"].reindex(key).to_numpy()
    direct["d_alpha"] = direct["alpha"].to_numpy() - reference["alpha"].reindex(key).to_numpy()
    pd.testing.assert_frame_equal(fast, direct, check_exact=True)
    assert fast["n"].nunique() > 2  # the variants really keep different records


def test_raw_tables_cache_hit_equals_miss(folder, tmp_path):
    cache = tmp_path / "cache"
    miss = study_mod.raw_tables(folder, cache_dir=cache)
    files = list(cache.glob("raw-*.pkl"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    hit = study_mod.raw_tables(folder, cache_dir=cache)
    assert files[0].stat().st_mtime_ns == stamp
    fresh = ingest.read_folder(folder)
    assert list(hit) == list(miss) == [n for n in ingest.INSTRUMENTS if n in fresh]
    for name in hit:
        pd.testing.assert_frame_equal(hit[name], miss[name], check_exact=True)
        direct = fresh[name].data
        coded = hit[name]
        keys = [ingest.PII_KEY, ingest.ID_KEY]  # coded in the cache (no hash of personal data on disk)
        pd.testing.assert_frame_equal(coded.drop(columns=keys, errors="ignore"),
                                      direct.drop(columns=keys, errors="ignore"), check_exact=True)
        for key in (k for k in keys if k in direct):
            a, b = coded[key], direct[key]
            assert a.dtype == b.dtype
            assert (a.isna() == b.isna()).all()
            # equal keys, equal codes, and nothing else
            assert (pd.factorize(a)[0] == pd.factorize(b)[0]).all()
            assert not set(a.dropna()) & set(b.dropna())
    # the cleaning is the same on coded and hashed keys (officials: many keys, duplicates)
    for name in ("officials",):
        _same(cleaning.clean(hit[name], name), cleaning.clean(fresh[name].data, name))


def test_raw_tables_cache_misses_on_a_change(folder, tmp_path):
    import shutil

    copy = tmp_path / "raw"
    copy.mkdir()
    shutil.copy(folder / "officials.csv", copy)  # an officials-only folder
    cache = tmp_path / "cache"
    study_mod.raw_tables(copy, cache_dir=cache)
    relaxed = study_mod.raw_tables(copy, cache_dir=cache, rules=cleaning.Rules(unreadable_max_share=0.3))
    assert len(list(cache.glob("raw-*.pkl"))) == 2
    assert set(relaxed) == {"officials"}
    off = pd.read_csv(copy / "officials.csv", dtype=str)
    off.iloc[0, off.columns.get_loc("Năm sinh")] = "1800"
    off.to_csv(copy / "officials.csv", index=False)
    changed = study_mod.raw_tables(copy, cache_dir=cache)
    assert len(list(cache.glob("raw-*.pkl"))) == 3
    assert changed["officials"]["birth_year"].iloc[0] == 1800
    # a damaged file is read again
    for path in cache.glob("raw-*.pkl"):
        path.write_bytes(b"garbage")
    again = study_mod.raw_tables(copy, cache_dir=cache)
    pd.testing.assert_frame_equal(again["officials"], changed["officials"])


def test_load_study_leaves_the_raw_tables_of_its_build(folder, tmp_path):
    import shutil

    small, folder = folder, tmp_path / "raw"
    folder.mkdir()
    shutil.copy(small / "officials.csv", folder)  # an officials-only folder
    cache = tmp_path / "cache"
    hlstudy.load_study(folder, cache_dir=cache)
    files = list(cache.glob("raw-*.pkl"))
    assert len(files) == 1
    stamp = files[0].stat().st_mtime_ns
    served = study_mod.raw_tables(folder, cache_dir=cache)
    assert files[0].stat().st_mtime_ns == stamp
    direct = study_mod.raw_tables(folder, cache=False)
    for name in direct:
        pd.testing.assert_frame_equal(served[name], direct[name], check_exact=True)


def test_pii_codes_keep_blanks_and_equality():
    data = pd.DataFrame({ingest.PII_KEY: pd.Series(["b", None, "a", "b", None, "c"], dtype="str"), "x": range(6)})
    coded = study_mod._pii_codes(data)
    assert coded[ingest.PII_KEY].isna().tolist() == [False, True, False, False, True, False]
    assert coded[ingest.PII_KEY].dtype == data[ingest.PII_KEY].dtype
    assert coded[ingest.PII_KEY].dropna().tolist() == ["k00001", "k00002", "k00001", "k00003"]
    pd.testing.assert_series_equal(coded["x"], data["x"])


def _direct_codes(column: pd.Series):
    return pd.factorize(column.astype("string").fillna("\x00NA").to_numpy(dtype=object))[0]


def test_text_codes_equal_the_codes_of_the_texts():
    rng = np.random.default_rng(7)
    n = 300
    choice = [1.0, 2.0, np.nan, -0.0, 0.0, 0.1 + 0.2, 0.3, np.inf, -np.inf, 1e300, 5.000000000000001]
    frame = pd.DataFrame({
        "float": rng.choice(choice, n),
        "float2": rng.integers(1, 6, n).astype(float),
        "float_nan": np.full(n, np.nan),
        "int": pd.array(rng.choice([1, 2, 3, None], n), dtype="Int64"),
        "str": pd.Series(rng.choice(["a", "b", "", "a "], n), dtype="str").where(rng.random(n) > 0.2),
        "string": pd.Series(rng.choice(["x", "y"], n), dtype="string").where(rng.random(n) > 0.3),
        "object": pd.Series(rng.choice([1, 1.0, "1", True, None], n), dtype=object),
        "date": pd.to_datetime(rng.choice(["2020-01-01", "2021-05-06", None], n)),
        "float3": rng.choice([2.5, -0.0, 0.0], n),
    })
    matrix = cleaning._text_code_matrix(frame)
    for c, name in enumerate(frame.columns):
        direct = _direct_codes(frame[name])
        np.testing.assert_array_equal(cleaning._text_codes(frame[name]), direct, err_msg=name)
        np.testing.assert_array_equal(matrix[:, c], direct, err_msg=name)
    # the cases that matter: -0.0 and 0.0 are different texts, every NaN the same
    assert len(set(_direct_codes(frame["float3"]))) == 3


def test_repeats_earlier_is_the_pairwise_agreement():
    rng = np.random.default_rng(3)
    for n, m, share in [(1, 4, 1.0), (2, 3, 1.0), (40, 5, 1.0), (60, 6, 0.5), (200, 3, 0.67), (30, 1, 1.0), (1500, 2, 1.0)]:
        block = rng.integers(0, 2 if n < 1000 else 40, size=(n, m))  # 1500 rows: several slices
        fast = cleaning._repeats_earlier(block, share)
        direct = [j > 0 and bool(((block[:j] == block[j]).mean(axis=1) >= share).any()) for j in range(n)]
        assert fast.tolist() == direct


def _same_digest(got: str, kind: str, key: str, stored: dict) -> None:
    assert got == stored[key], (f"{kind} {key}: not what the reference route gave (its digest is "
                                f"stored by {gen.GENERATOR}; rerun it only after a deliberate change "
                                "of the inputs)")


@pytest.mark.parametrize("instrument", ["officials", "citizens", "personnel"])
@pytest.mark.parametrize("edited", [False, True])
def test_vectorised_rules_equal_the_row_by_row_rules(raw, instrument, edited):
    """Each vectorised rule's table and log (values and their types) are the row-by-row
    rule's (``gen._direct_*``; by the digest of their exact text), on the table read and on
    a copy with every kind of awkward value (``gen.edited_table``), with two sets of rules."""
    spec = ingest.instrument_spec(instrument)
    df = gen.rule_input(raw, instrument, edited)
    stored = gen.load()["rules"]
    required = []
    for k, rules in enumerate(gen.RULESETS):
        for rule, fast, _direct in gen.RULE_PAIRS:
            a, log_a = getattr(cleaning, fast)(df, spec, rules, instrument)
            _same_digest(gen.sha(gen.rule_text(a, log_a)), "rule", gen.rule_key(instrument, edited, k, rule), stored)
            if edited and (rule == "out_of_range" or (rule == "missing_scale" and instrument != "personnel")):
                assert len(log_a) > 0
            if rule == "missing_required":
                required.append([r["reason"] for r in log_a])
    if edited:  # the second rule set's required answers are missing too, some with the commune
        assert len(required[1]) > len(required[0]) > 0
        assert any(", " in reason for reason in required[1])


def test_commune_similarity_is_remembered_by_its_strings():
    import difflib

    from hlstudy.ingest import places

    keys = ("huu lien", "yen thinh", "dong tan", "minh son")
    places._similarity.cache_clear()
    first = places._similarity("huu lienn", keys)
    assert first == tuple(sorted(((difflib.SequenceMatcher(None, "huu lienn", k).ratio(), i)
                                  for i, k in enumerate(keys)), reverse=True))
    assert places._similarity("huu lienn", keys) is first  # a hit
    assert places._similarity.cache_info().hits == 1
    other = places._similarity("yen thin", keys)  # another spelling misses
    assert other[0][1] == 1 and other != first
    assert places._similarity("huu lienn", keys[:2]) != first  # another registry misses
    # the matches are those of a cold cache
    reg = pd.DataFrame({"code": ["06256", "06257"], "name": ["Hữu Liên", "Yên Thịnh"]})
    warm = [ingest.match_commune(v, reg) for v in ("Huu Lienn", "Yen Thinhh", "Xa Khac")]
    places._similarity.cache_clear()
    assert [ingest.match_commune(v, reg) for v in ("Huu Lienn", "Yen Thinhh", "Xa Khac")] == warm


def test_missing_report_orders_communes_as_the_per_row_key(raw):
    from hlstudy._text import sort_key

    for name in ("officials", "citizens"):
        data = raw[name].copy()
        data.loc[data.index[:3], "commune"] = ["Đồng Tân", "Ẩn Danh", pd.NA]  # more names, a blank
        fast = cleaning.missing_report(data, name)
        spec = ingest.instrument_spec(name)
        order = {v.variable: v.order for v in spec.variables}
        direct = fast.assign(_key=fast["commune"].map(lambda c: sort_key(c)[0]),
                             _order=fast["variable"].map(order))
        direct = direct.sort_values(["_key", "commune", "_order", "variable"], kind="stable")
        pd.testing.assert_frame_equal(fast, direct.drop(columns=["_key", "_order"]).reset_index(drop=True))
        assert fast["commune"].nunique() > 3


def test_change_summary_equals_the_value_counts_route(adopted):
    """The summaries of the adopted cleaning's log and of altered logs and flows
    (``gen.summary_cases``) are the former route's texts (``gen.old_change_summary``)."""
    log = pd.concat([r.log for r in adopted.values()], ignore_index=True)
    assert set(log["action"]) == {"drop", "change", "flag"} and log["rule"].nunique() >= 5
    texts = [cleaning.change_summary(lg, fl) for lg, fl in gen.summary_cases(adopted)]
    stored = gen.load()["change_summary"]
    assert len(texts) == len(stored)
    for k, text in enumerate(texts):
        _same_digest(gen.sha(text), "change summary", str(k), stored)
    assert all(t in texts[0] for t in ("dropped — ", "values changed — ", "flagged, kept — "))
    assert len(set(texts)) >= 8  # the cases give different summaries (the reversed log: the same)


# --------------------------------------------------------------------------- rule_inconsistent


def old_rule_inconsistent(df, spec, rules, instrument):
    """``cleaning.rule_inconsistent`` before issue 15's ninth part (ages as nullable ``Float64``
    Series, masks through ``fillna``): the reference route, kept here unchanged."""
    log = []
    copied = False

    def flag(mask, column, reason, new=None):
        nonlocal df, copied
        mask = pd.Series(mask, index=df.index).fillna(False).astype(bool)
        hits = mask.to_numpy()
        if not hits.any():
            return
        if not copied:
            df, copied = df.copy(), True
        for i in df.index[hits]:
            value = new[i] if isinstance(new, pd.Series) else new
            log.append(cleaning._change_row(df, i, instrument, "inconsistent", column, df.at[i, column], value, reason(i)))
        df.loc[mask, column] = new[mask] if isinstance(new, pd.Series) else pd.NA

    first = cleaning._first
    birth = None
    if first(spec, df, "birth_year"):
        birth = df["birth_year"].astype("Float64")
    elif first(spec, df, "birth_date"):
        birth = df["birth_date"].dt.year.astype("Float64")
    year = cleaning._survey_year(df, spec, rules)
    age = (year - birth) if (birth is not None and year is not None) else None
    if age is None and first(spec, df, "age"):
        age = df["age"].astype("Float64")
    tenure = first(spec, df, "years_in_post", "tenure_years")
    if tenure is not None and age is not None:
        t = df[tenure].astype("Float64")
        flag(age - t < rules.min_age_at_start, tenure,
             lambda i: f"{df.at[i, tenure]} years in post at age {age[i]:.0f}: "
                       f"started before age {rules.min_age_at_start}")
    start = first(spec, df, "start_year")
    if start is not None and birth is not None:
        started_at = df[start].astype("Float64") - birth
        flag(started_at < rules.min_age_at_start, start,
             lambda i: f"in post since age {started_at[i]:.0f}, under {rules.min_age_at_start}")
    education = first(spec, df, "education_level", "education")
    if education is not None:
        degree = cleaning._codes_matching(spec, education, cleaning._DEGREE, cleaning._DEGREE_WORDS)
        has_degree = df[education].astype("string").isin(degree)
        if age is not None:
            flag(has_degree & (age < rules.min_age_degree), education,
                 lambda i: f"a college or university degree at age {age[i]:.0f} (under {rules.min_age_degree})")
            has_degree = df[education].astype("string").isin(degree)
        general = first(spec, df, "general_education")
        if general is not None:
            lower = cleaning._codes_matching(spec, general, ("lower_secondary",), "lower secondary|trung học cơ sở")
            flag(has_degree & df[general].astype("string").isin(lower), education,
                 lambda i: "a college or university degree with lower-secondary general education only")
    position, kind = first(spec, df, "position_code"), first(spec, df, "kind")
    if position is not None and kind is not None:
        implied = df[position].astype("string").map(cleaning._position_kinds())
        stated = df[kind].astype("string")
        flag(implied.notna() & stated.notna() & (implied != stated), kind,
             lambda i: f"title {df.at[i, position]} is a {implied[i]} post, not {df.at[i, kind]}",
             new=implied.astype("string"))
    return df, log


def inconsistent_inputs(raw, instrument):
    """The table read, and a copy (labels with gaps) with every kind of inconsistency the rule
    checks, missing and extreme ages, and birth years of other dtypes."""
    spec = ingest.instrument_spec(instrument)
    df = raw[instrument].drop(index=[3, 8]).copy()
    rows = df.index
    if "birth_year" in df:
        df.loc[rows[:12], "birth_year"] = [2006, 2005, 2004, None, 1990, 1950, 2006, None, 1700, 3000, 2001, 1999]
    if "birth_date" in df:
        df.loc[rows[:6], "birth_date"] = [pd.Timestamp("2006-05-01"), pd.NaT, pd.Timestamp("1999-12-31"),
                                          pd.Timestamp("2004-01-01"), pd.NaT, pd.Timestamp("1960-02-29")]
    for column, values in (("years_in_post", [5, 1, None, 3, 40, 2, 0, 9]), ("start_year", [2010, 2024, None, 2015, 1980, 2000])):
        if column in df:
            df.loc[rows[:len(values)], column] = values
    if "education_level" in df:
        degree = sorted(cleaning._codes_matching(spec, "education_level", cleaning._DEGREE, cleaning._DEGREE_WORDS))
        df.loc[rows[:10], "education_level"] = [degree[k % len(degree)] for k in range(9)] + [None]
        lower = sorted(cleaning._codes_matching(spec, "general_education", ("lower_secondary",), "lower secondary|trung học cơ sở"))
        df.loc[rows[4:8], "general_education"] = lower[0]
    if "kind" in df and "position_code" in df:
        df.loc[rows[12:16], "kind"] = [k for k in ("can_bo", "cong_chuc") for _ in range(2)]
        df.loc[rows[16], "kind"] = None
    variants = [raw[instrument], df]
    if "birth_year" in df:  # the same years as floats (NaN missing) and as Float64
        variants += [df.assign(birth_year=df["birth_year"].astype("Float64").astype(float)),
                     df.assign(birth_year=df["birth_year"].astype("Float64"))]
    return variants


@pytest.mark.parametrize("instrument", ["officials", "personnel"])
def test_inconsistent_rule_equals_the_former_series_route(raw, instrument):
    """``rule_inconsistent`` (ages as numpy floats) gives the former route's table and log, the
    log's values and their types included, on the table read and on edited copies, with the
    default limits, other ones, and a survey year given."""
    spec = ingest.instrument_spec(instrument)
    flagged = 0
    for df in inconsistent_inputs(raw, instrument):
        for rules in (cleaning.Rules(), cleaning.Rules(min_age_at_start=30, min_age_degree=40),
                      cleaning.Rules(survey_year=2030)):
            new, new_log = cleaning.rule_inconsistent(df, spec, rules, instrument)
            old, old_log = old_rule_inconsistent(df, spec, rules, instrument)
            pd.testing.assert_frame_equal(new, old, check_exact=True)
            assert [[(k, type(v), v) for k, v in r.items()] for r in new_log] == \
                   [[(k, type(v), v) for k, v in r.items()] for r in old_log]
            flagged += len(new_log)
    assert flagged > 20
