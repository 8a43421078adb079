"""Raw exports from simulated answers: headers, labels, and the mess of real exports.

Every injected fault is written to a ledger row ``(instrument, person_id, fault, column,
raw_value, detail, expected)``; after the rows are sorted by submission time the ledger is
keyed by ``source_row``, the spreadsheet row of the raw record (header = row 1), which is
what :func:`hlstudy.ingest.read_instrument` reports as ``source_row``.
"""

from __future__ import annotations

import difflib
import unicodedata
from functools import lru_cache

import numpy as np
import pandas as pd

#: Fault rates (defaults).  ``row`` rates are shares of records, ``cell`` rates shares of
#: Likert answers.  See the package docstring for what each fault is and which ingest step
#: or cleaning rule should catch it.
FAULT_RATES: dict[str, dict[str, float]] = {
    "officials": {
        "likert_text": 0.35, "nfd": 0.12, "commune_variant": 0.25, "item_blank": 0.01,
        "scale_blank": 0.01, "out_of_range": 0.003, "background_out_of_range": 0.006,
        "impossible_tenure": 0.008, "impossible_degree": 0.004, "commune_blank": 0.004,
        "duplicate": 0.02, "straightline": 0.015, "speeder": 0.02, "phone_blank": 0.03,
    },
    "citizens": {
        "likert_text": 0.35, "nfd": 0.12, "commune_variant": 0.25, "item_blank": 0.01,
        "scale_blank": 0.01, "out_of_range": 0.003, "commune_blank": 0.004,
        "duplicate": 0.02, "straightline": 0.015, "speeder": 0.02, "comment": 0.25,
    },
    "personnel": {
        "nfd": 0.10, "commune_variant": 0.30, "category_case": 0.15, "date_unpadded": 0.25,
        "background_blank": 0.01, "background_out_of_range": 0.005, "impossible_tenure": 0.008,
    },
}

#: What should happen to a record or value carrying each fault (ingest step or cleaning rule
#: of :mod:`hlstudy.cleaning`).  ``drop:<rule>`` drops the record, ``change:<rule>`` sets the
#: value to missing, ``score_missing:<rule>`` keeps the record without that scale's score,
#: ``flag:<rule>`` keeps it and logs a flag, ``ingest:<step>`` is repaired when reading.
#: A straight-liner is dropped only on an instrument with reverse-keyed items (the run is
#: contradictory there); on the citizens' instrument it is ``flag:straightlining``.
EXPECTED = {
    "likert_text": "ingest:labels", "nfd": "ingest:nfc", "commune_variant": "ingest:commune",
    "category_case": "ingest:labels", "date_unpadded": "ingest:dates",
    "item_blank": "missing", "background_blank": "missing", "phone_blank": "missing",
    "scale_blank": "score_missing:missing_scale", "scale_incomplete": "score_missing:missing_scale",
    "out_of_range": "change:out_of_range", "background_out_of_range": "change:out_of_range",
    "impossible_tenure": "change:inconsistent", "impossible_degree": "change:inconsistent",
    "commune_blank": "drop:missing_required", "duplicate": "drop:duplicates",
    "straightline": "drop:straightlining", "speeder": "drop:speeders",
    "header_nfd": "ingest:headers",
}
#: Order in which hlstudy.cleaning's dropping rules run (the first that applies wins).
DROP_ORDER = ("duplicates", "missing_required", "speeders", "straightlining")

OUT_OF_RANGE_VALUES = ("0", "6", "7", "44", "55")
SURVEY_START = {"officials": pd.Timestamp("2025-03-10"), "citizens": pd.Timestamp("2025-03-17")}
SURVEY_WEEKDAYS = {"officials": 30, "citizens": 30}
MEDIAN_DURATION = {"officials": 960.0, "citizens": 420.0}
DURATION_SD = 0.3  # log scale
DURATION_BOUNDS = (0.45, 3.0)  # × median: normal respondents are never speeders
SPEEDER_SHARE = (0.10, 0.25)  # × median


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    out = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return out.replace("đ", "d").replace("Đ", "D")


_OLD_TONES = {"òa": "oà", "óa": "oá", "ỏa": "oả", "õa": "oã", "ọa": "oạ",
              "òe": "oè", "óe": "oé", "ùy": "uỳ", "úy": "uý", "ủy": "uỷ", "ũy": "uỹ", "ụy": "uỵ"}


def old_tone(name: str) -> str | None:
    """Old-style tone placement (``Hòa`` → ``Hoà``), or None if the name has none."""
    out = name
    for new, old in _OLD_TONES.items():
        out = out.replace(new, old)
    return out if out != name else None


@lru_cache(maxsize=64)
def _folded_others(name: str, others: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(fold(o).lower() for o in others if o != name)


def _clear_of(key: str, own: float, others, margin: float = 0.12) -> bool:
    """``own - max(ratio(key, o) for o in others) >= margin``, the exact ratio computed only
    where ``quick_ratio`` (an upper bound of it) does not already settle the comparison."""
    for o in others:
        m = difflib.SequenceMatcher(None, key, o)
        if own - m.quick_ratio() >= margin:
            continue
        if own - m.ratio() < margin:
            return False
    return True


def _typo(rng, name: str, others: list[str]) -> str | None:
    """A one-letter typo of ``name`` still clearly closest to it (else None)."""
    base = fold(name).lower()
    others_f = _folded_others(name, tuple(others))
    for _ in range(12):
        letters = list(name)
        positions = [i for i, ch in enumerate(letters) if ch.isalpha()]
        i = positions[int(rng.integers(len(positions)))]
        op = int(rng.integers(3))
        if op == 0:
            del letters[i]
        elif op == 1:
            letters.insert(i, letters[i])
        elif i + 1 < len(letters) and letters[i + 1].isalpha():
            letters[i], letters[i + 1] = letters[i + 1], letters[i]
        else:
            continue
        typo = "".join(letters)
        key = fold(typo).lower()
        if key == base:
            continue
        if _clearly_closest(key, base, others_f):
            return typo
    return None


@lru_cache(maxsize=4096)
def _clearly_closest(key: str, base: str, others: tuple[str, ...]) -> bool:
    """``key`` (a folded typo) is close to ``base`` (ratio ≥ 0.85) and clear of ``others``;
    a pure function of the strings, remembered: the ~30 typos of each name recur in every
    simulation of a process."""
    own = difflib.SequenceMatcher(None, key, base).ratio()
    return own >= 0.85 and _clear_of(key, own, others)


VARIANT_KINDS = ("no_diacritics", "prefix", "case", "typo", "old_tone")
VARIANT_P = np.array([0.32, 0.28, 0.10, 0.18, 0.12])
#: ``rng.choice(len(VARIANT_KINDS), p=VARIANT_P)`` draws one ``random()`` and finds it in this
#: cumulative distribution (NumPy's weighted branch: ``cdf = p.cumsum(); cdf /= cdf[-1]``,
#: ``searchsorted(side="right")``): the same draw, computed once.
_VARIANT_CDF = VARIANT_P.cumsum()
_VARIANT_CDF /= _VARIANT_CDF[-1]


def commune_variant(rng, name: str, unit_type: str, all_names: list[str]) -> tuple[str, str]:
    """A realistic mis-typing of a commune name, and its kind."""
    kind = VARIANT_KINDS[int(_VARIANT_CDF.searchsorted(rng.random(), side="right"))]
    if kind == "old_tone":
        variant = old_tone(name)
        if variant is not None:
            return variant, kind
        kind = "prefix"
    if kind == "typo":
        variant = _typo(rng, name, all_names)
        if variant is not None:
            return variant, kind
        kind = "no_diacritics"
    if kind == "no_diacritics" and fold(name) != name:
        return fold(name), kind
    if kind in ("case", "no_diacritics"):  # a name without diacritics gets a case change
        return (name.upper() if rng.random() < 0.5 else name.lower()), "case"
    if unit_type == "thị trấn":
        prefix = ("TT ", "TT. ", "Thị trấn ", "thị trấn ")[int(rng.integers(4))]
    else:
        prefix = ("xã ", "Xã ", "X. ", "xa ")[int(rng.integers(4))]
    return prefix + name, "prefix"


def pick_disjoint(rng, n: int, rates: dict[str, float], faults: list[str],
                  exclude: set[int] | None = None) -> dict[str, list[int]]:
    """Disjoint sets of row indices, one per fault, of size round(rate × n) (≥ 1 if rate > 0)."""
    free = [i for i in range(n) if i not in (exclude or set())]
    order = rng.permutation(len(free))
    out, k = {}, 0
    for f in faults:
        rate = rates.get(f, 0.0)
        size = max(1, int(round(rate * n))) if rate > 0 else 0
        out[f] = sorted(free[j] for j in order[k:k + size])
        k += size
    return out


def durations(rng, n: int, instrument: str) -> np.ndarray:
    med = MEDIAN_DURATION[instrument]
    d = np.exp(np.log(med) + DURATION_SD * rng.standard_normal(n))
    return np.round(np.clip(d, DURATION_BOUNDS[0] * med, DURATION_BOUNDS[1] * med)).astype(int)


def timestamps(rng, commune_codes: list[str], instrument: str) -> list[pd.Timestamp]:
    """Submission times: officials on their commune's survey day (20 % the next working day),
    citizens on a random working day, during office hours.

    The instants ``day + pd.Timedelta(seconds=s)``, made from the days' nanoseconds (a quarter
    of the time; the simulator only formats, compares and shifts them)."""
    days = [d.as_unit("ns")._value for d in
            pd.bdate_range(SURVEY_START[instrument], periods=SURVEY_WEEKDAYS[instrument])]
    second = 1_000_000_000
    out = []
    if instrument == "officials":
        codes = sorted(set(commune_codes))
        slot = dict(zip(codes, rng.permutation(len(days))[: len(codes)], strict=True))
        for c in commune_codes:
            i = int(slot[c]) + int(rng.random() < 0.2)
            day = days[min(i, len(days) - 1)]
            out.append(pd.Timestamp(day + second * int(rng.integers(8 * 3600, 16 * 3600 + 1800))))
    else:
        for _ in commune_codes:
            day = days[int(rng.integers(len(days)))]
            out.append(pd.Timestamp(day + second * int(rng.integers(7 * 3600 + 1800,
                                                                    16 * 3600 + 1800))))
    return out


def fmt_time(t: pd.Timestamp) -> str:
    """``t.strftime("%d/%m/%Y %H:%M:%S")`` (formatted directly for four-digit years)."""
    if 1000 <= t.year <= 9999:
        return f"{t.day:02d}/{t.month:02d}/{t.year} {t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    return t.strftime("%d/%m/%Y %H:%M:%S")
