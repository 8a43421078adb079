"""The Vietnamese tables (committed ``figures/*.csv`` and ``*.tex``) speak Vietnamese.

The inverse of ``tests/test_english_tables.py``: a title, a note or a printed column header of
a Vietnamese table must not be an English phrase ("ML estimation, marker-variable
identification (lavaan defaults)").  Cells are not read: they hold the field's codes (ETH, PRO),
item wordings and machine columns.

The detector: after removing what a Vietnamese thesis keeps in English on purpose (R
functions ``pkg::fun`` and their arguments (``missing = "ml"``), quoted code, author-year citations, the
bilingual simulated-data mark and the field's English terms of :data:`ALLOWED_TERMS`), a text
is English if it still holds a word of :data:`ENGLISH_WORDS`: English function words and the
method vocabulary the notes use.  None of them is a Vietnamese syllable, written with or
without its tone marks (``to``, ``an``, ``in``, ``on`` are, and are not listed), so a
Vietnamese sentence never trips it.
"""

from __future__ import annotations

import re
from pathlib import Path

from hlstudy import export

FIGURES = Path(__file__).resolve().parents[1] / "figures"

#: English words that no Vietnamese text contains as a word of its own.
ENGLISH_WORDS = frozenset("""
the of and with for is are was were be been by from not per each than which this that these
those when where only or at its it into over under between within without using used
estimation estimated estimate identification defaults default resamples respondents
percentile interval intervals seed diagonal square root latent correlations correlation
missing geometric standard error errors loadings loading
variance factor factors items item scale scales sample samples values value fit model
models threshold thresholds number share rows columns table note source total
""".split())

#: The field's English terms a Vietnamese thesis prints (in brackets after the Vietnamese
#: term: :data:`GLOSSED_TERMS`), removed before the words are read.
ALLOWED_TERMS = ("wild cluster bootstrap",)
R_FUNCTION = re.compile(r"\b[A-Za-z][\w.]*::[\w.]+(?:\s+[\w.]+)?")
R_ARGUMENT = re.compile(r"\b[\w.]+\s*=\s*(?:\"[^\"]*\"|'[^']*'|TRUE|FALSE)")
QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
CITATION = re.compile(r"[A-Z][\w–-]+(?:\s*(?:&|and|et al\.?)\s*[A-Z][\w–-]+)*\s*\(?\d{4}\)?")
WORD = re.compile(r"[A-Za-zÀ-ỹ]+")


def english_words(text: str) -> list[str]:
    """The English words of ``text`` that are not an allowed term (see the module docstring).

    >>> english_words("ML estimation, marker-variable identification (lavaan defaults).")
    ['defaults', 'estimation', 'identification']
    >>> english_words("Alpha: psych::alpha, KTC 95% Feldt; Hu & Bentler (1999) CFI ≥ 0,95.")
    []
    """
    text = text.replace(export.SIMULATED_MARK, " ")
    text = R_FUNCTION.sub(" ", text)
    text = R_ARGUMENT.sub(" ", text)
    text = QUOTED.sub(" ", text)
    text = CITATION.sub(" ", text)
    for term in ALLOWED_TERMS:
        text = text.replace(term, " ")
    return sorted({w for w in WORD.findall(text) if w.casefold() in ENGLISH_WORDS})


def _tex_texts(path: Path) -> list[tuple[str, str]]:
    """``(where, text)`` of a LaTeX table's caption, printed header row and note."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(lines):
        caption = re.match(r"\\caption\{(.*)\}", line)
        if caption:
            found.append(("title", re.sub(r"\}\\label\{.*", "", caption.group(1))))
        if line == r"\toprule" and i + 1 < len(lines) and "header" not in {w for w, _ in found}:
            found.append(("header", lines[i + 1]))
        if line.startswith(r"{\footnotesize \textit{"):
            found.append(("note", line))
    return found


def _csv_texts(path: Path) -> list[tuple[str, str]]:
    heads = [line[2:] for line in path.read_text(encoding="utf-8").splitlines()[:2]
             if line.startswith("# ")]
    return [(("title", "note")[i], text) for i, text in enumerate(heads)]


def english_in_vietnamese_tables(folder: Path) -> list[str]:
    """``"file (title|header|note): words"`` for each English text of the tables in ``folder``."""
    found = []
    for path in sorted(folder.glob("[0-9][0-9]_*")):
        if path.suffix not in (".csv", ".tex"):
            continue
        texts = _tex_texts(path) if path.suffix == ".tex" else _csv_texts(path)
        for where, text in texts:
            words = english_words(text)
            if words:
                found.append(f"{path.name} ({where}): {', '.join(words)} in {text[:160]!r}")
    return found


def test_vietnamese_tables_have_no_english_titles_notes_or_headers():
    assert len(list(FIGURES.glob("*.tex"))) > 50, "the committed Vietnamese tables are missing"
    left = english_in_vietnamese_tables(FIGURES)
    assert not left, "English in the Vietnamese tables:\n" + "\n".join(left)


def test_detector_finds_english_and_keeps_vietnamese(tmp_path, monkeypatch):
    """The check can fail: an English note, title and header are reported; a Vietnamese
    note quoting R functions, citations and the simulated-data mark is not."""
    import pandas as pd

    monkeypatch.setattr(export, "_language", "vi")
    table = pd.DataFrame({"Chỉ số": ["CFI", "RMSEA"], "Giá trị": [0.95, 0.04]})
    export.save_table(table, "98_good", title="Chỉ số phù hợp của mô hình CFA", simulated=True,
                      note="Ước lượng ML (lavaan::cfa, std.lv = FALSE); ngưỡng Hu & Bentler (1999); "
                           "wild cluster bootstrap, 'phù hợp'.", directory=tmp_path)
    assert english_in_vietnamese_tables(tmp_path) == []
    export.save_table(table.rename(columns={"Giá trị": "Value of the index"}), "99_bad",
                      title="Fit of the model", simulated=True,
                      note="ML estimation, marker-variable identification (lavaan defaults).",
                      directory=tmp_path)
    left = english_in_vietnamese_tables(tmp_path)
    assert sorted(line.split(":")[0] for line in left) == [
        "99_bad.csv (note)", "99_bad.csv (title)", "99_bad.tex (header)", "99_bad.tex (note)",
        "99_bad.tex (title)"]


# --------------------------------------------------------------------------- English terms glossed

#: English (or lavaan) names a Vietnamese text prints only in brackets just after the
#: Vietnamese term, for the examiner who knows the method by that name ("hệ số chuẩn hóa
#: (std.all)", "bootstrap hoang dã theo cụm (wild cluster bootstrap)"); never bare.  The
#: English exports keep the English.
GLOSSED_TERMS = {"wild cluster bootstrap": "bootstrap hoang dã theo cụm",
                 "wild bootstrap": "bootstrap hoang dã", "std.all": "chuẩn hóa"}
#: A text naming a function of the code, ``cfa.cfa (ML, fit, est, std.all)``.
CODE_NAME = re.compile(r"^[a-z_]+(?:\.[a-z_]+)+ \(")
#: How far before the opening bracket the Vietnamese term may end (a word or two between).
GLOSS_REACH = 60


def bare_terms(text: str) -> list[str]:
    """The terms of :data:`GLOSSED_TERMS` that ``text`` prints other than in brackets after
    their Vietnamese term.

    >>> bare_terms("hệ số tải chuẩn hóa (std.all); bootstrap hoang dã theo cụm (wild cluster "
    ...            "bootstrap) có ràng buộc; CR2 và bootstrap hoang dã")
    []
    >>> bare_terms("SEM tiềm ẩn: FIML, MLR, std.all; p (wild bootstrap); OLS, wild cluster bootstrap")
    ['std.all', 'wild bootstrap', 'wild cluster bootstrap']
    """
    found = []
    folded = text.casefold()
    if CODE_NAME.match(text):
        return []   # a function of the code and the names of its results (07_r_agreement)
    for term, vietnamese in GLOSSED_TERMS.items():
        for m in re.finditer(re.escape(term), folded):
            opening = folded.rfind("(", 0, m.start())
            inside = opening > folded.rfind(")", 0, m.start())
            if not (inside and vietnamese in folded[max(0, opening - GLOSS_REACH):opening]):
                found.append(term)
    return sorted(found)


def _vietnamese_paragraphs(markdown: str) -> list[str]:
    """The paragraphs of a notebook's markdown but its English summary."""
    return [p for p in re.split(r"\n\s*\n", markdown)
            if not p.lstrip("# ").startswith("**English summary.**")]


def glossed_terms_left(figures: Path, notebooks: Path) -> list[str]:
    """``"file: terms in text"`` for each Vietnamese table text (title, note, header, text
    cell) and notebook paragraph (markdown cells and printed markdown) with a bare term."""
    import csv
    import json

    found = []
    for path in sorted(figures.glob("[0-9][0-9]_*")):
        if path.suffix == ".tex":
            texts = [t for _, t in _tex_texts(path)]
        elif path.suffix == ".csv":
            lines = path.read_text(encoding="utf-8").splitlines()
            texts = [line for line in lines[:2] if line.startswith("# ")]
            texts += [cell for row in csv.reader(lines[len(texts):]) for cell in row]
        else:
            continue
        found += [f"{path.name}: {bare_terms(t)} in {t[:120]!r}" for t in texts if bare_terms(t)]
    for path in sorted(notebooks.glob("*.ipynb")):
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            texts = ["".join(cell["source"])] if cell["cell_type"] == "markdown" else []
            texts += ["".join(out["data"]["text/markdown"]) for out in cell.get("outputs", [])
                      if "text/markdown" in out.get("data", {})]
            found += [f"{path.name}: {bare_terms(p)} in {p[:120]!r}" for t in texts
                      for p in _vietnamese_paragraphs(t) if bare_terms(p)]
    return found


def test_vietnamese_texts_gloss_english_terms_in_brackets_only():
    root = FIGURES.parent
    left = glossed_terms_left(FIGURES, root / "notebooks")
    assert not left, "bare English terms in Vietnamese texts:\n" + "\n".join(left)


def test_glossed_terms_check_docstring_and_a_bad_table(tmp_path, monkeypatch):
    import doctest
    import sys

    assert doctest.testmod(sys.modules[__name__]).failed == 0
    monkeypatch.setattr(export, "_language", "vi")
    table = __import__("pandas").DataFrame({"Phương pháp": ["OLS, wild cluster bootstrap"],
                                            "p (wild bootstrap)": [0.05]})
    export.save_table(table, "99_bad", title="Bảng", simulated=False, formats=("csv", "tex"),
                      note="SEM tiềm ẩn: FIML, MLR, std.all.", directory=tmp_path)
    notebooks = tmp_path / "nb"
    notebooks.mkdir()
    left = glossed_terms_left(tmp_path, notebooks)
    assert len(left) == 5 and {line.split(":")[0] for line in left} == {"99_bad.csv", "99_bad.tex"}


def test_the_ledger_prints_each_adjusted_p_as_its_reason_does():
    """D3's adjusted p, 0.00349…, printed 0,003 in its reason and 0,004 in the table's column:
    the notebook rounded the column to four decimals (0.0035) before the table printed three.
    The column now holds the value itself, formatted once (``export.format_p``)."""
    import pandas as pd

    ledger = pd.read_csv(FIGURES / "06_claims_ledger.csv", comment="#")
    p_head, why_head = "p hiệu chỉnh", "Lý do"
    checked = 0
    for _, row in ledger.iterrows():
        said = re.findall(r"p hiệu chỉnh (= [0-9]+,[0-9]+|< 0,001)", str(row[why_head]))
        if len(said) != 1 or pd.isna(row[p_head]):   # one part: the column is that part's p
            continue
        printed = export.format_p(row[p_head], lang="vi")
        assert said[0].removeprefix("= ") == printed, (row["Mã"], said, printed)
        checked += 1
    assert checked >= 3
