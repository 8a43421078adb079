"""Compliance of each official with the Decree 33/2023 qualification standards.

The rules are rows of ``data/reference/decree33_standards.csv`` (read by
:func:`hlstudy.legal.standards`); this module only interprets their operators:

``min``             numeric attribute ≥ threshold (``age`` = reference year − birth year)
``min_level``       education level ranked at or above the threshold in
                    ``decree33_education_levels.csv``; where the rule names an exception and
                    the :class:`ExceptionPolicy` applies to the person's commune, the
                    ``exception_threshold`` replaces the threshold
``fits_title``      the person's field is listed for their title in ``decree33_field_fit.csv``
``not_applicable``  no standard is known for this kind of official (cadres: Art. 8 not found)

Each rule gives, per person, one of the statuses ``met``, ``not_met``, ``not_applicable``
or ``missing`` (the register lacks the value), with the reason in Vietnamese and English.
Shares not meeting a standard are computed over the persons evaluated (met + not met) and
carry Wilson 95% intervals (:func:`hlstudy.diagnostic.intervals.wilson`).

Example
-------
>>> import pandas as pd
>>> people = pd.DataFrame({"record_id": ["a"], "commune_code": ["06388"], "kind": ["cong_chuc"],
...     "position_code": ["TP_HT"], "birth_year": [1990], "general_education": ["upper_secondary"],
...     "education_level": ["intermediate"], "field_of_study": ["law"]})
>>> res = evaluate_standards(people, reference_year=2024,
...     policy=ExceptionPolicy(True, frozenset({"06388"}), basis="example"))
>>> res.persons.set_index("rule_id")["status"].to_dict()["CC_DEGREE"]
'met'
"""

from __future__ import annotations

import collections
import functools
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hlstudy import legal
from hlstudy.diagnostic.columns import DEFAULT, Columns, birth_year
from hlstudy.diagnostic.intervals import share_table
from hlstudy.errors import ModelError, check_lang

STATUSES = ("met", "not_met", "not_applicable", "missing")
ANY_RULE = "ANY"


@dataclass(frozen=True)
class ExceptionPolicy:
    """Where the province accepts intermediate (trung cấp) level instead of a university degree.

    Decree 33/2023 Art. 10 lets the province accept trung cấp in mountainous, ethnic-minority
    or remote communes.  Whether Lạng Sơn applies it, and which Hữu Lũng communes count, is not
    public: both are parameters, and ``basis`` says where they come from (e.g. ``"simulated"``),
    one text or a ``(vi, en)`` pair so that each language's summary stays in its language.
    """

    province_applies: bool = False
    eligible_communes: frozenset = frozenset()
    basis: str | tuple[str, str] = "not applied"

    def __post_init__(self):
        object.__setattr__(self, "eligible_communes",
                           frozenset(str(c) for c in self.eligible_communes))
        if self.province_applies and not self.eligible_communes:
            raise ModelError("the exception is applied but no commune is eligible")
        basis = self.basis
        if isinstance(basis, list):
            basis = tuple(basis)
        if isinstance(basis, tuple):
            if len(basis) != 2 or not all(isinstance(b, str) and b.strip() for b in basis):
                raise ModelError("basis is a text or a (Vietnamese, English) pair of non-empty "
                                 f"texts, got {self.basis!r}")
        elif not isinstance(basis, str):
            raise ModelError(f"basis is a text or a (Vietnamese, English) pair, got {basis!r}")
        object.__setattr__(self, "basis", basis)

    def applies(self, commune_code) -> bool:
        return bool(self.province_applies and str(commune_code) in self.eligible_communes)

    def basis_text(self, lang: str = "en") -> str:
        """The basis in one language: a ``(vi, en)`` pair gives its ``lang`` half (a plain
        text is the same in both)."""
        check_lang(lang)
        if isinstance(self.basis, tuple):
            return self.basis[0] if lang == "vi" else self.basis[1]
        return self.basis

    def summary(self, lang: str = "en") -> str:
        """One sentence in ``lang`` ("en" or "vi"), the basis in that language only.

        >>> p = ExceptionPolicy(True, {"A", "B"}, basis=("giả định", "assumption"))
        >>> p.summary(), p.summary("vi")
        ('intermediate-level exception applied in 2 communes (assumption)', 'ngoại lệ trung cấp áp dụng ở 2 xã (giả định)')
        """
        basis = self.basis_text(lang)
        if lang == "vi":
            if not self.province_applies:
                return f"ngoại lệ trung cấp không áp dụng ({basis})"
            return f"ngoại lệ trung cấp áp dụng ở {len(self.eligible_communes)} xã ({basis})"
        if not self.province_applies:
            return f"intermediate-level exception not applied ({basis})"
        return (f"intermediate-level exception applied in {len(self.eligible_communes)} "
                f"communes ({basis})")

    def __repr__(self) -> str:
        return f"ExceptionPolicy: {self.summary()}"


def _key(value) -> str:
    s = unicodedata.normalize("NFC", str(value)).strip().casefold()
    return " ".join(s.replace("_", " ").split())


def _rows(df: pd.DataFrame, columns: list[str] | None = None) -> list[tuple]:
    """The rows of ``df`` as ``df.itertuples(index=False)`` gives them (named tuples of the
    same Python values; plain tuples of ``columns`` when given), from whole columns: pandas'
    itertuples reads every column by position, several times slower on small tables."""
    if columns is None and not df.columns.is_unique:
        return list(df.itertuples(index=False))
    values = [df[c].tolist() for c in (columns or df.columns)]
    if columns is not None:
        return list(zip(*values, strict=True))
    row = collections.namedtuple("Pandas", df.columns, rename=True)
    return [row._make(v) for v in zip(*values, strict=True)]


def _level_lookup(levels: pd.DataFrame, level_map: Mapping[str, str] | None):
    """Map data values (level codes, Vietnamese or English labels) to ``(scale, rank, code)``."""
    table = {}
    rows = _rows(levels, ["level_code", "label_vi", "label_en", "scale", "rank"])
    for code, vi, en, scale, rank in rows:
        for label in (code, vi, en):
            table[_key(label)] = (scale, int(rank), code)
    by_code = {code: (scale, int(rank), code) for code, _, _, scale, rank in rows}
    for raw, code in (level_map or {}).items():
        if code not in by_code:
            raise ModelError(f"level_map maps {raw!r} to unknown level {code!r}")
        table[_key(raw)] = by_code[code]
    return table, by_code


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == ""


@dataclass
class ComplianceResult:
    """Per-person rule results and the shares not meeting each standard.

    ``by_unit`` and ``overall`` are :func:`shares_not_met` of ``persons`` (by ``unit``, and
    over everyone, rules in ``rule_order``), computed when first read (most callers need one
    of them or neither) and then kept: change ``persons`` only after reading them."""

    persons: pd.DataFrame
    policy: ExceptionPolicy
    reference_year: int
    rules: pd.DataFrame = field(repr=False)
    unit: str = "commune_code"
    conf: float = 0.95
    rule_order: tuple[str, ...] | None = field(default=None, repr=False)

    @functools.cached_property
    def by_unit(self) -> pd.DataFrame:
        return shares_not_met(self.persons, by=[self.unit], conf=self.conf,
                              rule_order=self.rule_order)

    @functools.cached_property
    def overall(self) -> pd.DataFrame:
        return shares_not_met(self.persons, by=[], conf=self.conf, rule_order=self.rule_order)

    def summary(self) -> str:
        lines = [f"Decree 33/2023 compliance, reference year {self.reference_year}; "
                 f"{self.policy.summary()}"]
        for r in self.overall.itertuples(index=False):
            share = "n/a" if np.isnan(r.share) else f"{r.share:.1%} [{r.lo:.1%}, {r.hi:.1%}]"
            lines.append(f"  {r.rule_id:<13} not met {r.k:>4}/{r.n:<4} {share}"
                         f"  (missing {r.n_missing}, not applicable {r.n_not_applicable})")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()


def evaluate_standards(
    personnel: pd.DataFrame,
    *,
    reference_year: int,
    policy: ExceptionPolicy = ExceptionPolicy(),
    cols: Columns = DEFAULT,
    level_map: Mapping[str, str] | None = None,
    rules: pd.DataFrame | None = None,
    fit: pd.DataFrame | None = None,
    levels: pd.DataFrame | None = None,
    by: str | None = None,
    conf: float = 0.95,
) -> ComplianceResult:
    """Evaluate every standard of Decree 33/2023 for every official.

    Parameters
    ----------
    personnel
        One row per official with ``cols.id``, ``cols.commune_code``, ``cols.kind``
        (``can_bo``/``cong_chuc``), ``cols.position`` and the attributes the rules name
        (``birth_year`` or ``birth_date``, ``general_education``, ``education_level``,
        ``field_of_study``).
    reference_year
        Year at which age is computed (the survey year).
    policy
        The intermediate-level exception (:class:`ExceptionPolicy`).
    level_map
        Optional mapping from the register's education codes to the level codes of
        ``decree33_education_levels.csv`` (labels in Vietnamese or English work without it).
    rules, fit, levels
        Override the reference files (tests, sensitivity analyses).
    by
        Unit column for :attr:`ComplianceResult.by_unit` (default ``cols.commune_code``).

    Returns a :class:`ComplianceResult`: ``persons`` (one row per person × rule with
    ``status``, ``reason_vi``, ``reason_en``, ``value``), ``by_unit`` and ``overall`` (per rule:
    ``n`` evaluated, ``k`` not met, ``share``, Wilson ``lo``/``hi``, ``n_missing``,
    ``n_not_applicable``).  The pseudo-rule ``ANY`` is not met when any rule is not met,
    missing when none is not met but one is missing, not applicable for cadres.
    """
    rules = legal.standards() if rules is None else rules
    fit = legal.field_fit() if fit is None else fit
    levels = legal.education_levels() if levels is None else levels
    by = by or cols.commune_code
    if not isinstance(reference_year, (int, np.integer)) or not 1900 < reference_year < 2100:
        raise ModelError(f"reference_year must be a year, got {reference_year!r}")
    need = [cols.id, cols.commune_code, cols.kind, cols.position]
    if by not in need:
        need.append(by)
    absent = [c for c in need if c not in personnel.columns]
    if absent:
        raise ModelError(f"personnel lacks columns {absent}")
    if personnel.empty:
        raise ModelError("personnel has no rows")
    if personnel[cols.id].duplicated().any():
        raise ModelError(f"{cols.id} must identify one official per row")
    kinds = set(personnel[cols.kind].dropna().astype(str))
    if not kinds <= legal.KINDS:
        raise ModelError(f"unknown kinds {sorted(kinds - legal.KINDS)}; expected {sorted(legal.KINDS)}")

    lookup, by_code = _level_lookup(levels, level_map)
    fits = {(pos, fld) for pos, fld, ok in _rows(fit, ["position_code", "field", "fit"])
            if int(ok) == 1}
    titled = set(fit["position_code"])
    attr_col = {"age": cols.birth_year, "general_education": cols.general_education,
                "education": cols.education, "field": cols.field}

    personnel = personnel.copy()
    if cols.birth_year not in personnel.columns and cols.birth_date in personnel.columns:
        personnel[cols.birth_year] = birth_year(personnel, cols)
    records = []
    rule_rows = _rows(rules)  # once, not once per person
    # each person's values of the columns the rules and the records read (the same values
    # as the whole row's: a column absent here is absent there too, and ``_apply`` reads
    # every column with ``.get``)
    read = [cols.id, cols.commune_code, by, cols.kind, cols.position,
            *(attr_col.get(r.attribute, r.attribute) for r in rule_rows)]
    read = [c for c in dict.fromkeys(read) if c in personnel.columns]
    for person in personnel[read].to_dict("records"):
        kind = person[cols.kind]
        base = {cols.id: person[cols.id], "commune_code": person[cols.commune_code],
                by: person[by], "kind": kind, "position_code": person[cols.position]}
        if _missing(kind):
            records.append({**base, "rule_id": ANY_RULE, "status": "missing", "value": None,
                            "reason_vi": "Thiếu loại (cán bộ/công chức)",
                            "reason_en": "kind (cadre/civil servant) missing"})
            continue
        mine = []
        for rule in rule_rows:
            if rule.applies_to != kind:
                continue
            status, value, vi, en = _apply(rule, person, cols, attr_col, reference_year,
                                           policy, lookup, by_code, fits, titled)
            mine.append({**base, "rule_id": rule.rule_id, "status": status, "value": value,
                         "reason_vi": vi, "reason_en": en})
        records.extend(mine)
        if mine:
            records.append(_any_record(base, mine))
    columns = list(dict.fromkeys([cols.id, "commune_code", by, "kind", "position_code",
                                  "rule_id", "status", "value", "reason_vi", "reason_en"]))
    persons = pd.DataFrame.from_records(records, columns=columns)
    persons["value"] = persons["value"].astype("string")
    rule_order = [*rules["rule_id"], ANY_RULE]
    rank = {r: i for i, r in enumerate(rule_order)}
    persons = persons.sort_values(
        [by, cols.id, "rule_id"],
        key=lambda s: s.map(rank) if s.name == "rule_id" else s.astype("string"),
        ignore_index=True)
    if not 0 < conf < 1:  # as shares_not_met would (it runs when by_unit is first read)
        raise ModelError(f"conf must lie in (0, 1), got {conf}")
    return ComplianceResult(persons, policy, int(reference_year), rules, unit=by, conf=conf,
                            rule_order=tuple(rule_order))


def _apply(rule, person, cols, attr_col, year, policy, lookup, by_code, fits, titled):
    """One rule for one person → ``(status, value, reason_vi, reason_en)``."""
    op = rule.operator
    if op == "not_applicable":
        return ("not_applicable", None, rule.label_vi,
                f"no standard in the reference data: {rule.label_en}")
    col = attr_col.get(rule.attribute, rule.attribute)
    raw = person.get(col)
    if _missing(raw):
        return ("missing", None, f"Thiếu dữ liệu: {col}", f"{col} missing")
    if op == "min":
        if rule.attribute == "age":
            try:
                value = year - int(float(raw))
            except (TypeError, ValueError):
                return ("missing", str(raw), f"Năm sinh không hợp lệ: {raw}",
                        f"invalid birth year {raw!r}")
        else:
            value = float(raw)
        thr = float(rule.threshold)
        ok = value >= thr
        return ("met" if ok else "not_met", str(value),
                f"{rule.attribute} = {value} {'≥' if ok else '<'} {rule.threshold}",
                f"{rule.attribute} = {value} {'>=' if ok else '<'} {rule.threshold}")
    if op == "min_level":
        hit = lookup.get(_key(raw))
        thr_code = rule.threshold
        exc = bool(rule.exception_id) and policy.applies(person.get(cols.commune_code))
        if exc:
            thr_code = rule.exception_threshold
        scale, thr_rank, _ = by_code[thr_code]
        if hit is None:
            return ("missing", str(raw), f"Trình độ không nhận dạng được: {raw}",
                    f"unrecognised education level {raw!r}")
        if hit[0] != scale:
            return ("missing", str(raw), f"Giá trị {raw} không thuộc thang {scale}",
                    f"value {raw!r} is not on the {scale} scale")
        ok = hit[1] >= thr_rank
        note_vi = " (áp dụng ngoại lệ trung cấp)" if exc else ""
        note_en = " (intermediate-level exception applied)" if exc else ""
        return ("met" if ok else "not_met", hit[2],
                f"{hit[2]} {'≥' if ok else '<'} {thr_code}{note_vi}",
                f"{hit[2]} {'>=' if ok else '<'} {thr_code}{note_en}")
    if op == "fits_title":
        pos = person.get(cols.position)
        if _missing(pos):
            return ("missing", str(raw), "Thiếu chức danh", "title missing")
        if pos not in titled:
            return ("missing", str(raw), f"Chức danh {pos} không có trong bảng phù hợp",
                    f"title {pos!r} not in the field-fit table")
        ok = (pos, str(raw)) in fits
        return ("met" if ok else "not_met", str(raw),
                f"Ngành {raw} {'phù hợp' if ok else 'không phù hợp'} với {pos} (giả định)",
                f"field {raw} {'fits' if ok else 'does not fit'} {pos} (assumption)")
    raise ModelError(f"unknown operator {op!r} in rule {rule.rule_id}")


def _any_record(base: dict, rows: list[dict]) -> dict:
    """The pseudo-rule ``ANY`` of one person from the person's rule rows (in rule order):
    not met if any rule is not met (naming them), else missing if any is missing, else not
    applicable if every rule is (with the first rule's reasons), else met."""
    statuses = [r["status"] for r in rows]
    if "not_met" in statuses:
        failed = ", ".join(str(r["rule_id"]) for r in rows if r["status"] == "not_met")
        status, vi, en = "not_met", "Không đạt: " + failed, "not met: " + failed
    elif "missing" in statuses:
        status, vi, en = ("missing", "Thiếu dữ liệu cho ít nhất một tiêu chuẩn",
                          "data missing for at least one standard")
    elif all(s == "not_applicable" for s in statuses):
        status, vi, en = "not_applicable", rows[0]["reason_vi"], rows[0]["reason_en"]
    else:
        status, vi, en = "met", "Đạt mọi tiêu chuẩn", "meets every standard"
    return {**base, "rule_id": ANY_RULE, "status": status, "value": None, "reason_vi": vi,
            "reason_en": en}


def shares_not_met(persons: pd.DataFrame, by: Iterable[str] = (), conf: float = 0.95,
                   rule_order: Iterable[str] | None = None) -> pd.DataFrame:
    """Share not meeting each rule among the evaluated (met + not met), with Wilson intervals.

    Columns: ``*by, rule_id, n`` (evaluated), ``k`` (not met), ``share, lo, hi, n_missing,
    n_not_applicable``.  Sorted by ``by`` then rule order of appearance.  On the personnel
    register, a census, the share is exact: ``lo``/``hi`` then answer only a superpopulation
    question (the same officials as a draw from a process), which the notebooks do not ask;
    notebook 04 and the claims ledger print the share without them (``docs/inference.md``,
    :func:`hlstudy.evidence.rules.exact_interval`).
    """
    by = list(by)
    keys = [*by, "rule_id"]
    # rows per (keys, status), one column per status: pivot_table's table, a third the cost
    counts = (persons.groupby([*keys, "status"], observed=True).size()
              .unstack("status", fill_value=0)
              .reindex(columns=list(STATUSES), fill_value=0))
    n = (counts["met"] + counts["not_met"]).to_numpy()
    st = share_table(counts["not_met"].to_numpy(), n, conf)
    out = counts.reset_index()[keys]
    out = pd.concat([out, st], axis=1)
    out["n_missing"] = counts["missing"].to_numpy().astype("int64")
    out["n_not_applicable"] = counts["not_applicable"].to_numpy().astype("int64")
    order = list(rule_order) if rule_order is not None else sorted(set(persons["rule_id"]))
    rank = {r: i for i, r in enumerate(order)}
    return out.sort_values(keys, key=lambda s: s.map(rank) if s.name == "rule_id" else s,
                           ignore_index=True)
