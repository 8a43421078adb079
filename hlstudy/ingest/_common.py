"""Constants and cell helpers shared by the stages of :mod:`hlstudy.ingest`."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np
import pandas as pd

from hlstudy._text import clean_text

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
#: Transient column: salted hash of the data that identify a person (the codebook's
#: ``identity`` groups: the register's staff code; name and phone together), removed by
#: hlstudy.cleaning.clean after the ``duplicates`` rule has found resubmissions with it.
ID_KEY = "_id_key"
#: Transient column: the cells of a record that could not be read (set to missing), as a tuple of
#: ``(variable, raw text, reason)``; logged by the ``unreadable`` rule of hlstudy.cleaning.
UNREADABLE = "_unreadable"
#: Value set of ``value_labels.csv`` whose labels and aliases are the instrument's "don't know"
#: phrases ("Không biết", "Không rõ", "KB", …): an answer saying the respondent does not know is
#: item non-response, not a point of any scale nor an unreadable cell (survey practice codes it
#: missing with its own reason).  An instrument folder without this value set has none.
NONRESPONSE_SET = "nonresponse"
#: Transient column: the "don't know" answers of a record (set to missing), as a tuple of
#: ``(variable, raw text, where)``; logged by the ``dont_know`` rule of hlstudy.cleaning.
DONT_KNOW = "_dont_know"
#: Transient column: the commune value of a record matched by a guess (a close spelling,
#: ``how="fuzzy"``) or not placed because its code is ambiguous (a 2025 commune's code that a
#: pre-reform unit also has), as ``(variable, raw text, new code or None, new name or None,
#: outcome, reason)``; logged by the ``commune_match`` rule of hlstudy.cleaning.
COMMUNE_MATCH = "_commune_match"
#: Default largest share of a column's answered cells that may be unreadable before the column
#: (not the respondents) is taken to be wrong: above it ingest raises (see read_instrument).
UNREADABLE_MAX_SHARE = 0.05


def _package():
    """The package module ``hlstudy.ingest``: its ``INSTRUMENT`` and ``_registry_frame`` are
    looked up at call time, so that a test can point them elsewhere with ``monkeypatch``."""
    return sys.modules["hlstudy.ingest"]


def _flag(value: Any) -> bool:
    return str(value).strip() in {"1", "1.0", "True", "true", "yes"}


def _number(value: Any) -> float | None:
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return None if math.isnan(number) else number



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



def _shorten(value: Any, limit: int = 40) -> str:
    """The raw cell as logged: NFC text, cut to ``limit`` characters (a log is no copy of the data)."""
    if isinstance(value, float | np.floating) and math.isfinite(value) and float(value).is_integer():
        value = int(value)  # 9.0 from an SPSS file is logged as 9, as from a CSV
    text = clean_text(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _absent(x: Any) -> bool:
    return x is None or x is pd.NA or x is pd.NaT or (isinstance(x, float) and math.isnan(x))




def _by_identity(store: dict, obj: Any, compute, most: int):
    """``compute(obj)`` remembered in ``store`` by the identity of ``obj``: ``id → (obj,
    value)``, the object held so that its id is not reused while remembered; at most
    ``most`` entries, the oldest dropped first.  For tables that are never edited in place
    (another object, even of equal content, is computed anew)."""
    hit = store.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    value = compute(obj)
    if len(store) >= most:
        store.pop(next(iter(store)))
    store[id(obj)] = (obj, value)
    return value
