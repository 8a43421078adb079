"""Does the file fit the instrument?  Respondents' mistakes versus a file that does not fit.

A value the instrument cannot hold — a label not in the value set, a Likert code outside it —
is one respondent's mistake only when it is **rare and scattered**: then ingest sets it to
missing (unknown labels) or passes it on (out-of-set codes), and a named rule of
:mod:`hlstudy.cleaning` logs it.  When it is **systematic**, the export does not fit the
codebook (another scale, another wording of the choices, another coding), and cleaning it
cell by cell would silently destroy answers; ingest then raises a file-level
:class:`~hlstudy.errors.SurveyDataError` that names the columns, gives the counts and says how
to fix it.  The rule, with its thresholds:

* **unreadable cells of one column** (any type): more than
  ``max(1, floor(max_share × answered cells))`` of them (``max_share`` =
  :data:`~hlstudy.ingest.UNREADABLE_MAX_SHARE`, 5 %) — checked in
  :func:`hlstudy.ingest.read_instrument`;
* **one unknown label repeated** (:func:`check_repeated_labels`): the same label, not in the
  value set and not an alias, in at least :data:`REPEATED_LABEL_MIN_CELLS` cells or in at
  least :data:`REPEATED_LABEL_MIN_COLUMNS` columns of the file.  A survey platform writes a
  choice the same way every time, so a repeated unknown label is the codebook's wording not
  fitting the export (e.g. every "Hoàn toàn không đồng ý" exported as "Hoàn toàn phản đối"),
  never respondents' typing;
* **Likert codes outside the value set** (:func:`check_likert_codes`): in one column, or over
  all the Likert columns of one value set, more than
  ``max(SYSTEMATIC_MIN_CELLS, floor(max_share × answered cells))`` of them (e.g. a 1–7 scale:
  values 6 and 7 in 38 % of the answers).  The scattered 0, 6, 44 of data entry stay the
  ``out_of_range`` rule's logged changes.

>>> REPEATED_LABEL_MIN_CELLS, REPEATED_LABEL_MIN_COLUMNS, SYSTEMATIC_MIN_CELLS
(5, 3, 3)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hlstudy._text import clean_text
from hlstudy.errors import SurveyDataError

if TYPE_CHECKING:
    from hlstudy.ingest.spec import InstrumentSpec

#: An unknown label found in at least this many cells of one file is systematic.
REPEATED_LABEL_MIN_CELLS = 5
#: An unknown label found in at least this many columns of one file is systematic.
REPEATED_LABEL_MIN_COLUMNS = 3
#: Out-of-set Likert codes are systematic only above this many cells (and above the share).
SYSTEMATIC_MIN_CELLS = 3


def allowed_cells(answered: int, max_share: float, floor_cells: int) -> int:
    """How many bad cells among ``answered`` are still respondents' mistakes."""
    return max(floor_cells, math.floor(max_share * answered))


def check_repeated_labels(
    failures: Mapping[str, list[tuple[int, Any, SurveyDataError]]],
    headers: Mapping[str, str],
    file: Path | str,
    *,
    min_cells: int = REPEATED_LABEL_MIN_CELLS,
    min_columns: int = REPEATED_LABEL_MIN_COLUMNS,
    spanning: int = 1,
) -> None:
    """Raise when one unknown label repeats across the file (see the module docstring).

    ``failures``: variable → ``(row, raw cell, error)`` of its unreadable cells; only errors
    carrying ``unknown_label`` (set by the label converter) count.  ``headers``: variable →
    the column's header as shown.  The error lists every repeated label with its count, its
    columns, the closest codebook label by spelling (shown as such, never as a
    suggestion) and where an alias goes: a copy of the instrument (:func:`alias_fix`).
    ``spanning``: consider only labels found in at least that many columns (ingest checks
    labels spanning 2+ columns before the per-column tolerance, single-column ones after it,
    so that a column of text gets the column's message).
    """
    seen: dict[tuple[str, str], dict] = {}
    for variable, cells in failures.items():
        for row, _raw, exc in cells:
            info = getattr(exc, "unknown_label", None)
            if info is None:
                continue
            value_set, text, close = info
            entry = seen.setdefault((value_set, clean_text(text).casefold()), {
                "value_set": value_set, "label": clean_text(text), "closest": close,
                "cells": 0, "columns": [], "row": row, "variable": variable,
            })
            entry["cells"] += 1
            if variable not in entry["columns"]:
                entry["columns"].append(variable)
            if row < entry["row"]:
                entry["row"], entry["variable"] = row, variable
    systematic = [e for e in seen.values() if len(e["columns"]) >= spanning
                  and (e["cells"] >= min_cells or len(e["columns"]) >= min_columns)]
    if not systematic:
        return
    systematic.sort(key=lambda e: (-e["cells"], e["label"]))
    described = "; ".join(
        f"{e['label']!r} in {e['cells']} cells of {len(e['columns'])} column(s) "
        f"({_names(e['columns'])}; value set {e['value_set']!r}, closest spelling {e['closest']!r})"
        for e in systematic
    )
    first = min(systematic, key=lambda e: e["row"])
    # a fault of the file (or of one column), not of a row: no row in the prefix, the first
    # cell named in the text
    columns = {v for e in systematic for v in e["columns"]}
    column = headers.get(first["variable"], first["variable"]) if len(columns) == 1 else None
    raise SurveyDataError(
        f"{len(systematic)} answer label(s) not in the codebook repeat across the file: "
        f"{described}.  A survey platform writes each choice the same way every time, so this "
        "is the codebook's wording not fitting the export, not respondents' mistakes (a label "
        f"unknown in {min_cells} or more cells, or in {min_columns} or more columns, stops the "
        "run).  The closest spelling is a likeness of letters, not of meaning: it is no "
        f"suggestion.  First such cell: row {first['row']}, column "
        f"{headers.get(first['variable'], first['variable'])!r}.  Fix: {alias_fix()}",
        file=file, column=column,
    )


def alias_fix(folder: Path | None = None) -> str:
    """How to make an instrument accept another wording of its answer labels, for messages.

    The committed instrument (``data/instrument``) is never edited for one export: the fix
    is a copy of it, pointed at with ``HLSTUDY_INSTRUMENT`` (README, *Your own instrument*);
    an instrument that already is such a copy is edited in place.  ``folder``: the
    instrument folder in use (default :data:`hlstudy.ingest.INSTRUMENT`).
    """
    from hlstudy.ingest._common import _package
    from hlstudy.paths import DEFAULT_INSTRUMENT, ROOT

    folder = Path(folder if folder is not None else _package().INSTRUMENT)
    what = ("if a label is another wording of one of the choices (as 'Hoàn toàn phản đối' is of "
            "'Hoàn toàn không đồng ý'), add it to the aliases_vi of the code it means")
    other = ("; if the labels belong to another scale (e.g. Kém / Trung bình / Khá / Tốt, a "
             "rating, not agreement), define that scale as a value set of its own and set it as "
             "the value_set of those items (README, 'Your own instrument'), or correct the export")
    if folder.resolve() != DEFAULT_INSTRUMENT.resolve():
        try:
            shown = folder.resolve().relative_to(ROOT)
        except ValueError:
            shown = folder
        return f"{what} in {shown / 'value_labels.csv'}, the instrument in use{other}"
    return (f"{what}, in a copy of the instrument, never in the committed data/instrument: "
            "cp -r data/instrument my_instrument, edit my_instrument/value_labels.csv, then "
            "HLSTUDY_INSTRUMENT=my_instrument python3 make.py reproduce (or [instrument] folder = "
            f'"my_instrument" in hlstudy.toml; README, \'Your own instrument\'){other}')


def _names(variables: list[str], limit: int = 6) -> str:
    shown = ", ".join(variables[:limit])
    return shown + (f", … ({len(variables)} in all)" if len(variables) > limit else "")


def _values_text(values: list[float]) -> str:
    texts = [str(int(v)) if float(v).is_integer() else str(v) for v in values]
    return texts[0] if len(texts) == 1 else ", ".join(texts[:-1]) + " and " + texts[-1]


def check_likert_codes(
    columns: Mapping[str, list[Any]],
    spec: InstrumentSpec,
    headers: Mapping[str, str],
    rows: list[int],
    file: Path | str,
    *,
    max_share: float,
    min_cells: int = SYSTEMATIC_MIN_CELLS,
) -> None:
    """Raise when Likert codes outside their value set are systematic (see the module docstring).

    ``columns``: variable → converted cells (floats or None) of every Likert item read.
    The message names the columns, the values and their share of the answers, and what the
    values look like (``a 7-point scale?``, ``codes counted from 0?``) with the fix.
    """
    by_set: dict[str, list[str]] = {}
    for v in spec.variables:
        if v.type == "likert" and v.variable in columns:
            by_set.setdefault(v.value_set, []).append(v.variable)
    for value_set, variables in sorted(by_set.items()):
        codes = set(spec.codes(value_set))
        answered_total = bad_total = 0
        flagged, with_bad = [], []
        values: set[float] = set()
        answered_with_bad = 0
        for variable in variables:
            cells = [(x, r) for x, r in zip(columns[variable], rows, strict=True) if x is not None]
            bad = [(x, r) for x, r in cells if float(x) not in codes]
            answered_total += len(cells)
            bad_total += len(bad)
            if bad:
                with_bad.append(variable)
                answered_with_bad += len(cells)
                values.update(float(x) for x, _ in bad)
                if len(bad) > allowed_cells(len(cells), max_share, min_cells):
                    flagged.append(variable)
        whole_set = bad_total > allowed_cells(answered_total, max_share, min_cells)
        if not (whole_set or flagged):
            continue
        listed = with_bad if whole_set else flagged
        bad_listed = sum(
            sum(1 for x in columns[v] if x is not None and float(x) not in codes) for v in listed
        )
        answered_listed = sum(sum(1 for x in columns[v] if x is not None) for v in listed)
        share = bad_listed / answered_listed if answered_listed else 0.0
        # the values of the listed columns only: a stray code in another column (one
        # respondent's 44, logged by out_of_range) says nothing about the scale used here
        shown_values = sorted({float(x) for v in listed for x in columns[v]
                               if x is not None and float(x) not in codes}) or sorted(values)
        lo, hi = min(codes), max(codes)
        above = {v for v in shown_values if v.is_integer() and v > hi}
        run = hi
        while run + 1 in above:   # the codes just above the value set's: 6, 7 on a 1-5 set
            run += 1
        if run > hi and lo == 1:
            # the scale the answers run up to without a gap (a lone 44 beside 6 and 7 is a
            # typing mistake, not a 44-point scale)
            points = int(run)
            guess = (f"a {points}-point scale? define its value set in value_labels.csv (codes "
                     f"1–{points}, with their labels) and give these items that value_set in "
                     "codebook.csv")
        elif shown_values == [lo - 1]:
            guess = (f"codes counted from {int(lo - 1)} ({int(lo - 1)}–{int(hi - 1)} instead of "
                     f"{int(lo)}–{int(hi)})? export the choices' labels, or recode the file")
        else:
            guess = ("another scale or coding? define the value set these items use in "
                     "value_labels.csv and codebook.csv")
        raise SurveyDataError(
            f"{'value' if len(shown_values) == 1 else 'values'} {_values_text(shown_values)} in {share:.0%} of the answers of {len(listed)} "
            f"Likert column(s) ({_names(listed)}) whose value set {value_set!r} has codes "
            f"{int(lo)}–{int(hi)}: {guess}.  A code outside the value set is a respondent's "
            f"mistake (logged by the out_of_range rule) only when rare and scattered: at most "
            f"{min_cells} cells or {max_share:.0%} of the answers of a column and of the value "
            "set",
            # the columns' fault, not a row's: the column when one is named, else the file
            file=file, column=headers.get(listed[0], listed[0]) if len(listed) == 1 else None,
        )
