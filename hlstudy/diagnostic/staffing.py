"""Staffing of each commune against its Decree 33/2023 headcount quota.

The quota depends on the unit's type (xã, thị trấn, phường) and class (loại I/II/III).  The
class of each Hữu Lũng commune is not public (no provincial decision found), so it is an explicit input:
:class:`UnitClasses` holds a class per commune code together with its ``basis`` (for example
``"sim"`` for a simulated assignment), and every table built from it carries that label.

Example
-------
>>> import pandas as pd
>>> communes = pd.DataFrame({"code": ["A"], "name": ["Xã A"], "unit_type": ["Xã"]})
>>> staff = pd.DataFrame({"commune_code": ["A"] * 21, "kind": ["can_bo"] * 10 + ["cong_chuc"] * 11})
>>> tab = staffing_vs_quota(staff, communes, UnitClasses({"A": "II"}, basis="example"))
>>> staffing_summary(tab)["excess_posts"], tab.at[0, "status"]
(1, 'over')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hlstudy import _resultcache, legal
from hlstudy.diagnostic.columns import DEFAULT, Columns
from hlstudy.errors import ModelError


@dataclass(frozen=True)
class UnitClasses:
    """Class (``I``, ``II``, ``III``) of each commune, with where the assignment comes from."""

    classes: Mapping[str, str]
    basis: str

    def __post_init__(self):
        clean = {}
        for code, cls in dict(self.classes).items():
            c = str(cls).strip().upper()
            if c not in legal.UNIT_CLASSES:
                raise ModelError(f"commune {code}: class {cls!r} not in {legal.UNIT_CLASSES}")
            clean[str(code)] = c
        object.__setattr__(self, "classes", clean)
        if not str(self.basis).strip():
            raise ModelError("say where the unit classes come from (basis='sim', 'decision …')")

    def summary(self) -> str:
        counts = pd.Series(self.classes).value_counts().reindex(legal.UNIT_CLASSES, fill_value=0)
        parts = ", ".join(f"loại {k}: {v}" for k, v in counts.items())
        return f"unit classes of {len(self.classes)} communes ({parts}); basis: {self.basis}"

    def __repr__(self) -> str:
        return f"UnitClasses: {self.summary()}"



def _checked_codes(communes: pd.DataFrame, personnel: pd.DataFrame, classes,
                   person_columns) -> pd.Series:
    """Registry codes (text), after checking the columns both tables need and that every
    commune has a unit class; raises :class:`ModelError` naming what is missing."""
    for c in ("code", "name", "unit_type"):
        if c not in communes.columns:
            raise ModelError(f"communes lacks column {c!r}")
    for c in person_columns:
        if c not in personnel.columns:
            raise ModelError(f"personnel lacks column {c!r}")
    codes = communes["code"].astype(str)
    missing = sorted(set(codes) - set(classes.classes))
    if missing:
        raise ModelError(f"no unit class for communes {missing}")
    return codes

def simulate_unit_classes(codes, *, seed: int, p=(0.3, 0.5, 0.2)) -> UnitClasses:
    """Draw a class per commune with probabilities ``p`` for I/II/III (labelled ``sim``).

    For analyses without the province's classification decision; deterministic given
    ``seed`` (codes are sorted first).
    """
    p = np.asarray(p, dtype=float)
    if p.shape != (3,) or np.any(p < 0) or not np.isclose(p.sum(), 1):
        raise ModelError("p must be three probabilities (I, II, III) summing to 1")
    codes = sorted(str(c) for c in codes)
    rng = np.random.default_rng(seed)
    drawn = rng.choice(np.array(legal.UNIT_CLASSES), size=len(codes), p=p)
    return UnitClasses(dict(zip(codes, drawn.tolist(), strict=True)),
                       basis=f"sim (seed {seed}, p = {tuple(float(x) for x in p)})")


def staffing_vs_quota(personnel: pd.DataFrame, communes: pd.DataFrame, classes: UnitClasses, *,
                      cols: Columns = DEFAULT) -> pd.DataFrame:
    """Headcount per commune against the Decree 33/2023 quota for its type and class.

    ``personnel`` has one row per official (``cols.commune_code``, ``cols.kind``);
    ``communes`` is the registry (``code, name, unit_type`` and, if present, ``commune_2025``).
    Returns one row per registry commune (communes without officials show 0), sorted by
    code: ``commune_code, commune, unit_type, unit_class, class_basis, n_can_bo,
    n_cong_chuc, n_kind_missing, n_staff, quota, gap`` (``n_staff − quota``), ``status``
    (``vacancies``, ``at quota``, ``over``), ``share_cong_chuc``.
    """
    codes = _checked_codes(communes, personnel, classes, (cols.commune_code, cols.kind))
    unknown = sorted(set(personnel[cols.commune_code].dropna().astype(str)) - set(codes))
    if unknown:
        raise ModelError(f"personnel lists communes absent from the registry: {unknown}")
    kind = personnel[cols.kind].astype("string")
    counts = (pd.DataFrame({"code": personnel[cols.commune_code].astype(str),
                            "can_bo": (kind == "can_bo").fillna(False).astype(int),
                            "cong_chuc": (kind == "cong_chuc").fillna(False).astype(int),
                            "missing": kind.isna().astype(int)})
              .groupby("code").sum())
    out = pd.DataFrame({"commune_code": codes.to_numpy(), "commune": communes["name"].to_numpy(),
                        "unit_type": communes["unit_type"].to_numpy()})
    if "commune_2025" in communes.columns:
        out["commune_2025"] = communes["commune_2025"].to_numpy()
    out["unit_class"] = out["commune_code"].map(classes.classes)
    out["class_basis"] = classes.basis
    c = counts.reindex(out["commune_code"]).fillna(0).astype("int64")
    out["n_can_bo"] = c["can_bo"].to_numpy()
    out["n_cong_chuc"] = c["cong_chuc"].to_numpy()
    out["n_kind_missing"] = c["missing"].to_numpy()
    out["n_staff"] = out["n_can_bo"] + out["n_cong_chuc"] + out["n_kind_missing"]
    out["quota"] = [legal.quota(t, k) for t, k in zip(out["unit_type"], out["unit_class"],
                                                       strict=True)]
    out["gap"] = out["n_staff"] - out["quota"]
    out["status"] = np.select([out["gap"] < 0, out["gap"] == 0], ["vacancies", "at quota"],
                              default="over")
    known = out["n_can_bo"] + out["n_cong_chuc"]
    out["share_cong_chuc"] = np.where(known > 0, out["n_cong_chuc"] / known.where(known > 0, 1),
                                      np.nan)
    return out.sort_values("commune_code", ignore_index=True)


def staffing_summary(table: pd.DataFrame) -> dict:
    """District totals of a :func:`staffing_vs_quota` table (for prose and findings)."""
    return {
        "n_units": int(len(table)),
        "n_staff": int(table["n_staff"].sum()),
        "quota": int(table["quota"].sum()),
        "n_vacancies_units": int((table["status"] == "vacancies").sum()),
        "n_over_units": int((table["status"] == "over").sum()),
        "n_at_quota_units": int((table["status"] == "at quota").sum()),
        "vacant_posts": int((-table["gap"].clip(upper=0)).sum()),
        "excess_posts": int(table["gap"].clip(lower=0).sum()),
        "n_can_bo": int(table["n_can_bo"].sum()),
        "n_cong_chuc": int(table["n_cong_chuc"].sum()),
    }


def quota_scenarios(personnel: pd.DataFrame, communes: pd.DataFrame, *,
                    cols: Columns = DEFAULT) -> pd.DataFrame:
    """Headcount against the quota of each possible class (the classes are not public).

    One row per commune: ``commune_code, commune, unit_type, n_staff`` and, for each class
    ``c`` in I/II/III, ``quota_c`` and ``gap_c`` (``n_staff − quota_c``).  Shows which
    conclusions about vacancies hold whatever the commune's class.
    """
    out = None
    for c in legal.UNIT_CLASSES:
        tab = staffing_vs_quota(personnel, communes,
                                UnitClasses({k: c for k in communes["code"].astype(str)},
                                            basis=f"all loại {c}"), cols=cols)
        if out is None:
            out = tab[["commune_code", "commune", "unit_type", "n_staff"]].copy()
        out[f"quota_{c}"] = tab["quota"].to_numpy()
        out[f"gap_{c}"] = tab["gap"].to_numpy()
    return out


@_resultcache.kept
def title_counts(personnel: pd.DataFrame, communes: pd.DataFrame, classes: UnitClasses, *,
                 cols: Columns = DEFAULT) -> pd.DataFrame:
    """Holders of each limited title per unit against the legal maximum.

    The limits are :func:`hlstudy.legal.title_limits` (``data/reference/title_limits.csv``):
    Phó Chủ tịch UBND at most 2 in loại I and II and 1 in loại III (Decree 08/2016/NĐ-CP
    Art. 7 as amended by Decree 69/2020/NĐ-CP, term 2021–2026); one Phó Chủ tịch HĐND (Law
    on the Organisation of Local Government 2015, Art. 32(2)); one holder of each chair or
    secretary post and of the military command (an assumption of this project).  Titles
    without a recorded limit (the other civil-servant titles, Phó Bí thư) are not checked.

    Returns one row per unit × limited title, sorted by commune code and title:
    ``commune_code, commune, unit_type, unit_class, class_basis, position_code, n, max_count,
    over`` (``n > max_count``), ``limit_source, limit_confidence``.  The result depends on
    the unit classes: with simulated classes (``class_basis`` "sim…") the check is itself
    simulated.  Raises :class:`ModelError` on missing columns or unit classes.

    >>> communes = pd.DataFrame({"code": ["A"], "name": ["Xã A"], "unit_type": ["xã"]})
    >>> staff = pd.DataFrame({"commune_code": ["A", "A"], "position_code": ["PCT_UBND"] * 2})
    >>> t = title_counts(staff, communes, UnitClasses({"A": "III"}, basis="example"))
    >>> t.set_index("position_code").loc["PCT_UBND", ["n", "max_count", "over"]].tolist()
    [2, 1, True]
    """
    codes = _checked_codes(communes, personnel, classes, (cols.commune_code, cols.position))
    limits = legal.title_limits()
    held = (pd.DataFrame({"code": personnel[cols.commune_code].astype(str),
                          "pos": personnel[cols.position].astype("string")})
            .dropna().groupby(["code", "pos"]).size())
    held = {key: int(n) for key, n in held.items()}
    positions = sorted(limits["position_code"].unique())
    # the limit and its source depend on the title and the unit's type and class only:
    # looked up once per distinct (title, type, class), not once per commune
    rules: dict[tuple, tuple | None] = {}

    def rule(pos, ut_n, uc):
        key = (pos, ut_n, uc)
        if key not in rules:
            lim = legal.title_limit(pos, ut_n, uc)
            if lim is None:
                rules[key] = None
            else:
                src = limits[(limits["position_code"] == pos)
                             & limits["unit_type"].isin([ut_n, "*"])
                             & limits["unit_class"].isin([uc, "*"])].iloc[0]
                rules[key] = (lim, src["source"], src["confidence"])
        return rules[key]

    rows = []
    for code, name, ut in zip(codes, communes["name"], communes["unit_type"], strict=True):
        ut_n = legal.normalize_unit_type(ut)
        uc = classes.classes[code]
        for pos in positions:
            found = rule(pos, ut_n, uc)
            if found is None:
                continue
            lim, source, confidence = found
            n = held.get((code, pos), 0)
            rows.append({"commune_code": code, "commune": name, "unit_type": ut_n,
                         "unit_class": uc, "class_basis": classes.basis, "position_code": pos,
                         "n": n, "max_count": lim, "over": n > lim,
                         "limit_source": source, "limit_confidence": confidence})
    return (pd.DataFrame(rows).sort_values(["commune_code", "position_code"], ignore_index=True))
