"""Converting cells to the codebook's types: labels to codes, numbers, dates, timestamps."""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hlstudy._text import DASHES, clean_text, fold
from hlstudy.errors import SurveyDataError
from hlstudy.ingest._common import (
    MISSING_TOKENS,
    NONRESPONSE_SET,
    _blank,
    _by_identity,
    _number,
    _shorten,
)

if TYPE_CHECKING:
    from hlstudy.ingest.files import RawTable
    from hlstudy.ingest.spec import InstrumentSpec, Variable

def _label_key(value: str) -> str:
    """Comparison key of a value label: NFC, case-folded, single spaces, any dash as " - "."""
    return DASHES.sub(" - ", " ".join(clean_text(value).casefold().split()))


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


def _aliases(row) -> tuple[str, ...]:
    """Other accepted Vietnamese names of a code (optional ``aliases_vi`` column, ``;``-separated).

    E.g. the land-administration title ``DC`` is called "Địa chính – xây dựng – đô thị và môi
    trường" in a thị trấn (``title_vi_urban`` of ``decree33_positions.csv``).
    """
    text = str(row.get("aliases_vi", "") or "")
    return tuple(clean_text(a) for a in text.split(";") if a.strip() and a.strip() != "nan")


#: :func:`_value_set_entries` of value-set frames already seen, by identity: ``id → (frame,
#: entries)`` (the frame is held, so its id is not reused while remembered).  The frames of a
#: spec are those of the memoised spec (:func:`hlstudy.ingest.spec.instrument_spec`), shared
#: by every copy of it and never edited in place; another frame, even of equal content, is
#: read anew.
_ENTRIES: dict[int, tuple[pd.DataFrame, tuple]] = {}


def _value_set_entries(spec: InstrumentSpec, name: str) -> tuple:
    return _by_identity(_ENTRIES, spec.value_sets[name], _frame_entries, 512)


def _frame_entries(frame: pd.DataFrame) -> tuple:
    """``(code, label_vi, label_en)`` of every row of a value set, then its aliases."""
    entries = []
    # row dicts built from whole columns: ``to_dict(orient="records")`` gave the same dicts
    # at ~0.6 ms per call (a Series per column, each cell boxed), ~100 calls per study read
    columns = list(frame.columns)
    if frame.columns.is_unique:
        cells = [frame[c].tolist() for c in columns]
    else:
        cells = [frame.iloc[:, k].tolist() for k in range(len(columns))]
    for r in (dict(zip(columns, row, strict=True)) for row in zip(*cells, strict=True)):
        code = clean_text(r["code"])
        entries.append((code, clean_text(r.get("label_vi", "")), clean_text(r.get("label_en", ""))))
        entries.extend((code, alias, alias) for alias in _aliases(r))
    return tuple(entries)


class DontKnowAnswer(Exception):
    """Raised by the converter for a "don't know" answer (a phrase of the instrument's
    :data:`~hlstudy.ingest._common.NONRESPONSE_SET`): item non-response, set to missing and
    logged by the ``dont_know`` cleaning rule, never an unreadable cell (whose message would
    name the closest scale label, e.g. "Hoàn toàn đồng ý" for "ko biết")."""


#: Types whose answers may be "don't know" (never free text, nor the platform's own times).
DONT_KNOW_TYPES = ("likert", "category", "integer", "year", "date", "duration", "commune")


def _dont_know_lookup(spec: InstrumentSpec) -> tuple[dict, dict] | None:
    """The exact and folded keys of the instrument's "don't know" phrases, or None."""
    if NONRESPONSE_SET not in spec.value_sets:
        return None
    return _label_lookup(_value_set_entries(spec, NONRESPONSE_SET))


class _Converter:
    """Convert one column's cells to the codebook type, raising on unreadable cells.

    ``values`` (the column's raw cells) and ``rows`` (their spreadsheet rows) let date and
    timestamp columns decide, once for the whole column, whether ``a/b/yyyy`` is day-first
    or month-first (:func:`slash_order`).  ``labels`` are the SPSS value labels of the column
    (stored value → label, keyed by the variable's own storage type): the stored value wins
    when it is a valid value of the variable, else its label is read; a value whose label
    says it is missing ("Không trả lời") is missing.
    """

    def __init__(self, spec: InstrumentSpec, variable: Variable, table: RawTable, header: str,
                 values: list[Any] | None = None, rows: list[int] | None = None,
                 labels: dict | None = None):
        self.spec, self.v, self.table, self.header = spec, variable, table, header
        self.labels = labels or {}
        self.day_first = True
        self.dont_know = _dont_know_lookup(spec) if variable.type in DONT_KNOW_TYPES else None
        if variable.type in ("likert", "category"):
            entries = _value_set_entries(spec, variable.value_set)
            self.entries = entries
            self.exact, self.folded = _label_lookup(entries)
            self.codes = {e[0] for e in entries}
        if variable.type in ("date", "timestamp") and values is not None:
            self.day_first = slash_order(values, rows or list(range(2, len(values) + 2)),
                                         file=table.file, column=header, kind=variable.type)

    def fail(self, row: int, message: str) -> SurveyDataError:
        return SurveyDataError(message, file=self.table.file, row=row, column=self.header)

    def is_dont_know(self, value: Any) -> bool:
        """Whether ``value`` is one of the instrument's "don't know" phrases and not a label
        of the variable's own value set (a value set may hold "Không biết" as a choice)."""
        if self.dont_know is None or not isinstance(value, str):
            return False
        text = clean_text(value)
        key, folded = _label_key(text), fold(text)
        exact, folded_keys = self.dont_know
        if key not in exact and folded not in folded_keys:
            return False
        return not (self.v.type in ("likert", "category") and (key in self.exact or folded in self.folded))

    def __call__(self, value: Any, row: int) -> Any:
        if _blank(value) or (isinstance(value, str) and clean_text(value).casefold() in MISSING_TOKENS):
            return None
        if self.is_dont_know(value):
            raise DontKnowAnswer(value)
        if not self.labels:
            return self._convert(value, row)
        label = self.labels.get(_stored_key(value))
        if label is not None and clean_text(label).casefold() in MISSING_TOKENS:
            return None  # a labelled missing code such as -99 = "Không trả lời"
        if (label is not None and self.is_dont_know(clean_text(label))
                and not (self.v.type in ("likert", "category") and _code_text(value) in self.codes)):
            raise DontKnowAnswer(label)  # a code labelled "Không biết", e.g. 9 (not a choice)
        if label is not None and self.v.type in ("text", "commune"):
            return self._convert(label, row)  # a code of a name: the name is the value
        try:
            return self._convert(value, row)  # the stored value wins when it is valid
        except SurveyDataError:
            if label is None:
                raise
            return self._convert(label, row)

    def _convert(self, value: Any, row: int) -> Any:
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
            numbered = _NUMBERED.match(text)
            if numbered and re.search(r"[^\W\d_]", numbered.group(2)):
                # "5. Hoàn toàn đồng ý", "(4) Đồng ý", "5 - Rất đồng ý": a numbered label (never a
                # number such as "2.5").  A known label must agree with the number; an unknown
                # label is read as its number when that number is a code of the value set.
                number, rest = numbered.group(1), numbered.group(2)
                code = self.exact.get(_label_key(rest)) or self.folded.get(fold(rest))
                if code is not None:
                    if not code.isdigit() or int(code) == int(number):
                        return self._coded(code)
                    raise self.fail(row, f"{text!r}: the number {number} contradicts the label "
                                         f"{rest!r} (code {code})")
                if str(int(number)) in self.codes:
                    return self._coded(str(int(number)))
            if fold(text) in self.folded:
                return self._coded(self.folded[fold(text)])
            number = _number(text.replace(",", "."))
            if number is None:
                frame = self.spec.value_sets[self.v.value_set]
                labels = [clean_text(t) for t in frame["label_vi"]]
                close = closest_label(text, labels)
                error = self.fail(
                    row,
                    f"label {text!r} is not in value set {self.v.value_set!r} of the codebook "
                    f"(closest spelling {close!r}, a likeness of letters, not of meaning; "
                    f"admissible: {labels})",
                )
                error.unknown_label = (self.v.value_set, text, close)
                raise error
        if not math.isfinite(number) or number != int(number):
            raise self.fail(row, f"{value!r} is not a whole-number code of {self.v.value_set!r}")
        code = str(int(number))
        if self.v.type == "likert":
            return float(number)  # out-of-range codes: hlstudy.cleaning, or ingest.fit when systematic
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

    def _day_first_text(self, text: str) -> str:
        """``text`` with a month-first ``M/D/YYYY`` rewritten day-first (column read as month-first)."""
        if self.day_first:
            return text
        m = _SLASH.match(text)
        if not m:
            return text
        return f"{m.group(3)}{m.group(2)}{m.group(1)}{m.group(2)}{m.group(4)}{m.group(5) or ''}"

    def date(self, value: Any, row: int) -> pd.Timestamp:
        if isinstance(value, dt.datetime | dt.date | pd.Timestamp):
            return pd.Timestamp(value).normalize()
        if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
            if 20000 <= float(value) <= 80000:  # an Excel serial day number
                return pd.Timestamp("1899-12-30") + pd.Timedelta(days=int(float(value)))
            raise self.fail(row, f"{value!r} is not a date")
        text = self._day_first_text(clean_text(value))
        parsed = _parse_date(text)
        if parsed is None:
            if _DATE_SHAPE.match(text):
                order = "DD/MM/YYYY" if self.day_first else "MM/DD/YYYY, as the column shows"
                raise self.fail(row, f"{clean_text(value)!r} is not a date: no such day (read as {order})")
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
                return _excel_serial(float(value))
            raise self.fail(row, f"{value!r} is not a timestamp")
        text = clean_text(value)
        serial = _number(text) if re.fullmatch(r"\d{5}(?:[.,]\d+)?", text) else None
        if serial is None and re.fullmatch(r"\d{5},\d+", text):
            serial = _number(text.replace(",", "."))
        if serial is not None and 20000 <= serial <= 80000:
            return _excel_serial(serial)
        parsed = _parse_timestamp(self._day_first_text(text))
        if parsed is None:
            raise self.fail(
                row, f"{text!r} is not a timestamp in a known format ({TIMESTAMP_FORMATS_SHORT})"
            )
        return parsed


def _code_text(value: Any) -> str:
    """A stored SPSS value as a value-set code (9.0 → '9')."""
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and number == int(number):
            return str(int(number))
    return clean_text(value)


def _stored_key(value: Any) -> Any:
    """Key of a stored SPSS value in its value-label table (numbers as floats, text cleaned)."""
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        return float(value)
    return clean_text(value)


def _excel_serial(days: float) -> pd.Timestamp:
    """An Excel serial date-time (days since 1899-12-30, the 1900 date system) as a timestamp."""
    return (pd.Timestamp("1899-12-30") + pd.Timedelta(days=days)).round("s")


_NUMBERED = re.compile(r"^\s*\(?(\d{1,2})\)?\s*[.:)\-–=]\s*(.*\S)\s*$")
#: ``a/b/yyyy`` (or with ``.``/``-``), optionally followed by a time: the shape whose day and
#: month order must be known.
_SLASH = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})((?:[ T].*)?)$")
#: What one unreadable timestamp's message (a cleaning-log row) says of the formats: two
#: examples and where all are listed (the whole list, :data:`TIMESTAMP_FORMATS_TEXT`, is in
#: the error for a column of which nothing can be read; in every log row it made each reason
#: ~520 characters long).
TIMESTAMP_FORMATS_SHORT = ("e.g. 2025-03-04 14:05:09 or 04/03/2025 14:05:09; every accepted "
                           "format: README, 'Using your own survey export'")
#: The timestamp formats ingest accepts, as stated in its error messages.
TIMESTAMP_FORMATS_TEXT = (
    "ISO 8601 as 2025-03-04 14:05:09 or 2025-03-04T14:05:09+07:00 (KoboToolbox); DD/MM/YYYY "
    "HH:MM:SS as 04/03/2025 14:05:09 (two-digit day and month, or a column in which some day "
    "exceeds 12); M/D/YYYY H:MM:SS when some day in the column exceeds 12 in the second place; "
    "YYYY/MM/DD H:MM:SS AM GMT+7 (Google Forms' CSV download); a 12-hour clock with AM/PM or "
    "SA/CH and a GMT/UTC offset after any of these (the time is read as written); Excel serial "
    "numbers such as 45720.5868"
)

#: The date formats ingest accepts, as stated in its error messages.
DATE_FORMATS_TEXT = (
    "YYYY-MM-DD as 2025-03-04; DD/MM/YYYY as 04/03/2025 (or with - or . between; two-digit day "
    "and month, or a column in which some day exceeds 12); M/D/YYYY when some day in the column "
    "exceeds 12 in the second place; in an .xlsx, Excel date cells or serial day numbers such as "
    "45720"
)


def slash_order(values: list[Any], rows: list[int], *, file=None, column=None,
                kind: str = "date") -> bool:
    """Whether the ``a/b/yyyy`` cells of one column are day-first (True) or month-first (False).

    Never a guess.  A column whose every such cell has a two-digit day and month is
    DD/MM/YYYY (the Vietnamese format; Google Forms in a Vietnamese locale).  Otherwise the
    column must show the order: a cell whose first number exceeds 12
    (``25/03/2025``) proves day-first, one whose second number exceeds 12 (``3/25/2025``)
    proves month-first (Google Forms in a US locale writes ``3/25/2025 8:10:08``); a column
    that shows both raises; in a column that shows neither, an unpadded ``3/4/2025`` is
    ambiguous and raises :class:`SurveyDataError` listing the accepted formats.

    >>> slash_order(["25/03/2025 08:00:00", "3/4/2025 09:00:00"], [2, 3])
    True
    >>> slash_order(["3/25/2025 8:00:00", "3/4/2025 9:00:00"], [2, 3])
    False
    """
    day_first_row = month_first_row = ambiguous = None
    shaped = []
    for value, row in zip(values, rows, strict=True):
        m = _SLASH.match(clean_text(value)) if isinstance(value, str) else None
        if m:
            shaped.append((m, row, clean_text(value)))
    if all(len(m.group(1)) == 2 and len(m.group(3)) == 2 for m, _, _ in shaped):
        return True  # DD/MM/YYYY throughout (a "05/31/2023" in it is no day, not a US date)
    for m, row, value in shaped:
        a, b = int(m.group(1)), int(m.group(3))
        if a > 12 >= b and day_first_row is None:
            day_first_row = (row, value)
        elif b > 12 >= a and month_first_row is None:
            month_first_row = (row, value)
        elif a <= 12 and b <= 12 and ambiguous is None and (len(m.group(1)) < 2 or len(m.group(3)) < 2):
            ambiguous = (row, value)
    # the order is the whole column's: the errors name the file and column (no row), the
    # cells that show the problem with their rows, and the accepted formats once
    formats = TIMESTAMP_FORMATS_TEXT if kind == "timestamp" else DATE_FORMATS_TEXT
    if day_first_row and month_first_row:
        raise SurveyDataError(
            f"the column mixes day-first dates ({day_first_row[1]!r}, row {day_first_row[0]}) and "
            f"month-first dates ({month_first_row[1]!r}, row {month_first_row[0]}).  Fix: write "
            f"every {kind} in one format; accepted: {formats}",
            file=file, column=column,
        )
    if month_first_row:
        return False
    if day_first_row or ambiguous is None:
        return True
    raise SurveyDataError(
        f"ambiguous {kind}s, e.g. {ambiguous[1]!r} in row {ambiguous[0]}: nothing in the column "
        f"tells whether they are day/month or month/day, and hlstudy never guesses.  Fix: export "
        f"the column in one of the accepted formats: {formats}",
        file=file, column=column,
    )


#: Intensifiers and negations of Vietnamese (and English) answer labels, for the closest-label hint.
_INTENSIFIERS = ("hoan toan", "rat la", "rat", "cuc ky", "cuc ki", "vo cung", "strongly", "completely", "very")
_NEGATIONS = ("khong", "chua", "phan doi", "bac bo", "not", "no", "disagree")


def _hint_key(text: str) -> tuple[str, bool]:
    key = " ".join(fold(text).split())
    for word in _INTENSIFIERS:
        key = re.sub(rf"\b{word}\b", "++", key)
    return key, any(re.search(rf"\b{word}\b", key) for word in _NEGATIONS)


def closest_label(text: str, labels: list[str]) -> str:
    """The label of ``labels`` closest to ``text``, for error messages.

    A spelling, never a recommendation: messages show it as "closest spelling" ("Khá" is
    spelled closest to "Trung lập" but is a rating of another scale, not a neutral answer).

    Compared without diacritics, with intensifiers ("rất", "hoàn toàn", "cực kỳ") made equal and
    a negation ("không", "chưa", "phản đối") counted as a large difference, so that "Rất đồng ý" points to
    "Hoàn toàn đồng ý", not to "Không đồng ý" (a plain character similarity picks the latter).
    Word order counts only between labels of the same words: "Đồng ý hoàn toàn" points to
    "Hoàn toàn đồng ý", not to "Đồng ý" (the two start alike), which would turn 5s into 4s.

    >>> closest_label("Rất đồng ý", ["Hoàn toàn không đồng ý", "Không đồng ý", "Trung lập",
    ...                               "Đồng ý", "Hoàn toàn đồng ý"])
    'Hoàn toàn đồng ý'
    >>> closest_label("Đồng ý hoàn toàn", ["Không đồng ý", "Đồng ý", "Hoàn toàn đồng ý"])
    'Hoàn toàn đồng ý'
    """
    return _closest_label(text, tuple(labels))


@lru_cache(maxsize=1024)
def _closest_label(text: str, labels: tuple[str, ...]) -> str:
    """:func:`closest_label`, kept per text and labels: a column of an unknown label names the
    same closest spelling in every failing cell's message (difflib per label, per cell)."""
    if not labels:
        return "none"
    key, negated = _hint_key(text)
    words = " ".join(sorted(key.split()))

    def score(label: str) -> tuple[float, float]:
        other, other_negated = _hint_key(label)
        penalty = 0.5 if negated != other_negated else 0
        unordered = difflib.SequenceMatcher(None, words, " ".join(sorted(other.split()))).ratio()
        return (unordered - penalty, difflib.SequenceMatcher(None, key, other).ratio() - penalty)

    return max(labels, key=lambda label: (*score(label), -labels.index(label)))


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
    "%d/%m/%Y %I:%M:%S %p",
    "%d.%m.%Y %H:%M:%S",
    "%d-%m-%Y %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
)
#: A zone after the time, as Google Forms' CSV download writes it ("… 8:24:53 AM GMT+7"): the
#: time is read as written (the wall-clock time of the survey), as KoboToolbox's ISO offsets are.
_ZONE_SUFFIX = re.compile(r"\s+(?:GMT|UTC)(?:\s*[+-]\d{1,2}(?::?\d{2})?)?$", re.IGNORECASE)
#: A 12-hour clock after a date: AM/PM, or SA/CH (sáng/chiều) as a Vietnamese locale writes them.
_CLOCK_12 = re.compile(r"^(\S+)\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM|SA|CH|A\.M\.|P\.M\.)$",
                       re.IGNORECASE)


#: Shapes read without trying the formats in turn (see :func:`_parse_date` and
#: :func:`_parse_timestamp`): the first format that can match them is ``%d/%m/%Y`` and
#: ``%d/%m/%Y %H:%M:%S``, and a valid calendar date and time in these digits is what
#: ``strptime`` makes of them; anything else (no such day, hour 24) takes the formats in turn.
_DMY = re.compile(r"([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})")
_DMY_HMS = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")


def _parse_date(text: str) -> pd.Timestamp | None:
    text = text.split(" ")[0] if re.match(r"^\d{4}-\d{2}-\d{2} 00:00(:00)?$", text) else text
    m = _DMY.fullmatch(text)
    if m:
        try:
            return pd.Timestamp(dt.datetime(int(m[3]), int(m[2]), int(m[1])))
        except ValueError:
            pass  # no such day: the formats in turn, as before
    for fmt in _DATE_FORMATS:
        try:
            return pd.Timestamp(dt.datetime.strptime(text, fmt))
        except ValueError:
            continue
    return None


def _clock_24(text: str) -> str | None:
    """``text`` with a trailing GMT/UTC zone removed and a 12-hour clock (AM/PM, SA/CH) written
    as 24 hours (``2025/03/11 8:24:53 PM GMT+7`` → ``2025/03/11 20:24:53``); ``None`` for an
    hour a 12-hour clock cannot show (0, 13…); other text unchanged."""
    text = _ZONE_SUFFIX.sub("", text)
    m = _CLOCK_12.match(text)
    if not m:
        return text
    date, hour, minute, second, half = m.groups()
    hour = int(hour)
    if not 1 <= hour <= 12:
        return None
    afternoon = half.upper().replace(".", "") in ("PM", "CH")
    hour = hour % 12 + (12 if afternoon else 0)
    return f"{date} {hour:02d}:{minute}:{second or '00'}"


def _parse_timestamp(text: str) -> pd.Timestamp | None:
    if re.search(r"[^\W\d_]", text):   # letters: a zone or AM/PM after the time, perhaps
        text = _clock_24(text)
        if text is None:
            return None
    m = _DMY_HMS.fullmatch(text)
    if m:
        try:
            stamp = dt.datetime(int(m[3]), int(m[2]), int(m[1]), int(m[4]), int(m[5]), int(m[6]))
        except ValueError:
            pass  # no such day or time: the formats in turn, as before
        else:
            return pd.Timestamp(stamp)  # whole seconds already: ``.floor("s")`` would change nothing
    for fmt in _TIME_FORMATS:
        try:
            return pd.Timestamp(dt.datetime.strptime(text, fmt)).floor("s")
        except ValueError:
            continue
    if re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}", text):
        try:  # ISO 8601 with a UTC offset or "Z" (KoboToolbox's start/end): the wall-clock time written
            stamp = dt.datetime.fromisoformat(text)
        except ValueError:
            stamp = None
        if stamp is not None:
            return pd.Timestamp(stamp.replace(tzinfo=None)).floor("s")
    return _parse_date(text)



_NUMERIC = ("likert", "duration", "integer", "year")
_NUMBER_CELLS = frozenset({float, int, type(None)})
_TEXT_CELLS = frozenset({str, type(None)})
#: Integers a float64 holds exactly (every one of them, and no other, below this size).
_EXACT_INT = 2.0 ** 53


def _typed_numbers(cells: list, kind: str) -> Any:
    """The array :func:`_typed_values` makes of a numeric column whose cells are all Python
    floats, ints or None (what :func:`read_instrument` gives), in one numpy conversion instead
    of cell by cell; None for any other column (converted cell by cell, as before).

    The same values: None and every NaN are the canonical NaN (missing, ``pd.NA`` in an
    ``Int64`` column), a float or int is ``float(x)``; for ``Int64`` only when every value is a
    whole number below 2**53 (``int(x)`` of its float is then the integer itself)."""
    if not set(map(type, cells)) <= _NUMBER_CELLS:
        return None
    try:
        a = np.array(cells, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):
        return None
    if a.ndim != 1 or len(a) != len(cells):
        return None
    missing = np.isnan(a)
    if kind in ("likert", "duration"):
        if missing.any():
            a[missing] = np.nan  # one NaN for every missing cell, as ``np.nan`` was put there
        return a
    known = a[~missing]
    if not (np.all(np.abs(known) < _EXACT_INT) and np.all(known == np.floor(known))):
        return None
    # 1 under the mask of a missing integer, as pandas stores it
    values = np.where(missing, 1.0, a).astype(np.int64)
    return pd.arrays.IntegerArray(values, missing)


def _typed(series: pd.Series, v: Variable) -> pd.Series:
    return _typed_values(series.tolist(), v, series.index)


def _typed_values(cells: list, v: Variable, index=None) -> pd.Series:
    """:func:`_typed` of a column given as a list (``index`` default: 0, 1, …)."""
    if index is None:
        index = pd.RangeIndex(len(cells))
    fast = _typed_numbers(cells, v.type) if v.type in _NUMERIC else None
    if fast is not None:
        return pd.Series(fast, index=index, copy=False)
    if v.type in ("category", "text") and set(map(type, cells)) <= _TEXT_CELLS:
        # text or None already (as :func:`read_instrument` gives them): the list as it is
        return pd.Series(pd.array(cells, dtype="string"), index=index, copy=False)
    na, nat = pd.NA, pd.NaT
    # a blank cell may arrive as None or, once in a DataFrame, as NaN/NA: both are missing
    # (:func:`hlstudy.ingest._common._absent`, inline)
    values = [None if (x is None or x is na or x is nat or (isinstance(x, float) and x != x))
              else x for x in cells]
    if v.type in ("likert", "duration"):
        return pd.Series([np.nan if x is None else float(x) for x in values], index=index, dtype="float64")
    if v.type in ("integer", "year"):
        return pd.Series([pd.NA if x is None else int(x) for x in values], index=index, dtype="Int64")
    if v.type in ("date", "timestamp"):
        return pd.Series(
            [pd.NaT if x is None else x for x in values], index=index, dtype="datetime64[ns]"
        )
    if v.type == "category":
        return pd.Series([None if x is None else str(x) for x in values], index=index, dtype="string")
    return pd.Series([None if x is None else str(x) for x in values], index=index, dtype="string")

