"""Reading exports as received: CSV (UTF-8, UTF-8-BOM, Windows-1258), XLSX, SAV; folders."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hlstudy._text import clean_text
from hlstudy.errors import SurveyDataError
from hlstudy.ingest._common import FORMATS, INSTRUMENTS, _blank, _number
from hlstudy.ingest.headers import header_key


@dataclass
class RawTable:
    """An export as read: headers and rows of cells, before any mapping."""

    file: Path
    format: str
    encoding: str | None
    headers: list[Any]
    rows: list[list[Any]]
    row_numbers: list[int]  # spreadsheet row of each data row (header = row 1)
    sheet: str | None = None
    sheet_note: str | None = None  # why that sheet was read, when not named after the instrument
    column_labels: list[Any] | None = None  # SPSS variable labels, beside the names
    #: SPSS value labels of each column (stored value → label, keyed by the variable's own
    #: storage type: floats for numeric variables, text for string variables), or None.
    value_labels: list[dict | None] | None = None


def file_digest(path: str | Path) -> str:
    """SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def detect_encoding(data: bytes, file: Path | str) -> str:
    """Name the encoding of CSV bytes: ``utf-8-sig``, ``utf-8`` or ``cp1258``.

    UTF-16/32 files, binary files and bytes that are neither valid UTF-8 nor
    Windows-1258 raise :class:`SurveyDataError`.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise SurveyDataError(
            "is encoded in UTF-16; save it as 'CSV UTF-8 (comma delimited)'", file=file
        )
    if b"\x00" in data[:4096]:
        raise SurveyDataError(
            "contains NUL bytes: this is not a CSV text file (binary, or UTF-16 without BOM)",
            file=file,
        )
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        data.decode("cp1258")
        return "cp1258"
    except UnicodeDecodeError:
        line = data[: utf8_error.start].count(b"\n") + 1
        raise SurveyDataError(
            "wrong encoding: the bytes are neither UTF-8 nor Windows-1258 "
            f"(first invalid byte 0x{data[utf8_error.start]:02x}); save it as 'CSV UTF-8'",
            file=file,
            row=line,
        ) from None


def _csv_records(text: str, path: Path, delimiter: str = ",") -> list[list[str]]:
    records = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        for record in reader:
            records.append(record)
    except csv.Error as exc:
        raise SurveyDataError(
            f"is not a well-formed CSV file: {exc}", file=path, row=len(records) + 1
        ) from None
    return records


def _trim_trailing(records: list[list[str]]) -> list[list[str]]:
    """Drop trailing columns without a name and without any value (Excel's ",,," artefact)."""
    header = records[0]
    while len(header) > 1 and not header[-1].strip() and all(
        len(r) < len(header) or not r[len(header) - 1].strip() for r in records[1:]
    ):
        width = len(header) - 1
        records = [r[:width] if len(r) > width else r for r in records]
        header = records[0]
    return records


def _semicolon_records(text: str, path: Path) -> list[list[str]] | None:
    """The records of a file separated by semicolons throughout, or None if it is not one."""
    if text.split("\n", 1)[0].count(";") < 2:
        return None
    try:
        records = _csv_records(text, path, ";")
    except SurveyDataError:
        return None
    if not records:
        return None
    records = _trim_trailing(records)
    width = len(records[0])
    if width > 2 and all(len(r) == width for r in records[1:] if any(c.strip() for c in r)):
        return records
    return None


def read_csv_rows(path: Path) -> RawTable:
    """Read a CSV export into a :class:`RawTable` (quoted as Excel does).

    Comma-separated; a file separated by semicolons throughout (KoboToolbox's CSV default,
    Excel in locales with a decimal comma) is read too when every row has the header's number
    of fields.  Tabs and vertical bars are errors.
    """
    data = path.read_bytes()
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise SurveyDataError("file is empty", file=path)
    encoding = detect_encoding(data, path)
    text = data.decode(encoding)
    try:
        records = _csv_records(text, path)
    except SurveyDataError:
        # a fully quoted semicolon file ("a";"b") is no well-formed comma CSV: read it as such
        semicolon = _semicolon_records(text, path)
        if semicolon is None:
            raise
        records = semicolon
    if not records:
        raise SurveyDataError("file is empty", file=path)
    if re.fullmatch(r"\s*sep=.?\s*", ",".join(records[0]), flags=re.IGNORECASE):
        raise SurveyDataError(
            "row 1 is Excel's 'sep=' hint line, not the header: delete that line so that the "
            "column names are in row 1",
            file=path,
            row=1,
        )
    records = _trim_trailing(records)
    header = records[0]
    first_line = text.split("\n", 1)[0]
    for delimiter, name in ((";", "semicolon"), ("\t", "tab"), ("|", "vertical bar")):
        if first_line.count(delimiter) >= max(2, len(header)):
            semicolon = _semicolon_records(text, path) if delimiter == ";" else None
            if semicolon is not None:
                records, header = semicolon, semicolon[0]
                break
            raise SurveyDataError(
                f"wrong delimiter: the header is split by {name}s ({delimiter!r}), "
                "exports must be comma-separated"
                + (" (or semicolon-separated throughout)" if delimiter == ";" else ""),
                file=path,
                row=1,
            )
    rows, numbers = [], []
    for index, record in enumerate(records[1:], start=1):
        row_no = index + 1  # the row a spreadsheet shows (a quoted line break stays in its row)
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(header):
            raise SurveyDataError(
                f"has {len(record)} fields where the header has {len(header)} "
                + (_title_hint(header) or "(a stray comma or delimiter?)"),
                file=path,
                row=row_no,
            )
        rows.append(record)
        numbers.append(row_no)
    return RawTable(path, "csv", encoding, list(header), rows, numbers)


def _title_hint(header: list[Any]) -> str:
    """Explain a "header" that is really a title line above the column names, else ``""``."""
    named = [clean_text(h) for h in header if not _blank(h)]
    if len(named) <= 2 and named:
        return (
            f"— row 1 looks like a title ({named[0][:60]!r}), not the column names: the header "
            "must be in row 1, delete the title rows above it"
        )
    return ""


def _sheet_cells(workbook, sheet: str, path: Path) -> list[list]:
    try:
        return [list(r) for r in workbook[sheet].iter_rows(values_only=True)]
    except Exception as exc:  # a damaged sheet inside a valid zip
        raise SurveyDataError(f"sheet {sheet!r} cannot be read ({type(exc).__name__})", file=path) from None


def _data_rows(cells: list[list]) -> int:
    """Rows below the header holding a value (a sheet with a header only holds no data)."""
    return sum(1 for r in cells[1:] if not all(_blank(c) for c in r))


def _choose_sheet(workbook, names: list[str], instrument: str, path: Path) -> tuple[str, str | None]:
    """The sheet to read and, when it was not named after the instrument, why it was read.

    In order: the sheet ``[sheets]`` of ``hlstudy.toml`` names for the instrument; the sheet
    named after the instrument; the workbook's only sheet; the only sheet holding data rows
    (a Google Sheets download has "Câu trả lời biểu mẫu 1" beside empty sheets).  Several
    sheets with data: :class:`SurveyDataError` naming each with its rows and how to choose.
    """
    from hlstudy.config import sheet_settings

    chosen = sheet_settings().get(instrument)
    if chosen is not None:
        match = [n for n in names if clean_text(n) == clean_text(chosen)]
        if not match:
            raise SurveyDataError(
                f"hlstudy.toml [sheets] names sheet {chosen!r} for {instrument}, which the workbook "
                f"does not have (sheets: {names})", file=path)
        return match[0], f"sheet {match[0]!r} as hlstudy.toml [sheets] says"
    match = [n for n in names if clean_text(n).casefold() == instrument]
    if match:
        return match[0], None
    if len(names) == 1:
        return names[0], None
    rows = {n: _data_rows(_sheet_cells(workbook, n, path)) for n in names}
    full = [n for n in names if rows[n]]
    if len(full) == 1:
        empty = ", ".join(repr(n) for n in names if n != full[0])
        return full[0], (f"sheet {full[0]!r}, the only sheet with data ({rows[full[0]]} rows; "
                         f"empty: {empty})")
    listed = "; ".join(f"{n!r}: {rows[n]} data rows" for n in names)
    raise SurveyDataError(
        f"no sheet is named {instrument!r} and " + ("several sheets hold data" if full else "no sheet holds data")
        + f" ({listed}): say which sheet holds the {instrument} answers, either in hlstudy.toml "
        f"([sheets] then {instrument} = \"<sheet name>\") or by renaming that sheet {instrument!r} "
        "in a copy of the workbook", file=path)


def read_xlsx_rows(path: Path, instrument: str) -> RawTable:
    """Read the instrument's sheet (or the only sheet) of an ``.xlsx`` workbook."""
    import warnings

    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zipfile, XML and openpyxl's own InvalidFileException errors
        raise SurveyDataError(
            f"is not a readable Excel .xlsx workbook ({type(exc).__name__})", file=path
        ) from None
    try:
        names = workbook.sheetnames
        sheet, note = _choose_sheet(workbook, names, instrument, path)
        cells = _sheet_cells(workbook, sheet, path)
    finally:
        workbook.close()
    while cells and all(_blank(c) for c in cells[-1]):
        cells.pop()
    if not cells:
        raise SurveyDataError(f"sheet {sheet!r} is empty", file=path)
    header = list(cells[0])
    while header and _blank(header[-1]):
        header.pop()
    width = len(header)
    rows, numbers = [], []
    for index, record in enumerate(cells[1:], start=2):
        if all(_blank(c) for c in record):
            continue
        extra = [c for c in record[width:] if not _blank(c)]
        if extra:
            raise SurveyDataError(
                f"sheet {sheet!r}: a value lies to the right of the last header "
                + (_title_hint(header) or f"(column {width + 1} has no name)"),
                file=path,
                row=index,
            )
        record = list(record[:width]) + [None] * (width - len(record))
        rows.append(record)
        numbers.append(index)
    return RawTable(path, "xlsx", None, header, rows, numbers, sheet=sheet, sheet_note=note)


def read_sav_rows(path: Path) -> RawTable:
    """Read an SPSS ``.sav`` file: stored values, with each column's value labels beside them.

    Cells keep the stored value (a numeric code, or the text of a string variable); the value
    labels go to :attr:`RawTable.value_labels`, keyed by the variable's own storage type — a
    string variable's ``'1'`` = Nam is keyed ``'1'``, as ``haven::as_factor`` reads it, not
    ``1.0``.  Conversion (:mod:`hlstudy.ingest.values`) reads the stored value when it is
    valid for the variable and its label otherwise.  User-missing values (SPSS "missing
    values", e.g. ``'-99'``) arrive as blanks (pyreadstat's default).
    """
    import pyreadstat

    try:
        frame, meta = pyreadstat.read_sav(str(path), apply_value_formats=False)
    except Exception as exc:  # pyreadstat raises ReadstatError/PyreadstatError and OSError
        raise SurveyDataError(
            f"is not a readable SPSS .sav file ({type(exc).__name__}: {exc})", file=path
        ) from None
    names = list(frame.columns)
    labels = [meta.column_names_to_labels.get(n) for n in names]
    value_labels = meta.variable_value_labels or {}
    types = getattr(meta, "readstat_variable_types", {}) or {}
    columns, tables = [], []
    for name in names:
        columns.append(frame[name].tolist())
        mapping = value_labels.get(name)
        if not mapping:
            tables.append(None)
        elif types.get(name) == "string":
            tables.append({clean_text(k): v for k, v in mapping.items()})
        else:
            tables.append({float(k): v for k, v in mapping.items() if _number(k) is not None})
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    numbers = list(range(2, len(rows) + 2))
    keep = [i for i, r in enumerate(rows) if not all(_blank(c) for c in r)]
    rows = [rows[i] for i in keep]
    numbers = [numbers[i] for i in keep]
    return RawTable(path, "sav", None, names, rows, numbers, column_labels=labels,
                    value_labels=tables if any(tables) else None)



def read_raw(path: str | Path, instrument: str) -> RawTable:
    """Read ``path`` by its extension (``.csv``, ``.xlsx``, ``.sav``) into a :class:`RawTable`."""
    path = Path(path)
    if not path.is_file():
        raise SurveyDataError("file not found", file=path)
    suffix = path.suffix.lower().lstrip(".")
    readers = {"csv": read_csv_rows, "xlsx": lambda p: read_xlsx_rows(p, instrument), "sav": read_sav_rows}
    if suffix not in readers:
        raise SurveyDataError(f"unsupported file type {path.suffix!r}; expected .csv, .xlsx or .sav", file=path)
    try:
        table = readers[suffix](path)
    except OSError as exc:  # permissions, a file vanishing while read
        raise SurveyDataError(f"cannot be read: {exc.strerror or exc}", file=path) from None
    if not table.rows:
        raise SurveyDataError("has a header but no data rows", file=path)
    _check_repeated_header(table)
    return table


def _check_repeated_header(table: RawTable) -> None:
    """Raise when a data row repeats the header row (exports pasted one under another)."""
    keys = [None if _blank(h) else header_key(h) for h in table.headers]
    named = sum(k is not None for k in keys)
    if named < 2:
        return
    # per column, the distinct text cells whose key is the column's own: each distinct text
    # keyed once, not every cell of every row (~45,000 cells per study)
    width = len(table.headers)
    by_column = (list(zip(*table.rows, strict=True))
                 if all(len(r) == width for r in table.rows) else None)
    distinct = {
        j: set(by_column[j] if by_column is not None else [r[j] for r in table.rows if len(r) > j])
        for j, k in enumerate(keys) if k is not None
    }
    threshold = max(2, named // 2)
    # A row repeats the header when ``threshold`` of its cells are their column's name.  The
    # threshold - 1 columns of the most distinct cells (times, dates, names: one text per row)
    # cannot make that many alone, so they are keyed only when some other column has a cell
    # that is its name: the same rows are found, without keying every text of those columns.
    last = set(sorted(distinct, key=lambda j: -len(distinct[j]))[: threshold - 1])

    def same_texts(j: int) -> set:
        texts = {c for c in distinct[j] if isinstance(c, str)}  # distinct cells first (C speed)
        return {t for t in texts if header_key(t) == keys[j]}

    hits = [(j, s) for j in distinct if j not in last for s in [same_texts(j)] if s]
    if not hits:
        return
    hits = sorted(hits + [(j, s) for j in sorted(last) for s in [same_texts(j)] if s])
    for record, row_no in zip(table.rows, table.row_numbers, strict=True):
        same = sum(
            1 for j, same_text in hits
            if len(record) > j and isinstance(record[j], str) and record[j] in same_text
        )
        if same >= max(2, named // 2):
            raise SurveyDataError(
                f"repeats the header row ({same} of {named} cells are column names): were two "
                "exports pasted one under the other? Remove the repeated header and re-check the rows",
                file=table.file,
                row=row_no,
            )



#: Instruments every study must have; the others may be absent (a partial study).
REQUIRED_INSTRUMENTS = ("officials",)
#: Files of a data folder that are not exports (the header mapping of ``hlstudy.ingest``).
NOT_EXPORTS = ("columns.csv",)


def find_exports(folder: str | Path, *, required=REQUIRED_INSTRUMENTS) -> dict[str, Path]:
    """The export file of each instrument present in ``folder`` (at most one each).

    Instruments of ``required`` (default: the officials' survey) must be there; the others may
    be absent — a study of officials only — but only when the folder holds no other data file
    (``.csv``, ``.xlsx``, ``.sav``) that could be a misnamed export: then the error names it.
    """
    folder = Path(folder)
    if not folder.exists():
        raise SurveyDataError("data folder does not exist", file=folder)
    if not folder.is_dir():
        raise SurveyDataError("is not a folder of survey exports", file=folder)
    found: dict[str, Path] = {}
    files = sorted(p for p in folder.iterdir() if p.is_file())
    data_files = [p.name for p in files if p.suffix.lower().lstrip(".") in FORMATS
                  and p.name.casefold() not in NOT_EXPORTS]
    for instrument in INSTRUMENTS:
        candidates = [p for p in files if p.stem.casefold() == instrument
                      and p.suffix.lower().lstrip(".") in FORMATS]
        others = [p.name for p in files if p.stem.casefold() == instrument and p not in candidates]
        if not candidates:
            unknown = [n for n in data_files if Path(n).stem.casefold() not in INSTRUMENTS]
            if instrument not in required and not others and not unknown:
                continue  # a partial study: this instrument was not surveyed
            extra = f" (found {others}: unsupported type)" if others else ""
            seen = f"; files found: {[p.name for p in files]}" if files else "; the folder is empty"
            hint = (f"; {unknown} is not named after an instrument: rename it {instrument}.csv "
                    f"(or .xlsx, .sav), or remove it for a study without {instrument}"
                    if unknown and not others else "")
            raise SurveyDataError(
                f"no export for instrument {instrument!r}: expected {instrument}.csv, "
                f"{instrument}.xlsx or {instrument}.sav{extra}{hint}{seen}",
                file=folder,
            )
        if len(candidates) > 1:
            raise SurveyDataError(
                f"several exports for instrument {instrument!r}: {[p.name for p in candidates]}; "
                "keep exactly one",
                file=folder,
            )
        found[instrument] = candidates[0]
    return found


def read_manifest(folder: str | Path) -> dict:
    """``manifest.json`` of a data folder, or ``{}`` when there is none (real data)."""
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        return {}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SurveyDataError(f"is not valid JSON: {exc}", file=path) from None
    if not isinstance(manifest, dict):
        raise SurveyDataError("must hold a JSON object", file=path)
    if "simulated" in manifest and not isinstance(manifest["simulated"], bool):
        # "true" as a string would silently drop the simulated-data mark from every figure
        raise SurveyDataError(
            f"'simulated' must be true or false (JSON booleans), not {manifest['simulated']!r}",
            file=path,
        )
    return manifest



def raw_digests(folder: str | Path, names: Iterable[str] | None = None) -> dict[str, str]:
    """SHA-256 of each export (and the manifest, and the column mapping) in ``folder``: the key
    of the processed cache.  The ``[columns]`` and ``[sheets]`` tables of ``hlstudy.toml``,
    when set, are part of it too (as ``"[columns]"``, ``"[sheets]"``), so that changing the
    mapping or the sheet rebuilds the study."""
    from hlstudy.config import column_settings, sheet_settings

    folder = Path(folder)
    files = list(find_exports(folder).values())
    for extra in ("manifest.json", "columns.csv"):
        if (folder / extra).is_file():
            files.append(folder / extra)
    if names is not None:
        files = [f for f in files if f.name in set(names)]
    digests = {f.name: file_digest(f) for f in sorted(files)}
    settings = column_settings()
    if settings and names is None:
        digests["[columns]"] = hashlib.sha256(repr(sorted(settings.items())).encode()).hexdigest()
    sheets = sheet_settings()
    if sheets and names is None:  # which sheet of a workbook is read
        digests["[sheets]"] = hashlib.sha256(repr(sorted(sheets.items())).encode()).hexdigest()
    return digests
