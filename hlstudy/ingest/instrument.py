"""One export in, one typed table out (:func:`read_instrument`), and whole folders."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from hlstudy._text import clean_text
from hlstudy.errors import SurveyDataError
from hlstudy.ingest._common import (
    DONT_KNOW,
    ID_KEY,
    ID_SALT,
    OPTIONAL_TYPES,
    PII_KEY,
    UNREADABLE,
    UNREADABLE_MAX_SHARE,
    _blank,
    _shorten,
)
from hlstudy.ingest.files import RawTable, file_digest, find_exports, read_raw
from hlstudy.ingest.fit import alias_fix, check_likert_codes, check_repeated_labels
from hlstudy.ingest.headers import HeaderMap, _csv_field, map_headers
from hlstudy.ingest.places import _attach_communes
from hlstudy.ingest.spec import instrument_spec
from hlstudy.ingest.values import (
    TIMESTAMP_FORMATS_SHORT,
    TIMESTAMP_FORMATS_TEXT,
    DontKnowAnswer,
    _Converter,
    _typed_values,
)


def _pii_key(instrument: str, values: list[Any]) -> str | None:
    """Salted hash of a record's personal data, to tell people apart in the duplicates rule.

    It exists only between ingest and :func:`hlstudy.cleaning.clean`, which removes it.
    """
    parts = ["" if _blank(v) else clean_text(v).casefold() for v in values]
    if not any(parts):
        return None
    return hashlib.sha256("|".join([ID_SALT, instrument, *parts]).encode()).hexdigest()[:16]


def _identity_columns(spec, mapping) -> list[tuple[str, list[int]]]:
    """The codebook's identity groups (column ``identity``) whose every variable is in the
    export: ``(group, column indices)``, in the order of the group's first variable."""
    groups: dict[str, list[str]] = {}
    for v in spec.variables:
        if v.pii and v.identity:
            groups.setdefault(v.identity, []).append(v.variable)
    return [(g, [mapping.columns[v] for v in names]) for g, names in groups.items()
            if all(v in mapping.columns for v in names)]


def _id_key(instrument: str, identity: list[tuple[str, list[int]]], row) -> str | None:
    """``group:hash``: the name of the first identity group whose every field the record
    answered (a name without the phone identifies no one) and the salted hash of those
    fields, or None; equal keys, the same person.

    It exists only between ingest and :func:`hlstudy.cleaning.clean`, which removes it.
    """
    for group, indices in identity:
        parts = ["" if _blank(row[i]) else clean_text(row[i]).casefold() for i in indices]
        if all(parts):
            digest = hashlib.sha256("|".join([ID_SALT, instrument, group, *parts]).encode()).hexdigest()
            return f"{group}:{digest[:16]}"
    return None


def record_id(instrument: str, row_number: int, salt: str = ID_SALT) -> str:
    """Pseudonymous, stable id of a raw record: a salted hash of instrument and row position.

    The id depends only on which instrument and which data row of the export the record
    is (its identity as received), never on a person's answers or personal data, so it
    cannot be traced back to the person; it is the same whether the export is read as
    CSV, XLSX or SAV.

    >>> record_id("officials", 2)
    'O-b359c2f33d'
    """
    return _record_id(instrument, int(row_number), salt)


@lru_cache(maxsize=1 << 14)
def _record_id(instrument: str, row_number: int, salt: str) -> str:
    """:func:`record_id`, remembered (a pure function of its arguments: every read of an
    export of n rows asks for the same n ids)."""
    digest = hashlib.sha256(f"{salt}|{instrument}|{row_number}".encode()).hexdigest()
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
    pii_dropped: list[str]  # codebook pii variables and platform personal-data headers
    digest: str
    ignored: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["column", "header", "why"]))
    sheet_note: str | None = None  # why ``sheet`` was read when not named after the instrument

    @property
    def n(self) -> int:
        return len(self.data)

    def summary(self) -> str:
        fuzzy = int((self.communes["how"].isin(["diacritics", "fuzzy"])).sum())
        enc = f", encoding {self.encoding}" if self.encoding else ""
        sheet = f", {self.sheet_note}" if self.sheet_note else f", sheet {self.sheet!r}" if self.sheet else ""
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
    columns: Mapping[str, str] | None = None,
) -> InstrumentTable:
    """Read one export as ``instrument`` (default: the file's stem) into a typed table.

    Columns of ``data``: ``record_id``, ``source_row`` (the spreadsheet row of the record
    in the export), the codebook variables except ``pii`` ones, and for the commune
    variable ``commune_code``, ``commune`` (official NFC name) and ``commune_2025``.
    Likert items are floats with their raw codes (not yet reverse-keyed; out-of-range
    codes kept for :mod:`hlstudy.cleaning`).  ``columns`` is the user's column mapping
    (header → variable or ``"ignore"``; :func:`column_mapping` reads it for a folder).

    A cell that cannot be read as its type (a label not in the value set, text in a year,
    31/02/1990) is one respondent's bad value, not a broken file: it becomes missing and is
    listed in the transient column :data:`UNREADABLE`, which the ``unreadable`` rule of
    :func:`hlstudy.cleaning.clean` turns into log rows.  A "don't know" answer (a phrase of
    the value set :data:`~hlstudy.ingest.NONRESPONSE_SET` of ``value_labels.csv``: "Không
    biết", "Không rõ", "KB", …) is no bad value but item non-response: missing, listed in the
    transient column :data:`DONT_KNOW` for the ``dont_know`` rule, never counted as
    unreadable.  When unreadable values are systematic the
    file does not fit the codebook and :class:`SurveyDataError` names the file, the first
    row and the column(s) (rule and thresholds: :mod:`hlstudy.ingest.fit`): more than
    ``max(1, floor(max_unreadable_share × answered cells))`` unreadable cells in one column
    (text in a Likert item, a date format used throughout), one unknown label repeated across
    the file, or Likert codes outside the value set in more than ``max_unreadable_share`` of
    the answers (a 7-point scale).
    """
    if not 0 <= max_unreadable_share < 1:
        raise SurveyDataError(f"max_unreadable_share must be in [0, 1), got {max_unreadable_share!r}")
    path = Path(path)
    instrument = instrument or path.stem
    spec = instrument_spec(instrument, codebook, value_labels)
    table = read_raw(path, instrument)
    mapping = map_headers(table, spec, columns)
    _derive_durations(table, mapping)
    by_name = spec.by_name
    pii = [v for v in mapping.columns if by_name[v].pii]
    pii_platform = [clean_text(table.headers[i]) for i in mapping.pii_columns]
    digest = file_digest(path)
    out: dict[str, list[Any]] = {
        "record_id": [record_id(instrument, n) for n in table.row_numbers],
        "source_row": list(table.row_numbers),
    }
    commune_var = None
    headers: dict[str, str] = {}
    width = len(table.headers)
    # the cells column by column, transposed once (every row has the header's width)
    by_column = list(zip(*table.rows, strict=True)) if table.rows and all(
        len(r) == width for r in table.rows) else None
    failures_of: dict[str, list[tuple[int, Any, SurveyDataError]]] = {}
    answered_of: dict[str, int] = {}
    dont_know: dict[int, list[tuple[str, str, str]]] = {}  # row → (variable, raw, where)
    for v in spec.variables:
        if v.pii or v.variable not in mapping.columns:
            continue  # personal data never leave this loop: not even converted
        index = mapping.columns[v.variable]
        header = clean_text(table.headers[index])
        headers[v.variable] = header
        cells = list(by_column[index]) if by_column is not None else [r[index] for r in table.rows]
        labels = table.value_labels[index] if table.value_labels else None
        convert = _Converter(spec, v, table, header, cells, table.row_numbers, labels)
        values, failures = [], []
        memo: dict[tuple, Any] = {}  # a cell's value depends on the cell alone (the row only names it)
        texts: dict[str, Any] = {}  # the same for text cells (type str), keyed by the text
        for cell, n in zip(cells, table.row_numbers, strict=True):
            if type(cell) is str:
                if cell in texts:
                    values.append(texts[cell])
                    continue
                key = None
            else:
                key = ((float, repr(cell)) if type(cell) is float  # -0.0 and 0.0 apart
                       else (type(cell), cell) if isinstance(cell, str | int | bool | None) else None)
                if key is not None and key in memo:
                    values.append(memo[key])
                    continue
            try:
                value = convert(cell, n)
            except DontKnowAnswer as said:  # item non-response: missing, logged by dont_know
                values.append(None)
                shown = _shorten(cell)
                if said.args and said.args[0] is not cell:  # an SPSS code and its label: 9 = Không biết
                    shown = f"{shown} = {_shorten(said.args[0])}"
                dont_know.setdefault(n, []).append(
                    (v.variable, shown, f"column {index + 1} {_shorten(header)!r}"))
                continue
            except SurveyDataError as exc:
                values.append(None)
                failures.append((n, cell, exc))
                continue
            values.append(value)
            if type(cell) is str:
                texts[cell] = value
            elif key is not None:
                memo[key] = value
        if failures:
            failures_of[v.variable] = failures
            answered_of[v.variable] = sum(not _blank(c) for c in cells)
        out[v.variable] = values
        if v.type == "commune":
            commune_var = v.variable
    # a label repeated over several columns: the codebook's wording does not fit the export
    check_repeated_labels(failures_of, headers, table.file, spanning=2)
    for variable, failures in failures_of.items():
        answered = answered_of[variable]
        first = failures[0][2]
        if by_name[variable].type in OPTIONAL_TYPES:
            # the platform's own submission time or duration, no answer of the respondent: a
            # value that cannot be read loses that record's time (logged), and only a column
            # of which no value can be read stops the run
            if len(failures) < answered:
                continue
            raise _unreadable_platform_column(by_name[variable], failures, answered,
                                              table.file, headers[variable])
        allowed = max(1, math.floor(max_unreadable_share * answered))
        if len(failures) > allowed:
            fix = f"  Fix: {alias_fix()}" if getattr(first, "unknown_label", None) else ""
            # the whole column is the problem: file and column, the first bad cell an example
            raise SurveyDataError(
                f"{len(failures)} of {answered} answered cells of this column are unreadable, "
                f"more than the {allowed} tolerated as respondents' mistakes "
                f"({max_unreadable_share:.0%} of them, at least 1): the column does not fit "
                f"the codebook.  First unreadable cell, row {first.row}: {first.detail}.{fix}",
                file=table.file, column=headers[variable],
            )
    check_repeated_labels(failures_of, headers, table.file)  # … or in one column, many times
    check_likert_codes(
        {v.variable: out[v.variable] for v in spec.variables if v.type == "likert" and v.variable in out},
        spec, headers, table.row_numbers, table.file, max_share=max_unreadable_share,
    )
    unreadable: dict[int, list[tuple[str, str, str]]] = {}
    for v in spec.variables:
        for n, raw, exc in failures_of.get(v.variable, ()):
            # where the cell is in the export, as the user sees it: column number and header
            where = f"column {mapping.columns[v.variable] + 1} {_shorten(headers[v.variable])!r}"
            unreadable.setdefault(n, []).append((v.variable, _shorten(raw),
                                                 f"{exc.detail} ({where})"))
    if pii or mapping.pii_columns:
        indices = [mapping.columns[v] for v in sorted(pii)] + list(mapping.pii_columns)
        out[PII_KEY] = [_pii_key(instrument, [r[i] for i in indices]) for r in table.rows]
    identity = _identity_columns(spec, mapping)
    if identity:
        out[ID_KEY] = [_id_key(instrument, identity, r) for r in table.rows]
    if unreadable:
        out[UNREADABLE] = [tuple(unreadable.get(n, ())) or None for n in table.row_numbers]
    if dont_know:
        out[DONT_KNOW] = [tuple(dont_know.get(n, ())) or None for n in table.row_numbers]
    # each variable typed from its list of values (as :func:`_typed` types the column a
    # DataFrame makes of it), then one DataFrame: the columns in the order of ``out``, absent
    # optional variables after them
    columns: dict[str, Any] = dict(out)
    for v in spec.variables:
        if v.variable not in columns:
            if not v.pii and v.type in OPTIONAL_TYPES:
                columns[v.variable] = [None] * len(table.rows)
            else:
                continue
        columns[v.variable] = _typed_values(columns[v.variable], v)
    # the typed columns' arrays (all of one length, on the same 0..n-1 index): the frame a
    # dict of the Series gives, without aligning their indexes (~2 ms for 40 columns)
    data = pd.DataFrame({k: c.array if isinstance(c, pd.Series) else c for k, c in columns.items()})
    report = pd.DataFrame(columns=["value", "code", "name", "how", "score", "rows"])
    if commune_var is not None:
        stamps = [v.variable for v in spec.variables if v.type == "timestamp" and v.variable in data]
        data, report = _attach_communes(data, commune_var, registry, table.file,
                                        stamps[0] if stamps else None)
    return InstrumentTable(
        instrument, path, table.format, table.encoding, table.sheet, data.reset_index(drop=True),
        mapping.report, report, pii + pii_platform, digest, mapping.ignored, table.sheet_note,
    )


def _unreadable_platform_column(v, failures, answered: int, file, header: str) -> SurveyDataError:
    """The error for a submission-time or duration column of which no value can be read: the
    whole column is the problem, so it names the file and the column (no row), one example
    value and its row, the accepted formats once, and the fix (another format, or skip the
    column)."""
    row, raw, exc = failures[0]
    if v.type == "timestamp":
        formats = f"Accepted formats: {TIMESTAMP_FORMATS_TEXT}."
        plain = exc.detail.endswith(f"in a known format ({TIMESTAMP_FORMATS_SHORT})")
        without = (" (the survey year then comes from the setting HLSTUDY_REFERENCE_YEAR or "
                   "[study] reference_year in hlstudy.toml)")
    else:
        formats = "Accepted: a number of seconds, e.g. 845."
        plain = exc.detail.endswith(f"is not a number ({v.type})")
        without = " (the rules that need it then say they could not be checked)"
    # why the example cannot be read, unless it is only "not in an accepted format"; the
    # value itself is shown once
    shown = _shorten(raw)
    rest = exc.detail.removeprefix(f"{shown!r} ")
    why = "" if plain else f", which {rest}" if rest != exc.detail else f" ({exc.detail})"
    return SurveyDataError(
        f"no value of this column can be read as a {v.type} ({v.variable}): {answered} of "
        f"{answered} filled-in values unreadable, e.g. {shown!r} in row {row}{why}.  "
        f"{formats}  Fix: export the column in an accepted format, or, since the {v.type} is "
        f"optional, skip the column with the line  {_csv_field(header)},ignore  in a "
        f"columns.csv beside the export or in the [columns] table of hlstudy.toml{without}",
        file=file, column=header,
    )


def _derive_durations(table: RawTable, mapping: HeaderMap) -> None:
    """Add a column ``end − start`` (seconds) for each duration the platform gives as two times.

    KoboToolbox writes ``start`` and ``end`` as ISO 8601 times with a UTC offset; the
    difference is taken on the times as written (offsets included).  A row where either time
    is blank or unreadable gets a blank duration (the duration is optional).
    """
    for variable, (start, end) in sorted(mapping.derived.items()):
        values = []
        for r in table.rows:
            try:
                seconds = (pd.Timestamp(clean_text(r[end])) - pd.Timestamp(clean_text(r[start]))).total_seconds()
            except (ValueError, TypeError):
                seconds = None
            values.append(None if seconds is None or seconds != seconds else round(seconds))
        table.headers.append(f"{clean_text(table.headers[end])} − {clean_text(table.headers[start])}")
        for r, value in zip(table.rows, values, strict=True):
            r.append(value)
        if table.column_labels is not None:
            table.column_labels.append(None)
        if table.value_labels is not None:
            table.value_labels.append(None)
        mapping.columns[variable] = len(table.headers) - 1
        mapping.report.loc[len(mapping.report)] = [
            len(table.headers), table.headers[-1], variable, "platform: end − start"]


#: Name of the column-mapping file an export folder may hold (``header,variable``).
COLUMNS_FILE = "columns.csv"


def column_mapping(folder: str | Path | None = None, *, root: Path | None = None) -> dict[str, str]:
    """The user's column mapping: ``columns.csv`` of ``folder`` merged with ``[columns]`` of
    ``hlstudy.toml`` (:func:`hlstudy.config.column_settings`); header → variable or ``ignore``.

    ``columns.csv`` has the columns ``header,variable`` (UTF-8, a header with a comma in
    quotes, as any CSV); a header listed in both places must map to the same variable.
    Raises :class:`SurveyDataError` for a malformed file or a contradiction.

    >>> column_mapping("/nonexistent", root=Path("/nonexistent"))
    {}
    """
    from hlstudy.config import column_settings

    mapping = dict(column_settings(root))
    if folder is None:
        return mapping
    path = Path(folder) / COLUMNS_FILE
    if not path.is_file():
        return mapping
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SurveyDataError(f"is not a readable CSV file ({type(exc).__name__})", file=path) from None
    frame.columns = [clean_text(c).casefold() for c in frame.columns]
    if list(frame.columns[:2]) != ["header", "variable"]:
        raise SurveyDataError(
            f"must have the columns header,variable (found {list(frame.columns)})", file=path, row=1
        )
    for row_no, (header, variable) in enumerate(zip(frame["header"], frame["variable"], strict=True), start=2):
        header, variable = clean_text(header), clean_text(variable)
        if not header and not variable:
            continue
        if not header or not variable:
            raise SurveyDataError("every line needs a header and a variable (or 'ignore')",
                                  file=path, row=row_no)
        if mapping.get(header, variable) != variable:
            raise SurveyDataError(
                f"{header!r} is mapped to {variable!r} here but to {mapping[header]!r} in the "
                "[columns] table of hlstudy.toml", file=path, row=row_no,
            )
        mapping[header] = variable
    return mapping


def read_folder(
    folder: str | Path,
    *,
    codebook: pd.DataFrame | None = None,
    value_labels: pd.DataFrame | None = None,
    registry: pd.DataFrame | None = None,
    max_unreadable_share: float = UNREADABLE_MAX_SHARE,
    columns: Mapping[str, str] | None = None,
) -> dict[str, InstrumentTable]:
    """Read the exports of ``folder`` (raises on the first bad file).

    ``columns``: the column mapping (default :func:`column_mapping` of the folder).
    """
    files = find_exports(folder)
    mapping = column_mapping(folder) if columns is None else dict(columns)
    return {
        name: read_instrument(
            path, name, codebook=codebook, value_labels=value_labels, registry=registry,
            max_unreadable_share=max_unreadable_share, columns=mapping,
        )
        for name, path in files.items()
    }
