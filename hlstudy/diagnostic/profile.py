"""Profile of the workforce: age, tenure, gender, ethnicity, education, training.

Every share comes with its denominator ``n``, numerator ``k`` and a Wilson 95% interval
(``lo``, ``hi``), so that tables can be passed straight to :func:`hlstudy.export.save_table`
with :data:`SHARE_SUPPRESSION` (rates of fewer than 5 people are suppressed there).

Example
-------
>>> import pandas as pd
>>> df = pd.DataFrame({"gender": ["female", "male", "male", "female"], "kind": ["a"] * 4})
>>> distribution(df, "gender")[["level", "n", "k", "share"]].values.tolist()
[['female', 4, 2, 0.5], ['male', 4, 2, 0.5]]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from hlstudy.diagnostic.columns import DEFAULT, Columns
from hlstudy.diagnostic.intervals import share_table, wilson
from hlstudy.errors import ModelError

#: Arguments for :func:`hlstudy.export.save_table` / ``suppress_small_cells`` on share
#: tables: a rate over fewer than 5 people, or a count of 1–4 people, is suppressed together
#: with the cells that would reveal it.
SHARE_SUPPRESSION = {
    "count_columns": ["n", "k"],
    "dependent": {"n": ["k", "share", "lo", "hi"], "k": ["share", "lo", "hi"]},
}

#: Default leadership posts (chức danh lãnh đạo): Party committee secretaries, People's
#: Council and People's Committee chairs and vice-chairs.  An analysis choice, stated in the
#: notebook; pass ``leadership=`` to change it.
LEADERSHIP = ("BT_DU", "PBT_DU", "CT_HDND", "PCT_HDND", "CT_UBND", "PCT_UBND")


def _require(df: pd.DataFrame, columns: Iterable[str]) -> None:
    absent = [c for c in columns if c not in df.columns]
    if absent:
        raise ModelError(f"data lack columns {absent}")


def distribution(df: pd.DataFrame, column: str, *, by: str | Sequence[str] | None = None,
                 order: Sequence[str] | None = None, conf: float = 0.95) -> pd.DataFrame:
    """Share of each level of ``column`` (missing values excluded from ``n``), by group.

    Columns ``*by, level, n, k, share, lo, hi``; ``n`` is the number with a non-missing
    answer in the group.  ``order`` fixes the order (and presence) of the levels.
    """
    by = [] if by is None else [by] if isinstance(by, str) else list(by)
    _require(df, [column, *by])
    d = df[[*by, column]].copy()
    d[column] = d[column].astype("string")
    d = d[d[column].notna()]
    levels = list(order) if order is not None else sorted(d[column].unique())
    rows = []
    groups = d.groupby(by, sort=True, dropna=False) if by else [((), d)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        n = len(g)
        counts = g[column].value_counts()
        for lev in levels:
            rows.append({**dict(zip(by, key, strict=True)), "level": lev, "n": n,
                         "k": int(counts.get(lev, 0))})
    out = pd.DataFrame(rows, columns=[*by, "level", "n", "k"])
    st = share_table(out["k"], out["n"], conf)
    out[["share", "lo", "hi"]] = st[["share", "lo", "hi"]].to_numpy()
    return out


def share(df: pd.DataFrame, condition: pd.Series, *, by: str | Sequence[str] | None = None,
          label: str = "share", conf: float = 0.95) -> pd.DataFrame:
    """Share of rows meeting a boolean ``condition`` (NA = not evaluable), by group.

    Columns ``*by, indicator, n, k, share, lo, hi``.
    """
    by = [] if by is None else [by] if isinstance(by, str) else list(by)
    _require(df, by)
    cond = pd.Series(condition, index=df.index).astype("boolean")
    d = df[by].copy()
    d["_c"] = cond
    d = d[d["_c"].notna()]
    if by:
        g = d.groupby(by, sort=True)["_c"]
        out = pd.DataFrame({"n": g.size(), "k": g.sum().astype("int64")}).reset_index()
    else:
        out = pd.DataFrame({"n": [len(d)], "k": [int(d["_c"].sum())]})
    out.insert(len(by), "indicator", label)
    st = share_table(out["k"], out["n"], conf)
    out[["share", "lo", "hi"]] = st[["share", "lo", "hi"]].to_numpy()
    return out


def add_age(df: pd.DataFrame, reference_year: int, cols: Columns = DEFAULT) -> pd.Series:
    """Age in completed years at ``reference_year`` (from the birth year)."""
    _require(df, [cols.birth_year])
    return reference_year - pd.to_numeric(df[cols.birth_year], errors="coerce")


def banded(values: pd.Series, edges: Sequence[float], labels: Sequence[str] | None = None
           ) -> pd.Series:
    """Cut ``values`` into left-closed bands ``[e0, e1), [e1, e2), …`` (labels ``"e0–e1"``)."""
    edges = list(edges)
    if len(edges) < 2 or any(b <= a for a, b in zip(edges, edges[1:], strict=False)):
        raise ModelError("band edges must be increasing, at least two")
    if labels is None:
        labels = [f"{a:g}–{b - 1:g}" if np.isfinite(b) else f"{a:g}+"
                  for a, b in zip(edges, edges[1:], strict=False)]
    if len(labels) != len(edges) - 1:
        raise ModelError("need one label per band")
    cut = pd.cut(pd.to_numeric(values, errors="coerce"), edges, right=False, labels=list(labels))
    return cut.astype("string")


def women_share(df: pd.DataFrame, *, female: str | Iterable[str] = ("female", "nu", "nữ"),
                leadership: Iterable[str] = LEADERSHIP, cols: Columns = DEFAULT,
                conf: float = 0.95) -> pd.DataFrame:
    """Share of women overall, among cadres, civil servants, and in leadership posts.

    Columns ``group, n, k, share, lo, hi`` (``group`` ∈ all, can_bo, cong_chuc, leadership).
    """
    _require(df, [cols.gender, cols.kind, cols.position])
    female = {female} if isinstance(female, str) else set(female)
    g = df[cols.gender].astype("string")
    is_f = g.str.strip().str.lower().isin({f.lower() for f in female}).astype("boolean")
    is_f[g.isna()] = pd.NA
    lead = df[cols.position].astype("string").isin(set(leadership)).fillna(False)
    groups = {"all": pd.Series(True, index=df.index),
              "can_bo": df[cols.kind].astype("string").eq("can_bo").fillna(False),
              "cong_chuc": df[cols.kind].astype("string").eq("cong_chuc").fillna(False),
              "leadership": lead}
    rows = []
    for name, mask in groups.items():
        sel = is_f[mask.to_numpy(bool)].dropna()
        rows.append({"group": name, "n": len(sel), "k": int(sel.sum())})
    out = pd.DataFrame(rows)
    st = share_table(out["k"], out["n"], conf)
    out[["share", "lo", "hi"]] = st[["share", "lo", "hi"]].to_numpy()
    return out


def representation(df: pd.DataFrame, population_shares: Mapping[str, float], *,
                   cols: Columns = DEFAULT, conf: float = 0.95) -> pd.DataFrame:
    """Ethnic representation ratio: share among officials ÷ share in the district population.

    ``population_shares`` maps ethnicity code → population share (0–1; e.g. the district
    facts).  Ethnicities of officials absent from the mapping are pooled as ``other`` if
    the mapping has ``other``, else raise.  The interval of the ratio is the Wilson interval
    of the officials' share divided by the (fixed) population share.
    Columns ``ethnicity, n, k, share, lo, hi, population_share, ratio, ratio_lo, ratio_hi``.
    """
    _require(df, [cols.ethnicity])
    pop = {str(k): float(v) for k, v in population_shares.items()}
    if any(v <= 0 or v > 1 for v in pop.values()):
        raise ModelError("population shares must lie in (0, 1]")
    eth = df[cols.ethnicity].astype("string").dropna()
    unknown = sorted(set(eth) - set(pop))
    if unknown:
        if "other" not in pop:
            raise ModelError(f"no population share for ethnicities {unknown}")
        eth = eth.where(eth.isin(set(pop)), "other")
    n = len(eth)
    counts = eth.value_counts()
    rows = [{"ethnicity": e, "n": n, "k": int(counts.get(e, 0)), "population_share": s}
            for e, s in pop.items()]
    out = pd.DataFrame(rows)
    lo, hi = wilson(out["k"], out["n"], conf)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["share"] = np.where(out["n"] > 0, out["k"] / out["n"].where(out["n"] > 0, 1), np.nan)
    out["lo"], out["hi"] = lo, hi
    out["ratio"] = out["share"] / out["population_share"]
    out["ratio_lo"] = out["lo"] / out["population_share"]
    out["ratio_hi"] = out["hi"] / out["population_share"]
    cols_out = ["ethnicity", "n", "k", "share", "lo", "hi", "population_share", "ratio",
                "ratio_lo", "ratio_hi"]
    return out[cols_out].sort_values("population_share", ascending=False, ignore_index=True)


AGE_EDGES = (18, 30, 40, 50, 60, np.inf)
TENURE_EDGES = (0, 2, 5, 10, 20, np.inf)


def workforce_profile(personnel: pd.DataFrame, *, reference_year: int,
                      population_shares: Mapping[str, float] | None = None,
                      cols: Columns = DEFAULT, age_edges: Sequence[float] = AGE_EDGES,
                      tenure_edges: Sequence[float] = TENURE_EDGES,
                      leadership: Iterable[str] = LEADERSHIP,
                      orders: Mapping[str, Sequence[str]] | None = None,
                      conf: float = 0.95) -> dict[str, pd.DataFrame]:
    """The standard profile tables of thesis section 2.1, each by kind (cán bộ / công chức).

    Returns ``{"age", "tenure", "education", "general_education", "political_theory",
    "state_management", "trainings", "women", "ethnicity"}`` (``ethnicity`` only with
    ``population_shares``).  Every table has ``n, k, share, lo, hi``.  ``orders`` fixes the
    level order per table key (e.g. the codebook's value-set order).
    """
    from hlstudy.diagnostic.columns import birth_year, years_in_post

    _require(personnel, [cols.kind])
    orders = dict(orders or {})
    d = personnel.copy()
    d["age_band"] = banded(reference_year - birth_year(d, cols), age_edges)
    d["tenure_band"] = banded(years_in_post(d, reference_year, cols), tenure_edges)
    age_levels = [f"{a:g}–{b - 1:g}" if np.isfinite(b) else f"{a:g}+"
                  for a, b in zip(age_edges, age_edges[1:], strict=False)]
    ten_levels = [f"{a:g}–{b - 1:g}" if np.isfinite(b) else f"{a:g}+"
                  for a, b in zip(tenure_edges, tenure_edges[1:], strict=False)]
    tr = pd.to_numeric(d[cols.trainings_24m], errors="coerce") if cols.trainings_24m in d else None
    if tr is not None:
        d["training_band"] = tr.map(lambda x: pd.NA if pd.isna(x) else
                                    ("0" if x == 0 else "1" if x == 1 else "2+")).astype("string")
    both = pd.concat([d, d.assign(**{cols.kind: "all"})], ignore_index=True)
    out = {
        "age": distribution(both, "age_band", by=cols.kind, order=age_levels, conf=conf),
        "tenure": distribution(both, "tenure_band", by=cols.kind, order=ten_levels, conf=conf),
    }
    for key, col in (("education", cols.education),
                     ("general_education", cols.general_education),
                     ("political_theory", cols.political_theory),
                     ("state_management", cols.state_management)):
        if col in d.columns:
            out[key] = distribution(both, col, by=cols.kind, order=orders.get(key), conf=conf)
    if tr is not None:
        out["trainings"] = distribution(both, "training_band", by=cols.kind,
                                        order=["0", "1", "2+"], conf=conf)
    if cols.gender in d.columns:
        out["women"] = women_share(d, leadership=leadership, cols=cols, conf=conf)
    if population_shares is not None and cols.ethnicity in d.columns:
        out["ethnicity"] = representation(d, population_shares, cols=cols, conf=conf)
    return out


def suppress_shares(df: pd.DataFrame, *, within: Sequence[Sequence[str]] = (),
                    extra: Sequence[str] = (), min_cell: int = 5,
                    missing: str | None = None) -> pd.DataFrame:
    """Small-cell suppression of a share table, primary **and** complementary.

    Primary: :func:`hlstudy.export.suppress_small_cells` with :data:`SHARE_SUPPRESSION`
    (``n`` or ``k`` of 1 to ``min_cell - 1`` people), ``extra`` columns (e.g. a
    representation ratio, which is ``k`` rescaled) suppressed with the share.
    Complementary: each list of columns in ``within`` names groups of rows whose ``k`` add
    up to a published total (the levels of one distribution add up to ``n``; the
    ``all`` row is the sum of ``can_bo`` and ``cong_chuc``).  A group with exactly one
    suppressed ``k`` would give it away by subtraction, so the smallest other positive
    ``k`` of the group is suppressed too, repeated until no group has a lone suppressed
    cell (the usual rule of statistical disclosure control, e.g. Hundepool et al. 2012,
    *Statistical Disclosure Control*, ch. 4; sdcTable's ``protectTable`` in R).

    >>> t = pd.DataFrame({"level": ["a", "b", "c"], "n": [20] * 3, "k": [3, 7, 10],
    ...                   "share": [.15, .35, .5], "lo": [0.] * 3, "hi": [1.] * 3})
    The cells hidden only to protect another carry the mark ``x``
    (:data:`hlstudy.export.COMPLEMENTARY`), not ``<5``: their true value may be large, and a
    published table never states something false.  Prefer :func:`merge_small_levels` first:
    a merged category is published, a hidden one is not.

    >>> suppress_shares(t, within=[[]])["k"].tolist()
    ['<5', 'x', 10]

    ``missing``: a column counting the people of the row without data (``n_missing``), whose
    sum with ``n`` is a published total (every civil servant).  A missing count of 1 to
    ``min_cell - 1`` reads ``<5``, and the row's ``n`` with everything computed from it
    (``share``, ``lo``, ``hi``, ``extra``) reads ``x``: the total minus ``n`` would give it back.
    """
    from hlstudy import export

    if not isinstance(df, pd.DataFrame):
        raise ModelError("suppress_shares expects a DataFrame")
    _require(df, ["n", "k", *extra, *{c for g in within for c in g},
                  *([missing] if missing is not None else [])])
    if not isinstance(min_cell, int | np.integer) or min_cell < 1:
        raise ModelError(f"min_cell must be a positive integer, got {min_cell!r}")
    dependent = {k: [*v, *extra] for k, v in SHARE_SUPPRESSION["dependent"].items()}
    out = export.suppress_small_cells(df, SHARE_SUPPRESSION["count_columns"],
                                      dependent=dependent, min_cell=min_cell)
    k = pd.to_numeric(df["k"], errors="coerce")
    hidden = out["k"].astype(object).isin(export.HIDDEN_MARKS).to_numpy().copy()
    targets = ["k", *dependent["k"]]
    changed = True
    while changed:
        changed = False
        for cols in within:
            keys = [df[c].astype(object) for c in cols] or [pd.Series(0, index=df.index)]
            for _, idx in df.groupby(keys, sort=False, dropna=False).indices.items():
                if hidden[idx].sum() != 1:
                    continue
                candidates = [i for i in idx if not hidden[i] and k.iloc[i] > 0]
                if not candidates:
                    continue
                pick = min(candidates, key=lambda i: (k.iloc[i], i))
                hidden[pick] = True
                for col in targets:
                    out[col] = out[col].astype(object)
                    if out.iloc[pick, out.columns.get_loc(col)] != export.SUPPRESSED:
                        out.iloc[pick, out.columns.get_loc(col)] = export.COMPLEMENTARY
                changed = True
    if missing is not None:
        m = pd.to_numeric(df[missing], errors="coerce")
        small = ((m >= 1) & (m < min_cell)).to_numpy()
        out[missing] = out[missing].astype(object)
        out.loc[small, missing] = export.SUPPRESSED
        for col in ["n", "share", "lo", "hi", *extra]:
            if col not in out.columns:
                continue
            out[col] = out[col].astype(object)
            cells = small & ~out[col].isin(export.HIDDEN_MARKS).to_numpy()
            out.loc[cells, col] = export.COMPLEMENTARY
    return out


def _band_bounds(label: str):
    import re

    m = re.fullmatch(r"\s*(\d+)\s*[–-]\s*(\d+)\s*", str(label))
    if m:
        return m.group(1), m.group(2)
    m = re.fullmatch(r"\s*(\d+)\s*\+\s*", str(label))
    if m:
        return m.group(1), "+"
    return None


def _merged_label(a: str, b: str) -> str:
    ba, bb = _band_bounds(a), _band_bounds(b)
    if ba and bb:
        return f"{ba[0]}+" if bb[1] == "+" else f"{ba[0]}–{bb[1]}"
    return f"{a} + {b}"


def merge_small_levels(df: pd.DataFrame, *, by: str | Sequence[str] | None = None,
                       level: str = "level", min_cell: int = 5, ordered: bool = True,
                       other_label: str = "khác", conf: float = 0.95) -> pd.DataFrame:
    """Merge the levels of a distribution whose count ``k`` is 1 to ``min_cell - 1`` people.

    Merging publishes a coarser category where suppression would hide cells (issue 13,
    kind 1: "prefer merging categories over hiding").  ``df`` is a table of
    :func:`distribution` (columns ``*by, level, n, k``); the same merge is applied in every
    group of ``by`` (so that columns of cán bộ, công chức and all stay comparable).
    ``ordered=True`` (age bands, levels of education) merges the offending level with its
    neighbour of smaller total ``k`` (band labels ``18–29`` + ``30–39`` → ``18–39``; other
    labels joined with ``+``); ``ordered=False`` pools every offending level into
    ``other_label``.  Repeats until no level has ``0 < k < min_cell`` in any group or one
    level is left.  ``share, lo, hi`` (Wilson) are recomputed from the summed ``k``.
    Returns a new table in the same level order; raises :class:`ModelError` on a table
    without ``level``, ``n``, ``k``.

    >>> t = pd.DataFrame({"level": ["18–29", "30–39", "40+"], "n": [30] * 3, "k": [3, 12, 15]})
    >>> merge_small_levels(t)[["level", "k"]].values.tolist()
    [['18–39', 15], ['40+', 15]]
    """
    by = [] if by is None else [by] if isinstance(by, str) else list(by)
    _require(df, [*by, level, "n", "k"])
    if not isinstance(min_cell, int | np.integer) or min_cell < 1:
        raise ModelError(f"min_cell must be a positive integer, got {min_cell!r}")
    d = df[[*by, level, "n", "k"]].copy()
    d[level] = d[level].astype(str)
    d["k"] = pd.to_numeric(d["k"], errors="raise").astype("int64")
    levels = list(dict.fromkeys(d[level]))
    groups = [tuple(r) for r in d[by].drop_duplicates().itertuples(index=False)] if by else [()]

    mapping = {lev: lev for lev in levels}
    while len(levels) > 1:
        cur = d.assign(_l=d[level].map(mapping)).groupby([*by, "_l"], sort=False)["k"].sum()
        small = [lev for lev in levels
                 if any(0 < cur.get((*g, lev) if by else lev, 0) < min_cell for g in groups)]
        if not small:
            break
        if not ordered:
            pooled = [lev for lev in levels if lev in small or lev == other_label]
            if len(pooled) == 1 and pooled[0] == other_label:
                break
            target = other_label
            if len(pooled) == 1:   # a single small level: pool it with the smallest other
                tot = d.assign(_l=d[level].map(mapping)).groupby("_l")["k"].sum()
                rest = [lev for lev in levels if lev != pooled[0]]
                pooled.append(min(rest, key=lambda x: (tot.get(x, 0), levels.index(x))))
            for old, new in list(mapping.items()):
                if new in pooled:
                    mapping[old] = target
            levels = [lev for lev in levels if lev not in pooled] + [target]
            continue
        tot = d.assign(_l=d[level].map(mapping)).groupby("_l")["k"].sum()
        lev = min(small, key=lambda x: (tot.get(x, 0), levels.index(x)))
        i = levels.index(lev)
        nbrs = [j for j in (i - 1, i + 1) if 0 <= j < len(levels)]
        j = min(nbrs, key=lambda j: (tot.get(levels[j], 0), j))
        a, b = sorted((i, j))
        new = _merged_label(levels[a], levels[b])
        for old, cur_lab in list(mapping.items()):
            if cur_lab in (levels[a], levels[b]):
                mapping[old] = new
        levels = levels[:a] + [new] + levels[b + 1:]
    d[level] = d[level].map(mapping)
    out = (d.groupby([*by, level], sort=False).agg(n=("n", "first"), k=("k", "sum"))
           .reset_index())
    out["_o"] = out[level].map({lev: i for i, lev in enumerate(levels)})
    out = out.sort_values([*by, "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
    st = share_table(out["k"], out["n"], conf)
    out[["share", "lo", "hi"]] = st[["share", "lo", "hi"]].to_numpy()
    return out
