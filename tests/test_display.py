"""hlstudy.display: the numbers of the data frames a notebook shows."""

import doctest

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
