"""Malformed input: one clear SurveyDataError naming file and row/column, and no partial output.

Every case starts from a valid data folder (three small exports), damages one thing, and
runs the full :func:`hlstudy.load_study` with a cache folder: the error must be a
``SurveyDataError`` (a ``ValueError``) whose message names the file and the row or column,
the raw files must be byte-identical afterwards, and nothing may have been written.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import rawfactory as rf

import hlstudy
from hlstudy import ingest

H = {r[1]: rf.header(r) for r in rf.CODEBOOK if r[0] == "officials"}


def rewrite_officials(folder: Path, change) -> None:
    rows = rf.make_rows("officials", 6)
    rows = change(rows)
    rf.write_export(rows, folder / "officials.csv")


def csv_lines(folder: Path) -> list[str]:
    return (folder / "officials.csv").read_text(encoding="utf-8").splitlines()


def put_lines(folder: Path, lines: list[str]) -> None:
    (folder / "officials.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def set_cell(column: str, row: int, value):
    def change(rows):
        rows = rows.astype(object)
        rows.loc[row, column] = value
        return rows

    return lambda folder: rewrite_officials(folder, change)


def set_cells(column: str, row: int, value):
    """``value`` in two rows (``row`` and the next): in a 6-row file more than the one unreadable
    cell per column that ingest tolerates (see ``test_one_unreadable_cell_is_a_logged_change``)."""
    def change(rows):
        rows = rows.astype(object)
        rows.loc[[row, row + 1], column] = value
        return rows

    return lambda folder: rewrite_officials(folder, change)


def set_column(column: str, value):
    """``value`` in every row of ``column`` (a platform column of which nothing can be read:
    unreadable cells of the submission time are tolerated up to the whole column)."""
    def change(rows):
        rows = rows.astype(object)
        rows[column] = value
        return rows

    return lambda folder: rewrite_officials(folder, change)


def repeated_header(folder):
    lines = csv_lines(folder)
    put_lines(folder, lines[:4] + lines[:1] + lines[4:])


def sep_line(folder):
    put_lines(folder, ["sep=,", *csv_lines(folder)])


def title_rows_xlsx(folder):
    from openpyxl import Workbook

    rows = pd.read_csv(folder / "officials.csv", dtype=str, keep_default_na=False)
    (folder / "officials.csv").unlink()
    wb = Workbook()
    ws = wb.active
    ws.title = "officials"
    ws.append(["DANH SÁCH CÁN BỘ, CÔNG CHỨC XÃ"])
    ws.append([])
    ws.append(list(rows.columns))
    for r in rows.itertuples(index=False):
        ws.append(list(r))
    wb.save(folder / "officials.xlsx")


def replace_header(old: str, new: str):
    def damage(folder):
        lines = csv_lines(folder)
        lines[0] = lines[0].replace(old, new, 1)
        put_lines(folder, lines)

    return damage


def to_other_format(fmt: str, content: bytes):
    def damage(folder):
        (folder / "officials.csv").unlink()
        (folder / f"officials.{fmt}").write_bytes(content)

    return damage


def xlsx_with_sheets(*names):
    def damage(folder):
        from openpyxl import Workbook

        (folder / "officials.csv").unlink()
        wb = Workbook()
        wb.active.title = names[0]
        for n in names[1:]:
            wb.create_sheet(n)
        wb.save(folder / "officials.xlsx")

    return damage


def empty_sheet(folder):
    from openpyxl import Workbook

    (folder / "officials.csv").unlink()
    wb = Workbook()
    wb.active.title = "officials"
    wb.save(folder / "officials.xlsx")


def semicolons(folder):
    """Semicolons whose rows do not all have the header's fields (a whole ';' file is read)."""
    pd.read_csv(folder / "officials.csv").to_csv(folder / "officials.csv", sep=";", index=False)
    lines = csv_lines(folder)
    put_lines(folder, [lines[0], lines[1] + ";stray", *lines[2:]])


def tabs(folder):
    pd.read_csv(folder / "officials.csv").to_csv(folder / "officials.csv", sep="\t", index=False)


def utf16(folder):
    text = (folder / "officials.csv").read_text(encoding="utf-8")
    (folder / "officials.csv").write_bytes(text.encode("utf-16"))


def undefined_bytes(folder):
    data = (folder / "officials.csv").read_bytes()
    lines = data.split(b"\n")
    lines[3] = lines[3].replace(b"Nam", b"N\x81m\x9a", 1) if b"Nam" in lines[3] else lines[3] + b"\x81\x9a"
    (folder / "officials.csv").write_bytes(b"\n".join(lines))


def header_only(folder):
    put_lines(folder, csv_lines(folder)[:1])


def ragged(folder):
    lines = csv_lines(folder)
    lines[3] = lines[3] + ",surplus"
    put_lines(folder, lines)


def duplicated_header_simple(folder):
    rows = pd.read_csv(folder / "officials.csv", dtype=str)
    rows.insert(4, "dup", rows[H["birth_year"]])
    header = list(rows.columns)
    header[4] = H["birth_year"]
    lines = [",".join(f'"{h}"' for h in header)]
    lines += [",".join(f'"{"" if pd.isna(v) else v}"' for v in r) for r in rows.itertuples(index=False)]
    put_lines(folder, lines)


def two_variants_same_item(folder):
    rows = pd.read_csv(folder / "officials.csv", dtype=str)
    rows["TRAIN1"] = rows[H["TRAIN1"]]
    rows.to_csv(folder / "officials.csv", index=False)


def foreign_column(folder):
    rows = pd.read_csv(folder / "officials.csv", dtype=str)
    rows["Công chức có thái độ giao tiếp lịch sự"] = "Đồng ý"
    rows.to_csv(folder / "officials.csv", index=False)


def citizens_file_as_officials(folder):
    (folder / "officials.csv").write_bytes((folder / "citizens.csv").read_bytes())


def not_a_survey(folder):
    (folder / "officials.csv").write_text("id,price,qty\n1,20.5,3\n2,11.0,4\n", encoding="utf-8")


def drop_column(folder):
    rows = pd.read_csv(folder / "officials.csv", dtype=str)
    rows.drop(columns=[H["PRO2"]]).to_csv(folder / "officials.csv", index=False)


def blank_header(folder):
    rows = pd.read_csv(folder / "officials.csv", dtype=str)
    rows.insert(3, " ", "x")
    rows.to_csv(folder / "officials.csv", index=False)


def unterminated_quote(folder):
    lines = csv_lines(folder)
    lines[-1] = lines[-1] + ',"never closed'
    put_lines(folder, lines)


def two_exports(folder):
    rf.write_export(rf.make_rows("officials", 6), folder / "officials.xlsx")


def no_officials(folder):
    # the officials' survey is the one required export (citizens, personnel may be absent)
    (folder / "officials.csv").unlink()


def unsupported_type(folder):
    (folder / "personnel.csv").rename(folder / "personnel.json")


def bad_manifest(folder):
    (folder / "manifest.json").write_text("{simulated: yes", encoding="utf-8")


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))

# name → (damage, file named in message, pattern the message must match)
CASES = {
    "empty file": (lambda f: (f / "officials.csv").write_bytes(b""), "officials.csv", r"file is empty"),
    "blank lines only": (lambda f: (f / "officials.csv").write_text("\n \n\n"), "officials.csv", r"file is empty"),
    "header only": (header_only, "officials.csv", r"header but no data rows"),
    "semicolon delimiter, uneven rows": (semicolons, "officials.csv", r"row 1: wrong delimiter.*semicolon.*or semicolon-separated throughout"),
    "tab delimiter": (tabs, "officials.csv", r"row 1: wrong delimiter.*tab"),
    "UTF-16 encoding": (utf16, "officials.csv", r"UTF-16"),
    "bytes neither UTF-8 nor cp1258": (undefined_bytes, "officials.csv", r"row 4: wrong encoding"),
    "binary file named .csv": (lambda f: (f / "officials.csv").write_bytes(PNG), "officials.csv", r"not a CSV text file"),
    "ragged row": (ragged, "officials.csv", r"row 4: has 23 fields where the header has 22"),
    "unterminated quote": (unterminated_quote, "officials.csv", r"row \d+: is not a well-formed CSV"),
    "duplicated column name": (duplicated_header_simple, "officials.csv", r"column 'Năm sinh': duplicated column name \(columns 4 and 5\)"),
    "two headers for one item": (two_variants_same_item, "officials.csv", r"two columns map to TRAIN1"),
    "blank header": (blank_header, "officials.csv", r"row 1: column 4 has an empty header"),
    "column of another instrument": (foreign_column, "officials.csv", r"column 'Công chức có thái độ giao tiếp lịch sự': this column belongs to the citizens questionnaire \(SIP1\)"),
    "file of another instrument": (citizens_file_as_officials, "officials.csv", r"belongs to the citizens questionnaire"),
    "unknown column": (replace_header("Giới tính", "Giới tính khai sinh (theo CCCD)"), "officials.csv", r"officials\.csv: 1 unknown column\(s\), not in the officials codebook.*\n  column 5 'Giới tính khai sinh \(theo CCCD\)': closest codebook item sex"),
    "missing column": (drop_column, "officials.csv", r"officials\.csv: missing column: the file has no column for item PRO2 of the officials codebook, expected under the header 'Tôi giải quyết hồ sơ đúng hạn'"),
    "not a survey at all": (not_a_survey, "officials.csv", r"officials\.csv: 3 unknown column\(s\).*\n  column 1 'id': closest"),
    "Likert label not in codebook": (set_cells("TRAIN3", 2, "Rất tốt"), "officials.csv", r"column 'Câu 11\. Kiến thức[^']*': 2 of 6 answered cells.*row 4: label 'Rất tốt' is not in value set 'agree5'"),
    "category label not in codebook": (set_cells("sex", 0, "Khác"), "officials.csv", r"column 'Giới tính': 2 of 6 answered cells.*row 2: label 'Khác' is not in value set 'sex'"),
    "category code not in value set": (set_cells("education", 1, "9"), "officials.csv", r"column 'Trình độ chuyên môn cao nhất': 2 of 6 .*row 3: code '9' is not in value set 'edu'"),
    "impossible date": (set_cells("appointed", 3, "31/02/2023"), "officials.csv", r"column 'Ngày bổ nhiệm': 2 of \d answered .*row 5: '31/02/2023' is not a date"),
    "date in unknown format": (set_cells("appointed", 1, "tháng 5 năm 2023"), "officials.csv", r"column 'Ngày bổ nhiệm': 2 of \d answered .*row 3: .*not a date"),
    "month-first date": (set_cells("appointed", 0, "05/31/2023"), "officials.csv", r"column 'Ngày bổ nhiệm': 2 of \d answered .*row 2: .*not a date"),
    "timestamp column of garbage": (set_column("submitted_at", "hôm qua"), "officials.csv", r"officials\.csv, column 'Thời gian nộp': no value of this column can be read as a timestamp.*'hôm qua' in row 2.*Accepted formats.*Fix"),
    "text in a year column": (set_cells("birth_year", 4, "khoảng 1980"), "officials.csv", r"column 'Năm sinh': 2 of 6 answered .*row 6: .*not a number"),
    "fraction in an integer column": (set_cells("years_in_post", 2, "3.5"), "officials.csv", r"column 'Số năm công tác[^']*': 2 of 6 answered .*row 4: .*not a whole number"),
    "infinite number": (set_cells("birth_year", 1, "inf"), "officials.csv", r"column 'Năm sinh': 2 of 6 answered .*row 3: .*not a finite number"),
    "overflowing Likert code": (set_cells("PRO1", 0, "1e400"), "officials.csv", r"column 'Câu 13\. [^']*': 2 of 6 answered .*row 2: .*not a whole-number code"),
    "commune outside Hữu Lũng": (set_cell("commune", 3, "Chi Lăng"), "officials.csv", r"row 5, column 'commune': 1 commune name\(s\) not in the Hữu Lũng registry: 'Chi Lăng' \(rows 5; a commune of .*, outside Hữu Lũng\)"),
    "workbook without the sheet": (xlsx_with_sheets("Sheet1", "Sheet2"), "officials.xlsx", r"no sheet is named 'officials' and no sheet holds data \('Sheet1': 0 data rows; 'Sheet2': 0 data rows\)"),
    "empty worksheet": (empty_sheet, "officials.xlsx", r"sheet 'officials' is empty"),
    "text file named .xlsx": (to_other_format("xlsx", b"id,name\n1,2\n"), "officials.xlsx", r"not a readable Excel \.xlsx workbook"),
    "corrupt .sav": (to_other_format("sav", b"$FL2@(#) not really spss" + bytes(64)), "officials.sav", r"not a readable SPSS \.sav file"),
    "two exports of one instrument": (two_exports, "raw", r"several exports for instrument 'officials'"),
    "instrument missing": (no_officials, "raw", r"no export for instrument 'officials'.*files found"),
    "unsupported file type": (unsupported_type, "raw", r"personnel\.json.*unsupported type"),
    "malformed manifest": (bad_manifest, "manifest.json", r"not valid JSON"),
    "manifest with simulated as a string": (
        lambda f: (f / "manifest.json").write_text('{"simulated": "true"}', encoding="utf-8"),
        "manifest.json", r"'simulated' must be true or false"),
    "Excel sep= hint line": (sep_line, "officials.csv", r"row 1: row 1 is Excel's 'sep=' hint line"),
    "title rows above the header": (title_rows_xlsx, "officials.xlsx", r"row 3: .*row 1 looks like a title \('DANH SÁCH"),
    "header row repeated mid-file": (repeated_header, "officials.csv", r"row 5: repeats the header row"),
    "column of text in a Likert item": (
        lambda f: rewrite_officials(f, lambda r: r.assign(PRO3="không biết")), "officials.csv",
        r"column 'Câu 15\. [^']*': 6 of 6 answered cells.*row 2: label 'không biết' is not in value set"),
}


@pytest.fixture
def reference(monkeypatch, tmp_path):
    return rf.install_reference(monkeypatch, tmp_path)


@pytest.fixture(scope="module")
def valid_folders(tmp_path_factory):
    """The valid six-record data folder, with and without a manifest, written once by
    ``rawfactory.make_folder``; each test damages its own byte-identical copy (``copy_of``)."""
    root = tmp_path_factory.mktemp("valid")
    return {True: rf.make_folder(root / "manifest", "csv", n=6, manifest={"simulated": True}),
            False: rf.make_folder(root / "plain", "csv", n=6)}


def copy_of(valid_folders, folder: Path, *, manifest: bool) -> Path:
    import shutil

    shutil.copytree(valid_folders[manifest], folder)
    return folder


def test_copies_are_the_factory_folders(valid_folders, tmp_path):
    for manifest in (True, False):
        made = rf.make_folder(tmp_path / str(manifest), "csv", n=6,
                              manifest={"simulated": True} if manifest else None)
        copy = copy_of(valid_folders, tmp_path / f"copy{manifest}", manifest=manifest)
        assert rf.tree_digest(copy) == rf.tree_digest(made) and len(rf.tree_digest(made)) == 3 + manifest


def test_suite_is_large_enough():
    assert len(CASES) >= 20


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_input(case, reference, valid_folders, tmp_path):
    damage, file_named, pattern = CASES[case]
    folder = copy_of(valid_folders, tmp_path / "raw", manifest=True)
    damage(folder)
    before = rf.tree_digest(folder)
    cache = tmp_path / "processed"
    with pytest.raises(hlstudy.SurveyDataError) as err:
        hlstudy.load_study(folder, cache_dir=cache)
    message = str(err.value)
    assert isinstance(err.value, ValueError)
    assert file_named in message, message
    assert re.search(pattern, message), message
    assert "Traceback" not in message and "pandas" not in message
    assert rf.tree_digest(folder) == before  # raw data untouched
    assert not cache.exists() or not any(cache.rglob("*"))  # no partial output


def test_missing_source_folder(reference, tmp_path):
    with pytest.raises(hlstudy.SurveyDataError, match=r"nowhere: data folder does not exist"):
        hlstudy.load_study(tmp_path / "nowhere", cache_dir=tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_error_carries_file_row_and_column_attributes(reference, tmp_path):
    folder = rf.make_folder(tmp_path / "raw", "csv", n=6)
    ragged(folder)  # one row's fault: file and row
    with pytest.raises(hlstudy.SurveyDataError) as err:
        ingest.read_instrument(folder / "officials.csv")
    assert Path(err.value.file).name == "officials.csv" and err.value.row == 4
    set_cells("TRAIN3", 2, "Rất tốt")(folder)  # a column's fault: file and column, no row
    with pytest.raises(hlstudy.SurveyDataError) as err:
        ingest.read_instrument(folder / "officials.csv")
    assert Path(err.value.file).name == "officials.csv"
    assert err.value.row is None and err.value.column.startswith("Câu 11.")


# ------------------------------------------------------------------ messages a new user can read

# a fault of a whole column → (column header named, longest message less its prefix, what the
# message names)
COLUMN_WIDE = {
    "timestamp column of garbage": (set_column("submitted_at", "hôm qua"), "Thời gian nộp", 1000,
                                    [r"e\.g\. 'hôm qua' in row 2\.  Accepted formats: ISO 8601",
                                     r"\.  Fix: export the column in an accepted format"]),
    "timestamps pandas cannot hold": (set_column("submitted_at", "9999-12-31 08:00:00"), "Thời gian nộp", 1050,
                                      [r"e\.g\. '9999-12-31 08:00:00' in row 2, which is not a plausible "
                                       r"timestamp \(year outside 1678–2261\)\.  Accepted formats: "]),
    "Likert labels not in codebook": (set_cells("TRAIN3", 2, "Rất tốt"), H["TRAIN3"], 1400,
                                      [r"^2 of 6 answered cells of this column are unreadable",
                                       r"First unreadable cell, row 4: label 'Rất tốt'", r"Fix: "]),
    "ambiguous dates": (set_column("appointed", "3/4/2023"), "Ngày bổ nhiệm", 600,
                        [r"^ambiguous dates, e\.g\. '3/4/2023' in row 2: nothing in the column",
                         r"Fix: export the column in one of the accepted formats: YYYY-MM-DD"]),
}


@pytest.mark.parametrize("case", sorted(COLUMN_WIDE))
def test_a_column_wide_error_names_file_and_column_not_a_row(case, reference, valid_folders, tmp_path):
    """The whole column is the problem: the message begins with the file and the column (no
    row: "row 2" read as if that row were the fault), one example with its row, the accepted
    formats at most once, then the fix; and it stays short enough to read."""
    damage, column, longest, names = COLUMN_WIDE[case]
    folder = copy_of(valid_folders, tmp_path / "raw", manifest=False)
    damage(folder)
    with pytest.raises(hlstudy.SurveyDataError) as err:
        ingest.read_instrument(folder / "officials.csv")
    message, detail = str(err.value), err.value.detail
    assert message.startswith(f"{folder / 'officials.csv'}, column {column!r}: "), message
    assert err.value.row is None and err.value.column == column
    for formats in (ingest.values.TIMESTAMP_FORMATS_TEXT, ingest.values.DATE_FORMATS_TEXT):
        assert message.count(formats) <= 1, message
    assert message.count("ISO 8601") <= 1  # one list of formats, introduced once
    assert message.count("ccepted formats") + message.count("ccepted:") <= 1, message
    assert len(detail) <= longest, len(detail)  # the message less its file and column
    for pattern in names:
        assert re.search(pattern, detail), (pattern, detail)
    example = re.search(r"e\.g\. ('[^']*')", detail)
    assert example is None or detail.count(example.group(1)) == 1, detail  # the value once
    assert detail.index("row") < detail.index("Fix: ")  # the example first, the fix last


def test_a_date_column_error_lists_date_formats_not_timestamp_ones(reference, valid_folders, tmp_path):
    folder = copy_of(valid_folders, tmp_path / "raw", manifest=False)
    set_column("appointed", "3/4/2023")(folder)
    with pytest.raises(hlstudy.SurveyDataError) as err:
        ingest.read_instrument(folder / "officials.csv")
    assert ingest.values.DATE_FORMATS_TEXT in str(err.value)
    assert "GMT" not in str(err.value) and "14:05:09" not in str(err.value)


def test_missing_column_says_the_file_lacks_it(reference, valid_folders, tmp_path):
    """The file lacks the column: no "column 'question'" prefix (as if the file held it), but
    the file, the item code and the header the instrument expects, then the suggestion, then
    the fix."""
    folder = copy_of(valid_folders, tmp_path / "raw", manifest=False)
    drop_column(folder)
    with pytest.raises(hlstudy.SurveyDataError) as err:
        ingest.read_instrument(folder / "officials.csv")
    message = str(err.value)
    assert message.startswith(f"{folder / 'officials.csv'}: missing column: the file has no column "
                              f"for item PRO2 of the officials codebook, expected under the header "
                              f"{H['PRO2'].split('. ', 1)[1]!r}")
    assert err.value.column is None and err.value.row is None
    suggestion = message.index("none to suggest")
    assert message.index("expected under the header") < suggestion < message.index("Fix: ")
    assert len(message) < 800


def test_unknown_column_is_named_once(reference, valid_folders, tmp_path):
    """Each unknown column in one line of the list (the message named the first one in its
    prefix, in its first sentence and again in the list)."""
    folder = copy_of(valid_folders, tmp_path / "raw", manifest=False)
    replace_header("Giới tính", "Giới tính khai sinh (theo CCCD)")(folder)
    with pytest.raises(hlstudy.SurveyDataError) as err:
        ingest.read_instrument(folder / "officials.csv")
    message = str(err.value)
    assert message.startswith(f"{folder / 'officials.csv'}: 1 unknown column(s), not in the officials "
                              "codebook — map each")
    assert message.count("'Giới tính khai sinh (theo CCCD)'") == 1
    assert message.count("closest codebook item") == 1 and err.value.column is None


# ------------------------------------------------------------------ one respondent's bad value

ONE_BAD_CELL = {
    # name → (column, row index, raw value, reason pattern)
    "Likert label not in codebook": ("TRAIN3", 2, "Rất tốt", r"label 'Rất tốt' is not in value set 'agree5'"),
    "category label": ("sex", 0, "Khác", r"label 'Khác' is not in value set 'sex'"),
    "impossible date": ("appointed", 3, "31/02/2023", r"'31/02/2023' is not a date: no such day"),
    "text in a year": ("birth_year", 4, "khoảng 1980", r"not a number"),
    "timestamp garbage": ("submitted_at", 1, "hôm qua", r"not a timestamp"),
    "date pandas cannot hold": ("appointed", 2, "01/01/0001", r"not a plausible date \(year outside 1678–2261\)"),
    "timestamp in year 9999": ("submitted_at", 3, "9999-12-31 08:00:00", r"not a plausible timestamp"),
    "number too large for a count": ("years_in_post", 3, "99999999999999999999", r"not a plausible integer \(too large\)"),
    "year too large": ("birth_year", 0, "1e300", r"not a plausible year"),
}


@pytest.mark.parametrize("case", sorted(ONE_BAD_CELL))
def test_one_unreadable_cell_is_a_logged_change(case, reference, valid_folders, tmp_path):
    """A single bad value of one respondent never fails the run: missing, with a log row."""
    column, index, raw, reason = ONE_BAD_CELL[case]
    folder = copy_of(valid_folders, tmp_path / "raw", manifest=True)
    set_cell(column, index, raw)(folder)
    study = hlstudy.load_study(folder, cache=False)
    log = study.cleaning_log
    hit = log[log["rule"] == "unreadable"]
    assert len(hit) == 1
    row = hit.iloc[0]
    assert (row["instrument"], row["action"], row["column"]) == ("officials", "change", column)
    assert int(row["source_row"]) == index + 2 and row["old_value"] == raw
    assert row["new_value"] is None or pd.isna(row["new_value"])
    assert re.search(reason, row["reason"]), row["reason"]
    kept = study.officials.set_index("source_row")
    if index + 2 in kept.index:  # not dropped later by another rule: the value is missing
        assert pd.isna(kept.at[index + 2, column])
    flow = study.flow[study.flow["instrument"] == "officials"].set_index("rule")
    assert flow.at["unreadable", "changed"] == 1 and flow.index[0] == "unreadable"
    for name in ingest.INSTRUMENTS:
        assert study.received[name] == study.kept[name] + study.dropped[name]
    assert "_unreadable" not in study.officials.columns


def test_unreadable_share_is_a_parameter(reference, tmp_path):
    folder = rf.make_folder(tmp_path / "raw", "csv", n=6)
    set_cells("TRAIN3", 2, "Rất tốt")(folder)  # 2 of 6 cells
    with pytest.raises(hlstudy.SurveyDataError, match=r"2 of 6 answered cells .* more than the 1 tolerated .*\(5% of them, at least 1\)"):
        hlstudy.load_study(folder, cache=False)
    rules = hlstudy.cleaning.Rules(unreadable_max_share=0.5)  # 3 cells of 6 tolerated
    study = hlstudy.load_study(folder, cache=False, rules=rules)
    assert (study.cleaning_log["rule"] == "unreadable").sum() == 2


def test_unreadable_rule_cannot_be_skipped_or_mis_set():
    with pytest.raises(hlstudy.SurveyDataError, match="cannot be skipped"):
        hlstudy.cleaning.Rules(skip=("unreadable",))
    with pytest.raises(hlstudy.SurveyDataError, match="unreadable_max_share"):
        hlstudy.cleaning.Rules(unreadable_max_share=1.0)
