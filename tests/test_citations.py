"""The sources a thesis table prints: short citations in the table's language, never the
reference files' provenance notes (``hlstudy.sourcing.check_citations``).

Notebook 01's tables printed each reference row's ``source`` as it is: English provenance
notes naming the project's files (``legal_frame.csv DECREE_33_2023``), mirrors and URLs, in
the Vietnamese tables too; the Vietnamese positions table also printed an English-title column.
"""

from __future__ import annotations

import re

import pandas as pd
import pytest

from hlstudy import district, export, legal, sourcing
from hlstudy.errors import SurveyDataError
from hlstudy.paths import ROOT

#: English words of the provenance notes that a Vietnamese citation never holds
ENGLISH_PROVENANCE = re.compile(
    r"\b(decree|law|resolution|article|art|clause|mirror|cited|quoted|quoting|quotes|source|"
    r"sources|project|notes|public|dataset|corpus|header|table|package|repository|repositories|"
    r"fixture|summary|summarised|amended|reported|as|by|of|the|and|on|from|page|news|answer|"
    r"ministry|portal|census|headcount|positions|titles|text|file|list|one|firm|rounded)\b",
    re.IGNORECASE)
FILE_OR_URL = re.compile(r"\.csv\b|://|\bwww\.|\.(vn|com|net|org|asia)/", re.IGNORECASE)

#: the readers of the reference files whose sources notebook 01 prints
READERS = {"decree33_positions.csv": legal.positions, "decree33_headcount.csv": legal.headcount,
           "decree33_standards.csv": legal.standards, "legal_frame.csv": legal.legal_frame,
           "district_facts.csv": district.facts}


def _printed_reference_tables() -> dict[str, pd.DataFrame]:
    """The committed Vietnamese tables that print reference rows: those with the column
    "Số nguồn" (``sourcing.SOURCES_COLUMN``) beside their "Nguồn"."""
    out = {}
    for path in sorted((ROOT / "figures").glob("*.csv")):
        if path.name == "index.csv":
            continue
        table = export.read_table_csv(path)
        if sourcing.SOURCES_COLUMN[0] in table.columns:
            out[path.stem] = table
    return out


def _unprintable(text: str, lang: str) -> list[str]:
    found = [m.group(0) for m in FILE_OR_URL.finditer(text)]
    if lang == "vi":
        found += [m.group(0) for m in ENGLISH_PROVENANCE.finditer(text)]
    return found


def test_printed_vietnamese_tables_cite_sources_in_vietnamese():
    tables = _printed_reference_tables()
    assert {"01_decree33_headcount", "01_decree33_positions", "01_decree33_standards",
            "01_district_facts", "01_legal_frame"} <= set(tables)
    bad = {f"{stem}: {cell!r}": _unprintable(cell, "vi") for stem, table in tables.items()
           for cell in table["Nguồn"].astype(str) if _unprintable(cell, "vi")}
    assert not bad, bad


def test_vietnamese_positions_table_prints_no_english_titles():
    table = _printed_reference_tables()["01_decree33_positions"]
    assert list(table.columns) == ["Loại", "Chức vụ, chức danh", "Nguồn", "Số nguồn"]
    english = set(legal.positions()["title_en"])
    assert not english & {str(v) for col in table.columns for v in table[col]}


@pytest.mark.parametrize("name", sorted(READERS))
def test_citations_of_either_language_are_printable(name):
    df = READERS[name]()
    for lang in ("vi", "en"):
        cited = sourcing.citations(df, lang)
        assert cited.str.len().gt(0).all()
        bad = {c: _unprintable(c, lang) for c in cited if _unprintable(c, lang)}
        assert not bad, (name, lang, bad)
    # the printed column is the citation of the table's language, never the source
    if name == "district_facts.csv":
        for lang in ("vi", "en"):
            table, _ = district.facts_table(lang)
            assert table["source"].tolist() == sourcing.citations(df, lang).tolist()


@pytest.mark.parametrize("name", sorted(READERS))
def test_each_citation_names_the_documents_its_source_names(name):
    """Every document number the row's ``source`` names, and the number of the document of
    the legal frame it refers to ("legal_frame.csv DECREE_33_2023"), is named by both
    citations; so is a legal-frame row's own number where its source names it."""
    frame = legal.legal_frame()
    base = {d: n.split(" Điều ")[0] for d, n in zip(frame["doc_id"], frame["number"], strict=True)
            if re.match(r"\d", n)}
    df = READERS[name]()
    checked = 0
    for _, row in df.iterrows():
        wanted = set(sourcing.document_numbers(row["source"]))
        wanted |= {base[d] for d in re.findall(r"legal_frame\.csv (\w+)", row["source"])}
        if name == "legal_frame.csv" and row["number"].split(" Điều ")[0].upper() in row["source"].upper():
            wanted.add(row["number"].split(" Điều ")[0])
        for col in sourcing.CITATION_COLUMNS:
            named = {n.upper() for n in sourcing.document_numbers(row[col])}
            assert {w.upper() for w in wanted} <= named, (name, row[col], wanted)
        checked += bool(wanted)
    assert checked, f"no row of {name} names a document: nothing was checked"


def _rewrite(folder, name, change):
    df = pd.read_csv(folder / name, dtype=str, keep_default_na=False, encoding="utf-8")
    change(df)
    df.to_csv(folder / name, index=False, encoding="utf-8")


@pytest.mark.parametrize("name", sorted(READERS))
def test_reader_rejects_a_file_without_citations(reference_copy, name):
    _rewrite(reference_copy, name, lambda df: df.pop("citation_vi"))
    with pytest.raises(SurveyDataError, match=rf"{re.escape(name)}.*column 'citation_vi'.*missing"):
        READERS[name](reference_copy)


@pytest.mark.parametrize("name", sorted(READERS))
def test_reader_rejects_an_empty_citation_naming_row_and_column(reference_copy, name):
    def blank(df):
        df.loc[2, "citation_en"] = ""
    _rewrite(reference_copy, name, blank)
    with pytest.raises(SurveyDataError, match=rf"{re.escape(name)}, row 4, column 'citation_en'.*empty"):
        READERS[name](reference_copy)


@pytest.mark.parametrize("cited, message", [
    ("Nghị định, Điều 5 khoản 1", r"does not name \['33/2023/NĐ-CP'\]"),
    ("Nghị định 33/2023/NĐ-CP (legal_frame.csv)", "no project file"),
    ("Nghị định 33/2023/NĐ-CP, https://vanban.chinhphu.vn", "no URL"),
])
def test_reader_rejects_a_citation_that_drops_the_document_or_names_a_file(reference_copy, cited,
                                                                          message):
    def edit(df):
        df.loc[0, "citation_vi"] = cited
    _rewrite(reference_copy, "decree33_positions.csv", edit)
    with pytest.raises(SurveyDataError, match=rf"decree33_positions.csv, row 2, column 'citation_vi'.*{message}"):
        legal.positions(reference_copy)


def test_citations_column_of_the_tables_language():
    df = legal.headcount()
    assert sourcing.citations(df, "vi").iloc[0].startswith("Nghị định 33/2023/NĐ-CP")
    assert sourcing.citations(df, "en").iloc[0].startswith("Decree 33/2023/NĐ-CP")
    with pytest.raises(SurveyDataError, match="citation_vi"):
        sourcing.citations(df.drop(columns="citation_vi"), "vi")
