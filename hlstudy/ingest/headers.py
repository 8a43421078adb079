"""Mapping an export's column headers to the codebook's variables."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
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
    return _header_key(clean_text(header))


@lru_cache(maxsize=1 << 14)
def _header_key(text: str) -> str:
    text = _PREFIX.sub("", text, count=1)
    text = text.rstrip("*: ").strip()
    text = re.sub(r"\s+([?.,;:!)])", r"\1", text)
    return DASHES.sub(" - ", text).casefold()


#: Column mapping value that tells ingest to skip a column (``columns.csv``, ``[columns]``).
IGNORE = "ignore"

#: Survey-platform metadata columns (KoboToolbox, ODK, Google Forms), compared by
#: :func:`header_key`: recognised and ignored, never reported as unknown columns.
PLATFORM_METADATA = frozenset({
    "start", "end", "today", "_id", "_uuid", "_index", "_status", "__version__", "_version_",
    "_validation_status", "_notes", "_tags", "_parent_index", "_parent_table_name",
    "_xform_id_string", "_attachments", "_geolocation", "_media_count", "_total_media",
    "_media_all_received", "instanceid", "rootuuid", "deprecatedid", "formhub/uuid",
    "meta/instanceid", "meta/rootuuid", "meta/deprecatedid", "audit", "score", "điểm số",
})
#: Platform columns that are the submission time (mapped to the codebook's ``timestamp``
#: variable when the export has no column of its own for it).
PLATFORM_SUBMITTED = ("_submission_time", "timestamp", "dấu thời gian", "submission time")
#: Platform columns holding personal data: dropped at ingest like the codebook's ``pii``
#: columns, never read (Google Forms' collected e-mail, KoboToolbox's user and device ids).
PLATFORM_PII = frozenset({
    "email", "email address", "e-mail", "địa chỉ email", "địa chỉ e-mail", "thư điện tử",
    "username", "_submitted_by", "deviceid", "simserial", "subscriberid", "phonenumber",
})
_GRID = re.compile(r"^(?P<group>.*?)\s*\[(?P<item>[^\[\]]+)\]\s*$")


@dataclass
class HeaderMap:
    """Which file column holds which codebook variable, and what was set aside.

    ``columns``: variable → column index.  ``report``: one row per mapped column (``column,
    header, variable, how``; ``how`` is ``exact``, ``nfc``, ``normalised``, ``spss label``,
    ``grid item`` (Google Forms ``Title [item]``), ``group prefix`` (KoboToolbox
    ``group/item``), ``platform`` (e.g. ``_submission_time``) or ``mapping`` (the user's
    column mapping)).  ``ignored``: columns read past (``column, header, why``).
    ``pii_columns``: indices of platform personal-data columns (dropped).  ``derived``:
    variable → (start column, end column) for a duration computed as end − start.
    """

    columns: dict[str, int]
    report: pd.DataFrame
    ignored: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["column", "header", "why"]))
    pii_columns: list[int] = field(default_factory=list)
    derived: dict[str, tuple[int, int]] = field(default_factory=dict)


def _closest(key: str, candidates: Mapping[str, str]) -> str:
    """Human description of the closest candidate to ``key`` (candidates: key → text)."""
    best = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.0)
    return candidates[best[0]] if best else "none"


def _closest_variable(key: str, spec: InstrumentSpec) -> Variable | None:
    """The codebook variable whose printed question (or code) is closest to ``key``."""
    keys: dict[str, Variable] = {}
    for v in spec.variables:
        keys.setdefault(header_key(v.question_vi), v)
        keys.setdefault(v.variable.casefold(), v)
    best = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.0)
    return keys[best[0]] if best else None


def _platform_metadata_columns(ignored: list[dict]) -> list[int]:
    """Indices (0-based) of the columns :func:`map_headers` set aside as the platform's
    metadata (``_id``, ``start``, …): never a question's answers."""
    return [r["column"] - 1 for r in ignored if r["why"] == "platform metadata"]


def _csv_field(text: str) -> str:
    """``text`` as one CSV field (quoted when it holds a comma or a quote)."""
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def _platform_forms(shown: str, by_key: Mapping[str, list]) -> tuple[list | None, str]:
    """Candidates of a header written in a platform's shape, and how it was recognised."""
    grid = _GRID.match(shown)
    if grid:
        for text in (grid.group("item"), f"{grid.group('group')} {grid.group('item')}"):
            found = by_key.get(header_key(text))
            if found:
                return found, "grid item"
    parts = shown.split("/")
    for i in range(1, len(parts)):
        found = by_key.get(header_key("/".join(parts[i:])))
        if found:
            return found, "group prefix"
    return None, ""


def _platform_key(shown: str) -> str:
    """Metadata key of a header: its :func:`header_key`, and without group prefixes."""
    key = header_key(shown)
    if key in PLATFORM_METADATA or key in PLATFORM_PII or key in PLATFORM_SUBMITTED:
        return key
    return key.rsplit("/", 1)[-1]


def user_mapping(columns: Mapping[str, str] | None, spec: InstrumentSpec,
                 source: str = "column mapping") -> dict[str, str]:
    """The user's column mapping as ``header_key → variable`` (or ``ignore``), checked.

    A variable must be ``ignore`` or a variable of some instrument of the codebook (a mapping
    file may serve several exports); two spellings of one header must agree.
    """
    out: dict[str, str] = {}
    known = {v.variable for v in spec.variables} | {name for _, name in spec.foreign.values()}
    for header, variable in (columns or {}).items():
        variable = clean_text(variable)
        if not clean_text(header) or not variable:
            raise SurveyDataError(f"{source}: every line needs a header and a variable "
                                  f"(got {header!r} → {variable!r})")
        if variable.casefold() == IGNORE:
            variable = IGNORE
        elif variable not in known:
            close = difflib.get_close_matches(variable, sorted(known), n=1, cutoff=0.0)
            raise SurveyDataError(
                f"{source}: {header!r} is mapped to {variable!r}, which is not a codebook variable "
                f"(closest: {close[0] if close else 'none'}; or write '{IGNORE}')"
            )
        key = header_key(header)
        if out.get(key, variable) != variable:
            raise SurveyDataError(f"{source}: header {header!r} is mapped twice "
                                  f"({out[key]!r} and {variable!r})")
        out[key] = variable
    return out


def map_headers(table: RawTable, spec: InstrumentSpec,
                columns: Mapping[str, str] | None = None) -> HeaderMap:
    """Map every column of ``table`` to a codebook variable of ``spec``, or raise.

    A header matches a variable when, after :func:`header_key`, it equals the variable's
    printed question (``question_vi``) or its code.  SPSS files are also matched on their
    variable labels.  Platform shapes are recognised: Google Forms grid questions
    ``Group title [item text]`` (the item text is matched), KoboToolbox group prefixes
    ``group/…`` (removed), platform metadata (:data:`PLATFORM_METADATA`: ignored;
    ``_submission_time`` → the codebook's timestamp variable; KoboToolbox ``end − start`` →
    its duration variable) and platform personal data (:data:`PLATFORM_PII`, e.g. an
    "Email" column: dropped).  ``columns`` (header → variable or ``"ignore"``, see
    :func:`hlstudy.ingest.column_mapping`) is applied first and wins.

    Raises :class:`SurveyDataError` naming **every** unknown column at once, each with its
    closest codebook item and the ``columns.csv`` line that would map it; also for empty,
    duplicated or foreign (another instrument's) headers and missing variables.
    """
    by_key: dict[str, list[Variable]] = {}
    for v in spec.variables:
        by_key.setdefault(header_key(v.question_vi), []).append(v)
        by_key.setdefault(v.variable.casefold(), []).append(v)
    mapping = user_mapping(columns, spec)
    columns_: dict[str, int] = {}
    seen_keys: dict[str, int] = {}
    report, ignored, unknown, pii_columns = [], [], [], []
    platform: dict[str, int] = {}
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
        label_key = header_key(labels[index]) if labels[index] is not None and not _blank(labels[index]) else None
        user = mapping.get(key, mapping.get(label_key) if label_key else None)
        candidates, how = None, "header"
        if user == IGNORE:
            ignored.append({"column": column_no, "header": shown, "why": "column mapping: ignore"})
            continue
        if user is not None:
            if user not in spec.by_name:
                raise SurveyDataError(
                    f"the column mapping maps this column to {user!r}, a variable of another "
                    f"instrument, not of {spec.name}: is this the right file?",
                    file=table.file, column=shown,
                )
            candidates, how = [spec.by_name[user]], "mapping"
        if candidates is None:
            candidates = by_key.get(key)
        if candidates is None and label_key is not None:
            candidates, how = by_key.get(label_key), "spss label"
        if candidates is None:
            candidates, how = _platform_forms(shown, by_key)
        if candidates is None:
            pkey = _platform_key(shown)
            if pkey in PLATFORM_PII:
                pii_columns.append(index)
                ignored.append({"column": column_no, "header": shown,
                                "why": "personal data of the platform: dropped"})
                continue
            if pkey in PLATFORM_SUBMITTED or pkey in PLATFORM_METADATA:
                platform.setdefault(pkey, index)
                ignored.append({"column": column_no, "header": shown, "why": "platform metadata"})
                continue
            foreign = spec.foreign.get(key)
            if foreign is None and label_key is not None:
                foreign = spec.foreign.get(label_key)
            if foreign is not None:
                raise SurveyDataError(
                    f"this column belongs to the {foreign[0]} questionnaire ({foreign[1]}), "
                    f"not to {spec.name}: is this the right file?",
                    file=table.file,
                    column=shown,
                )
            unknown.append((column_no, shown, label_key or key))
            continue
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
        if variable in columns_:
            first = table.headers[columns_[variable]]
            raise SurveyDataError(
                f"two columns map to {variable}: {clean_text(first)!r} and {shown!r}",
                file=table.file,
                column=shown,
            )
        columns_[variable] = index
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
    if unknown:
        raise _unknown_columns_error(table, spec, unknown)
    derived: dict[str, tuple[int, int]] = {}
    for v in spec.variables:
        if v.variable in columns_ or v.pii:
            continue
        if v.type == "timestamp":
            found = next((platform[k] for k in PLATFORM_SUBMITTED if k in platform), None)
            if found is not None:
                columns_[v.variable] = found
                report.append({"column": found + 1, "header": clean_text(table.headers[found]),
                               "variable": v.variable, "how": "platform"})
                ignored = [r for r in ignored if r["column"] != found + 1]
        elif v.type == "duration" and "start" in platform and "end" in platform:
            derived[v.variable] = (platform["start"], platform["end"])
    missing = [
        v for v in spec.variables
        if v.variable not in columns_ and v.variable not in derived and not v.pii
        and v.type not in OPTIONAL_TYPES
    ]
    if missing:
        v = missing[0]
        # only headers that hold no codebook variable yet (nor the platform's metadata or
        # personal data): a header already mapped to another item is no candidate
        taken = set(columns_.values()) | set(_platform_metadata_columns(ignored)) | set(pii_columns)
        taken |= {i for pair in derived.values() for i in pair}
        unmapped = {header_key(h): clean_text(h) for i, h in enumerate(table.headers) if i not in taken}
        closest = _closest(header_key(v.question_vi), unmapped) if unmapped else None
        others = (f" (and {len(missing) - 1} more item(s) without a column: {', '.join(m.variable for m in missing[1:])})"
                  if len(missing) > 1 else "")
        fix = (f"if the column {closest!r} holds it, map it with the line  "
               f"{_csv_field(closest)},{v.variable}  " if closest is not None else
               "if a column holds it under another header, map it with the line  "
               f"HEADER,{v.variable}  ")
        # the file lacks the column: the message names the file only (a column prefix would
        # read as if the file held a column of that name), then what was expected
        raise SurveyDataError(
            f"missing column: the file has no column for item {v.variable} of the "
            f"{spec.name} codebook, expected under the header {v.question_vi!r}{others}.  "
            + (f"Closest header not mapped to any item: {closest}.  " if closest is not None else
               "Every other header of the file holds another item or the platform's data: none "
               "to suggest.  ")
            + f"Fix: {fix}in a columns.csv beside the export (header,variable) or in the [columns] "
            "table of hlstudy.toml; if the questionnaire did not ask it, remove the item from the "
            "codebook.csv of a copy of the instrument folder set with HLSTUDY_INSTRUMENT "
            "(README, 'Your own instrument')",
            file=table.file,
        )
    report.sort(key=lambda r: r["column"])
    return HeaderMap(
        columns_, pd.DataFrame(report, columns=["column", "header", "variable", "how"]),
        pd.DataFrame(ignored, columns=["column", "header", "why"]), pii_columns, derived,
    )


def _unknown_columns_error(table: RawTable, spec: InstrumentSpec, unknown: list) -> SurveyDataError:
    """One error naming every unknown column, its closest item and the mapping line that fixes it."""
    lines = []
    for column_no, shown, key in unknown:
        v = _closest_variable(key, spec)
        hint = f"{v.variable} ({v.question_vi!r})" if v is not None else "none"
        fix = f"{_csv_field(shown)},{v.variable if v is not None else 'VARIABLE'}"
        lines.append(f"  column {column_no} {shown!r}: closest codebook item {hint}; "
                     f"to map it, add the line  {fix}  (or  {_csv_field(shown)},{IGNORE}  to skip it)")
    encoding_hint = (
        " (the file was read as Windows-1258; if headers look garbled it is in another encoding)"
        if table.encoding == "cp1258" else ""
    )
    # each column named once, in its line (the message named the first one twice: in the
    # prefix and summary, and again in the list)
    return SurveyDataError(
        f"{len(unknown)} unknown column(s), not in the {spec.name} codebook{encoding_hint} — map "
        f"each to a codebook variable in a columns.csv beside the export (header,variable; "
        f"'ignore' skips a column) or in the [columns] table of hlstudy.toml:\n" + "\n".join(lines),
        file=table.file,
    )
