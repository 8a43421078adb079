"""A printed negative number carries the minus sign (U+2212), never a hyphen.

The Vietnamese findings table printed "(KTC 95%: -0,05 đến 0,12)" in its statement and
"[−0,052; 0,117]" in the verdict of the same row; the tables' cells ("-0,219") and the
notebooks' prose ("ΔCFI = -0,004") wrote hyphens.  One rule now (``hlstudy.export.MINUS``,
written by ``export.number``, ``export.format_number`` and the findings' and ledger's own
formatters): every printed text of the committed tables (``.tex``, ``.docx``, the CSV's title,
note, headers and text cells) and of the committed notebooks (markdown cells and the prose
they print) writes a negative number with the minus sign.  Machine-readable numeric CSV
columns stay plain numbers, and a displayed data frame is the program's view (its numbers
as Python writes them).

A hyphen is taken for a minus sign when it starts a number: a digit follows it and it follows
the start of the text, a space, an opening bracket, ``;``, ``:``, ``=``, ``,`` or a markdown
emphasis mark.  A hyphen after a letter or a digit is a hyphen: "D1-D5", a range "1-5", a
date "2025-07-01", a code "HL06385-01", LaTeX's ``\\linewidth-2\\tabcolsep``.
"""

from __future__ import annotations

import csv
import json
import re
import zipfile
from pathlib import Path

import pandas as pd

from hlstudy import export

ROOT = Path(__file__).resolve().parents[1]
HYPHEN_MINUS = re.compile(r"(?:^|(?<=[\s(\[{;:=,*_]))-\d[\d.,]*")
DOCX_TEXT = re.compile(r"<w:t(?:\s[^>]*)?>([^<]*)</w:t>")


def hyphen_negatives(text: str) -> list[str]:
    r"""The negative numbers of ``text`` written with a hyphen, each with what precedes it.

    >>> hyphen_negatives("(KTC 95%: -0,05 đến 0,12); ΔCFI = -0,004; **-0,008**")
    ['(KTC 95%: -0,05', '); ΔCFI = -0,004', '-0,004; **-0,008']
    >>> hyphen_negatives("D1-D5; thang 1-5; 2025-07-01; HL06385-01; \\linewidth-2 −0,05 -/+")
    []
    """
    return [text[max(0, m.start() - 10):m.end()].strip() for m in HYPHEN_MINUS.finditer(text)]


def _machine_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _csv_texts(path: Path) -> list[str]:
    """A table CSV's printed texts: title and note lines, headers and text cells (a cell
    holding a number alone is machine-readable and keeps its ``-``)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    heads = [line for line in lines[:2] if line.startswith("# ")]
    rows = csv.reader(lines[len(heads):])
    return heads + [cell for row in rows for cell in row if not _machine_number(cell)]


def _notebook_texts(path: Path) -> list[str]:
    """A notebook's prose: its markdown cells and the markdown its code cells print."""
    texts = []
    for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
        if cell["cell_type"] == "markdown":
            texts.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            if "text/markdown" in out.get("data", {}):
                texts.append("".join(out["data"]["text/markdown"]))
    return texts


def printed_hyphen_negatives(figures: Path, notebooks: Path) -> list[str]:
    """``"file: context"`` of every negative number printed with a hyphen."""
    found = []
    for path in sorted(figures.glob("[0-9][0-9]_*")):
        if path.suffix == ".tex":
            texts = [path.read_text(encoding="utf-8")]
        elif path.suffix == ".docx":
            with zipfile.ZipFile(path) as z:
                texts = DOCX_TEXT.findall(z.read("word/document.xml").decode("utf-8"))
        elif path.suffix == ".csv":
            texts = _csv_texts(path)
        else:
            continue
        found += [f"{path.name}: {c}" for t in texts for c in hyphen_negatives(t)]
    for path in sorted(notebooks.glob("*.ipynb")):
        found += [f"{path.name}: {c}" for t in _notebook_texts(path) for c in hyphen_negatives(t)]
    return found


def test_docstring_examples_run():
    import doctest
    import sys

    assert doctest.testmod(sys.modules[__name__]).failed == 0


def test_committed_tables_and_notebooks_print_negative_numbers_with_the_minus_sign():
    assert len(list((ROOT / "figures").glob("*.docx"))) > 50
    left = printed_hyphen_negatives(ROOT / "figures", ROOT / "notebooks")
    assert not left, "negative numbers printed with a hyphen:\n" + "\n".join(left[:40])


def test_the_check_finds_a_hyphen_in_each_kind_of_file(tmp_path, monkeypatch):
    figures, notebooks = tmp_path / "figures", tmp_path / "notebooks"
    notebooks.mkdir()
    nb = {"cells": [{"cell_type": "markdown", "source": ["Thang 1-5; ΔCFI = −0,004"]},
                    {"cell_type": "code", "source": [], "outputs": [
                        {"output_type": "display_data", "data": {"text/markdown": "ρ = −0,42"}}]}]}
    (notebooks / "01_x.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    assert printed_hyphen_negatives(figures, notebooks) == []
    nb["cells"][1]["outputs"][0]["data"]["text/markdown"] = "ρ = -0,42"
    (notebooks / "01_x.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    monkeypatch.setattr(export, "_language", "vi")
    # a text cell typed with a hyphen; the number column prints −0,22 (and the CSV keeps -0.219)
    table = pd.DataFrame({"Mã": ["D2"], "Kết quả": ["chênh 0,03 (KTC 95%: -0,05 đến 0,12)"],
                          "β": [-0.219]})
    export.save_table(table, "99_bad", title="Bảng", simulated=False, directory=figures)
    found = printed_hyphen_negatives(figures, notebooks)
    assert sorted(line.split(":")[0] for line in found) == [
        "01_x.ipynb", "99_bad.csv", "99_bad.docx", "99_bad.tex"], found
    assert not any("0,22" in line or "0.219" in line for line in found)


#: A number below 10.000 grouped by a dot ("5.172 người"): Vietnamese texts group from 10.000
#: up (``export.number``, ``export.format_number``).  A leading digit 1-9, one dot, three
#: digits, not part of a longer number, a version ("3.11.7") or a word.
SMALL_GROUPED = re.compile(r"(?<![\w.,])[1-9]\.\d{3}(?![\d.])")


def small_grouped(text: str) -> list[str]:
    """Numbers of a Vietnamese ``text`` below 10.000 written with a thousands dot.

    >>> small_grouped("xã Sơn Hà (6,05 km², 5.172 người); 121.735 người; 1779,4; 3.11.7; v2.345")
    ['5.172']
    """
    return [m.group(0) for m in SMALL_GROUPED.finditer(text)]


def test_vietnamese_texts_group_thousands_only_from_ten_thousand():
    """The reference notes printed "5.172 người" in 01_district_facts and 01_legal_frame while
    every computed number groups from 10.000 up (1779,4 beside 121.735)."""
    found = []
    for path in sorted((ROOT / "figures").glob("[0-9][0-9]_*.csv")):
        found += [f"{path.name}: {n}" for t in _csv_texts(path) for n in small_grouped(t)]
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        found += [f"{path.name}: {n}" for t in _notebook_texts(path) for n in small_grouped(t)]
    assert not found, found[:20]
