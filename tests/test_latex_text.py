"""The ``.tex`` tables compile under pdfLaTeX's Vietnamese set-up as well as under XeLaTeX.

pdfLaTeX with ``\\usepackage[T5]{fontenc}``, ``[utf8]{inputenc}`` and ``[vietnamese]{babel}``
(the README's route) typesets the letters of the Vietnamese alphabet as text and stops at any
other character beyond ASCII ("Unicode character → (U+2192) not set up for use with LaTeX").
So a table file holds Vietnamese letters and ASCII only; every other symbol is a command
(:func:`hlstudy.export.latex_escape`).  The compilation itself is checked where a TeX system
is installed and ``HLSTUDY_CHECK_LATEX=1`` (:func:`test_every_table_compiles_with_pdflatex_and_xelatex`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from hlstudy import export

FIGURES = Path(__file__).resolve().parent.parent / "figures"


def _foreign(text: str) -> dict[str, int]:
    """Characters beyond ASCII that are not Vietnamese letters, with their counts."""
    found: dict[str, int] = {}
    for ch in text:
        if ord(ch) > 127 and ch not in export.LATEX_TEXT_LETTERS:
            found[ch] = found.get(ch, 0) + 1
    return found


def test_vietnamese_letters_are_the_whole_alphabet_and_nothing_else():
    letters = export.LATEX_TEXT_LETTERS
    # 12 vowels x 6 tones x 2 cases, with đ/Đ; 'ă', 'ờ', 'Ữ', 'ỵ' are letters, '→', 'β' are not
    assert len(letters) == 12 * 6 * 2 + 2
    assert {"ă", "ờ", "Ữ", "ỵ", "đ", "Đ", "ư"} <= letters
    assert not {"→", "β", "ç", "ñ", "ü", "²"} & letters


@pytest.mark.parametrize("symbol", sorted("→≤≥−–—“”…²×βχΔρ✗√·κμµ°εδνω≈θπΣΩ∞\u00a0"))
def test_symbols_become_commands(symbol):
    escaped = export.latex_escape(f"a {symbol} b")
    assert _foreign(escaped) == {}
    assert escaped.startswith("a ") and escaped.endswith(" b")


def test_vietnamese_text_is_kept_as_it_is():
    text = "Ủy ban nhân dân xã Hữu Liên: đạt tiêu chuẩn"
    assert export.latex_escape(text) == text


def test_committed_tables_hold_only_vietnamese_letters_beyond_ascii():
    faults = {}
    for path in sorted(FIGURES.glob("*.tex")):
        if found := _foreign(path.read_text(encoding="utf-8")):
            faults[path.name] = found
    assert faults == {}


def test_written_table_with_symbols_has_none_left(tmp_path):
    df = pd.DataFrame({"Đường dẫn": ["SUP → MOT", "ENV → PRO"], "β": [-0.12, 0.34],
                       "Ngưỡng": ["≥ 0,90", "≤ 0,08"]})
    tex = export.table_to_latex(df, title="χ² và ΔCFI – “thử”", label="t", note="✗: ngoài dải")
    assert _foreign(tex) == {}
    assert r"\ensuremath{\rightarrow}" in tex and r"\ensuremath{\chi}\textsuperscript{2}" in tex


PREAMBLES = {
    "pdflatex": "\n".join([
        r"\documentclass[12pt,a4paper]{article}",
        r"\usepackage[T5]{fontenc}", r"\usepackage[utf8]{inputenc}",
        r"\usepackage[vietnamese]{babel}",
        r"\usepackage{booktabs,longtable,array}"]),
    "xelatex": "\n".join([
        r"\documentclass[12pt,a4paper]{article}", r"\usepackage{fontspec}",
        r"\setmainfont{DejaVu Serif}", r"\usepackage{booktabs,longtable,array}"]),
}


@pytest.mark.skipif(os.environ.get("HLSTUDY_CHECK_LATEX") != "1",
                    reason="compiles the tables with TeX: set HLSTUDY_CHECK_LATEX=1 where "
                           "pdflatex and xelatex are installed")
@pytest.mark.parametrize("engine", sorted(PREAMBLES))
def test_every_table_compiles_with_pdflatex_and_xelatex(engine, tmp_path):
    if shutil.which(engine) is None:
        pytest.fail(f"HLSTUDY_CHECK_LATEX=1 but {engine} is not installed")
    tables = sorted(FIGURES.glob("*.tex"))
    body = "\n".join(rf"\input{{{p.as_posix()}}}\clearpage" for p in tables)
    (tmp_path / "all.tex").write_text(
        PREAMBLES[engine] + "\n\\begin{document}\n" + body + "\n\\end{document}\n", encoding="utf-8")
    run = subprocess.run([engine, "-interaction=nonstopmode", "-halt-on-error", "all.tex"],
                         cwd=tmp_path, capture_output=True, timeout=600)
    log = (tmp_path / "all.log").read_text(encoding="utf-8", errors="replace")
    assert run.returncode == 0, log[-3000:]
    assert "Unicode character" not in log
    assert "Missing character" not in log


def test_a_character_without_a_command_is_an_error_naming_it_and_the_cell():
    """pdfLaTeX's T5 set-up stops at a character beyond ASCII that is not a Vietnamese letter
    ("not set up for use with LaTeX"): latex_escape said the table compiles and passed it
    through; now it says which character, in which text and cell."""
    with pytest.raises(export.ExportError, match=r"'ç' \(U\+00E7 LATIN SMALL LETTER C WITH "
                                                 r"CEDILLA\) in 'Façade'"):
        export.latex_escape("Façade")
    df = pd.DataFrame({"Tên": ["Hữu Liên", "Naïve"], "n": [12, 30]})
    with pytest.raises(export.ExportError,
                       match=r"'ï' .* in 'Naïve' \(table t, row 2, column 'Tên'\)"):
        export.table_to_latex(df, title="Thử", label="t")
    with pytest.raises(export.ExportError, match=r"\(table t, note\)"):
        export.table_to_latex(df.head(1), title="Thử", label="t", note="✪ đánh dấu")


def test_decomposed_vietnamese_letters_are_composed_not_refused():
    import unicodedata

    text = "Ủy ban nhân dân xã Hữu Liên"
    assert export.latex_escape(unicodedata.normalize("NFD", text)) == text
