"""Read survey exports as their instrument: files in, one typed table per instrument out.

The ingest layer is the only code that sees the exports as received.  It

* reads ``<instrument>.csv`` (UTF-8, UTF-8 with BOM, or Windows-1258 as old Vietnamese
  Excel versions save it — the encoding found is reported), ``<instrument>.xlsx`` (the sheet
  named after the instrument, or the workbook's only sheet) and ``<instrument>.sav`` (SPSS,
  value labels applied);
* maps the platform's Vietnamese headers to the codebook's item codes
  (:func:`map_headers`), tolerant of Unicode NFC/NFD, spacing, case and numbering prefixes
  such as ``"Câu 12."``, strict about anything else: an unknown, missing, duplicated or
  foreign column is a :class:`~hlstudy.errors.SurveyDataError` naming the column and the
  closest codebook item;
* drops every ``pii`` column of the codebook *before* any value is looked at, and gives each
  record a pseudonymous ``record_id`` (:func:`record_id`);
* converts every value to the codebook's type: Likert and category labels to codes (also
  the ``aliases_vi`` of ``value_labels.csv``), numbers, dates and timestamps, text to NFC.
  A single respondent's unreadable cell (an unknown label, text in a year, 31/02/1990) is
  set to missing and passed on for the ``unreadable`` rule of :mod:`hlstudy.cleaning` to
  log; a column with more such cells than ``max_unreadable_share`` allows is an error
  naming the file, the first row and the column;
* matches commune names to the registry (:func:`match_commune`): with or without
  diacritics, ``xã``/``TT``/``thị trấn`` prefixes, small typos; every match that was not
  exact is reported, a name outside Hữu Lũng is an error listing every such value.

Values that can be read but are implausible (a Likert 7, an age of 140) are *not* errors
here: they pass through unchanged and the named rules of :mod:`hlstudy.cleaning` decide,
with a log row.  Raw files are opened read-only and never modified.

Example
-------
>>> from hlstudy import ingest
>>> table = ingest.read_instrument("data/raw/officials.csv")  # doctest: +SKIP
>>> table.data.columns[:3].tolist(), table.encoding  # doctest: +SKIP
(['record_id', 'source_row', 'commune_code'], 'utf-8')
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import io
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hlstudy.errors import SurveyDataError
from hlstudy.paths import INSTRUMENT, REFERENCE

INSTRUMENTS = ("officials", "citizens", "personnel")
FORMATS = ("csv", "xlsx", "sav")
TYPES = ("likert", "category", "integer", "year", "date", "text", "timestamp", "duration", "commune")
#: Columns whose absence from an export is allowed (timing is optional; personal data are welcome
#: to be missing).
OPTIONAL_TYPES = ("timestamp", "duration")
MISSING_TOKENS = frozenset({"", "na", "n/a", "nan", "null", "-", ".", "#n/a", "không trả lời"})
#: Salt of the pseudonymous record id.  Changing it changes every id; it is not a secret
#: (the id hashes the row's position, never a person's data).
ID_SALT = "hlstudy-record-id-v1"
#: Transient column: salted hash of a record's personal data, removed by hlstudy.cleaning.clean.
PII_KEY = "_pii_key"
#: Transient column: the cells of a record that could not be read (set to missing), as a tuple of
#: ``(variable, raw text, reason)``; logged by the ``unreadable`` rule of hlstudy.cleaning.
UNREADABLE = "_unreadable"
#: Default largest share of a column's answered cells that may be unreadable before the column
#: (not the respondents) is taken to be wrong: above it ingest raises (see read_instrument).
UNREADABLE_MAX_SHARE = 0.05

_DASHES = re.compile(r"\s*[-‐‑‒–—―]\s*")
_TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
_PREFIX = re.compile(r"^\s*(?:câu|cau|c|q|question)?\s*\d{1,3}\s*[.:)\-–]\s*", re.IGNORECASE)
_LABEL_PREFIX = re.compile(r"^\s*\(?\d{1,2}\)?\s*[.:)\-–=]\s*")
_COMMUNE_PREFIX = re.compile(
    r"^(?:xã|xa|x\.|thị trấn|thi tran|tt\.|tt|ttr\.|phường|phuong|p\.)\s*", re.IGNORECASE
)


# --------------------------------------------------------------------------- text


def nfc(text: str) -> str:
    """Unicode NFC form of ``text`` (composed letters, as Vietnamese is normally stored)."""
    return unicodedata.normalize("NFC", text)


def clean_text(value: Any) -> str:
    """NFC, non-breaking spaces to spaces, runs of white space collapsed, ends stripped."""
    text = nfc(str(value)).replace("\u00a0", " ").replace("\ufeff", "")
    return " ".join(text.split())


def fold(text: str) -> str:
    """Lower-case ``text`` without diacritics (``"Hữu Lũng"`` → ``"huu lung"``)."""
    decomposed = unicodedata.normalize("NFD", clean_text(text).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("đ", "d")


def sort_key(text: Any) -> tuple[str, str]:
    """Vietnamese-friendly sort key: letters without diacritics first (``Đồng Tân`` near ``Đông``)."""
    return fold(str(text)), clean_text(text)


def header_key(header: Any) -> str:
    """Comparison key of a column header: NFC, case-folded, spacing and numbering removed.

    >>> header_key("  Câu 12.  Anh/chị  được ĐÀO TẠO * ")
    'anh/chị được đào tạo'
    """
    text = clean_text(header)
    text = _PREFIX.sub("", text, count=1)
    text = text.rstrip("*: ").strip()
    text = re.sub(r"\s+([?.,;:!)])", r"\1", text)
    return _DASHES.sub(" - ", text).casefold()


def encode_cp1258(text: str) -> bytes:
    """Encode ``text`` in Windows-1258 the way Vietnamese Windows software does.

    Code page 1258 has the base letters (``ơ``, ``ư``, ``â``, ``đ``…) but not the toned
    ones, which it writes as a base letter followed by a combining tone mark.  Useful to
    build test files; :func:`read_csv_rows` reads such files back to NFC.
    """
    out = []
    for ch in nfc(text):
        try:
            ch.encode("cp1258")
            out.append(ch)
            continue
        except UnicodeEncodeError:
            pass
        parts = unicodedata.normalize("NFD", ch)
        tones = "".join(c for c in parts if c in _TONES)
        base = nfc("".join(c for c in parts if c not in _TONES))
        out.append(base + tones)
    return "".join(out).encode("cp1258")


# --------------------------------------------------------------------------- codebook


@dataclass(frozen=True)
class Variable:
    """One codebook row, typed."""

    instrument: str
    variable: str
    order: int
    construct: str
    type: str
    question_vi: str
    value_set: str
    reverse: bool
    min: float | None
    max: float | None
    required: bool
    pii: bool


@dataclass
class InstrumentSpec:
    """What ingest needs to know about one instrument, built from the codebook files."""

    name: str
    variables: list[Variable]
    value_sets: dict[str, pd.DataFrame]
    foreign: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def by_name(self) -> dict[str, Variable]:
        return {v.variable: v for v in self.variables}

    def scales(self) -> dict[str, list[str]]:
        """Construct code → its Likert item codes, in questionnaire order."""
        out: dict[str, list[str]] = {}
        for v in self.variables:
            if v.type == "likert" and v.construct:
                out.setdefault(v.construct, []).append(v.variable)
        return out

    def codes(self, value_set: str) -> list[float]:
        """Numeric codes of a Likert value set (sorted)."""
        return sorted(float(c) for c in self.value_sets[value_set]["code"])


def _flag(value: Any) -> bool:
    return str(value).strip() in {"1", "1.0", "True", "true", "yes"}


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _read_codebook_files(folder: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = Path(folder)
    paths = [base / "codebook.csv", base / "value_labels.csv"]
    for path in paths:
        if not path.is_file():
            raise SurveyDataError("codebook file not found", file=path)
    stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    return _read_codebook_cached(folder, stamp)


@lru_cache(maxsize=8)
def _read_codebook_cached(folder: str, stamp: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Codebook files of ``folder``; ``stamp`` (mtime, size) makes an edited file re-read."""
    base = Path(folder)
    paths = [base / "codebook.csv", base / "value_labels.csv"]
    codebook = pd.read_csv(paths[0], dtype=str, keep_default_na=False, encoding="utf-8")
    labels = pd.read_csv(paths[1], dtype=str, keep_default_na=False, encoding="utf-8")
    return codebook, labels


def codebook_frames(
    codebook: pd.DataFrame | None = None, value_labels: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The codebook and value-label tables (``data/instrument/`` unless given)."""
    if codebook is None or value_labels is None:
        default_cb, default_vl = _read_codebook_files(str(INSTRUMENT))
        codebook = default_cb if codebook is None else codebook
        value_labels = default_vl if value_labels is None else value_labels
    return codebook, value_labels


def instrument_spec(
    instrument: str,
    codebook: pd.DataFrame | None = None,
    value_labels: pd.DataFrame | None = None,
) -> InstrumentSpec:
    """Typed view of the codebook for ``instrument`` (see ``docs/architecture.md``)."""
    if instrument not in INSTRUMENTS:
        raise SurveyDataError(f"unknown instrument {instrument!r}; expected one of {INSTRUMENTS}")
    codebook, value_labels = codebook_frames(codebook, value_labels)
    codebook = codebook.astype(str).replace({"nan": "", "<NA>": ""})
    value_labels = value_labels.astype(str)
    variables = []
    rows = codebook[codebook["instrument"] == instrument]
    for _, r in rows.iterrows():
        if r["type"] not in TYPES:
            raise SurveyDataError(
                f"codebook variable {r['variable']!r} has unknown type {r['type']!r}",
                file="codebook.csv",
            )
        variables.append(
            Variable(
                instrument=instrument,
                variable=r["variable"].strip(),
                order=int(float(r["order"])) if _number(r["order"]) is not None else 0,
                construct=r.get("construct", "").strip(),
                type=r["type"].strip(),
                question_vi=clean_text(r["question_vi"]),
                value_set=r.get("value_set", "").strip(),
                reverse=_flag(r.get("reverse", "")),
                min=_number(r.get("min", "")),
                max=_number(r.get("max", "")),
                required=_flag(r.get("required", "")),
                pii=_flag(r.get("pii", "")),
            )
        )
    variables.sort(key=lambda v: (v.order, v.variable))
    sets = {
        name: group.reset_index(drop=True)
        for name, group in value_labels.groupby("value_set", sort=True)
    }
    for v in variables:
        if v.type in ("likert", "category") and v.value_set not in sets:
            raise SurveyDataError(
                f"variable {v.variable!r} uses value set {v.value_set!r}, absent from value_labels.csv",
                file="codebook.csv",
            )
    foreign: dict[str, tuple[str, str]] = {}
    for _, r in codebook[codebook["instrument"] != instrument].iterrows():
        for key in (header_key(r["question_vi"]), r["variable"].strip().casefold()):
            foreign.setdefault(key, (r["instrument"], r["variable"]))
    return InstrumentSpec(instrument, variables, sets, foreign)


# --------------------------------------------------------------------------- raw files


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
    column_labels: list[Any] | None = None  # SPSS variable labels, beside the names


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


def read_csv_rows(path: Path) -> RawTable:
    """Read a CSV export into a :class:`RawTable` (comma-delimited, quoted as Excel does)."""
    data = path.read_bytes()
    if not data.strip(b" \t\r\n\xef\xbb\xbf"):
        raise SurveyDataError("file is empty", file=path)
    encoding = detect_encoding(data, path)
    text = data.decode(encoding)
    records = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for record in reader:
            records.append(record)
    except csv.Error as exc:
        raise SurveyDataError(
            f"is not a well-formed CSV file: {exc}", file=path, row=len(records) + 1
        ) from None
    if not records:
        raise SurveyDataError("file is empty", file=path)
    if re.fullmatch(r"\s*sep=.?\s*", ",".join(records[0]), flags=re.IGNORECASE):
        raise SurveyDataError(
            "row 1 is Excel's 'sep=' hint line, not the header: delete that line so that the "
            "column names are in row 1",
            file=path,
            row=1,
        )
    header = records[0]
    # trailing columns without a name and without any value (Excel's ",,," artefact) are dropped
    while len(header) > 1 and not header[-1].strip() and all(
        len(r) < len(header) or not r[len(header) - 1].strip() for r in records[1:]
    ):
        width = len(header) - 1
        records = [r[:width] if len(r) > width else r for r in records]
        header = records[0]
    first_line = text.split("\n", 1)[0]
    for delimiter, name in ((";", "semicolon"), ("\t", "tab"), ("|", "vertical bar")):
        if first_line.count(delimiter) >= max(2, len(header)):
            raise SurveyDataError(
                f"wrong delimiter: the header is split by {name}s ({delimiter!r}), "
                "exports must be comma-separated",
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
        match = [n for n in names if clean_text(n).casefold() == instrument]
        if match:
            sheet = match[0]
        elif len(names) == 1:
            sheet = names[0]
        else:
            raise SurveyDataError(
                f"sheet {instrument!r} is missing from the workbook (sheets: {names})", file=path
            )
        try:
            cells = [list(r) for r in workbook[sheet].iter_rows(values_only=True)]
        except Exception as exc:  # a damaged sheet inside a valid zip
            raise SurveyDataError(
                f"sheet {sheet!r} cannot be read ({type(exc).__name__})", file=path
            ) from None
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
    return RawTable(path, "xlsx", None, header, rows, numbers, sheet=sheet)


def read_sav_rows(path: Path) -> RawTable:
    """Read an SPSS ``.sav`` file; value labels replace the codes they label."""
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
    columns = []
    for name in names:
        values = frame[name].tolist()
        mapping = value_labels.get(name)
        if mapping:
            keyed = {float(k) if _number(k) is not None else k: v for k, v in mapping.items()}
            values = [keyed.get(_maybe_float(v), v) for v in values]
        columns.append(values)
    rows = [list(r) for r in zip(*columns, strict=True)] if columns else []
    numbers = list(range(2, len(rows) + 2))
    keep = [i for i, r in enumerate(rows) if not all(_blank(c) for c in r)]
    rows = [rows[i] for i in keep]
    numbers = [numbers[i] for i in keep]
    return RawTable(path, "sav", None, names, rows, numbers, column_labels=labels)


def _maybe_float(value: Any) -> Any:
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return float(value)
    return value


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    if value is pd.NaT:
        return True
    return isinstance(value, str) and not value.strip()


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
    for record, row_no in zip(table.rows, table.row_numbers, strict=True):
        same = sum(
            1 for k, cell in zip(keys, record, strict=False)
            if k is not None and isinstance(cell, str) and header_key(cell) == k
        )
        if same >= max(2, named // 2):
            raise SurveyDataError(
                f"repeats the header row ({same} of {named} cells are column names): were two "
                "exports pasted one under the other? Remove the repeated header and re-check the rows",
                file=table.file,
                row=row_no,
            )


# --------------------------------------------------------------------------- headers


@dataclass
class HeaderMap:
    """Which file column holds which codebook variable."""

    columns: dict[str, int]  # variable → column index
    report: pd.DataFrame  # column, header, variable, how (exact, nfc, normalised, spss label)


def _closest(key: str, candidates: Mapping[str, str]) -> str:
    """Human description of the closest candidate to ``key`` (candidates: key → text)."""
    best = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.0)
    return candidates[best[0]] if best else "none"


def map_headers(table: RawTable, spec: InstrumentSpec) -> HeaderMap:
    """Map every column of ``table`` to a codebook variable of ``spec``, or raise.

    A header matches a variable when, after :func:`header_key`, it equals the variable's
    printed question (``question_vi``) or its code.  SPSS files are also matched on their
    variable labels.  Errors name the column and the closest codebook item.
    """
    by_key: dict[str, list[Variable]] = {}
    for v in spec.variables:
        by_key.setdefault(header_key(v.question_vi), []).append(v)
        by_key.setdefault(v.variable.casefold(), []).append(v)
    describe = {header_key(v.question_vi): f"{v.variable} ({v.question_vi!r})" for v in spec.variables}
    columns: dict[str, int] = {}
    seen_keys: dict[str, int] = {}
    report = []
    labels = table.column_labels or [None] * len(table.headers)
    for index, header in enumerate(table.headers):
        column_no = index + 1
        if _blank(header):
            raise SurveyDataError(
                f"column {column_no} has an empty header; every column must be named", file=table.file, row=1
            )
        shown = clean_text(header)
        key = header_key(header)
        if key in seen_keys:
            raise SurveyDataError(
                f"duplicated column name (columns {seen_keys[key]} and {column_no})",
                file=table.file,
                column=shown,
            )
        seen_keys[key] = column_no
        candidates = by_key.get(key)
        how = "header"
        if candidates is None and labels[index] is not None and not _blank(labels[index]):
            candidates = by_key.get(header_key(labels[index]))
            how = "spss label"
        if candidates is None:
            foreign = spec.foreign.get(key)
            if foreign is None and labels[index]:
                foreign = spec.foreign.get(header_key(labels[index]))
            if foreign is not None:
                raise SurveyDataError(
                    f"this column belongs to the {foreign[0]} questionnaire ({foreign[1]}), "
                    f"not to {spec.name}: is this the right file?",
                    file=table.file,
                    column=shown,
                )
            hint = _closest(key if not labels[index] else header_key(labels[index]), describe)
            encoding_hint = (
                " (the file was read as Windows-1258; if headers look garbled it is in another encoding)"
                if table.encoding == "cp1258"
                else ""
            )
            raise SurveyDataError(
                f"unknown column (column {column_no}), not in the {spec.name} codebook; "
                f"closest codebook item: {hint}{encoding_hint}",
                file=table.file,
                column=shown,
            )
        if len(candidates) > 1:
            number = re.match(r"^\s*(?:câu|cau|c|q|question)?\s*(\d{1,3})", clean_text(header), re.I)
            picked = [v for v in candidates if number and v.order == int(number.group(1))]
            if len(picked) != 1:
                raise SurveyDataError(
                    f"header matches several codebook items {[v.variable for v in candidates]}; "
                    "prefix it with its question number ('Câu N.')",
                    file=table.file,
                    column=shown,
                )
            candidates = picked
        variable = candidates[0].variable
        if variable in columns:
            first = table.headers[columns[variable]]
            raise SurveyDataError(
                f"two columns map to {variable}: {clean_text(first)!r} and {shown!r}",
                file=table.file,
                column=shown,
            )
        columns[variable] = index
        if how == "header":
            v = candidates[0]
            printed = f"Câu {v.order}. {v.question_vi}" if v.type == "likert" else v.question_vi
            if str(header) == printed or str(header) == v.variable:
                how = "exact"
            elif str(header) in (nfc(printed), nfc(printed).strip()) or nfc(str(header)) == printed:
                how = "nfc"  # same text in another Unicode normal form
            else:
                how = "normalised"  # spacing, case, numbering or dashes differ
        report.append({"column": column_no, "header": shown, "variable": variable, "how": how})
    missing = [
        v for v in spec.variables if v.variable not in columns and not v.pii and v.type not in OPTIONAL_TYPES
    ]
    if missing:
        v = missing[0]
        present = {header_key(h): clean_text(h) for h in table.headers}
        unmapped = {k: t for k, t in present.items() if k not in by_key}
        closest = _closest(header_key(v.question_vi), unmapped) if unmapped else "none"
        names = ", ".join(m.variable for m in missing)
        raise SurveyDataError(
            f"missing column(s) {names}: no header for {v.variable} ({v.question_vi!r}); "
            f"closest unmapped header in the file: {closest}",
            file=table.file,
            column=v.question_vi,
        )
    return HeaderMap(columns, pd.DataFrame(report, columns=["column", "header", "variable", "how"]))


# --------------------------------------------------------------------------- values


def _label_key(value: str) -> str:
    """Comparison key of a value label: NFC, case-folded, single spaces, any dash as " - "."""
    return _DASHES.sub(" - ", " ".join(clean_text(value).casefold().split()))


@lru_cache(maxsize=64)
def _label_lookup(entries: tuple) -> tuple[dict, dict]:
    exact: dict[str, str] = {}
    folded: dict[str, set[str]] = {}
    for code, label_vi, label_en in entries:
        for text in (code, label_vi, label_en):
            if text:
                exact[_label_key(text)] = code
                folded.setdefault(fold(text), set()).add(code)
    return exact, {k: next(iter(v)) for k, v in folded.items() if len(v) == 1}


def _aliases(row: pd.Series) -> tuple[str, ...]:
    """Other accepted Vietnamese names of a code (optional ``aliases_vi`` column, ``;``-separated).

    E.g. the land-administration title ``DC`` is called "Địa chính – xây dựng – đô thị và môi
    trường" in a thị trấn (``title_vi_urban`` of ``decree33_positions.csv``).
    """
    text = str(row.get("aliases_vi", "") or "")
    return tuple(clean_text(a) for a in text.split(";") if a.strip() and a.strip() != "nan")


def _value_set_entries(spec: InstrumentSpec, name: str) -> tuple:
    frame = spec.value_sets[name]
    entries = []
    for _, r in frame.iterrows():
        code = clean_text(r["code"])
        entries.append((code, clean_text(r.get("label_vi", "")), clean_text(r.get("label_en", ""))))
        entries.extend((code, alias, alias) for alias in _aliases(r))
    return tuple(entries)


class _Converter:
    """Convert one column's cells to the codebook type, raising on unreadable cells."""

    def __init__(self, spec: InstrumentSpec, variable: Variable, table: RawTable, header: str):
        self.spec, self.v, self.table, self.header = spec, variable, table, header
        if variable.type in ("likert", "category"):
            entries = _value_set_entries(spec, variable.value_set)
            self.entries = entries
            self.exact, self.folded = _label_lookup(entries)
            self.codes = {e[0] for e in entries}

    def fail(self, row: int, message: str) -> SurveyDataError:
        return SurveyDataError(message, file=self.table.file, row=row, column=self.header)

    def __call__(self, value: Any, row: int) -> Any:
        if _blank(value) or (isinstance(value, str) and clean_text(value).casefold() in MISSING_TOKENS):
            return None
        kind = self.v.type
        if kind in ("likert", "category"):
            return self.label(value, row)
        if kind in ("integer", "year", "duration"):
            return self.number(value, row)
        if kind == "date":
            return self._bounded(self.date(value, row), value, row)
        if kind == "timestamp":
            return self._bounded(self.timestamp(value, row), value, row)
        return clean_text(value)  # text, commune (matched later)

    def label(self, value: Any, row: int) -> Any:
        if isinstance(value, bool):
            raise self.fail(row, f"value {value!r} is not a label of value set {self.v.value_set!r}")
        if isinstance(value, int | float | np.integer | np.floating):
            number = float(value)
        else:
            text = clean_text(value)
            key = _label_key(text)
            if key in self.exact:
                return self._coded(self.exact[key])
            stripped = _LABEL_PREFIX.sub("", text)
            if stripped != text and _label_key(stripped) in self.exact and re.search(r"[^\W\d_]", stripped):
                # "5. Hoàn toàn đồng ý", "(4) Đồng ý": a numbered label — never a number such as
                # "2.5", and the number must agree with the label's code when the code is a number
                code = self.exact[_label_key(stripped)]
                number = re.match(r"^\s*\(?(\d{1,2})", text).group(1)
                if not code.isdigit() or int(code) == int(number):
                    return self._coded(code)
                raise self.fail(row, f"{text!r}: the number {number} contradicts the label "
                                     f"{stripped!r} (code {code})")
            if fold(text) in self.folded:
                return self._coded(self.folded[fold(text)])
            number = _number(text.replace(",", "."))
            if number is None:
                labels = [clean_text(t) for t in self.spec.value_sets[self.v.value_set]["label_vi"]]
                close = difflib.get_close_matches(text, labels, n=1, cutoff=0.0)
                raise self.fail(
                    row,
                    f"label {text!r} is not in value set {self.v.value_set!r} of the codebook "
                    f"(closest: {close[0] if close else 'none'!r}; admissible: {labels})",
                )
        if not math.isfinite(number) or number != int(number):
            raise self.fail(row, f"{value!r} is not a whole-number code of {self.v.value_set!r}")
        code = str(int(number))
        if self.v.type == "likert":
            return float(number)  # out-of-range codes are left to hlstudy.cleaning
        if code not in self.codes:
            raise self.fail(
                row, f"code {code!r} is not in value set {self.v.value_set!r} (codes: {sorted(self.codes)})"
            )
        return code

    def _coded(self, code: str) -> Any:
        if self.v.type == "likert":
            return float(code)
        return code

    def number(self, value: Any, row: int) -> float:
        if isinstance(value, bool) or isinstance(value, dt.date | dt.datetime):
            raise self.fail(row, f"{value!r} is not a number")
        if isinstance(value, int | float | np.integer | np.floating):
            number = float(value)
        else:
            number = _number(clean_text(value).replace(",", "."))
            if number is None:
                raise self.fail(row, f"{clean_text(value)!r} is not a number ({self.v.type})")
        if not math.isfinite(number):
            raise self.fail(row, f"{value!r} is not a finite number ({self.v.type})")
        if self.v.type in ("integer", "year") and number != int(number):
            raise self.fail(row, f"{value!r} is not a whole number ({self.v.type})")
        if abs(number) >= _HUGE:  # an integer column cannot hold it; no count or year is that large
            raise self.fail(row, f"{_shorten(value)!r} is not a plausible {self.v.type} (too large)")
        return number

    def _bounded(self, stamp: pd.Timestamp, value: Any, row: int) -> pd.Timestamp:
        """Dates pandas cannot hold (before 1678, after 2261) are unreadable, not a crash."""
        try:
            inside = _TS_MIN <= stamp <= _TS_MAX
        except (OverflowError, ValueError):
            inside = False
        if not inside:
            raise self.fail(row, f"{_shorten(value)!r} is not a plausible {self.v.type} "
                                 f"(year outside {_TS_MIN.year}–{_TS_MAX.year})")
        return pd.Timestamp(stamp).as_unit("ns")

    def date(self, value: Any, row: int) -> pd.Timestamp:
        if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
            return pd.Timestamp(value).normalize()
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
            if 20000 <= float(value) <= 80000:  # an Excel serial day number
                return pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(float(value)))
            raise self.fail(row, f"{value!r} is not a date")
        text = clean_text(value)
        parsed = _parse_date(text)
        if parsed is None:
            if _DATE_SHAPE.match(text):
                raise self.fail(row, f"{text!r} is not a date: no such day (read as DD/MM/YYYY)")
            raise self.fail(
                row, f"{text!r} is not a date in a known format (YYYY-MM-DD or DD/MM/YYYY)"
            )
        return parsed

    def timestamp(self, value: Any, row: int) -> pd.Timestamp:
        if isinstance(value, dt.datetime | pd.Timestamp):
            return pd.Timestamp(value).floor("s")
        if isinstance(value, dt.date):
            return pd.Timestamp(value)
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
            if 20000 <= float(value) <= 80000:
                return (pd.Timestamp("1899-12-30") + pd.Timedelta(days=float(value))).round("s")
            raise self.fail(row, f"{value!r} is not a timestamp")
        text = clean_text(value)
        parsed = _parse_timestamp(text)
        if parsed is None:
            raise self.fail(
                row, f"{text!r} is not a timestamp in a known format (YYYY-MM-DD HH:MM:SS)"
            )
        return parsed


#: Range of dates a pandas (nanosecond) column can hold, and the largest admissible number.
_TS_MIN, _TS_MAX = pd.Timestamp("1678-01-01"), pd.Timestamp("2261-12-31")
_HUGE = 1e15
#: A day-month-year (or ISO) shape whose numbers make no calendar day, e.g. 31/02/1990.
_DATE_SHAPE = re.compile(r"^(?:\d{1,2}[/.-]\d{1,2}[/.-]\d{4}|\d{4}[-/]\d{1,2}[-/]\d{1,2})$")
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")
_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%d/%m/%Y %H:%M",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
)


def _parse_date(text: str) -> pd.Timestamp | None:
    text = text.split(" ")[0] if re.match(r"^\d{4}-\d{2}-\d{2} 00:00(:00)?$", text) else text
    for fmt in _DATE_FORMATS:
        try:
            return pd.Timestamp(dt.datetime.strptime(text, fmt))
        except ValueError:
            continue
    return None


def _parse_timestamp(text: str) -> pd.Timestamp | None:
    for fmt in _TIME_FORMATS:
        try:
            return pd.Timestamp(dt.datetime.strptime(text, fmt)).floor("s")
        except ValueError:
            continue
    return _parse_date(text)


# --------------------------------------------------------------------------- communes


@dataclass(frozen=True)
class CommuneMatch:
    """How one raw commune value was matched to the registry."""

    value: str
    code: str | None
    name: str | None
    how: str  # exact, normalised, code, diacritics, fuzzy, outside, unmatched
    score: float
    note: str = ""  # for "outside": where that commune is


def _registry_frame(registry: pd.DataFrame | None) -> pd.DataFrame:
    if registry is not None:
        return registry
    try:
        from hlstudy.communes import communes

        return communes()
    except ImportError:
        path = REFERENCE / "communes.csv"
        if not path.is_file():
            raise SurveyDataError("commune registry not found", file=path) from None
        return pd.read_csv(path, dtype=str, keep_default_na=False)


def _outside_frame(outside: pd.DataFrame | None) -> pd.DataFrame:
    if outside is not None:
        return outside
    from hlstudy.communes import other_names

    return other_names()


def _outside_index(outside: pd.DataFrame) -> dict[str, str]:
    """Folded name → where that commune is, for Lạng Sơn communes outside Hữu Lũng."""
    index: dict[str, str] = {}
    rows = sorted(outside.itertuples(index=False), key=lambda r: (r.level != "legacy", r.name))
    for r in rows:
        key = fold(_commune_key(r.name))
        if getattr(r, "note", ""):
            where = f"the {r.level} commune {r.name}: {r.note}; give the unit before the 2025 merger"
        elif r.level == "legacy" and r.district:
            where = f"a commune of {r.district} (another district or city of Lạng Sơn), outside Hữu Lũng"
        else:
            where = f"a {r.level} commune of Lạng Sơn outside Hữu Lũng"
        index.setdefault(key, where)
    return index


def _commune_key(text: str) -> str:
    key = clean_text(text).casefold()
    key = re.sub(r"[,;()]+", " ", key)
    key = _COMMUNE_PREFIX.sub("", key).strip()
    return " ".join(key.split())


def match_commune(
    value: Any,
    registry: pd.DataFrame | None = None,
    *,
    cutoff: float = 0.8,
    outside: pd.DataFrame | None = None,
) -> CommuneMatch:
    """Match a raw commune name (or registry code) to the official registry.

    Tries, in order: the exact NFC name; the name without ``xã``/``TT``/``thị trấn``
    prefixes, case and spacing (``normalised``); the registry code (``code``); the name
    without diacritics or with old-style tone placement (``diacritics``); then, if the
    name (without diacritics) is that of another Lạng Sơn commune (``outside``, default
    :func:`hlstudy.communes.other_names`: "Đồng Đăng" is in Cao Lộc, not a typo of Đồng
    Tân), ``how="outside"``; and finally a close spelling by
    :func:`difflib.SequenceMatcher` ratio ≥ ``cutoff`` on the diacritic-free names,
    accepted only when one registry name is clearly closest (``fuzzy``).  Otherwise
    ``how="unmatched"``.

    >>> reg = pd.DataFrame({"code": ["06256"], "name": ["Hữu Liên"]})
    >>> match_commune("xa Huu Lien", reg).how, match_commune("Hữu Lien", reg).name
    ('diacritics', 'Hữu Liên')
    >>> match_commune("Huu Lienn", reg).how
    'fuzzy'
    """
    registry = _registry_frame(registry)
    text = clean_text(value)
    names = [clean_text(n) for n in registry["name"]]
    codes = [str(c).strip() for c in registry["code"]]
    if text in names:
        i = names.index(text)
        return CommuneMatch(text, codes[i], names[i], "exact", 1.0)
    key = _commune_key(text)
    keys = [_commune_key(n) for n in names]
    if key in keys:
        i = keys.index(key)
        return CommuneMatch(text, codes[i], names[i], "normalised", 1.0)
    stripped = text.lstrip("0")
    for i, c in enumerate(codes):
        if c == text or (stripped and c.lstrip("0") == stripped):
            return CommuneMatch(text, codes[i], names[i], "code", 1.0)
    folded = fold(key)
    folded_keys = [fold(k) for k in keys]
    hits = [i for i, k in enumerate(folded_keys) if k == folded]
    if len(hits) == 1:
        return CommuneMatch(text, codes[hits[0]], names[hits[0]], "diacritics", 1.0)
    elsewhere = _outside_index(_outside_frame(outside)).get(folded)
    if elsewhere is not None:
        return CommuneMatch(text, None, None, "outside", 0.0, elsewhere)
    scores = sorted(
        ((difflib.SequenceMatcher(None, folded, k).ratio(), i) for i, k in enumerate(folded_keys)),
        reverse=True,
    )
    if scores and scores[0][0] >= cutoff and (len(scores) == 1 or scores[0][0] - scores[1][0] >= 0.05):
        i = scores[0][1]
        return CommuneMatch(text, codes[i], names[i], "fuzzy", round(scores[0][0], 3))
    return CommuneMatch(text, None, None, "unmatched", round(scores[0][0], 3) if scores else 0.0)


# --------------------------------------------------------------------------- tables


def _pii_key(instrument: str, values: list[Any]) -> str | None:
    """Salted hash of a record's personal data, to tell people apart in the duplicates rule.

    It exists only between ingest and :func:`hlstudy.cleaning.clean`, which removes it.
    """
    parts = ["" if _blank(v) else clean_text(v).casefold() for v in values]
    if not any(parts):
        return None
    return hashlib.sha256("|".join([ID_SALT, instrument, *parts]).encode()).hexdigest()[:16]


def record_id(instrument: str, row_number: int, salt: str = ID_SALT) -> str:
    """Pseudonymous, stable id of a raw record: a salted hash of instrument and row position.

    The id depends only on which instrument and which data row of the export the record
    is (its identity as received), never on a person's answers or personal data, so it
    cannot be traced back to the person; it is the same whether the export is read as
    CSV, XLSX or SAV.

    >>> record_id("officials", 2)
    'O-b359c2f33d'
    """
    digest = hashlib.sha256(f"{salt}|{instrument}|{int(row_number)}".encode()).hexdigest()
    return f"{instrument[0].upper()}-{digest[:10]}"


@dataclass
class InstrumentTable:
    """One instrument read and typed: ``data`` plus what ingest noticed on the way."""

    instrument: str
    file: Path
    format: str
    encoding: str | None
    sheet: str | None
    data: pd.DataFrame
    headers: pd.DataFrame
    communes: pd.DataFrame  # value, code, name, how, score, rows
    pii_dropped: list[str]
    digest: str

    @property
    def n(self) -> int:
        return len(self.data)

    def summary(self) -> str:
        fuzzy = int((self.communes["how"].isin(["diacritics", "fuzzy"])).sum())
        enc = f", encoding {self.encoding}" if self.encoding else ""
        sheet = f", sheet {self.sheet!r}" if self.sheet else ""
        return (
            f"{self.instrument}: {self.n} records read from {self.file.name} ({self.format}{enc}{sheet}); "
            f"{len(self.headers)} columns mapped, personal-data columns dropped: {len(self.pii_dropped)}; "
            f"commune values matched non-exactly: {fuzzy}"
        )

    def __repr__(self) -> str:
        return self.summary()


def read_instrument(
    path: str | Path,
    instrument: str | None = None,
    *,
    codebook: pd.DataFrame | None = None,
    value_labels: pd.DataFrame | None = None,
    registry: pd.DataFrame | None = None,
    max_unreadable_share: float = UNREADABLE_MAX_SHARE,
) -> InstrumentTable:
    """Read one export as ``instrument`` (default: the file's stem) into a typed table.

    Columns of ``data``: ``record_id``, ``source_row`` (the spreadsheet row of the record
    in the export), the codebook variables except ``pii`` ones, and for the commune
    variable ``commune_code``, ``commune`` (official NFC name) and ``commune_2025``.
    Likert items are floats with their raw codes (not yet reverse-keyed; out-of-range
    codes kept for :mod:`hlstudy.cleaning`).

    A cell that cannot be read as its type (a label not in the value set, text in a year,
    31/02/1990) is one respondent's bad value, not a broken file: it becomes missing and is
    listed in the transient column :data:`UNREADABLE`, which the ``unreadable`` rule of
    :func:`hlstudy.cleaning.clean` turns into log rows.  When more than
    ``max(1, floor(max_unreadable_share × answered cells))`` cells of one column are
    unreadable, the column itself does not fit the codebook (a column of text in a Likert
    item, another questionnaire version, a date format used throughout) and a
    :class:`SurveyDataError` names the file, the first such row and the column.
    """
    if not 0 <= max_unreadable_share < 1:
        raise SurveyDataError(f"max_unreadable_share must be in [0, 1), got {max_unreadable_share!r}")
    path = Path(path)
    instrument = instrument or path.stem
    spec = instrument_spec(instrument, codebook, value_labels)
    table = read_raw(path, instrument)
    mapping = map_headers(table, spec)
    by_name = spec.by_name
    pii = [v for v in mapping.columns if by_name[v].pii]
    digest = file_digest(path)
    columns: dict[str, list[Any]] = {
        "record_id": [record_id(instrument, n) for n in table.row_numbers],
        "source_row": list(table.row_numbers),
    }
    commune_var = None
    unreadable: dict[int, list[tuple[str, str, str]]] = {}
    for v in spec.variables:
        if v.pii or v.variable not in mapping.columns:
            continue  # personal data never leave this loop: not even converted
        index = mapping.columns[v.variable]
        header = clean_text(table.headers[index])
        convert = _Converter(spec, v, table, header)
        values, failures = [], []
        for r, n in zip(table.rows, table.row_numbers, strict=True):
            try:
                values.append(convert(r[index], n))
            except SurveyDataError as exc:
                values.append(None)
                failures.append((n, r[index], exc))
        if failures:
            answered = sum(not _blank(r[index]) for r in table.rows)
            allowed = max(1, math.floor(max_unreadable_share * answered))
            if len(failures) > allowed:
                first = failures[0][2]
                raise SurveyDataError(
                    f"{first.detail} — {len(failures)} of {answered} answered cells of this column "
                    f"are unreadable, more than the {allowed} tolerated as respondents' mistakes "
                    f"({max_unreadable_share:.0%} of them, at least 1): the column does not fit "
                    "the codebook",
                    file=table.file, row=first.row, column=header,
                )
            for n, raw, exc in failures:
                unreadable.setdefault(n, []).append(
                    (v.variable, _shorten(raw), exc.detail)
                )
        columns[v.variable] = values
        if v.type == "commune":
            commune_var = v.variable
    if pii:
        columns[PII_KEY] = [
            _pii_key(instrument, [r[mapping.columns[v]] for v in sorted(pii)]) for r in table.rows
        ]
    if unreadable:
        columns[UNREADABLE] = [tuple(unreadable.get(n, ())) or None for n in table.row_numbers]
    data = pd.DataFrame(columns)
    for v in spec.variables:
        if v.variable not in data:
            if not v.pii and v.type in OPTIONAL_TYPES:
                data[v.variable] = None
            else:
                continue
        data[v.variable] = _typed(data[v.variable], v)
    report = pd.DataFrame(columns=["value", "code", "name", "how", "score", "rows"])
    if commune_var is not None:
        data, report = _attach_communes(data, commune_var, registry, table.file)
    return InstrumentTable(
        instrument, path, table.format, table.encoding, table.sheet, data.reset_index(drop=True),
        mapping.report, report, pii, digest,
    )


def _shorten(value: Any, limit: int = 40) -> str:
    """The raw cell as logged: NFC text, cut to ``limit`` characters (a log is no copy of the data)."""
    if isinstance(value, float | np.floating) and math.isfinite(value) and float(value).is_integer():
        value = int(value)  # 9.0 from an SPSS file is logged as 9, as from a CSV
    text = clean_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _absent(x: Any) -> bool:
    return x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and math.isnan(x))


def _typed(series: pd.Series, v: Variable) -> pd.Series:
    # a blank cell may arrive as None or, once in a DataFrame, as NaN/NA: both are missing
    values = [None if _absent(x) else x for x in series.tolist()]
    if v.type in ("likert", "duration"):
        return pd.Series([np.nan if x is None else float(x) for x in values], index=series.index, dtype="float64")
    if v.type in ("integer", "year"):
        return pd.Series([pd.NA if x is None else int(x) for x in values], index=series.index, dtype="Int64")
    if v.type in ("date", "timestamp"):
        return pd.Series(
            [pd.NaT if x is None else x for x in values], index=series.index, dtype="datetime64[ns]"
        )
    if v.type == "category":
        return pd.Series([None if x is None else str(x) for x in values], index=series.index, dtype="string")
    return pd.Series([None if x is None else str(x) for x in values], index=series.index, dtype="string")


def _attach_communes(data: pd.DataFrame, column: str, registry: pd.DataFrame | None, file: Path):
    registry = _registry_frame(registry)
    codes = {str(c).strip(): r for c, (_, r) in zip(registry["code"], registry.iterrows(), strict=True)}
    values = data[column].astype("string")
    matches: dict[str, CommuneMatch] = {}
    rows_of: dict[str, list[int]] = {}
    for value, row in zip(values, data["source_row"], strict=True):
        if value is pd.NA or value is None:
            continue
        rows_of.setdefault(value, []).append(int(row))
        if value not in matches:
            matches[value] = match_commune(value, registry)
    unmatched = [m for m in matches.values() if m.how in ("unmatched", "outside")]
    if unmatched:
        names = [clean_text(n) for n in registry["name"]]
        described = "; ".join(
            f"{m.value!r} (rows {', '.join(map(str, rows_of[m.value][:5]))}"
            f"{'…' if len(rows_of[m.value]) > 5 else ''}; "
            + (m.note if m.how == "outside" else "closest: " + (difflib.get_close_matches(
                fold(m.value), [fold(n) for n in names], n=1, cutoff=0) or ['none'])[0])
            + ")"
            for m in sorted(unmatched, key=lambda m: rows_of[m.value][0])
        )
        first = unmatched[0]
        raise SurveyDataError(
            f"{len(unmatched)} commune name(s) not in the Hữu Lũng registry: {described}",
            file=file,
            row=min(rows_of[first.value]),
            column=column,
        )
    code_col, name_col, new_col = [], [], []
    for value in values:
        if value is pd.NA or value is None:
            code_col.append(None)
            name_col.append(None)
            new_col.append(None)
            continue
        m = matches[value]
        record = codes[m.code]
        code_col.append(m.code)
        name_col.append(m.name)
        new_col.append(clean_text(record["commune_2025"]) if "commune_2025" in record else None)
    out = data.drop(columns=[column])
    position = list(out.columns).index("source_row") + 1
    out.insert(position, "commune_code", pd.Series(code_col, dtype="string"))
    out.insert(position + 1, "commune", pd.Series(name_col, dtype="string"))
    out.insert(position + 2, "commune_2025", pd.Series(new_col, dtype="string"))
    report = pd.DataFrame(
        [
            {
                "value": m.value, "code": m.code, "name": m.name, "how": m.how, "score": m.score,
                "rows": len(rows_of[m.value]),
            }
            for m in sorted(matches.values(), key=lambda m: (m.name or "", m.value))
        ],
        columns=["value", "code", "name", "how", "score", "rows"],
    )
    return out, report


# --------------------------------------------------------------------------- folders


def find_exports(folder: str | Path) -> dict[str, Path]:
    """The export file of each instrument in ``folder`` (exactly one per instrument)."""
    folder = Path(folder)
    if not folder.exists():
        raise SurveyDataError("data folder does not exist", file=folder)
    if not folder.is_dir():
        raise SurveyDataError("is not a folder of survey exports", file=folder)
    found: dict[str, Path] = {}
    for instrument in INSTRUMENTS:
        candidates = sorted(
            p for p in folder.iterdir() if p.is_file() and p.stem.casefold() == instrument
            and p.suffix.lower().lstrip(".") in FORMATS
        )
        if not candidates:
            others = sorted(p.name for p in folder.iterdir() if p.stem.casefold() == instrument)
            extra = f" (found {others}: unsupported type)" if others else ""
            raise SurveyDataError(
                f"no export for instrument {instrument!r}: expected {instrument}.csv, "
                f"{instrument}.xlsx or {instrument}.sav{extra}",
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


def read_folder(
    folder: str | Path,
    *,
    codebook: pd.DataFrame | None = None,
    value_labels: pd.DataFrame | None = None,
    registry: pd.DataFrame | None = None,
    max_unreadable_share: float = UNREADABLE_MAX_SHARE,
) -> dict[str, InstrumentTable]:
    """Read the three instruments' exports of ``folder`` (raises on the first bad file)."""
    files = find_exports(folder)
    return {
        name: read_instrument(
            path, name, codebook=codebook, value_labels=value_labels, registry=registry,
            max_unreadable_share=max_unreadable_share,
        )
        for name, path in files.items()
    }


def raw_digests(folder: str | Path, names: Iterable[str] | None = None) -> dict[str, str]:
    """SHA-256 of each export (and the manifest) in ``folder``: the key of the processed cache."""
    folder = Path(folder)
    files = list(find_exports(folder).values())
    if (folder / "manifest.json").is_file():
        files.append(folder / "manifest.json")
    if names is not None:
        files = [f for f in files if f.name in set(names)]
    return {f.name: file_digest(f) for f in sorted(files)}
