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

#: The field's English terms a Vietnamese thesis prints as they are (software, estimators,
#: named methods), removed before the words are read.
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
