"""Fast paths of the simulator and of ingest (issue 15): each equals the route it replaced.

The reference routes are kept, copied from the code they replaced (they exist nowhere else
any more): the slow ones whose output is bytes or exact text (exported files, the truth's
JSON, ``read_instrument``'s tables) in tests/fixtures/speed/make_ingest_routes.py, which
stores their output's SHA-256 digests on this module's inputs (as the R fixtures are); the
others here.  Every fast path is compared with them on simulated studies of two seeds, on
the formats a study arrives in (CSV, XLSX, SAV, Google Forms and KoboToolbox shapes) and on
damaged exports:

* writing: ``_encode`` (XLSX rows prepared as lists for openpyxl, SAV labels looked up once
  per value set, header → variable by dict) and ``Truth.to_json`` (columns by dtype) give the
  reference bytes;
* simulating: the weighted draws (``_choice``, the commune-variant kind) consume the random
  stream exactly as before; row dicts, given names, label tables, birth dates and times equal
  the pandas calls they replace (the committed ``data/raw`` is the default simulation byte for
  byte: ``tests/test_synthetic.py``);
* reading: dd/mm/yyyy dates and times parsed without the format loop, columns typed from
  lists, commune matches, value-set entries, default-codebook fingerprints, record ids and
  value sets remembered: ``read_instrument`` gives the reference tables (dtypes included),
  header reports, commune reports, and the same errors.

Each cache is tested: a hit equals a miss, and a changed input misses.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rawfactory as rf
from speedfixtures import generator

import hlstudy.synthetic as syn
from hlstudy import codebook as codebook_mod
from hlstudy import ingest
from hlstudy.errors import SurveyDataError
from hlstudy.ingest import places, values
from hlstudy.ingest import spec as spec_mod
from hlstudy.ingest.files import file_digest
from hlstudy.synthetic import _build, _people, _render

#: The reference routes of the exported bytes, the truth's JSON and ``read_instrument``'s tables,
#: their inputs and their stored digests: tests/fixtures/speed/make_ingest_routes.py.
gen = generator("ingest_routes")
SEEDS = gen.SEEDS
old_records = gen.old_records
old_parse_date, old_parse_timestamp, old_typed = gen.old_parse_date, gen.old_parse_timestamp, gen.old_typed


@pytest.fixture(scope="module")
def studies():
    """Small simulated studies of two seeds (``gen.simulate_studies``; every fault kind is
    injected, ``test_small_studies_carry_every_fault_kind``)."""
    return gen.simulate_studies()


def test_small_studies_carry_every_fault_kind(studies):
    kinds = {seed: set(study.truth.faults["fault"]) for seed, study in studies.items()}
    assert set().union(*kinds.values()) == set(_render.EXPECTED)
    # "scale_incomplete" happens by chance (blank and out-of-range answers), the others are drawn
    assert all(k >= set(_render.EXPECTED) - {"scale_incomplete"} for k in kinds.values())


# --------------------------------------------------------------------------- reference routes


def _stored(kind: str) -> dict:
    return gen.load()[kind]


def _same_digest(got: str, kind: str, key: str, stored: dict) -> None:
    assert got == stored[key], (f"{kind} {key}: not what the reference route gave (its digest is "
                                f"stored by {gen.GENERATOR}; rerun it only after a deliberate change "
                                "of the inputs)")


def old_timestamps(rng, commune_codes, instrument):
    days = pd.bdate_range(_render.SURVEY_START[instrument], periods=_render.SURVEY_WEEKDAYS[instrument])
    out = []
    if instrument == "officials":
        codes = sorted(set(commune_codes))
        slot = dict(zip(codes, rng.permutation(len(days))[: len(codes)], strict=True))
        for c in commune_codes:
            i = int(slot[c]) + int(rng.random() < 0.2)
            day = days[min(i, len(days) - 1)]
            out.append(day + pd.Timedelta(seconds=int(rng.integers(8 * 3600, 16 * 3600 + 1800))))
    else:
        for _ in commune_codes:
            day = days[int(rng.integers(len(days)))]
            out.append(day + pd.Timedelta(seconds=int(rng.integers(7 * 3600 + 1800, 16 * 3600 + 1800))))
    return out


# --------------------------------------------------------------------------- writing


@pytest.fixture(scope="module")
def encoded(studies):
    """The XLSX and SAV exports of the sampled records (``gen.export_cases``), made once: the
    exports test compares their bytes, the reading test reads them."""
    return {key: syn._encode(raw, name, fmt) for key, raw, name, fmt in gen.export_cases(studies)
            if fmt != "csv"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav"])
def test_exports_are_the_reference_bytes(studies, encoded, fmt):
    """Every instrument of both studies in CSV, their sampled records (``gen.sample``) in XLSX
    and SAV (``gen.instruments``): the reference route's bytes (by their digest)."""
    stored = _stored("exports")
    keys = []
    for key, raw, name, f in gen.export_cases(studies):
        if f == fmt:
            data = syn._encode(raw, name, fmt) if fmt == "csv" else encoded[key]
            _same_digest(gen.sha(data), "export", key, stored)
            keys.append(key)
    assert keys and set(keys) == {k for k in stored if k.endswith(f"/{fmt}")}


def test_truth_json_is_the_reference_text(studies):
    stored = _stored("truth_json")
    assert sorted(stored) == sorted(map(str, studies))
    for seed, study in studies.items():
        _same_digest(gen.sha(study.truth.to_json()), "truth JSON", str(seed), stored)


def test_column_cells_equal_cell_by_cell_conversion():
    frame = pd.DataFrame({
        "f": [1.23456789, np.nan, -0.0, 1e300, 2.5e-7],
        "i": np.array([1, -2, 3, 2**40, 0], dtype=np.int64),
        "u8": np.array([1, 2, 3, 4, 250], dtype=np.uint8),
        "b": [True, False, True, True, False],
        "f32": np.array([0.1, np.nan, 3.3, 1e-3, 7], dtype=np.float32),
        "o": [np.float64(1.234567891), None, "x", [1.23456789, (2.0000001,)], np.int64(4)],
        "s": pd.array(["a", None, "c", "d", "e"], dtype="string"),
        "t": pd.to_datetime(["2025-01-01", None, "2025-01-03", "2025-01-04", "2025-01-05"]),
        "n": pd.array([1, None, 3, 4, 5], dtype="Int64"),
    })
    for digits in (4, 6):
        new = syn._records(frame, digits)
        old = old_records(frame, digits)
        assert json.dumps(new, default=str) == json.dumps(old, default=str)
        assert [[type(x) for x in r.values()] for r in new] == [[type(x) for x in r.values()] for r in old]


def test_header_variables_equal_the_codebook_lookup():
    for name in syn.INSTRUMENTS:
        cb = codebook_mod.load_codebook(name)
        by_question = syn._header_variables(cb)
        found = [syn._header_variable(cb, text, by_question) for text in gen.header_texts(cb)]
        assert found == [syn._header_variable(cb, text) for text in gen.header_texts(cb)]
        # the codebook lookup (``gen.old_header_variable``) found the same variables
        _same_digest(gen.sha(json.dumps(found, ensure_ascii=False)), "headers", name, _stored("headers"))


# --------------------------------------------------------------------------- simulating


def test_weighted_draws_consume_the_stream_as_before():
    """The weighted draws and the commune-variant kinds are those of the former draws
    (``gen.old_choice``, ``rng.choice``; by their digest), and leave the random stream where
    they left it."""
    stored = _stored("draws")
    for k, p in enumerate(gen.draw_probabilities()):
        options = list(range(len(p)))
        a = np.random.default_rng(9)
        draws = [_people._choice(a, options, p) for _ in range(3000)]
        assert len(set(draws)) == np.count_nonzero(p)
        _same_digest(gen.sha(gen.draws_text(draws, a)), "draws", f"choice{k}", stored)
    a = np.random.default_rng(4)
    kinds = [_render.VARIANT_KINDS[int(_render._VARIANT_CDF.searchsorted(a.random(), side="right"))]
             for _ in range(5000)]
    assert set(kinds) == set(_render.VARIANT_KINDS)
    _same_digest(gen.sha(gen.draws_text(kinds, a)), "draws", "variant_kind", stored)
    assert sorted(stored) == sorted([f"choice{k}" for k in range(len(gen.draw_probabilities()))] + ["variant_kind"])


def test_cdf_memo_hit_equals_miss():
    _people._cdf.cache_clear()
    first = _people._cdf((0.2, 0.3, 0.5))
    assert _people._cdf((0.2, 0.3, 0.5)) is first and _people._cdf.cache_info().hits == 1
    assert _people._cdf((0.2, 0.5, 0.3)) != first
    a = np.array([0.2, 0.3, 0.5])
    assert list(first) == ((a / a.sum()).cumsum() / (a / a.sum()).cumsum()[-1]).tolist()


def test_simulation_helpers_equal_the_pandas_calls(studies):
    study = studies[SEEDS[0]]
    people = study.truth.latent[study.truth.latent["instrument"] == "officials"]
    raw = study.officials_raw
    for frame in (people, raw, study.truth.rows, study.truth.faults):
        new, old = _build._row_dicts(frame), frame.to_dict(orient="records")
        assert [list(r) for r in new] == [list(r) for r in old]
        for a, b in zip(new, old, strict=True):
            for k in a:  # equal values of equal types (NaN equal to NaN)
                assert type(a[k]) is type(b[k]) and (a[k] == b[k] or (a[k] != a[k] and b[k] != b[k])), k
    off = pd.DataFrame({"commune_code": ["a", "b", "a", "a", "b"], "gender": ["male", "female", "male", "female", "female"],
                        "full_name": ["Lê Văn Hùng", "Hà Thị Lan", "Vi Đức Nam", "Chu Thu Mai", "Hà Thị Vân"]})
    expected = {(c, gd): [name.split()[-1] for name in g["full_name"]] for (c, gd), g in off.groupby(["commune_code", "gender"])}
    assert _build._given_names(off) == expected
    labels = _build._Labels(codebook_mod)
    cb = codebook_mod.load_codebook("officials")
    var_set = dict(zip(cb["variable"], cb["value_set"], strict=True))
    tables = _build._LabelTables(labels, var_set)
    for v in cb.loc[cb["type"].isin(["category", "likert"]), "variable"]:
        for code in codebook_mod.value_labels(var_set[v])["code"]:
            assert tables[v][str(code)] == labels(var_set[v], code)
    for year, day in ((1960, 0), (1988, 59), (2000, 364), (2004, 59)):
        assert _people._day_of_year(year, day) == pd.Timestamp(year, 1, 1) + pd.Timedelta(days=day)
    for instrument in ("officials", "citizens"):
        codes = ["b", "a", "c", "a"] * 5
        a, b = np.random.default_rng(1), np.random.default_rng(1)
        assert _render.timestamps(a, codes, instrument) == old_timestamps(b, codes, instrument)
    for t in [pd.Timestamp("2025-03-04 08:05:09"), pd.Timestamp("1999-12-31 23:59:59"),
              pd.Timestamp("0999-01-02 03:04:05").as_unit("s")]:
        assert _render.fmt_time(t) == t.strftime("%d/%m/%Y %H:%M:%S")


# --------------------------------------------------------------------------- reading


def test_dates_and_times_parse_as_the_format_loop():
    texts = ["04/03/2025 14:05:09", "31/12/1999 23:59:59", "29/02/2024 00:00:00", "29/02/2025 10:00:00",
             "31/04/2025 10:00:00", "00/01/2025 10:00:00", "12/13/2025 10:00:00", "01/01/2025 24:00:00",
             "01/01/2025 23:60:00", "01/01/2025 23:59:60", "01/01/2025 23:59:61", "1/1/2025 8:05:09",
             "04/03/2025 14:05", "04/03/2025 02:05:09 PM", "2025-03-04 14:05:09", "2025-03-04T14:05:09+07:00",
             "04/03/2025  14:05:09", "04/03/25 14:05:09", "٠٤/٠٣/٢٠٢٥ 14:05:09", "04/03/2025 14:05:09\n",
             "04/03/2025", "4/3/2025", "31/02/1990", "00/05/1990", "5/13/1990", "1/1/0999", "04.03.2025",
             "2025-03-04 00:00", "", "x"]
    for text in texts:
        assert values._parse_timestamp(text) == old_parse_timestamp(text), text
        assert values._parse_date(text) == old_parse_date(text), text
        new, old = values._parse_timestamp(text), old_parse_timestamp(text)
        assert (new is None) == (old is None) and (new is None or new.unit == old.unit), text


def test_columns_typed_from_lists_equal_the_dataframe_route():
    cases = {
        "likert": [1.0, None, 5.0, 44.0, np.nan],
        "duration": [600.0, None, 12.0, np.nan, 3.0],
        "integer": [3.0, None, 12.0, 0.0, -1.0],
        "year": [1980.0, 1999.0, None, None, 2001.0],
        "date": [pd.Timestamp("1990-01-02"), None, pd.Timestamp("2001-05-06").as_unit("s"), pd.NaT, None],
        "timestamp": [pd.Timestamp(dt.datetime(2025, 3, 4, 8, 0, 1)), None, None, pd.Timestamp("2025-03-05 09:00:00"), None],
        "category": ["male", None, "female", "male", None],
        "text": ["Hữu Liên", None, "", "x", pd.NA],
    }
    # each case typed as a variable of its own kind, never as another kind's: the officials'
    # (their last of each kind), and a kind they lack (date) from another instrument
    kinds = {v.type: v for name in reversed(ingest.INSTRUMENTS)
             for v in ingest.instrument_spec(name).variables}
    assert set(cases) <= set(kinds)
    for kind, cells in cases.items():
        v = kinds[kind]
        assert v.type == kind
        new = values._typed_values(cells, v)
        old = old_typed(pd.DataFrame({"x": cells})["x"], v)
        pd.testing.assert_series_equal(new, old, check_names=False, check_exact=True)
        for empty in ([None] * 5, []):
            pd.testing.assert_series_equal(values._typed_values(empty, v), old_typed(pd.DataFrame({"x": empty})["x"], v),
                                           check_names=False, check_exact=True)
    # numbers converted in one step (floats, ints and None only) and those that are not (an
    # integer beyond 2**53, a fraction in an integer column): the same values, NaN by its bits
    more = [("likert", [3, -0.0, float("inf"), None, -float("nan")]), ("duration", [7, 2**60, None]),
            ("integer", [2**60 + 1, None, -3]), ("year", [1980, 1980.0, None]), ("integer", [2.5, None]),
            ("integer", [float(2**53), 1.0])]
    for kind, cells in more:
        v = kinds[kind]
        try:
            old = old_typed(pd.DataFrame({"x": pd.Series(cells, dtype=object)})["x"], v)
        except (TypeError, ValueError, OverflowError) as exc:
            with pytest.raises(type(exc)):
                values._typed_values(cells, v)
            continue
        new = values._typed_values(cells, v)
        pd.testing.assert_series_equal(new, old, check_names=False, check_exact=True)
        if kind in ("likert", "duration"):
            assert new.to_numpy().tobytes() == old.to_numpy().tobytes(), cells


def _read_as_the_reference(cases, kind: str, folder: Path) -> list:
    """``read_instrument`` (the fast route) on each case: its tables (dtypes included), header
    and commune reports, personal-data columns, or its error, as the reference route's
    (``gen.table_text`` by digest); the file's digest as the file's."""
    stored = _stored(kind)
    results = []
    for key, path, name in cases:
        result = gen.read(path, name)
        if not isinstance(result, Exception):
            assert result.digest == file_digest(path), key
        _same_digest(gen.sha(gen.table_text(result, folder)), kind, key, stored)
        results.append(result)
    return results


@pytest.mark.parametrize("shape", gen.SHAPES)
def test_read_instrument_gives_the_reference_tables(studies, encoded, shape, tmp_path):
    """Every instrument of two simulated studies (their sampled records: ``gen.sample``) in
    each format, the officials' in the Google Forms and KoboToolbox shapes (``gen.google_forms``,
    ``gen.kobo``): the tables the reference route read."""
    cases = gen.write_shape(studies, shape, tmp_path, encoded)
    assert {key for key, _, _ in cases} == {k for k in _stored("read") if k.endswith(f"/{shape}")}
    for result in _read_as_the_reference(cases, "read", tmp_path):
        assert not isinstance(result, Exception), result


@pytest.mark.parametrize(("damage", "fmt"), gen.damaged_cases())
def test_damaged_exports_read_as_by_the_reference_route(damage, fmt, tmp_path, monkeypatch):
    """The test codebook's exports (tests/rawfactory.py), each damaged one way: the same
    table or the same error as the reference route.  The cases are the generator's (no hour
    24 in XLSX, where rawfactory writes timestamps as Excel dates): none is always skipped."""
    rf.install_reference(monkeypatch, tmp_path)
    cases = gen.write_damaged(damage, fmt, tmp_path)
    assert cases, f"{damage}/{fmt}: no instrument damaged"
    _read_as_the_reference(cases, "damaged", tmp_path)


def test_every_stored_damaged_export_is_a_case():
    """The stored digests of damaged exports are those the cases read (a case the generator no
    longer makes would leave a digest no test compares)."""
    keys = {f"{damage}/{fmt}/{name}" for damage, fmt in gen.damaged_cases()
            for name in gen.DAMAGED_INSTRUMENTS
            if set(gen.DAMAGE_COLUMNS.get(damage, ())) <= set(rf.make_rows(name, 1).columns)}
    assert keys == set(_stored("damaged"))


# --------------------------------------------------------------------------- caches


def test_commune_matches_remembered_hit_equals_miss():
    registry = ingest._registry_frame(None)
    names, codes = tuple(registry["name"]), tuple(registry["code"])
    places._match_default.cache_clear()
    spellings = ["Hữu Liên", "xa Huu Lien", "HỮU LIÊN", "Huu Lienn", "Đồng Đăng", "Tuấn Sơn", "06256", "nowhere"]
    misses = [ingest.match_commune(s, registry) for s in spellings]
    assert places._match_default.cache_info().misses == len(spellings)
    hits = [ingest.match_commune(s, registry) for s in spellings]
    assert places._match_default.cache_info().hits == len(spellings)
    assert hits == misses == [places._match(s, names, codes, 0.8, None) for s in spellings]
    other = registry.assign(name=registry["name"].replace("Hữu Liên", "Hữu Liên Mới"))
    changed = ingest.match_commune("Hữu Liên", other)
    assert places._match_default.cache_info().misses == len(spellings) + 1  # another registry misses
    assert changed.how != "exact" or changed.name != "Hữu Liên"
    outside = pd.DataFrame({"name": ["Hữu Liên"], "level": ["legacy"], "district": ["X"], "note": [""]})
    assert ingest.match_commune("Huu Lien", registry.head(0).pipe(lambda r: other), outside=outside).how == "outside"


def test_value_set_entries_remembered_per_frame():
    spec = ingest.instrument_spec("officials")
    name = next(v.value_set for v in spec.variables if v.type == "likert")
    values._ENTRIES.clear()
    first = values._value_set_entries(spec, name)
    assert values._value_set_entries(ingest.instrument_spec("officials"), name) is first  # the spec's frame: a hit
    assert first == values._frame_entries(spec.value_sets[name])
    edited = spec.value_sets[name].copy()
    edited.loc[0, "label_vi"] = "Rất rất không đồng ý"
    spec.value_sets[name] = edited  # the caller's own copy of the spec
    again = values._value_set_entries(spec, name)
    assert again != first and ("1", "Rất rất không đồng ý", edited.loc[0, "label_en"]) in again
    assert values._value_set_entries(ingest.instrument_spec("officials"), name) is first


def test_default_codebook_fingerprinted_once_and_handed_out_as_copies(tmp_path, monkeypatch):
    cb, vl = spec_mod._frames()
    assert spec_mod._default_fingerprint(cb) == spec_mod._fingerprint(cb)
    assert spec_mod._default_fingerprint(cb) is spec_mod._default_fingerprint(cb)
    copy_cb, copy_vl = ingest.codebook_frames()
    assert copy_cb is not cb and copy_cb.equals(cb) and copy_vl is not vl
    copy_cb.loc[copy_cb["variable"] == "TRAIN1", "question_vi"] = "Đã sửa"
    assert ingest.instrument_spec("officials").by_name["TRAIN1"].question_vi != "Đã sửa"
    assert ingest.instrument_spec("officials", copy_cb).by_name["TRAIN1"].question_vi == "Đã sửa"
    # an edited codebook file is a new default table: a new fingerprint, a new spec
    folder = tmp_path / "instrument"
    folder.mkdir()
    edited = cb.copy()
    edited.loc[edited["variable"] == "TRAIN1", "question_vi"] = "Câu hỏi đã đổi"
    edited.to_csv(folder / "codebook.csv", index=False)
    vl.to_csv(folder / "value_labels.csv", index=False)
    monkeypatch.setattr(ingest, "INSTRUMENT", folder)
    assert ingest.instrument_spec("officials").by_name["TRAIN1"].question_vi == "Câu hỏi đã đổi"


def test_codebook_files_of_the_same_bytes_read_once(tmp_path):
    """Another folder holding the same codebook files gets the tables read before (a hit, equal
    to reading the files); an edited file is read anew (a miss)."""
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
        for name in ("codebook.csv", "value_labels.csv"):
            (folder / name).write_bytes((ingest.INSTRUMENT / name).read_bytes())
    spec_mod._BY_CONTENT.clear()
    first = spec_mod._read_codebook_files(str(folders[0]))
    assert len(spec_mod._BY_CONTENT) == 1
    for got, name in zip(first, ("codebook.csv", "value_labels.csv"), strict=True):
        direct = pd.read_csv(folders[0] / name, dtype=str, keep_default_na=False, encoding="utf-8")
        pd.testing.assert_frame_equal(got, direct, check_exact=True)
    second = spec_mod._read_codebook_files(str(folders[1]))
    assert second[0] is first[0] and second[1] is first[1] and len(spec_mod._BY_CONTENT) == 1
    text = (folders[1] / "codebook.csv").read_text(encoding="utf-8")
    question = first[0].loc[first[0]["variable"] == "TRAIN1", "question_vi"].iloc[0]
    (folders[1] / "codebook.csv").write_text(text.replace(question, question + " (đã sửa)"), encoding="utf-8")
    third = spec_mod._read_codebook_files(str(folders[1]))
    assert third[0] is not first[0] and third[1].equals(first[1])
    assert third[0].loc[third[0]["variable"] == "TRAIN1", "question_vi"].iloc[0] == question + " (đã sửa)"
    assert len(spec_mod._BY_CONTENT) == 2
    assert ingest.instrument_spec("officials", *third).by_name["TRAIN1"].question_vi == question + " (đã sửa)"


def old_fold(text) -> str:
    """``_text.fold`` as it was (every call decomposed its text): the reference."""
    import unicodedata

    from hlstudy._text import clean_text

    decomposed = unicodedata.normalize("NFD", clean_text(text).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d")


def test_folds_remembered_equal_the_fold():
    """A fold is kept per cleaned text: a hit is the fold computed afresh; texts that clean
    alike share it; another text misses."""
    from hlstudy import _text

    cells = ["Hữu Lũng", "ĐỒNG Ý", "Không\u00a0 biết ", "Khong biet", "Hu\u031b\u0303u Lu\u0303ng",
             "Trung lập", "", 5, 2.5, "Đ"]
    _text._fold_str.cache_clear()
    first = [_text.fold(c) for c in cells]
    assert first == [old_fold(c) for c in cells]
    misses = _text._fold_str.cache_info().misses
    assert misses == len({_text.clean_text(c) for c in cells}) < len(cells)   # "Hữu Lũng" twice
    assert [_text.fold(c) for c in cells] == first
    assert _text._fold_str.cache_info().misses == misses   # all hits
    assert _text.fold("Hữu Lũng.") == "huu lung." and _text._fold_str.cache_info().misses == misses + 1


def test_closest_labels_remembered_equal_the_scoring():
    """The closest spelling is kept per text and labels: a hit is the scoring's answer (the
    uncached function), computed once for a column's repeated unknown label; other labels or
    another text miss."""
    from hlstudy.ingest.values import _closest_label

    labels = ["Hoàn toàn không đồng ý", "Không đồng ý", "Trung lập", "Đồng ý", "Hoàn toàn đồng ý"]
    _closest_label.cache_clear()
    first = [ingest.closest_label("Rất đồng ý", labels) for _ in range(5)]
    assert first == ["Hoàn toàn đồng ý"] * 5 == [_closest_label.__wrapped__("Rất đồng ý", tuple(labels))] * 5
    assert _closest_label.cache_info()[:2] == (4, 1)   # (hits, misses)
    assert ingest.closest_label("Rất đồng ý", labels[:4]) == "Đồng ý"   # other labels: a miss
    assert ingest.closest_label("Khong dong y lam", labels) == "Không đồng ý"
    assert _closest_label.cache_info()[:2] == (4, 3) and ingest.closest_label("x", []) == "none"


def test_record_ids_remembered_equal_the_hash():
    for instrument in syn.INSTRUMENTS:
        for row in (2, 3, 455, 10**6):
            digest = hashlib.sha256(f"{ingest.ID_SALT}|{instrument}|{row}".encode()).hexdigest()
            expected = f"{instrument[0].upper()}-{digest[:10]}"
            assert ingest.record_id(instrument, row) == ingest.record_id(instrument, np.int64(row)) == expected
    assert ingest.record_id("officials", 2, salt="other") != ingest.record_id("officials", 2)


def test_value_sets_made_once_callers_get_copies():
    codebook_mod._value_set.cache_clear()
    first = codebook_mod.value_labels("agree5")
    first.loc[0, "label_vi"] = "sửa"
    second = codebook_mod.value_labels("agree5")
    assert codebook_mod._value_set.cache_info().hits == 1
    _, labels = codebook_mod._load(str(ingest.INSTRUMENT))
    direct = labels[labels["value_set"] == "agree5"].drop(columns="value_set").reset_index(drop=True)
    pd.testing.assert_frame_equal(second, direct)
    with pytest.raises(SurveyDataError, match="unknown value set"):
        codebook_mod.value_labels("no_such_set")


def test_cp1258_per_character_equals_the_loop():
    import unicodedata

    from hlstudy import _text

    def old(text):
        out = []
        for ch in unicodedata.normalize("NFC", text):
            try:
                ch.encode("cp1258")
                out.append(ch)
                continue
            except UnicodeEncodeError:
                pass
            parts = unicodedata.normalize("NFD", ch)
            tones = "".join(c for c in parts if c in _text._TONES)
            base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in _text._TONES))
            out.append(base + tones)
        return "".join(out).encode("cp1258")

    cb = codebook_mod.load_codebook()
    for text in list(cb["question_vi"]) + ["Hữu Lũng", "Thiện Tân", "ỷ ỹ ỵ Ỵ đ Đ", "plain", ""]:
        assert ingest.encode_cp1258(text) == old(text)
    with pytest.raises(UnicodeEncodeError):
        ingest.encode_cp1258("中")


# --------------------------------------------------------------------------- cleaning


def test_text_codes_of_text_and_integer_columns_equal_the_text_route():
    from hlstudy import cleaning

    def old(column):
        return pd.factorize(column.astype("string").fillna("\x00NA").to_numpy(dtype=object))[0]

    columns = [
        pd.Series(["b", None, "a", "b", None, "c"], dtype="string"),
        pd.Series([None, "x", "\x00NA", None, "x"], dtype="string"),  # the missing marker as text
        pd.Series(["b", None, "a", "b"], dtype="str"),
        pd.Series([None, None], dtype="string"),
        pd.Series([3, None, 3, -1, 10**12, None], dtype="Int64"),
        pd.Series([], dtype="Int64"),
        pd.Series([0.0, -0.0, np.nan, 1.5, 0.0]),
    ]
    for column in columns:
        assert cleaning._text_codes(column).tolist() == old(column).tolist(), column.tolist()


def test_empty_log_is_a_fresh_table_each_time():
    from hlstudy import cleaning

    first = cleaning.empty_log()
    direct = pd.DataFrame({c: pd.Series(dtype="object") for c in cleaning.LOG_COLUMNS})
    pd.testing.assert_frame_equal(first, direct)
    first["extra"] = 1
    pd.testing.assert_frame_equal(cleaning.empty_log(), direct)


def old_missing_report(data, instrument, spec):
    from hlstudy._text import sort_key

    variables = [v for v in spec.variables
                 if not v.pii and v.variable in data and v.type not in ("commune", "timestamp", "duration")]
    commune = data["commune"] if "commune" in data else pd.Series("", index=data.index)
    columns = ["instrument", "commune", "variable", "construct", "order", "n", "missing", "share"]
    grouped = data[[v.variable for v in variables]].isna().groupby(commune.astype("string").fillna(""), sort=True)
    counts, sums = grouped.size(), grouped.sum()
    k, names = len(variables), [str(name) for name in sums.index]
    n = np.repeat(counts.reindex(sums.index).to_numpy(dtype=np.int64), k)
    missing = sums.to_numpy(dtype=np.int64).reshape(-1)
    out = pd.DataFrame({
        "instrument": instrument, "commune": np.repeat(np.array(names, dtype=object), k),
        "variable": [v.variable for v in variables] * len(names),
        "construct": [v.construct for v in variables] * len(names),
        "order": [v.order for v in variables] * len(names), "n": n, "missing": missing, "share": missing / n,
    }, columns=columns)
    keys = {c: sort_key(c)[0] for c in names}
    out["_key"] = out["commune"].map(lambda c: keys[c])
    out = out.sort_values(["_key", "commune", "order", "variable"], kind="stable")
    return out.drop(columns=["order", "_key"]).reset_index(drop=True)


def test_missing_report_orders_commune_blocks_as_the_sort(studies, tmp_path):
    from hlstudy import cleaning

    folder = tmp_path / "s"
    studies[SEEDS[0]].write(folder)
    for name, table in ingest.read_folder(folder).items():
        spec = ingest.instrument_spec(name)
        data = cleaning.clean(table.data, name, spec=spec).data
        odd = data.assign(commune=data["commune"].astype(object).where(data.index % 7 != 0, None))
        odd.loc[odd.index % 11 == 0, "commune"] = "Đồng Tân"  # a name outside the registry's order
        shuffled = ingest.InstrumentSpec(spec.name, list(reversed(spec.variables)), spec.value_sets)
        for frame, sp in ((data, spec), (odd, spec), (data, shuffled), (data.head(0), spec)):
            new = cleaning.missing_report(frame, name, spec=sp)
            if not len(frame):
                assert new.empty
                continue
            pd.testing.assert_frame_equal(new, old_missing_report(frame, name, sp), check_exact=True)
