"""Named cleaning rules, each with its threshold as a parameter and a log row per decision.

:func:`clean` runs the rules below, in this order, on one instrument's typed table (from
:func:`hlstudy.ingest.read_instrument`) and returns the clean table and a log with one row
for every decision: a record excluded (``action="drop"``), a value altered
(``action="change"``) or a record kept but noted (``action="flag"``), so that *records read =
records kept + records dropped*, always.  Each row also says what happened in one closed
vocabulary (``outcome``, :data:`OUTCOMES`, with Vietnamese and English wording in
:data:`OUTCOME_LABELS`): ``excluded``, ``set_missing``, ``recoded``, ``score_missing``,
``flagged``.

=====================  ===========  =============================================================
rule                   action       what it does (threshold parameter of :class:`Rules`)
=====================  ===========  =============================================================
``unreadable``         change       cells ingest could not read as their type (a label not in the
                                    value set, text in a year, 31/02/1990) were set to missing:
                                    one log row each (a column with more than
                                    ``unreadable_max_share`` of such cells is an error of the
                                    file, raised by ingest, not cleaned)
``dont_know``          change       "don't know" answers ("Không biết", "Không rõ", "KB": the
                                    labels and aliases of value set ``nonresponse`` of
                                    ``value_labels.csv``) were set to missing by ingest as item
                                    non-response, not a point of the scale: one log row each,
                                    counted apart from blank answers and unreadable cells
``commune_match``      change/flag  commune values ingest placed by a guess: a close spelling
                                    matched to the registry unit it resembles (recoded; file,
                                    raw value, unit and score in the reason), and a code that a
                                    2025 commune took over from a pre-reform unit (06445: new
                                    Tân Thành, old Hòa Sơn), which is not guessed: the
                                    pre-reform unit is set to missing (``missing_required`` then
                                    excludes the record), its 2025 commune kept; a name
                                    that is also a 2025 commune's (Tân Thành) is read as the
                                    pre-reform unit of the survey frame and flagged
``duplicates``         drop / flag  later submissions that repeat an earlier one of the same
                                    commune on at least ``duplicate_min_share`` of the answers
                                    are dropped only when a second signal corroborates it: the
                                    same personal data, submission within
                                    ``duplicate_window_minutes``, or an identical background of
                                    at least ``duplicate_min_background`` answered fields;
                                    identical answers alone are flagged, not dropped.  Records
                                    of one person (the same identifying data: the register's
                                    staff code, or name and phone; codebook column
                                    ``identity``) whose answers differ are a resubmission: the
                                    latest is kept, the earlier ones dropped, the kept one
                                    flagged
``missing_required``   drop         records without an answer analyses need (``required``:
                                    commune)
``speeders``           drop         duration below ``speeder_share_of_median`` × the median
                                    duration (or below ``speeder_min_seconds``) — only where
                                    timing was exported; without it the flow says the rule
                                    could not check (``unchecked``, :func:`rule_unchecked`)
``out_of_range``       change       Likert codes outside the value set, numbers outside the
                                    codebook's ``min``/``max`` and dates whose year is outside
                                    them are set to missing (rare, scattered ones: systematic
                                    out-of-set Likert codes, e.g. a 1–7 scale, are a file error of
                                    ingest, :mod:`hlstudy.ingest.fit`)
``inconsistent``       change       impossible backgrounds: time in post starting before age
                                    ``min_age_at_start``; a degree below age ``min_age_degree`` or
                                    with lower-secondary schooling; a title of the other kind (cán
                                    bộ / công chức); the implausible answer is set to missing (or
                                    recoded)
``straightlining``     drop / flag  a run of identical answers (``longstring``) covering at least
                                    ``straightline_share`` of the Likert items is dropped only
                                    where it is implausible: the run crosses items of opposite
                                    keying (a contradiction), or the record was completed in
                                    under ``straightline_speed_share`` × the median duration;
                                    otherwise flagged (``straightline_drop``)
``missing_scale``      flag         more than ``max_missing_share`` of a scale's items missing:
                                    that scale's score is missing for that record (one row per
                                    record and scale); the record stays for every other analysis
=====================  ===========  =============================================================

Why straight-lining and duplicates need a second signal.  A uniform answer to every item is
a mark of careless responding only where the instrument makes it implausible (Meade & Craig
2012, *Psychological Methods* 17: 437–455; Curran 2016, "Methods for the detection of
carelessly invalid responses in survey data", *J. Experimental Social Psychology* 66: 4–19,
who recommend combining indicators and warn that screening excludes valid respondents).  On
a scale with no reverse-keyed item, "agree" to everything is what a satisfied respondent
says: dropping it is exclusion on the outcome.  Likewise two citizens of one commune may give
the same 17 answers.  :func:`rule_sensitivity` shows how much the key results move with each
choice.

:func:`change_summary` turns the log into a short per-rule account (``load_study`` prints it).

Item-level missing values that remain are reported by :func:`missing_report` (by item and
commune) and handled in :mod:`hlstudy.scales` (scale score = mean of the available items,
computed only when at least ``min_share`` of the scale's items are present; with
``min_share = 1 − max_missing_share`` exactly the scores ``missing_scale`` logs as missing
are missing).  After the rules, reverse-keyed items are recoded ``min + max − x``
(:func:`reverse_key`); that documented recoding of whole columns is not a cleaning decision
and is not logged value by value.

Example
-------
>>> from hlstudy import ingest, cleaning
>>> table = ingest.read_instrument("data/raw/officials.csv")  # doctest: +SKIP
>>> result = cleaning.clean(table.data, "officials")  # doctest: +SKIP
>>> result.flow  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

import numpy as np
import pandas as pd

from hlstudy import _resultcache
from hlstudy import export as _export
from hlstudy.codebook import INSTRUMENT_LABELS, INSTRUMENT_NOUNS
from hlstudy.errors import ModelError, SurveyDataError, check_lang
from hlstudy.ingest import (
    COMMUNE_MATCH,
    DONT_KNOW,
    ID_KEY,
    PII_KEY,
    UNREADABLE,
    UNREADABLE_MAX_SHARE,
    InstrumentSpec,
    instrument_spec,
    sort_key,
)

LOG_COLUMNS = [
    "instrument", "record_id", "source_row", "action", "outcome", "rule", "column", "old_value", "new_value",
    "reason",
]

#: What happened, one word per log row, and the ``action`` (accounting kind) it belongs to.
OUTCOMES = {
    "excluded": "drop",          # the record is not in the clean table
    "set_missing": "change",     # a value was set to missing
    "recoded": "change",         # a value was replaced by another (e.g. kind implied by the title)
    "score_missing": "flag",     # the record is kept; one scale's score is missing for it
    "flagged": "flag",           # the record is kept unchanged; the pattern is noted
}
#: Vietnamese / English wording of each outcome (notebook 02, the flow figure).
OUTCOME_LABELS = {
    "excluded": ("loại khỏi dữ liệu", "record excluded"),
    "set_missing": ("đặt thành giá trị thiếu", "set to missing"),
    "recoded": ("mã hóa lại", "recoded"),
    "score_missing": ("điểm thang đo đặt thành thiếu", "scale score set to missing"),
    "flagged": ("đánh dấu, vẫn giữ lại", "flagged, kept"),
}
ACTIONS = ("drop", "change", "flag")


#: ``Rules.straightline_drop``: drop only implausible runs (default), every run (the rule
#: before issue 13, kept for the sensitivity table), or none (flag them all).
STRAIGHTLINE_MODES = ("contradictory", "any", "flag")


@dataclass(frozen=True)
class Rules:
    """Thresholds of the cleaning rules (the defaults are the project's stated choices).

    ``duplicate_window_minutes`` (60) and ``duplicate_min_background`` (8 fields): the
    corroborating signals a repeated answer pattern needs before it is dropped as a duplicate.
    ``straightline_drop``: ``"contradictory"`` drops a long run only across items of opposite
    keying or with a completion under ``straightline_speed_share`` (0.5) × the median
    duration, ``"any"`` drops every long run, ``"flag"`` drops none.  Invalid values raise
    :class:`SurveyDataError`.
    """

    unreadable_max_share: float = UNREADABLE_MAX_SHARE
    duplicate_min_share: float = 1.0
    duplicate_window_minutes: float = 60.0
    duplicate_min_background: int = 8
    speeder_share_of_median: float = 0.33
    speeder_min_seconds: float = 0.0
    straightline_min_items: int = 10
    straightline_share: float = 1.0
    straightline_drop: str = "contradictory"
    straightline_speed_share: float = 0.5
    max_missing_share: float = 0.5
    min_age_at_start: int = 18
    min_age_degree: int = 21
    survey_year: int | None = None  # default: the reference-year setting, else the year of the
    # officials' submission times (reference_year; load_study cleans the other instruments in
    # the year of the clean officials' table)
    required: tuple[str, ...] = ("commune",)
    skip: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self):
        checks = {
            "duplicate_min_share": 0 < self.duplicate_min_share <= 1,
            "duplicate_window_minutes": self.duplicate_window_minutes >= 0,
            "duplicate_min_background": self.duplicate_min_background >= 1,
            "straightline_drop": self.straightline_drop in STRAIGHTLINE_MODES,
            "straightline_speed_share": 0 <= self.straightline_speed_share < 1,
            "speeder_share_of_median": 0 <= self.speeder_share_of_median < 1,
            "speeder_min_seconds": self.speeder_min_seconds >= 0,
            "straightline_min_items": self.straightline_min_items >= 2,
            "straightline_share": 0 < self.straightline_share <= 1,
            "max_missing_share": 0 <= self.max_missing_share < 1,
            "unreadable_max_share": 0 <= self.unreadable_max_share < 1,
        }
        bad = [k for k, ok in checks.items() if not ok]
        if bad:
            raise SurveyDataError(f"invalid cleaning threshold(s): {', '.join(f'{k}={getattr(self, k)!r}' for k in bad)}")
        unknown = [s for s in self.skip if s not in RULE_NAMES]
        if unknown:
            raise SurveyDataError(f"unknown rule(s) to skip: {unknown}; rules are {RULE_NAMES}")
        if "unreadable" in self.skip:
            raise SurveyDataError("the unreadable rule cannot be skipped: ingest already set those "
                                  "cells to missing, and every change must be logged")
        if "dont_know" in self.skip:
            raise SurveyDataError("the dont_know rule cannot be skipped: ingest already set those "
                                  "answers to missing, and every change must be logged")
        if "commune_match" in self.skip:
            raise SurveyDataError("the commune_match rule cannot be skipped: ingest already placed "
                                  "those commune values, and every guess must be logged")

    def with_(self, **changes) -> Rules:
        return replace(self, **changes)


@dataclass
class CleaningResult:
    """Clean table, the log of every decision, and the record flow rule by rule."""

    instrument: str
    data: pd.DataFrame
    log: pd.DataFrame
    flow: pd.DataFrame
    rules: Rules

    @property
    def received(self) -> int:
        return int(self.flow["n_before"].iloc[0]) if len(self.flow) else len(self.data)

    def summary(self) -> str:
        lines = [f"cleaning {self.instrument}: {self.received} read, {len(self.data)} kept"]
        for r in self.flow.itertuples():
            lines.append(f"  {r.rule:<18} dropped {r.dropped:>4}  changed {r.changed:>4}  → {r.n_after}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def _value(x) -> object:
    if x is None or x is pd.NA or x is pd.NaT:
        return None
    if isinstance(x, float) and np.isnan(x):
        return None
    if isinstance(x, float | np.floating) and float(x).is_integer():
        return str(int(x))
    return str(x)


def _drop_rows(df, index, instrument, rule, reasons) -> list[dict]:
    return [
        {
            "instrument": instrument, "record_id": df.at[i, "record_id"], "source_row": df.at[i, "source_row"],
            "action": "drop", "outcome": "excluded", "rule": rule, "column": None, "old_value": None,
            "new_value": None, "reason": reasons[i] if isinstance(reasons, dict) else reasons,
        }
        for i in index
    ]


def _change_row(df, i, instrument, rule, column, old, new, reason) -> dict:
    new = _value(new)
    return {
        "instrument": instrument, "record_id": df.at[i, "record_id"], "source_row": df.at[i, "source_row"],
        "action": "change", "outcome": "set_missing" if new is None else "recoded", "rule": rule,
        "column": column, "old_value": _value(old), "new_value": new, "reason": reason,
    }


def _flag_row(df, i, instrument, rule, reason, *, column=None, outcome="flagged") -> dict:
    return {
        "instrument": instrument, "record_id": df.at[i, "record_id"], "source_row": df.at[i, "source_row"],
        "action": "flag", "outcome": outcome, "rule": rule, "column": column, "old_value": None,
        "new_value": None, "reason": reason,
    }


def _likert(spec: InstrumentSpec, df: pd.DataFrame) -> list[str]:
    return [v.variable for v in spec.variables if v.type == "likert" and v.variable in df]


def _of_type(spec: InstrumentSpec, df: pd.DataFrame, *types: str) -> list[str]:
    return [v.variable for v in spec.variables if v.type in types and v.variable in df]


# --------------------------------------------------------------------------- rules


def rule_unreadable(df, spec, rules, instrument):
    """Log every cell ingest could not read (already set to missing there), then forget them.

    The cells come from the transient column :data:`hlstudy.ingest.UNREADABLE`; ``old_value``
    is the raw text as received (cut to 40 characters), ``new_value`` is empty (missing).
    """
    return _consume(df, UNREADABLE, lambda i, variable, raw, reason: _change_row(
        df, i, instrument, "unreadable", variable, raw, None, f"unreadable, set to missing: {reason}"))


def _consume(df, column: str, row_of) -> tuple[pd.DataFrame, list]:
    """The log rows ``row_of(i, *entry)`` of every entry of the transient ``column`` (a tuple
    per entry, ingest's account of a cell: row by row, in order), and ``df`` without it."""
    if column not in df:
        return df, []
    log = [row_of(i, *entry) for i in df.index for entry in (df.at[i, column] or ())]
    return df.drop(columns=[column]), log


def rule_dont_know(df, spec, rules, instrument):
    """Log every "don't know" answer ingest set to missing (item non-response), then forget them.

    From the transient column :data:`hlstudy.ingest.DONT_KNOW`; ``old_value`` is the answer as
    received, ``new_value`` empty (missing).  Such an answer is neither blank (the respondent
    answered) nor unreadable (it says something), nor a point of the scale: survey practice
    codes it missing with its own reason, so that its count is seen apart.
    """
    return _consume(df, DONT_KNOW, lambda i, variable, raw, where: _change_row(
        df, i, instrument, "dont_know", variable, raw, None,
        f"'don't know' answer {raw!r}, set to missing as item non-response (a phrase of value set "
        f"'nonresponse' in value_labels.csv; not a point of the scale) ({where})"))


def rule_commune_match(df, spec, rules, instrument):
    """Log every commune value ingest placed by a guess, then forget them.

    From the transient column :data:`hlstudy.ingest.COMMUNE_MATCH`: a close spelling matched
    to the registry unit it resembles (``fuzzy``: ``old_value`` the raw value, ``new_value``
    the unit's code and name, the file and the score in ``reason``; outcome ``recoded``), and
    a code that names both a pre-reform unit and the 2025 commune that took it over (new Tân
    Thành = 06445 = old Hòa Sơn), which is not guessed: the pre-reform unit is left missing
    (outcome ``set_missing``), so that ``missing_required`` then excludes the record, logged,
    while its 2025 commune is kept (:mod:`hlstudy.ingest.places`).  A name that is both a
    pre-reform unit's and a 2025 commune's (Tân Thành) is read as the unit of the survey frame
    and flagged (outcome ``flagged``, ``old_value`` the raw value, ``new_value`` the unit), so
    that a researcher with a post-reform export sees it.
    """
    def row_of(i, variable, raw, code, name, outcome, reason):
        new = None if code is None else f"{code} {name}"
        if outcome == "flagged":  # a name that is also a 2025 commune's: read, and said
            return (_flag_row(df, i, instrument, "commune_match", reason, column=variable)
                    | {"old_value": _value(raw), "new_value": new})
        return _change_row(df, i, instrument, "commune_match", variable, raw, new, reason)

    return _consume(df, COMMUNE_MATCH, row_of)


def rule_duplicates(df, spec, rules, instrument):
    """Drop later submissions repeating an earlier one, when a second signal corroborates it.

    A *candidate* repeats an earlier submission of the same commune on at least
    ``duplicate_min_share`` of the compared answers (every non-personal variable but the
    timestamp and duration).  Identical answers alone do not make a duplicate: two citizens of
    one commune may well give the same 17 answers.  The candidate is **dropped** when at least
    one signal corroborates it, and **flagged** (kept, logged) otherwise:

    * the same personal data (the transient salted hash made at ingest; the data themselves
      are never compared or logged);
    * submitted within ``duplicate_window_minutes`` of the earlier one (both timestamps known);
    * an identical background (every non-Likert answer given in both records equal) on at
      least ``duplicate_min_background`` answered fields — detailed enough to identify a
      person (the officials' 14 background questions; not the citizens' 4).

    Records whose personal data differ are never duplicates of each other.  The earliest
    submission (by timestamp, else by row) is kept.  R equivalent of the candidate test:
    ``duplicated(x[, c("commune", answers)])`` for ``duplicate_min_share = 1``.

    **Resubmissions.**  Records left after that which share *identifying* data (the
    transient salted key :data:`hlstudy.ingest.ID_KEY` of the codebook's ``identity``
    groups: ``staff_code`` alone, or ``full_name`` and ``phone`` together, every field of the
    group answered; a name alone, or the citizens' free-text comment, identifies no one) are
    one person entered more than once with answers that differ.  One person must not count
    twice, so one record is kept: the **latest submission** by timestamp (when every record of
    the person has one), else the last row.  That is what the survey platforms themselves do
    when a respondent edits an answer after sending it: with Google Forms' setting *Settings →
    Responses → Allow response editing* the edited response replaces the earlier one in the
    export, whereas a second submission (the setting off) arrives as a second row; a register's
    later entry for a staff code is taken as its correction.  The earlier records are dropped, each log row naming
    the kept row and the fields that differ; the kept record is flagged, naming the dropped
    rows, so that both rows of every resubmission are in the log.  Whether the latest answers
    are the better ones cannot be known from the data: the log lets the researcher check.
    """
    compare = [
        v.variable for v in spec.variables
        if not v.pii and v.type not in ("timestamp", "duration", "commune") and v.variable in df
    ]
    likert = set(_likert(spec, df))
    background = [c for c in compare if c not in likert]
    if "commune_code" in df:
        compare = ["commune_code", *compare]
    if not compare:
        return df, []
    if rules.duplicate_min_share == 1 and _all_distinct(df, compare) and not _shared_identity(df):
        return df, []  # no record repeats another on every answer, no person twice: no candidate
    times = _of_type(spec, df, "timestamp")
    order = df.sort_values([*times, "source_row"], na_position="last", kind="stable").index
    # the columns read below in that order: each column's values taken by position (a
    # unique index), else the rows of ``df.loc[order]``
    pos = df.index.get_indexer(order) if df.index.is_unique else None

    def in_order(columns):
        return df[columns].iloc[pos] if pos is not None else df.loc[order, columns]

    # each column's answers as integer codes (equal codes = equal answers as text): the
    # pairwise comparisons below then compare integers, not strings.  Codes stand for
    # equal texts within a column whatever the rows' order, so the table's codes are taken
    # in ``order`` (no reordered copy of the table)
    if not len(order):
        values = np.empty((0, len(compare)), dtype=np.int64)
    elif pos is not None:
        values = _text_code_matrix(df[compare])[pos]
    else:
        values = _text_code_matrix(df.loc[order, compare])
    backgrounds: list[np.ndarray] = []  # the background answers as text, made when first needed

    def background_text() -> np.ndarray:
        if not backgrounds:  # only a candidate without other corroboration reads them
            backgrounds.append(
                in_order(background).astype("string").to_numpy(dtype=object, na_value=None)
                if background else np.empty((len(order), 0), dtype=object))
        return backgrounds[0]
    stamps = (pd.to_datetime(in_order(times[0])).to_numpy() if times
              else np.full(len(order), np.datetime64("NaT"), dtype="datetime64[ns]"))
    groups = in_order("commune_code").astype("string").fillna("").to_numpy() if "commune_code" in df else np.zeros(len(order))
    if PII_KEY in df:
        keys = in_order(PII_KEY).astype("string").fillna("").to_numpy(dtype=object)
    else:
        keys = np.full(len(order), "", dtype=object)
    unlimited = not np.isfinite(rules.duplicate_window_minutes)  # any gap corroborates
    window = None if unlimited else np.timedelta64(int(round(rules.duplicate_window_minutes * 60)), "s")

    def corroboration(a: int, b: int) -> str | None:
        """Why record ``b`` (later) is the same submission as ``a``, or None."""
        if keys[a] != "" and keys[a] == keys[b]:
            return "the same personal data"
        if unlimited:
            return "identical answers (no time window: duplicate_window_minutes = inf)"
        if not (np.isnat(stamps[a]) or np.isnat(stamps[b])):
            gap = abs(stamps[b] - stamps[a])
            if gap <= window:
                return (f"submitted {gap / np.timedelta64(1, 'm'):.0f} min apart "
                        f"(window {rules.duplicate_window_minutes:g} min)")
        back = background_text()
        both = [j for j in range(back.shape[1]) if back[a, j] is not None and back[b, j] is not None]
        if len(both) >= rules.duplicate_min_background and all(back[a, j] == back[b, j] for j in both):
            return f"identical background on {len(both)} answered fields (at least {rules.duplicate_min_background})"
        return None

    drop: dict = {}
    flag: dict = {}
    for g in pd.unique(groups):
        members = np.flatnonzero(groups == g)
        block = values[members]
        people = keys[members]
        # rows no earlier row of the group repeats (on the share): no candidate, kept at once
        repeats = _repeats_earlier(block, rules.duplicate_min_share)
        kept: list[int] = []
        for j in range(len(members)):
            if kept and repeats[j]:
                agree = (block[kept] == block[j]).mean(axis=1)
                # two records with different personal data are different people
                other = (people[kept] != "") & (people[j] != "") & (people[kept] != people[j])
                agree = np.where(other, -1.0, agree)
                candidates = [k for k in np.argsort(-agree, kind="stable") if agree[k] >= rules.duplicate_min_share]
                if candidates:
                    here = order[members[j]]
                    because = None
                    for k in candidates:
                        because = corroboration(members[kept[k]], members[j])
                        if because is not None:
                            break
                    k = k if because is not None else candidates[0]
                    first = order[members[kept[k]]]
                    what = (f"record {df.at[first, 'record_id']} (row {df.at[first, 'source_row']}) "
                            f"on {agree[k]:.0%} of {len(compare)} answers (threshold {rules.duplicate_min_share:.0%})")
                    if because is not None:
                        drop[here] = f"repeats {what}; corroborated by {because}"
                        continue
                    flag[here] = (f"same answers as {what}, but nothing corroborates a duplicate (different "
                                  "submission times, no personal data, background too short or different): kept")
            kept.append(j)
    _resubmissions(df, spec, compare, times, drop, flag)
    index = sorted(drop, key=lambda i: df.at[i, "source_row"])
    flagged = sorted(flag, key=lambda i: df.at[i, "source_row"])
    log = _drop_rows(df, index, instrument, "duplicates", drop)
    log += [_flag_row(df, i, instrument, "duplicates", flag[i]) for i in flagged]
    return _without(df, index), log


def _shared_identity(df: pd.DataFrame) -> bool:
    """Whether two records share identifying data (:data:`hlstudy.ingest.ID_KEY`)."""
    return ID_KEY in df and bool(df[ID_KEY].dropna().duplicated().any())


def _resubmissions(df, spec, compare, times, drop: dict, flag: dict) -> None:
    """Records of one person (equal identifying data, :data:`hlstudy.ingest.ID_KEY`) left
    after the repeats: keep the latest submission, drop the earlier ones (into ``drop``) and
    note the kept one (into ``flag``), naming every row, the kept one and the answers that
    differ.  See :func:`rule_duplicates` for the rule and its source."""
    if not _shared_identity(df):
        return
    left = df.loc[[i for i in df.index if i not in drop and i not in flag]]
    keys = left[ID_KEY].dropna()
    groups = keys[keys.duplicated(keep=False)]
    if groups.empty:
        return
    groups_of: dict[str, list[str]] = {}
    for v in spec.variables:
        if v.pii and v.identity:
            groups_of.setdefault(v.identity, []).append(v.variable)
    for key in sorted(pd.unique(groups), key=str):
        members = groups.index[groups == key]
        rows = left.loc[members]
        stamps = pd.to_datetime(rows[times[0]]) if times else pd.Series(pd.NaT, index=rows.index)
        if stamps.notna().all():
            order = sorted(members, key=lambda i: (stamps[i], df.at[i, "source_row"]))
            why = "the latest submission by timestamp"
        else:
            order = sorted(members, key=lambda i: df.at[i, "source_row"])
            why = "the last row (no submission time for every record)"
        keep = order[-1]
        group = str(key).rpartition(":")[0]
        identity = f"{group}: {', '.join(groups_of.get(group, []))}"
        kept = f"record {df.at[keep, 'record_id']} (row {df.at[keep, 'source_row']})"
        for i in order[:-1]:
            differ = [c for c in compare
                      if str(df.at[i, c]) != str(df.at[keep, c])]
            shown = ", ".join(differ[:6]) + (f" and {len(differ) - 6} more" if len(differ) > 6 else "")
            drop[i] = (f"resubmission: the same identifying data ({identity}) as {kept}, "
                       f"which is kept as {why}; the answers differ on {len(differ)} of "
                       f"{len(compare)} fields" + (f" ({shown})" if differ else ""))
        others = ", ".join(f"row {df.at[i, 'source_row']}" for i in order[:-1])
        flag[keep] = (f"kept as {why} of {len(order)} records with the same identifying data "
                      f"({identity}); dropped: {others}")


def _without(df: pd.DataFrame, index) -> pd.DataFrame:
    """``df.drop(index=index)``; ``df`` itself when nothing is dropped (no copy)."""
    return df.drop(index=index) if len(index) else df


#: NaN as one bit pattern (every NaN of a float column is the same missing answer)
_NAN_BITS = np.array([np.nan]).view(np.int64)[0]


def _all_distinct(df: pd.DataFrame, columns: list[str]) -> bool:
    """True when no two rows of ``df`` are equal on ``columns`` as :func:`_text_codes`
    compares them (as text), decided without making the texts: each cell is replaced by a key
    that two cells equal as text always share.  Rows distinct on some of the columns are
    distinct on all of them, so only some are keyed: the float columns when there are any (one
    block: the Likert answers; their bits, every NaN alike and -0.0 as 0.0), else the
    ``Int64`` and pandas-string columns (their value, a missing value as the missing marker)
    and datetime columns (their integer, NaT one value).  False means "not shown distinct":
    the caller then compares the texts.
    """
    dtypes = df.dtypes
    floats = [c for c in columns if dtypes[c] == np.float64]
    if floats:
        x = df[floats].to_numpy(dtype=np.float64)
        bits = np.where(np.isnan(x), _NAN_BITS, (x + 0.0).view(np.int64))  # -0.0 + 0.0 is 0.0
        return len(set(map(bytes, bits))) == len(df)
    keys = []
    for c in columns:
        column = df[c]
        dtype = column.dtype
        if isinstance(dtype, pd.StringDtype) or str(dtype) == "Int64":
            keys.append(column.to_numpy(dtype=object, na_value="\x00NA").tolist())
        elif isinstance(dtype, np.dtype) and dtype.kind == "M":
            keys.append(column.to_numpy().view(np.int64).tolist())
    if not keys:
        return False
    return len(set(zip(*keys, strict=True))) == len(df)


def _text_codes(column: pd.Series) -> np.ndarray:
    """``pd.factorize(column.astype("string").fillna("\\x00NA"))`` codes, converting each
    distinct value (float bit pattern, integer, text) once instead of every cell.

    The text of a value is a function of its bits (floats) or of the value itself (``Int64``,
    ``str``), so the codes, numbered by first appearance, are those of the direct route;
    other dtypes (object, dates) take the direct route.
    """
    dtype = column.dtype
    if dtype == np.float64:
        codes, uniques = pd.factorize(column.to_numpy().view(np.int64))  # bits: -0.0 apart from 0.0
        uniques = pd.Series(uniques.view(np.float64))
    elif isinstance(dtype, pd.StringDtype) or str(dtype) == "Int64":
        codes, uniques = pd.factorize(column)  # missing values: -1
        if str(dtype) == "Int64" or not (np.asarray(uniques, dtype=object) == "\x00NA").any():
            # distinct values have distinct texts, none the missing marker: numbering the
            # texts by first appearance is numbering the codes by first appearance
            return pd.factorize(codes)[0]
        uniques = pd.Series(uniques)
    else:
        return pd.factorize(column.astype("string").fillna("\x00NA").to_numpy(dtype=object))[0]
    text = uniques.astype("string").fillna("\x00NA").to_numpy(dtype=object)
    text = np.append(text, "\x00NA")  # code -1 (a missing value) picks the last entry
    return pd.factorize(text[codes])[0]


def _text_code_matrix(frame: pd.DataFrame) -> np.ndarray:
    """:func:`_text_codes` of every column of ``frame`` (rows × columns); the float64 columns
    together: each distinct bit pattern of the block is converted to text once."""
    out = np.empty(frame.shape, dtype=np.int64)
    dtypes = list(frame.dtypes)  # once: ``frame.dtypes`` builds a Series at every call
    floats = [c for c in range(frame.shape[1]) if dtypes[c] == np.float64]
    if floats:
        bits = np.ascontiguousarray(frame.iloc[:, floats].to_numpy(dtype=np.float64)).view(np.int64)
        unique, inverse = np.unique(bits, return_inverse=True)
        text = pd.Series(unique.view(np.float64)).astype("string").fillna("\x00NA").to_numpy(dtype=object)
        ids = pd.factorize(text)[0][inverse.reshape(bits.shape)]  # equal texts, equal ids
        for k, c in enumerate(floats):
            out[:, c] = pd.factorize(ids[:, k])[0]  # numbered by first appearance, as the texts
    done = set(floats)
    for c in range(frame.shape[1]):
        if c not in done:
            out[:, c] = _text_codes(frame.iloc[:, c])
    return out


def _repeats_earlier(block: np.ndarray, share: float) -> np.ndarray:
    """For each row of ``block`` (codes), whether some earlier row agrees with it on at least
    ``share`` of the columns (the agreement ``rule_duplicates`` computes, ``mean`` of equal
    codes): a row without one can have no duplicate candidate."""
    n = len(block)
    out = np.zeros(n, dtype=bool)
    step = max(1, int(2_000_000 // max(1, n * block.shape[1])))  # rows per slice, bounded memory
    for start in range(1, n, step):
        rows = block[start:start + step]
        agree = (rows[:, None, :] == block[None, :start + len(rows), :]).mean(axis=2)
        earlier = np.arange(start + len(rows))[None, :] < np.arange(start, start + len(rows))[:, None]
        out[start:start + len(rows)] = ((agree >= share) & earlier).any(axis=1)
    return out


def rule_missing_required(df, spec, rules, instrument):
    """Drop records lacking an answer no analysis can do without (``Rules.required``).

    By default only the commune: every analysis nests respondents in communes.  Other
    missing background answers stay as missing values (reported by :func:`missing_report`).
    """
    columns = []
    for name in rules.required:
        if name == "commune" or (name in spec.by_name and spec.by_name[name].type == "commune"):
            name = "commune_code"
        if name in df and name not in columns:
            columns.append(name)
    reasons = {}
    if columns:
        absent = df[columns].isna().to_numpy(dtype=bool)  # pd.isna of each cell
        for p in np.flatnonzero(absent.any(axis=1)):
            reasons[df.index[p]] = "required answer missing: " + ", ".join(
                c for c, gone in zip(columns, absent[p], strict=True) if gone)
    index = list(reasons)
    return _without(df, index), _drop_rows(df, index, instrument, "missing_required", reasons)


def rule_speeders(df, spec, rules, instrument):
    """Drop submissions completed faster than the threshold (only where duration is exported)."""
    durations = _of_type(spec, df, "duration")
    if not durations or df[durations[0]].notna().sum() == 0:
        return df, []
    d = df[durations[0]].astype(float)
    median = float(d.median())
    threshold = max(rules.speeder_min_seconds, rules.speeder_share_of_median * median)
    hit = d[d < threshold].index
    reasons = {
        i: f"completed in {d[i]:.0f} s, under {threshold:.0f} s "
        f"({rules.speeder_share_of_median:.0%} of the median {median:.0f} s)"
        for i in hit
    }
    return _without(df, hit), _drop_rows(df, hit, instrument, "speeders", reasons)


def rule_out_of_range(df, spec, rules, instrument):
    """Set to missing Likert codes outside the value set and numbers outside min/max.

    For ``date`` variables the codebook's ``min``/``max`` are years (a birth date in the
    future is out of range, not an inconsistency of the tenure answer).
    """
    log = []
    ids = df["record_id"].to_numpy()  # the values df.at gives, by position
    rows = df["source_row"].to_numpy()
    copied = False  # the table is copied before its first change
    codes_of: dict[str, list[float]] = {}  # each value set's codes once
    # the float64 Likert columns of each value set tested in one block: the same elementwise
    # ``np.isin`` as column by column (a column is read again only when it has a bad code)
    dtypes = df.dtypes
    blocks: dict[str, list[str]] = {}
    for v in spec.variables:
        if v.type == "likert" and not v.pii and v.variable in df and dtypes[v.variable] == np.float64:
            blocks.setdefault(v.value_set, []).append(v.variable)
    block_bad: dict[str, np.ndarray] = {}
    for value_set, names in blocks.items():
        codes_of[value_set] = spec.codes(value_set)
        x = df[names].to_numpy(dtype=np.float64)
        bad = ~np.isnan(x) & ~np.isin(x, codes_of[value_set])
        block_bad.update((name, bad[:, k]) for k, name in enumerate(names) if bad[:, k].any())
    for v in spec.variables:
        if v.variable not in df or v.pii:
            continue
        if v.type == "likert" and v.variable in blocks.get(v.value_set, ()) and v.variable not in block_bad:
            continue  # no code outside the value set
        column = df[v.variable]
        plain = column.dtype == np.float64  # numpy comparisons: NaN is neither bad nor in range
        if v.type == "likert":
            if v.value_set not in codes_of:
                codes_of[v.value_set] = spec.codes(v.value_set)
            codes = codes_of[v.value_set]
            if plain:
                x = column.to_numpy()
                bad = block_bad[v.variable]
            else:
                bad = (column.notna() & ~column.isin(codes)).to_numpy(dtype=bool)
            reason = f"code outside the value set {v.value_set} ({int(min(codes))}–{int(max(codes))})"
        elif v.type in ("integer", "year", "duration") and (v.min is not None or v.max is not None):
            low = v.min if v.min is not None else -np.inf
            high = v.max if v.max is not None else np.inf
            if plain:
                x = column.to_numpy()
                bad = (x < low) | (x > high)
            elif str(column.dtype) == "Int64":
                # the floats ``astype("Float64")`` holds, a missing value as NaN (never bad)
                numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
                bad = (numbers < low) | (numbers > high)
            else:
                numbers = column.astype("Float64")
                bad = (numbers.notna() & ((numbers < low) | (numbers > high))).fillna(False).to_numpy(dtype=bool)
            reason = f"outside the admissible range [{v.min:g}, {v.max:g}]" if v.min is not None and v.max is not None else "outside the admissible range"
        elif v.type == "date" and (v.min is not None or v.max is not None):
            # a date's min/max are years (a birth date in the future, a birth in 1890)
            years = column.dt.year.astype("Float64")
            bad = years.notna() & (
                (years < (v.min if v.min is not None else -np.inf))
                | (years > (v.max if v.max is not None else np.inf))
            )
            bad = bad.fillna(False).to_numpy(dtype=bool)
            reason = f"year outside the admissible range [{v.min:g}, {v.max:g}]" if v.min is not None and v.max is not None else "year outside the admissible range"
        else:
            continue
        hits = np.flatnonzero(bad)
        if not len(hits):
            continue
        for p in hits:
            i = df.index[p]
            old = _value(column[i].strftime("%Y-%m-%d") if v.type == "date" else column[i])
            log.append({"instrument": instrument, "record_id": ids[p], "source_row": rows[p], "action": "change",
                        "outcome": "set_missing", "rule": "out_of_range", "column": v.variable,
                        "old_value": old, "new_value": None, "reason": reason})  # _change_row's row
        if not copied:
            df, copied = df.copy(), True
        if plain:
            x = x.copy()
            x[hits] = np.nan
            df[v.variable] = x
        else:
            missing = pd.NaT if v.type == "date" else (pd.NA if str(column.dtype) == "Int64" else np.nan)
            df.loc[bad, v.variable] = missing
    return df, log


def _survey_year(df, spec, rules) -> int | None:
    """The year cleaning counts ages in: :func:`reference_year` of ``rules`` and, when ``df``
    is the officials' survey, its own submission times (another instrument has none to give)."""
    return reference_year(rules, df if spec.name == "officials" else None, spec=spec)


def reference_year(rules: Rules | None, officials: pd.DataFrame | None, *,
                   spec: InstrumentSpec | None = None, root=None) -> int | None:
    """The survey's reference year, the one rule cleaning, notebook 04 and the claims ledger
    count ages and years in post by: ``rules.survey_year`` when set explicitly, else the
    reference-year setting (:func:`hlstudy.config.reference_year_setting`:
    ``HLSTUDY_REFERENCE_YEAR`` or ``[study] reference_year`` in ``hlstudy.toml``), else the
    year of the latest submission time of ``officials`` (the officials' survey; its codebook's
    ``timestamp`` variable, ``submitted_at``), else ``None`` (no year: the caller says so;
    :func:`hlstudy.study.reference_year` raises the clear error).  The personnel register's
    own years are never taken (its latest start year is not the survey's year).

    >>> reference_year(Rules(survey_year=2024), None)
    2024
    """
    if rules is not None and rules.survey_year is not None:
        return int(rules.survey_year)
    from hlstudy.config import reference_year_setting

    year = reference_year_setting(root)
    if year is not None or officials is None:
        return year
    spec = spec or instrument_spec("officials")
    for column in _of_type(spec, officials, "timestamp"):
        stamps = officials[column]
        if isinstance(stamps.dtype, np.dtype) and stamps.dtype.kind == "M":
            # numpy datetimes: the latest one's year is the latest year (NaT left out)
            x = stamps.to_numpy()
            x = x[~np.isnat(x)]
            if len(x):
                return int(x.max().astype("datetime64[Y]").astype(np.int64)) + 1970
            continue
        years = pd.to_datetime(stamps, errors="coerce").dt.year.dropna()
        if len(years):
            return int(years.max())
    return None


def _first(spec, df, *names):
    for name in names:
        if name in df and name in spec.by_name:
            return name
    return None


_DEGREE = ("college", "university", "master", "doctorate")
_DEGREE_WORDS = "cao đẳng|đại học|thạc sĩ|tiến sĩ|college|university|bachelor|master|doctor"


def _codes_matching(spec, variable, codes=(), words=None) -> set[str]:
    labels = spec.value_sets.get(spec.by_name[variable].value_set)
    if labels is None:
        return set()
    out = {str(c) for c in labels["code"] if str(c) in codes}
    if words:
        en, vi = labels["label_en"].tolist(), labels["label_vi"].tolist()
        if all(type(t) is str for t in en + vi):
            # ``str.contains`` on the casefolded "label_en label_vi": a regular-expression search
            pattern = re.compile(words)
            out |= {str(c) for c, e, t in zip(labels["code"], en, vi, strict=True)
                    if pattern.search(f"{e} {t}".casefold())}
        else:
            text = (labels["label_en"].astype(str) + " " + labels["label_vi"].astype(str)).str.casefold()
            out |= {str(c) for c in labels.loc[text.str.contains(words), "code"]}
    return out


def _position_kinds() -> dict[str, str]:
    """Decree 33 title → kind, from ``decree33_positions.csv``.

    A missing or malformed reference file is a :class:`SurveyDataError` (raised by
    :func:`hlstudy.legal.positions`), never a silently skipped check.
    """
    from hlstudy.legal import positions

    table = positions()
    return dict(zip(table["position_code"].astype(str), table["kind"].astype(str), strict=True))


def rule_inconsistent(df, spec, rules, instrument):
    """Impossible or inconsistent backgrounds: the implausible answer is set to missing.

    Each check runs only where the instrument has its variables:

    * **age vs time in post** — ``years_in_post`` (officials) or ``start_year``
      (personnel register) implying a start before age ``min_age_at_start``: the tenure
      answer is set to missing (the birth year/date is the better-checked answer);
    * **age vs degree** — a college degree or higher (``education_level``) at an age below
      ``min_age_degree``: the education answer is set to missing;
    * **general vs professional education** — a college degree or higher with only lower
      secondary general education (Vietnamese college and university admission require the
      upper-secondary diploma): the professional level is set to missing;
    * **title vs kind** — a Decree 33/2023 title (``position_code``) whose kind
      (cán bộ / công chức, ``data/reference/decree33_positions.csv``) contradicts the stated
      ``kind``: ``kind`` is set to the title's kind (the title is the more specific answer).

    Not meeting a qualification *standard* is a finding for notebook 04, never cleaned here.
    """
    log = []
    copied = False  # ``df`` is copied before its first change (the checks below read the copy)

    def flag(mask, column, reason, new=None):
        nonlocal df, copied
        if isinstance(mask, np.ndarray) and mask.dtype == bool:
            hits = mask  # by position, missing values already False
        else:
            mask = pd.Series(mask, index=df.index).fillna(False).astype(bool)
            hits = mask.to_numpy()
        if not hits.any():
            return
        if not copied:
            df, copied = df.copy(), True
        for i in df.index[hits]:
            value = new[i] if isinstance(new, pd.Series) else new
            log.append(_change_row(df, i, instrument, "inconsistent", column, df.at[i, column], value, reason(i)))
        df.loc[hits, column] = new[hits] if isinstance(new, pd.Series) else pd.NA

    # ages and years as numpy floats, a missing value as NaN: the comparisons of the nullable
    # ``Float64`` columns they were made of, a missing value (NA, here NaN) never below a limit
    birth = None
    if _first(spec, df, "birth_year"):
        birth = _float_values(df["birth_year"])
    elif _first(spec, df, "birth_date"):
        birth = _float_values(df["birth_date"].dt.year)
    year = _survey_year(df, spec, rules)
    age = (year - birth) if (birth is not None and year is not None) else None
    if age is None and _first(spec, df, "age"):
        age = _float_values(df["age"])
    def at(values: np.ndarray) -> dict:  # by label, for the reasons
        return dict(zip(df.index, values.tolist(), strict=True))

    ages = at(age) if age is not None else {}

    tenure = _first(spec, df, "years_in_post", "tenure_years")
    if tenure is not None and age is not None:
        t = _float_values(df[tenure])
        flag(age - t < rules.min_age_at_start, tenure,
             lambda i: f"{df.at[i, tenure]} years in post at age {ages[i]:.0f}: "
                       f"started before age {rules.min_age_at_start}")
    start = _first(spec, df, "start_year")
    if start is not None and birth is not None:
        started_at = _float_values(df[start]) - birth
        since = at(started_at)
        flag(started_at < rules.min_age_at_start, start,
             lambda i: f"in post since age {since[i]:.0f}, under {rules.min_age_at_start}")
    education = _first(spec, df, "education_level", "education")
    if education is not None:
        degree = _codes_matching(spec, education, _DEGREE, _DEGREE_WORDS)
        has_degree = df[education].astype("string").isin(degree).to_numpy(dtype=bool)
        if age is not None:
            flag(has_degree & (age < rules.min_age_degree), education,
                 lambda i: f"a college or university degree at age {ages[i]:.0f} (under {rules.min_age_degree})")
            has_degree = df[education].astype("string").isin(degree).to_numpy(dtype=bool)
        general = _first(spec, df, "general_education")
        if general is not None:
            lower = _codes_matching(spec, general, ("lower_secondary",), "lower secondary|trung học cơ sở")
            flag(has_degree & df[general].astype("string").isin(lower).to_numpy(dtype=bool), education,
                 lambda i: "a college or university degree with lower-secondary general education only")
    position, kind = _first(spec, df, "position_code"), _first(spec, df, "kind")
    if position is not None and kind is not None:
        implied = df[position].astype("string").map(_position_kinds())
        stated = df[kind].astype("string")
        flag(implied.notna() & stated.notna() & (implied != stated), kind,
             lambda i: f"title {df.at[i, position]} is a {implied[i]} post, not {df.at[i, kind]}",
             new=implied.astype("string"))
    return df, log


def _float_values(column: pd.Series) -> np.ndarray:
    """``column.astype("Float64")`` as numpy floats, a missing value as NaN (``Int64``,
    ``Float64`` and float64 columns converted directly, the others through ``Float64``)."""
    if not (str(column.dtype) in ("Int64", "Float64") or column.dtype == np.float64):
        column = column.astype("Float64")
    return column.to_numpy(dtype=np.float64, na_value=np.nan)


def longstring(values: pd.DataFrame) -> pd.Series:
    """Longest run of identical consecutive answers per row (a blank ends a run).

    Johnson (2005), *J. Research in Personality* 39: 103–129.  R:
    ``apply(x, 1, function(r) max(rle(r)$lengths))`` (``rle`` also ends a run at ``NA``),
    which is what ``careless::longstring`` computes.

    >>> longstring(pd.DataFrame([[4, 4, 4, 2], [1, None, 1, 1]], dtype=float)).tolist()
    [3, 2]
    """
    return _longest_runs(values)[0]


def _longest_runs(values: pd.DataFrame) -> tuple[pd.Series, np.ndarray]:
    """:func:`longstring` and the column position where each row's (first) longest run starts."""
    x = values.to_numpy(dtype=float)
    best = np.zeros(len(x), dtype=int)
    best_start = np.zeros(len(x), dtype=int)
    run = np.zeros(len(x), dtype=int)
    start = np.zeros(len(x), dtype=int)
    previous = np.full(len(x), np.nan)
    for j in range(x.shape[1]):
        col = x[:, j]
        same = (col == previous) & ~np.isnan(col)
        run = np.where(np.isnan(col), 0, np.where(same, run + 1, 1))
        start = np.where(same, start, j)
        longer = run > best
        best_start = np.where(longer, start, best_start)
        best = np.maximum(best, run)
        previous = col
    return pd.Series(best, index=values.index), best_start


def rule_straightlining(df, spec, rules, instrument):
    """Drop implausible straight-lining; flag the rest (never exclusion on the outcome).

    A *run* is the longest sequence of identical answers in questionnaire order
    (:func:`longstring`, blanks break a run, raw codes before reverse-keying); it counts when
    it covers at least ``straightline_share`` of the instrument's Likert items (default 1.0:
    all of them) and at least ``straightline_min_items`` items.  With ``straightline_drop =
    "contradictory"`` (default) such a record is **dropped** only when

    * the run crosses items of opposite keying (at least one reverse-keyed and one
      forward-keyed item): agreeing, or disagreeing, with a statement and with its reverse is
      contradictory (Meade & Craig 2012; Curran 2016 on combining indicators); or
    * the record was also completed fast, in under ``straightline_speed_share`` × the median
      duration of the records still in (the speeders rule has removed the fastest already);

    otherwise it is **flagged** and kept: on items of one keying (the citizens' 17 items), a
    uniform "agree" is what a satisfied respondent says, and dropping it would exclude
    respondents on the outcome.  ``"any"`` drops every counted run (the rule before issue 13),
    ``"flag"`` drops none.
    """
    items = _likert(spec, df)
    if len(items) < rules.straightline_min_items:
        return df, []
    values = df[items]
    runs, starts = _longest_runs(values)
    need = max(rules.straightline_min_items, int(np.ceil(rules.straightline_share * len(items) - 1e-9)))
    reverse = np.array([bool(spec.by_name[c].reverse) for c in items])
    durations = _of_type(spec, df, "duration")
    d = df[durations[0]].astype(float) if durations else pd.Series(np.nan, index=df.index)
    fast_limit = rules.straightline_speed_share * float(d.median()) if d.notna().any() else np.nan
    drop, flag = {}, {}
    long = runs.to_numpy() >= need
    for pos, i in enumerate(df.index):
        if not long[pos]:
            continue
        span = reverse[starts[pos]: starts[pos] + runs[i]]
        n_rev = int(span.sum())
        value = values.loc[i].iloc[starts[pos]]
        what = (f"the same answer ({value:g}) to {runs[i]} consecutive Likert items of {len(items)} "
                f"(threshold {need})")
        contradictory = 0 < n_rev < len(span)
        fast = bool(np.isfinite(fast_limit) and pd.notna(d[i]) and d[i] < fast_limit)
        if rules.straightline_drop == "any":
            drop[i] = what
        elif rules.straightline_drop == "contradictory" and contradictory:
            drop[i] = f"{what}, across {n_rev} reverse-keyed and {len(span) - n_rev} forward-keyed items: contradictory"
        elif rules.straightline_drop == "contradictory" and fast:
            drop[i] = (f"{what}, completed in {d[i]:.0f} s, under {fast_limit:.0f} s "
                       f"({rules.straightline_speed_share:.0%} of the median)")
        else:
            if rules.straightline_drop == "flag":
                flag[i] = f"{what}; kept (straightline_drop = 'flag')"
            else:
                why = "no reverse-keyed item in the run" if n_rev == 0 else "every item of the run reverse-keyed"
                flag[i] = f"{what}; kept: {why} and not completed fast, so a uniform answer is plausible"
    hit = list(drop)
    log = _drop_rows(df, hit, instrument, "straightlining", drop)
    log += [_flag_row(df, i, instrument, "straightlining", flag[i]) for i in flag]
    return _without(df, hit), log


def rule_missing_scale(df, spec, rules, instrument):
    """Scale scores missing per analysis: more than ``max_missing_share`` of a scale's items
    missing makes *that scale's* score missing for the record, nothing more.

    One ``flag`` row (outcome ``score_missing``, ``column`` = the construct) per record and
    scale; the record and its answered items stay, so every analysis that does not need
    the scale keeps the respondent, FIML uses the answered items, and an analysis of scale
    scores drops the respondent for that analysis only.  :func:`hlstudy.scales.score_scales`
    with ``min_share = 1 − max_missing_share`` returns exactly these scores as missing (the
    notebooks' default 0.5 and 0.5).  R: ``rowMeans(is.na(items)) > max_missing_share``.
    """
    rows = []
    scales = {construct: [m for m in members if m in df] for construct, members in spec.scales().items()}
    columns = list(dict.fromkeys(m for present in scales.values() for m in present))
    absent = df[columns].isna().to_numpy(dtype=bool) if columns else None
    where = {c: k for k, c in enumerate(columns)}
    for construct, present in scales.items():
        if not present:
            continue
        # DataFrame.isna().mean(axis=1): the count of missing items over the items, as here
        share = absent[:, [where[m] for m in present]].sum(axis=1) / len(present)
        for p in np.flatnonzero(share > rules.max_missing_share):
            i = df.index[p]
            rows.append((df.at[i, "source_row"], construct, _flag_row(
                df, i, instrument, "missing_scale",
                f"{share[p]:.0%} of the {len(present)} {construct} items missing (more than "
                f"{rules.max_missing_share:.0%}): {construct} score set to missing, record kept",
                column=construct, outcome="score_missing")))
    rows.sort(key=lambda r: r[0])
    return df, [r[2] for r in rows]


RULES: list[tuple[str, Callable]] = [
    ("unreadable", rule_unreadable),
    ("dont_know", rule_dont_know),
    ("commune_match", rule_commune_match),
    ("duplicates", rule_duplicates),
    ("missing_required", rule_missing_required),
    ("speeders", rule_speeders),
    ("out_of_range", rule_out_of_range),
    ("inconsistent", rule_inconsistent),
    ("straightlining", rule_straightlining),
    ("missing_scale", rule_missing_scale),
]
RULE_NAMES = tuple(name for name, _ in RULES)
#: Columns of :attr:`CleaningResult.flow`: records before and after each rule, what it did,
#: and ``unchecked``, why it could not check the table in full (:func:`rule_unchecked`).
FLOW_COLUMNS = ["rule", "n_before", "dropped", "changed", "flagged", "n_after", "unchecked"]

#: The :class:`Rules` fields each rule reads (``tests/test_speed_cleaning.py`` checks this
#: against the rules' code).  Two cleanings of one table whose rules agree on these fields
#: for a prefix of :data:`RULES` (and skip the same rules) agree on that prefix's output, so
#: :func:`rule_sensitivity` runs it once.
RULE_FIELDS: dict[str, tuple[str, ...]] = {
    "unreadable": (),
    "dont_know": (),
    "commune_match": (),
    "duplicates": ("duplicate_min_share", "duplicate_window_minutes", "duplicate_min_background"),
    "missing_required": ("required",),
    "speeders": ("speeder_share_of_median", "speeder_min_seconds"),
    "out_of_range": (),
    "inconsistent": ("min_age_at_start", "min_age_degree", "survey_year"),
    "straightlining": ("straightline_min_items", "straightline_share", "straightline_drop",
                       "straightline_speed_share"),
    "missing_scale": ("max_missing_share",),
}

#: Vietnamese / English one-line description of every rule (notebook 02, figures).
RULE_LABELS = {
    "unreadable": ("Giá trị không đọc được", "Unreadable values"),
    "dont_know": ("Trả lời không biết", "Don't-know answers"),
    "commune_match": ("Tên xã khớp gần đúng, mã xã mơ hồ, tên trùng xã mới",
                      "Commune by close spelling, ambiguous code or a 2025 name"),
    "duplicates": ("Nộp trùng lặp", "Duplicate submissions"),
    "missing_required": ("Thiếu thông tin bắt buộc", "Required answer missing"),
    "speeders": ("Trả lời quá nhanh", "Speeders"),
    "out_of_range": ("Giá trị ngoài khoảng", "Out-of-range values"),
    "inconsistent": ("Thông tin cá nhân mâu thuẫn", "Inconsistent background"),
    "straightlining": ("Trả lời một đáp án cho mọi câu", "Straight-lining"),
    "missing_scale": ("Thiếu quá nửa số câu của một thang đo", "Over half of a scale's items missing"),
}


#: Why a rule did not run, or ran in part, on a table: the ``unchecked`` column of the flow
#: (``""``: the rule ran in full), Vietnamese / English.  A rule that could not look is not a
#: rule that looked and found nothing: "0 dropped" alone would say the latter.
UNCHECKED_LABELS = {
    "no_duration": ("không kiểm tra được: không có cột thời lượng",
                    "not checked: no duration column"),
    "no_duration_fast": ("kiểm tra một phần: không có cột thời lượng, nên điều kiện “làm quá nhanh” "
                         "không được áp dụng",
                         "checked in part: no duration column, so the 'completed fast' condition "
                         "was not applied"),
    "no_survey_year": ("kiểm tra một phần: không có năm khảo sát (thời điểm nộp phiếu hoặc "
                       "HLSTUDY_REFERENCE_YEAR), nên không đối chiếu được tuổi với thâm niên và "
                       "bằng cấp",
                       "checked in part: no survey year (submission times or "
                       "HLSTUDY_REFERENCE_YEAR), so ages were not checked against time in post "
                       "and degrees"),
    "skipped": ("không kiểm tra: bỏ qua theo lựa chọn (Rules.skip)",
                "not checked: skipped by choice (Rules.skip)"),
}


def rule_unchecked(name: str, df: pd.DataFrame, spec: InstrumentSpec, rules: Rules) -> str:
    """Why rule ``name`` cannot check ``df`` in full: a code of :data:`UNCHECKED_LABELS`, or
    ``""`` when it can.

    The timing rules need the completion time the platform exports (the codebook's
    ``duration`` variable): an export without it (Google Forms, an Excel sheet typed by hand),
    or with the column blank, cannot show a speeder (``speeders``: ``no_duration``), and
    straight-lining is then dropped for contradiction only, never for speed
    (``straightlining`` with ``straightline_drop = "contradictory"``: ``no_duration_fast``).
    An instrument whose codebook has no duration (the personnel register) has no timing to
    miss: ``""``.  ``inconsistent`` counts ages from the survey year (:func:`reference_year`:
    ``Rules.survey_year``, the reference-year setting, else the officials' submission times): without it
    and without an age column, birth years cannot be set against time in post and degrees
    (``no_survey_year``).  Every other rule checks any table: ``""``.

    Raises :class:`~hlstudy.errors.ModelError` for a ``name`` that is no cleaning rule
    (:data:`RULE_NAMES`).
    """
    if name not in RULE_NAMES:
        raise ModelError(f"no cleaning rule {name!r}: the rules are {', '.join(RULE_NAMES)}")
    if name == "inconsistent":
        born = _first(spec, df, "birth_year") or _first(spec, df, "birth_date")
        if (born is not None and df[born].notna().any() and not _first(spec, df, "age")
                and _survey_year(df, spec, rules) is None):
            return "no_survey_year"
        return ""
    if name not in ("speeders", "straightlining"):
        return ""
    declared = [v.variable for v in spec.variables if v.type == "duration"]
    if not declared or any(c in df and df[c].notna().any() for c in declared):
        return ""
    if name == "speeders":
        return "no_duration"
    if rules.straightline_drop == "contradictory" and len(_likert(spec, df)) >= rules.straightline_min_items:
        return "no_duration_fast"
    return ""


def reverse_key(df: pd.DataFrame, spec: InstrumentSpec) -> pd.DataFrame:
    """Recode reverse-keyed Likert items as ``min + max − x`` (5-point: ``6 − x``).

    Matches R ``psych::reverse.code(keys = -1, items, mini = 1, maxi = 5)``.
    """
    df = df.copy()
    for v in spec.variables:
        if v.type == "likert" and v.reverse and v.variable in df:
            codes = spec.codes(v.value_set)
            df[v.variable] = (min(codes) + max(codes)) - df[v.variable]
    return df


def empty_log() -> pd.DataFrame:
    """A log without rows: the columns of :data:`LOG_COLUMNS`, dtype object (a fresh copy of
    one table made once: building it costs ~1 ms, a copy ~20 µs)."""
    return _empty_log().copy()


@lru_cache(maxsize=1)
def _empty_log() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="object") for c in LOG_COLUMNS})


def with_reference_year(rules: Rules) -> Rules:
    """``rules`` with ``survey_year`` from the reference-year setting
    (:func:`hlstudy.config.reference_year_setting`: ``HLSTUDY_REFERENCE_YEAR`` or ``[study]
    reference_year`` in ``hlstudy.toml``) when it has none and the setting is made
    (:func:`reference_year` without a table)."""
    year = reference_year(rules, None)
    return rules if year is None else rules.with_(survey_year=year)


def clean(
    data: pd.DataFrame,
    instrument: str,
    rules: Rules | None = None,
    *,
    spec: InstrumentSpec | None = None,
    reverse: bool = True,
    _stages: dict | None = None,
) -> CleaningResult:
    """Apply every rule of :data:`RULES` (except ``rules.skip``) and reverse-key.

    Returns a :class:`CleaningResult`; raises :class:`SurveyDataError` if the accounting
    *read = kept + dropped* fails (it cannot, unless a rule is broken).

    ``_stages`` (internal, :func:`rule_sensitivity`): a dict shared by cleanings of the *same*
    ``data``, ``instrument`` and ``spec``; each rule's output is kept there under the rules'
    prefix (:data:`RULE_FIELDS`) and reused by a later cleaning with the same prefix.
    """
    rules = with_reference_year(rules or Rules())
    spec = spec or instrument_spec(instrument)
    if "record_id" not in data or "source_row" not in data:
        raise SurveyDataError("clean() expects a table from hlstudy.ingest (record_id, source_row)")
    if data["record_id"].duplicated().any():
        raise SurveyDataError("record_id is not unique")
    df = data.reset_index(drop=True)
    logs: list[dict] = []
    flow = []
    prefix: tuple = ()
    for name, function in RULES:
        before = len(df)
        if name in rules.skip:
            flow.append({"rule": name, "n_before": before, "dropped": 0, "changed": 0, "flagged": 0,
                         "n_after": before, "unchecked": "skipped"})
            prefix += ((name, None),)
            continue
        unchecked = rule_unchecked(name, df, spec, rules)
        prefix += ((name, function, tuple(getattr(rules, f) for f in RULE_FIELDS[name])),)
        if _stages is not None and prefix in _stages:
            df, rows = _stages[prefix]  # no rule changes its input in place
        else:
            df, rows = function(df, spec, rules, instrument)
            if _stages is not None:
                _stages[prefix] = (df, rows)
        dropped = sum(r["action"] == "drop" for r in rows)
        changed = sum(r["action"] == "change" for r in rows)
        flagged = sum(r["action"] == "flag" for r in rows)
        if (len(df) != before - dropped or any(r["rule"] != name for r in rows)
                or any(OUTCOMES.get(r["outcome"]) != r["action"] for r in rows)):
            raise SurveyDataError(
                f"cleaning accounting failed for {instrument} at rule {name}: {before} before, "
                f"{dropped} logged drops, {len(df)} after"
            )
        flow.append({"rule": name, "n_before": before, "dropped": dropped, "changed": changed,
                     "flagged": flagged, "n_after": len(df), "unchecked": unchecked})
        logs.extend(rows)
    log = pd.DataFrame(logs, columns=LOG_COLUMNS) if logs else empty_log()
    n_dropped = int((log["action"] == "drop").sum())
    if len(data) != len(df) + n_dropped or log.loc[log["action"] == "drop", "record_id"].duplicated().any():
        raise SurveyDataError(
            f"cleaning accounting failed for {instrument}: read {len(data)}, kept {len(df)}, dropped {n_dropped}"
        )
    df = df.drop(columns=[PII_KEY, ID_KEY, UNREADABLE, DONT_KNOW, COMMUNE_MATCH], errors="ignore")
    if reverse:
        df = reverse_key(df, spec)
    return CleaningResult(instrument, df.reset_index(drop=True), log,
                          pd.DataFrame(flow, columns=FLOW_COLUMNS), rules)


def missing_report(data: pd.DataFrame, instrument: str, *, spec: InstrumentSpec | None = None) -> pd.DataFrame:
    """Item-level missing values by commune: ``instrument, commune, variable, construct, n, missing, share``.

    Covers Likert items and every non-pii background variable; sorted by commune and the
    questionnaire order.  Equivalent R: ``aggregate(is.na(items), list(commune), mean)``.
    """
    spec = spec or instrument_spec(instrument)
    variables = [
        v for v in spec.variables
        if not v.pii and v.variable in data and v.type not in ("commune", "timestamp", "duration")
    ]
    commune = data["commune"] if "commune" in data else pd.Series("", index=data.index)
    columns = ["instrument", "commune", "variable", "construct", "order", "n", "missing", "share"]
    if not len(data) or not variables:
        return pd.DataFrame(columns=[c for c in columns if c != "order"])
    within = [(v.order, v.variable) for v in variables]
    if within == sorted(within):
        return _missing_blocks(data, instrument, variables, commune, columns)
    grouped = data[[v.variable for v in variables]].isna().groupby(
        commune.astype("string").fillna(""), sort=True)
    counts, sums = grouped.size(), grouped.sum()
    k, names = len(variables), [str(name) for name in sums.index]
    n = np.repeat(counts.reindex(sums.index).to_numpy(dtype=np.int64), k)
    missing = sums.to_numpy(dtype=np.int64).reshape(-1)
    out = pd.DataFrame({
        "instrument": instrument,
        "commune": np.repeat(np.array(names, dtype=object), k),
        "variable": [v.variable for v in variables] * len(names),
        "construct": [v.construct for v in variables] * len(names),
        "order": [v.order for v in variables] * len(names),
        "n": n,
        "missing": missing,
        "share": missing / n,
    }, columns=columns)
    keys = {c: sort_key(c)[0] for c in names}  # each commune's key once, not once per variable
    out["_key"] = out["commune"].map(lambda c: keys[c])
    out = out.sort_values(["_key", "commune", "order", "variable"], kind="stable")
    return out.drop(columns=["order", "_key"]).reset_index(drop=True)


def _missing_blocks(data, instrument, variables, commune, columns) -> pd.DataFrame:
    """:func:`missing_report` when ``variables`` are in (order, variable) order, as a spec's
    are: the rows are then blocks of ``k`` (one per commune, each in questionnaire order), and
    the report's stable sort only orders the blocks by (sort key, name) -- names are distinct,
    so the order in which the communes are first met does not matter.  The counts by commune
    are integer sums of the missing-value indicators (the groupby's ``size`` and ``sum``),
    the table built once in its final order (~4x less time on a small table)."""
    labels = commune.astype("string").fillna("").to_numpy(dtype=object)
    codes, uniques = pd.factorize(labels)
    absent = data[[v.variable for v in variables]].isna().to_numpy(dtype=np.int64)
    groups, k = len(uniques), len(variables)
    members = np.zeros((groups, len(labels)), dtype=np.int64)
    members[codes, np.arange(len(labels))] = 1
    sums = members @ absent  # exact: integer products
    counts = members.sum(axis=1)
    names = [str(name) for name in uniques]
    keys = {c: sort_key(c)[0] for c in names}
    blocks = sorted(range(groups), key=lambda i: (keys[names[i]], names[i]))
    n = np.repeat(counts[blocks], k)
    missing = sums[blocks].reshape(-1)
    return pd.DataFrame({
        "instrument": instrument,
        "commune": np.repeat(np.array([names[i] for i in blocks], dtype=object), k),
        "variable": [v.variable for v in variables] * groups,
        "construct": [v.construct for v in variables] * groups,
        "n": n,
        "missing": missing,
        "share": missing / n,
    }, columns=[c for c in columns if c != "order"])


def _threshold_text(name: str, value, lang: str) -> str:
    """One threshold of :class:`Rules` in words (Vietnamese or English), no programme code."""
    from hlstudy.export import number

    def pct(x):
        return number(x, 0 if float(x * 100).is_integer() else 1, percent=True, lang=lang)

    def num(x):
        return number(x, 0 if float(x).is_integer() else 2, lang=lang)

    vi = lang == "vi"
    if name == "unreadable_max_share":
        return (f"tối đa {pct(value)} số ô đã trả lời của một cột" if vi
                else f"at most {pct(value)} of a column's answered cells")
    if name == "duplicate_min_share":
        return (f"trùng ít nhất {pct(value)} câu trả lời, cùng xã" if vi
                else f"at least {pct(value)} of the answers equal, same commune")
    if name == "duplicate_window_minutes":
        if not np.isfinite(value):
            return "không cần bằng chứng thứ hai" if vi else "no second signal needed"
        return (f"bằng chứng thứ hai: cùng dữ liệu cá nhân, hoặc nộp cách nhau ≤ {num(value)} phút" if vi
                else f"second signal: the same personal data, or submitted ≤ {num(value)} min apart")
    if name == "duplicate_min_background":
        return (f"hoặc trùng mọi thông tin nền (≥ {num(value)} câu)" if vi
                else f"or an identical background (≥ {num(value)} answers)")
    if name == "required":
        names = {"commune": ("xã, thị trấn", "commune")}
        return ", ".join(names.get(v, (v, v))[0 if vi else 1] for v in value)
    if name == "speeder_share_of_median":
        return (f"dưới {pct(value)} thời gian trung vị" if vi else f"under {pct(value)} of the median duration")
    if name == "speeder_min_seconds":
        if not value:
            return ""
        return (f"hoặc dưới {num(value)} giây" if vi else f"or under {num(value)} s")
    if name == "min_age_at_start":
        return (f"bắt đầu công tác từ {num(value)} tuổi" if vi else f"in post from age {num(value)}")
    if name == "min_age_degree":
        return (f"có bằng cao đẳng trở lên từ {num(value)} tuổi" if vi else f"a college degree from age {num(value)}")
    if name == "survey_year":
        if value is None:
            return "năm khảo sát: năm của thời điểm nộp phiếu" if vi else "survey year: that of the submissions"
        return f"năm khảo sát {value}" if vi else f"survey year {value}"
    if name == "straightline_share":
        return (f"cùng một đáp án liên tiếp cho ≥ {pct(value)} số câu Likert" if vi
                else f"one answer to ≥ {pct(value)} of the Likert items in a row")
    if name == "straightline_min_items":
        return f"và ≥ {num(value)} câu" if vi else f"and ≥ {num(value)} items"
    if name == "straightline_drop":
        words = {"contradictory": ("chỉ loại khi chuỗi qua câu đảo chiều hoặc làm quá nhanh, còn lại đánh dấu",
                                   "dropped only across reverse-keyed items or when fast, else flagged"),
                 "any": ("loại mọi chuỗi", "every run dropped"),
                 "flag": ("chỉ đánh dấu, không loại", "flagged only, never dropped")}
        return words[value][0 if vi else 1]
    if name == "straightline_speed_share":
        return (f"quá nhanh: dưới {pct(value)} thời gian trung vị" if vi
                else f"fast: under {pct(value)} of the median duration")
    if name == "max_missing_share":
        return (f"thiếu quá {pct(value)} số câu của một thang đo: điểm thang đo đó thiếu" if vi
                else f"over {pct(value)} of a scale's items missing: that score is missing")
    return f"{name} = {value}"


#: The thresholds of each rule (fields of :class:`Rules`), in the order they are printed.
RULE_PARAMETERS = {
    "unreadable": ["unreadable_max_share"],
    "dont_know": [],
    "commune_match": [],
    "duplicates": ["duplicate_min_share", "duplicate_window_minutes", "duplicate_min_background"],
    "missing_required": ["required"],
    "speeders": ["speeder_share_of_median", "speeder_min_seconds"],
    "out_of_range": [],
    "inconsistent": ["min_age_at_start", "min_age_degree", "survey_year"],
    "straightlining": ["straightline_share", "straightline_min_items", "straightline_drop",
                       "straightline_speed_share"],
    "missing_scale": ["max_missing_share"],
}


#: The decisions each rule can take (``action`` values of its log rows).
RULE_ACTIONS = {
    "unreadable": ("change",), "dont_know": ("change",), "commune_match": ("change", "flag"), "duplicates": ("drop", "flag"), "missing_required": ("drop",),
    "speeders": ("drop",), "out_of_range": ("change",), "inconsistent": ("change",),
    "straightlining": ("drop", "flag"), "missing_scale": ("flag",),
}
#: Vietnamese / English names of the three actions.
ACTION_LABELS = {"drop": ("loại", "drop"), "change": ("thay đổi giá trị", "change a value"),
                 "flag": ("đánh dấu", "flag")}


def rules_table(rules: Rules | None = None) -> pd.DataFrame:
    """The rules with their thresholds, for reports.

    Columns ``rule, label_vi, label_en, actions`` (:data:`RULE_ACTIONS`, ``/``-joined),
    ``parameters`` (``name=value``, for programmers) and ``thresholds_vi``,
    ``thresholds_en``: the same thresholds in words, without programme codes (for exported
    tables; issue 13, kind 9).  ``out_of_range`` takes its limits from
    the codebook (``min``, ``max``, value sets), said so in words.
    """
    params = asdict(rules or Rules())
    rows = []
    for name in RULE_NAMES:
        words = {lang: "; ".join(t for p in RULE_PARAMETERS[name] if (t := _threshold_text(p, params[p], lang)))
                 for lang in ("vi", "en")}
        if name == "commune_match":
            words = {"vi": "tên gần giống một đơn vị trong danh mục (tỉ lệ giống ≥ 0,8); mã xã mà "
                           "một xã mới năm 2025 đã kế thừa; tên đơn vị cũ trùng tên một xã mới "
                           "năm 2025 (đọc là đơn vị cũ, đánh dấu)",
                     "en": "a name close to one registry unit (similarity ≥ .8); a commune code a "
                           "2025 commune took over; a pre-reform unit's name that a 2025 commune "
                           "also has (read as the unit, flagged)"}
        elif name == "dont_know":
            words = {"vi": "các cách viết “không biết” khai báo trong bộ công cụ khảo sát",
                     "en": "the don't-know phrases declared in the instrument"}
        elif not RULE_PARAMETERS[name]:
            words = {"vi": "giới hạn và bộ mã trong bộ mã hóa (codebook)",
                     "en": "limits and value sets of the codebook"}
        rows.append({"rule": name, "label_vi": RULE_LABELS[name][0], "label_en": RULE_LABELS[name][1],
                     "actions": "/".join(RULE_ACTIONS[name]),
                     "parameters": ", ".join(f"{p}={params[p]}" for p in RULE_PARAMETERS[name]),
                     "thresholds_vi": words["vi"], "thresholds_en": words["en"]})
    return pd.DataFrame(rows)


#: Columns of :func:`rule_sensitivity`.
SENSITIVITY_COLUMNS = ["variant", "instrument", "construct", "items", "n", "n_scored", "mean", "sd", "alpha",
                       "d_mean", "d_alpha"]


@_resultcache.kept
def rule_sensitivity(
    tables: Mapping[str, pd.DataFrame],
    variants: Mapping[str, Rules],
    *,
    specs: Mapping[str, InstrumentSpec] | None = None,
) -> pd.DataFrame:
    """Key results under each set of cleaning rules: how much a rule moves the answers.

    ``tables``: instrument → the typed table of :func:`hlstudy.ingest.read_instrument`
    (``.data``; e.g. :func:`hlstudy.study.raw_tables`), for instruments with Likert scales.
    ``variants``: label → :class:`Rules`; the **first** is the reference.  For every variant,
    instrument and scale the table is cleaned with :func:`clean` and the result summarised:
    ``n`` records kept, ``n_scored`` scale scores (``min_share = 1 − max_missing_share``,
    :func:`hlstudy.scales.score_scales`), ``mean`` and ``sd`` of the score (1–5 after
    reverse-keying), ``alpha`` (raw Cronbach's alpha on the kept records, pairwise, as
    ``psych::alpha``) and the differences ``d_mean``, ``d_alpha`` from the reference variant.
    Rows in the order of ``variants``, then instrument, then the codebook's scale order.

    Raises :class:`SurveyDataError` for an empty ``variants``, a value that is not
    :class:`Rules`, or a table lacking a scale's items.

    R equivalent, per variant: ``psych::alpha(items)$total$raw_alpha`` and
    ``mean(rowMeans(items, na.rm = TRUE))`` on the records the variant keeps.

    >>> sens = rule_sensitivity({"citizens": raw}, {"adopted": Rules(),  # doctest: +SKIP
    ...                          "drop every run": Rules(straightline_drop="any")})
    """
    import warnings

    from hlstudy.reliability import cronbach_alpha
    from hlstudy.scales import score_scales

    if not variants:
        raise SurveyDataError("rule_sensitivity needs at least one variant of the rules")
    bad = [k for k, v in variants.items() if not isinstance(v, Rules)]
    if bad:
        raise SurveyDataError(f"variants {bad} are not cleaning.Rules")
    rows = []
    stages: dict[str, dict] = {instrument: {} for instrument in tables}  # rule outputs shared by variants
    summaries: dict[tuple, list[dict]] = {}  # one instrument's rows by the content they depend on
    for label, rules in variants.items():
        for instrument, data in tables.items():
            spec = (specs or {}).get(instrument) or instrument_spec(instrument)
            scales = {c: m for c, m in spec.scales().items() if m}
            if not scales:
                continue
            absent = sorted({m for ms in scales.values() for m in ms} - set(data.columns))
            if absent:
                raise SurveyDataError(f"{instrument}: the table lacks scale items {absent[:5]}")
            kept = clean(data, instrument, rules, spec=spec, _stages=stages[instrument]).data
            min_share = max(1e-9, 1 - rules.max_missing_share)
            # the summary depends on the items' values alone: variants keeping the same
            # records with the same values (e.g. a rule that only flags) share it
            items = list(dict.fromkeys(m for ms in scales.values() for m in ms))
            key = None
            if all(kept[c].dtype == np.float64 for c in items):
                key = (instrument, min_share, tuple((c, tuple(m)) for c, m in scales.items()), kept.shape[0],
                       np.ascontiguousarray(kept[items].to_numpy(dtype=np.float64)).tobytes())
            if key is not None and key in summaries:
                rows += [{**row, "variant": label} for row in summaries[key]]
                continue
            first = len(rows)
            scores = score_scales(kept, scales, min_share=min_share, keep=())
            for construct, members in scales.items():
                score = scores[construct].dropna()
                alpha = np.nan
                if len(members) >= 2 and len(kept) >= 3:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        try:
                            alpha = cronbach_alpha(kept[members]).alpha
                        except Exception:  # an undefined alpha stays missing in this summary
                            alpha = np.nan
                rows.append({"variant": label, "instrument": instrument, "construct": construct,
                             "items": len(members), "n": len(kept), "n_scored": len(score),
                             "mean": float(score.mean()) if len(score) else np.nan,
                             "sd": float(score.std(ddof=1)) if len(score) > 1 else np.nan,
                             "alpha": alpha})
            if key is not None:
                summaries[key] = rows[first:]
    out = pd.DataFrame(rows, columns=SENSITIVITY_COLUMNS[:-2])
    reference = out[out["variant"] == next(iter(variants))].set_index(["instrument", "construct"])
    key = pd.MultiIndex.from_frame(out[["instrument", "construct"]])
    out["d_mean"] = out["mean"].to_numpy() - reference["mean"].reindex(key).to_numpy()
    out["d_alpha"] = out["alpha"].to_numpy() - reference["alpha"].reindex(key).to_numpy()
    return out[SENSITIVITY_COLUMNS].reset_index(drop=True)


#: The words of :func:`change_summary` in each language: heading, read/kept, the three actions
#: and "no change".  Instrument and rule names stay the identifiers of ``Study.cleaning_log``.
_SUMMARY_WORDS = {
    "en": ("cleaning (full log: Study.cleaning_log)", "{read} read, {kept} kept",
           {"drop": "dropped", "change": "values changed", "flag": "flagged, kept"}, "no change"),
    "vi": ("làm sạch dữ liệu (nhật ký đầy đủ: Study.cleaning_log)", "đọc {read}, giữ {kept}",
           {"drop": "loại", "change": "sửa giá trị", "flag": "đánh dấu, vẫn giữ"}, "không thay đổi"),
}


def change_summary(log: pd.DataFrame, flow: pd.DataFrame | None = None, *, lang: str = "en") -> str:
    """A short text of what cleaning did, per instrument and rule, from the log of record.

    One line per instrument: records read and kept (from ``flow``, the
    ``Study.flow`` table, when given), then every rule that dropped records or changed
    values with its count, taken from ``log`` (``Study.cleaning_log``; its totals are the
    accounting of record).  :func:`hlstudy.load_study` prints it, so that no large change
    passes unseen, in the label language (:func:`hlstudy.export.language`; ``lang`` is
    ``"en"`` or ``"vi"``); rules that did nothing are not listed, and a rule that could not
    check the data in full (``flow``'s ``unchecked``, e.g. no duration column) is listed with why.  Instrument and rule names
    are the identifiers of the log's ``instrument`` and ``rule`` columns in either language,
    so that a line leads to its log rows.  Raises :class:`SurveyDataError` for a table that is
    no cleaning log and :class:`hlstudy.errors.ModelError` for another ``lang``.

    >>> log = pd.DataFrame({"instrument": ["officials"] * 3, "action": ["drop", "change", "change"],
    ...                     "rule": ["duplicates", "out_of_range", "out_of_range"]})
    >>> print(change_summary(log))
    cleaning (full log: Study.cleaning_log)
      officials: dropped — duplicates 1; values changed — out_of_range 2
    >>> print(change_summary(log, lang="vi"))
    làm sạch dữ liệu (nhật ký đầy đủ: Study.cleaning_log)
      officials: loại — duplicates 1; sửa giá trị — out_of_range 2
    """
    from hlstudy.errors import check_lang

    heading, read_kept, action_words, no_change = _SUMMARY_WORDS[check_lang(lang)]
    missing = {"instrument", "action", "rule"} - set(log.columns)
    if missing:
        raise SurveyDataError(f"change_summary needs a cleaning log with columns {sorted(missing)}")
    order = {name: i for i, name in enumerate(RULE_NAMES)}
    flows = [] if flow is None or not len(flow) else list(zip(
        flow["instrument"].tolist(), flow["n_before"].tolist(), flow["n_after"].tolist(), strict=True))
    entries = list(zip(log["instrument"].tolist(), log["action"].tolist(), log["rule"].tolist(),
                       strict=True))
    instruments = list(dict.fromkeys([f[0] for f in flows] + [e[0] for e in entries]))
    # the counts ``value_counts`` gives, from the columns as lists (one pass, no boolean masks:
    # load_study prints this for every study): missing rules are not counted, as there
    counts: dict = {}
    for instrument, action, rule in entries:
        if not pd.isna(rule):
            per_rule = counts.setdefault((instrument, action), {})
            per_rule[rule] = per_rule.get(rule, 0) + 1
    # rules that could not check the table in full (Study.flow's ``unchecked``): said, so that
    # their 0 is not read as "checked, none found"
    unchecked: dict = {}
    if flow is not None and len(flow) and "unchecked" in flow:
        for instrument, rule, code in zip(flow["instrument"].tolist(), flow["rule"].tolist(),
                                          flow["unchecked"].tolist(), strict=True):
            if isinstance(code, str) and code:
                text = UNCHECKED_LABELS[code][0 if lang == "vi" else 1]
                unchecked.setdefault(instrument, []).append(f"{rule} {text}")
    lines = [heading]
    for name in instruments:
        pieces = []
        mine = [f for f in flows if f[0] == name]
        if mine:
            pieces.append(read_kept.format(read=int(mine[0][1]), kept=int(mine[-1][2])))
        for action in ("drop", "change", "flag"):
            found = counts.get((name, action), {}) if name == name else {}  # NaN equals nothing
            if found:
                rules = sorted(found, key=lambda r: (order.get(r, len(order)), r))
                pieces.append(f"{action_words[action]} — " + ", ".join(f"{r} {int(found[r])}" for r in rules))
        pieces += unchecked.get(name, [])
        lines.append(f"  {name}: " + ("; ".join(pieces) if pieces else no_change))
    return "\n".join(lines)


# --------------------------------------------------------------------------- figures


def flow_figure(flow: pd.DataFrame, instruments: tuple[str, ...] = ("officials", "citizens", "personnel")):
    """CONSORT-style flow: records received → each rule's exclusions → records analysed.

    ``flow`` is :attr:`hlstudy.study.Study.flow`.  One column per instrument; labels follow
    :func:`hlstudy.export.tr`.  Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    from hlstudy.export import tr

    names = {name: tr(*label) for name, label in INSTRUMENT_LABELS.items()}
    fig, axes = plt.subplots(1, len(instruments), figsize=(3.9 * len(instruments), 6.0))
    axes = np.atleast_1d(axes)
    fig.suptitle(tr("Luồng bản ghi: từ nhận được đến đưa vào phân tích",
                    "Record flow: from received to analysed"), fontsize=11)

    def box(ax, x, y, text, width, face, bold=False):
        ax.add_patch(FancyBboxPatch((x - width / 2, y - 0.036), width, 0.072, boxstyle="round,pad=0.01",
                                    facecolor=face, edgecolor="#333333", linewidth=0.8))
        ax.text(x, y, text, ha="center", va="center", fontsize=_export.MIN_TEXT_PT, fontweight="bold" if bold else "normal")

    for ax, name in zip(axes, instruments, strict=True):
        f = flow[flow["instrument"] == name].reset_index(drop=True)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
        ax.set_title(names.get(name, name), fontsize=10)
        received = int(f["n_before"].iloc[0]) if len(f) else 0
        analysed = int(f["n_after"].iloc[-1]) if len(f) else 0
        top, bottom = 0.93, 0.07
        box(ax, 0.28, top, tr(f"Nhận được\nn = {received}", f"Received\nn = {received}"), 0.42, "#dbe9f6", True)
        box(ax, 0.28, bottom, tr(f"Đưa vào phân tích\nn = {analysed}", f"Analysed\nn = {analysed}"), 0.42, "#d5f0d5", True)
        ax.annotate("", xy=(0.28, bottom + 0.05), xytext=(0.28, top - 0.05),
                    arrowprops={"arrowstyle": "-|>", "color": "#333333", "lw": 0.9})
        ys = np.linspace(top - 0.12, bottom + 0.12, len(f)) if len(f) else []
        for y, r in zip(ys, f.itertuples(), strict=True):
            label = RULE_LABELS.get(r.rule, (r.rule, r.rule))
            text = tr(label[0], label[1])
            if r.dropped:
                detail = tr(f"loại {r.dropped}", f"excluded {r.dropped}")
            elif r.changed:
                detail = tr(f"{r.changed} giá trị bị thay đổi", f"{r.changed} values changed")
            elif getattr(r, "flagged", 0):
                detail = tr(f"đánh dấu {r.flagged}, vẫn giữ", f"{r.flagged} flagged, kept")
            else:
                detail = tr("không có", "none")
            face = "#f9d9d6" if r.dropped else ("#fdf0c8" if r.changed else "#f2f2f2")
            ax.annotate("", xy=(0.52, y), xytext=(0.28, y), arrowprops={"arrowstyle": "-|>", "color": "#777777", "lw": 0.7})
            box(ax, 0.76, y, f"{text}\n{detail}", 0.46, face)
            ax.text(0.26, y - 0.035, f"n = {r.n_after}", ha="right", va="center", fontsize=_export.MIN_TEXT_PT,
                    color="#555555")
    fig.tight_layout()
    return fig


#: Width of a column of :func:`consort_figure` (one per instrument; three fit the thesis'
#: 155 mm text width as saved) and the figure's height, in inches.
CONSORT_COLUMN_WIDTH, CONSORT_HEIGHT = 1.96, 7.8


@_resultcache.kept(figure=True)
def consort_figure(consort: pd.DataFrame, instruments: tuple[str, ...] | None = None):
    """CONSORT flow diagram: sampling frame → non-response → records received → exclusions by
    rule → records kept (and flagged) → the n each model uses.

    ``consort`` is :func:`hlstudy.study.consort_counts` (every number computed there, none
    here).  One column per instrument (default: those in ``consort``, in the order
    officials, citizens, personnel); labels follow :func:`hlstudy.export.tr`, rule names
    :data:`RULE_LABELS`, outcomes :data:`OUTCOME_LABELS`, analyses
    :data:`hlstudy.study.ANALYSES`.  Each column is :data:`CONSORT_COLUMN_WIDTH` wide (the
    three fit the thesis' 155 mm text width at their natural size): every box's lines are
    wrapped at word boundaries to the room the box has (measured, never shortened), a
    count kept with its label.  Returns the matplotlib figure.  Raises
    :class:`SurveyDataError` when ``consort`` lacks its columns.
    """
    import matplotlib.pyplot as plt

    from hlstudy.export import number, tr
    from hlstudy.study import ANALYSES, CONSORT_COLUMNS

    missing = set(CONSORT_COLUMNS) - set(consort.columns)
    if missing:
        raise SurveyDataError(f"consort_figure needs hlstudy.study.consort_counts output; missing {sorted(missing)}")
    order = [i for i in ("officials", "citizens", "personnel") if i in set(consort["instrument"])]
    instruments = tuple(instruments or order)
    names = {name: tr(*label) for name, label in INSTRUMENT_LABELS.items()}

    def fmt(n) -> str:
        return number(int(n), 0) if pd.notna(n) else "?"

    def label(pair) -> str:
        return tr(pair[0], pair[1])

    from hlstudy.framework import fit_label

    # the thesis' text width (155 mm) as saved: a narrow column per instrument, every box's
    # lines wrapped at word boundaries to the room it has there (never shortened)
    width = CONSORT_COLUMN_WIDTH * len(instruments)
    fig, axes = plt.subplots(1, len(instruments), figsize=(width, CONSORT_HEIGHT), squeeze=False)
    title = fit_label(tr("Sơ đồ luồng (CONSORT): từ khung mẫu đến số phiếu mỗi mô hình dùng",
                         "Flow diagram (CONSORT): from the sampling frame to the n of each model"),
                      0.95 * width * 72, 11, 80)
    fig.subplots_adjust(left=0.005, right=0.985, bottom=0.01, wspace=0.05,
                        top=1 - (0.3 + 0.2 * (title.count("\n") + 1)) / CONSORT_HEIGHT)
    fig.suptitle(title, fontsize=11, y=0.995, va="top")
    column = axes[0][0].get_position().width * width * 72   # a column's width in points
    size = _export.MIN_TEXT_PT   # the smallest text a printed figure holds
    pad = 2 * 0.45 * size + 1   # the box's padding on both sides, and its edge
    # main line at main_x (boxes centred there); side boxes end at side_x (their left edge,
    # where the arrow from the main line meets them, follows their width); the models' box
    # starts at the left edge
    main_x, side_x, left_x = 0.3, 0.97, 0.03
    room = {"main": 2 * main_x * column - pad, "side": (side_x - main_x - 0.06) * column - pad,
            "analysis": (side_x - left_x) * column - pad}
    style = {"va": "center", "fontsize": size, "linespacing": 1.3, "multialignment": "center"}

    def box(ax, x, y, text, face, bold=False, kind="main"):
        # bold glyphs are wider than the regular ones fit_label measures
        fit = room[kind] * (0.86 if bold else 1.0)
        # a count stays with its label ("Nộp trùng lặp: 9", "n = 461": no break inside)
        text = "\n".join(fit_label(re.sub(r"\bn = ", "n\u00a0=\u00a0",
                                           re.sub(r": (?=(?:n = )?[\d?])", ":\u00a0", line)),
                                    fit, size, 60)
                          for line in text.split("\n"))
        ha = {"main": "center", "side": "right", "analysis": "left"}[kind]
        return ax.text(x, y, text, **style, ha=ha, fontweight="bold" if bold else "normal",
                       bbox={"boxstyle": "round,pad=0.45", "facecolor": face, "edgecolor": "#333333",
                             "linewidth": 0.8})

    def link(ax, source, target, colour="#333333"):
        """An arrow from box ``source`` (or a point of the main line) down or across to box ``target``."""
        props = {"arrowstyle": "-|>", "color": colour, "lw": 0.8, "shrinkA": 0, "shrinkB": 0,
                 "patchB": target.get_bbox_patch()}
        if isinstance(source, tuple):
            ax.annotate("", xy=(0, 0.5), xycoords=target, xytext=source, textcoords="data", arrowprops=props)
        else:
            props["patchA"] = source.get_bbox_patch()
            ax.annotate("", xy=(0.5, 0.5), xycoords=target, xytext=(0.5, 0.5), textcoords=source,
                        arrowprops=props)

    ys = {"frame": 0.94, "nonresponse": 0.83, "received": 0.72, "excluded": 0.545, "kept": 0.37,
          "flagged": 0.255, "analysis": 0.085}
    for ax, name in zip(axes[0], instruments, strict=True):
        c = consort[consort["instrument"] == name]
        get = dict(zip(c["stage"], c["n"], strict=False))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.axis("off")
        ax.set_title(names.get(name, name), fontsize=10, pad=2)
        frame = fmt(get.get("frame"))
        if name == "personnel":
            frame_text = tr(f"Danh sách trích ngang (toàn bộ)\nN = {frame} người",
                            f"Personnel register (census)\nN = {frame} people")
        elif name == "officials":
            frame_text = tr(f"Khung mẫu: danh sách trích ngang\nN = {frame} người",
                            f"Sampling frame: personnel register\nN = {frame} people")
        else:
            # a quota (so many people a unit), not a list of people: its shortfall is not
            # non-response, which would need the number of people approached
            frame_text = tr(f"Chỉ tiêu mẫu theo thiết kế\nN = {frame} người",
                            f"Design quota\nN = {frame} people")
        top = box(ax, main_x, ys["frame"], frame_text, "#dbe9f6", True)
        dup = get.get("duplicate", 0)
        received = box(ax, main_x, ys["received"],
            tr(f"Bản ghi nhận được\nn = {fmt(get.get('received'))}\n"
               f"({fmt(get.get('respondents'))} người + {fmt(dup)} bản nộp trùng)",
               f"Records received\nn = {fmt(get.get('received'))}\n"
               f"({fmt(get.get('respondents'))} people + {fmt(dup)} repeats)"), "#dbe9f6", True)
        link(ax, top, received)
        if name != "personnel":
            missing = (("Không trả lời", "Non-response") if name == "officials" else
                       ("Thiếu so với chỉ tiêu", "Short of the quota"))
            side = box(ax, side_x, ys["nonresponse"],
                       tr(f"{missing[0]}\nn = {fmt(get.get('nonresponse'))}",
                          f"{missing[1]}\nn = {fmt(get.get('nonresponse'))}"), "#eeeeee", kind="side")
            link(ax, (main_x, ys["nonresponse"]), side, "#777777")
        excluded = c[c["stage"].isin(["duplicate", "excluded"]) & (c["n"] > 0)]
        lines = [f"{label(RULE_LABELS.get(r.rule, (r.rule, r.rule)))}: {fmt(r.n)}" for r in excluded.itertuples()]
        total = int(excluded["n"].sum()) if len(excluded) else 0
        text = tr(f"Loại khỏi dữ liệu (n = {fmt(total)})", f"Excluded (n = {fmt(total)})")
        text += ("\n" + "\n".join(lines)) if lines else ""
        changed = c[c["stage"] == "changed"]
        if len(changed):
            text += "\n" + tr("Giá trị thay đổi (bản ghi vẫn giữ):", "Values changed (record kept):")
            text += "".join(f"\n{label(OUTCOME_LABELS[r.outcome])}: {fmt(r.n)}" for r in changed.itertuples())
        side = box(ax, side_x, ys["excluded"], text, "#f9d9d6" if total else "#f2f2f2", kind="side")
        link(ax, (main_x, ys["excluded"]), side, "#777777")
        kept = box(ax, main_x, ys["kept"], tr(f"Giữ lại\nn = {fmt(get.get('kept'))}",
                                              f"Kept\nn = {fmt(get.get('kept'))}"), "#d5f0d5", True)
        link(ax, received, kept)
        flagged = c[c["stage"] == "flagged"]
        if len(flagged):
            flines = [f"{label(RULE_LABELS.get(r.rule, (r.rule, r.rule)))}: {fmt(r.n)}"
                      for r in flagged.itertuples()]
            side = box(ax, side_x, ys["flagged"],
                       tr("Đánh dấu, vẫn giữ (bản ghi):", "Flagged, kept (records):") + "\n" + "\n".join(flines),
                       "#fdf0c8", kind="side")
            link(ax, (main_x, ys["flagged"]), side, "#777777")
        analyses = c[c["stage"] == "analysis"]
        if len(analyses):
            alines = [f"{label(ANALYSES.get(r.rule, (r.rule, r.rule)))}: n = {fmt(r.n)}" for r in analyses.itertuples()]
            models = box(ax, left_x, ys["analysis"], tr("Số phiếu mỗi mô hình dùng:", "Respondents each model uses:")
                         + "\n" + "\n".join(alines), "#e6e0f3", kind="analysis")
            # straight down the main line into the box (which starts left of it)
            ax.annotate("", xy=(main_x, ys["analysis"]), xycoords="data", xytext=(0.5, 0.5),
                        textcoords=kept, arrowprops={"arrowstyle": "-|>", "color": "#333333",
                                                     "lw": 0.8, "shrinkA": 0, "shrinkB": 0,
                                                     "patchA": kept.get_bbox_patch(),
                                                     "patchB": models.get_bbox_patch()})
    return fig


#: The missing-data heatmap's tick labels (points) and its smallest cell side (inches: the
#: labels' own height, so neighbouring labels never overlap).
_HEAT_TICKS, _HEAT_MIN_CELL = _export.MIN_TEXT_PT, 0.095
#: The least gap (points) between the ink of two neighbouring commune names of the heatmap
#: (:func:`hlstudy.export.spread_labels`): 1 pt, and 0.1 pt for the columns' narrowing when
#: the simulated-data marks join the layout as the figure is saved.
_HEAT_LABEL_GAP = 1.1
#: The heatmap's width (inches) at least: the widest a figure saved with savefig's 0.1-inch
#: pad on each side prints at its natural size (155 mm).
_HEAT_WIDTH_IN = round(_export.FIGURE_MAX_MM["width"] / 25.4 - 0.2, 2)


class _HeatmapWithoutDraws:
    """While ``sns.heatmap`` runs: no draw of the whole figure.  seaborn draws the figure
    (a raster draw, with its constrained layout) once per call to see whether tick labels
    overlap and rotates them if so; :func:`missing_heatmap` sets the labels' rotation itself
    right after, so those draws (one per panel, most of the figure's cost) decided nothing."""

    def __enter__(self):
        from seaborn import matrix

        self._matrix = matrix
        self._saved = (matrix._draw_figure, matrix.axis_ticklabels_overlap)
        matrix._draw_figure = lambda fig: None
        matrix.axis_ticklabels_overlap = lambda labels: False
        return self

    def __exit__(self, *exc):
        self._matrix._draw_figure, self._matrix.axis_ticklabels_overlap = self._saved
        return False


@_resultcache.kept(figure=True)
def missing_heatmap(missing: pd.DataFrame, instrument, *, items: list[str] | None = None):
    """Heatmap of the share of missing answers, item (rows, questionnaire order) × commune.

    ``missing`` is :func:`missing_report` output (or :attr:`Study.missing`).  ``instrument``
    is one instrument name (``items`` optionally restricts the rows), or a mapping
    instrument → item list (``None``: all), drawn as stacked panels on one colour scale.
    """
    import matplotlib.pyplot as plt
    import seaborn as sns

    from hlstudy.export import tr

    panels = {instrument: items} if isinstance(instrument, str) else dict(instrument)
    names = {name: tr(*noun) for name, noun in INSTRUMENT_NOUNS.items()}
    tables = {}
    for name, wanted in panels.items():
        m = missing[missing["instrument"] == name]
        order = list(dict.fromkeys(m["variable"]))
        if wanted is not None:
            order = [v for v in order if v in wanted]
        table = m.pivot_table(index="variable", columns="commune", values="share", aggfunc="first").reindex(order)
        from hlstudy.communes import unit_labels  # "TT Hữu Lũng": the pre-reform town
        from hlstudy.export import vi_sorted  # Vietnamese alphabetical order (Đ after D)

        table = table.rename(columns=unit_labels())   # names not in the registry stay

        tables[name] = 100 * table[vi_sorted(table.columns)]
    peak = max([float(np.nanmax(t.to_numpy())) for t in tables.values() if t.size] + [10.0])
    # The panels stand side by side (items down, communes across), on one colour scale with
    # one colour bar: stacked, the two instruments' 80 items made the figure 30 cm tall.
    # A cell is at least as tall as a 7-point label (0.09 in as drawn), and the figure fits
    # the thesis' text block (155 x 220 mm) for the study's 23 communes; more communes widen it.
    rows = [max(len(t), 3) for t in tables.values()]
    ncom = max(t.shape[1] for t in tables.values())
    k = len(tables)
    cell_h = max(_HEAT_MIN_CELL, min(0.11, (_export.FIGURE_MAX_HEIGHT_IN - 1.7) / max(rows)))
    # inches around a panel's cells (title, mark, commune names, axis title) and under the
    # last panel for the colour bar, which lies there when that panel leaves room for it
    deco, bar = 1.25, 0.75
    tall = cell_h * max(rows) + deco
    below = k > 1 and cell_h * rows[-1] + deco + bar <= tall
    wide = _HEAT_MIN_CELL * ncom * k + 0.5 * k + 0.2 + (0 if below else 0.8)
    fig = plt.figure(figsize=(max(_HEAT_WIDTH_IN, wide), tall + 0.35), layout="constrained")
    # each panel's column as wide as its cells and its item codes need: the cells of the
    # panel of longer codes ("CTRUST4") as wide as the other's
    codes = [max((len(str(v)) for v in t.index), default=1) for t in tables.values()]
    outer = fig.add_gridspec(1, k, width_ratios=[_HEAT_MIN_CELL * ncom + 0.06 * c for c in codes])
    axes = []
    for j, r in enumerate(rows):
        used = cell_h * r + deco + (bar if below and j == k - 1 else 0)
        sub = outer[j].subgridspec(2, 1, height_ratios=[used, max(tall - used, 1e-3)])
        axes.append(fig.add_subplot(sub[0]))
    for ax, (name, table) in zip(axes, tables.items(), strict=True):
        with _HeatmapWithoutDraws():   # the rotation is set below
            sns.heatmap(table, ax=ax, cmap="rocket_r", vmin=0, vmax=peak, cbar=False,
                        linewidths=0.2, linecolor="white", xticklabels=True, yticklabels=True)
        ax.set_xlabel(tr("Xã, thị trấn", "Commune"), fontsize=9)
        ax.set_ylabel("")   # the item codes name themselves (the figure's title says so)
        # room above the plot area for its simulated-data mark, under the title
        ax.set_title(names.get(name, name), fontsize=9, pad=14)
        # no tick marks (a label names its row or column of cells), so that the cells have
        # the room: a 7-pt commune name, turned, is 0.103 in wide, its column as wide or more
        ax.tick_params(axis="x", labelrotation=90, labelsize=_HEAT_TICKS, length=0, pad=2)
        ax.tick_params(axis="y", labelrotation=0, labelsize=_HEAT_TICKS, length=0, pad=2)
    cbar = fig.colorbar(axes[-1].collections[0], ax=axes[-1] if below else axes,
                        location="bottom" if below else "right", aspect=25 if below else 40,
                        fraction=0.15 if below else 0.05)
    cbar.set_label(tr("% thiếu", "% missing"), fontsize=9)
    cbar.ax.tick_params(labelsize=8)
    cbar.outline.set_visible(False)
    fig.suptitle(tr("Tỷ lệ câu trả lời bị thiếu theo câu hỏi và xã",
                    "Share of missing answers by item and commune"), fontsize=10)
    # the commune names, turned, are as wide as a 7-pt line and their columns hardly wider
    # (the page holds no wider figure): names whose stacked marks face another's descenders
    # ("Quyết Thắng" beside "Nhật Tiến") came within 0.2 pt; each name is moved sideways the
    # least that keeps every two neighbours' ink _HEAT_LABEL_GAP apart (1.6 pt or less of
    # a 7.6-pt column for the study's 23 communes)
    fig.get_layout_engine().execute(fig)   # the layout settled: the columns as saved
    for ax in axes:
        ax.xaxis._update_ticks()   # each name at its column, as a draw puts it
        _export.spread_labels(ax.get_xticklabels(), _HEAT_LABEL_GAP)
    return fig


@_resultcache.kept(figure=True)
def coverage_figure(coverage: pd.DataFrame):
    """Coverage of the officials' survey by commune (bars, highest first, ties in
    Vietnamese alphabetical order) against the district's coverage (dashed line).

    ``coverage`` is :func:`hlstudy.study.coverage_by_commune` (the district's coverage is its
    valid responses over its register).  The legend naming the district line stands below
    the plot area: inside it, every corner holds a bar (the longest reach the right edge,
    every bar starts at the left), so a legend there hides the end of a bar.  Labels follow
    :func:`hlstudy.export.tr`.  Returns the figure; raises :class:`SurveyDataError` when
    ``coverage`` lacks its columns or has no register.
    """
    import matplotlib.pyplot as plt

    from hlstudy.export import tr

    missing = {"commune", "register", "officials", "coverage"} - set(coverage.columns)
    if missing:
        raise SurveyDataError(f"coverage_figure needs hlstudy.study.coverage_by_commune output; "
                              f"missing {sorted(missing)}")
    if coverage["register"].sum() <= 0:
        raise SurveyDataError("coverage_figure needs a personnel register with at least one person")
    district = coverage["officials"].sum() / coverage["register"].sum()
    t = coverage.sort_values("coverage", ascending=False, kind="stable")
    fig, ax = plt.subplots(figsize=(_export.FIGURE_WIDTH_IN, 5.2))
    y = np.arange(len(t))[::-1]   # the highest coverage on top
    ax.barh(y, 100 * t["coverage"], color="#4c72b0")
    ax.set_yticks(y, [str(v) for v in t["commune"]])
    ax.axvline(100 * district, color="#c44e52", linestyle="--", linewidth=1,
               label=tr(f"Toàn huyện {district:.0%}", f"District {district:.0%}"))
    ax.set_xlabel(tr("Tỷ lệ bao phủ (%)", "Coverage (%)"))
    ax.set_title(tr("Tỷ lệ bao phủ của khảo sát cán bộ, công chức theo xã",
                    "Coverage of the officials' survey by commune"), fontsize=10)
    fig.tight_layout(rect=(0, 0.3 / fig.get_figheight(), 1, 1))
    # anchored to the figure as drawn: a cropped save moves a legend placed on the figure's
    # box (hlstudy.diagnostic.plots.bottom_of)
    fig.legend(*ax.get_legend_handles_labels(), loc="lower center", fontsize=9, frameon=False,
               bbox_to_anchor=(0.5, 0.0), bbox_transform=fig.transFigure)
    return fig


# --------------------------------------------------------------------------- tables for a reader

#: Names of the instruments and of the other tables notebook 02 shows (Vietnamese, English).
TABLE_NAMES = {**INSTRUMENT_LABELS,
               "cleaning_log": ("Nhật ký làm sạch", "Cleaning log"),
               "flow": ("Luồng bản ghi qua các quy tắc", "Records through the rules"),
               "missing": ("Giá trị thiếu theo câu", "Missing values by item")}
#: How a commune name was matched (:attr:`hlstudy.study.Study.communes` ``how``).
MATCH_LABELS = {"exact": ("trùng khớp nguyên văn", "exact"),
                "normalised": ("khác khoảng trắng, chữ hoa, tiền tố", "normalised"),
                "code": ("theo mã xã", "by commune code"),
                "diacritics": ("khác dấu hoặc không dấu", "diacritics"),
                "fuzzy": ("gần đúng (lỗi gõ)", "fuzzy (typing error)"),
                "ambiguous_code": ("mã xã mơ hồ (xã mới kế thừa)", "ambiguous commune code")}
#: Each table notebook 02 shows: its columns (code → (Vietnamese, English) heading) and the
#: columns whose values are codes with a label (code column → label map).
READER_TABLES = {
    "files": ({"instrument": ("Bộ công cụ", "Instrument"), "file": ("Tệp", "File"),
               "format": ("Định dạng", "Format"), "encoding": ("Mã hóa ký tự", "Encoding"),
               "records": ("Số bản ghi", "Records"),
               "pii_columns_dropped": ("Số cột dữ liệu cá nhân bị loại khi đọc",
                                       "Personal-data columns dropped on reading")},
              {"instrument": TABLE_NAMES}),
    "commune_matches": ({"instrument": ("Bộ công cụ", "Instrument"),
                         "value": ("Giá trị gốc", "Value as written"),
                         "name": ("Tên chính thức", "Official name"),
                         "how": ("Cách khớp", "Match"), "score": ("Độ tương đồng", "Similarity"),
                         "rows": ("Số bản ghi", "Records")},
                        {"instrument": TABLE_NAMES, "how": MATCH_LABELS}),
    "scale_coverage": ({"instrument": ("Bộ công cụ", "Instrument"),
                        "construct": ("Thang đo", "Scale"), "items": ("Số câu", "Items"),
                        "min_answered": ("Số câu tối thiểu để có điểm", "Items needed for a score"),
                        "scored": ("Có điểm", "Scored"),
                        "complete": ("Trả lời đủ mọi câu", "All items answered"),
                        "partial": ("Có điểm, thiếu một số câu", "Scored, some items missing"),
                        "unscored": ("Không có điểm", "Not scored")},
                       {"instrument": TABLE_NAMES}),
    "pii": ({"instrument": ("Bộ công cụ", "Instrument"), "variable": ("Biến", "Variable"),
             "question_vi": ("Câu hỏi", "Question (Vietnamese)")},
            {"instrument": TABLE_NAMES}),
    "processed": ({"table": ("Bảng", "Table"), "file": ("Tệp", "File")},
                  {"table": TABLE_NAMES}),
}


def reader_table(df: pd.DataFrame, kind: str, *, lang: str = "vi") -> pd.DataFrame:
    """One of notebook 02's tables as a reader reads it: the columns of ``kind`` (a key of
    :data:`READER_TABLES`) in their order, headed in ``lang`` (``"vi"`` or ``"en"``), coded
    values (instrument, how a commune matched) by their label; the index is reset.

    Raises :class:`~hlstudy.errors.SurveyDataError` for an unknown ``kind``, a column the table
    lacks, or a code without a label (never shown raw); :class:`~hlstudy.errors.ModelError`
    for a ``lang`` other than ``"vi"`` and ``"en"`` (:func:`~hlstudy.errors.check_lang`, as
    everywhere).

    >>> pii = pd.DataFrame({"instrument": ["officials"], "variable": ["name"],
    ...                     "question_vi": ["Họ và tên"]})
    >>> reader_table(pii, "pii", lang="en").to_dict("records")
    [{'Instrument': 'Officials', 'Variable': 'name', 'Question (Vietnamese)': 'Họ và tên'}]
    """
    if kind not in READER_TABLES:
        raise SurveyDataError(f"kind must be one of {sorted(READER_TABLES)}, got {kind!r}")
    k = 0 if check_lang(lang) == "vi" else 1
    headers, coded = READER_TABLES[kind]
    missing = [c for c in headers if c not in df.columns]
    if missing:
        raise SurveyDataError(f"the {kind} table lacks columns {missing}")
    out = df[list(headers)].reset_index(drop=True).copy()
    for column, labels in coded.items():
        unknown = sorted(set(out[column].dropna().astype(str)) - set(labels))
        if unknown:
            raise SurveyDataError(f"{kind}: no label for {column} {unknown}")
        out[column] = out[column].map(lambda v, m=labels: m[v][k] if v == v else v)
    return out.rename(columns={c: h[k] for c, h in headers.items()})
