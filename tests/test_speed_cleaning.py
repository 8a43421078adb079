"""Fast paths of cleaning and reading (issue 15): each equals the direct computation.

* ``clean(..., _stages=...)`` (used by ``rule_sensitivity``): rule outputs shared by variants
  whose rules agree on a prefix of ``RULES``; every variant's table, log and flow equal a
  cleaning of its own, and ``RULE_FIELDS`` names exactly the thresholds each rule reads.
* ``study.raw_tables`` kept on disk by content: a hit equals a miss and a fresh ingest (with
  the personal-data key coded), a changed export or threshold misses.
* vectorised rules (``missing_required``, ``out_of_range``, ``missing_scale``) equal their
  row-by-row versions; ``rule_duplicates``' codes and candidate screen equal the direct ones.
* ``match_commune``'s fuzzy scores remembered per strings: a hit equals difflib.
"""

from __future__ import annotations

import inspect
import io
import re

import numpy as np
import pandas as pd
import pytest

import hlstudy
from hlstudy import cleaning, ingest
from hlstudy import study as study_mod
from hlstudy.paths import ROOT

ROWS = 200  # records of each committed export the tests read (the suite's time counts)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The first ROWS records of each committed export (data/raw is never written)."""
    out = tmp_path_factory.mktemp("raw")
    for name in ingest.INSTRUMENTS:
        text = (ROOT / "data" / "raw" / f"{name}.csv").read_bytes().decode("utf-8-sig")
        table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False).head(ROWS)
        table.to_csv(out / f"{name}.csv", index=False)
    (out / "manifest.json").write_bytes((ROOT / "data" / "raw" / "manifest.json").read_bytes())
    return out


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
    return {name: cleaning.clean(raw[name], name, cleaning.Rules(), spec=ingest.instrument_spec(name))
            for name in raw}


@pytest.mark.parametrize("instrument", ["officials", "citizens", "personnel"])
def test_shared_stages_give_each_variant_its_own_cleaning(raw, adopted, instrument):
    data = raw[instrument]
    spec = ingest.instrument_spec(instrument)
    stages: dict = {}
    for rules in VARIANTS.values():
        # the cleaning of its own: the adopted rules' (two variants) made once, by the fixture
        own = adopted[instrument] if rules == cleaning.Rules() else cleaning.clean(data, instrument, rules, spec=spec)
        _same(cleaning.clean(data, instrument, rules, spec=spec, _stages=stages), own)
    # reuse happened: fewer distinct prefixes than variants x rules
    assert 2 * len(cleaning.RULES) <= len(stages) < len(VARIANTS) * len(cleaning.RULES) - 10


def test_rule_fields_are_what_each_rule_reads():
    helpers = {"inconsistent": [cleaning._survey_year]}
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
        pd.testing.assert_frame_equal(coded.drop(columns=[ingest.PII_KEY], errors="ignore"),
                                      direct.drop(columns=[ingest.PII_KEY], errors="ignore"), check_exact=True)
        if ingest.PII_KEY in direct:
            a, b = coded[ingest.PII_KEY], direct[ingest.PII_KEY]
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


# ---- the row-by-row rules as they were before vectorising (the direct route)


def _direct_out_of_range(df, spec, rules, instrument):
    df = df.copy()
    log = []
    for v in spec.variables:
        if v.variable not in df or v.pii:
            continue
        column = df[v.variable]
        if v.type == "likert":
            codes = spec.codes(v.value_set)
            bad = column.notna() & ~column.isin(codes)
            reason = f"code outside the value set {v.value_set} ({int(min(codes))}–{int(max(codes))})"
        elif v.type in ("integer", "year", "duration") and (v.min is not None or v.max is not None):
            numbers = column.astype("Float64")
            bad = numbers.notna() & (
                (numbers < (v.min if v.min is not None else -np.inf))
                | (numbers > (v.max if v.max is not None else np.inf))
            )
            bad = bad.fillna(False).astype(bool)
            reason = (f"outside the admissible range [{v.min:g}, {v.max:g}]"
                      if v.min is not None and v.max is not None else "outside the admissible range")
        elif v.type == "date" and (v.min is not None or v.max is not None):
            years = column.dt.year.astype("Float64")
            bad = years.notna() & (
                (years < (v.min if v.min is not None else -np.inf))
                | (years > (v.max if v.max is not None else np.inf))
            )
            bad = bad.fillna(False).astype(bool)
            reason = (f"year outside the admissible range [{v.min:g}, {v.max:g}]"
                      if v.min is not None and v.max is not None else "year outside the admissible range")
        else:
            continue
        for i in column[bad].index:
            old = column[i].strftime("%Y-%m-%d") if v.type == "date" else column[i]
            log.append(cleaning._change_row(df, i, instrument, "out_of_range", v.variable, old, None, reason))
        if bad.any():
            missing = pd.NaT if v.type == "date" else (pd.NA if str(column.dtype) == "Int64" else np.nan)
            df.loc[bad, v.variable] = missing
    return df, log


def _direct_missing_required(df, spec, rules, instrument):
    columns = []
    for name in rules.required:
        if name == "commune" or (name in spec.by_name and spec.by_name[name].type == "commune"):
            name = "commune_code"
        if name in df and name not in columns:
            columns.append(name)
    reasons = {}
    for i in df.index:
        missing = [c for c in columns if pd.isna(df.at[i, c])]
        if missing:
            reasons[i] = f"required answer missing: {', '.join(missing)}"
    index = list(reasons)
    return df.drop(index=index), cleaning._drop_rows(df, index, instrument, "missing_required", reasons)


def _direct_missing_scale(df, spec, rules, instrument):
    rows = []
    for construct, members in spec.scales().items():
        present = [m for m in members if m in df]
        if not present:
            continue
        share = df[present].isna().mean(axis=1)
        for i in share[share > rules.max_missing_share].index:
            rows.append((df.at[i, "source_row"], construct, cleaning._flag_row(
                df, i, instrument, "missing_scale",
                f"{share[i]:.0%} of the {len(present)} {construct} items missing (more than "
                f"{rules.max_missing_share:.0%}): {construct} score set to missing, record kept",
                column=construct, outcome="score_missing")))
    rows.sort(key=lambda r: r[0])
    return df, [r[2] for r in rows]


def _edited(raw, instrument):
    """A table with every kind of awkward value in the columns the two rules read."""
    spec = ingest.instrument_spec(instrument)
    df = raw[instrument].drop(index=[3, 8]).copy()  # labels with gaps, as after a rule dropped rows
    likert = cleaning._likert(spec, df)
    rng = np.random.default_rng(11)
    for col in likert[:6]:
        rows = rng.choice(df.index, 12, replace=False)
        df.loc[rows, col] = rng.choice([7.0, -0.0, 0.0, np.inf, -np.inf, 2.0, np.nan, 5.5], 12)
    if len(likert) > 6:  # a Likert column of object dtype (as a hand-built table may have)
        df[likert[6]] = df[likert[6]].astype(object)
        df.loc[df.index[:5], likert[6]] = [9, "3", None, 2.0, np.nan]
    for v in spec.variables:
        if v.variable in df and v.type in ("integer", "year") and v.min is not None:
            rows = rng.choice(df.index, 6, replace=False)
            df.loc[rows, v.variable] = [int(v.min) - 1, int(v.max or v.min) + 500, None, int(v.min), 0, 10**6]
    df.loc[df.index[:4], "commune_code"] = [None, np.nan, pd.NA, ""]
    for k, col in enumerate(likert[:12]):  # blank scales: a few items or most of them
        df.loc[df.index[10:10 + 3 * (k % 4)], col] = np.nan
    return df


@pytest.mark.parametrize("instrument", ["officials", "citizens", "personnel"])
@pytest.mark.parametrize("edited", [False, True])
def test_vectorised_rules_equal_the_row_by_row_rules(raw, instrument, edited):
    spec = ingest.instrument_spec(instrument)
    data = _edited(raw, instrument) if edited else raw[instrument]
    df, _ = cleaning.rule_unreadable(data, spec, cleaning.Rules(), instrument)
    for rules in (cleaning.Rules(), cleaning.Rules(required=("commune", "birth_year", "gender", "age"),
                                                   max_missing_share=0.2)):
        for fast, direct in ((cleaning.rule_out_of_range, _direct_out_of_range),
                             (cleaning.rule_missing_required, _direct_missing_required),
                             (cleaning.rule_missing_scale, _direct_missing_scale)):
            a, log_a = fast(df, spec, rules, instrument)
            b, log_b = direct(df, spec, rules, instrument)
            pd.testing.assert_frame_equal(a, b, check_exact=True)
            pd.testing.assert_frame_equal(pd.DataFrame(log_a, columns=cleaning.LOG_COLUMNS),
                                          pd.DataFrame(log_b, columns=cleaning.LOG_COLUMNS), check_exact=True)
            assert [tuple(map(type, r.values())) for r in log_a] == [tuple(map(type, r.values())) for r in log_b]
            if edited and (direct is _direct_out_of_range
                           or (direct is _direct_missing_scale and instrument != "personnel")):
                assert len(log_b) > 0


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


def old_change_summary(log: pd.DataFrame, flow: pd.DataFrame | None = None) -> str:
    """``cleaning.change_summary`` before issue 15's third pass (boolean masks and
    ``value_counts`` per instrument and action)."""
    order = {name: i for i, name in enumerate(cleaning.RULE_NAMES)}
    instruments = list(dict.fromkeys(
        ([] if flow is None or not len(flow) else list(flow["instrument"])) + list(log["instrument"])
    ))
    lines = ["cleaning (full log: Study.cleaning_log)"]
    for name in instruments:
        part = log[log["instrument"] == name]
        pieces = []
        if flow is not None and len(flow) and name in set(flow["instrument"]):
            f = flow[flow["instrument"] == name]
            pieces.append(f"{int(f['n_before'].iloc[0])} read, {int(f['n_after'].iloc[-1])} kept")
        for action, title in (("drop", "dropped"), ("change", "values changed"), ("flag", "flagged, kept")):
            counts = part.loc[part["action"] == action, "rule"].value_counts()
            if len(counts):
                rules = sorted(counts.index, key=lambda r: (order.get(r, len(order)), r))
                pieces.append(f"{title} — " + ", ".join(f"{r} {int(counts[r])}" for r in rules))
        lines.append(f"  {name}: " + ("; ".join(pieces) if pieces else "no change"))
    return "\n".join(lines)


def test_change_summary_equals_the_value_counts_route(adopted):
    log = pd.concat([r.log for r in adopted.values()], ignore_index=True)
    flow = pd.concat([r.flow.assign(instrument=name) for name, r in adopted.items()], ignore_index=True)
    assert set(log["action"]) == {"drop", "change", "flag"} and log["rule"].nunique() >= 5
    no_citizens = log[log["instrument"] != "citizens"]
    cases = [
        (log, flow), (log, None), (log.head(0), flow), (log.head(0), None), (log.iloc[::-1], flow),
        (no_citizens, flow), (no_citizens, flow[flow["instrument"] != "officials"]), (log, flow.head(0)),
        (log.assign(rule=log["rule"].where(log.index % 3 != 0, None)), flow),  # missing rules not counted
        (log.assign(rule=log["rule"].replace("speeders", "zz_unknown")), flow),  # unknown rules last
        (log.assign(instrument=log["instrument"].replace("personnel", "other")), flow),
    ]
    texts = [cleaning.change_summary(lg, fl) for lg, fl in cases]
    assert texts == [old_change_summary(lg, fl) for lg, fl in cases]
    assert all(t in texts[0] for t in ("dropped — ", "values changed — ", "flagged, kept — "))
    assert len(set(texts)) >= 8  # the cases give different summaries (the reversed log: the same)
