"""Thesis export: diacritics, deterministic files, suppression, LaTeX and Word output."""

import hashlib
import re
import warnings
import zipfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from hlstudy import export  # noqa: E402

# the demonstration figures here are not for print: wider than the page (FigureSizeWarning,
# tested in tests/test_figure_size.py) on purpose, with a long Vietnamese title
pytestmark = pytest.mark.filterwarnings("ignore::hlstudy.export.FigureSizeWarning")

VI_TEXT = "Chất lượng cán bộ, công chức cấp xã – Hữu Lũng, Lạng Sơn (ặ ẵ ỹ ự ữ Đ ơ ư ẫ ỷ)"


@pytest.fixture(autouse=True)
def _vietnamese():
    export.set_language("vi")
    export.use_style()
    yield
    export.set_language("vi")
    plt.close("all")


def _figure(title=VI_TEXT):
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(["Nam", "Nữ", "Dân tộc Nùng"], [3, 4, 5])
    ax.set_title(title)
    ax.set_ylabel(export.tr("Số người", "People"))
    return fig


def _digest(paths):
    return {ext: hashlib.sha256(p.read_bytes()).hexdigest() for ext, p in paths.items()}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """``_figure()`` saved once each way several tests read (the same call every time):
    ``"simulated"`` in the default formats (no setting), and the warnings that save issued;
    ``"real"`` unmarked, in the formats ``HLSTUDY_FIGURE_FORMATS="svg, PDF png"`` asks for
    (no ``hlstudy.toml``)."""
    import hlstudy.config

    out = {}
    export.set_language("vi")
    export.use_style()
    with pytest.MonkeyPatch.context() as m:
        m.delenv("HLSTUDY_FIGURE_FORMATS", raising=False)
        m.setattr(hlstudy.config, "ROOT", tmp_path_factory.mktemp("no-settings"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")   # as pytest's recwarn
            out["simulated"] = export.save_figure(_figure(), "99_demo", simulated=True,
                                                  directory=tmp_path_factory.mktemp("simulated"))
        out["simulated-warnings"] = [str(w.message) for w in caught]
        m.setenv("HLSTUDY_FIGURE_FORMATS", "svg, PDF png")
        out["real"] = export.save_figure(_figure(), "99_demo", simulated=False,
                                         directory=tmp_path_factory.mktemp("real"))
    plt.close("all")
    return out


def test_figure_written_as_pdf_and_300_dpi_png_by_default(saved):
    paths = saved["simulated"]   # saved with no format setting
    assert sorted(paths) == ["pdf", "png"]
    folder = paths["pdf"].parent
    assert sorted(p.name for p in folder.iterdir()) == ["99_demo.pdf", "99_demo.png"]
    assert all(p.name.startswith("99_demo.") for p in paths.values())
    png = paths["png"].read_bytes()
    phys = png[png.index(b"pHYs") + 4: png.index(b"pHYs") + 12]
    ppm = int.from_bytes(phys[:4], "big")
    assert round(ppm * 0.0254) == 300


def test_pdf_embeds_truetype_and_keeps_vietnamese_text_searchable(saved):
    pdf = saved["real"]["pdf"].read_bytes()
    assert b"/FontFile2" in pdf, "TrueType font program must be embedded (pdf.fonttype 42)"
    assert b"/ToUnicode" in pdf, "a ToUnicode map keeps the text searchable"
    assert b"DejaVuSans" in pdf


def test_figure_files_are_byte_identical_across_runs(saved, tmp_path):
    first = _digest(saved["simulated"])   # the same call, made once for the module
    assert sorted(first) == ["pdf", "png"]
    second = _digest(export.save_figure(_figure(), "99_demo", simulated=True, directory=tmp_path / "b"))
    assert first == second
    # only its PNG is compared, so only the PNG is written
    different = _digest(export.save_figure(_figure("Khác"), "99_demo", simulated=True,
                                           directory=tmp_path / "c", formats=("png",)))
    assert different["png"] != first["png"]


def test_svg_is_written_on_request_and_formats_are_checked(saved, tmp_path, monkeypatch):
    import hlstudy.config

    monkeypatch.setattr(hlstudy.config, "ROOT", tmp_path)   # hlstudy.toml is read from here
    monkeypatch.setenv("HLSTUDY_FIGURE_FORMATS", "svg, PDF png")
    assert export.figure_formats() == ("pdf", "svg", "png")
    paths = saved["real"]   # save_figure with this setting and no ``formats``
    assert sorted(paths) == ["pdf", "png", "svg"]
    assert paths["svg"].read_bytes().lstrip().startswith(b"<?xml")
    monkeypatch.delenv("HLSTUDY_FIGURE_FORMATS")
    assert export.figure_formats() == export.DEFAULT_FIGURE_FORMATS == ("pdf", "png")
    (tmp_path / "hlstudy.toml").write_text('[export]\nfigure_formats = ["png", "svg"]\n', encoding="utf-8")
    assert export.figure_formats() == ("svg", "png")
    (tmp_path / "hlstudy.toml").write_text('[export]\nfigure_formats = ["png", "eps"]\n', encoding="utf-8")
    with pytest.raises(export.ExportError, match="eps"):
        export.figure_formats()
    (tmp_path / "hlstudy.toml").write_text('[export]\nfigure_formats = 3\n', encoding="utf-8")
    with pytest.raises(export.ExportError, match="figure_formats"):
        export.figure_formats()
    (tmp_path / "hlstudy.toml").write_text("export = 1\n", encoding="utf-8")
    with pytest.raises(export.ExportError, match=r"\[export\] must be a table"):
        export.figure_formats()
    monkeypatch.setenv("HLSTUDY_FIGURE_FORMATS", "jpg")
    with pytest.raises(export.ExportError, match="HLSTUDY_FIGURE_FORMATS"):
        export.figure_formats()
    monkeypatch.setenv("HLSTUDY_FIGURE_FORMATS", " ,")
    with pytest.raises(export.ExportError, match="HLSTUDY_FIGURE_FORMATS"):
        export.figure_formats()


def test_no_volatile_metadata_in_figure_files(saved):
    paths = saved["real"]
    assert b"CreationDate" not in paths["pdf"].read_bytes()
    assert b"<dc:date>" not in paths["svg"].read_bytes()
    assert b"Software" not in paths["png"].read_bytes()


def test_simulated_mark_is_drawn_only_on_simulated_figures(tmp_path):
    pdf = ("pdf",)   # the mark is added to the figure before any format is written
    fig = _figure()
    export.save_figure(fig, "99_sim", simulated=True, directory=tmp_path, formats=pdf)
    texts = [t.get_text() for t in fig.texts]
    assert texts.count(export.SIMULATED_MARK) == 1
    export.save_figure(fig, "99_sim", simulated=True, directory=tmp_path, formats=pdf)  # saving again adds no second mark
    assert [t.get_text() for t in fig.texts].count(export.SIMULATED_MARK) == 1
    real = _figure()
    export.save_figure(real, "99_real", simulated=False, directory=tmp_path, formats=pdf)
    assert export.SIMULATED_MARK not in [t.get_text() for t in real.texts]


def test_missing_glyph_is_an_error_not_a_blank_box(tmp_path):
    with pytest.raises(export.ExportError, match="font cannot draw"):
        export.save_figure(_figure("漢字"), "99_bad", simulated=False, directory=tmp_path)


def test_vietnamese_diacritics_render_without_missing_glyph_warnings(saved):
    assert sorted(saved["simulated"]) == ["pdf", "png"]   # the default formats were written
    assert not [w for w in saved["simulated-warnings"] if "missing from font" in w]


def test_language_switch_changes_labels():
    export.set_language("en")
    assert export.tr("Số người", "People") == "People"
    export.set_language("vi")
    assert export.tr("Số người", "People") == "Số người"
    with pytest.raises(export.ExportError):
        export.set_language("fr")


@pytest.mark.parametrize("stem", ["demo", "3_demo", "03-demo", "03_Demo", "03_", ""])
def test_bad_file_stems_are_rejected(tmp_path, stem):
    with pytest.raises(export.ExportError, match="stem"):
        export.save_figure(_figure(), stem, simulated=False, directory=tmp_path)


def test_simulated_flag_is_required_to_be_a_bool(tmp_path):
    with pytest.raises(export.ExportError, match="simulated"):
        export.save_figure(_figure(), "99_demo", simulated=None, directory=tmp_path)
    with pytest.raises(export.ExportError, match="simulated"):
        export.save_table(pd.DataFrame({"a": [1]}), "99_t", title="T", simulated="yes", directory=tmp_path)


# ----------------------------------------------------------------------------- suppression

TABLE = pd.DataFrame(
    {
        "Xã": ["Minh Sơn", "Hữu Liên", "Yên Bình"],
        "n": [12, 3, 0],
        "Không đạt": [5, 1, 0],
        "Tỷ lệ (%)": [41.6667, 33.3333, np.nan],
    }
)


def test_small_cells_are_suppressed_with_their_derived_values():
    out = export.suppress_small_cells(TABLE, ["n", "Không đạt"], dependent={"n": ["Tỷ lệ (%)"]})
    assert out.loc[0, "n"] == 12 and out.loc[0, "Không đạt"] == 5 and out.loc[0, "Tỷ lệ (%)"] == pytest.approx(41.6667)
    assert out.loc[1, "n"] == "<5" and out.loc[1, "Không đạt"] == "<5" and out.loc[1, "Tỷ lệ (%)"] == "<5"
    assert out.loc[2, "n"] == 0, "a zero describes nobody and is kept unless suppress_zero"
    assert TABLE.loc[1, "n"] == 3, "the input frame is not modified"
    zero = export.suppress_small_cells(TABLE, ["n"], suppress_zero=True)
    assert zero.loc[2, "n"] == "<5"


def test_suppression_threshold_is_a_parameter():
    out = export.suppress_small_cells(TABLE, ["n"], min_cell=13)
    assert out["n"].tolist() == ["<5", "<5", 0]


def test_suppression_rejects_unknown_and_non_numeric_columns():
    with pytest.raises(export.ExportError, match="'m'"):
        export.suppress_small_cells(TABLE, ["m"])
    with pytest.raises(export.ExportError, match="non-numbers"):
        export.suppress_small_cells(TABLE, ["Xã"])
    with pytest.raises(export.ExportError, match="min_cell"):
        export.suppress_small_cells(TABLE, ["n"], min_cell=0)


# ----------------------------------------------------------------------------- tables


def _save(tmp_path, **kw):
    kw.setdefault("title", "Bảng 2.1. Tỷ lệ công chức chưa đạt chuẩn theo xã")
    kw.setdefault("simulated", True)
    return export.save_table(TABLE, "99_compliance", directory=tmp_path, count_columns=["n", "Không đạt"],
                             dependent={"n": ["Tỷ lệ (%)"]}, note="Chuẩn theo Nghị định 33/2023.", **kw)


def test_table_files_exist_and_are_deterministic(tmp_path):
    first = _digest(_save(tmp_path / "a"))
    second = _digest(_save(tmp_path / "b"))
    assert sorted(first) == ["csv", "docx", "tex"]
    assert first == second


def test_csv_round_trips_and_carries_title_and_simulated_mark(tmp_path):
    paths = _save(tmp_path)
    text = paths["csv"].read_text(encoding="utf-8")
    assert text.startswith("# Bảng 2.1.")
    assert export.SIMULATED_MARK in text.splitlines()[1]
    back = export.read_table_csv(paths["csv"])
    assert list(back.columns) == list(TABLE.columns)
    assert back.loc[0, "Không đạt"] in (5, "5") and back.loc[1, "n"] == "<5"
    assert ",3," not in text, "no suppressed count may leak into the CSV"


def test_latex_is_booktabs_with_numbers_and_suppression(tmp_path):
    tex = _save(tmp_path)["tex"].read_text(encoding="utf-8")
    for token in (r"\toprule", r"\midrule", r"\bottomrule", r"\caption{Bảng 2.1.", r"\label{tab:99_compliance}"):
        assert token in tex
    assert "Minh Sơn & 12 & 5 & 41,67" in tex  # Vietnamese decimal comma (issue 13, kind 9)
    assert r"Hữu Liên & \textless{}5 & \textless{}5 & \textless{}5" in tex
    assert re.search(r"\\begin\{tabular\}\{lrrr\}", tex)
    assert "simulated data" in tex


def test_docx_opens_and_contains_the_numbers(tmp_path):
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    path = _save(tmp_path)["docx"]
    document = docx.Document(str(path))
    paragraphs = [p.text for p in document.paragraphs]
    assert paragraphs[0].startswith("Bảng 2.1."), "title above the table"
    assert document.paragraphs[0].style.name == "Caption"   # Word's caption, in the list of tables
    assert "SEQ" not in document.paragraphs[0]._p.xml   # the title numbers itself: no field
    assert any("Ghi chú." in p and export.SIMULATED_MARK in p for p in paragraphs[1:]), "note below"
    table = document.tables[0]
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0] == list(TABLE.columns)
    assert rows[1] == ["Minh Sơn", "12", "5", "41,67"]
    assert rows[2] == ["Hữu Liên", "<5", "<5", "<5"]
    assert table.cell(1, 3).paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert table.cell(1, 0).paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.LEFT
    with zipfile.ZipFile(path) as z:
        assert {i.date_time for i in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


@pytest.mark.parametrize(("lang", "label"), [("vi", "Bảng "), ("en", "Table ")])
def test_docx_title_is_a_numbered_word_caption(tmp_path, lang, label):
    """The Word title was plain italic text: no "Bảng N", not in an automatic list of
    tables.  An unnumbered title is now Word's caption: the label, a SEQ Table field (Word
    numbers it) and the title."""
    import docx

    export.set_language(lang)
    path = _save(tmp_path, title="Tỷ lệ công chức chưa đạt chuẩn theo xã")["docx"]
    caption = docx.Document(str(path)).paragraphs[0]
    assert caption.style.name == "Caption"
    xml = caption._p.xml
    assert 'w:instr=" SEQ Table \\* ARABIC "' in xml
    runs = [r.text for r in caption.runs]
    assert runs == [label, ". Tỷ lệ công chức chưa đạt chuẩn theo xã"]
    # the field stands between the label and the title
    assert xml.index(label.strip()) < xml.index("SEQ Table") < xml.index("Tỷ lệ công chức")


def test_english_table_note(tmp_path):
    export.set_language("en")
    tex = _save(tmp_path)["tex"].read_text(encoding="utf-8")
    assert "Note" in tex and "fewer than 5 people" in tex


def test_table_argument_errors(tmp_path):
    with pytest.raises(export.ExportError, match="empty"):
        export.save_table(TABLE.iloc[:0], "99_t", title="T", simulated=False, directory=tmp_path)
    with pytest.raises(export.ExportError, match="title"):
        export.save_table(TABLE, "99_t", title=" ", simulated=False, directory=tmp_path)
    with pytest.raises(export.ExportError, match="formats"):
        export.save_table(TABLE, "99_t", title="T", simulated=False, formats=("xls",), directory=tmp_path)
    dup = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(export.ExportError, match="duplicated"):
        export.save_table(dup, "99_t", title="T", simulated=False, directory=tmp_path)
    assert not list(tmp_path.iterdir()), "a rejected table writes no file"


# ----------------------------------------------------------------------------- numbers in prose


def test_printed_negative_numbers_carry_the_minus_sign(tmp_path, monkeypatch):
    """One rule for a negative number in print: U+2212 in both languages' prose and tables
    (the Vietnamese table and prose printed "-0,05" beside a verdict's "−0,052"); the CSV
    keeps its numbers as numbers."""
    minus = "\u2212"
    for lang in ("vi", "en"):
        assert export.number(-0.052, 2, lang=lang).startswith(minus)
        assert export.format_number(-12345.678, 1, lang=lang).startswith(minus)
        assert export.format_number(-3, lang=lang) == minus + "3"
        assert export.number(-0.0001, 2, lang=lang) == export.number(0, 2, lang=lang)
    assert export.minus_sign("2025-07-01") == "2025-07-01" and export.minus_sign("") == ""
    from hlstudy import framework
    from hlstudy.diagnostic.findings import _num
    from hlstudy.evidence.rules import _fmt

    assert framework.vi_number(-0.05, 2) == minus + "0,05"
    assert _num(-0.0517) == minus + "0.05" and _num(-0.0001) == "0.00"
    assert _fmt(-0.0517, 3, "en") == minus + "0.052" and _fmt(-0.0517, 3, "vi") == minus + "0,052"
    monkeypatch.setattr(export, "_language", "vi")
    t = pd.DataFrame({"Biến": ["RES", "ENV"], "β": [-0.219, 0.05], "n": [-2, 3]})
    paths = export.save_table(t, "97_minus", title="Hệ số", simulated=False, directory=tmp_path)
    tex = paths["tex"].read_text(encoding="utf-8")
    m = export.latex_escape(minus)   # \ensuremath{-}: pdfLaTeX's Vietnamese set-up has no text minus
    assert f"RES & {m}0,22 & {m}2" in tex and minus not in tex
    import docx
    cells = [c.text for c in docx.Document(str(paths["docx"])).tables[0]._cells]
    assert f"{minus}0,22" in cells and not any(c.startswith("-") for c in cells)
    assert export.read_table_csv(paths["csv"])["β"].tolist() == [-0.219, 0.05]


def test_numbers_follow_the_label_language():
    assert export.number(1234567.891, 2, lang="vi") == "1.234.567,89"
    assert export.number(1234567.891, 2, lang="en") == "1,234,567.89"
    assert export.number(0.4445, 1, percent=True, lang="vi") == "44,5%"
    assert export.number(-0.0001, 2, lang="vi") == "0,00", "no negative zero"
    assert export.number(-1.5, 1, lang="vi") == "\u22121,5"   # the minus sign, not a hyphen
    assert export.number(None) == "–" and export.number(float("inf")) == "–"
    export.set_language("en")
    assert export.number(3.26, 1) == "3.3"
    assert export.number(1500) == "1500" and export.number(15000) == "15,000"   # as tables
    with pytest.raises(export.ExportError, match="decimals"):
        export.number(1.0, -1)
    with pytest.raises(export.ExportError, match="number"):
        export.number("abc")


def test_prose_and_tables_group_digits_by_one_rule_on_the_rounded_value():
    """9999.96 with one decimal rounds to 10000.0: grouped in prose and tables alike (the
    table writer tested the raw value and printed "10000,0" beside prose's "10.000,0")."""
    for value, d, vi, en in ((9999.96, 1, "10.000,0", "10,000.0"), (9999.94, 1, "9999,9", "9999.9"),
                             (-9999.5, 0, "\u221210.000", "\u221210,000"),
                             (10000.04, 1, "10.000,0", "10,000.0"), (1234.5, 1, "1234,5", "1234.5")):
        for lang, want in (("vi", vi), ("en", en)):
            assert export.number(value, d, lang=lang) == want, (value, lang)
            assert export.format_number(value, d, lang=lang) == want, (value, lang)
    assert export.format_number(np.int64(-10000), lang="vi") == "\u221210.000"
    assert export.format_number(float("inf"), 1) == "inf"


def test_p_values_in_prose():
    assert export.p_text(0.00001, lang="vi") == "< 0,001"
    assert export.p_text(0.0234, lang="vi") == "= 0,023"
    assert export.p_text(0.0234, 2, lang="en") == "= 0.02"
    with pytest.raises(export.ExportError, match="p-value"):
        export.p_text(1.5)


def test_csv_floats_are_stable_to_last_bit_noise(tmp_path):
    """Two results that differ only in the last bits (BLAS kernels of different processors)
    must give the same CSV bytes; real differences must still show."""
    a = pd.DataFrame({"x": [0.035341753652192255, 1.2108105000325934e-11, 4.0]})
    b = pd.DataFrame({"x": [0.035341753652192213, 1.2108105000325934e-11 * (1 + 1e-15), 4.0]})
    c = pd.DataFrame({"x": [0.0353417537, 1.2108105000325934e-11, 4.0]})
    text_a = export.table_to_csv(a, title="t")
    assert text_a == export.table_to_csv(b, title="t")
    assert text_a != export.table_to_csv(c, title="t")
    path = tmp_path / "t.csv"
    path.write_text(text_a, encoding="utf-8")
    back = export.read_table_csv(path)
    assert np.allclose(back["x"], a["x"], rtol=10 ** -(export.CSV_SIGNIFICANT_DIGITS - 1), atol=0)


def test_simulated_mark_inside_the_plot_avoids_a_legend(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1], label="một đường rất dài để chiếm góc dưới bên trái")
    ax.legend(loc="lower left")
    # the mark is placed before any format is written (the PDF is the cheaper file to write;
    # no file is read here)
    export.save_figure(fig, "99_mark_legend", simulated=True, directory=tmp_path, formats=("pdf",))
    fig.draw_without_rendering()   # the layout as drawn; no pixels are read
    renderer = fig.canvas.get_renderer()
    marks = [t for t in ax.texts if export.is_simulated_mark(t)]
    assert len(marks) == 1
    assert not marks[0].get_window_extent(renderer).overlaps(ax.get_legend().get_window_extent(renderer))
    assert marks[0].get_position() != (0.01, 0.01)
    plt.close(fig)


def test_figure_title_is_the_suptitle_or_the_only_panel_title():
    fig, axes = plt.subplots(1, 2)
    axes[0].set_title("Nhóm tuổi")
    axes[1].set_title("Giới tính")
    assert export.figure_title(fig) == ""          # two panels, no suptitle: no figure title
    fig.suptitle("Cơ cấu đội ngũ")
    assert export.figure_title(fig) == "Cơ cấu đội ngũ"
    plt.close(fig)
    fig, ax = plt.subplots()
    ax.set_title("Một hình")
    assert export.figure_title(fig) == "Một hình"
    plt.close(fig)


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(export)
    assert result.attempted > 0 and result.failed == 0


P_TABLE = pd.DataFrame({"Biến": ["ENV → MOT", "TRAIN → MOT", "COMP → MOT"],
                        "B": [0.41, 0.07, 0.2],
                        "p": [2.1e-07, 0.40519, 0.0234],
                        "p (CR2)": [0.0004, 0.5, 1.0]})


@pytest.mark.parametrize(("lang", "floor", "mid"), [("vi", "< 0,001", "0,405"), ("en", "< 0.001", "0.405")])
def test_p_values_print_as_below_the_floor_not_zero(tmp_path, lang, floor, mid):
    """p = 2.1e-07 printed as ``0.000``: now ``< 0,001`` (vi) / ``< 0.001`` (en) in .tex and
    .docx, with three decimals otherwise even in a table of two decimals; the CSV keeps the
    number."""
    import docx

    export.set_language(lang)
    paths = export.save_table(P_TABLE, "99_paths", title="t", simulated=False, directory=tmp_path,
                              decimals=2)
    tex = paths["tex"].read_text(encoding="utf-8")
    assert "0,000" not in tex and "0.000" not in tex
    escaped = floor.replace("<", r"\textless{}")
    arrow = export.latex_escape("ENV → MOT")
    assert f"{arrow} & {export.format_number(0.41, 2)} & {escaped} & {escaped} \\\\" in tex
    assert f"{export.latex_escape('TRAIN → MOT')} & {export.format_number(0.07, 2)} & {mid} &" in tex
    rows = [[c.text for c in r.cells] for r in docx.Document(str(paths["docx"])).tables[0].rows]
    assert rows[1][2:] == [floor, floor]
    assert rows[3][2] == mid.replace("405", "023")
    back = export.read_table_csv(paths["csv"])
    assert back["p"].dtype == float and back.loc[0, "p"] == pytest.approx(2.1e-07)


def test_p_value_rows_and_names():
    """A fit-index table names its p-value in a row; lavaan/psych and the thesis's headers
    are recognised, other columns are not; a p outside [0, 1] is an error naming its column."""
    fit = pd.DataFrame({"Chỉ số": ["χ²", "df", "p (χ²)"], "Giá trị": [1779.4, 1504.0, 9.8e-07]})
    tex = export.table_to_latex(fit, title="t", label="x", decimals=3)
    assert export.latex_escape("p (χ²)") + r" & \textless{} 0" in tex and "1779" in tex
    for name in ("p", "pvalue", "pvalue.scaled", "p (Δχ²)", "p (wild bootstrap)", "p (SEM, delta)",
                 "p hiệu chỉnh", "Adjusted p", "p_value", "giá trị p"):
        assert export.is_p_column(name), name
    for name in ("pct", "SE", "Phân loại", "p_wild_share", "RMSEA", "n"):
        assert not export.is_p_column(name), name
    with pytest.raises(export.ExportError, match="column 'p'.*\\[0, 1\\]"):
        export.table_to_latex(pd.DataFrame({"x": ["a"], "p": [1.5]}), title="t", label="x")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_long_latex_tables_are_longtables(lang):
    """A table of 134 rows sat in a ``table`` float that no page can hold: beyond
    ``LONGTABLE_ROWS`` rows it is a ``longtable`` with its caption and label, the header
    repeated after a "continued" line, a "continued on next page" foot and the note after it;
    a short table stays a float."""
    export.set_language(lang)
    n = export.LONGTABLE_ROWS
    long = pd.DataFrame({"Phần mềm": [f"pkg{i}" for i in range(n + 1)], "n": range(n + 1)})
    tex = export.table_to_latex(long, title="Phiên bản", label="99_v", note="Ghi chú dài.")
    assert r"\begin{table}" not in tex and r"\begin{tabular}" not in tex
    lines = tex.splitlines()
    assert lines[0] == r"\begin{longtable}{lr}" and lines[-2] == r"\end{longtable}"
    assert lines[1] == r"\caption{Phiên bản}\label{tab:99_v} \\"
    # head, continued head, foot, last foot, then the rows: in longtable's order
    order = [r"\endfirsthead", r"\endhead", r"\endfoot", r"\endlastfoot", "pkg0 & 0 \\\\"]
    assert [tex.index(t) for t in order] == sorted(tex.index(t) for t in order)
    assert tex.count("Phần mềm & n \\\\") == 2, "the header repeats on every page"
    continued, foot = (("Bảng \\thetable{} (tiếp theo)", "Tiếp theo ở trang sau") if lang == "vi"
                       else ("Table \\thetable{} (continued)", "Continued on next page"))
    assert continued in tex and foot in tex
    assert tex.index(r"\bottomrule") < tex.index(r"\endlastfoot")
    assert tex.index(r"\end{longtable}") < tex.index("Ghi chú dài.")
    assert sum(line.endswith(r"\\") and line.startswith("pkg") for line in lines) == n + 1
    short = export.table_to_latex(long.head(n), title="Phiên bản", label="99_v")
    assert short.startswith(r"\begin{table}[htbp]") and "longtable" not in short


def test_docx_page_is_a4_with_thesis_margins(tmp_path):
    """python-docx's default page is US Letter (8.5 × 11 in) with 1-inch margins."""
    import docx

    section = docx.Document(str(_save(tmp_path)["docx"])).sections[0]
    mm = {k: round(getattr(section, k).mm, 1) for k in ("page_width", "page_height", "left_margin",
                                                          "right_margin", "top_margin", "bottom_margin")}
    assert mm == {"page_width": 210.0, "page_height": 297.0, "left_margin": 30.0,
                  "right_margin": 25.0, "top_margin": 25.0, "bottom_margin": 25.0}
    assert mm["page_width"] - mm["left_margin"] - mm["right_margin"] == 155.0   # text width


def test_docx_header_row_repeats_on_every_page(tmp_path):
    """A Word table of 134 rows runs over several pages: its header row is Word's repeated
    header row (w:tblHeader) and no other row is."""
    import docx
    from docx.oxml.ns import qn

    table = docx.Document(str(_save(tmp_path)["docx"])).tables[0]
    marked = [i for i, row in enumerate(table.rows)
              if row._tr.trPr is not None and row._tr.trPr.find(qn("w:tblHeader")) is not None]
    assert marked == [0]


def test_language_columns_print_the_label_languages_column_before_a_code():
    # 04_findings has a verdict code beside verdict_vi / verdict_en: the Vietnamese table
    # printed the code ("not supported")
    t = pd.DataFrame({"claim_id": ["D1"], "verdict": ["not supported"],
                      "verdict_vi": ["Không được ủng hộ"], "verdict_en": ["Not supported"],
                      "n": [3]})
    labels = {"claim_id": ("Mã", "Claim"), "verdict": ("Kết luận", "Verdict"), "n": ("n", "n")}
    vi = export.language_columns(t, labels, lang="vi")
    en = export.language_columns(t, labels, lang="en")
    assert list(vi.columns) == ["Mã", "Kết luận", "n"] and vi.iloc[0, 1] == "Không được ủng hộ"
    assert en.iloc[0, 1] == "Not supported" and en.iloc[0, 2] == 3
    with pytest.raises(export.ExportError, match="absent"):
        export.language_columns(t, {"absent": ("x", "y")}, lang="vi")


def test_counts_stored_as_floats_print_as_whole_numbers(tmp_path, monkeypatch):
    # n printed "433,000" in 06_claims_ledger and df "1504,000" in the fit tables
    monkeypatch.setattr(export, "_language", "vi")
    t = pd.DataFrame({"Mã": ["T1", "T2", "T3"], "Ước lượng": [0.46, 2.0, 1.5],
                      "n": [433.0, float("nan"), 23.0], "Tỷ lệ": [0.0, 1.0, 1.0],
                      "Số xã": [23.0, 8.0, 8.0]})
    cells = export._printed_cells(t, 3)
    assert [r[2] for r in cells] == ["433", "", "23"]          # a count column
    assert [r[4] for r in cells] == ["23", "8", "8"]           # whole numbers only, one ≥ 2
    assert [r[3] for r in cells] == ["0,000", "1,000", "1,000"]  # shares keep their decimals
    assert [r[1] for r in cells] == ["0,460", "2,000", "1,500"]  # an estimate that is once whole
    fit = pd.DataFrame({"Chỉ số": ["χ²", "df", "p (χ²)", "CFI"], "Giá trị": [1779.4, 1504.0, 9.8e-07, 0.92]})
    assert [r[1] for r in export._printed_cells(fit, 3)] == ["1779,400", "1504", "< 0,001", "0,920"]
    # a table with count columns of its own is read by column: a category named "Số năm …"
    # keeps its share's decimals
    profile = pd.DataFrame({"Chỉ tiêu": ["Số năm giữ chức danh"], "n": [253], "k": [0], "Tỷ lệ": [0.0]})
    assert export._printed_cells(profile, 2)[0][1:] == ["253", "0", "0,00"]


PARAGRAPH = re.compile(r">\{\\(raggedright|raggedleft)\\arraybackslash\}p\{\\dimexpr ([0-9.]+)"
                       r"\\linewidth-2\\tabcolsep\\relax\}|([lr])")


def _wide_table(rows: int, lang: str) -> pd.DataFrame:
    """A short code, a 200-character statement, a number: the claims ledger's shape."""
    statement = {"vi": "Chất lượng cán bộ công chức cấp xã là yếu tố quyết định đến hiệu quả "
                       "hoạt động của bộ máy nhà nước tại địa phương; ",
                 "en": "The quality of commune officials decides how well the local state "
                       "apparatus works, and training is what shapes it; "}[lang] * 2
    return pd.DataFrame({"Mã": [f"T{i}" for i in range(rows)],
                         "Nhận định": [statement[:200]] * rows,
                         "n": [434.0 + i for i in range(rows)]})


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("rows", [3, export.LONGTABLE_ROWS + 5])
def test_long_text_columns_wrap_within_the_line(lang, rows):
    """A 200-character statement in an ``l`` column ran off the page: the long text column is a
    ragged-right paragraph column whose share of the line, with the short columns' one-line
    widths, fills the line; the short code stays ``l`` and the number ``r`` (right-aligned), in
    a float as in a longtable."""
    export.set_language(lang)
    table = _wide_table(rows, lang)
    tex = export.table_to_latex(table, title="Nhận định", label="99_claims", note="Ghi chú.")
    env = "longtable" if rows > export.LONGTABLE_ROWS else "tabular"
    spec = re.search(r"\\begin\{" + env + r"\}\{(.*)\}$", tex, flags=re.M).group(1)
    parts = [m.group(0) for m in PARAGRAPH.finditer(spec)]
    assert "".join(parts) == spec, spec
    assert parts[0] == "l" and parts[2] == "r"
    kind, share = PARAGRAPH.fullmatch(parts[1]).group(1, 2)
    assert kind == "raggedright"
    layout = export.column_layout(table, latex=True)   # the .tex plan, in the fonts' widths
    assert [k for k, _ in layout.columns] == ["l", "p", "r"]
    assert float(share) == pytest.approx(layout.columns[1][1], abs=1e-3)
    assert layout.width == pytest.approx(1.0) and 0.5 < float(share) < 1
    assert r"\begin{" + env + "}" in tex and r"\toprule" in tex and r"\bottomrule" in tex


def test_tables_that_fit_keep_one_line_columns_and_wide_ones_get_smaller_type():
    """A table that fits keeps ``l``/``r`` (and its normal size); one that needs it is set
    smaller (LaTeX's size command inside the float, after the caption) and its numbers whose
    headers are longer than their cells stay right-aligned under a wrapping header."""
    small = pd.DataFrame({"Chỉ số": ["CFI", "RMSEA"], "Giá trị": [0.95, 0.04]})
    tex = export.table_to_latex(small, title="t", label="x")
    assert r"\begin{tabular}{lr}" in tex and "small" not in tex and "scriptsize" not in tex
    wide = pd.DataFrame({f"Ước lượng hiệu chỉnh {i}": [0.123] for i in range(10)}
                        | {"Lý do": ["chưa kết luận được vì khoảng tin cậy chứa 0 " * 8]})
    layout = export.column_layout(wide, latex=True)
    assert layout.width <= 1 + 1e-9 and layout.size != "normalsize"
    assert {k for k, _ in layout.columns[:10]} == {"R"} and layout.columns[10][0] == "p"
    tex = export.table_to_latex(wide, title="t", label="x")
    assert tex.index(r"\caption{t}") < tex.index("\\" + layout.size) < tex.index(r"\begin{tabular}")
    assert tex.count(r">{\raggedleft\arraybackslash}p{") == 10
    # a longtable's caption is a row of the table: the smaller type goes in every cell instead
    size = "\\" + layout.size
    long = pd.concat([wide] * (export.LONGTABLE_ROWS + 1), ignore_index=True)
    tex = export.table_to_latex(long, title="t", label="x")
    spec = re.search(r"\\begin\{longtable\}\{(.*)\}$", tex, flags=re.M).group(1)
    assert spec.count(">{" + size + r"\raggedleft\arraybackslash}p{") == 10
    assert spec.count(">{" + size + r"\raggedright\arraybackslash}p{") == 1
    assert not any(line.strip() in (size, "{" + size) for line in tex.splitlines())


def test_a_float_taller_than_the_page_becomes_a_longtable():
    """Ten rows whose 600-character cells wrap to many lines each are taller than a page, which
    a float cannot leave: counted in printed lines they are a longtable; ten short rows stay a
    float."""
    text = "khoảng tin cậy chứa giá trị không nên chưa kết luận được; " * 10
    tall = pd.DataFrame({"Mã": [f"T{i}" for i in range(10)], "Lý do": [text] * 10})
    layout = export.column_layout(tall)
    assert layout.height > export.LONGTABLE_ROWS >= len(tall)
    assert export.table_to_latex(tall, title="t", label="x").startswith(r"\begin{longtable}")
    short = tall.assign(**{"Lý do": "chưa kết luận được"})
    assert export.column_layout(short).height == len(short)
    assert export.table_to_latex(short, title="t", label="x").startswith(r"\begin{table}")


def _docx_widths(data: bytes):
    xml = zipfile.ZipFile(__import__("io").BytesIO(data)).read("word/document.xml").decode("utf-8")
    grid = [int(w) for w in re.findall(r'<w:gridCol w:w="(\d+)"', xml)]
    cells = [int(w) for w in re.findall(r'<w:tcW w:type="dxa" w:w="(\d+)"/>', xml)]
    return xml, grid, cells


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_docx_columns_fit_the_text_width(lang):
    """Word tables get the planned widths, fixed (Word's autofit widens a column to a long
    cell's one-line width): the columns add up to at most the 15.5 cm text width, the long text
    column is the widest, and a table too wide even in the smallest type is scaled to fit."""
    export.set_language(lang)
    text_twips = export.docx_text_width_mm() / 25.4 * 1440
    assert export.docx_text_width_mm() == 155
    for table in (_wide_table(3, lang), _wide_table(3, lang).assign(**{
            f"Cột số {i}": [1234.5, 2.5, 3.5] for i in range(40)})):
        xml, grid, cells = _docx_widths(export._docx_bytes(table, title="t"))
        assert len(grid) == len(table.columns) and sum(grid) <= text_twips
        assert cells[:len(grid)] == grid, "every cell carries its column's width"
        assert '<w:tblLayout w:type="fixed"/>' in xml
        assert max(grid) == grid[1]
    # the wide statement table: the text column takes most of the line
    _, grid, _ = _docx_widths(export._docx_bytes(_wide_table(3, lang), title="t"))
    assert sum(grid) > 0.95 * text_twips and grid[1] > 0.8 * text_twips


def test_number_beside_never_prints_a_failing_value_as_its_cutoff():
    # notebook 04 printed a CR of 0.695 as "CR 0,70" against "CR ≥ 0,70"
    assert export.number_beside(0.6951, 0.70, lang="vi") == "0,695"
    assert export.number_beside(0.69999, 0.70, lang="en") == "0.7000"       # at most 4 decimals
    assert export.number_beside(0.7049, 0.70, lang="en") == "0.705"
    assert export.number_beside(0.55, 0.70, 2, lang="vi") == "0,55"
    with pytest.raises(export.ExportError):
        export.number_beside("a", 0.7)


def test_people_count_keeps_the_small_cell_rule_in_prose():
    assert [export.people_count(k, lang="vi") for k in (0, 1, 4, 5, 12345)] == [
        "0", "dưới 5", "dưới 5", "5", "12.345"]
    assert export.people_count(2, lang="en") == "fewer than 5"
    for bad in (-1, 2.5, "x"):
        with pytest.raises(export.ExportError):
            export.people_count(bad)


def test_cell_decimals_print_each_row_with_the_precision_of_its_source(tmp_path):
    """01_district_facts printed "121.735,00" persons and "52,30 %" with decimals=2: a
    label–value table whose rows are a count, an area and a share needs each row's decimals."""
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    facts = pd.DataFrame({"Chỉ tiêu": ["Diện tích", "Dân số", "Nùng", "Dao", "Số xã"],
                          "Giá trị": [806.74, 121735.0, 52.3, 0.44, 24.0],
                          "Đơn vị": ["km²", "người", "%", "%", "đơn vị"]})
    places = {"Giá trị": [2, 0, 1, 2, 0]}
    paths = export.save_table(facts, "99_facts", title="Huyện", simulated=False,
                              directory=tmp_path, cell_decimals=places)
    tex = paths["tex"].read_text(encoding="utf-8")
    assert [line.split(" & ")[1] for line in tex.splitlines() if line.endswith(r"\\")
            and not line.startswith("Chỉ tiêu")] == ["806,74", "121.735", "52,3", "0,44", "24"]
    assert r"\begin{tabular}{lrl}" in tex   # the numbers stay right-aligned
    table = docx.Document(str(paths["docx"])).tables[0]
    assert [row.cells[1].text for row in table.rows[1:]] == ["806,74", "121.735", "52,3", "0,44", "24"]
    assert {row.cells[1].paragraphs[0].alignment for row in table.rows} == {WD_ALIGN_PARAGRAPH.RIGHT}
    assert export.read_table_csv(paths["csv"])["Giá trị"].tolist() == [806.74, 121735, 52.3, 0.44, 24]
    export.set_language("en")
    assert [r[1] for r in export._printed_cells(facts, 2, places)] == [
        "806.74", "121,735", "52.3", "0.44", "24"]


@pytest.mark.parametrize(("places", "match"), [
    ({"Value": [0]}, "lacks"), ({"Giá trị": [0]}, "2 rows"), ({"Giá trị": [0, -1]}, "non-negative"),
    ({"Giá trị": 2}, "each row"), ([2, 0], "map a column")])
def test_cell_decimals_are_checked(tmp_path, places, match):
    t = pd.DataFrame({"Chỉ tiêu": ["a", "b"], "Giá trị": [1.5, 2.0]})
    with pytest.raises(export.ExportError, match=match):
        export.save_table(t, "99_bad", title="t", simulated=False, directory=tmp_path,
                          formats=("tex",), cell_decimals=places)


def test_a_table_spells_out_the_abbreviations_it_prints(tmp_path):
    """A thesis spells out an abbreviation where a table uses it: "KTC" in a header, "LLCT" in
    a cell give "Viết tắt: KTC – khoảng tin cậy; LLCT – lý luận chính trị." in the note of
    every format; a note that already says what KTC means, a word that only contains the
    letters, or an English table's "CI" follow the same rule."""
    import pandas as pd

    df = pd.DataFrame({"Nhóm": ["LLCT", "Khác"], "KTC 95% dưới": [0.1, 0.2]})
    paths = export.save_table(df, "99_abbr", title="Bảng", simulated=False, directory=tmp_path)
    expected = "Viết tắt: KTC – khoảng tin cậy; LLCT – lý luận chính trị."
    assert expected in paths["csv"].read_text(encoding="utf-8")
    assert export.latex_escape(expected) in paths["tex"].read_text(encoding="utf-8")
    told = export.save_table(df, "99_told", title="Bảng", simulated=False, directory=tmp_path,
                             note="KTC: khoảng tin cậy Wilson.")["csv"].read_text(encoding="utf-8")
    assert "Viết tắt: LLCT – lý luận chính trị." in told and "KTC –" not in told
    assert export.abbreviations_note(["KTCX", "xKTC"], lang="vi") == ""
    assert export.abbreviations_note(["95% CI low"], lang="en") == "Abbreviations: CI – confidence interval."
    with pytest.raises(export.ExportError, match="language"):
        export.abbreviations_note(["KTC"], lang="fr")


def test_english_count_headers_are_counts_as_their_vietnamese_ones():
    """Every (Vietnamese, English) header pair the notebooks and the library write whose
    Vietnamese side is a count ("Số phiếu dùng", "Bậc tự do") is a count in English too
    ("Respondents used", "Degrees of freedom"): the English tables printed 203.000 and
    1618.000 where the Vietnamese printed 203 and 1618."""
    import re
    from pathlib import Path

    from hlstudy.export import is_count_column

    root = Path(__file__).resolve().parents[1]
    pair = re.compile(r'\(\s*"([^"\n]+)",\s*"([^"\n]+)"\s*\)')
    pairs = set()
    for path in [*root.glob("notebooks/[0-9][0-9]_*.py"), *root.glob("hlstudy/**/*.py")]:
        pairs |= set(pair.findall(path.read_text(encoding="utf-8")))
    # headers only: not a sentence, not a pandas aggregation spec (("n", "first")); and not
    # a mean whose Vietnamese header begins with "Số" (it prints decimals anyway)
    means = {("Số phiếu trung bình mỗi xã", "Mean cluster size")}
    counted = {(vi, en) for vi, en in pairs if is_count_column(vi) and len(vi) < 45  # no title
               and not vi.endswith((":", "."))
               and en not in ("sum", "first") and (vi, en) not in means}
    assert len(counted) >= 20, sorted(counted)
    assert sorted((vi, en) for vi, en in counted if not is_count_column(en)) == []


@pytest.mark.parametrize("lang", ["vi", "en"])
@pytest.mark.parametrize("value", [1771.034, -1779.446, 9999.4, 10000.0, 121735.0, -12345.678])
def test_prose_groups_thousands_as_the_tables_do(lang, value):
    """The prose printed a χ² of 1771,034 as 1.771,0 while its table printed 1771,034: both
    group digits from 10,000 up (SI/ISO 80000)."""
    table = export.format_number(value, 3, lang=lang)
    prose = export.number(value, 3, lang=lang)
    assert prose == table
    grouped = abs(value) >= 10_000
    sep = "." if lang == "vi" else ","
    assert (sep in prose.split("," if lang == "vi" else ".")[0]) == grouped
