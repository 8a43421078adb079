"""One export in, one typed table out (:func:`read_instrument`), and whole folders."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hlstudy._text import clean_text
from hlstudy.errors import SurveyDataError
from hlstudy.ingest._common import (
    ID_SALT,
    OPTIONAL_TYPES,
    PII_KEY,
    UNREADABLE,
    UNREADABLE_MAX_SHARE,
    _blank,
    _shorten,
)
from hlstudy.ingest.files import file_digest, find_exports, read_raw
from hlstudy.ingest.headers import map_headers
from hlstudy.ingest.places import _attach_communes
from hlstudy.ingest.spec import instrument_spec
from hlstudy.ingest.values import _Converter, _typed


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
