"""The whole English export (``make.py export --lang en``) has no Vietnamese outside proper names.

The export is made once for this module (every notebook executed with English labels into a
temporary folder: about 30 s after a change of hlstudy's source, 8 s when only a notebook
changed; a notebook whose every input is as at the previous export is not executed again, its
kept files are written, :mod:`hlstudy._keptexport`).  Every table (``.csv``, ``.tex``, ``.docx``) and
``index.csv`` is read; what may stay Vietnamese is removed first:

* proper names: the communes of the registry (before and after 2025), the district and the
  province, personal and place names inside official titles (Hồ Chí Minh);
* legal document numbers (``33/2023/NĐ-CP``) and the bilingual simulated-data mark;
* columns that are Vietnamese on purpose: a machine CSV's ``*_vi`` columns, a column headed
  ``… (vi)`` (the official Vietnamese wording beside its translation) and the ``Source``
  column (citations quote their Vietnamese sources as published).

Whatever Vietnamese letter remains fails the test, naming the file and the text around it.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from pathlib import Path

import pytest

from hlstudy import export, runner

# on the worker of the notebooks' tests: the English export's kernels are forked from the
# same kernel fork server (runner._ForkServer, ~3 s of CPU to start) instead of a second one
pytestmark = pytest.mark.xdist_group("notebooks")

VI_LETTERS = re.compile(
    "[ăâđêôơưàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ]", re.IGNORECASE)
LEGAL_NUMBER = re.compile(r"\d+/\d{4}/[A-ZĐ0-9-]+", re.IGNORECASE)
PLACE_NAMES = ("Hữu Lũng", "Lạng Sơn", "Hồ Chí Minh", "Hà Nội",
               "Đô Lương", "Thiện Kỵ", "Tân Lập",   # the three units merged in 2019
               "Sơn Hà")                            # merged into the town in 2024
#: columns printed in Vietnamese on purpose (see the module docstring)
VIETNAMESE_COLUMN = re.compile(r"(_vi$|\(vi\)$|^Source$)")


def _proper_names() -> list[str]:
    from hlstudy.communes import communes, new_communes

    names = set(communes()["name"]) | set(new_communes()["name"]) | set(PLACE_NAMES)
    names |= {"TT " + n for n in communes()["name"]}
    return sorted(names, key=len, reverse=True)   # longest first: "Hữu Lũng" inside "TT Hữu Lũng"


def _docx_text(path: Path) -> str:
    xml = zipfile.ZipFile(path).read("word/document.xml").decode("utf-8")
    paragraphs = re.findall(r"<w:p[ >].*?</w:p>", xml, flags=re.S)
    return "\n".join(html.unescape("".join(re.findall(r"<w:t(?: [^>]*)?>([^<]*)</w:t>", p)))
                     for p in paragraphs)


def _allowed_cells(csv: Path) -> set[str]:
    """Cells of the columns that are Vietnamese on purpose, as written and as LaTeX prints them."""
    table = export.read_table_csv(csv)
    cells = set()
    for column in table.columns:
        if VIETNAMESE_COLUMN.search(str(column)):
            cells |= {str(v) for v in table[column].dropna()}
    return cells | {export.latex_escape(c) for c in cells}


def vietnamese_left(folder: Path) -> list[str]:
    """``"file: …text…"`` for the first Vietnamese letter left in each table of ``folder``."""
    names = _proper_names()
    found = []
    for path in sorted(folder.iterdir()):
        if path.suffix not in (".csv", ".tex", ".docx"):
            continue
        csv = path.with_suffix(".csv")
        allowed = sorted(_allowed_cells(csv) if csv.is_file() and path.name != "index.csv" else set(),
                         key=len, reverse=True)
        if path.suffix == ".docx":
            text = _docx_text(path)
        else:
            # a .tex cell's break points (export.latex_breakable) print nothing
            text = path.read_text(encoding="utf-8").replace(r"\allowbreak{}", "")
        if path.suffix == ".csv" and path.name != "index.csv":
            # the machine columns *_vi of a bilingual CSV: drop them before reading the rest
            lines = text.splitlines()
            head = [line for line in lines if line.startswith("# ")]
            table = export.read_table_csv(path)
            keep = [c for c in table.columns if not VIETNAMESE_COLUMN.search(str(c))]
            text = "\n".join(head) + "\n" + table[keep].to_csv(index=False)
        text = text.replace(export.SIMULATED_MARK, "")
        for cell in allowed:
            if cell:
                text = text.replace(cell, "")
        for name in names:
            text = text.replace(name, "")
        text = LEGAL_NUMBER.sub("", text)
        for match in VI_LETTERS.finditer(text):
            start = max(0, match.start() - 40)
            found.append(f"{path.name}: …{text[start:match.end() + 40]}…".replace("\n", " "))
            break   # one example per file is enough to name it
    return found


@pytest.fixture(scope="module")
def english_export(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("figures-en")
    runner.export_language("en", out, out=io.StringIO())
    return out


def test_english_export_has_no_vietnamese_outside_proper_names(english_export):
    tables = sorted(p.name for p in english_export.glob("*.tex"))
    assert len(tables) > 50, f"the English export wrote only {len(tables)} LaTeX tables"
    left = vietnamese_left(english_export)
    assert not left, "Vietnamese in the English export:\n" + "\n".join(left)


def test_english_findings_print_english_columns_only(english_export):
    """04_findings: the English table holds the English statements and verdicts under English
    headers, in every format (no JSON, no Python lists in the note, no Vietnamese column:
    the CSV was the bilingual machine table)."""
    tex = (english_export / "04_findings.tex").read_text(encoding="utf-8")
    assert "Claim & Finding & Verdict" in tex
    assert "key\\_numbers" not in tex and "statement" not in tex and "['" not in tex
    table = export.read_table_csv(english_export / "04_findings.csv")
    assert list(table.columns) == ["Claim", "Finding", "Verdict"]
    assert table["Verdict"].str.match(r"(Supported|Not supported|Inconclusive|Not testable): ").all()


def test_checker_finds_vietnamese(tmp_path, monkeypatch):
    """The check can fail: a Vietnamese group label is reported, a commune name, a legal
    number, the simulated-data mark and a *_vi machine column are not."""
    import pandas as pd

    monkeypatch.setattr(export, "_language", "en")
    good = pd.DataFrame({"Commune": ["Đồng Tân", "Hữu Lũng"], "Basis": ["33/2023/NĐ-CP", "x"],
                         "text_vi": ["Có", "Không"], "n": [5, 6]})
    export.save_table(good, "98_good", title="Good", simulated=True, directory=tmp_path)
    assert vietnamese_left(tmp_path) == []
    bad = good.assign(Group=["cán bộ, công chức", "người dân"])
    export.save_table(bad, "99_bad", title="Bad", simulated=True, directory=tmp_path)
    assert sorted(line.split(":")[0] for line in vietnamese_left(tmp_path)) == [
        "99_bad.csv", "99_bad.docx", "99_bad.tex"]


def test_english_figures_fit_the_page(english_export):
    """English labels are longer than Vietnamese ones in places: the English figures must fit
    the 155 × 220 mm a thesis page holds too (``tests/test_figure_size.py`` for the committed)."""
    limit = export.FIGURE_MAX_MM
    sizes = {p.name: export.figure_size_mm({"pdf": p.read_bytes()}) for p in sorted(english_export.glob("*.pdf"))}
    assert len(sizes) >= 20, f"the English export wrote only {len(sizes)} figures"
    big = [f"{name}: {w:.0f} × {h:.0f} mm" for name, (w, h) in sizes.items()
           if w > limit["width"] + 0.1 or h > limit["height"] + 0.1]
    assert not big, "English figures larger than the page:\n" + "\n".join(big)


def _note(csv: Path) -> str:
    """A table's note: the second comment line of its CSV (the first is the title)."""
    lines = [t for t in csv.read_text(encoding="utf-8").splitlines()[:3] if t.startswith("# ")]
    return lines[1][2:] if len(lines) > 1 else ""


def _digits(note: str) -> set[str]:
    """The numbers of a note as their digits, leading zeros dropped (0,05 = .05)."""
    return {re.sub(r"\D", "", n).lstrip("0") or "0"
            for n in re.findall(r"\d*(?:[.,]?\d+)+", note)}


def test_english_notes_say_what_the_vietnamese_notes_say(english_export):
    """An English note writes the Vietnamese note's symbols (≥, ≤, Δ), never ASCII stand-ins
    (``>=``, ``dCFI``), prints no number the Vietnamese note does not (the simulated unit
    classes' seed and probabilities leaked into one), and keeps what the Vietnamese says of the staffing
    maximum (below it is no shortage)."""
    from hlstudy.paths import FIGURES

    checked = 0
    for vi_csv in sorted(FIGURES.glob("*.csv")):
        en_csv = english_export / vi_csv.name
        if vi_csv.name == "index.csv" or not en_csv.is_file():
            continue
        vi, en = _note(vi_csv), _note(en_csv)
        checked += bool(vi)
        for symbol in "≥≤Δ":
            assert vi.count(symbol) == en.count(symbol), (vi_csv.name, symbol, vi, en)
        assert not re.search(r">=|<=|\bd(CFI|RMSEA)\b", en), (vi_csv.name, en)
        # every number of the English note is one of the Vietnamese note's (digits compared,
        # whatever the separators): nothing printed in one language only
        assert _digits(en) <= _digits(vi), (vi_csv.name, sorted(_digits(en) - _digits(vi)), en)
    assert checked > 50
    vi, en = _note(FIGURES / "04_staffing_quota.csv"), _note(english_export / "04_staffing_quota.csv")
    assert "dưới mức tối đa không phải là thiếu" in vi and "not a shortage" in en, en
