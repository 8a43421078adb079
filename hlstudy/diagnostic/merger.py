"""Aggregation of commune tables to the 8 communes created on 1 July 2025.

Resolution 1672/NQ-UBTVQH15 merged Hữu Lũng's 23 units into 8 communes; the registry's
``commune_2025`` column is the crosswalk.  Counts are summed; shares are recomputed from
the summed numerators and denominators (never averaged), with new Wilson intervals; means
must be recomputed from person-level data grouped by ``commune_2025`` instead (see
:func:`hlstudy.diagnostic.quality.commune_means`).

Example
-------
>>> import pandas as pd
>>> reg = pd.DataFrame({"code": ["a", "b", "c"], "commune_2025": ["X", "X", "Y"]})
>>> t = pd.DataFrame({"commune_code": ["a", "b", "c"], "n": [10, 5, 8], "k": [2, 1, 4]})
>>> to_2025(t, reg, sum_columns=["n", "k"])[["commune_2025", "n", "k"]].values.tolist()
[['X', 15, 3], ['Y', 8, 4]]
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from hlstudy.diagnostic.intervals import share_table
from hlstudy.errors import ModelError


def crosswalk(communes: pd.DataFrame) -> pd.Series:
    """Registry code → 2025 commune (a Series indexed by ``code``)."""
    for c in ("code", "commune_2025"):
        if c not in communes.columns:
            raise ModelError(f"communes lacks column {c!r}")
    cw = communes.set_index(communes["code"].astype(str))["commune_2025"].astype("string")
    if cw.index.duplicated().any():
        raise ModelError("registry codes must be unique")
    if cw.isna().any():
        raise ModelError(f"no 2025 commune for {sorted(cw.index[cw.isna()])}")
    return cw


def to_2025(table: pd.DataFrame, communes: pd.DataFrame, *, sum_columns: Sequence[str],
            key: str = "commune_code", by: Sequence[str] = (), conf: float = 0.95
            ) -> pd.DataFrame:
    """Sum ``sum_columns`` of a per-commune table within each 2025 commune (and ``by``).

    If ``n`` and ``k`` are among the summed columns, ``share, lo, hi`` are recomputed
    (Wilson).  Every row's ``key`` must be in the registry.  Returns ``commune_2025, *by,
    *sum_columns`` (+ ``n_units``: how many old units contributed), sorted.
    """
    by = list(by)
    sums = list(sum_columns)
    absent = [c for c in [key, *by, *sums] if c not in table.columns]
    if absent:
        raise ModelError(f"table lacks columns {absent}")
    cw = crosswalk(communes)
    codes = table[key].astype(str)
    unknown = sorted(set(codes) - set(cw.index))
    if unknown:
        raise ModelError(f"codes not in the registry: {unknown}")
    d = table.assign(commune_2025=codes.map(cw).to_numpy())
    for c in sums:
        if not pd.api.types.is_numeric_dtype(d[c]):
            raise ModelError(f"column {c!r} is not numeric and cannot be summed")
    g = d.groupby(["commune_2025", *by], sort=True)
    out = g[sums].sum().reset_index()
    out["n_units"] = g[key].nunique().to_numpy()
    if {"n", "k"} <= set(sums):
        st = share_table(out["k"], out["n"], conf)
        out[["share", "lo", "hi"]] = st[["share", "lo", "hi"]].to_numpy()
    return out
