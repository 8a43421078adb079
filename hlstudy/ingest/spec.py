"""The codebook as ingest needs it: typed variables and value sets of one instrument."""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from hlstudy._text import clean_text
from hlstudy.errors import SurveyDataError
from hlstudy.ingest._common import INSTRUMENTS, TYPES, _by_identity, _flag, _number, _package
from hlstudy.ingest.headers import header_key


@dataclass(frozen=True)
class Variable:
    """One codebook row, typed."""

    instrument: str
    variable: str
    order: int
    construct: str
    type: str
    question_vi: str
    value_set: str
    reverse: bool
    min: float | None
    max: float | None
    required: bool
    pii: bool
    #: name of the group of personal-data variables that together identify a person (codebook
    #: column ``identity``, optional: ``staff_code``; ``name_phone`` for name and phone), or ""
    identity: str = ""


@dataclass
class InstrumentSpec:
    """What ingest needs to know about one instrument, built from the codebook files."""

    name: str
    variables: list[Variable]
    value_sets: dict[str, pd.DataFrame]
    foreign: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def by_name(self) -> dict[str, Variable]:
        return {v.variable: v for v in self.variables}

    def scales(self) -> dict[str, list[str]]:
        """Construct code → its Likert item codes, in questionnaire order."""
        out: dict[str, list[str]] = {}
        for v in self.variables:
            if v.type == "likert" and v.construct:
                out.setdefault(v.construct, []).append(v.variable)
        return out

    def codes(self, value_set: str) -> list[float]:
        """Numeric codes of a Likert value set (sorted)."""
        return sorted(float(c) for c in self.value_sets[value_set]["code"])



def _read_codebook_files(folder: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    base = Path(folder)
    paths = [base / "codebook.csv", base / "value_labels.csv"]
    for path in paths:
        if not path.is_file():
            raise SurveyDataError("codebook file not found", file=path)
    stamp = tuple((p.stat().st_mtime_ns, p.stat().st_size) for p in paths)
    return _read_codebook_cached(folder, stamp)


@lru_cache(maxsize=8)
def _read_codebook_cached(folder: str, stamp: tuple) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Codebook files of ``folder``; ``stamp`` (mtime, size) makes an edited file re-read.

    Files of the same bytes as files read before (another folder holding a copy of the
    codebook, as every test folder of ``tests/rawfactory.py`` does) give the tables read
    then, by a digest of their bytes (:data:`_BY_CONTENT`): the same tables, whose
    fingerprints and specs are already made."""
    base = Path(folder)
    paths = [base / "codebook.csv", base / "value_labels.csv"]
    data = [p.read_bytes() for p in paths]
    key = tuple(hashlib.sha256(d).hexdigest() for d in data)
    tables = _BY_CONTENT.get(key)
    if tables is None:
        tables = tuple(pd.read_csv(io.BytesIO(d), dtype=str, keep_default_na=False, encoding="utf-8")
                       for d in data)
        if len(_BY_CONTENT) >= 8:
            _BY_CONTENT.pop(next(iter(_BY_CONTENT)))
        _BY_CONTENT[key] = tables
    return tables


#: Codebook tables by the SHA-256 digests of their two files' bytes, oldest first.
_BY_CONTENT: dict[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]] = {}


def codebook_frames(
    codebook: pd.DataFrame | None = None, value_labels: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The codebook and value-label tables (``data/instrument/`` unless given; the default
    tables as copies, the caller's to edit)."""
    given = (codebook, value_labels)
    codebook, value_labels = _frames(codebook, value_labels)
    return (codebook if given[0] is not None else codebook.copy(),
            value_labels if given[1] is not None else value_labels.copy())


def _frames(
    codebook: pd.DataFrame | None = None, value_labels: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`codebook_frames` without copies: the default tables are the objects read once
    per file version (:func:`_read_codebook_cached`), which only this module sees."""
    if codebook is None or value_labels is None:
        default_cb, default_vl = _read_codebook_files(str(_package().INSTRUMENT))
        codebook = default_cb if codebook is None else codebook
        value_labels = default_vl if value_labels is None else value_labels
    return codebook, value_labels


def instrument_spec(
    instrument: str,
    codebook: pd.DataFrame | None = None,
    value_labels: pd.DataFrame | None = None,
) -> InstrumentSpec:
    """Typed view of the codebook for ``instrument`` (see ``docs/architecture.md``)."""
    if instrument not in INSTRUMENTS:
        raise SurveyDataError(f"unknown instrument {instrument!r}; expected one of {INSTRUMENTS}")
    given = (codebook is not None, value_labels is not None)
    codebook, value_labels = _frames(codebook, value_labels)
    key = (instrument, _fingerprint(codebook) if given[0] else _default_fingerprint(codebook),
           _fingerprint(value_labels) if given[1] else _default_fingerprint(value_labels))
    spec = _SPECS.get(key)
    if spec is None:
        spec = _build_spec(instrument, codebook, value_labels)
        if len(_SPECS) >= 32:
            _SPECS.pop(next(iter(_SPECS)))
        _SPECS[key] = spec
    # a fresh container each call: a caller that edits its lists or dicts edits only its own
    return InstrumentSpec(spec.name, list(spec.variables), dict(spec.value_sets), dict(spec.foreign))


#: Specs built from codebook contents already seen (by fingerprint), oldest first.
_SPECS: dict[tuple, InstrumentSpec] = {}


#: Fingerprints of the default codebook tables (the objects :func:`_read_codebook_cached`
#: keeps per file version, which :func:`codebook_frames` hands out only as copies), by
#: identity: ``id → (frame, fingerprint)`` (the frame held, so that its id is not reused).
_DEFAULT_FINGERPRINTS: dict[int, tuple[pd.DataFrame, str]] = {}


def _default_fingerprint(frame: pd.DataFrame) -> str:
    """:func:`_fingerprint` of a default codebook table, computed once per table read."""
    return _by_identity(_DEFAULT_FINGERPRINTS, frame, _fingerprint, 32)


def _fingerprint(frame: pd.DataFrame) -> str:
    """Content hash of a codebook table: its pickle (column names, dtypes, index and every
    cell; unpickling gives the table back, so different contents never share a key — equal
    contents pickled differently only cost a rebuild).  ~0.3 ms, against ~5 ms for
    ``pd.util.hash_pandas_object`` on these string tables."""
    return hashlib.sha256(pickle.dumps(frame, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()


def _row_dicts(frame: pd.DataFrame) -> list:
    """The rows of ``frame`` as ``iterrows`` gives them, for what :func:`_build_spec` reads of
    them (``r[column]``, ``r.get(column, default)``): dicts made from whole columns (a Series
    per row cost ~0.1 ms)."""
    if not frame.columns.is_unique:
        return [r for _, r in frame.iterrows()]
    columns = list(frame.columns)
    cells = [frame[c].tolist() for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*cells, strict=True)]


def _build_spec(instrument: str, codebook: pd.DataFrame, value_labels: pd.DataFrame) -> InstrumentSpec:
    codebook = codebook.astype(str).replace({"nan": "", "<NA>": ""})
    value_labels = value_labels.astype(str)
    variables = []
    rows = codebook[codebook["instrument"] == instrument]
    for r in _row_dicts(rows):
        if r["type"] not in TYPES:
            raise SurveyDataError(
                f"codebook variable {r['variable']!r} has unknown type {r['type']!r}",
                file="codebook.csv",
            )
        variables.append(
            Variable(
                instrument=instrument,
                variable=r["variable"].strip(),
                order=int(float(r["order"])) if _number(r["order"]) is not None else 0,
                construct=r.get("construct", "").strip(),
                type=r["type"].strip(),
                question_vi=clean_text(r["question_vi"]),
                value_set=r.get("value_set", "").strip(),
                reverse=_flag(r.get("reverse", "")),
                min=_number(r.get("min", "")),
                max=_number(r.get("max", "")),
                required=_flag(r.get("required", "")),
                pii=_flag(r.get("pii", "")),
                identity=r.get("identity", "").strip(),
            )
        )
    variables.sort(key=lambda v: (v.order, v.variable))
    sets = {
        name: group.reset_index(drop=True)
        for name, group in value_labels.groupby("value_set", sort=True)
    }
    for v in variables:
        if v.type in ("likert", "category") and v.value_set not in sets:
            raise SurveyDataError(
                f"variable {v.variable!r} uses value set {v.value_set!r}, absent from value_labels.csv",
                file="codebook.csv",
            )
    foreign: dict[str, tuple[str, str]] = {}
    for r in _row_dicts(codebook[codebook["instrument"] != instrument]):
        for key in (header_key(r["question_vi"]), r["variable"].strip().casefold()):
            foreign.setdefault(key, (r["instrument"], r["variable"]))
    return InstrumentSpec(instrument, variables, sets, foreign)

