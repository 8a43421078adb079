"""Mapping an export's column headers to the codebook's variables."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from hlstudy._text import DASHES, clean_text, nfc
from hlstudy.errors import SurveyDataError
from hlstudy.ingest._common import OPTIONAL_TYPES, _blank

if TYPE_CHECKING:
    from hlstudy.ingest.files import RawTable
    from hlstudy.ingest.spec import InstrumentSpec, Variable

_PREFIX = re.compile(r"^\s*(?:câu|cau|c|q|question)?\s*\d{1,3}\s*[.:)\-–]\s*", re.IGNORECASE)


def header_key(header: Any) -> str:
    """Comparison key of a column header: NFC, case-folded, spacing and numbering removed.

    >>> header_key("  Câu 12.  Anh/chị  được ĐÀO TẠO * ")
    'anh/chị được đào tạo'
    """
    text = clean_text(header)
    text = _PREFIX.sub("", text, count=1)
    text = text.rstrip("*: ").strip()
    text = re.sub(r"\s+([?.,;:!)])", r"\1", text)
    return DASHES.sub(" - ", text).casefold()



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

