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
from hlstudy.ingest._common import MISSING_TOKENS, _absent, _blank, _number, _shorten

if TYPE_CHECKING:
    from hlstudy.ingest.files import RawTable
    from hlstudy.ingest.spec import InstrumentSpec, Variable

_LABEL_PREFIX = re.compile(r"^\s*\(?\d{1,2}\)?\s*[.:)\-–=]\s*")


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

