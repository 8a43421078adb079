"""The simulator's injected faults are each caught by the rule meant for them (issue 4).

``hlstudy.synthetic.simulate`` records every fault it injects (``truth.faults``) and which
rule should drop each raw record (``truth.rows.expected_drop``).  A simulated study with
every kind of fault is written as CSV, XLSX and SAV and must give identical clean tables.
"""

from __future__ import annotations

import time

import pandas as pd
import pytest

import hlstudy
from hlstudy import ingest

synthetic = pytest.importorskip("hlstudy.synthetic")

SEED = 7


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    """The study whose faults are checked (written as CSV; its XLSX and SAV exports: ``formats``)."""
    sim = synthetic.simulate(seed=SEED, n_citizens_per_commune=8)
    folders = {"csv": tmp_path_factory.mktemp("csv")}
    sim.write(folders["csv"])
    digests = {"csv": ingest.raw_digests(folders["csv"])}
    studies = {"csv": hlstudy.load_study(folders["csv"], cache=False)}
    return sim, folders, studies, digests


#: The formats' study: 15 % of the officials and 2 citizens per commune (the register is the
#: census either way).  What is compared -- each kind of cell of each instrument read from
#: CSV, XLSX and SAV into the same clean tables and log -- does not depend on the number of
#: records, and every kind of fault of the larger study is in it
#: (``test_formats_study_has_every_kind_of_fault``; with 10 % and one citizen per commune the
#: citizens' out-of-range answers would be missing); its XLSX costs a third of the larger one's.
FORMATS_SIZE = {"n_citizens_per_commune": 2, "response_rate": 0.15}


@pytest.fixture(scope="module")
def formats_written(tmp_path_factory):
    """A simulated study written as CSV, XLSX and SAV: the study, the folders, the paths each
    ``write`` returned, the study loaded from each folder and the folders' digests."""
    sim = synthetic.simulate(seed=SEED, **FORMATS_SIZE)
    folders, written = {}, {}
    for fmt in ("csv", "xlsx", "sav"):
        folders[fmt] = tmp_path_factory.mktemp("formats-" + fmt)
        written[fmt] = sim.write(folders[fmt], format=fmt)
    digests = {fmt: ingest.raw_digests(f) for fmt, f in folders.items()}
    studies = {fmt: hlstudy.load_study(f, cache=False) for fmt, f in folders.items()}
    return sim, folders, written, studies, digests


@pytest.fixture(scope="module")
def formats(formats_written):
    """A simulated study written as CSV, XLSX and SAV, and the study loaded from each."""
    sim, folders, _, studies, digests = formats_written
    return sim, folders, studies, digests


def test_every_record_accounted_for(simulated):
    sim, _, studies, _ = simulated
    study = studies["csv"]
    assert study.simulated is True
    for name in ingest.INSTRUMENTS:
        assert study.received[name] == len(sim.raw(name))
        assert study.received[name] == study.kept[name] + study.dropped[name]


def test_each_dropped_record_is_dropped_by_the_rule_meant_for_it(simulated):
    sim, _, studies, _ = simulated
    log = studies["csv"].cleaning_log
    mine = log[log["action"] == "drop"].set_index(["instrument", "source_row"])["rule"]
    rows = sim.truth.rows
    expected = rows[rows["expected_drop"].astype(str) != ""].set_index(["instrument", "source_row"])["expected_drop"]
    assert len(expected) > 30  # the fixture really has faults of every dropping kind
    assert set(expected.unique()) == {"duplicates", "missing_required", "speeders", "straightlining"}
    assert mine.sort_index().to_dict() == expected.sort_index().to_dict()
    # straight-liners are dropped on the officials' instrument only (reverse-keyed items there)
    assert set(expected[expected == "straightlining"].index.get_level_values(0)) == {"officials"}


def test_kept_records_are_flagged_or_lose_a_score_as_the_truth_expects(simulated):
    """Citizens' straight-liners are flagged and kept; a blank scale costs that score only."""
    sim, _, studies, _ = simulated
    log = studies["csv"].cleaning_log
    dropped = set(zip(log.loc[log["action"] == "drop", "instrument"], log.loc[log["action"] == "drop", "source_row"], strict=True))
    faults = sim.truth.faults
    flags = faults[faults["expected"] == "flag:straightlining"]
    assert len(flags) >= 3 and set(flags["instrument"]) == {"citizens"}
    mine = log[(log["rule"] == "straightlining") & (log["action"] == "flag")]
    assert set(zip(mine["instrument"], mine["source_row"].astype(int), strict=True)) == {
        (r.instrument, int(r.source_row)) for r in flags.itertuples()}
    blank = faults[faults["expected"] == "score_missing:missing_scale"]
    expected = {(r.instrument, int(r.source_row), r.column) for r in blank.itertuples()
                if (r.instrument, int(r.source_row)) not in dropped}
    scored = log[log["outcome"] == "score_missing"]
    got = set(zip(scored["instrument"], scored["source_row"].astype(int), scored["column"], strict=True))
    assert len(expected) >= 5 and expected <= got  # more scales may lose their score by chance
    kept = {name: set(studies["csv"].table(name)["source_row"].astype(int)) for name in ("officials", "citizens")}
    assert all(row in kept[inst] for inst, row, _ in expected)


def test_each_changed_value_is_changed_by_the_rule_meant_for_it(simulated):
    sim, _, studies, _ = simulated
    log = studies["csv"].cleaning_log
    dropped = set(zip(log.loc[log["action"] == "drop", "instrument"], log.loc[log["action"] == "drop", "source_row"], strict=True))
    faults = sim.truth.faults
    faults = faults[faults["expected"].str.startswith("change:")]
    expected = {
        (r.instrument, int(r.source_row), r.column): r.expected.split(":")[1]
        for r in faults.itertuples() if (r.instrument, int(r.source_row)) not in dropped
    }
    changes = log[(log["action"] == "change") & (log["rule"] != "commune_match")]
    mine = {
        (r.instrument, int(r.source_row), r.column): r.rule
        for r in changes.itertuples() if (r.instrument, int(r.source_row)) not in dropped
    }
    assert len(expected) > 50 and {"out_of_range", "inconsistent"} <= set(expected.values())
    assert mine == expected
    # a commune placed by a close spelling is logged: only where the simulator misspelt it
    guessed = log[log["rule"] == "commune_match"]
    variants = sim.truth.faults[sim.truth.faults["fault"] == "commune_variant"]
    assert len(guessed) and set(zip(guessed["instrument"], guessed["source_row"].astype(int), strict=True)) <= {
        (r.instrument, int(r.source_row)) for r in variants.itertuples()}
    assert (guessed["outcome"] == "recoded").all() and guessed["reason"].str.contains("score 0.").all()


def test_ingest_repairs_are_reported(simulated):
    sim, _, studies, _ = simulated
    study = studies["csv"]
    faults = sim.truth.faults
    variants = faults[faults["fault"] == "commune_variant"]
    report = study.communes
    # every mistyped commune value was matched, the non-exact ones are reported as such
    names = set(report["name"])
    for r in variants.itertuples():
        if ingest.clean_text(r.raw_value) in names:
            continue  # e.g. "Cai Kinh" typed without diacritics is the name itself
        hit = report[(report["instrument"] == r.instrument) & (report["value"] == ingest.clean_text(r.raw_value))]
        assert len(hit) == 1 and hit["how"].iloc[0] != "exact", r.raw_value
    fuzzy = set(report.loc[report["how"] == "fuzzy", "value"])
    typos = {ingest.clean_text(v) for v in variants.loc[variants["detail"] == "typo", "raw_value"]}
    assert typos <= fuzzy
    # Likert text labels and NFD records were converted: no item is left unreadable
    for name in ("officials", "citizens"):
        items = [c for c in study.table(name).columns if study.table(name)[c].dtype == float and c[:1].isupper()]
        values = study.table(name)[items].stack().dropna()
        assert len(values) > 1000 and values.between(1, 5).all()


def test_formats_study_has_every_kind_of_fault(simulated, formats):
    """Every fault kind and expected outcome of each instrument of the larger study is in the
    formats' study too (so the format comparison below meets every kind of raw cell)."""
    def kinds(sim):
        faults = sim.truth.faults
        return {name: set(g["fault"]) | set(g["expected"]) for name, g in faults.groupby("instrument")}

    large, small = kinds(simulated[0]), kinds(formats[0])
    assert set(large) == set(ingest.INSTRUMENTS) and all(len(k) >= 10 for k in large.values())
    assert small == large
    log = formats[2]["csv"].cleaning_log
    assert {"drop", "change", "flag"} <= set(log["action"]) and len(log) > 30


@pytest.mark.parametrize("fmt", ["xlsx", "sav"])
def test_same_study_as_csv_xlsx_sav_gives_identical_clean_tables(formats, fmt):
    _, _, studies, _ = formats
    for name in ingest.INSTRUMENTS:
        pd.testing.assert_frame_equal(studies["csv"].table(name), studies[fmt].table(name))
    def same_export(log):  # a guessed commune names its file, whose extension is the format
        return log.assign(reason=log["reason"].str.replace(r"^(\w+)\.(csv|xlsx|sav): ", r"\1.<export>: ",
                                                            regex=True))

    pd.testing.assert_frame_equal(same_export(studies["csv"].cleaning_log),
                                  same_export(studies[fmt].cleaning_log))
    assert studies["csv"].received == studies[fmt].received


@pytest.mark.parametrize("fmt", ["xlsx", "sav"])
def test_other_formats_are_written(formats_written, fmt):
    """Every written file is the one ``files()`` made (the manifest holds their SHA-256), a
    second encoding of one export gives its bytes again (an encoding of that export alone:
    ``files()`` would encode the three exports and the truth again), and every export is read
    back with all its rows.  (The formats' study of this module: what is checked does not
    depend on the size; formerly a study of its own in ``tests/test_synthetic.py``.)"""
    import hashlib
    import json

    from hlstudy.synthetic import _encode

    sim, folders, written, studies, _ = formats_written
    paths = written[fmt]
    names = {p.name for p in paths}
    assert names == {f"{i}.{fmt}" for i in ingest.INSTRUMENTS} | {"truth.json", "manifest.json"}
    assert {p.parent for p in paths} == {folders[fmt]}
    manifest = json.loads(next(p for p in paths if p.name == "manifest.json").read_text(
        encoding="utf-8"))
    assert manifest["format"] == fmt
    assert manifest["files"] == {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                                 for p in paths if p.name != "manifest.json"}
    for name in ingest.INSTRUMENTS:
        assert studies[fmt].received[name] == len(sim.raw(name))
    again = "citizens" if fmt == "xlsx" else "personnel"
    assert _encode(sim.raw(again), again, fmt) == (folders[fmt] / f"{again}.{fmt}").read_bytes()


def test_raw_files_are_never_modified(simulated, formats):
    for _, folders, _, digests in (simulated, formats):
        for fmt, folder in folders.items():
            assert ingest.raw_digests(folder) == digests[fmt]


def test_simulated_object_as_source(formats, tmp_path):
    sim, _, studies, _ = formats
    study = hlstudy.load_study(sim, cache_dir=tmp_path)
    pd.testing.assert_frame_equal(study.officials, studies["csv"].officials)


GRAM = 4


def _grams(text: str) -> set[str]:
    """Every substring of ``text`` of length GRAM."""
    return {text[i:i + GRAM] for i in range(len(text) - GRAM + 1)}


def _occurs(value: str, text: str, grams: set[str]) -> bool:
    """``value in text``, exactly: a value with a GRAM-long piece absent from ``text`` cannot
    occur in it (~2,300 values searched in ~400 kB: 0.65 -> ~0.1 s); the others are searched."""
    if len(value) >= GRAM and any(value[i:i + GRAM] not in grams
                                  for i in range(len(value) - GRAM + 1)):
        return False
    return value in text


def test_occurs_is_the_substring_test():
    text = "record_id,commune\nO-1,Hữu Liên\nghi chú,Nguyễn Văn An 0912 345 678\n"
    grams = _grams(text)
    values = ["Nguyễn Văn An", "Văn An 09", "0912 345 678", "Nguyễn Văn Anh", "Trần Văn An", "An",
              "", "678\n", "Hữu Liên\nghi", "Liên", "Liễn", text, text + "x", "x" + text]
    assert [_occurs(v, text, grams) for v in values] == [v in text for v in values]
    assert sum(v in text for v in values) >= 5 and not all(v in text for v in values)


def test_no_personal_data_downstream(simulated):
    sim, _, studies, _ = simulated
    from hlstudy.codebook import pii_columns

    study = studies["csv"]
    frames = [study.officials, study.citizens, study.personnel, study.cleaning_log, study.communes, study.missing]
    text = "\n".join(f.to_csv(index=False) for f in frames)
    grams = _grams(text)
    for name in ingest.INSTRUMENTS:
        raw = sim.raw(name)
        headers = {ingest.header_key(h): h for h in raw.columns}
        for variable in pii_columns(name):
            question = ingest.instrument_spec(name).by_name[variable].question_vi
            values = [v for v in raw[headers[ingest.header_key(question)]] if isinstance(v, str) and len(v) > 3]
            assert values, variable
            leaked = [v for v in values if _occurs(ingest.clean_text(v), text, grams)
                      or _occurs(v, text, grams)]
            assert leaked == [], (name, variable, leaked[:3])


def test_demonstration_data_load_fast():
    from hlstudy.paths import RAW

    if not any(RAW.glob("officials.*")):
        pytest.skip("data/raw not generated yet")
    start = time.process_time()
    study = hlstudy.load_study(RAW, cache=False)
    assert time.process_time() - start < 3.0
    assert study.simulated
    for name in ingest.INSTRUMENTS:
        assert study.received[name] == study.kept[name] + study.dropped[name]


def test_windows_1258_export_gives_the_same_study(formats, tmp_path):
    _, folders, studies, _ = formats
    for name in ingest.INSTRUMENTS:
        text = (folders["csv"] / f"{name}.csv").read_bytes().decode("utf-8-sig")
        (tmp_path / f"{name}.csv").write_bytes(ingest.encode_cp1258(text))
    (tmp_path / "manifest.json").write_bytes((folders["csv"] / "manifest.json").read_bytes())
    study = hlstudy.load_study(tmp_path, cache=False)
    assert set(study.files["encoding"]) == {"cp1258"}
    for name in ingest.INSTRUMENTS:
        pd.testing.assert_frame_equal(study.table(name), studies["csv"].table(name))
