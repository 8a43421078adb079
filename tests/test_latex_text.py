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
import re
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


# --- the tables fit the thesis' text width -------------------------------------------------

_SPEC_COLUMN = re.compile(r">\{(\\[a-z]+)?(?:\\(raggedright|raggedleft)\\arraybackslash)?\}"
                          r"(?:p\{\\dimexpr ([0-9.]+)\\linewidth-2\\tabcolsep\\relax\}|([lr]))|([lr])")


def _spec_columns(tex: str) -> tuple[list, str, float]:
    """The columns of a written table (``("p", share)`` or ``("l", None)``), its cells' LaTeX
    type size and its ``\\tabcolsep`` in points."""
    spec = re.search(r"\\begin\{(?:tabular|longtable)\}\{(.*)\}$", tex, flags=re.M).group(1)
    columns, size = [], "normalsize"
    pos = 0
    while pos < len(spec):
        m = _SPEC_COLUMN.match(spec, pos)
        assert m, spec[pos:]
        if m.group(1):
            size = m.group(1)[1:]
        columns.append(("p", float(m.group(3))) if m.group(3) else (m.group(4) or m.group(5), None))
        pos = m.end()
    for line in tex.splitlines():
        if line.strip() in (r"\footnotesize", r"\scriptsize"):
            size = line.strip()[1:]
    sep = re.search(r"\\setlength\{\\tabcolsep\}\{([0-9.]+)pt\}", tex)
    return columns, size, float(sep.group(1)) if sep else 6.0


def _printed_width_pt(df: pd.DataFrame, tex: str, decimals: int) -> tuple[float, float]:
    """The width in points a written ``.tex`` table takes in a 12 pt thesis (one-line columns
    as wide as their widest cell or header, paragraph columns their share of the 15.5 cm line,
    each with its gap), and how far the longest unbreakable piece of a paragraph column's
    text sticks out of it (0 when none does)."""
    columns, size, sep = _spec_columns(tex)
    cells = export._printed_cells(df, decimals)
    width, out = 0.0, 0.0
    for j, (_kind, share) in enumerate(columns):
        texts = [str(df.columns[j])] + [row[j] for row in cells]
        if share is None:
            width += max(export.latex_text_width(t, size) for t in texts) + 2 * sep
            continue
        room = share * export.LATEX_TEXT_PT - 2 * sep
        width += share * export.LATEX_TEXT_PT
        pieces = [p for t in texts for w in t.split() for p in export.latex_breakable(w)]
        out = max([out] + [export.latex_text_width(p, size) - room for p in pieces])
    return width, out


#: The committed tables that ran over a 15.5 cm line at 12 pt (by 96–104, 62–84, 62–83, 45–65
#: and 9–17 pt) when their widths were counted in characters, and one that was set in a
#: column narrower than its code names.
WIDE_TABLES = ("07_r_agreement", "03_efa_loadings_officials", "03_invariance_kind",
               "03_fornell_larcker_officials", "06_claims_ledger", "01_legal_frame")


@pytest.mark.parametrize("stem", WIDE_TABLES)
def test_wide_tables_are_planned_within_the_text_width(stem):
    """Planned in the fonts' widths (an uppercase code, a digit, a math minus are wider than an
    average character; ``2\\tabcolsep`` is 12 pt at any type size), each of these tables fits
    the 15.5 cm line of a 12 pt thesis, and no word of a wrapping column is wider than it."""
    export.set_language("vi")
    df = export.read_table_csv(FIGURES / f"{stem}.csv")
    tex = export.table_to_latex(df, title="t", label="x", decimals=3)
    width, out = _printed_width_pt(df, tex, 3)
    assert width <= export.LATEX_TEXT_PT + 0.5, (stem, width - export.LATEX_TEXT_PT)
    assert out <= 0.5, (stem, out)


def _overfull_tables(log: str, limit: float = 1.0) -> dict[str, float]:
    """The widest ``Overfull \\hbox`` over ``limit`` points of each table in a log whose tables
    are announced by ``\\typeout{TABLE stem}``."""
    table, worst = None, {}
    for line in log.splitlines():
        if m := re.match(r"TABLE (\S+)", line):
            table = m.group(1)
        elif (m := re.match(r"Overfull \\hbox \(([0-9.]+)pt too wide\)", line)) and float(m.group(1)) > limit:
            worst[table] = max(worst.get(table, 0.0), float(m.group(1)))
    return worst


@pytest.mark.skipif(os.environ.get("HLSTUDY_CHECK_LATEX") != "1",
                    reason="compiles the tables with TeX: set HLSTUDY_CHECK_LATEX=1 where "
                           "pdflatex is installed")
@pytest.mark.parametrize("points", ["12pt", "11pt", "10pt"])
def test_every_table_fits_the_text_width_of_a_thesis(points, tmp_path):
    """Every committed table, typeset by pdfLaTeX (the README's Vietnamese set-up) in a report
    of 12 pt (the thesis' size), 11 or 10 pt on A4 with 3 cm and 2.5 cm side margins (15.5 cm
    of text), is no wider than the line and none of its cells sticks out of its column: no
    ``Overfull \\hbox`` over 1 pt.  Counted in characters, 07_r_agreement ran 104 pt over at
    12 pt, 03_efa_loadings_officials 84, 03_invariance_kind 83, 03_fornell_larcker_officials
    65 and 06_claims_ledger 17.  Compiled until the longtables' column widths settle."""
    if shutil.which("pdflatex") is None:
        pytest.fail("HLSTUDY_CHECK_LATEX=1 but pdflatex is not installed")
    tables = sorted(FIGURES.glob("*.tex"))
    body = "\n".join(rf"\typeout{{TABLE {p.stem}}}\input{{{p.as_posix()}}}\clearpage" for p in tables)
    (tmp_path / "thesis.tex").write_text("\n".join([
        rf"\documentclass[{points},a4paper]{{report}}",
        r"\usepackage[T5]{fontenc}", r"\usepackage[utf8]{inputenc}",
        r"\usepackage[vietnamese]{babel}", r"\usepackage{booktabs,longtable,array}",
        r"\usepackage[left=3cm,right=2.5cm,top=2.5cm,bottom=2.5cm]{geometry}",
        r"\begin{document}", r"\typeout{TEXTWIDTH \the\textwidth}", body,
        r"\end{document}", ""]), encoding="utf-8")
    for _ in range(4):   # a longtable's columns take their widths from the previous run
        run = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "thesis.tex"],
                             cwd=tmp_path, capture_output=True, timeout=600)
        log = (tmp_path / "thesis.log").read_text(encoding="utf-8", errors="replace")
        assert run.returncode == 0, log[-3000:]
        if "Column widths have changed" not in log and "Rerun" not in log:
            break
    else:
        pytest.fail("the longtables' column widths did not settle in four runs")
    width = float(re.search(r"TEXTWIDTH ([0-9.]+)pt", log).group(1))
    assert width == pytest.approx(export.LATEX_TEXT_PT, abs=0.1)
    assert _overfull_tables(log) == {}


def test_code_names_break_where_tex_may_and_numbers_never():
    for text, pieces in [("cfa.measurement_invariance", ["cfa.", "measurement_", "invariance"]),
                         ("lavaan::standardizedSolution", ["lavaan::", "standardized", "Solution"]),
                         ("1246/NQ-UBTVQH15", ["1246/", "NQ-", "UBTVQH15"]),
                         ("−0,127", ["−0,127"]), ("1e-08", ["1e-08"]), ("30/06/2025", ["30/06/2025"]),
                         ("Hệ số tải", ["Hệ số tải"])]:
        assert export.latex_breakable(text) == pieces
    with pytest.raises(export.ExportError, match="type size"):
        export.latex_text_width("x", "tiny")


def test_the_last_resort_narrows_the_gaps_of_this_table_only():
    """A table too wide for the line even in ``\\scriptsize`` gets narrower column gaps, set
    inside its float (a group) or in a group around its longtable, so that the tables after it
    keep LaTeX's 6 pt; its code names break after their dots (``\\allowbreak{}``, never after a
    hyphen, where TeX breaks by itself), in its wrapping columns only."""
    names = ["diagnostic.intervals.stratified_mean", "cfa.measurement_invariance"]
    df = pd.DataFrame({"Hàm": names, "Mã": ["ĐH-01", "ĐH-02"]}
                      | {f"Cột {i}": [-0.123, 0.456] for i in range(11)})
    layout = export.column_layout(df, export._printed_cells(df, 3), latex=True)
    assert layout.size == "scriptsize" and layout.tabcolsep < export.LATEX_TABCOLSEP_PT
    tex = export.table_to_latex(df, title="t", label="x", decimals=3)
    lines = tex.splitlines()
    assert lines.index(r"\scriptsize") + 1 == lines.index(rf"\setlength{{\tabcolsep}}{{{layout.tabcolsep:g}pt}}")
    assert r"diagnostic.\allowbreak{}intervals.\allowbreak{}stratified\_\allowbreak{}mean" in tex
    assert "ĐH-01" in tex and r"-\allowbreak" not in tex
    width, out = _printed_width_pt(df, tex, 3)
    assert width <= export.LATEX_TEXT_PT + 0.5 and out <= 0.5
    long = pd.concat([df] * 20, ignore_index=True)
    lines = export.table_to_latex(long, title="t", label="x", decimals=3).splitlines()
    assert lines[:2] == [r"\begingroup", rf"\setlength{{\tabcolsep}}{{{layout.tabcolsep:g}pt}}"]
    assert lines.index(r"\endgroup") == lines.index(r"\end{longtable}") + 1
