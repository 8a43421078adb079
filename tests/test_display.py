"""hlstudy.display: the numbers of the data frames a notebook shows."""

import doctest
import re

import pandas as pd
import pytest

from hlstudy import display
from hlstudy.export import ExportError


@pytest.fixture
def restored():
    yield
    for option in ("display.float_format", "display.max_colwidth", "display.max_columns"):
        pd.reset_option(option)


def test_docstring_examples_run():
    assert doctest.testmod(display).failed == 0


@pytest.mark.parametrize(("value", "decimals", "shown"), [
    (1504.0, 3, "1504"), (-3.0, 3, "-3"), (0.0, 3, "0"), (-0.0, 3, "0"), (-0.0004, 3, "-4.00e-04"), (0.757419, 3, "0.757"),
    (0.0005, 3, "0.001"), (0.00049, 3, "4.90e-04"), (0.0006, 3, "0.001"),
    (1779.446363, 2, "1779.45"), (0.004, 2, "4.00e-03"), (2.5, 0, "2"), (0.4, 0, "4.00e-01"), (0.5, 0, "5.00e-01"), (0.6, 0, "1"),
    (1e16 + 2, 3, "10000000000000002.000"), (float("inf"), 3, "inf"), (float("-inf"), 3, "-inf"),
])
def test_float_text(value, decimals, shown):
    assert display.float_text(value, decimals) == shown


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3", None])
def test_decimals_must_be_a_whole_non_negative_number(bad):
    with pytest.raises(ExportError, match="decimals"):
        display.float_text(1.0, bad)
    with pytest.raises(ExportError, match="decimals"):
        display.show_numbers_as_read(bad)


def test_a_displayed_frame_shows_rounded_numbers_and_keeps_its_values(restored):
    df = pd.DataFrame({"chi2": [1779.446363, 120.852364], "df": [1504.0, 113.0],
                       "p_value": [9.838075e-07, 0.289511], "n": [203, 434]})
    before = df.copy()
    display.show_numbers_as_read()
    text, html = df.to_string(), df._repr_html_()
    for shown in ("1779.446", "1504", "9.84e-07", "0.290", "203"):
        assert shown in text and shown in html, shown
    assert "e+03" not in text and "1504.000" not in text and "0.289511" not in html
    pd.testing.assert_frame_equal(df, before)   # the values are not rounded


def test_a_displayed_frame_shows_every_text_and_column_in_full(restored):
    long = "Ở những xã có chất lượng đội ngũ cán bộ, công chức cao hơn, người dân hài lòng hơn."
    df = pd.DataFrame({f"c{k}": [long] for k in range(25)})
    display.show_numbers_as_read()
    text, html = df.to_string(), df._repr_html_()
    assert long in html and long in text and "c24" in html and "..." not in html


def test_committed_notebooks_show_no_cut_text():
    """pandas cut every text cell at 50 characters ("Ở những xã có chất lượng đội ngũ cán
    bộ, c..."): 140 cells of the committed notebooks did."""
    import json
    import re

    from hlstudy.paths import NOTEBOOKS

    for committed in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(committed.read_text(encoding="utf-8"))["cells"]
        html = ["".join(o.get("data", {}).get("text/html", []))
                for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
        # a cut text ends in "..." after its first characters; a cut column list shows "..." in
        # the header (a long frame's rows may still be cut: "<td>...</td>" on a row of its own)
        cut = [h for h in html if re.search(r"[^>\s]\.\.\.</td>", h)
               or re.search(r"<thead>(?:(?!</thead>).)*<th>\.\.\.</th>", h, re.S)]
        assert not cut, committed.name


def test_notebooks_display_frames_unrounded():
    """A frame rounded before it is shown turns p = 0.0004 into 0 and -0.0004 into -0: the
    notebooks leave the rounding to show_numbers_as_read, which each of them calls."""
    import re

    from hlstudy.paths import NOTEBOOKS

    for source in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py")):
        text = source.read_text(encoding="utf-8")
        assert "show_numbers_as_read()" in text, source.name
        rounded = [line.strip() for line in text.splitlines()
                   if re.search(r"\bdisplay\(.*\.round\(", line)]
        assert rounded == [], f"{source.name}: {rounded}"


def test_no_notebook_shows_an_empty_table():
    """A table of flagged items with no flagged item was shown as "Empty DataFrame" beside the
    sentence that already said so (notebook 03): a notebook shows such a table only when it
    has rows."""
    import json

    from hlstudy.paths import NOTEBOOKS

    for committed in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(committed.read_text(encoding="utf-8"))["cells"]
        shown = ["".join(o.get("data", {}).get("text/plain", []))
                 for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
        assert not [t for t in shown if t.startswith("Empty DataFrame")], committed.name


# --------------------------------------------------------------------------- one column, one format

def test_a_column_shows_one_number_of_decimals(restored, monkeypatch):
    """A column of means showed "4" for a mean of exactly 4 beside "3.750" (the float format
    sees one value, not its column): in a notebook kernel every data frame and series is shown
    column by column."""
    import types

    import IPython
    from IPython.core.formatters import DisplayFormatter

    shell = types.SimpleNamespace(display_formatter=DisplayFormatter())
    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    df = pd.DataFrame({"commune": ["a", "b", "c"], "ETH": [3.75, 4.0, float("nan")],
                       "n": [1504.0, 3.0, 2.0], "p": [9.8e-07, 0.5, -0.25], "k": [1, 2, 3],
                       "mixed": [1000, 0.1, 2026]})
    display.show_numbers_as_read()
    data, _ = shell.display_formatter.format(df)
    html, text = data["text/html"], data["text/plain"]
    for shown in ("3.750", "4.000", "NaN", "1504", "9.80e-07", "0.500", "-0.250",
                  "1000.000", "0.100", "2026.000"):
        assert f"<td>{shown}</td>" in html and shown in text, shown
    assert "<td>4</td>" not in html and "1504.000" not in text
    assert text == display.frame_text(df) and html == display.frame_html(df)
    assert pd.DataFrame({"a": [1.0]}).to_string() == "   a\n0  1"   # pandas itself unchanged
    series, _ = shell.display_formatter.format(df["ETH"])
    assert "4.000" in series["text/plain"] and "Name: ETH" in series["text/plain"]


NUMBER = re.compile(r"-?\d+(?:\.(\d+))?")
SCIENTIFIC = re.compile(r"-?\d\.\d+e[-+]\d+")


def mixed_decimal_columns(html: str) -> list[str]:
    """The columns of a displayed HTML table whose plain numbers do not all have the same
    number of decimals (cells in scientific notation, ``NaN`` and empty cells aside; a column
    with any other text is not a numeric column)."""
    rows = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)
            for r in re.findall(r"<tr[^>]*>(.*?)</tr>", html, re.S)]
    if len(rows) < 2:
        return []
    width = len(rows[-1])
    body = [r for r in rows if len(r) == width and r is not rows[0]]
    found = []
    for j in range(width):
        cells = [r[j].strip() for r in body]
        if not cells or any(not (NUMBER.fullmatch(c) or SCIENTIFIC.fullmatch(c)
                                 or c in ("NaN", "", "&lt;NA&gt;", "...")) for c in cells):
            continue
        places = {len(m.group(1) or "") for c in cells if (m := NUMBER.fullmatch(c))}
        if len(places) > 1:
            header = rows[0][j] if j < len(rows[0]) else "?"
            found.append(f"{header!r}: {[c for c in cells if NUMBER.fullmatch(c)][:6]}")
    return found


def test_committed_notebooks_show_each_numeric_column_with_one_number_of_decimals():
    import json
    from pathlib import Path

    notebooks = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
    assert len(notebooks) == 7
    left = []
    for path in notebooks:
        nb = json.loads(path.read_text(encoding="utf-8"))
        for i, cell in enumerate(nb["cells"]):
            for out in cell.get("outputs", []):
                html = "".join(out.get("data", {}).get("text/html", ""))
                left += [f"{path.stem} cell {i}: {c}" for c in mixed_decimal_columns(html)]
    assert not left, "displayed columns with whole numbers beside decimals:\n" + "\n".join(left)


def test_the_check_finds_a_column_of_mixed_decimals():
    old = ("<table><thead><tr><th></th><th>ETH</th><th>n</th></tr></thead><tbody>"
           "<tr><th>Cai Kinh</th><td>3.750</td><td>5</td></tr>"
           "<tr><th>Hữu Liên</th><td>4</td><td>NaN</td></tr></tbody></table>")
    assert mixed_decimal_columns(old) == ["'ETH': ['3.750', '4']"]
    assert mixed_decimal_columns(old.replace("<td>4</td>", "<td>4.000</td>")) == []
