"""Privacy: no value of a personal-data column survives anywhere downstream of ingest."""

from __future__ import annotations

import matplotlib
import pandas as pd
import pytest
import rawfactory as rf

import hlstudy

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def _built(tmp_path_factory):
    """The damaged mini study read once (with its cache) for every test of the module that
    reads it; each test still runs with the mini codebook installed (``study_and_pii``)."""
    with pytest.MonkeyPatch.context() as mp:
        return _build(mp, tmp_path_factory.mktemp("privacy"))


@pytest.fixture
def study_and_pii(_built, monkeypatch):
    rf.install_reference(monkeypatch, _built[3])
    return _built


def _build(monkeypatch, tmp_path):
    rf.install_reference(monkeypatch, tmp_path)
    folder = rf.make_folder(tmp_path / "raw", "csv", n=10, manifest={"simulated": True})
    pii_values = set()
    for instrument in ("officials", "citizens", "personnel"):
        rows = rf.make_rows(instrument, n=10, seed=("officials", "citizens", "personnel").index(instrument) + 1)
        for r in rf.spec_rows(instrument):
            if r[11] == 1:
                pii_values |= {str(v) for v in rows[r[1]]}
    # also damage some records so that the log has drops and changes to inspect
    off = pd.read_csv(folder / "officials.csv", dtype=str)
    off = pd.concat([off, off.iloc[[0]]], ignore_index=True)  # a duplicate submission
    off.iloc[1, off.columns.get_loc("Năm sinh")] = "1800"  # out of range
    off.to_csv(folder / "officials.csv", index=False)
    cache = tmp_path / "cache"
    study = hlstudy.load_study(folder, cache_dir=cache)
    return study, pii_values, cache, tmp_path


def _strings(frame: pd.DataFrame) -> set[str]:
    out = set(map(str, frame.columns))
    for column in frame.columns:
        out |= {str(v) for v in frame[column].dropna().tolist()}
    return out


def test_fixture_really_contains_personal_data(study_and_pii):
    study, pii, _, tmp_path = study_and_pii
    raw = (tmp_path / "raw" / "officials.csv").read_text(encoding="utf-8")
    assert "Nguyễn Văn An" in pii and "Nguyễn Văn An" in raw
    assert len(pii) >= 20
    assert len(study.cleaning_log) >= 2  # the log has rows we inspect below


def test_no_pii_value_in_any_study_table(study_and_pii):
    study, pii, _, _ = study_and_pii
    frames = [study.officials, study.citizens, study.personnel, study.cleaning_log, study.flow,
              study.missing, study.communes, study.files, study.headers]
    seen = set().union(*(_strings(f) for f in frames))
    leaked = {v for v in pii if any(v in s for s in seen)}
    assert leaked == set()
    for name in ("full_name", "phone", "comment", "name", "_pii_key"):
        assert name not in study.officials.columns and name not in study.citizens.columns
    assert "Nguyễn" not in repr(study)


def test_no_pii_in_processed_files_or_cache(study_and_pii):
    study, pii, cache, tmp_path = study_and_pii
    out = tmp_path / "processed"
    study.write_processed(out)
    blobs = [p.read_bytes() for p in out.glob("*.csv")] + [p.read_bytes() for p in cache.rglob("*.pkl")]
    assert len(blobs) >= 7
    for blob in blobs:
        for value in pii:
            assert value.encode("utf-8") not in blob   # CSV text and pickled str objects
            # a fixed-width numpy string array pickles its characters as UTF-32
            assert value.encode("utf-32-le") not in blob


def test_no_pii_in_notebook_style_exports(study_and_pii, monkeypatch):
    import matplotlib.pyplot as plt

    from hlstudy import export

    study, pii, _, tmp_path = study_and_pii
    figures = tmp_path / "figures"
    counts = study.officials.groupby("commune").size().rename("n").reset_index()
    export.save_table(counts, "02_privacy_check", title="Check", simulated=True, directory=figures)
    fig, ax = plt.subplots(figsize=(5.5, 4))   # within the page (no FigureSizeWarning)
    ax.bar(counts["commune"], counts["n"])
    export.save_figure(fig, "02_privacy_check", simulated=True, directory=figures, formats=("svg",))
    plt.close(fig)
    text = "".join(p.read_bytes().decode("utf-8", "ignore") for p in figures.glob("*.csv"))
    assert text and not any(v in text for v in pii)


def test_record_id_does_not_encode_personal_data(study_and_pii):
    study, pii, _, _ = study_and_pii
    ids = pd.concat([study.officials["record_id"], study.citizens["record_id"], study.personnel["record_id"]])
    assert ids.is_unique
    assert ids.str.fullmatch(r"[OCP]-[0-9a-f]{10}").all()


def _committed_texts() -> dict[str, str]:
    """Text of every committed output: notebooks (without embedded images), figures' CSV, LaTeX,
    SVG and DOCX (its XML), README."""
    import json
    import zipfile

    from hlstudy.paths import NOTEBOOKS, ROOT

    texts = {}
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        parts = []
        for cell in cells:
            parts.append("".join(cell.get("source", "")))
            for out in cell.get("outputs", []):
                parts.append("".join(out.get("text", "")))
                for kind, data in out.get("data", {}).items():
                    if not kind.startswith("image/"):
                        parts.append("".join(data) if isinstance(data, list) else str(data))
        texts[path.name] = "\n".join(parts)
    for path in sorted((ROOT / "figures").rglob("*")):
        if path.suffix in (".csv", ".tex", ".svg"):
            texts[path.name] = path.read_text(encoding="utf-8", errors="ignore")
        elif path.suffix == ".docx":
            # one text per XML part: the parts every DOCX shares (styles, ~0.8 MB) are then
            # the same text, searched once by _leaks
            with zipfile.ZipFile(path) as z:
                for n in z.namelist():
                    if n.endswith(".xml"):
                        texts[f"{path.name}:{n}"] = z.read(n).decode("utf-8", "ignore")
    if (ROOT / "README.md").is_file():
        texts["README.md"] = (ROOT / "README.md").read_text(encoding="utf-8")
    return texts


def _leaks(values: set[str], texts: dict[str, str]) -> dict[str, list[str]]:
    """Which values occur in which text; a word-bigram index keeps it fast (exact check after)."""
    import re

    def words(text):
        return re.findall(r"\w+", text.casefold())

    # each value's words (or word bigrams), computed once for all texts, filed under its
    # first word: a value can only occur in a text whose words hold all of its words
    by_first: dict = {}
    for v in values:
        w = words(v)
        keys = list(zip(w, w[1:], strict=False)) or w
        if keys:
            by_first.setdefault(w[0], []).append((v, w, keys))
    out = {}
    seen: dict[str, list[str]] = {}  # identical texts (shared DOCX parts) searched once
    for name, text in texts.items():
        if text not in seen:
            tokens = words(text)
            vocabulary = set(tokens)
            # the values whose every word is in the text and which occur in it; only for
            # those (if any) the text's word bigrams are made, and every key checked
            found = [(v, keys) for first in vocabulary.intersection(by_first)
                     for v, w, keys in by_first[first] if vocabulary.issuperset(w) and v in text]
            index = (vocabulary | set(zip(tokens, tokens[1:], strict=False))) if found else set()
            seen[text] = [v for v, keys in found if all(k in index for k in keys)]
        found = seen[text]
        if found:
            out[name] = sorted(found)[:5]
    return out


def test_leak_finder_finds_a_planted_value():
    texts = {"a.csv": "xã,Hữu Liên\nghi chú,Nguyễn Văn An 0912 345 678", "b.tex": "Nguyễn Thị Bình"}
    assert _leaks({"Nguyễn Văn An", "0912 345 678", "Trần Văn An"}, texts) == {
        "a.csv": ["0912 345 678", "Nguyễn Văn An"]}
    # a value is found as whole words: "Lò Văn An" inside "Lò Văn Anh" is another name, even
    # where each of its words is in the text
    texts = {"c.csv": "Lò Văn Anh, An", "d.csv": "Lò Văn An, Anh"}
    assert _leaks({"Lò Văn An"}, texts) == {"d.csv": ["Lò Văn An"]}


def test_no_pii_of_the_demonstration_data_in_committed_outputs():
    """Names, phone numbers, staff codes and comments of data/raw appear in no clean table, no
    committed notebook output (any notebook) and no exported figure or table."""
    from hlstudy import ingest
    from hlstudy.paths import RAW

    if not (RAW / "officials.csv").is_file():
        pytest.skip("data/raw not generated yet")
    values = set()
    for name in ("officials", "citizens", "personnel"):
        table = ingest.read_raw(next(RAW.glob(f"{name}.*")), name)
        spec = ingest.instrument_spec(name)
        mapping = ingest.map_headers(table, spec)
        for variable, index in mapping.columns.items():
            if spec.by_name[variable].pii:
                values |= {ingest.clean_text(r[index]) for r in table.rows if isinstance(r[index], str) and len(r[index].strip()) > 4}
    assert len(values) > 500  # names, phones and comments really are in the raw exports
    assert any(v.startswith("HL") and "-" in v for v in values)  # the staff codes are among them
    study = hlstudy.load_study(RAW, cache=False)
    texts = {name: study.table(name).to_csv(index=False) for name in ingest.INSTRUMENTS}
    texts["cleaning_log"] = study.cleaning_log.to_csv(index=False)
    committed = _committed_texts()
    assert "02_survey_cleaning.ipynb" in committed and sum(k.endswith(".csv") for k in committed) >= 10
    texts.update(committed)
    assert _leaks(values, texts) == {}


#: Columns of the exported tables that count people (or records of people): ``n``, ``k`` and
#: their variants ``n (...)`` (a split, a model's sample), as the tables' column names say.
#: A count of people without data (``n_missing``, printed "Thiếu dữ liệu" / "Missing") is one too.
MISSING_COLUMNS = ("n_missing", "Thiếu dữ liệu", "Missing")


def _people_columns(columns) -> list[str]:
    return [c for c in map(str, columns)
            if c in ("n", "k", *MISSING_COLUMNS) or c.startswith(("n (", "k ("))]


def _small_shown(table: pd.DataFrame, min_cell: int = 5) -> dict[str, list]:
    """The counts of people from 1 to ``min_cell - 1`` a table shows (not hidden)."""
    out = {}
    for c in _people_columns(table.columns):
        values = pd.to_numeric(table[c], errors="coerce")
        small = table.loc[(values >= 1) & (values < min_cell), c]
        if len(small):
            out[c] = small.tolist()
    return out


def test_no_committed_table_shows_a_count_of_fewer_than_five_people():
    """Every count of people the committed tables print (their ``n`` and ``k`` columns) is 0,
    at least 5, or hidden (``<5``/``x``): a published cell describing fewer than 5 people is
    suppressed.  The tables of notebook 04 that hide nothing (the profile merges levels of
    fewer than 5 people first, the 8 new communes each have 5 or more of both kinds) are
    checked here to need no hiding; the lone-hidden-cell test reads them too."""
    from hlstudy.export import HIDDEN_MARKS, read_table_csv
    from hlstudy.paths import figures_dir

    tables = {p.name: read_table_csv(p) for p in sorted(figures_dir().glob("0*.csv"))}
    counted = {name: _people_columns(t.columns) for name, t in tables.items()}
    counted = {name: cols for name, cols in counted.items() if cols}
    assert {"04_profile.csv", "04_ethnicity_representation.csv",
            "04_compliance_2025.csv"} <= set(counted) and len(counted) >= 10
    assert {name: s for name, t in tables.items() if (s := _small_shown(t))} == {}
    # hidden cells are there to be found: the ethnicity table hides its small groups
    eth = tables["04_ethnicity_representation.csv"]
    assert eth["k"].astype(object).isin(HIDDEN_MARKS).sum() >= 2
    # the check finds a small count when one is shown
    shown = eth.assign(k=eth["k"].where(~eth["k"].astype(object).isin(HIDDEN_MARKS), 3))
    assert _small_shown(shown) == {"k": [3] * int(eth["k"].astype(object).isin(HIDDEN_MARKS).sum())}


def _displayed_tables(path) -> list[tuple[int, pd.DataFrame]]:
    """The tables a committed notebook displays (its outputs' text/html), with their cell."""
    import io
    import json

    out = []
    for i, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"]):
        for o in cell.get("outputs", []):
            html = o.get("data", {}).get("text/html")
            if html is None:
                continue
            html = "".join(html) if isinstance(html, list) else html
            if "<table" in html:
                out += [(i, t) for t in pd.read_html(io.StringIO(html), keep_default_na=False)]
    return out


def _hidden_missing_recoverable(table: pd.DataFrame) -> list:
    """Rows whose hidden count of people without data sits beside a shown ``n``: the total
    of the people assessed (published) minus ``n`` gives it back."""
    from hlstudy.export import HIDDEN_MARKS

    cols = [c for c in map(str, table.columns) if c in MISSING_COLUMNS]
    if not cols or "n" not in table.columns:
        return []
    hidden = table[cols[0]].astype(str).isin(HIDDEN_MARKS)
    return table.loc[hidden & ~table["n"].astype(str).isin(HIDDEN_MARKS)].index.tolist()


def test_no_committed_notebook_displays_a_count_of_fewer_than_five_people():
    """The committed notebooks' displayed tables are published too: every count of people
    they show (``n``, ``k``, ``n_missing``) is 0, at least 5 or hidden, and a hidden missing
    count is not given back by the row's ``n`` (notebook 04's compliance table showed
    ``n_missing`` 1 beside a status table hiding it as ``<5``)."""
    from hlstudy.paths import NOTEBOOKS

    shown = {}
    n_tables = 0
    for path in sorted(NOTEBOOKS.glob("0*.ipynb")):
        for cell, table in _displayed_tables(path):
            n_tables += 1
            if s := _small_shown(table):
                shown[f"{path.name} cell {cell}"] = s
            if rows := _hidden_missing_recoverable(table):
                shown[f"{path.name} cell {cell} (n beside a hidden missing count)"] = rows
    assert n_tables >= 10 and shown == {}
    # the checks find what they look for
    t = pd.DataFrame({"rule": ["a", "b"], "n": [214, 213], "k": [0, 80],
                      "n_missing": [0, 1]})
    assert _small_shown(t) == {"n_missing": [1]}
    assert _hidden_missing_recoverable(t.assign(n_missing=[0, "<5"])) == [1]
    assert _hidden_missing_recoverable(t.assign(n_missing=[0, "<5"], n=[214, "x"])) == []


def test_exported_2025_compliance_does_not_give_back_a_small_missing_count():
    """04_compliance_2025's n (civil servants with a known level) beside 04_staffing_2025's
    civil servants of the same new commune: a difference of 1 to 4 is a count of fewer than
    5 people, given back by subtraction (Tuấn Sơn: 32 civil servants, n 31).  Such a row's
    n is hidden ("x"), and so is every table's n beside a hidden missing count."""
    from hlstudy.export import read_table_csv
    from hlstudy.paths import figures_dir

    folder = figures_dir()
    comp = read_table_csv(folder / "04_compliance_2025.csv")
    staff = read_table_csv(folder / "04_staffing_2025.csv")
    key = comp.columns[0]
    cc = [c for c in staff.columns if c in ("Công chức", "Civil servants", "n_cong_chuc")]
    assert key == staff.columns[0] and len(cc) == 1
    both = comp.merge(staff, on=key)
    assert len(both) == 8
    gap = pd.to_numeric(both[cc[0]], errors="coerce") - pd.to_numeric(both["n"], errors="coerce")
    assert both.loc[(gap >= 1) & (gap < 5), key].tolist() == []
    tables = {p.name: read_table_csv(p) for p in sorted(folder.glob("0*.csv"))}
    assert {n: r for n, t in tables.items() if (r := _hidden_missing_recoverable(t))} == {}
